// bus::publish(event, on_settled): the callback comes exactly once, after every delivery the
// publish started has ended, with how each ended; at once when the publish started none.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <switchyard/executor/manual_executor.hpp>
#include <switchyard/executor/thread_pool.hpp>

#include "test_support.hpp"

using namespace switchyard;
using namespace std::chrono_literals;

namespace {

constexpr const char* everything = R"({"source": [{"prefix": ""}]})";

event_ptr order(bus& b, const std::string& customer, int n = 0) {
    return make_json_event(b.make_envelope("com.example.orders", "OrderPlaced"),
                           R"({"customer": ")" + customer + R"(", "n": )" + std::to_string(n) + "}");
}

// The dead letters these tests cause on purpose are not news: keep them out of the output.
class quiet_log : public log_sink {
public:
    bool enabled(log_level) const noexcept override { return false; }
    void write(log_level, std::string_view, std::span<const log_field>) override {}
};
bus_options quiet() { return bus_options{}.with_log(std::make_shared<quiet_log>()); }

// Collects settlements and lets a test wait for a number of them.
class settlements {
public:
    settlement_callback callback() {
        return [this](const publish_settlement& s) {
            std::lock_guard lock(mutex_);
            seen_.push_back(s);
            changed_.notify_all();
        };
    }
    bool wait_for(std::size_t n, std::chrono::milliseconds timeout = 10s) {
        std::unique_lock lock(mutex_);
        return changed_.wait_for(lock, timeout, [&] { return seen_.size() >= n; });
    }
    std::vector<publish_settlement> all() {
        std::lock_guard lock(mutex_);
        return seen_;
    }
    std::size_t count() {
        std::lock_guard lock(mutex_);
        return seen_.size();
    }

private:
    std::mutex mutex_;
    std::condition_variable changed_;
    std::vector<publish_settlement> seen_;
};

}  // namespace

TEST_CASE("settlement: inline deliveries settle before publish returns, with each outcome") {
    bus b{"orders", quiet()};
    b.set_error_handler([](const dead_letter&) {});
    b.add_rule({.name = "r",
                .pattern = everything,
                .targets = {json_handler("ok", [](std::string_view) {}),
                            json_handler("bad", [](std::string_view) { return outcome::fail("nope"); })}});
    settlements s;
    const auto r = b.publish(order(b, "c1"), s.callback());
    REQUIRE(r.ok());
    REQUIRE(s.count() == 1);  // already: everything ran inline
    const auto got = s.all()[0];
    CHECK(got.publish.ok());
    CHECK(got.publish.event_id == r.event_id);
    CHECK(got.started == 2);
    CHECK(got.delivered == 1);
    CHECK(got.dead_lettered == 1);
    CHECK_FALSE(got.ok());
    REQUIRE(got.dead_letters.size() == 1);
    CHECK(got.dead_letters[0].target == "bad");
    CHECK(got.dead_letters[0].rule == "r");
    CHECK(got.dead_letters[0].reason == dead_letter_reason::permanent_failure);
    CHECK(got.dead_letters[0].error_message == "nope");
    CHECK(got.dead_letters[0].attempts == 1);
}

// Regression (review): with every delivery ended during the publish, the callback runs on the
// publishing thread after the pipeline's publish returned, when nothing counted as pending:
// drain() and shutdown() returned while it still ran.
TEST_CASE("settlement: drain() waits for a callback that runs on the publishing thread") {
    bus b{"orders", quiet()};
    b.add_rule({.name = "r", .pattern = everything, .targets = {json_handler("ok", [](std::string_view) {})}});
    std::mutex mutex;
    std::condition_variable changed;
    bool entered = false, release = false, finished = false;
    std::thread publisher([&] {
        (void)b.publish(order(b, "c1"), [&](const publish_settlement&) {
            std::unique_lock lock(mutex);
            entered = true;
            changed.notify_all();
            changed.wait(lock, [&] { return release; });
            finished = true;
        });
    });
    {
        std::unique_lock lock(mutex);
        REQUIRE(changed.wait_for(lock, 10s, [&] { return entered; }));
    }
    CHECK_FALSE(b.drain(100ms));  // the callback is still running: the bus is not drained
    {
        std::lock_guard lock(mutex);
        release = true;
    }
    changed.notify_all();
    CHECK(b.drain(10s));
    {
        std::lock_guard lock(mutex);
        CHECK(finished);  // drain returned only after the callback did
    }
    publisher.join();
}

TEST_CASE("settlement: a publish that starts nothing settles at once: no match, refused, deduplicated") {
    bus b{"orders", {.dedup = dedup_options{}}};
    settlements s;
    SUBCASE("no rule matches") {
        REQUIRE(b.publish(order(b, "c1"), s.callback()).ok());
        REQUIRE(s.count() == 1);
        CHECK(s.all()[0].started == 0);
        CHECK(s.all()[0].ok());
    }
    SUBCASE("refused: the bus is shut down") {
        REQUIRE(b.shutdown(1s));
        const auto r = b.publish(order(b, "c1"), s.callback());
        CHECK(r.error_code == publish_errc::bus_shut_down);
        REQUIRE(s.count() == 1);
        CHECK(s.all()[0].publish.error_code == publish_errc::bus_shut_down);
        CHECK_FALSE(s.all()[0].ok());
        CHECK(s.all()[0].started == 0);
    }
    SUBCASE("refused: throttled") {
        manual_executor later;
        b.add_rule({.name = "r",
                    .pattern = everything,
                    .targets = {json_handler("slow", [](std::string_view) {}, later)
                                    .bounded({.capacity = 1, .on_full = overflow_policy::reject})}});
        REQUIRE(b.publish(order(b, "c1", 1), s.callback()).ok());
        CHECK(s.count() == 0);  // its delivery waits in `later`
        const auto r = b.publish(order(b, "c1", 2), s.callback());
        CHECK(r.error_code == publish_errc::throttled);
        REQUIRE(s.count() == 1);
        CHECK(s.all()[0].publish.error_code == publish_errc::throttled);
        later.run_all();
        REQUIRE(s.count() == 2);
        CHECK(s.all()[1].ok());
        CHECK(s.all()[1].delivered == 1);
    }
    SUBCASE("deduplicated") {
        b.add_rule({.name = "r", .pattern = everything, .targets = {json_handler("t", [](std::string_view) {})}});
        auto e = order(b, "c1");
        REQUIRE(b.publish(e, s.callback()).ok());
        const auto again = b.publish(make_json_event(e->meta(), e->detail_json()), s.callback());
        CHECK(again.deduplicated);
        REQUIRE(s.count() == 2);
        CHECK(s.all()[0].delivered == 1);
        CHECK(s.all()[1].publish.deduplicated);
        CHECK(s.all()[1].started == 0);
    }
}

TEST_CASE("settlement: waits for deliveries on another executor, and for retries") {
    thread_pool pool(2);
    bus b{"orders"};
    std::atomic<int> calls{0};
    b.add_rule({.name = "r",
                .pattern = everything,
                .targets = {json_handler(
                                "flaky",
                                [&](std::string_view) {
                                    if (calls.fetch_add(1) == 0) throw std::runtime_error("first attempt fails");
                                },
                                pool)
                                .retry({.max_retry_attempts = 3, .base_delay = 1ms, .max_delay = 1ms})}});
    settlements s;
    REQUIRE(b.publish(order(b, "c1"), s.callback()).ok());
    REQUIRE(s.wait_for(1));
    CHECK(calls.load() == 2);  // it came after the retry, not after the first attempt
    const auto got = s.all();
    REQUIRE(got.size() == 1);
    CHECK(got[0].ok());
    CHECK(got[0].delivered == 1);
    CHECK(got[0].dead_lettered == 0);
}

TEST_CASE("settlement: dead letters after retries carry their reason; drain() returns only after the callback") {
    thread_pool pool(4);
    bus b{"orders", quiet()};
    b.set_error_handler([](const dead_letter&) {});
    b.add_rule({.name = "r",
                .pattern = everything,
                .targets = {json_handler("always-fails", [](std::string_view) { throw std::runtime_error("down"); }, pool)
                                .retry({.max_retry_attempts = 2, .base_delay = 1ms, .max_delay = 2ms}),
                            json_handler("fine", [](std::string_view) {}, pool)}});
    std::atomic<int> called{0};
    std::optional<publish_settlement> got;
    REQUIRE(b.publish(order(b, "c1"), [&](const publish_settlement& s) {
                 got = s;
                 called.fetch_add(1);
             }).ok());
    b.drain();
    REQUIRE(called.load() == 1);  // drain waited for it
    CHECK(got->started == 2);
    CHECK(got->delivered == 1);
    REQUIRE(got->dead_letters.size() == 1);
    CHECK(got->dead_letters[0].reason == dead_letter_reason::retries_exhausted);
    CHECK(got->dead_letters[0].attempts == 3);
    CHECK(got->dead_letters[0].error_message == "down");
}

TEST_CASE("settlement: FIFO groups settle each publish once its own delivery has ended, in order") {
    thread_pool pool(4);
    bus b{"orders"};
    std::mutex m;
    std::vector<int> handled, settled;
    b.add_rule({.name = "r",
                .pattern = everything,
                .targets = {json_handler(
                                "ordered",
                                [&](std::string_view json) {
                                    const auto n = nlohmann::json::parse(json)["detail"]["n"].get<int>();
                                    std::lock_guard lock(m);
                                    handled.push_back(n);
                                },
                                pool)
                                .ordered_by("$.detail.customer")}});
    constexpr int n = 200;
    for (int i = 0; i < n; ++i) {
        REQUIRE(b.publish(order(b, "same", i), [&, i](const publish_settlement& s) {
                     CHECK(s.delivered == 1);
                     std::lock_guard lock(m);
                     // Its delivery has ended, so the handler saw it already.
                     CHECK(handled.size() >= settled.size() + 1);
                     settled.push_back(i);
                 }).ok());
    }
    b.drain();
    std::lock_guard lock(m);
    REQUIRE(settled.size() == static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) CHECK(settled[static_cast<std::size_t>(i)] == i);
}

TEST_CASE("settlement: exactly once per publish under concurrency (thread pools, several publishers, two targets)") {
    thread_pool pool(4);
    bus b{"orders", quiet()};
    b.set_error_handler([](const dead_letter&) {});
    std::atomic<int> attempts{0};
    b.add_rule({.name = "r",
                .pattern = everything,
                .targets = {json_handler("a", [](std::string_view) {}, pool),
                            json_handler(
                                "b",
                                [&](std::string_view) {
                                    if (attempts.fetch_add(1) % 3 == 0) throw std::runtime_error("every third attempt fails");
                                },
                                pool)
                                .retry({.max_retry_attempts = 1, .base_delay = 1ms, .max_delay = 1ms})}});
    const int publishers = 4;
    const int per = std::getenv("SWITCHYARD_STRESS_EVENTS") ? 500 : 2000;
    std::vector<std::atomic<int>> calls(static_cast<std::size_t>(publishers * per));
    std::atomic<int> ok{0}, dead{0}, wrong{0};
    std::vector<std::thread> threads;
    for (int p = 0; p < publishers; ++p)
        threads.emplace_back([&, p] {
            for (int i = 0; i < per; ++i) {
                const auto k = static_cast<std::size_t>(p * per + i);
                const auto r = b.publish(order(b, "c" + std::to_string(i % 7), i), [&, k](const publish_settlement& s) {
                    calls[k].fetch_add(1);
                    if (s.started != 2 || s.delivered + s.dead_lettered != 2) wrong.fetch_add(1);
                    (s.ok() ? ok : dead).fetch_add(1);
                });
                if (!r.ok()) wrong.fetch_add(1);
            }
        });
    for (auto& t : threads) t.join();
    b.drain();
    int never = 0, twice = 0;
    for (auto& c : calls) {
        if (c.load() == 0) ++never;
        if (c.load() > 1) ++twice;
    }
    CHECK(never == 0);
    CHECK(twice == 0);
    CHECK(wrong.load() == 0);
    CHECK(ok.load() + dead.load() == publishers * per);
}

TEST_CASE("settlement: a journaled bus settles as its deliveries end, and a delivery journaled and ended is not recovered") {
    auto j = std::make_shared<memory_journal>();
    manual_executor later;
    bus b{"orders", {.journal = j}};
    b.add_rule({.name = "r", .pattern = everything, .targets = {json_handler("t", [](std::string_view) {}, later)}});
    settlements s;
    REQUIRE(b.publish(order(b, "c1"), s.callback()).ok());
    CHECK(j->unfinished().size() == 1);
    CHECK(s.count() == 0);
    later.run_all();
    REQUIRE(s.count() == 1);
    CHECK(s.all()[0].ok());
    CHECK(j->unfinished().empty());
}

TEST_CASE("settlement: a subscription ended before its delivery ran counts the delivery as discarded") {
    manual_executor later;
    bus b{"orders"};
    auto sub = b.subscribe(everything, json_handler("t", [](std::string_view) {}, later));
    settlements s;
    REQUIRE(b.publish(order(b, "c1"), s.callback()).ok());
    sub.unsubscribe();
    later.run_all();
    REQUIRE(s.count() == 1);
    CHECK(s.all()[0].discarded == 1);
    CHECK(s.all()[0].ok());
}

TEST_CASE("settlement: bad arguments are refused with a message") {
    bus b{"orders"};
    CHECK_THROWS_WITH_AS((void)b.publish(order(b, "c1"), settlement_callback{}), doctest::Contains("settlement callback is empty"),
                         error);
    CHECK_THROWS_AS((void)b.publish(event_ptr{}, [](const publish_settlement&) {}), error);
}
