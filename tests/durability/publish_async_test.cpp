// bus::publish_async and producer<T>::publish_async: a publish that does not wait for the
// journal. Its record joins the journal's next commit (sqlite_journal: shared with everything
// recorded meanwhile), its deliveries start once that commit is durable, and its callback is told;
// refusals decided at once are told at once; drain() waits for what is still on its way.
#include <doctest/doctest.h>

#include <atomic>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "test_support.hpp"

#include <switchyard/executor/manual_executor.hpp>
#include <switchyard/sqlite/sqlite_journal.hpp>
#include <switchyard/switchyard.hpp>

#include "durability/temp_dir.hpp"

using namespace switchyard;
using namespace std::chrono_literals;

namespace {

struct Payment {
    std::string customer;
    int n = 0;
};
SWITCHYARD_EVENT(Payment, "PAYMENT", customer, n)

constexpr const char* payments = R"({"detail-type": ["PAYMENT"]})";

// The callbacks' answers, by event id, and a wait for a number of them.
class answers {
public:
    publish_callback callback() {
        return [this](const publish_result& r) {
            std::lock_guard lock(mutex_);
            results_.push_back(r);
            threads_.insert(std::this_thread::get_id());
            changed_.notify_all();
        };
    }
    bool wait_for(std::size_t n, std::chrono::milliseconds timeout = 20s) {
        std::unique_lock lock(mutex_);
        return changed_.wait_for(lock, timeout, [&] { return results_.size() >= n; });
    }
    std::vector<publish_result> results() const {
        std::lock_guard lock(mutex_);
        return results_;
    }
    std::size_t size() const {
        std::lock_guard lock(mutex_);
        return results_.size();
    }
    bool answered_on(std::thread::id id) const {
        std::lock_guard lock(mutex_);
        return threads_.contains(id);
    }

private:
    mutable std::mutex mutex_;
    std::condition_variable changed_;
    std::vector<publish_result> results_;
    std::set<std::thread::id> threads_;
};

std::shared_ptr<sqlite_journal> journal_in(temp_dir& dir, sync_level level = sync_level::full, std::uint64_t max_size = 0) {
    return std::make_shared<sqlite_journal>(dir.file("journal.db"), sqlite_journal_options{.synchronous = level, .max_size_bytes = max_size});
}

}  // namespace

TEST_CASE("publish_async without a journal: publish()'s result, told before the call returns") {
    bus b{"payments"};
    tally delivered;
    b.add_rule({.name = "all", .pattern = payments, .targets = {handler<Payment>("h", [&](const event<Payment>&) { delivered.add(); })}});
    answers told;
    b.producer<Payment>("com.example").publish_async({"c-1", 1}, told.callback());
    REQUIRE(told.size() == 1);  // already
    CHECK(told.results()[0].ok());
    CHECK(delivered.value() == 1);
    CHECK(told.answered_on(std::this_thread::get_id()));

    CHECK_THROWS_WITH_AS(b.publish_async(nullptr, told.callback()), doctest::Contains("null"), error);
    CHECK_THROWS_WITH_AS(b.producer<Payment>("com.example").publish_async({"c-1", 2}, nullptr), doctest::Contains("callback is empty"), error);
}

TEST_CASE("publish_async with sqlite_journal at FULL: one thread keeps events in flight, their records share commits, order is kept") {
    temp_dir dir;
    auto journal = journal_in(dir);
    bus b{"payments", {.journal = journal}};
    std::mutex m;
    std::vector<int> seen;
    b.add_rule({.name = "all", .pattern = payments, .targets = {handler<Payment>("ledger", [&](const event<Payment>& e) {
                                                                std::lock_guard lock(m);
                                                                seen.push_back(e.detail.n);
                                                            })}});
    auto producer = b.producer<Payment>("com.example");
    constexpr int n = 2000;
    answers told;
    for (int i = 0; i < n; ++i) producer.publish_async({"c-1", i}, told.callback());
    REQUIRE(told.wait_for(n));
    for (const auto& r : told.results()) CHECK_MESSAGE(r.ok(), r.error_message);
    REQUIRE(b.drain(20s));
    std::vector<int> expected(n);
    for (int i = 0; i < n; ++i) expected[static_cast<std::size_t>(i)] = i;
    CHECK(seen == expected);  // commits in order, and each commit's deliveries in order
    const auto st = journal->stats();
    MESSAGE(n << " events in " << st.transactions << " transactions");
    CHECK(st.events == n);
    // Shared commits (one fsync per commit, not per event). How many depends on the disk and the
    // machine's load: only that they are shared is asserted.
    CHECK(st.transactions < st.events);
    // Answered on the journal's thread: the publishing thread never waited for the disk.
    CHECK_FALSE(told.answered_on(std::this_thread::get_id()));
}

// A thread mixing publish_async and publish on one journal: its deliveries start in the order it
// published, whichever thread led each commit (completions run batch by batch, in commit order,
// and a synchronous publish waits for those of the batches before its own).
TEST_CASE("publish_async and publish from one thread: deliveries start in publish order") {
    temp_dir dir;
    bus b{"payments", {.journal = journal_in(dir, sync_level::normal)}};
    std::mutex m;
    std::vector<int> seen;
    b.add_rule({.name = "all", .pattern = payments, .targets = {handler<Payment>("ledger", [&](const event<Payment>& e) {
                                                                // Some work: a batch's completions take a while, so a
                                                                // synchronous publish could overtake them.
                                                                std::this_thread::sleep_for(20us);
                                                                std::lock_guard lock(m);
                                                                seen.push_back(e.detail.n);
                                                            })}});
    auto producer = b.producer<Payment>("com.example");
    constexpr int n = 2000;
    answers told;
    int sync_refused = 0;
    for (int i = 0; i < n; ++i) {
        if (i % 7 == 6) sync_refused += producer.publish({"c-1", i}).ok() ? 0 : 1;
        else producer.publish_async({"c-1", i}, told.callback());
    }
    REQUIRE(b.drain(20s));
    CHECK(sync_refused == 0);
    for (const auto& r : told.results()) CHECK(r.ok());
    std::vector<int> expected(n);
    for (int i = 0; i < n; ++i) expected[static_cast<std::size_t>(i)] = i;
    std::lock_guard lock(m);
    CHECK(seen == expected);
}

TEST_CASE("publish_async: an event whose callback said accepted is in the journal before its deliveries have run") {
    temp_dir dir;
    auto journal = journal_in(dir, sync_level::normal);
    manual_executor later;  // the deliveries wait for the test
    bus b{"payments", {.journal = journal}};
    tally delivered;
    b.add_rule({.name = "all", .pattern = payments, .targets = {handler<Payment>("h", [&](const event<Payment>&) { delivered.add(); }, later)}});
    auto producer = b.producer<Payment>("com.example");
    answers told;
    constexpr int n = 300;
    for (int i = 0; i < n; ++i) producer.publish_async({"c-1", i}, told.callback());
    REQUIRE(told.wait_for(n));
    std::set<std::string> accepted;
    for (const auto& r : told.results()) {
        REQUIRE(r.ok());
        accepted.insert(r.event_id);
    }
    // What a crash now would recover: every event the callbacks accepted.
    std::set<std::string> journaled;
    for (const auto& e : journal->unfinished()) journaled.insert(nlohmann::json::parse(e.event_json).at("id").get<std::string>());
    CHECK(journaled == accepted);
    CHECK(later.size() == static_cast<std::size_t>(n));
    later.run_all();
    REQUIRE(b.drain(10s));
    CHECK(delivered.value() == n);
    journal->flush();
    CHECK(journal->unfinished().empty());
}

TEST_CASE("publish_async: drain() returns only once every asynchronous publish has been answered and delivered") {
    temp_dir dir;
    bus b{"payments", {.journal = journal_in(dir)}};
    tally delivered;
    b.add_rule({.name = "all", .pattern = payments, .targets = {handler<Payment>("h", [&](const event<Payment>&) { delivered.add(); })}});
    auto producer = b.producer<Payment>("com.example");
    answers told;
    constexpr int n = 500;
    for (int i = 0; i < n; ++i) producer.publish_async({"c-1", i}, told.callback());
    REQUIRE(b.drain(20s));
    CHECK(told.size() == static_cast<std::size_t>(n));
    CHECK(delivered.value() == n);
}

TEST_CASE("publish_async on a full journal: those that failed are told JournalFailed and delivered nowhere; the rest are kept") {
    temp_dir dir;
    auto journal = journal_in(dir, sync_level::normal, 64 * 1024);
    manual_executor later;
    bus b{"payments", {.journal = journal}};
    tally delivered;
    b.add_rule({.name = "all", .pattern = payments, .targets = {handler<Payment>("h", [&](const event<Payment>&) { delivered.add(); }, later)}});
    auto producer = b.producer<Payment>("com.example");
    answers told;
    const std::string padding(3000, 'x');
    // 24 KB that fit, answered; then 300 KB more, far past 64 KiB (a commit fails whole: every
    // record in it is refused).
    constexpr int fits = 8, n = fits + 100;
    for (int i = 0; i < fits; ++i) producer.publish_async({padding, i}, told.callback());
    REQUIRE(told.wait_for(fits));
    for (int i = fits; i < n; ++i) producer.publish_async({padding, i}, told.callback());
    REQUIRE(told.wait_for(n));
    std::set<std::string> accepted;
    int failed = 0;
    for (const auto& r : told.results()) {
        if (r.ok()) {
            accepted.insert(r.event_id);
            continue;
        }
        ++failed;
        CHECK(r.error_code == publish_errc::journal_failed);
        CHECK(r.error_message.find("full") != std::string::npos);
    }
    CHECK(failed > 0);
    CHECK(accepted.size() >= static_cast<std::size_t>(fits));
    CHECK(later.size() == accepted.size());  // a failed record started no delivery
    std::set<std::string> journaled;
    for (const auto& e : journal->unfinished()) journaled.insert(nlohmann::json::parse(e.event_json).at("id").get<std::string>());
    CHECK(journaled == accepted);
    later.run_all();
    REQUIRE(b.drain(10s));
    CHECK(delivered.value() == static_cast<int>(accepted.size()));
}

TEST_CASE("publish_async: a refusal decided at once is told at once (throttled, deduplicated, shut down)") {
    temp_dir dir;
    manual_executor later;
    bus b{"payments", bus_options{}.with_journal(journal_in(dir, sync_level::normal)).with_dedup({})};
    b.add_rule({.name = "all",
                .pattern = payments,
                .targets = {handler<Payment>("h", [](const event<Payment>&) {}, later).bounded({.capacity = 1, .on_full = overflow_policy::reject})}});
    auto producer = b.producer<Payment>("com.example");
    answers first, throttled, duplicate;
    producer.publish_async({"c-1", 1}, first.callback(), {.dedup_id = "one"});
    REQUIRE(first.wait_for(1));
    CHECK(first.results()[0].ok());
    // The queue's one slot is held by the first delivery (manual executor): refused here.
    producer.publish_async({"c-1", 2}, throttled.callback(), {.dedup_id = "two"});
    REQUIRE(throttled.size() == 1);
    CHECK(throttled.results()[0].error_code == publish_errc::throttled);
    later.run_all();
    REQUIRE(b.drain(10s));
    producer.publish_async({"c-1", 1}, duplicate.callback(), {.dedup_id = "one"});
    REQUIRE(duplicate.wait_for(1));
    CHECK(duplicate.results()[0].ok());
    CHECK(duplicate.results()[0].deduplicated);
    CHECK(later.size() == 0);
    REQUIRE(b.shutdown(5s));
    answers closed;
    producer.publish_async({"c-1", 3}, closed.callback());
    REQUIRE(closed.size() == 1);
    CHECK(closed.results()[0].error_code == publish_errc::bus_shut_down);
}

TEST_CASE("publish_async: a callback that throws loses nothing; memory_journal answers at once") {
    auto journal = std::make_shared<memory_journal>();
    bus b{"payments", {.journal = journal}};
    tally delivered;
    b.add_rule({.name = "all", .pattern = payments, .targets = {handler<Payment>("h", [&](const event<Payment>&) { delivered.add(); })}});
    auto producer = b.producer<Payment>("com.example");
    for (int i = 0; i < 10; ++i) producer.publish_async({"c-1", i}, [](const publish_result&) { throw std::runtime_error("callback failed"); });
    answers told;
    producer.publish_async({"c-1", 10}, told.callback());
    REQUIRE(told.size() == 1);  // memory_journal records synchronously: answered inside the call
    CHECK(told.results()[0].ok());
    REQUIRE(b.drain(10s));
    CHECK(delivered.value() == 11);
    CHECK(journal->unfinished().empty());
}

TEST_CASE("publish_async from four threads and publish() beside them on one sqlite_journal: every event accepted once and delivered") {
    temp_dir dir;
    auto journal = journal_in(dir, sync_level::normal);
    bus b{"payments", {.journal = journal}};
    tally delivered;
    b.add_rule({.name = "all", .pattern = payments, .targets = {handler<Payment>("h", [&](const event<Payment>&) { delivered.add(); })}});
    auto producer = b.producer<Payment>("com.example");
    answers told;
    constexpr int per_thread = 500;
    std::atomic<int> sync_ok{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&, t] {
            for (int i = 0; i < per_thread; ++i) {
                if (t == 3) sync_ok.fetch_add(producer.publish({"c-3", i}).ok() ? 1 : 0);  // a synchronous publisher rides the same commits
                else producer.publish_async({"c-" + std::to_string(t), i}, told.callback());
            }
        });
    for (auto& t : threads) t.join();
    REQUIRE(told.wait_for(3 * per_thread));
    std::set<std::string> ids;
    for (const auto& r : told.results()) {
        CHECK(r.ok());
        ids.insert(r.event_id);
    }
    CHECK(ids.size() == 3 * per_thread);
    CHECK(sync_ok.load() == per_thread);
    REQUIRE(b.drain(20s));
    CHECK(delivered.value() == 4 * per_thread);
}
