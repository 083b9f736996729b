// The pattern language, operator by operator: match, no match and invalid.
#include <doctest/doctest.h>

#include "pattern/support.hpp"

using pattern_test::error_of;
using pattern_test::matches;

TEST_CASE("exact strings, numbers, booleans and null") {
    CHECK(matches(R"({"a": ["x"]})", R"({"a": "x"})"));
    CHECK_FALSE(matches(R"({"a": ["x"]})", R"({"a": "y"})"));
    CHECK_FALSE(matches(R"({"a": ["x"]})", R"({"b": "x"})"));
    CHECK(matches(R"({"a": [300]})", R"({"a": 300.0})"));
    CHECK(matches(R"({"a": [300]})", R"({"a": 3e2})"));
    CHECK_FALSE(matches(R"({"a": [300]})", R"({"a": "300"})"));
    CHECK_FALSE(matches(R"({"a": ["300"]})", R"({"a": 300})"));
    CHECK(matches(R"({"a": [true]})", R"({"a": true})"));
    CHECK_FALSE(matches(R"({"a": [true]})", R"({"a": false})"));
    CHECK(matches(R"({"a": [null]})", R"({"a": null})"));
    CHECK_FALSE(matches(R"({"a": [null]})", R"({"b": null})"));
    CHECK(matches(R"({"a": [""]})", R"({"a": ""})"));
    CHECK(matches(R"({"a": ["é\n\"q\""]})", R"({"a": "\u00e9\n\"q\""})"));
}
