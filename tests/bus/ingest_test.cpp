// Ingest alone: an entry is checked without a bus, and every refusal names the problem.
#include <doctest/doctest.h>

#include <string>

#include "switchyard/bus/ingest.hpp"

using namespace switchyard;
using detail::check_entry;
using detail::ingest_limits;

namespace {
put_events_entry entry(std::string detail) { return {.source = "s", .detail_type = "X", .detail = std::move(detail)}; }

void refused(const put_events_entry& e, publish_errc code, const std::string& mentions, ingest_limits limits = {}) {
    CAPTURE(e.detail);
    const auto failure = check_entry(e, limits);
    REQUIRE(failure);
    CHECK(failure->code == code);
    CHECK_MESSAGE(failure->message.find(mentions) != std::string::npos, failure->message);
}
}  // namespace

TEST_CASE("a well-formed entry passes") {
    CHECK_FALSE(check_entry(entry(R"({"amount": 5, "items": [{"sku": "A"}]})"), {}));
    auto with_time = entry("{}");
    with_time.time = "2026-11-29T20:00:41Z";
    CHECK_FALSE(check_entry(with_time, {}));
}

TEST_CASE("a detail that some reader would read differently is refused") {
    // Regression (hardening): accepted, journaled, then unreadable after a crash, or read
    // differently by the rule and the handler.
    refused(entry(std::string("{\"amount\":5}\0,\"x\":1", 19)), publish_errc::malformed_detail, "NUL byte at offset 12");
    refused(entry("\xEF\xBB\xBF{\"amount\":5}"), publish_errc::malformed_detail, "byte-order mark");
    refused(entry(R"({"amount":5,"amount":1000000})"), publish_errc::malformed_detail, "\"amount\" twice");
    refused(entry(R"({"a":{"b":1,"b":2}})"), publish_errc::malformed_detail, "$.a.b");
    refused(entry(R"({"total": 1e400})"), publish_errc::malformed_detail, "outside the range of a double");
    refused(entry(R"({"a": 1} trailing)"), publish_errc::malformed_detail, "not valid JSON");
    refused(entry("[1]"), publish_errc::malformed_detail, "must be a JSON object, got array");
}

TEST_CASE("duplicate names in different objects are fine, and many members are checked too") {
    CHECK_FALSE(check_entry(entry(R"({"a":{"x":1},"b":{"x":2},"c":[{"x":1},{"x":2}]})"), {}));
    std::string wide = "{";
    for (int i = 0; i < 100; ++i) wide += "\"k" + std::to_string(i) + "\":" + std::to_string(i) + ",";
    CHECK_FALSE(check_entry(entry(wide + "\"end\":0}"), {}));
    refused(entry(wide + "\"k57\":0}"), publish_errc::malformed_detail, "\"k57\" twice");
}

TEST_CASE("a Time a clock cannot hold is refused, not overflowed") {
    // Regression (hardening): years outside about 1678-2262 overflowed system_clock (UBSan).
    for (const char* when : {"1600-01-01T00:00:00Z", "2300-01-01T00:00:00Z", "9999-12-31T23:59:59Z"}) {
        auto e = entry("{}");
        e.time = when;
        refused(e, publish_errc::invalid_argument, "between the years 1678 and 2261");
    }
}

TEST_CASE("limits name their option") {
    refused(entry(std::string(64, '[') + std::string(64, ']')), publish_errc::invalid_argument, "max_detail_depth", {1 << 20, 10});
    refused(entry("{\"a\":\"" + std::string(200, 'x') + "\"}"), publish_errc::invalid_argument, "max_event_size", {100, 100});
    refused({.source = "", .detail_type = "X", .detail = "{}"}, publish_errc::invalid_argument, "Source");
}

TEST_CASE("the envelope carries the entry's time and resources") {
    auto e = entry("{}");
    e.time = "2026-11-29T20:00:41+01:00";
    e.resources = {"arn:x"};
    const auto meta = detail::envelope_of(e, "123", "eu-west-1");
    CHECK(meta.time == "2026-11-29T19:00:41Z");
    CHECK(meta.account == "123");
    CHECK(meta.resources == std::vector<std::string>{"arn:x"});
    CHECK(meta.id.size() == 36);
}

TEST_CASE("a duplicate member's path names array elements and shows control characters escaped") {
    refused(entry(R"({"a":[{"x":1},{"x":1,"x":2}]})"), publish_errc::malformed_detail, "$.a[1].x");
    const auto failure = check_entry(entry(R"({"\u0000":1,"\u0000":2})"), {});
    REQUIRE(failure);
    CHECK(failure->message.find('\0') == std::string::npos);  // a NUL would cut the message short
    CHECK(failure->message.find(R"("\u0000")") != std::string::npos);
}
