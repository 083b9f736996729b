// The producer service of the seed architecture: it publishes credit-card transactions into its
// own bus, whose one rule forwards every transaction to JetStream. The subject is
// cards.<partition>, the partition taken from the customer, so each customer's transactions are
// stored in the order they were published (the ledger relies on it).
// Run: ./nats_pipeline_producer nats://127.0.0.1:4222 [transactions]   (run.sh does it all)
// Exits 0 once every transaction is stored in the stream (its PubAck came back).
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>

#include <switchyard/nats/nats_target.hpp>
#include <switchyard/switchyard.hpp>

#include "cards.hpp"

int main(int argc, char** argv) {
    using namespace std::chrono_literals;
    const std::string url = argc > 1 ? argv[1] : "nats://127.0.0.1:4222";
    const int count = argc > 2 ? std::atoi(argv[2]) : 2000;
    try {
        auto nats = switchyard::nats_connection::connect({.url = url, .name = "producer"});
        nats->add_stream(cards::stream());

        // The target's deliveries are asynchronous: publish() starts the JetStream publish on
        // this thread and returns; each delivery ends when its PubAck comes (up to the
        // connection's max_pub_acks_in_flight awaited at once).
        switchyard::bus bus{"cards"};
        std::atomic<int> failed{0};
        bus.add_rule({
            .name = "to-jetstream",
            .pattern = R"({"source": ["com.example.cards"], "detail-type": ["Transaction"]})",
            .targets = {switchyard::nats_target(
                            "jetstream", nats,
                            {.subject = "cards.{partition}", .partition_key = "$.detail.customerId", .partitions = 8})
                            // A lost PubAck is retried; the server drops the copy (same Nats-Msg-Id).
                            .retry({.max_retry_attempts = 5, .base_delay = 50ms, .max_delay = 1s})
                            .dead_letters([&](const switchyard::dead_letter& d) {
                                ++failed;
                                std::fprintf(stderr, "producer: not stored: %s\n", d.error_message.c_str());
                            })},
        });

        // Seeded: the same transactions on every run. mt19937's output is fixed by the standard.
        std::mt19937 random{2026};
        const char* merchants[] = {"Coffee Corner", "Metro Transit", "Book Nook", "Fuel Stop", "Grand Hotel", "Cinema"};
        const char* abroad[] = {"FR", "BR", "JP", "NG"};
        auto producer = bus.producer<cards::Transaction>(cards::source);
        long long total = 0;
        for (int i = 0; i < count; ++i) {
            char id[16], customer[16];
            std::snprintf(id, sizeof id, "t-%06d", i);
            std::snprintf(customer, sizeof customer, "c-%02u", static_cast<unsigned>(random() % 50));
            // Mostly small amounts; one in twenty is large (1000 to 5000).
            const long long amount = random() % 20 == 0 ? 100000 + random() % 400000 : 100 + random() % 20000;
            const bool foreign = random() % 25 == 0;
            const cards::Transaction t{.id = id,
                                       .customerId = customer,
                                       .amount = static_cast<double>(amount) / 100,
                                       .currency = "USD",
                                       .country = foreign ? abroad[random() % 4] : "US",
                                       .merchant = merchants[random() % 6]};
            if (const auto r = producer.publish(t); !r) {
                std::fprintf(stderr, "producer: publish refused: %s\n", r.error_message.c_str());
                return 1;
            }
            total += cards::cents(t.amount);
        }
        // A delivery ends with its PubAck: once drained, every transaction is in the stream.
        if (!bus.drain(30s)) {
            std::fprintf(stderr, "producer: PubAcks still awaited after 30 s\n");
            return 1;
        }
        std::printf("producer: %d published, total %s, %d not stored\n", count, cards::usd(total).c_str(),
                    failed.load());
        return failed == 0 ? 0 : 1;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "producer: %s\n", e.what());
        return 1;
    }
}
