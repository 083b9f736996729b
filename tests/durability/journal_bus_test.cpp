// The journal's contract with the bus, on memory_journal: what publish records, what delivery
// ends, what recover() starts again, and what happens when the journal fails.
#include <doctest/doctest.h>

#include <stdexcept>

#include <switchyard/durability/idempotency.hpp>

#include "durability/failing_journal.hpp"
#include "test_support.hpp"

using namespace switchyard;
using namespace test_types;

namespace {
constexpr const char* all_transactions = R"({"detail-type": ["CREDIT_CARD_TRANSACTION"]})";

}  // namespace

TEST_CASE("a journaled publish is recorded with its deliveries before it returns, and each delivery's end is recorded") {
    auto j = std::make_shared<memory_journal>();
    manual_executor later;
    bus b{"payments", {.journal = j}};
    tally seen;
    b.add_rule({.name = "all",
                .pattern = all_transactions,
                .targets = {handler<CreditCardTransaction>("audit", [&](const auto&) { seen.add(); }, later),
                            handler<CreditCardTransaction>("fraud", [&](const auto&) { seen.add(); }, later)}});
    const auto r = b.producer<CreditCardTransaction>("com.example.tx").publish({"t1", "c1", 12.5, {}, {}});
    REQUIRE(r.ok());

    auto open = j->unfinished();
    REQUIRE(open.size() == 1);
    CHECK(open[0].open == std::vector<journal_delivery>{{"all", "audit"}, {"all", "fraud"}});
    const auto recorded = parse_event(open[0].event_json);
    CHECK(recorded->meta().id == r.event_id);
    CHECK(event_cast<CreditCardTransaction>(*recorded).detail.transactionId == "t1");

    later.run_one();  // one delivery ends: the other is still open
    open = j->unfinished();
    REQUIRE(open.size() == 1);
    CHECK(open[0].open.size() == 1);
    later.run_all();
    b.drain();
    CHECK(seen.value() == 2);
    CHECK(j->unfinished().empty());
}

TEST_CASE("recover() re-delivers what a previous process accepted and never finished, flagged as redelivered") {
    auto j = std::make_shared<memory_journal>();
    // What a process that died mid-delivery left behind: one event, one open delivery.
    std::string id;
    {
        bus before{"payments"};
        auto e = make_event(event<CreditCardTransaction>{before.make_envelope("com.example.tx", "CREDIT_CARD_TRANSACTION"),
                                                         {"t9", "c9", 99.0, {}, {}}});
        id = e->meta().id;
        j->record_accepted(e->json(), std::vector<journal_delivery>{{"all", "audit"}});
    }
    bus b{"payments", {.journal = j}};
    std::vector<std::string> got;
    bool redelivered = false;
    b.add_rule({.name = "all",
                .pattern = all_transactions,
                .targets = {handler<CreditCardTransaction>("audit", [&](const event<CreditCardTransaction>& e, const delivery_info& info) {
                    got.push_back(e.id + ":" + e.detail.transactionId);
                    redelivered = info.redelivered;
                })}});
    const auto result = b.recover();
    b.drain();
    CHECK(result.events == 1);
    CHECK(result.deliveries == 1);
    CHECK(result.orphaned == 0);
    CHECK(got == std::vector<std::string>{id + ":t9"});
    CHECK(redelivered);
    CHECK(j->unfinished().empty());
    CHECK(b.stats().at(0).delivered == 1);
}

TEST_CASE("recover() reports deliveries whose target is gone and journal entries it cannot read, and ends them") {
    auto j = std::make_shared<memory_journal>();
    j->record_accepted(R"({"not": "an event")", std::vector<journal_delivery>{{"all", "audit"}});
    {
        bus before{"payments"};
        auto e = make_event(event<CreditCardTransaction>{before.make_envelope("com.example.tx", "CREDIT_CARD_TRANSACTION"), {}});
        j->record_accepted(e->json(), std::vector<journal_delivery>{{"all", "removed-target"}, {"gone-rule", "x"}});
    }
    bus b{"payments", {.journal = j}};
    std::vector<delivery_failure> failures;
    b.set_error_handler([&](const delivery_failure& f) { failures.push_back(f); });
    b.add_rule({.name = "all", .pattern = all_transactions, .targets = {handler<CreditCardTransaction>("audit", [](const auto&) {})}});
    const auto result = b.recover();
    b.drain();
    CHECK(result.unreadable == 1);
    CHECK(result.orphaned == 2);
    CHECK(result.deliveries == 0);
    REQUIRE(failures.size() == 3);
    for (const auto& f : failures) CHECK(f.error_code == "RecoveryFailed");
    CHECK(failures[1].error_message.find("rule \"all\" has no target \"removed-target\"") != std::string::npos);
    CHECK(failures[2].error_message.find("there is no rule \"gone-rule\"") != std::string::npos);
    CHECK(j->unfinished().empty());
}

TEST_CASE("a journal that cannot record refuses the publish: nothing is delivered and the retry is not a duplicate") {
    auto j = std::make_shared<failing_journal>();
    bus b{"payments", {.dedup = dedup_options{}, .journal = j}};
    tally seen;
    b.add_rule({.name = "all", .pattern = all_transactions, .targets = {handler<CreditCardTransaction>("audit", [&](const auto&) { seen.add(); })}});
    auto producer = b.producer<CreditCardTransaction>("com.example.tx");
    const auto refused = producer.publish({"t1", "c1", 1.0, {}, {}}, {.dedup_id = "t1"});
    CHECK(refused.error_code == switchyard::publish_errc::journal_failed);
    CHECK(refused.error_message.find("disk I/O error") != std::string::npos);
    CHECK(b.pending() == 0);
    CHECK(b.stats().at(0).accepted == 0);
    CHECK(seen.value() == 0);

    j->fail = false;
    const auto accepted = producer.publish({"t1", "c1", 1.0, {}, {}}, {.dedup_id = "t1"});
    CHECK(accepted.ok());
    CHECK_FALSE(accepted.deduplicated);
    b.drain();
    CHECK(seen.value() == 1);
    CHECK(j->unfinished().empty());
}

TEST_CASE("subscriptions are not journaled, and recover() without a journal is an error") {
    auto j = std::make_shared<memory_journal>();
    manual_executor later;
    bus b{"payments", {.journal = j}};
    auto sub = b.subscribe(all_transactions, handler<CreditCardTransaction>("s", [](const auto&) {}, later));
    REQUIRE(b.producer<CreditCardTransaction>("com.example.tx").publish({}).ok());
    CHECK(j->unfinished().empty());
    later.run_all();
    b.drain();

    bus plain{"plain"};
    CHECK_THROWS_WITH_AS(plain.recover(), doctest::Contains("bus_options::journal"), error);
}

TEST_CASE("publish to named rules only delivers to those rules") {
    bus b{"payments"};
    tally a, c;
    b.add_rule({.name = "a", .pattern = all_transactions, .targets = {handler<CreditCardTransaction>("t", [&](const auto&) { a.add(); })}});
    b.add_rule({.name = "c", .pattern = all_transactions, .targets = {handler<CreditCardTransaction>("t", [&](const auto&) { c.add(); })}});
    auto e = make_event(event<CreditCardTransaction>{b.make_envelope("com.example.tx", "CREDIT_CARD_TRANSACTION"), {}});
    const std::vector<std::string> only{"c"};
    CHECK(b.publish(e, only).ok());
    CHECK(b.publish(e, std::span<const std::string>{}).ok());  // empty: every rule
    b.drain();
    CHECK(a.value() == 1);
    CHECK(c.value() == 2);
}

TEST_CASE("once_per_event: a redelivered event that already succeeded is not handled again; failures are retried") {
    auto j = std::make_shared<memory_journal>();
    auto processed = std::make_shared<memory_processed_store>();
    std::vector<std::string> handled;
    int failures_left = 1;
    auto make_target = [&] {
        return once_per_event(handler<CreditCardTransaction>("audit",
                                                             [&](const event<CreditCardTransaction>& e) {
                                                                 if (e.detail.transactionId == "flaky" && failures_left-- > 0)
                                                                     throw std::runtime_error("try again");
                                                                 handled.push_back(e.detail.transactionId);
                                                             })
                                  .retry(retry_policy{.max_retry_attempts = 2, .base_delay = std::chrono::milliseconds(1),
                                                      .max_delay = std::chrono::milliseconds(1)}),
                              processed);
    };
    bus b{"payments", {.journal = j}};
    b.add_rule({.name = "all", .pattern = all_transactions, .targets = {make_target()}});
    auto producer = b.producer<CreditCardTransaction>("com.example.tx");
    const auto first = producer.publish({"t1", "c1", 1.0, {}, {}});
    REQUIRE(producer.publish({"flaky", "c1", 1.0, {}, {}}).ok());
    REQUIRE(b.drain(std::chrono::seconds(10)));
    CHECK(handled == std::vector<std::string>{"t1", "flaky"});  // the failure was not remembered: its retry ran
    CHECK(processed->size() == 2);

    // The same event delivered again (as recover() would after a crash that lost the end record).
    auto again = std::make_shared<memory_journal>();
    {
        bus before{"payments"};
        auto e = make_event(event<CreditCardTransaction>{before.make_envelope("com.example.tx", "CREDIT_CARD_TRANSACTION"),
                                                         {"t1", "c1", 1.0, {}, {}}});
        auto text = nlohmann::json::parse(e->json());
        text["id"] = first.event_id;
        again->record_accepted(text.dump(), std::vector<journal_delivery>{{"all", "audit"}});
    }
    bus restarted{"payments", {.journal = again}};
    restarted.add_rule({.name = "all", .pattern = all_transactions, .targets = {make_target()}});
    CHECK(restarted.recover().deliveries == 1);
    REQUIRE(restarted.drain(std::chrono::seconds(10)));
    CHECK(handled.size() == 2);  // acknowledged without calling the handler
    CHECK(restarted.stats().at(0).delivered == 1);
}

TEST_CASE("memory_processed_store forgets the oldest keys beyond its capacity") {
    memory_processed_store store{2};
    store.insert("a");
    store.insert("b");
    store.insert("a");  // already there: no change in order
    store.insert("c");
    CHECK_FALSE(store.contains("a"));
    CHECK(store.contains("b"));
    CHECK(store.contains("c"));
    CHECK(store.size() == 2);
    CHECK_THROWS_WITH_AS(memory_processed_store{0}, doctest::Contains("capacity"), error);
}

namespace {
put_events_entry tx_entry(const std::string& id) {
    return {.source = "com.example.tx",
            .detail_type = "CREDIT_CARD_TRANSACTION",
            .detail = R"({"transactionId":")" + id + R"(","customerId":"c","total":1,"card":{"brand":"v","last4":"1"},"tags":[]})",
            .dedup_id = id};
}
}  // namespace

TEST_CASE("put_events on a journaled bus records the whole batch with one journal call; a bad entry still fails alone") {
    auto j = std::make_shared<memory_journal>();
    bus b{"payments", {.journal = j}};
    std::vector<std::string> got;
    b.add_rule({.name = "all",
                .pattern = all_transactions,
                .targets = {handler<CreditCardTransaction>("audit", [&](const auto& e) { got.push_back(e.detail.transactionId); })}});
    std::vector<put_events_entry> batch;
    for (int i = 0; i < 10; ++i) batch.push_back(tx_entry("t" + std::to_string(i)));
    batch[4].detail = "not json";
    const auto result = b.put_events(batch);
    b.drain();
    CHECK(result.failed_entry_count == 1);
    CHECK(result.entries[4].error_code == switchyard::publish_errc::malformed_detail);
    CHECK(j->batches() == 1);
    CHECK(got == std::vector<std::string>{"t0", "t1", "t2", "t3", "t5", "t6", "t7", "t8", "t9"});  // in order
    CHECK(j->unfinished().empty());
}

TEST_CASE("a journal that refuses a batch refuses every entry of it, and a duplicate inside a batch is ended in the journal") {
    auto j = std::make_shared<failing_journal>();
    bus b{"payments", {.dedup = dedup_options{}, .journal = j}};
    tally seen;
    b.add_rule({.name = "all", .pattern = all_transactions, .targets = {handler<CreditCardTransaction>("audit", [&](const auto&) { seen.add(); })}});
    const auto refused = b.put_events({tx_entry("a"), tx_entry("b")});
    CHECK(refused.failed_entry_count == 2);
    for (const auto& r : refused.entries) CHECK(r.error_code == switchyard::publish_errc::journal_failed);
    CHECK(b.stats().at(0).accepted == 0);

    j->fail = false;  // the default record_accepted_batch: one by one
    const auto accepted = b.put_events({tx_entry("a"), tx_entry("a"), tx_entry("b")});
    CHECK(accepted.failed_entry_count == 0);
    CHECK_FALSE(accepted.entries[0].deduplicated);
    CHECK(accepted.entries[1].deduplicated);
    CHECK_FALSE(accepted.entries[2].deduplicated);
    b.drain();
    CHECK(seen.value() == 2);
    CHECK(j->unfinished().empty());  // the duplicate's journaled delivery was ended, not left open
}

TEST_CASE("a journaled batch larger than a blocking target's queue commits early instead of waiting on itself") {
    // The first entries hold slots until the batch is journaled; an entry that finds the queue
    // full must not block on slots only the batch's own commit can free.
    auto j = std::make_shared<memory_journal>();
    thread_pool workers{1};
    bus b{"payments", {.journal = j}};
    tally seen;
    b.add_rule({.name = "all",
                .pattern = all_transactions,
                .targets = {handler<CreditCardTransaction>("audit", [&](const auto&) { seen.add(); }, workers)
                                .bounded({.capacity = 2, .on_full = overflow_policy::block, .block_timeout = std::chrono::seconds(3)})}});
    std::vector<put_events_entry> batch;
    for (int i = 0; i < 10; ++i) batch.push_back(tx_entry("t" + std::to_string(i)));
    const auto result = b.put_events(batch);
    CHECK(result.failed_entry_count == 0);  // waiting on itself would have throttled after block_timeout
    REQUIRE(seen.wait_for(10));
    b.drain();
    CHECK(j->batches() >= 5);  // at most 2 entries fit before each early commit
    CHECK(j->unfinished().empty());
}

TEST_CASE("a journaled batch larger than a rejecting target's queue is not throttled by its own entries") {
    // Regression: entries admitted earlier in the batch held the slots until the batch was
    // journaled, so a reject (or dead_letter) target smaller than the batch throttled the rest,
    // which the same batch without a journal would not.
    auto j = std::make_shared<memory_journal>();
    bus b{"payments", {.journal = j}};
    tally seen;
    b.add_rule({.name = "all",
                .pattern = all_transactions,
                .targets = {handler<CreditCardTransaction>("audit", [&](const auto&) { seen.add(); })
                                .bounded({.capacity = 3, .on_full = overflow_policy::reject})}});
    std::vector<put_events_entry> batch;
    for (int i = 0; i < 10; ++i) batch.push_back(tx_entry("t" + std::to_string(i)));
    const auto result = b.put_events(batch);
    CHECK(result.failed_entry_count == 0);
    b.drain();
    CHECK(seen.value() == 10);
    CHECK(b.stats().at(0).dead_lettered == 0);
}

TEST_CASE("recover() runs once, and not on a bus that has shut down") {
    auto j = std::make_shared<memory_journal>();
    bus b{"payments", {.journal = j}};
    CHECK(b.recover().events == 0);
    CHECK_THROWS_WITH_AS(b.recover(), doctest::Contains("already recovered"), error);
    bus closed{"closed", {.journal = j}};
    REQUIRE(closed.shutdown(std::chrono::seconds(1)));
    CHECK_THROWS_WITH_AS(closed.recover(), doctest::Contains("shut down"), error);
}

TEST_CASE("once_per_event handles each replay of an event once, apart from its original delivery") {
    auto processed = std::make_shared<memory_processed_store>();
    bus b{"payments"};
    int calls = 0;
    b.add_rule({.name = "all",
                .pattern = all_transactions,
                .targets = {once_per_event(handler<CreditCardTransaction>("audit", [&](const auto&) { ++calls; }), processed)}});
    auto original = make_event(event<CreditCardTransaction>{b.make_envelope("com.example.tx", "CREDIT_CARD_TRANSACTION"), {}});
    REQUIRE(b.publish(original).ok());
    REQUIRE(b.publish(original).ok());  // a redelivery: skipped
    auto replayed = nlohmann::json::parse(original->json());
    replayed["replay-name"] = "fix-2026-11-29";
    REQUIRE(b.publish(parse_event(replayed.dump())).ok());  // a replay: handled
    REQUIRE(b.publish(parse_event(replayed.dump())).ok());  // the same replay again: skipped
    b.drain();
    CHECK(calls == 2);
}

TEST_CASE("journal checkpoints: memory_journal keeps the last value per key; a journal without them says so") {
    switchyard::memory_journal j;
    CHECK_FALSE(j.load_checkpoint("k").has_value());
    j.save_checkpoint("k", "1");
    j.save_checkpoint("k", "2");
    CHECK(j.load_checkpoint("k") == "2");

    struct old_journal final : switchyard::journal {
        std::uint64_t record_accepted(std::string_view, std::span<const switchyard::journal_delivery>) override { return 1; }
        void record_ended(std::uint64_t, std::string_view, std::string_view) noexcept override {}
        std::vector<switchyard::journaled_event> unfinished() override { return {}; }
    } old;
    CHECK_THROWS_WITH_AS(old.save_checkpoint("k", "v"), doctest::Contains("this journal keeps no checkpoints"), switchyard::error);
    CHECK_THROWS_WITH_AS((void)old.load_checkpoint("k"), doctest::Contains("override journal::save_checkpoint"), switchyard::error);
}

TEST_CASE("recover() remembers each recovered event's id in the dedup window: publishing it again by its id is a duplicate") {
    auto journal = std::make_shared<switchyard::memory_journal>();
    auto e = switchyard::make_json_event(
        switchyard::envelope{.id = "7f0c2d4e-0000-4000-8000-000000000001", .detail_type = "T", .source = "s", .account = "000000000000",
                             .time = "2026-01-01T00:00:00Z", .region = "local", .resources = {}, .replay_name = {}, .trace = {}},
        R"({"n": 1})");
    const switchyard::journal_delivery open[] = {{"r", "t"}};
    (void)journal->record_accepted(e->json(), open);

    tally delivered;
    switchyard::bus b{"b", switchyard::bus_options{}.with_journal(journal).with_dedup({})};
    b.add_rule({.name = "r", .pattern = R"({"source": ["s"]})", .targets = {switchyard::json_handler("t", [&](std::string_view) { delivered.add(); })}});
    CHECK(b.recover().deliveries == 1);
    CHECK(delivered.value() == 1);
    const auto again = b.publish_deduplicated(e, e->meta().id);
    CHECK(again.ok());
    CHECK(again.deduplicated);
    const auto other = b.publish_deduplicated(e, "another-key");
    CHECK_FALSE(other.deduplicated);
    b.drain();
    CHECK(delivered.value() == 2);
}
