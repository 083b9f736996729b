#include <doctest/doctest.h>

#include <atomic>
#include <mutex>

#include "test_support.hpp"

using namespace switchyard;
using namespace std::chrono_literals;
using test_types::Refund;
using test_types::refunds;

namespace {
}

TEST_CASE("drain waits for pending retries too") {
    std::atomic<int> calls{0};
    bus b{"payments"};
    b.add_rule({.name = "r",
                .pattern = refunds,
                .targets = {handler<Refund>("flaky",
                                            [&](const auto&) {
                                                if (++calls < 3) throw std::runtime_error("again");
                                            })
                                .retry({.max_retry_attempts = 5, .base_delay = 5ms, .max_delay = 5ms})}});
    CHECK(b.producer<Refund>("s").publish({"t1", 1}).ok());
    CHECK(b.pending() == 1);
    REQUIRE(b.drain(30s));
    CHECK(calls.load() == 3);
    CHECK(b.pending_retries() == 0);
}

TEST_CASE("shutdown dead-letters waiting retries and queued deliveries with reason shutdown") {
    manual_executor exec;
    std::mutex m;
    std::vector<dead_letter> letters;
    bus b{"payments"};
    auto sink = [&](const dead_letter& l) {
        std::lock_guard lock(m);
        letters.push_back(l);
    };
    b.add_rule({.name = "r",
                .pattern = refunds,
                .targets = {handler<Refund>("failing", [](const auto&) -> void { throw std::runtime_error("down"); })
                                .retry({.max_retry_attempts = 185, .base_delay = 1h, .max_delay = 1h})
                                .dead_letters(sink),
                            handler<Refund>("queued", [](const auto&) {}, exec).dead_letters(sink)}});
    auto p = b.producer<Refund>("s");
    for (int i = 0; i < 5; ++i) CHECK(p.publish({"t" + std::to_string(i), 1}));
    CHECK(b.pending_retries() == 5);  // the failing target's retries wait an hour
    CHECK(exec.size() == 5);

    // Nothing can finish within the timeout; shutdown hands the retries over at once...
    CHECK_FALSE(b.shutdown(10ms));
    CHECK(b.pending_retries() == 0);
    // ...and the queued deliveries as soon as their executor runs them.
    exec.run_all();
    REQUIRE(b.drain(1s));
    REQUIRE(letters.size() == 10);
    for (const auto& l : letters) {
        CHECK(l.reason == dead_letter_reason::shutdown);
        CHECK(l.error_code == "Shutdown");
    }
    for (const auto& s : b.stats()) {
        CHECK(s.accepted == 5);
        CHECK(s.dead_lettered == 5);
        CHECK(s.pending == 0);
    }

    const auto after = p.publish({"late", 1});
    CHECK(after.error_code == switchyard::publish_errc::bus_shut_down);
    CHECK(b.put_events({{.source = "s", .detail_type = "REFUND", .detail = "{}"}}).failed_entry_count == 1);
}

TEST_CASE("shutdown returns true when everything drains in time, and dead-letters nothing") {
    thread_pool workers{2};
    std::atomic<int> delivered{0}, dead{0};
    bus b{"payments"};
    b.add_rule({.name = "r",
                .pattern = refunds,
                .targets = {handler<Refund>("ok", [&](const auto&) { ++delivered; }, workers).dead_letters([&](const dead_letter&) {
                    ++dead;
                })}});
    auto p = b.producer<Refund>("s");
    for (int i = 0; i < 100; ++i) CHECK(p.publish({"t", 1}).ok());
    CHECK(b.shutdown(30s));
    CHECK(delivered.load() == 100);
    CHECK(dead.load() == 0);
}
