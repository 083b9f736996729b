// producer<T>::publish_batch: typed batches of any size, one result per event.
#include <doctest/doctest.h>

#include <list>
#include <mutex>
#include <ranges>
#include <span>
#include <set>

#include "test_support.hpp"

using namespace switchyard;
using namespace std::chrono_literals;
using test_types::CreditCardTransaction;

namespace {
const char* const all = R"({"detail-type": ["CREDIT_CARD_TRANSACTION"]})";
CreditCardTransaction tx(int n) { return {"t" + std::to_string(n), "c" + std::to_string(n % 3), static_cast<double>(n), {}, {}}; }

std::vector<CreditCardTransaction> transactions(int count) {
    std::vector<CreditCardTransaction> out;
    for (int i = 0; i < count; ++i) out.push_back(tx(i));
    return out;
}

// A target whose queue holds three deliveries and refuses the fourth; nothing runs until `held` does.
target three_slots(manual_executor& held) {
    return handler<CreditCardTransaction>("slow", [](const auto&) {}, held).bounded({.capacity = 3, .on_full = overflow_policy::reject});
}

struct recorder {
    std::mutex m;
    std::vector<double> totals;
    std::set<std::string> ids;
    target as_target(any_executor executor = inline_executor::instance()) {
        return handler<CreditCardTransaction>("record",
                                              [this](const event<CreditCardTransaction>& e) {
                                                  std::lock_guard lock(m);
                                                  totals.push_back(e.detail.total);
                                                  ids.insert(e.id);
                                              },
                                              executor);
    }
};
}  // namespace

TEST_CASE("publish_batch: every event of any size of batch, in order, each with its own id and result") {
    bus b{"payments"};
    recorder seen;
    b.add_rule({.name = "r", .pattern = all, .targets = {seen.as_target()}});
    auto producer = b.producer<CreditCardTransaction>("com.example.tx");
    auto batch = transactions(25);  // more than PutEvents' 10
    const auto result = producer.publish_batch(batch);
    CHECK(result.ok());
    CHECK(result.failed_entry_count == 0);
    REQUIRE(result.entries.size() == 25);
    std::set<std::string> result_ids;
    for (const auto& r : result.entries) {
        CHECK(r.ok());
        result_ids.insert(r.event_id);
    }
    CHECK(result_ids.size() == 25);
    REQUIRE(seen.totals.size() == 25);
    for (int i = 0; i < 25; ++i) CHECK(seen.totals[i] == i);
    CHECK(seen.ids == result_ids);
    CHECK(batch[3].transactionId == "t3");  // an lvalue batch is copied from, not moved from

    // Any input range of things convertible to T: a list, a view, an rvalue vector.
    std::list<CreditCardTransaction> listed{tx(100), tx(101)};
    CHECK(producer.publish_batch(listed).ok());
    const std::vector<CreditCardTransaction> three{tx(200), tx(201), tx(202)};
    CHECK(producer.publish_batch(std::span(three)).ok());  // a view: copied from, never moved from
    CHECK(three[0].transactionId == "t200");
    CHECK(producer.publish_batch(std::vector<CreditCardTransaction>{tx(300)}).ok());  // a temporary's elements
    CHECK(producer.publish_batch(std::vector<CreditCardTransaction>{}).entries.empty());
    REQUIRE(seen.totals.size() == 31);
    CHECK(seen.totals.back() == 300);
    // Counted as PutEvents entries, one per event.
    const auto snapshot = b.metrics();
    CHECK(snapshot.find(metric_names::put_events_entries)->value == 31);
}

TEST_CASE("publish_batch: a refused event fails alone") {
    bus b{"payments"};
    manual_executor held;
    b.add_rule({.name = "r", .pattern = all, .targets = {three_slots(held)}});
    auto producer = b.producer<CreditCardTransaction>("com.example.tx");
    auto batch = transactions(5);
    const auto result = producer.publish_batch(batch);
    CHECK(result.failed_entry_count == 2);
    REQUIRE(result.entries.size() == 5);
    for (int i = 0; i < 3; ++i) CHECK(result.entries[i].ok());
    for (int i = 3; i < 5; ++i) CHECK(result.entries[i].error_code == publish_errc::throttled);
    while (held.run_one()) {
    }
    REQUIRE(b.drain(10s));
    CHECK(b.stats()[0].delivered == 3);

    // Options apply to every event; a time outside the range fails every one of them alone.
    const auto late = producer.publish_batch(batch, {.time = std::chrono::system_clock::time_point::min()});
    CHECK(late.failed_entry_count == 5);
    for (const auto& r : late.entries) CHECK(r.error_code == publish_errc::invalid_argument);
}

TEST_CASE("publish_batch: one dedup_id for a whole batch is a usage error") {
    bus b{"payments", bus_options{}.with_dedup({})};
    auto producer = b.producer<CreditCardTransaction>("com.example.tx");
    const std::vector<CreditCardTransaction> batch{tx(1), tx(2)};
    CHECK_THROWS_WITH_AS((void)producer.publish_batch(batch, {.dedup_id = "order-1"}),
                         doctest::Contains("one id for 2 events would make every event after the first a duplicate"), error);
    // Deduplication by content applies to each event: the second copy of tx(1) is a duplicate.
    const auto result = producer.publish_batch(std::vector<CreditCardTransaction>{tx(1), tx(1), tx(2)});
    CHECK(result.ok());
    CHECK_FALSE(result.entries[0].deduplicated);
    CHECK(result.entries[1].deduplicated);
    CHECK_FALSE(result.entries[2].deduplicated);
}

TEST_CASE("publish_batch on a journaled bus: 256 events per journal call, every one durable when it returns") {
    auto journal = std::make_shared<memory_journal>();
    manual_executor held;  // nothing runs until the test says so
    bus b{"payments", bus_options{}.with_journal(journal)};
    recorder seen;
    b.add_rule({.name = "r", .pattern = all, .targets = {seen.as_target(held)}});
    auto producer = b.producer<CreditCardTransaction>("com.example.tx");
    const auto batch = transactions(600);
    const auto result = producer.publish_batch(batch);
    CHECK(result.ok());
    CHECK(result.entries.size() == 600);
    CHECK(journal->batches() == 3);  // 256 + 256 + 88
    // Returned: every event is in the journal, none delivered yet.
    CHECK(journal->unfinished().size() == 600);
    CHECK(seen.totals.empty());
    held.run_all();
    REQUIRE(b.drain(30s));
    CHECK(seen.totals.size() == 600);
    CHECK(journal->unfinished().empty());  // each delivery's end was recorded
}

TEST_CASE("publish_batch on a journaled bus: a full queue or a detail that cannot be written fails only its event") {
    auto journal = std::make_shared<memory_journal>();
    manual_executor held;
    bus b{"payments", bus_options{}.with_journal(journal)};
    b.add_rule({.name = "r", .pattern = all, .targets = {three_slots(held)}});
    auto producer = b.producer<CreditCardTransaction>("com.example.tx");
    auto batch = transactions(6);
    batch[1].customerId = "\xff";  // not UTF-8: its JSON, which the journal records, cannot be written
    const auto result = producer.publish_batch(batch);
    CHECK(result.failed_entry_count == 3);
    REQUIRE(result.entries.size() == 6);
    CHECK(result.entries[0].ok());
    CHECK(result.entries[1].error_code == publish_errc::invalid_argument);
    CHECK(result.entries[1].error_message.find("cannot be written as JSON") != std::string::npos);
    CHECK(result.entries[2].ok());
    CHECK(result.entries[3].ok());
    CHECK(result.entries[4].error_code == publish_errc::throttled);
    CHECK(result.entries[5].error_code == publish_errc::throttled);
    CHECK(journal->unfinished().size() == 3);  // only the accepted events were recorded
    held.run_all();
    REQUIRE(b.drain(10s));
    CHECK(b.stats()[0].delivered == 3);
    CHECK(journal->unfinished().empty());
}

TEST_CASE("publish_batch through a producer that outlived its bus") {
    std::optional<bus> b;
    b.emplace("payments");
    auto producer = b->producer<CreditCardTransaction>("com.example.tx");
    b.reset();
    const auto result = producer.publish_batch(std::vector<CreditCardTransaction>{tx(1), tx(2)});
    CHECK(result.failed_entry_count == 2);
    for (const auto& r : result.entries) CHECK(r.error_code == publish_errc::bus_shut_down);
}
