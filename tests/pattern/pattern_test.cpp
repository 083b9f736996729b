// Stand-in tests for the foundation's exact-value matcher; the pattern engine replaces them.
#include <doctest/doctest.h>

#include "test_support.hpp"

using namespace switchyard;

namespace {
bool matches(const char* pattern, const char* event_json) {
    const auto m = pattern::matcher{}.with(7, pattern::compile(pattern));
    pattern::flat_event scratch;
    std::vector<pattern::rule_id> ids;
    match(m, *parse_event(event_json), scratch, ids);
    return ids == std::vector<pattern::rule_id>{7};
}
const char* const event_text =
    R"({"id":"1","detail-type":"T","source":"a","time":"2026-11-29T00:00:00Z","resources":["r1","r2"],)"
    R"("detail":{"n":300,"s":"x","b":true,"z":null,"tags":["p","q"]}})";
}  // namespace

TEST_CASE("exact matching of strings, numbers, booleans and null") {
    CHECK(matches(R"({"source": ["a"]})", event_text));
    CHECK_FALSE(matches(R"({"source": ["b"]})", event_text));
    CHECK(matches(R"({"detail": {"n": [300]}})", event_text));
    CHECK(matches(R"({"detail": {"n": [3e2]}})", event_text));
    CHECK_FALSE(matches(R"({"detail": {"n": ["300"]}})", event_text));
    CHECK(matches(R"({"detail": {"b": [true]}})", event_text));
    CHECK(matches(R"({"detail": {"z": [null]}})", event_text));
    CHECK_FALSE(matches(R"({"detail": {"missing": [null]}})", event_text));
    CHECK(matches(R"({"detail": {"tags": ["q"]}})", event_text));
    CHECK(matches(R"({"resources": ["r2"]})", event_text));
    CHECK(matches(R"({"source": ["a"], "detail": {"s": ["x", "y"]}})", event_text));
    CHECK_FALSE(matches(R"({"source": ["a"], "detail": {"s": ["y"]}})", event_text));
}
