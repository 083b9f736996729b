#include <doctest/doctest.h>

#include <atomic>
#include <mutex>

#include "test_support.hpp"

using namespace switchyard;
using namespace std::chrono_literals;
using test_types::Refund;
using test_types::refunds;
using test_types::quick;

TEST_CASE("a retryable failure is retried until it succeeds, with the attempt number visible") {
    thread_pool workers{2};
    std::vector<unsigned> attempts;
    std::mutex m;
    bus b{"payments"};
    b.add_rule({.name = "r",
                .pattern = refunds,
                .targets = {handler<Refund>("flaky",
                                            [&](const event<Refund>&, const delivery_info& info) {
                                                std::lock_guard lock(m);
                                                attempts.push_back(info.attempt);
                                                if (info.attempt < 3) throw std::runtime_error("gateway timeout");
                                            },
                                            workers)
                                .retry(quick(5))}});
    CHECK(b.producer<Refund>("s").publish({"t1", 1}).ok());
    REQUIRE(b.drain(30s));
    CHECK(attempts == std::vector<unsigned>{1, 2, 3});
    const auto s = b.stats()[0];
    CHECK(s.delivered == 1);
    CHECK(s.retried == 2);
    CHECK(s.dead_lettered == 0);
}

TEST_CASE("exhausted retries go to the dead-letter sink with the reason and the attempts made") {
    std::vector<dead_letter> letters;
    std::mutex m;
    bus b{"payments"};
    b.add_rule({.name = "r",
                .pattern = refunds,
                .targets = {handler<Refund>("always-fails", [](const auto&) -> void { throw std::runtime_error("down"); })
                                .retry(quick(3))
                                .dead_letters([&](const dead_letter& l) {
                                    std::lock_guard lock(m);
                                    letters.push_back(l);
                                })}});
    const auto r = b.producer<Refund>("s").publish({"t1", 1});
    REQUIRE(b.drain(30s));
    REQUIRE(letters.size() == 1);
    CHECK(letters[0].event->meta().id == r.event_id);
    CHECK(letters[0].rule == "r");
    CHECK(letters[0].target == "always-fails");
    CHECK(letters[0].error_code == "HandlerFailed");
    CHECK(letters[0].error_message == "down");
    CHECK(letters[0].attempts == 4);
    CHECK(letters[0].reason == dead_letter_reason::retries_exhausted);
    CHECK(to_string(letters[0].reason) == "retries-exhausted");
}

TEST_CASE("permanent failures skip retries, whether thrown or returned") {
    std::vector<dead_letter> letters;
    std::atomic<int> calls{0};
    bus b{"payments"};
    auto sink = [&](const dead_letter& l) { letters.push_back(l); };
    b.add_rule({.name = "r",
                .pattern = refunds,
                .targets = {handler<Refund>("throws",
                                            [&](const auto&) -> void {
                                                ++calls;
                                                throw permanent_error("account closed");
                                            })
                                .retry(quick(10))
                                .dead_letters(sink),
                            handler<Refund>("returns",
                                            [&](const auto&) {
                                                ++calls;
                                                return outcome::fail("bad amount");
                                            })
                                .retry(quick(10))
                                .dead_letters(sink)}});
    CHECK(b.producer<Refund>("s").publish({"t1", 1}).ok());
    REQUIRE(b.drain(30s));
    CHECK(calls.load() == 2);
    REQUIRE(letters.size() == 2);
    for (const auto& l : letters) {
        CHECK(l.reason == dead_letter_reason::permanent_failure);
        CHECK(l.attempts == 1);
    }
    CHECK(letters[0].error_message == "account closed");
    CHECK(letters[1].error_message == "bad amount");
}

TEST_CASE("an explicit retryable outcome is retried like an exception") {
    std::atomic<int> calls{0};
    bus b{"payments"};
    b.add_rule({.name = "r",
                .pattern = refunds,
                .targets = {handler<Refund>("busy",
                                            [&](const auto&) {
                                                return ++calls < 2 ? outcome::retry("busy") : outcome::success();
                                            })
                                .retry(quick(3))}});
    CHECK(b.producer<Refund>("s").publish({"t1", 1}).ok());
    REQUIRE(b.drain(30s));
    CHECK(calls.load() == 2);
    CHECK(b.stats()[0].delivered == 1);
}

TEST_CASE("an event older than max_event_age is dead-lettered instead of retried") {
    std::vector<dead_letter> letters;
    bus b{"payments"};
    b.add_rule({.name = "r",
                .pattern = refunds,
                .targets = {handler<Refund>("fails", [](const auto&) -> void { throw std::runtime_error("down"); })
                                .retry({.max_retry_attempts = 185, .max_event_age = 1ms, .base_delay = 5ms, .max_delay = 5ms})
                                .dead_letters([&](const dead_letter& l) { letters.push_back(l); })}});
    // Backoff draws in [0, 5 ms]; eventually a wait crosses the 1 ms age limit.
    CHECK(b.producer<Refund>("s").publish({"t1", 1}).ok());
    REQUIRE(b.drain(30s));
    REQUIRE(letters.size() == 1);
    CHECK(letters[0].reason == dead_letter_reason::max_age_exceeded);
}

TEST_CASE("without a sink, dead letters reach the error handler; a failing sink is reported too") {
    std::vector<dead_letter> reported;
    bus b{"payments"};
    b.set_error_handler([&](const delivery_failure& f) { reported.push_back(f); });
    b.add_rule({.name = "r",
                .pattern = refunds,
                .targets = {handler<Refund>("no-sink", [](const auto&) -> void { throw permanent_error("nope"); }),
                            handler<Refund>("bad-sink", [](const auto&) -> void { throw permanent_error("nope"); })
                                .dead_letters([](const dead_letter&) { throw std::runtime_error("sink offline"); })}});
    CHECK(b.producer<Refund>("s").publish({"t1", 1}).ok());
    REQUIRE(b.drain(30s));
    REQUIRE(reported.size() == 2);
    CHECK(reported[0].target == "no-sink");
    CHECK(reported[1].target == "bad-sink");
    CHECK(reported[1].error_message.find("sink offline") != std::string::npos);
}

TEST_CASE("another bus can be the dead-letter sink") {
    std::vector<std::string> dead;
    bus dlq{"dead-letters"};
    dlq.add_rule({.name = "all",
                  .pattern = R"({"source": ["switchyard.dead-letter"]})",
                  .targets = {json_handler("collect", [&](std::string_view json) { dead.emplace_back(json); })}});
    bus b{"payments"};
    b.add_rule({.name = "r",
                .pattern = refunds,
                .targets = {handler<Refund>("fails", [](const auto&) -> void { throw permanent_error("card stolen"); })
                                .dead_letters(dlq.as_dead_letter_sink())}});
    const auto r = b.producer<Refund>("s").publish({"t9", 5});
    REQUIRE(b.drain(30s));
    REQUIRE(dlq.drain(30s));
    REQUIRE(dead.size() == 1);
    const auto j = nlohmann::json::parse(dead[0]);
    CHECK(j["detail-type"] == "DeadLetter");
    CHECK(j["detail"]["reason"] == "permanent-failure");
    CHECK(j["detail"]["errorMessage"] == "card stolen");
    CHECK(j["detail"]["event"]["id"] == r.event_id);
    CHECK(j["detail"]["event"]["detail"]["transactionId"] == "t9");
}

TEST_CASE("retry policies are validated when the rule is added") {
    bus b{"payments"};
    auto add = [&](retry_policy p) {
        b.add_rule({.name = "r", .pattern = refunds, .targets = {json_handler("t", [](std::string_view) {}).retry(p)}});
    };
    CHECK_THROWS_WITH_AS(add({.max_retry_attempts = 186}), doctest::Contains("0 to 185"), error);
    CHECK_THROWS_WITH_AS(add({.max_event_age = 0ms}), doctest::Contains("max_event_age"), error);
    CHECK_THROWS_WITH_AS(add({.base_delay = 10ms, .max_delay = 1ms}), doctest::Contains("max_delay"), error);
    CHECK_NOTHROW(add(retry_policy::eventbridge_defaults()));
}

TEST_CASE("full-jitter backoff stays within [0, min(cap, base * 2^retry)] and spreads out") {
    const retry_policy p{.base_delay = 100ms, .max_delay = 1000ms};
    std::chrono::microseconds low = std::chrono::hours(1), high{0};
    for (int i = 0; i < 2000; ++i) {
        const auto first = p.backoff(1);
        CHECK(first <= 100ms);
        const auto late = p.backoff(20);
        CHECK(late <= 1000ms);
        low = std::min(low, late);
        high = std::max(high, late);
    }
    CHECK(low < 200ms);  // jitter reaches down near zero...
    CHECK(high > 800ms);  // ...and up near the cap
}

TEST_CASE("a retry outcome with a minimum wait (Retry-After) delays the next attempt at least that long") {
    std::vector<std::chrono::steady_clock::time_point> attempts;
    std::mutex m;
    bus b{"payments"};
    b.add_rule({.name = "r",
                .pattern = refunds,
                .targets = {handler<Refund>("throttled",
                                            [&](const event<Refund>&, const delivery_info& info) {
                                                std::lock_guard lock(m);
                                                attempts.push_back(std::chrono::steady_clock::now());
                                                return info.attempt == 1 ? outcome::retry("HTTP 429", 250ms) : outcome::success();
                                            })
                                .retry(quick(3))}});
    CHECK(b.producer<Refund>("s").publish({"t1", 1}).ok());
    REQUIRE(b.drain(30s));
    REQUIRE(attempts.size() == 2);
    CHECK(attempts[1] - attempts[0] >= 250ms);  // the backoff alone would be 1-2 ms
    CHECK(outcome::retry("x", 250ms).retry_after() == 250ms);
    CHECK(outcome::retry("x").retry_after() == 0ms);

    SUBCASE("a minimum wait past the event's maximum age dead-letters at once") {
        std::vector<dead_letter> dead;
        bus b2{"p2"};
        b2.add_rule({.name = "r",
                     .pattern = refunds,
                     .targets = {handler<Refund>("throttled", [](const event<Refund>&) { return outcome::retry("HTTP 429", 1h); })
                                     .retry(retry_policy{.max_retry_attempts = 3, .max_event_age = 10min, .base_delay = 1ms, .max_delay = 2ms})
                                     .dead_letters([&](const dead_letter& d) { dead.push_back(d); })}});
        CHECK(b2.producer<Refund>("s").publish({"t1", 1}).ok());
        REQUIRE(b2.drain(30s));
        REQUIRE(dead.size() == 1);
        CHECK(dead[0].reason == dead_letter_reason::max_age_exceeded);
    }
}
