// bus::explain, named subscriptions and bus_options' chainable setters.
#include <doctest/doctest.h>

#include "test_support.hpp"

using namespace switchyard;
using namespace std::chrono_literals;
using test_types::CreditCardTransaction;

TEST_CASE("bus::explain: every rule, why each matches or not, for typed and JSON events") {
    bus b{"payments"};
    b.add_rule({.name = "big", .pattern = R"({"detail": {"total": [{"numeric": [">", 100]}]}})", .targets = {json_handler("t", [](std::string_view) {})}});
    b.add_rule({.name = "eur", .pattern = R"({"detail": {"currency": ["EUR"]}})", .targets = {json_handler("t", [](std::string_view) {})}});
    b.add_rule({.name = "off",
                .pattern = R"({"source": ["com.example.tx"]})",
                .targets = {json_handler("t", [](std::string_view) {})},
                .state = rule_state::disabled});
    event<CreditCardTransaction> e;
    e.id = "1";
    e.source = "com.example.tx";
    e.detail_type = "CREDIT_CARD_TRANSACTION";
    e.time = "2026-12-01T00:00:00Z";
    e.detail = {"t1", "c1", 42.0, {"VISA", "0034"}, {}};
    const auto why = b.explain(*make_event(e));
    REQUIRE(why.size() == 3);  // sorted by name
    CHECK(why[0].rule == "big");
    CHECK_FALSE(why[0].routes());
    CHECK(why[0].explanation.to_string() == R"(no match: detail.total expected [{"numeric":[">",100]}], event has 42.0)");  // a double, as the event's JSON writes it
    CHECK(why[1].rule == "eur");
    CHECK(why[1].explanation.to_string() == R"(no match: detail.currency expected ["EUR"], event has missing)");
    CHECK(why[2].rule == "off");
    CHECK(why[2].explanation.matched);  // the pattern matches, but the rule is disabled
    CHECK(why[2].state == rule_state::disabled);
    CHECK_FALSE(why[2].routes());

    // The same from JSON text; a match says so.
    const auto json_why = b.explain(R"({"source": "x", "detail": {"total": 500, "currency": "EUR"}})");
    REQUIRE(json_why.size() == 3);
    CHECK(json_why[0].routes());
    CHECK(json_why[1].routes());
    CHECK(json_why[0].explanation.to_string() == "match");
    CHECK_THROWS_AS((void)b.explain("{not json"), error);
}

TEST_CASE("subscriptions can name their rule; an archive's rule is named after it") {
    bus b{"payments"};
    auto first = b.subscribe(R"({"source": ["a"]})", json_handler("t", [](std::string_view) {}), "audit-feed");
    CHECK(first.rule_name() == "audit-feed");
    auto unnamed = b.subscribe(R"({"source": ["a"]})", json_handler("t", [](std::string_view) {}));
    CHECK(unnamed.rule_name().rfind("subscription-", 0) == 0);
    CHECK_THROWS_WITH_AS((void)b.subscribe(R"({"source": ["a"]})", json_handler("t", [](std::string_view) {}), "audit-feed"),
                         doctest::Contains("audit-feed"), error);
    CHECK_THROWS_AS((void)b.subscribe(R"({"source": ["a"]})", json_handler("t", [](std::string_view) {}), "bad name"), error);

    archive kept(b, {.name = "everything", .store = std::make_shared<memory_archive_store>()});
    bool found = false;
    for (const auto& s : b.stats())
        if (s.rule == "Events-Archive-everything") {
            found = true;
            CHECK(s.target == "archive-everything");
        }
    CHECK(found);
    const auto snapshot = b.metrics();
    CHECK(snapshot.find(metric_names::invocations, {{"rule", "Events-Archive-everything"}}) != nullptr);
    CHECK_THROWS_WITH_AS(archive(b, {.name = "no spaces", .store = std::make_shared<memory_archive_store>()}),
                         doctest::Contains("archive name \"no spaces\" contains ' '"), error);
    CHECK_THROWS_WITH_AS(archive(b, {.name = std::string(49, 'a'), .store = std::make_shared<memory_archive_store>()}),
                         doctest::Contains("at most 48"), error);
}

TEST_CASE("bus_options: chainable setters, in any order, on a temporary or a named value") {
    const auto chained = bus_options{}.with_metrics(false).with_region("eu-west-1").with_account("123456789012").with_max_hops(3);
    CHECK_FALSE(chained.metrics);
    CHECK(chained.region == "eu-west-1");
    CHECK(chained.account == "123456789012");
    CHECK(chained.max_hops == 3);
    bus_options named;
    named.with_max_batch_entries(20).with_latency_sample_every(1).with_dedup({});
    CHECK(named.max_batch_entries == 20);
    CHECK(named.latency_sample_every == 1);
    CHECK(named.dedup.has_value());
    bus b{"payments", bus_options{}.with_region("eu-west-1").with_max_batch_entries(20)};
    CHECK(b.make_envelope("s", "X").region == "eu-west-1");
    std::vector<put_events_entry> entries(20, put_events_entry{.source = "s", .detail_type = "X", .detail = "{}"});
    CHECK(b.put_events(entries).failed_entry_count == 0);
}
