// Archive and replay on SQLite: a day of credit-card transactions is archived to a file; later a
// new fraud rule is added and one hour of the day is replayed into the bus. A rule that tests
// {"replay-name": [{"exists": false}]} (the live processor) does not see the replay; the new rule,
// which excludes nothing, does. Typed events come back from the archive as the same typed events.
// Run it: ./replay   (exits 0 when the replay delivered exactly the hour's large transactions)
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <unistd.h>

#include <fmt/format.h>

#include <switchyard/detail/time.hpp>
#include <switchyard/archive.hpp>
#include <switchyard/sqlite/sqlite_archive_store.hpp>
#include <switchyard/switchyard.hpp>

namespace payments {
struct CreditCardTransaction {
    std::string transactionId;
    std::string customerId;
    double total = 0.0;
};
SWITCHYARD_EVENT(CreditCardTransaction, "CREDIT_CARD_TRANSACTION", transactionId, customerId, total)
}  // namespace payments

int main() {
    using payments::CreditCardTransaction;
    using namespace std::chrono;

    const auto dir = std::filesystem::temp_directory_path() / fmt::format("switchyard-replay-{}", ::getpid());
    std::filesystem::create_directories(dir);
    const auto file = (dir / "archive.db").string();

    int live = 0, audited = 0, expected = 0;
    {
        switchyard::bus bus{"payments"};
        auto store = std::make_shared<switchyard::sqlite_archive_store>(file);
        switchyard::archive archive(bus, {.name = "transactions",
                                          .pattern = R"({"detail-type": ["CREDIT_CARD_TRANSACTION"]})",
                                          .retention = hours(24 * 30),
                                          .store = store});

        // The live processor must never charge a card twice: it ignores replays.
        bus.add_rule({.name = "processor",
                      .pattern = R"({"detail-type": ["CREDIT_CARD_TRANSACTION"], "replay-name": [{"exists": false}]})",
                      .targets = {switchyard::handler<CreditCardTransaction>("charge", [&](const auto&) { ++live; })}});

        // A day of transactions, one every five minutes, each with its own event time.
        const sys_days day = 2026y / November / 28;
        for (int i = 0; i < 24 * 12; ++i) {
            const auto when = day + minutes(5 * i);
            switchyard::event<CreditCardTransaction> e;
            static_cast<switchyard::envelope&>(e) = bus.make_envelope("com.example.transaction", "CREDIT_CARD_TRANSACTION");
            e.time = switchyard::detail::format_rfc3339(when);
            e.detail = {fmt::format("tx-{:03}", i), fmt::format("customer-{}", i % 7), 100.0 + (i * 37 % 23) * 100.0};
            if (when >= day + 14h && when < day + 15h && e.detail.total > 1000) ++expected;
            if (!bus.publish(switchyard::make_event(std::move(e)))) return 1;
        }
        bus.drain();  // the archive writes on its own thread, in batches: drain() returns once they are stored
        std::printf("archived %zu transactions of %s to %s; the live processor charged %d\n", store->count(), "2026-11-28",
                    file.c_str(), live);

        // Later: a new fraud rule, which excludes nothing, gets the 14:00-15:00 hour replayed.
        bus.add_rule({.name = "fraud-audit",
                      .pattern = R"({"detail-type": ["CREDIT_CARD_TRANSACTION"], "detail": {"total": [{"numeric": [">", 1000]}]}})",
                      .targets = {switchyard::handler<CreditCardTransaction>("audit", [&](const switchyard::event<CreditCardTransaction>& e) {
                          ++audited;
                          std::printf("  fraud-audit: %s %s %s total %7.2f (replay-name %s)\n", e.time.c_str(), e.detail.transactionId.c_str(),
                                      e.detail.customerId.c_str(), e.detail.total, e.replay_name.value_or("-").c_str());
                      })}});
        auto replay = archive.replay({.name = "audit-2026-11-28T14", .from = day + 14h, .to = day + 15h});
        if (!replay.wait(seconds(30))) {
            std::fprintf(stderr, "the replay did not finish in 30 s\n");
            return 1;
        }
        bus.drain();
        const auto progress = replay.progress();
        std::printf("replay %s: %s, %zu of %zu events replayed; fraud-audit received %d of them, the live processor none "
                    "(it has still charged %d: it excludes replays)\n",
                    replay.name().c_str(), switchyard::to_string(replay.state()), progress.replayed, progress.total, audited, live);
        std::printf("the archive still holds %zu events: replayed events are never archived again\n", store->count());
        if (replay.state() != switchyard::replay_state::completed || progress.replayed != 12 || audited != expected || live != 24 * 12 ||
            store->count() != 24 * 12) {
            std::fprintf(stderr, "unexpected: expected 12 replayed, %d audited, %d charged\n", expected, 24 * 12);
            return 1;
        }
    }
    std::filesystem::remove_all(dir);
    return 0;
}
