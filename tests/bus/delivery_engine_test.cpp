// The delivery engine alone, without a bus: attempts, retries, dead letters, FIFO groups, drain,
// and the guards against nesting and self-draining.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "switchyard/bus/delivery_engine.hpp"
#include "switchyard/executor/thread_pool.hpp"
#include "test_support.hpp"

using namespace switchyard;
using namespace std::chrono_literals;
using detail::delivery_engine;
using detail::target_state;
using test_types::bus_name;

namespace {

struct engine_fixture {
    bus_options options = quiet();
    detail::bus_telemetry telemetry{bus_name, options};
    delivery_engine engine{bus_name, telemetry, nullptr, 8};
    std::vector<dead_letter> letters;
    std::mutex letters_mutex;

    static bus_options quiet() {
        bus_options o;
        o.log = std::make_shared<null_sink>();
        return o;
    }
    std::shared_ptr<target_state> make(target t) {
        t.dead_letter_to = [this](const dead_letter& l) {
            std::lock_guard lock(letters_mutex);
            letters.push_back(l);
        };
        return std::make_shared<target_state>(std::move(t), "rule", false);
    }
    void start(const std::shared_ptr<target_state>& t, const event_ptr& e) {
        REQUIRE(t->slots.try_reserve());  // admission's job, done by hand here
        engine.start(e, t, std::nullopt);
    }
};

event_ptr event_with(std::string detail) {
    envelope meta;
    meta.id = "id-" + detail;
    return make_json_event(std::move(meta), std::move(detail));
}
}  // namespace

TEST_CASE("a delivery runs, ends, and frees its slot") {
    engine_fixture f;
    int calls = 0;
    auto t = f.make(target{"t", [&](const any_event&, const delivery_info& info) {
                              CHECK(info.attempt == 1);
                              ++calls;
                              return outcome::success();
                          }});
    f.start(t, event_with("{}"));
    CHECK(calls == 1);
    CHECK(f.engine.pending() == 0);
    CHECK(t->slots.in_use() == 0);
    CHECK(t->delivered == 1);
}

TEST_CASE("a permanent failure is dead-lettered with its reason; a retryable one is retried") {
    engine_fixture f;
    auto failing = f.make(target{"perm", [](const any_event&, const delivery_info&) { return outcome::fail("declined"); }});
    f.start(failing, event_with("{}"));
    REQUIRE(f.letters.size() == 1);
    CHECK(f.letters[0].reason == dead_letter_reason::permanent_failure);
    CHECK(f.letters[0].error_message == "declined");

    std::atomic<int> attempts{0};
    auto flaky = f.make(target{"flaky", [&](const any_event&, const delivery_info&) {
                                   return ++attempts < 3 ? outcome::retry("busy") : outcome::success();
                               }}.retry({.max_retry_attempts = 5, .base_delay = 1ms, .max_delay = 2ms}));
    f.start(flaky, event_with("{}"));
    REQUIRE(f.engine.drain(10s));
    CHECK(attempts == 3);
    CHECK(flaky->retried == 2);
    CHECK(flaky->delivered == 1);
}

TEST_CASE("an ordered target runs one delivery per group at a time, in order") {
    engine_fixture f;
    thread_pool pool{4};
    std::mutex mutex;
    std::vector<std::string> order;
    auto t = f.make(target{"fifo",
                           [&](const any_event& e, const delivery_info&) {
                               std::lock_guard lock(mutex);
                               order.push_back(e.meta().id);
                               return outcome::success();
                           },
                           pool}
                        .ordered_by("$.detail.k"));
    for (int i = 0; i < 50; ++i) f.start(t, event_with(R"({"k":"same","n":)" + std::to_string(i) + "}"));
    REQUIRE(f.engine.drain(10s));
    REQUIRE(order.size() == 50);
    for (int i = 0; i < 50; ++i) CHECK(order[static_cast<std::size_t>(i)] == R"(id-{"k":"same","n":)" + std::to_string(i) + "}");
    CHECK(t->groups.active_keys() == 0);
}

TEST_CASE("deliveries nested past the limit are dead-lettered as a routing loop") {
    // Regression (hardening): a handler on an inline executor that started deliveries to
    // itself recursed until the stack overflowed.
    engine_fixture f;  // max_nested_deliveries = 8
    std::shared_ptr<target_state> t;
    int depth = 0;
    t = f.make(target{"loop", [&](const any_event& e, const delivery_info&) {
                          ++depth;
                          f.start(t, e.shared_from_this());  // as a handler publishing to its own bus
                          return outcome::success();
                      }});
    f.start(t, event_with("{}"));
    CHECK(depth == 8);
    REQUIRE(f.letters.size() == 1);
    CHECK(f.letters[0].reason == dead_letter_reason::routing_loop);
    CHECK(f.letters[0].error_message.find("max_nested_deliveries") != std::string::npos);
    CHECK(f.engine.pending() == 0);
}

TEST_CASE("drain without a timeout from inside a delivery throws instead of hanging") {
    engine_fixture f;
    std::string message;
    auto t = f.make(target{"t", [&](const any_event&, const delivery_info&) {
                              try {
                                  f.engine.drain(std::nullopt);
                              } catch (const error& e) {
                                  message = e.what();
                              }
                              return outcome::success();
                          }});
    f.start(t, event_with("{}"));
    CHECK(message.find("from inside one of its own deliveries") != std::string::npos);
}

TEST_CASE("shutdown dead-letters a waiting retry") {
    engine_fixture f;
    auto t = f.make(target{"slow", [](const any_event&, const delivery_info&) { return outcome::retry("later"); }}.retry(
        {.max_retry_attempts = 3, .base_delay = std::chrono::hours(1), .max_delay = std::chrono::hours(1)}));
    f.start(t, event_with("{}"));
    CHECK(f.engine.pending_retries() == 1);
    CHECK(f.engine.shutdown(10ms));
    REQUIRE(f.letters.size() == 1);
    CHECK(f.letters[0].reason == dead_letter_reason::shutdown);
    CHECK(f.engine.closed());
}

TEST_CASE("drain wakes when the last delivery ends on another thread, round after round (ThreadSanitizer)") {
    // finish() skips the lock and the wake-up when nobody is draining; a drainer that arrives
    // just as the last delivery ends must still see it ended or be woken. A lost wake-up shows as
    // a drain that returns only when its timeout has passed (it then finds nothing pending).
    constexpr auto limit = std::chrono::seconds(10);
    engine_fixture f;
    thread_pool workers{2};
    std::atomic<int> calls{0};
    auto t = f.make(target{"t", [&](const any_event&, const delivery_info&) {
                              calls.fetch_add(1);
                              return outcome::success();
                          }, workers});
    const auto e = event_with("{}");
    int slept_out = 0;
    for (int round = 0; round < 3000; ++round) {
        f.start(t, e);
        if (round % 2) f.start(t, e);
        const auto began = std::chrono::steady_clock::now();
        CHECK(f.engine.drain(limit));
        if (std::chrono::steady_clock::now() - began >= limit) ++slept_out;
        REQUIRE(f.engine.pending() == 0);
    }
    CHECK(slept_out == 0);
    CHECK(calls.load() == 4500);
}
