// The rule registry alone: snapshots, edits, and the names and limits it enforces.
#include <doctest/doctest.h>

#include "test_support.hpp"

#include <string>

#include "switchyard/bus/rule_registry.hpp"

using namespace switchyard;
using detail::rule_registry;
using test_types::bus_name;

namespace {
target noop(std::string id) {
    return target{std::move(id), [](const any_event&, const delivery_info&) { return outcome::success(); }};
}
rule_spec rule(std::string name, std::vector<target> targets = {}) {
    return {.name = std::move(name), .pattern = R"({"source": ["s"]})", .targets = std::move(targets)};
}
}  // namespace

TEST_CASE("rules are added, listed by name, and removed") {
    rule_registry rules(bus_name, 5);
    rules.add(rule("b", {noop("t1")}));
    rules.add(rule("a"));
    const auto list = rules.list();
    REQUIRE(list.size() == 2);
    CHECK(list[0].name == "a");
    CHECK(list[1].target_ids == std::vector<std::string>{"t1"});
    CHECK(rules.remove("a").has_value());
    CHECK_FALSE(rules.remove("a").has_value());
    CHECK(rules.list().size() == 1);
}

TEST_CASE("a snapshot taken before an edit is unchanged by it") {
    rule_registry rules(bus_name, 5);
    rules.add(rule("r", {noop("t1")}));
    const auto before = rules.load();
    rules.put_targets("r", {noop("t2")});
    rules.set_state("r", rule_state::disabled);
    CHECK(before->find("r")->targets.size() == 1);
    CHECK(before->find("r")->state == rule_state::enabled);
    const auto after = rules.load();
    CHECK(after->find("r")->targets.size() == 2);
    CHECK(after->find("r")->state == rule_state::disabled);
}

TEST_CASE("put replaces a rule in one step; add refuses a duplicate name") {
    rule_registry rules(bus_name, 5);
    rules.add(rule("r", {noop("old")}));
    CHECK_THROWS_WITH_AS(rules.add(rule("r")), doctest::Contains("already has a rule named \"r\""), error);
    rules.add(rule("r", {noop("new")}), false, true);
    CHECK(rules.load()->find("r")->targets.at(0)->spec.id == "new");
}

TEST_CASE("targets are checked: limits, duplicates, unknown ids, handlers") {
    rule_registry rules(bus_name, 2);
    CHECK_THROWS_WITH_AS(rules.add(rule("r", {noop("a"), noop("b"), noop("c")})), doctest::Contains("max_targets_per_rule"), error);
    CHECK_THROWS_WITH_AS(rules.add(rule("r", {noop("a"), noop("a")})), doctest::Contains("two targets with id \"a\""), error);
    CHECK_THROWS_WITH_AS(rules.add(rule("r", {target{"empty", {}}})), doctest::Contains("has no handler"), error);
    rules.add(rule("r", {noop("a")}));
    CHECK_THROWS_WITH_AS(rules.remove_targets("r", {"zzz"}), doctest::Contains("has no target \"zzz\""), error);
    CHECK_THROWS_WITH_AS(rules.set_state("nope", rule_state::enabled), doctest::Contains("no rule named \"nope\""), error);
    CHECK_THROWS_AS(rules.add({.name = "bad", .pattern = R"({"a": [{"numeric": ["<"]}]})"}), pattern_error);
}

TEST_CASE("a subscription's rule is only its subscription's to change") {
    rule_registry rules(bus_name, 5);
    const auto name = rules.next_subscription_name();
    rules.add(rule(name, {noop("s")}), true);
    CHECK(rules.list().at(0).managed);
    CHECK_THROWS_WITH_AS(rules.remove(name), doctest::Contains("belongs to a subscription"), error);
    CHECK_THROWS_WITH_AS(rules.set_state(name, rule_state::disabled), doctest::Contains("belongs to a subscription"), error);
    const auto targets = rules.remove(name, true);
    REQUIRE(targets);
    CHECK(targets->at(0)->closable);
    CHECK(rules.next_subscription_name() != name);
}
