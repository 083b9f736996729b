#include <doctest/doctest.h>

#include "test_support.hpp"

using namespace switchyard;
using namespace std::chrono_literals;
using test_types::Refund;
using test_types::refunds;

namespace {
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
    CHECK(third.error_code == switchyard::publish_errc::throttled);
    CHECK(third.error_message.find("\"small\"") != std::string::npos);
    const auto batch = b.put_events({{.source = "s", .detail_type = "REFUND", .detail = "{}"}});
    CHECK(batch.failed_entry_count == 1);
    CHECK(batch.entries[0].error_code == switchyard::publish_errc::throttled);

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
    gate handlers;
    bus b{"payments"};
    b.add_rule({.name = "gated",
                .pattern = refunds,
                .targets = {handler<Refund>("gated", [&](const auto&) { handlers.wait(); }, workers)
                                .bounded({.capacity = 1, .on_full = overflow_policy::block, .block_timeout = 20ms})}});
    auto p = b.producer<Refund>("s");
    CHECK(p.publish({"t1", 1}));
    const auto blocked = p.publish({"t2", 1});  // waits 20 ms for room that never comes
    CHECK(blocked.error_code == switchyard::publish_errc::throttled);
    handlers.open();
    REQUIRE(b.drain(30s));
    CHECK(b.stats()[0].delivered == 1);
    CHECK(b.stats()[0].throttled == 1);

    // With a long timeout every publish waits for the previous delivery to free the one slot.
    b.remove_rule("gated");
    b.add_rule({.name = "patient",
                .pattern = refunds,
                .targets = {handler<Refund>("patient", [&](const auto&) { std::this_thread::yield(); }, workers)
                                .bounded({.capacity = 1, .on_full = overflow_policy::block, .block_timeout = 10s})}});
    for (int i = 0; i < 50; ++i) CHECK(p.publish({"t", 1}));
    REQUIRE(b.drain(30s));
    CHECK(b.stats()[0].delivered == 50);
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
