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

TEST_CASE("fields AND, values OR, nested objects, unnamed fields ignored") {
    const char* p = R"({"detail": {"state": ["running", "stopped"], "size": [3]}})";
    CHECK(matches(p, R"({"detail": {"state": "running", "size": 3, "other": [1, {"x": 2}]}})"));
    CHECK(matches(p, R"({"detail": {"state": "stopped", "size": 3}})"));
    CHECK_FALSE(matches(p, R"({"detail": {"state": "running"}})"));
    CHECK_FALSE(matches(p, R"({"detail": {"state": "pending", "size": 3}})"));
    CHECK_FALSE(matches(p, R"({"detail": "running"})"));
}

TEST_CASE("arrays in the event match when any element matches; nested arrays flatten") {
    CHECK(matches(R"({"a": ["x"]})", R"({"a": ["w", "x"]})"));
    CHECK(matches(R"({"a": [3]})", R"({"a": [[1, [2, 3]]]})"));
    CHECK_FALSE(matches(R"({"a": ["x"]})", R"({"a": []})"));
    CHECK(matches(R"({"a": {"b": ["x"]}})", R"({"a": [{"b": "y"}, {"b": "x"}]})"));
}

TEST_CASE("array consistency: fields matched together come from the same element") {
    const char* p = R"({"items": {"sku": ["A"], "qty": [2]}})";
    CHECK(matches(p, R"({"items": [{"sku": "A", "qty": 2}, {"sku": "B", "qty": 1}]})"));
    CHECK_FALSE(matches(p, R"({"items": [{"sku": "A", "qty": 1}, {"sku": "B", "qty": 2}]})"));
    // Nested arrays of objects: both levels must agree.
    const char* q = R"({"o": {"i": {"k": ["x"], "v": [1]}, "tag": ["t"]}})";
    CHECK(matches(q, R"({"o": [{"tag": "u", "i": [{"k": "x", "v": 1}]}, {"tag": "t", "i": [{"k": "x", "v": 1}]}]})"));
    CHECK_FALSE(matches(q, R"({"o": [{"tag": "u", "i": [{"k": "x", "v": 1}]}, {"tag": "t", "i": [{"k": "x", "v": 2}]}]})"));
    CHECK_FALSE(matches(q, R"({"o": [{"tag": "t", "i": [{"k": "x", "v": 2}, {"k": "y", "v": 1}]}]})"));
    // A field outside the array combines with any element.
    CHECK(matches(R"({"id": [1], "items": {"sku": ["B"]}})", R"({"id": 1, "items": [{"sku": "A"}, {"sku": "B"}]})"));
}

TEST_CASE("prefix and suffix, plain and ignoring case") {
    CHECK(matches(R"({"a": [{"prefix": "ab"}]})", R"({"a": "abc"})"));
    CHECK_FALSE(matches(R"({"a": [{"prefix": "ab"}]})", R"({"a": "xabc"})"));
    CHECK_FALSE(matches(R"({"a": [{"prefix": "1"}]})", R"({"a": 12})"));
    CHECK(matches(R"({"a": [{"suffix": ".png"}]})", R"({"a": "x.png"})"));
    CHECK_FALSE(matches(R"({"a": [{"suffix": ".png"}]})", R"({"a": "x.PNG"})"));
    CHECK(matches(R"({"a": [{"prefix": {"equals-ignore-case": "ÉT"}}]})", R"({"a": "étage"})"));
    CHECK(matches(R"({"a": [{"suffix": {"equals-ignore-case": ".PNG"}}]})", R"({"a": "x.png"})"));
    CHECK_FALSE(matches(R"({"a": [{"suffix": {"equals-ignore-case": ".PNG"}}]})", R"({"a": "x.jpg"})"));
    CHECK(error_of(R"({"a": [{"prefix": 1}]})") == "a[0].prefix: expected a string or {\"equals-ignore-case\": string}, got number");
    CHECK(error_of(R"({"a": [{"suffix": {"equals-ignore-case": 3}}]})").starts_with("a[0].suffix.equals-ignore-case: expected a string"));
}

TEST_CASE("equals-ignore-case folds Unicode, not just ASCII") {
    CHECK(matches(R"({"a": [{"equals-ignore-case": "hello"}]})", R"({"a": "HeLLo"})"));
    CHECK(matches(R"({"a": [{"equals-ignore-case": "ΣΊΣΥΦΟΣ"}]})", R"({"a": "σίσυφοσ"})"));
    CHECK(matches(R"({"a": [{"equals-ignore-case": "straße"}]})", R"({"a": "STRAẞE"})"));
    CHECK(matches(R"({"a": [{"equals-ignore-case": "kelvin"}]})", "{\"a\": \"\u212Aelvin\"}"));  // KELVIN SIGN
    CHECK(matches(R"({"a": [{"equals-ignore-case": "привет"}]})", R"({"a": "ПРИВЕТ"})"));
    CHECK_FALSE(matches(R"({"a": [{"equals-ignore-case": "hello"}]})", R"({"a": "hell"})"));
    CHECK_FALSE(matches(R"({"a": [{"equals-ignore-case": "1"}]})", R"({"a": 1})"));
    CHECK(error_of(R"({"a": [{"equals-ignore-case": ["x"]}]})").starts_with("a[0].equals-ignore-case: expected a string"));
}

TEST_CASE("wildcard") {
    CHECK(matches(R"({"a": [{"wildcard": "*.png"}]})", R"({"a": "dir/x.png"})"));
    CHECK(matches(R"({"a": [{"wildcard": "a*b*c"}]})", R"({"a": "aXXbYYc"})"));
    CHECK(matches(R"({"a": [{"wildcard": "a*b*c"}]})", R"({"a": "abc"})"));
    CHECK_FALSE(matches(R"({"a": [{"wildcard": "a*b*c"}]})", R"({"a": "acb"})"));
    CHECK_FALSE(matches(R"({"a": [{"wildcard": "a*a"}]})", R"({"a": "a"})"));
    CHECK(matches(R"({"a": [{"wildcard": "*"}]})", R"({"a": ""})"));
    CHECK(matches(R"({"a": [{"wildcard": "x\\*y"}]})", R"({"a": "x*y"})"));
    CHECK_FALSE(matches(R"({"a": [{"wildcard": "x\\*y"}]})", R"({"a": "xzy"})"));
    CHECK(matches(R"({"a": [{"wildcard": "abc"}]})", R"({"a": "abc"})"));
    CHECK_FALSE(matches(R"({"a": [{"wildcard": "*"}]})", R"({"a": 1})"));
    // switchyard extension: case-insensitive wildcard.
    CHECK(matches(R"({"a": [{"wildcard": {"equals-ignore-case": "IMG_*.PNG"}}]})", R"({"a": "img_01.png"})"));
    CHECK_FALSE(matches(R"({"a": [{"wildcard": {"equals-ignore-case": "IMG_*.PNG"}}]})", R"({"a": "img_01.jpg"})"));
    CHECK(error_of(R"({"a": [{"wildcard": "a**b"}]})") == "a[0].wildcard: consecutive wildcard characters '**' are not allowed");
    CHECK(error_of(R"({"a": [{"wildcard": "a\\b"}]})").starts_with("a[0].wildcard: a backslash must be followed by"));
    CHECK(error_of(R"({"a": [{"wildcard": "*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*"}]})")
              .find("at most 32") != std::string::npos);
}

TEST_CASE("anything-but") {
    CHECK(matches(R"({"a": [{"anything-but": "x"}]})", R"({"a": "y"})"));
    CHECK_FALSE(matches(R"({"a": [{"anything-but": "x"}]})", R"({"a": "x"})"));
    CHECK_FALSE(matches(R"({"a": [{"anything-but": "x"}]})", R"({"b": "y"})"));  // never a missing field
    CHECK(matches(R"({"a": [{"anything-but": ["x", "y"]}]})", R"({"a": "z"})"));
    CHECK_FALSE(matches(R"({"a": [{"anything-but": ["x", "y"]}]})", R"({"a": "y"})"));
    CHECK(matches(R"({"a": [{"anything-but": [1, 2]}]})", R"({"a": 3})"));
    CHECK_FALSE(matches(R"({"a": [{"anything-but": [1, 2]}]})", R"({"a": 2.0})"));
    CHECK(matches(R"({"a": [{"anything-but": 5}]})", R"({"a": 6})"));
    CHECK(matches(R"({"a": [{"anything-but": {"prefix": "in"}}]})", R"({"a": "out"})"));
    CHECK_FALSE(matches(R"({"a": [{"anything-but": {"prefix": "in"}}]})", R"({"a": "inside"})"));
    CHECK(matches(R"({"a": [{"anything-but": {"suffix": ".tmp"}}]})", R"({"a": "x.txt"})"));
    CHECK_FALSE(matches(R"({"a": [{"anything-but": {"suffix": ".tmp"}}]})", R"({"a": "x.tmp"})"));
    CHECK(matches(R"({"a": [{"anything-but": {"equals-ignore-case": ["X", "Y"]}}]})", R"({"a": "z"})"));
    CHECK_FALSE(matches(R"({"a": [{"anything-but": {"equals-ignore-case": ["X", "Y"]}}]})", R"({"a": "y"})"));
    CHECK(matches(R"({"a": [{"anything-but": {"wildcard": "*.tmp"}}]})", R"({"a": "x.txt"})"));
    CHECK_FALSE(matches(R"({"a": [{"anything-but": {"wildcard": ["*.tmp", "*.bak"]}}]})", R"({"a": "x.bak"})"));
    CHECK(matches(R"({"a": [{"anything-but": {"prefix": ["a", "b"]}}]})", R"({"a": "c"})"));
    // An array matches when any element is not excluded.
    CHECK(matches(R"({"a": [{"anything-but": "x"}]})", R"({"a": ["x", "y"]})"));
    CHECK(error_of(R"({"a": [{"anything-but": ["x", 1]}]})") ==
          "a[0].anything-but[1]: a list of anything-but values must be all strings or all numbers, not a mix");
    CHECK(error_of(R"({"a": [{"anything-but": {"exact": "x"}}]})").starts_with("a[0].anything-but.exact: unknown anything-but operator"));
    CHECK(error_of(R"({"a": [{"anything-but": []}]})") == "a[0].anything-but: expected at least one value");
    CHECK(error_of(R"({"a": [{"anything-but": {"wildcard": "a**"}}]})").starts_with("a[0].anything-but.wildcard: consecutive"));
}

TEST_CASE("numeric: comparisons, ranges and edge values") {
    CHECK(matches(R"({"a": [{"numeric": [">", 0]}]})", R"({"a": 0.5})"));
    CHECK_FALSE(matches(R"({"a": [{"numeric": [">", 0]}]})", R"({"a": 0})"));
    CHECK(matches(R"({"a": [{"numeric": [">=", 0]}]})", R"({"a": 0})"));
    CHECK(matches(R"({"a": [{"numeric": ["<", -1.5]}]})", R"({"a": -2})"));
    CHECK_FALSE(matches(R"({"a": [{"numeric": ["<", -1.5]}]})", R"({"a": -1.5})"));
    CHECK(matches(R"({"a": [{"numeric": ["<=", -1.5]}]})", R"({"a": -1.5})"));
    CHECK(matches(R"({"a": [{"numeric": ["=", 300]}]})", R"({"a": 3e2})"));
    CHECK(matches(R"({"a": [{"numeric": [">", 0, "<=", 5]}]})", R"({"a": 5})"));
    CHECK_FALSE(matches(R"({"a": [{"numeric": [">", 0, "<=", 5]}]})", R"({"a": 5.0001})"));
    CHECK(matches(R"({"a": [{"numeric": [">", 1e300]}]})", R"({"a": 1e301})"));
    CHECK(matches(R"({"a": [{"numeric": ["<", -1e300]}]})", R"({"a": -1.5e300})"));
    CHECK(matches(R"({"a": [1e300]})", R"({"a": 1E+300})"));
    CHECK(matches(R"({"a": [{"numeric": [">", 0.1, "<", 0.2]}]})", R"({"a": 0.15})"));
    CHECK(matches(R"({"a": [-0.0]})", R"({"a": 0})"));
    CHECK_FALSE(matches(R"({"a": [{"numeric": [">", 0]}]})", R"({"a": "5"})"));
    CHECK(error_of(R"({"detail": {"total": [{"numeric": ["<", 10, ">", 5]}]}})") ==
          "detail.total[0].numeric: lower bound must come first");
    CHECK(error_of(R"({"a": [{"numeric": [">", 10, "<", 5]}]})").find("the range is empty") != std::string::npos);
    CHECK(error_of(R"({"a": [{"numeric": [">", "5"]}]})") == "a[0].numeric[1]: expected a number, got string");
    CHECK(error_of(R"({"a": [{"numeric": ["~", 5]}]})").starts_with("a[0].numeric[0]: unknown comparison operator"));
    CHECK(error_of(R"({"a": [{"numeric": [">", 5, ">", 6]}]})").find("expected an upper bound") != std::string::npos);
    CHECK(error_of(R"({"a": [{"numeric": [">"]}]})").starts_with("a[0].numeric: expected"));
}

TEST_CASE("exists: leaf semantics") {
    CHECK(matches(R"({"a": [{"exists": true}]})", R"({"a": null})"));
    CHECK(matches(R"({"a": [{"exists": true}]})", R"({"a": [1]})"));
    CHECK_FALSE(matches(R"({"a": [{"exists": true}]})", R"({"a": {"b": 1}})"));  // an object is not a leaf
    CHECK_FALSE(matches(R"({"a": [{"exists": true}]})", R"({"a": []})"));        // an empty array is nothing
    CHECK_FALSE(matches(R"({"a": [{"exists": true}]})", R"({"b": 1})"));
    CHECK(matches(R"({"a": [{"exists": false}]})", R"({"b": 1})"));
    CHECK(matches(R"({"a": [{"exists": false}]})", R"({"a": []})"));
    CHECK(matches(R"({"a": [{"exists": false}]})", R"({"a": {"b": 1}})"));
    CHECK_FALSE(matches(R"({"a": [{"exists": false}]})", R"({"a": 0})"));
    CHECK(matches(R"({"a": [{"exists": false}], "b": [1]})", R"({"b": 1})"));
    CHECK_FALSE(matches(R"({"a": [{"exists": false}], "b": [1]})", R"({"a": 2, "b": 1})"));
    CHECK_FALSE(matches(R"({"a": [{"exists": false}], "b": [1]})", R"({"b": 2})"));
    CHECK(error_of(R"({"a": [{"exists": "yes"}]})") == "a[0].exists: expected true or false, got string");
    CHECK(error_of(R"({"a": [{"exists": false}, "x"]})").find("cannot be combined") != std::string::npos);
}

TEST_CASE("cidr: IPv4 and IPv6") {
    CHECK(matches(R"({"ip": [{"cidr": "10.0.0.0/24"}]})", R"({"ip": "10.0.0.255"})"));
    CHECK_FALSE(matches(R"({"ip": [{"cidr": "10.0.0.0/24"}]})", R"({"ip": "10.0.1.0"})"));
    CHECK(matches(R"({"ip": [{"cidr": "0.0.0.0/0"}]})", R"({"ip": "8.8.8.8"})"));
    CHECK(matches(R"({"ip": [{"cidr": "2001:db8::/32"}]})", R"({"ip": "2001:db8:ffff::1"})"));
    CHECK(matches(R"({"ip": [{"cidr": "2001:db8::/32"}]})", R"({"ip": "2001:0DB8:0000:0000:0000:0000:0000:0001"})"));
    CHECK_FALSE(matches(R"({"ip": [{"cidr": "2001:db8::/32"}]})", R"({"ip": "2001:db9::1"})"));
    CHECK(matches(R"({"ip": [{"cidr": "::ffff:0:0/96"}]})", R"({"ip": "::ffff:192.168.0.1"})"));
    CHECK(matches(R"({"ip": [{"cidr": "fe80::1/128"}]})", R"({"ip": "fe80::1"})"));
    CHECK_FALSE(matches(R"({"ip": [{"cidr": "10.0.0.0/8"}]})", R"({"ip": "not an ip"})"));
    CHECK_FALSE(matches(R"({"ip": [{"cidr": "10.0.0.0/8"}]})", R"({"ip": "::a00:1"})"));
    CHECK(error_of(R"({"ip": [{"cidr": "10.0.0.0/33"}]})").starts_with("ip[0].cidr: \"10.0.0.0/33\" is not a CIDR block"));
    CHECK(error_of(R"({"ip": [{"cidr": "2001:db8:::/32"}]})").starts_with("ip[0].cidr:"));
    CHECK(error_of(R"({"ip": [{"cidr": "1.2.3/8"}]})").starts_with("ip[0].cidr:"));
}

TEST_CASE("$or, at any level and nested") {
    const char* p = R"({"source": ["s"], "$or": [{"a": [1]}, {"b": {"c": [2]}}]})";
    CHECK(matches(p, R"({"source": "s", "a": 1})"));
    CHECK(matches(p, R"({"source": "s", "b": {"c": 2}})"));
    CHECK_FALSE(matches(p, R"({"source": "s", "b": {"c": 3}})"));
    CHECK_FALSE(matches(p, R"({"source": "t", "a": 1})"));
    const char* nested = R"({"d": {"$or": [{"x": ["1"]}, {"$or": [{"y": ["2"]}, {"z": [{"prefix": "3"}]}]}]}})";
    CHECK(matches(nested, R"({"d": {"z": "33"}})"));
    CHECK(matches(nested, R"({"d": {"x": "1"}})"));
    CHECK_FALSE(matches(nested, R"({"d": {"y": "3"}})"));
    CHECK(error_of(R"({"$or": [{"a": [1]}]})") == "$or: \"$or\" must be an array of at least two objects");
    CHECK(error_of(R"({"$or": [{"a": [1]}, 3]})") == "$or[1]: each alternative of \"$or\" must be a non-empty object");
    CHECK(error_of(R"({"$and": [{"a": [1]}, {"b": [1]}]})") == "$and: keys starting with '$' are reserved; the only one allowed is \"$or\"");
    CHECK(error_of(R"({"d": {"$or": [{"a": [1]}, {"b": ["x", {"numeric": ["<", 1, ">", 0]}]}]}})") ==
          "d.$or[1].b[1].numeric: lower bound must come first");
}

TEST_CASE("regexp (I-Regexp, anchored)") {
    CHECK(matches(R"({"a": [{"regexp": "B..CH"}]})", R"({"a": "BEACH"})"));
    CHECK_FALSE(matches(R"({"a": [{"regexp": "B..CH"}]})", R"({"a": "XBEACH"})"));
    CHECK(matches(R"({"a": [{"regexp": "[a-c]+(x|yz){1,2}"}]})", R"({"a": "abcyzx"})"));
    CHECK_FALSE(matches(R"({"a": [{"regexp": "[a-c]+(x|yz){1,2}"}]})", R"({"a": "abcyzxx"})"));
    CHECK(matches(R"({"a": [{"regexp": "[^0-9]*"}]})", R"({"a": "été"})"));
    CHECK(matches(R"({"a": [{"regexp": "a\\.b?"}]})", R"({"a": "a."})"));
    CHECK_FALSE(matches(R"({"a": [{"regexp": "a"}]})", R"({"a": 1})"));
    CHECK(matches(R"({"a": [{"regexp": "(a*)*b"}]})", R"({"a": "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab"})"));
    CHECK(error_of(R"({"a": [{"regexp": "a("}]})").starts_with("a[0].regexp: invalid regular expression: missing ')'"));
    CHECK(error_of(R"({"a": [{"regexp": "\\p{L}"}]})").find("not supported") != std::string::npos);
    CHECK(error_of(R"({"a": [{"regexp": "a**"}]})").find("a quantifier cannot follow") != std::string::npos);
}

TEST_CASE("all-of: several conditions on one value (switchyard extension)") {
    const char* p = R"({"n": [{"all-of": [{"numeric": [">", 0, "<", 100]}, {"anything-but": [50]}]}]})";
    CHECK(matches(p, R"({"n": 10})"));
    CHECK_FALSE(matches(p, R"({"n": 50})"));
    CHECK_FALSE(matches(p, R"({"n": 150})"));
    // The same element must satisfy all of them.
    CHECK_FALSE(matches(R"({"s": [{"all-of": [{"prefix": "a"}, {"suffix": "z"}]}]})", R"({"s": ["ab", "yz"]})"));
    CHECK(matches(R"({"s": [{"all-of": [{"prefix": "a"}, {"suffix": "z"}]}]})", R"({"s": ["ab", "az"]})"));
    CHECK(error_of(R"({"n": [{"all-of": [{"exists": false}, 1]}]})").find("cannot be part of") != std::string::npos);
    CHECK(error_of(R"({"n": [{"all-of": [1]}]})").starts_with("n[0].all-of: expected an array of at least two"));
}

TEST_CASE("invalid patterns name the path and what was expected") {
    CHECK(error_of(R"({"a": "x"})") == "a: expected an array of values to match, such as [\"a\", \"b\"], or an object; got string");
    CHECK(error_of(R"({"a": []})") == "a: the list of values must not be empty");
    CHECK(error_of(R"({"a": {}})") == "a: an object in a pattern must not be empty");
    CHECK(error_of(R"({"a": [["x"]]})").starts_with("a[0]: expected a string, number, boolean, null or an operator object"));
    CHECK(error_of(R"({"a": [{"prefix": "x", "suffix": "y"}]})").starts_with("a[0]: an operator object must have exactly one key"));
    CHECK(error_of(R"({"a": [{"contains": "x"}]})").starts_with("a[0].contains: unknown operator \"contains\""));
    CHECK(error_of("[1]") == "a pattern must be a JSON object, got array");
    CHECK(error_of("{}") == "a pattern must name at least one field");
    try {
        (void)switchyard::pattern::compile(R"({"a": ["x",]})");
        FAIL("expected a syntax error");
    } catch (const switchyard::pattern_error& e) {
        CHECK(e.offset() == 11);
        CHECK(std::string(e.what()).starts_with("pattern is not valid JSON at byte 11"));
    }
    try {
        (void)switchyard::pattern::compile(R"({"x": {"y": [{"numeric": [">", 5, "<", 1]}]}})");
        FAIL("expected an error");
    } catch (const switchyard::pattern_error& e) {
        CHECK(e.path() == "x.y[0].numeric");
        CHECK(e.offset() == switchyard::pattern_error::no_offset);
    }
}

TEST_CASE("limits are enforced with clear errors") {
    std::string deep = R"({"a": ["x"]})";
    for (int i = 0; i < 40; ++i) deep = R"({"n": )" + deep + "}";
    CHECK(error_of(deep).find("nested more than 32 deep") != std::string::npos);
    std::string many = R"({"a": [)";
    for (int i = 0; i < 1100; ++i) {
        if (i) many += ",";
        many += std::to_string(i);
    }
    many += "]}";
    CHECK(error_of(many) == "a: at most 1024 values are allowed for one field");
    std::string ors = "{";
    for (int k = 0; k < 11; ++k) {
        if (k) ors += ",";
        ors.append("\"f").append(std::to_string(k)).append(R"(": {"$or": [{"a": [1]}, {"b": [2]}]})");
    }
    ors += "}";
    CHECK(error_of(ors).find("expands to more than 1024 alternatives") != std::string::npos);
    CHECK(error_of(R"({"a": [")" + std::string(5000, 'x') + R"("]})").find("longer than 4096 bytes") != std::string::npos);
}

TEST_CASE("a key with control characters is shown escaped in the error path") {
    // Regression (fuzz_pattern_compile/error-message-nul-key): a NUL in the path made what()
    // read as an empty string.
    try {
        switchyard::pattern::compile(R"({"\u0000a": [{"prefix": 1}]})");
        FAIL("the pattern should be refused");
    } catch (const switchyard::pattern_error& e) {
        const std::string message = e.what();
        CHECK(message.find("\"\\u0000a\"") == 0);
        CHECK(message.find("prefix") != std::string::npos);
    }
}
