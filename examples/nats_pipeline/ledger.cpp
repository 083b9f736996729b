// The ledger service of the seed architecture: its own bus, fed from the stream by a nats_source
// on its own durable consumer ("ledger"), posting every transaction to its customer's balance.
// Postings must follow each customer's order: the producer stores a customer's transactions on
// one subject, in order; the source hands a subject's messages over one at a time
// (ordered_by_subject); the bus's target runs a customer's postings one at a time (ordered_by),
// while different customers post in parallel on the pool.
// Run: ./nats_pipeline_ledger nats://127.0.0.1:4222 <expected transactions> [timeout seconds]
// Exits 0 once it has posted them all in order, 1 otherwise.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <string>

#include <switchyard/nats/nats_source.hpp>
#include <switchyard/switchyard.hpp>

#include "cards.hpp"

int main(int argc, char** argv) {
    const std::string url = argc > 1 ? argv[1] : "nats://127.0.0.1:4222";
    const auto expected = static_cast<std::size_t>(argc > 2 ? std::atoll(argv[2]) : 2000);
    const int timeout = argc > 3 ? std::atoi(argv[3]) : 30;  // seconds
    try {
        auto nats = switchyard::nats_connection::connect({.url = url, .name = "ledger"});
        nats->add_stream(cards::stream());

        struct account {
            long long balance = 0;  // cents
            std::string last;       // the last transaction posted
        };
        std::mutex mutex;
        std::map<std::string, account> accounts;
        long long total = 0;
        int out_of_order = 0;
        cards::seen_events posted;

        switchyard::thread_pool workers{4};
        switchyard::bus bus{"ledger"};
        bus.add_rule({
            .name = "post",
            .pattern = R"({"source": ["com.example.cards"], "detail-type": ["Transaction"]})",
            .targets = {switchyard::handler<cards::Transaction>(
                            "ledger",
                            [&](const switchyard::event<cards::Transaction>& e) {
                                std::lock_guard lock(mutex);
                                if (!posted.first_time(e.id)) return;  // a redelivery: posted already
                                auto& a = accounts[e.detail.customerId];
                                if (e.detail.id < a.last) ++out_of_order;
                                a.last = e.detail.id;
                                a.balance += cards::cents(e.detail.amount);
                                total += cards::cents(e.detail.amount);
                            },
                            workers)
                            .ordered_by("$.detail.customerId")},
        });

        switchyard::nats_source source(bus, nats, {.stream = "CARDS", .durable = "ledger", .ordered_by_subject = true});
        const bool all_posted = posted.wait_for(expected, std::chrono::seconds(timeout));
        source.stop();
        bus.drain();
        std::lock_guard lock(mutex);
        std::printf("ledger: %zu posted, total %s, %zu customers, %d out of order\n", posted.size(),
                    cards::usd(total).c_str(), accounts.size(), out_of_order);
        if (!all_posted) std::fprintf(stderr, "ledger: timed out after %d s, expected %zu\n", timeout, expected);
        return all_posted && out_of_order == 0 ? 0 : 1;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "ledger: %s\n", e.what());
        return 1;
    }
}
