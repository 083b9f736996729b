// nats_target's subject templates: each placeholder one token, bad templates refused with the fix.
#include <doctest/doctest.h>

#include <set>
#include <string>

#include <switchyard/switchyard.hpp>

#include "nats/subject.hpp"

using namespace switchyard;
using switchyard::nats_detail::escape_token;
using switchyard::nats_detail::subject_template;

namespace {
event_ptr sample(std::string source, std::string detail_type, std::string detail = R"({"customer": "c-1"})") {
    bus b{"x"};
    return make_json_event(b.make_envelope(std::move(source), std::move(detail_type)), std::move(detail));
}
}  // namespace

TEST_CASE("a placeholder's value is one token: no dots, wildcards or spaces, and distinct values stay distinct") {
    CHECK(escape_token("OrderPlaced") == "OrderPlaced");
    CHECK(escape_token("Order Placed") == "Order%20Placed");
    CHECK(escape_token("com.example") == "com%2Eexample");
    CHECK(escape_token("a*b>c") == "a%2Ab%3Ec");
    CHECK(escape_token("") == "_");
    CHECK(escape_token("a%2E") == "a%252E");  // '%' itself is escaped: no two values meet
    CHECK(escape_token("com.example") != escape_token("com_example"));
}

TEST_CASE("templates render from the event") {
    const auto e = sample("com.example.orders", "Order Placed");
    CHECK(subject_template("events.{detail-type}", "", 16, "t").render(*e) == "events.Order%20Placed");
    CHECK(subject_template("{source}.{detail-type}", "", 16, "t").render(*e) == "com%2Eexample%2Eorders.Order%20Placed");
    CHECK(subject_template("fixed.subject", "", 16, "t").render(*e) == "fixed.subject");
    CHECK(subject_template("ev.{id}", "", 16, "t").render(*e) == "ev." + escape_token(e->meta().id));
}

TEST_CASE("{partition}: the same key always gives the same partition, and keys spread over the partitions") {
    subject_template t("events.{partition}", "$.detail.customer", 8, "t");
    const auto a1 = sample("s", "d", R"({"customer": "alice", "n": 1})");
    const auto a2 = sample("s", "d", R"({"customer": "alice", "n": 2})");
    CHECK(t.render(*a1) == t.render(*a2));
    std::set<std::string> seen;
    for (int i = 0; i < 200; ++i) seen.insert(t.render(*sample("s", "d", R"({"customer": "c)" + std::to_string(i) + R"("})")));
    CHECK(seen.size() == 8);
    // An event without the key has a partition too (all such events share it).
    CHECK(t.render(*sample("s", "d", "{}")).rfind("events.", 0) == 0);
}

TEST_CASE("bad templates are refused with the problem and the fix") {
    CHECK_THROWS_WITH_AS(subject_template("", "", 16, "nats_target \"t\""), doctest::Contains("is empty"), error);
    CHECK_THROWS_WITH_AS(subject_template("events..x", "", 16, "t"), doctest::Contains("empty token"), error);
    CHECK_THROWS_WITH_AS(subject_template("events.", "", 16, "t"), doctest::Contains("empty token"), error);
    CHECK_THROWS_WITH_AS(subject_template("events.>", "", 16, "t"), doctest::Contains("wildcard"), error);
    CHECK_THROWS_WITH_AS(subject_template("events.*", "", 16, "t"), doctest::Contains("wildcard"), error);
    CHECK_THROWS_WITH_AS(subject_template("events x", "", 16, "t"), doctest::Contains("whitespace"), error);
    CHECK_THROWS_WITH_AS(subject_template("events.{detail_type}", "", 16, "t"), doctest::Contains("unknown placeholder {detail_type}"),
                         error);
    CHECK_THROWS_WITH_AS(subject_template("events.{source", "", 16, "t"), doctest::Contains("without its"), error);
    CHECK_THROWS_WITH_AS(subject_template("events.{partition}", "", 16, "t"), doctest::Contains("no partition_key"), error);
    CHECK_THROWS_WITH_AS(subject_template("events.x", "$.detail.k", 16, "t"), doctest::Contains("has no {partition}"), error);
    CHECK_THROWS_WITH_AS(subject_template("events.{partition}", "$.detail.k", 0, "t"), doctest::Contains("at least 1"), error);
    CHECK_THROWS_WITH_AS(subject_template("events.{partition}", "$.detail[0]", 4, "t"), doctest::Contains("not a valid path"), error);
}
