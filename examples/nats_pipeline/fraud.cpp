// The fraud service of the seed architecture: its own bus, fed from the stream by a nats_source
// on its own durable consumer ("fraud"), so it sees every transaction whatever the ledger does.
// A content rule sends the suspicious ones (large, or paid abroad) to the review handler.
// Run: ./nats_pipeline_fraud nats://127.0.0.1:4222 <expected transactions> [timeout seconds]
// Exits 0 once it has seen them all, 1 if the timeout came first.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <switchyard/nats/nats_source.hpp>
#include <switchyard/switchyard.hpp>

#include "cards.hpp"

int main(int argc, char** argv) {
    const std::string url = argc > 1 ? argv[1] : "nats://127.0.0.1:4222";
    const auto expected = static_cast<std::size_t>(argc > 2 ? std::atoll(argv[2]) : 2000);
    const int timeout = argc > 3 ? std::atoi(argv[3]) : 30;  // seconds
    try {
        auto nats = switchyard::nats_connection::connect({.url = url, .name = "fraud"});
        nats->add_stream(cards::stream());

        cards::seen_events seen, flagged;
        switchyard::thread_pool workers{4};
        switchyard::bus bus{"fraud"};
        bus.add_rule({
            .name = "every-transaction",
            .pattern = R"({"source": ["com.example.cards"], "detail-type": ["Transaction"]})",
            .targets = {switchyard::handler<cards::Transaction>(
                "count", [&](const switchyard::event<cards::Transaction>& e) { seen.first_time(e.id); }, workers)},
        });
        bus.add_rule({
            .name = "suspicious",
            .pattern = R"({"source": ["com.example.cards"], "detail-type": ["Transaction"],
                           "$or": [{"detail": {"amount": [{"numeric": [">=", 1000]}]}},
                                   {"detail": {"country": [{"anything-but": "US"}]}}]})",
            .targets = {switchyard::handler<cards::Transaction>(
                "review",
                [&](const switchyard::event<cards::Transaction>& e) {
                    if (flagged.first_time(e.id) && e.detail.amount >= 4900)
                        std::printf("fraud: review %s, customer %s, %.2f %s in %s\n", e.detail.id.c_str(),
                                    e.detail.customerId.c_str(), e.detail.amount, e.detail.currency.c_str(),
                                    e.detail.country.c_str());
                },
                workers)},
        });

        // Declared after the bus, so it stops first: a source must stop before its bus.
        switchyard::nats_source source(bus, nats, {.stream = "CARDS", .durable = "fraud"});
        const bool all_seen = seen.wait_for(expected, std::chrono::seconds(timeout));
        source.stop();  // what is in flight finishes and is acknowledged
        bus.drain();
        std::printf("fraud: %zu seen, %zu flagged\n", seen.size(), flagged.size());
        if (!all_seen) std::fprintf(stderr, "fraud: timed out after %d s, expected %zu\n", timeout, expected);
        return all_seen ? 0 : 1;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "fraud: %s\n", e.what());
        return 1;
    }
}
