// archive and replay through the public API, on a memory_archive_store.
#include <doctest/doctest.h>

#include <chrono>
#include <condition_variable>
#include <atomic>
#include <mutex>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <vector>

#include <switchyard/detail/time.hpp>
#include <switchyard/archive.hpp>

#include "test_support.hpp"

using namespace std::chrono_literals;
using test_types::CreditCardTransaction;

namespace {

switchyard::put_events_entry entry_at(std::string time, int n, std::string source = "com.example.shop") {
    return {.source = std::move(source), .detail_type = "ORDER", .detail = nlohmann::json{{"n", n}}.dump(), .time = std::move(time)};
}

std::chrono::system_clock::time_point t(const char* text) { return *switchyard::detail::parse_rfc3339(text); }

struct recorder {
    std::mutex mutex;
    std::vector<std::string> lines;
    tally count;
    void add(std::string s) {
        {
            std::lock_guard lock(mutex);
            lines.push_back(std::move(s));
        }
        count.add();
    }
    std::vector<std::string> get() {
        std::lock_guard lock(mutex);
        return lines;
    }
};

// A memory store whose batches can be held at a gate or made to fail, and counted.
struct gated_store final : switchyard::archive_store {
    switchyard::memory_archive_store inner;
    std::mutex mutex;
    std::condition_variable changed;
    bool hold = false;       // batches wait while set
    int fail_next = 0;       // this many batches fail
    int waiting = 0;         // batches waiting at the gate
    std::vector<std::size_t> batches;  // the size of each batch written

    void release() {
        std::lock_guard lock(mutex);
        hold = false;
        changed.notify_all();
    }
    bool wait_until_waiting(int n) {
        std::unique_lock lock(mutex);
        return changed.wait_for(lock, 10s, [&] { return waiting >= n; });
    }
    std::vector<std::size_t> sizes() {
        std::lock_guard lock(mutex);
        return batches;
    }
    std::uint64_t append(std::string_view json, time_point time) override { return inner.append(json, time); }
    void append_batch(std::span<const switchyard::archive_entry> entries) override {
        {
            std::unique_lock lock(mutex);
            ++waiting;
            changed.notify_all();
            changed.wait(lock, [&] { return !hold; });
            --waiting;
            if (fail_next > 0) {
                --fail_next;
                throw switchyard::error("the disk is away");
            }
            batches.push_back(entries.size());
        }
        inner.append_batch(entries);
    }
    std::size_t scan(time_point from, time_point to, const visitor& visit) override { return inner.scan(from, to, visit); }
    std::size_t purge_before(time_point cutoff) override { return inner.purge_before(cutoff); }
    std::size_t count() override { return inner.count(); }
    std::size_t count(time_point from, time_point to) override { return inner.count(from, to); }
};

// Opens the gate when the test ends, failed or not: the archive's destructor waits for its
// writer, which would otherwise wait at the gate forever.
struct release_at_exit {
    gated_store& store;
    ~release_at_exit() { store.release(); }
};

}  // namespace

TEST_CASE("archive: the publishing thread only queues; the archive's thread writes what queued in one batch; drain() waits") {
    switchyard::bus bus{"shop"};
    auto store = std::make_shared<gated_store>();
    store->hold = true;
    switchyard::archive archive(bus, {.name = "orders", .store = store});
    const release_at_exit release{*store};
    REQUIRE(bus.put_events({entry_at("2026-03-01T10:00:00Z", 0)}).failed_entry_count == 0);
    REQUIRE(store->wait_until_waiting(1));  // the first batch is held at the store
    // Publishing goes on while the store is busy: nothing here waits for it.
    for (int i = 1; i < 100; ++i) REQUIRE(bus.put_events({entry_at("2026-03-01T10:00:00Z", i)}).failed_entry_count == 0);
    CHECK(store->count() == 0);
    CHECK_FALSE(bus.drain(50ms));  // the held batch is still running
    store->release();
    REQUIRE(bus.drain(10s));
    CHECK(store->count() == 100);
    CHECK(store->sizes() == std::vector<std::size_t>{1, 99});  // what queued meanwhile: one batch
}

TEST_CASE("archive: a store that fails is retried by the archive's retry policy; nothing is lost") {
    switchyard::bus bus{"shop"};
    auto store = std::make_shared<gated_store>();
    store->fail_next = 2;
    std::atomic<int> letters{0};
    bus.set_error_handler([&](const switchyard::dead_letter&) { letters.fetch_add(1); });
    switchyard::archive archive(bus, {.name = "orders", .store = store, .retries = {.max_retry_attempts = 10, .base_delay = 1ms, .max_delay = 5ms}});
    for (int i = 0; i < 10; ++i) REQUIRE(bus.put_events({entry_at("2026-03-01T10:00:00Z", i)}).failed_entry_count == 0);
    REQUIRE(bus.drain(10s));
    CHECK(store->count() == 10);
    CHECK(letters.load() == 0);
    // Every event once: a failed batch wrote nothing, and its events were tried again.
    std::set<int> seen;
    store->scan({}, t("2030-01-01T00:00:00Z"), [&](const switchyard::archived_event& e) {
        seen.insert(nlohmann::json::parse(e.event_json)["detail"]["n"].get<int>());
        return true;
    });
    CHECK(seen.size() == 10);
}

TEST_CASE("archive on a journaled bus: accepted events a stopped process had not yet archived are archived by recover()") {
    auto journal = std::make_shared<switchyard::memory_journal>();
    auto first_store = std::make_shared<gated_store>();
    first_store->hold = true;  // the process "stops" with its archive writes unfinished
    switchyard::bus first{"shop", {.journal = journal}};
    std::optional<switchyard::archive> first_archive;
    const release_at_exit release{*first_store};
    first_archive.emplace(first, switchyard::archive_spec{.name = "orders", .store = first_store});
    std::set<std::string> accepted;
    for (int i = 0; i < 5; ++i) {
        const auto r = first.put_events({entry_at("2026-03-01T10:00:00Z", i)});
        REQUIRE(r.failed_entry_count == 0);
        accepted.insert(r.entries[0].event_id);
    }
    REQUIRE(first_store->wait_until_waiting(1));
    CHECK(first_store->count() == 0);

    // The next process on the same journal: its archive (a rule, added before recover()) gets them.
    switchyard::bus second{"shop", {.journal = journal}};
    auto second_store = std::make_shared<switchyard::memory_archive_store>();
    switchyard::archive second_archive(second, {.name = "orders", .store = second_store});
    (void)second.recover();
    REQUIRE(second.drain(10s));
    std::set<std::string> archived;
    second_store->scan({}, t("2030-01-01T00:00:00Z"), [&](const switchyard::archived_event& e) {
        archived.insert(nlohmann::json::parse(e.event_json)["id"].get<std::string>());
        return true;
    });
    CHECK(archived == accepted);

    first_store->release();  // let the first "process" end
    first_archive.reset();
    REQUIRE(first.drain(10s));
}

TEST_CASE("archive: keeps matching events, replays a window in order with replay-name, never archives replays") {
    switchyard::bus bus{"shop"};
    auto store = std::make_shared<switchyard::memory_archive_store>();
    switchyard::archive archive(bus, {.name = "orders", .pattern = R"({"source": ["com.example.shop"]})", .store = store});

    recorder all, live;
    bus.add_rule({.name = "all",
                  .pattern = R"({"detail-type": ["ORDER"]})",
                  .targets = {switchyard::json_handler("t", [&](std::string_view json) {
                      const auto j = nlohmann::json::parse(json);
                      all.add(std::to_string(j["detail"]["n"].get<int>()) + "/" + j.value("replay-name", "-"));
                  })}});
    bus.add_rule({.name = "live-only",
                  .pattern = R"({"detail-type": ["ORDER"], "replay-name": [{"exists": false}]})",
                  .targets = {switchyard::json_handler("t", [&](std::string_view json) {
                      live.add(std::to_string(nlohmann::json::parse(json)["detail"]["n"].get<int>()));
                  })}});

    // Out of time order on purpose: the replay keeps the order of publishing.
    const auto put = bus.put_events({entry_at("2026-03-01T10:30:00Z", 1), entry_at("2026-03-01T10:10:00Z", 2),
                                     entry_at("2026-03-01T11:30:00Z", 3), entry_at("2026-03-01T10:50:00Z", 4),
                                     entry_at("2026-03-01T10:20:00Z", 5, "com.example.other")});
    REQUIRE(put.failed_entry_count == 0);
    REQUIRE(bus.drain(10s));     // the archive writes on its own thread; drain waits for it
    CHECK(store->count() == 4);  // the other source does not match the archive's pattern
    REQUIRE(all.count.wait_for(5));

    auto replay = archive.replay({.name = "morning", .from = t("2026-03-01T10:00:00Z"), .to = t("2026-03-01T11:00:00Z")});
    REQUIRE(replay.wait(10s));
    CHECK(replay.state() == switchyard::replay_state::completed);
    CHECK(replay.message().empty());
    CHECK(replay.progress().replayed == 3);
    CHECK(replay.progress().total == 3);
    REQUIRE(all.count.wait_for(8));
    bus.drain();

    const auto lines = all.get();
    CHECK(std::vector<std::string>(lines.begin() + 5, lines.end()) == std::vector<std::string>{"1/morning", "2/morning", "4/morning"});
    CHECK(live.count.value() == 5);  // the rule that excludes replays saw only the live events
    CHECK(store->count() == 4);      // replayed events are not archived again
}

TEST_CASE("archive: a replay limited to named rules reaches only those rules") {
    switchyard::bus bus{"shop"};
    auto store = std::make_shared<switchyard::memory_archive_store>();
    switchyard::archive archive(bus, {.name = "orders", .store = store});
    REQUIRE(bus.put_events({entry_at("2026-03-01T10:00:00Z", 1), entry_at("2026-03-01T10:05:00Z", 2)}).failed_entry_count == 0);
    REQUIRE(bus.drain(10s));

    tally a, b;
    bus.add_rule({.name = "new-rule", .pattern = R"({"detail-type": ["ORDER"]})",
                  .targets = {switchyard::json_handler("t", [&](std::string_view) { a.add(); })}});
    bus.add_rule({.name = "old-rule", .pattern = R"({"detail-type": ["ORDER"]})",
                  .targets = {switchyard::json_handler("t", [&](std::string_view) { b.add(); })}});
    auto replay = archive.replay(
        {.name = "backfill", .from = t("2026-03-01T00:00:00Z"), .to = t("2026-03-02T00:00:00Z"), .rules = {"new-rule"}});
    REQUIRE(replay.wait(10s));
    REQUIRE(replay.state() == switchyard::replay_state::completed);
    bus.drain();
    CHECK(a.value() == 2);
    CHECK(b.value() == 0);
}

TEST_CASE("archive: typed events come back as the same typed events") {
    switchyard::bus bus{"payments"};
    auto store = std::make_shared<switchyard::memory_archive_store>();
    switchyard::archive archive(bus, {.name = "transactions", .store = store});

    std::mutex mutex;
    std::vector<switchyard::event<CreditCardTransaction>> received;
    tally count;
    bus.add_rule({.name = "replays",
                  .pattern = R"({"replay-name": ["again"]})",
                  .targets = {switchyard::handler<CreditCardTransaction>("typed", [&](const switchyard::event<CreditCardTransaction>& e) {
                      {
                          std::lock_guard lock(mutex);
                          received.push_back(e);
                      }
                      count.add();
                  })}});

    const CreditCardTransaction sent{"tx-1", "cust-9", 2500.5, {"visa", "4242"}, {"online", "eu"}};
    const auto result = bus.publish("com.example.transaction", sent);
    REQUIRE(result.ok());
    REQUIRE(bus.drain(10s));
    CHECK(store->count() == 1);
    CHECK(count.value() == 0);

    const auto now = std::chrono::system_clock::now();
    auto replay = archive.replay({.name = "again", .from = now - 1h, .to = now + 1h});
    REQUIRE(replay.wait(10s));
    REQUIRE(replay.state() == switchyard::replay_state::completed);
    REQUIRE(count.wait_for(1));
    std::lock_guard lock(mutex);
    REQUIRE(received.size() == 1);
    CHECK(received[0].detail == sent);
    CHECK(received[0].id == result.event_id);
    CHECK(received[0].source == "com.example.transaction");
    CHECK(received[0].detail_type == "CREDIT_CARD_TRANSACTION");
    CHECK(received[0].replay_name == std::optional<std::string>("again"));
}

TEST_CASE("archive: cancel stops a replay before its next event") {
    switchyard::bus bus{"shop"};
    auto store = std::make_shared<switchyard::memory_archive_store>();
    switchyard::archive archive(bus, {.name = "orders", .store = store});
    for (int i = 0; i < 10; ++i) REQUIRE(bus.put_events({entry_at("2026-03-01T10:00:00Z", i)}).failed_entry_count == 0);
    REQUIRE(bus.drain(10s));

    std::mutex mutex;
    std::condition_variable cv;
    bool entered = false, released = false;
    bus.add_rule({.name = "slow",
                  .pattern = R"({"replay-name": [{"exists": true}]})",
                  .targets = {switchyard::json_handler("t", [&](std::string_view) {
                      std::unique_lock lock(mutex);
                      entered = true;
                      cv.notify_all();
                      cv.wait_for(lock, 10s, [&] { return released; });
                  })}});

    auto replay = archive.replay({.name = "r", .from = t("2026-03-01T00:00:00Z"), .to = t("2026-03-02T00:00:00Z")});
    {
        std::unique_lock lock(mutex);
        REQUIRE(cv.wait_for(lock, 10s, [&] { return entered; }));
    }
    CHECK(replay.state() == switchyard::replay_state::running);
    replay.cancel();
    {
        std::lock_guard lock(mutex);
        released = true;
    }
    cv.notify_all();
    REQUIRE(replay.wait(10s));
    CHECK(replay.state() == switchyard::replay_state::cancelled);
    CHECK(replay.progress().replayed == 1);
    CHECK(replay.progress().total == 10);
    CHECK(replay.message().find("cancelled after 1 of 10") != std::string::npos);
}

TEST_CASE("archive: a replay the bus refuses fails, with the bus's reason") {
    switchyard::bus bus{"shop"};
    auto store = std::make_shared<switchyard::memory_archive_store>();
    switchyard::archive archive(bus, {.name = "orders", .store = store});
    REQUIRE(bus.put_events({entry_at("2026-03-01T10:00:00Z", 1)}).failed_entry_count == 0);
    archive.close();
    REQUIRE(bus.shutdown(5s));

    auto replay = archive.replay({.name = "late", .from = t("2026-03-01T00:00:00Z"), .to = t("2026-03-02T00:00:00Z")});
    REQUIRE(replay.wait(10s));
    CHECK(replay.state() == switchyard::replay_state::failed);
    CHECK(replay.message().find("refused") != std::string::npos);
    CHECK(replay.progress().replayed == 0);
}

TEST_CASE("archive: a store holding something that is not an event fails the replay, naming the row") {
    // A store whose rows did not come from an archive (e.g. written by another program).
    struct foreign_store final : switchyard::archive_store {
        std::uint64_t append(std::string_view, time_point) override { return 1; }
        std::size_t scan(time_point, time_point, const visitor& visit) override {
            visit({7, {}, R"({"no": "envelope"})"});
            return 1;
        }
        std::size_t purge_before(time_point) override { return 0; }
        std::size_t count() override { return 1; }
        std::size_t count(time_point, time_point) override { return 1; }
    };
    switchyard::bus bus{"shop"};
    switchyard::archive archive(bus, {.name = "foreign", .store = std::make_shared<foreign_store>()});
    auto replay = archive.replay({.name = "r", .from = {}, .to = t("2030-01-01T00:00:00Z")});
    REQUIRE(replay.wait(10s));
    CHECK(replay.state() == switchyard::replay_state::failed);
    CHECK(replay.message().find("archived event 7 is not an event") != std::string::npos);
}

TEST_CASE("archive: purge_expired removes events older than the retention, by their time") {
    switchyard::bus bus{"shop"};
    auto store = std::make_shared<switchyard::memory_archive_store>();
    switchyard::archive archive(bus, {.name = "week", .retention = std::chrono::hours(24 * 7), .store = store});
    REQUIRE(bus.put_events({entry_at("2026-03-01T10:00:00Z", 1), entry_at("2026-03-09T10:00:00Z", 2)}).failed_entry_count == 0);
    REQUIRE(bus.drain(10s));
    CHECK(store->count() == 2);
    CHECK(archive.purge_expired(t("2026-03-10T00:00:00Z")) == 1);
    CHECK(store->count() == 1);

    switchyard::archive forever(bus, {.name = "forever", .store = store});
    CHECK(forever.purge_expired(t("2099-01-01T00:00:00Z")) == 0);
}

TEST_CASE("archive: bad specifications are refused with the fix") {
    switchyard::bus bus{"shop"};
    auto store = std::make_shared<switchyard::memory_archive_store>();
    CHECK_THROWS_WITH_AS(switchyard::archive(bus, {.name = "a", .pattern = R"({"replay-name": ["x"]})", .store = store}),
                         doctest::Contains("must not test \"replay-name\""), switchyard::pattern_error);
    CHECK_THROWS_WITH_AS(switchyard::archive(bus, {.name = "a", .pattern = "[1]", .store = store}),
                         doctest::Contains("not a JSON object"), switchyard::pattern_error);
    CHECK_THROWS_AS(switchyard::archive(bus, {.name = "a", .pattern = R"({"source": "not-an-array"})", .store = store}),
                    switchyard::pattern_error);
    CHECK_THROWS_WITH_AS(switchyard::archive(bus, {.name = "a"}), doctest::Contains("has no store"), switchyard::error);
    switchyard::archive ok(bus, {.name = "a", .store = store});
    CHECK_THROWS_WITH_AS((void)ok.replay({.name = "", .from = {}, .to = {}}), doctest::Contains("needs a name"), switchyard::error);
    CHECK_THROWS_WITH_AS((void)ok.replay({.name = "r", .from = t("2026-03-02T00:00:00Z"), .to = t("2026-03-01T00:00:00Z")}),
                         doctest::Contains("ends before it starts"), switchyard::error);
}
