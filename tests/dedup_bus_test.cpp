#include <doctest/doctest.h>

#include "test_support.hpp"

using namespace switchyard;
using namespace std::chrono_literals;
using test_types::Refund;

TEST_CASE("with deduplication on, a duplicate is accepted, reported and not delivered") {
    tally delivered;
    bus b{"payments", bus_options{.dedup = dedup_options{}}};
    b.add_rule({.name = "r",
                .pattern = R"({"source": ["s"]})",
                .targets = {json_handler("t", [&](std::string_view) { delivered.add(); })}});

    SUBCASE("by content: same source, detail-type and detail") {
        const put_events_entry entry{.source = "s", .detail_type = "X", .detail = R"({"n": 1})"};
        const auto first = b.put_events({entry});
        const auto again = b.put_events({entry});
        const auto other = b.put_events({{.source = "s", .detail_type = "X", .detail = R"({"n": 2})"}});
        CHECK(first.entries[0].ok());
        CHECK_FALSE(first.entries[0].deduplicated);
        CHECK(again.entries[0].ok());
        CHECK(again.entries[0].deduplicated);
        CHECK(again.failed_entry_count == 0);
        CHECK_FALSE(other.entries[0].deduplicated);
        REQUIRE(b.drain(30s));
        CHECK(delivered.value() == 2);
    }
    SUBCASE("by the producer's deduplication id") {
        auto p = b.producer<Refund>("s");
        CHECK_FALSE(p.publish({"t1", 1}, {.dedup_id = "order-42"}).deduplicated);
        CHECK(p.publish({"t1-retry", 1}, {.dedup_id = "order-42"}).deduplicated);
        CHECK_FALSE(p.publish({"t2", 1}, {.dedup_id = "order-43"}).deduplicated);
        REQUIRE(b.drain(30s));
        CHECK(delivered.value() == 2);
        const auto stats = b.dedup_statistics();
        REQUIRE(stats);
        CHECK(stats->duplicates == 1);
    }
}

TEST_CASE("a throttled event is not remembered, so the producer's retry gets through") {
    manual_executor exec;
    tally delivered;
    bus b{"payments", bus_options{.dedup = dedup_options{}}};
    b.add_rule({.name = "r",
                .pattern = R"({"source": ["s"]})",
                .targets = {json_handler("t", [&](std::string_view) { delivered.add(); }, exec)
                                .bounded({.capacity = 1, .on_full = overflow_policy::reject})}});
    const put_events_entry a{.source = "s", .detail_type = "X", .detail = R"({"n": 1})"};
    const put_events_entry b2{.source = "s", .detail_type = "X", .detail = R"({"n": 2})"};
    CHECK(b.put_events({a}).entries[0].ok());
    CHECK(b.put_events({b2}).entries[0].error_code == switchyard::publish_errc::throttled);
    exec.run_all();
    const auto retry = b.put_events({b2});
    CHECK(retry.entries[0].ok());
    CHECK_FALSE(retry.entries[0].deduplicated);
    exec.run_all();
    REQUIRE(b.drain(1s));
    CHECK(delivered.value() == 2);
}

TEST_CASE("without deduplication every publish is delivered") {
    tally delivered;
    bus b{"payments"};
    b.add_rule({.name = "r", .pattern = R"({"source": ["s"]})", .targets = {json_handler("t", [&](std::string_view) { delivered.add(); })}});
    const put_events_entry entry{.source = "s", .detail_type = "X", .detail = "{}"};
    CHECK(b.put_events({entry}).failed_entry_count == 0);
    CHECK_FALSE(b.put_events({entry}).entries[0].deduplicated);
    REQUIRE(b.drain(1s));
    CHECK(delivered.value() == 2);
    CHECK_FALSE(b.dedup_statistics());
}

TEST_CASE("a replayed event is delivered even inside the dedup window of its original") {
    // Regression: a replay republishes archived events with their original ids and details, so
    // the content key matched the original's and every replay inside the window was swallowed.
    tally delivered;
    bus b{"payments", bus_options{.dedup = dedup_options{}}};
    b.add_rule({.name = "r", .pattern = R"({"source": ["s"]})", .targets = {json_handler("t", [&](std::string_view) { delivered.add(); })}});
    auto original = make_json_event(b.make_envelope("s", "X"), R"({"n": 1})");
    REQUIRE(b.publish(original).ok());
    CHECK(b.publish(original).deduplicated);  // a plain duplicate is still caught

    auto replayed = parse_event(original->json());
    auto meta = replayed->meta();
    meta.replay_name = "yesterday";
    const auto result = b.publish(make_json_event(meta, R"({"n": 1})"));
    CHECK(result.ok());
    CHECK_FALSE(result.deduplicated);
    REQUIRE(b.drain(30s));
    CHECK(delivered.value() == 2);
}
