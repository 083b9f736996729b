// Regression tests for defects found in review: each case names what used to go wrong.
#include <doctest/doctest.h>

#include <atomic>
#include <thread>

#include "test_support.hpp"

using namespace switchyard;
using namespace std::chrono_literals;
using test_types::CreditCardTransaction;
using test_types::Refund;
using test_types::refunds;

namespace {
}

TEST_CASE("a bus destroyed while another bus forwards into it is never used afterwards") {
    // Used to: the forwarder passed the closed check after ~bus had drained, queued a task with
    // a raw pointer into the destroyed bus (heap-use-after-free under ASan, ~1 run in 5).
    thread_pool source_pool{2};
    for (int round = 0; round < 200; ++round) {
        thread_pool destination_pool{1};
        bus source{"source", bus_options{.log = std::make_shared<null_sink>()}};  // the refusals are expected
        source.set_error_handler([](const delivery_failure&) {});
        {
            bus destination{"destination"};
            destination.add_rule({.name = "r", .pattern = refunds, .targets = {handler<Refund>("t", [](const auto&) {}, destination_pool)}});
            source.add_rule({.name = "fwd", .pattern = refunds, .targets = {bus_target("dst", destination, source_pool)}});
            auto p = source.producer<Refund>("s");
            for (int i = 0; i < 5; ++i) CHECK(p.publish({"t", 1}).ok());
        }  // destination destroyed while forwards may still be running
        REQUIRE(source.drain(30s));
        const auto s = source.stats()[0];
        CHECK(s.accepted == s.delivered + s.dead_lettered);
    }
}

TEST_CASE("a dedup key that cannot be computed fails the publish and leaks no queue slot") {
    // Used to: the key was computed after the slots were reserved; the exception leaked them,
    // and a capacity-2 target then refused every event.
    manual_executor exec;
    bus b{"payments", bus_options{.dedup = dedup_options{}}};
    b.add_rule({.name = "r",
                .pattern = R"({"detail-type": ["CREDIT_CARD_TRANSACTION"]})",
                .targets = {handler<CreditCardTransaction>("t", [](const auto&) {}, exec)
                                .bounded({.capacity = 2, .on_full = overflow_policy::reject})}});
    auto p = b.producer<CreditCardTransaction>("s");
    for (int i = 0; i < 3; ++i) {
        const auto bad = p.publish({"t", "\xff\xfe", 1, {}, {}});  // not UTF-8: cannot be serialised
        CHECK(bad.error_code == switchyard::publish_errc::invalid_argument);
        CHECK(bad.error_message.find("dedup_id") != std::string::npos);
    }
    CHECK(b.stats()[0].pending == 0);
    CHECK(p.publish({"t", "ok", 1, {}, {}}).ok());
    CHECK(p.publish({"t", "ok", 1, {}, {}}, {.dedup_id = "other"}).ok());
    exec.run_all();
    REQUIRE(b.drain(1s));
}

TEST_CASE("an ordering key that cannot be read dead-letters the delivery instead of hanging drain") {
    // Used to: the key was read after the delivery was counted; the exception left it pending.
    std::vector<dead_letter> letters;
    thread_pool workers{1};
    bus b{"payments"};
    b.add_rule({.name = "r",
                .pattern = R"({"detail-type": ["CREDIT_CARD_TRANSACTION"]})",
                .targets = {handler<CreditCardTransaction>("t", [](const auto&) {}, workers)
                                .ordered_by("$.detail.tags")
                                .dead_letters([&](const dead_letter& l) { letters.push_back(l); })}});
    CHECK(b.producer<CreditCardTransaction>("s").publish({"t", "c", 1, {}, {"\xff"}}).ok());
    REQUIRE(b.drain(30s));
    REQUIRE(letters.size() == 1);
    CHECK(letters[0].error_code == "OrderingKeyUnreadable");
}

TEST_CASE("ending a subscription from a nested inline handler does not deadlock") {
    // Used to: only the innermost running target was known, so S waited for its own call
    // further down the same stack.
    bus b{"payments"};
    tally s_calls;
    subscription s;
    s = b.subscribe(refunds, handler<Refund>("s", [&](const auto&) {
        s_calls.add();
        CHECK(b.producer<CreditCardTransaction>("s").publish({}).ok());  // reaches X, inline
    }));
    auto x = b.subscribe(R"({"detail-type": ["CREDIT_CARD_TRANSACTION"]})",
                         handler<CreditCardTransaction>("x", [&](const auto&) { s.unsubscribe(); }));
    CHECK(b.producer<Refund>("s").publish({"t", 1}).ok());
    REQUIRE(b.drain(5s));
    CHECK(b.producer<Refund>("s").publish({"t", 1}).ok());
    REQUIRE(b.drain(5s));
    CHECK(s_calls.value() == 1);
}

TEST_CASE("a subscription's rule cannot be removed, replaced or disabled behind its back") {
    // Used to: bus.remove_rule(sub.rule_name()) removed it without closing the target, so a
    // queued delivery could call the handler after the subscription was destroyed.
    bus b{"payments"};
    auto sub = b.subscribe(refunds, json_handler("h", [](std::string_view) {}));
    CHECK_THROWS_WITH_AS(b.remove_rule(sub.rule_name()), doctest::Contains("belongs to a subscription"), error);
    CHECK_THROWS_WITH_AS(b.disable_rule(sub.rule_name()), doctest::Contains("belongs to a subscription"), error);
    CHECK_THROWS_WITH_AS(b.put_rule({.name = sub.rule_name(), .pattern = refunds}), doctest::Contains("belongs to a subscription"), error);
    sub.unsubscribe();
    CHECK(b.list_rules().empty());
}

TEST_CASE("removing a rule whose target owns its pool does not make the pool join itself") {
    // Used to: the in-flight delivery held the last reference to the target, which owned the
    // pool; it was destroyed on the pool's own worker and std::terminate ran.
    bus b{"payments"};
    gate handlers;
    auto pool = std::make_shared<thread_pool>(1);
    b.add_rule({.name = "r", .pattern = refunds, .targets = {handler<Refund>("t", [&](const auto&) { handlers.wait(); }, pool)}});
    pool.reset();
    CHECK(b.producer<Refund>("s").publish({"t", 1}).ok());
    CHECK(b.remove_rule("r"));
    handlers.open();
    REQUIRE(b.drain(30s));
}

TEST_CASE("a retry that fails during shutdown is dead-lettered at once, not after its backoff") {
    // Used to: a handler still running when shutdown cancelled the timers scheduled its retry
    // afterwards, and it waited its whole backoff.
    thread_pool workers{1};
    gate handlers;
    std::vector<dead_letter> letters;
    std::mutex m;
    bus b{"payments"};
    b.add_rule({.name = "r",
                .pattern = refunds,
                .targets = {handler<Refund>("t",
                                            [&](const auto&) -> void {
                                                handlers.wait();
                                                throw std::runtime_error("down");
                                            },
                                            workers)
                                .retry({.max_retry_attempts = 5, .base_delay = 1h, .max_delay = 1h})
                                .dead_letters([&](const dead_letter& l) {
                                    std::lock_guard lock(m);
                                    letters.push_back(l);
                                })}});
    CHECK(b.producer<Refund>("s").publish({"t", 1}).ok());
    // The handler is still running, so shutdown's drains time out and its cancel finds no timer.
    CHECK_FALSE(b.shutdown(20ms));
    handlers.open();       // now it fails, after the cancel
    REQUIRE(b.drain(5s));  // well under the one-hour backoff
    REQUIRE(letters.size() == 1);
    CHECK(letters[0].reason == dead_letter_reason::shutdown);
}

TEST_CASE("FIFO groups tell strings from numbers and missing fields from empty strings") {
    const detail::key_path key("$.detail.k");
    auto group = [&](const char* detail) {
        return key.group_of(*make_json_event(envelope{}, detail));
    };
    CHECK(group(R"({"k": "42"})") != group(R"({"k": 42})"));
    CHECK(group(R"({"k": ""})") != group(R"({})"));
    CHECK(group(R"({"k": "a"})") == group(R"({"k": "a", "x": 1})"));
}
