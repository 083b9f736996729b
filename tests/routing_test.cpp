#include <doctest/doctest.h>

#include "test_support.hpp"

using namespace switchyard;
using namespace std::chrono_literals;
using test_types::Refund;
using test_types::refunds;

namespace {
}

TEST_CASE("a bus target routes events into another bus, keeping id and typed value") {
    std::vector<event<Refund>> seen;
    const event<Refund>* typed_address = nullptr;
    bus ledger{"ledger"};
    ledger.add_rule({.name = "book",
                     .pattern = refunds,
                     .targets = {handler<Refund>("book", [&](const event<Refund>& e) {
                         seen.push_back(e);
                         typed_address = &e;
                     })}});
    bus payments{"payments"};
    payments.add_rule({.name = "to-ledger", .pattern = refunds, .targets = {bus_target("ledger", ledger)}});
    const auto r = payments.producer<Refund>("s").publish({"t1", 12.5});
    REQUIRE(payments.drain(30s));
    REQUIRE(ledger.drain(30s));
    REQUIRE(seen.size() == 1);
    CHECK(seen[0].id == r.event_id);
    CHECK(seen[0].detail.amount == 12.5);
    CHECK(typed_address != nullptr);  // delivered as the original typed value, not re-parsed
}

TEST_CASE("a routing loop is dead-lettered with reason routing-loop, not repeated forever") {
    std::vector<dead_letter> letters;
    bus a{"a", bus_options{.max_hops = 3}};
    bus b{"b", bus_options{.max_hops = 3}};
    a.add_rule({.name = "to-b",
                .pattern = refunds,
                .targets = {bus_target("b", b).dead_letters([&](const dead_letter& l) { letters.push_back(l); })}});
    b.add_rule({.name = "to-a",
                .pattern = refunds,
                .targets = {bus_target("a", a).dead_letters([&](const dead_letter& l) { letters.push_back(l); })}});
    CHECK(a.producer<Refund>("s").publish({"t1", 1}).ok());
    REQUIRE(a.drain(30s));
    REQUIRE(b.drain(30s));
    REQUIRE(letters.size() == 1);
    CHECK(letters[0].reason == dead_letter_reason::routing_loop);
    CHECK(letters[0].error_code == "RoutingLoop");
    CHECK(letters[0].event->hops() == 3);
    CHECK(letters[0].error_message.find("max_hops") != std::string::npos);
}

TEST_CASE("a bus target cannot take an input specification") {
    bus a{"a"}, b{"b"};
    CHECK_THROWS_WITH_AS(a.add_rule({.name = "r",
                                     .pattern = refunds,
                                     .targets = {bus_target("b", b).with_input(input_path{"$.detail"})}}),
                         doctest::Contains("whole event"), error);
}

TEST_CASE("a destroyed destination bus makes the delivery fail permanently") {
    std::vector<dead_letter> letters;
    bus a{"a"};
    {
        bus gone{"gone"};
        a.add_rule({.name = "r",
                    .pattern = refunds,
                    .targets = {bus_target("gone", gone).dead_letters([&](const dead_letter& l) { letters.push_back(l); })}});
    }
    CHECK(a.producer<Refund>("s").publish({"t1", 1}).ok());
    REQUIRE(a.drain(30s));
    REQUIRE(letters.size() == 1);
    CHECK(letters[0].reason == dead_letter_reason::permanent_failure);
}

TEST_CASE("put_rule replaces a rule atomically; put_targets and remove_targets edit its targets") {
    tally first, second, third;
    bus b{"payments"};
    b.add_rule({.name = "r", .pattern = refunds, .targets = {handler<Refund>("one", [&](const auto&) { first.add(); })}});
    auto p = b.producer<Refund>("s");
    CHECK(p.publish({"t", 1}).ok());
    b.put_rule({.name = "r", .pattern = refunds, .targets = {handler<Refund>("two", [&](const auto&) { second.add(); })}});
    CHECK(p.publish({"t", 1}).ok());
    b.put_targets("r", {handler<Refund>("three", [&](const auto&) { third.add(); })});
    CHECK(p.publish({"t", 1}).ok());
    b.remove_targets("r", {"two"});
    CHECK(p.publish({"t", 1}).ok());
    REQUIRE(b.drain(30s));
    CHECK(first.value() == 1);
    CHECK(second.value() == 2);
    CHECK(third.value() == 2);
    CHECK(b.list_rules().size() == 1);
    CHECK(b.list_rules()[0].target_ids == std::vector<std::string>{"three"});
    CHECK_THROWS_WITH_AS(b.remove_targets("r", {"nope"}), doctest::Contains("no target \"nope\""), error);
    CHECK_THROWS_WITH_AS(b.put_targets("missing", {}), doctest::Contains("no rule named"), error);
    CHECK_THROWS_WITH_AS(b.add_rule({.name = "r", .pattern = refunds}), doctest::Contains("put_rule"), error);
}
