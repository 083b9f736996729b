#include <doctest/doctest.h>

#include "test_support.hpp"

using namespace switchyard;
using namespace std::chrono_literals;
using test_types::Refund;

namespace {
const char* const refunds = R"({"detail-type": ["REFUND"]})";
}

TEST_CASE("reject: a full queue throttles the entry, and no target receives it") {
    manual_executor slow, fast;
    bus b{"payments"};
    b.add_rule({.name = "r",
                .pattern = refunds,
                .targets = {handler<Refund>("small", [](const auto&) {}, slow).bounded({.capacity = 2, .on_full = overflow_policy::reject}),
                            handler<Refund>("large", [](const auto&) {}, fast)}});
    auto p = b.producer<Refund>("s");
    CHECK(p.publish({"t1", 1}));
    CHECK(p.publish({"t2", 1}));
    const auto third = p.publish({"t3", 1});
    CHECK(third.error_code == "ThrottlingException");
    CHECK(third.error_message.find("\"small\"") != std::string::npos);
    const auto batch = b.put_events({{.source = "s", .detail_type = "REFUND", .detail = "{}"}});
    CHECK(batch.failed_entry_count == 1);
    CHECK(batch.entries[0].error_code == "ThrottlingException");

    auto stats = b.stats();
    CHECK(stats[0].pending == 2);  // queue depth is observable
    CHECK(stats[0].throttled == 2);
    CHECK(stats[1].accepted == 2);  // all-or-nothing: the roomy target did not get t3 either

    slow.run_all();
    fast.run_all();
    CHECK(p.publish({"t4", 1}));  // room again
    slow.run_all();
    fast.run_all();
    REQUIRE(b.drain(1s));
    stats = b.stats();
    CHECK(stats[0].delivered == 3);
    CHECK(stats[0].accepted == 3);
}

TEST_CASE("block: the publisher waits for room, and is throttled after the timeout") {
    thread_pool workers{1};
    std::mutex gate;
    std::unique_lock hold(gate);
    bus b{"payments"};
    b.add_rule({.name = "r",
                .pattern = refunds,
                .targets = {handler<Refund>("gated", [&](const auto&) { std::lock_guard wait(gate); }, workers)
                                .bounded({.capacity = 1, .on_full = overflow_policy::block, .block_timeout = 20ms})}});
    auto p = b.producer<Refund>("s");
    CHECK(p.publish({"t1", 1}));
    const auto blocked = p.publish({"t2", 1});  // waits 20 ms for room that never comes
    CHECK(blocked.error_code == "ThrottlingException");

    // Now free the queue from another thread while the publisher waits.
    std::thread releaser([&] { hold.unlock(); });
    const auto waited = b.producer<Refund>("s");
    releaser.join();
    b.remove_rule("r");
    b.add_rule({.name = "r2",
                .pattern = refunds,
                .targets = {handler<Refund>("gated", [&](const auto&) {}, workers)
                                .bounded({.capacity = 1, .on_full = overflow_policy::block, .block_timeout = 10s})}});
    for (int i = 0; i < 50; ++i) CHECK(waited.publish({"t", 1}));  // each waits for the previous one
    REQUIRE(b.drain(30s));
}

TEST_CASE("dead_letter: a full queue sends that target's copy straight to its sink") {
    manual_executor exec;
    std::vector<dead_letter> letters;
    bus b{"payments"};
    b.add_rule({.name = "r",
                .pattern = refunds,
                .targets = {handler<Refund>("small", [](const auto&) {}, exec)
                                .bounded({.capacity = 1, .on_full = overflow_policy::dead_letter})
                                .dead_letters([&](const dead_letter& l) { letters.push_back(l); })}});
    auto p = b.producer<Refund>("s");
    CHECK(p.publish({"t1", 1}));
    CHECK(p.publish({"t2", 1}));  // accepted: the entry succeeds, its delivery is dead-lettered
    REQUIRE(letters.size() == 1);
    CHECK(letters[0].reason == dead_letter_reason::queue_full);
    CHECK(letters[0].attempts == 0);
    CHECK(letters[0].event->as<Refund>()->detail.transactionId == "t2");
    exec.run_all();
    REQUIRE(b.drain(1s));
    const auto s = b.stats()[0];
    CHECK(s.accepted == 2);
    CHECK(s.delivered + s.dead_lettered == 2);
}

TEST_CASE("queue capacity must be positive") {
    bus b{"payments"};
    CHECK_THROWS_WITH_AS(b.add_rule({.name = "r", .pattern = refunds,
                                     .targets = {json_handler("t", [](std::string_view) {}).bounded({.capacity = 0})}}),
                         doctest::Contains("capacity"), error);
}
