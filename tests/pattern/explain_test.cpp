// switchyard::explain: the verdict agrees with the matcher, and a miss names the failing condition,
// what the pattern expects there and what the event has, operator by operator (exact strings).
#include <doctest/doctest.h>

#include <random>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include <switchyard/error.hpp>
#include <switchyard/pattern/explain.hpp>

#include "pattern/support.hpp"
#include "test_scale.hpp"

using pattern_test::matches;

namespace {

std::string explained(std::string_view pattern, std::string_view event) {
    return switchyard::explain(pattern, event).to_string();
}

}  // namespace

TEST_CASE("explain: exact strings, numbers, booleans and null") {
    CHECK(explained(R"({"a": ["x"]})", R"({"a": "x"})") == "match");
    CHECK(explained(R"({"a": ["x"]})", R"({"a": "y"})") == R"(no match: a expected ["x"], event has "y")");
    CHECK(explained(R"({"a": ["x", "z"]})", R"({"b": "x"})") == R"(no match: a expected ["x","z"], event has missing)");
    CHECK(explained(R"({"a": [300]})", R"({"a": 3e2})") == "match");
    CHECK(explained(R"({"a": [300]})", R"({"a": "300"})") == R"(no match: a expected [300], event has "300")");
    CHECK(explained(R"({"a": ["300"]})", R"({"a": 300})") == R"(no match: a expected ["300"], event has 300)");
    CHECK(explained(R"({"a": [1.5]})", R"({"a": 2})") == R"(no match: a expected [1.5], event has 2)");
    CHECK(explained(R"({"a": [true]})", R"({"a": false})") == R"(no match: a expected [true], event has false)");
    CHECK(explained(R"({"a": [true]})", R"({"a": "true"})") == R"(no match: a expected [true], event has "true")");
    CHECK(explained(R"({"a": [null]})", R"({"a": null})") == "match");
    CHECK(explained(R"({"a": [null]})", R"({"b": null})") == R"(no match: a expected [null], event has missing)");
    CHECK(explained(R"({"a": [""]})", R"({"a": " "})") == R"(no match: a expected [""], event has " ")");
    CHECK(explained(R"({"a": ["é\n"]})", R"({"a": "\u00e9\n"})") == "match");
}

TEST_CASE("explain: prefix, suffix, equals-ignore-case and their case-insensitive forms") {
    CHECK(explained(R"({"a": [{"prefix": "ord-"}]})", R"({"a": "ord-1"})") == "match");
    CHECK(explained(R"({"a": [{"prefix": "ord-"}]})", R"({"a": "xord-1"})") ==
          R"(no match: a expected [{"prefix":"ord-"}], event has "xord-1")");
    CHECK(explained(R"({"a": [{"prefix": "1"}]})", R"({"a": 12})") ==
          R"(no match: a expected [{"prefix":"1"}], event has 12)");
    CHECK(explained(R"({"a": [{"suffix": ".png"}]})", R"({"a": "x.png"})") == "match");
    CHECK(explained(R"({"a": [{"suffix": ".png"}]})", R"({"a": "x.PNG"})") ==
          R"(no match: a expected [{"suffix":".png"}], event has "x.PNG")");
    CHECK(explained(R"({"a": [{"equals-ignore-case": "straße"}]})", R"({"a": "STRAẞE"})") == "match");
    CHECK(explained(R"({"a": [{"equals-ignore-case": "straße"}]})", R"({"a": "STRASSE"})") ==
          R"(no match: a expected [{"equals-ignore-case":"straße"}], event has "STRASSE")");
    CHECK(explained(R"({"a": [{"prefix": {"equals-ignore-case": "ORD-"}}]})", R"({"a": "ord-7"})") == "match");
    CHECK(explained(R"({"a": [{"prefix": {"equals-ignore-case": "ORD-"}}]})", R"({"a": "or-7"})") ==
          R"(no match: a expected [{"prefix":{"equals-ignore-case":"ORD-"}}], event has "or-7")");
    CHECK(explained(R"({"a": [{"suffix": {"equals-ignore-case": ".PNG"}}]})", R"({"a": "x.png"})") == "match");
    CHECK(explained(R"({"a": [{"suffix": {"equals-ignore-case": ".PNG"}}]})", R"({"a": "x.jpg"})") ==
          R"(no match: a expected [{"suffix":{"equals-ignore-case":".PNG"}}], event has "x.jpg")");
}

TEST_CASE("explain: wildcard, numeric, cidr and regexp") {
    CHECK(explained(R"({"a": [{"wildcard": "img_*.png"}]})", R"({"a": "img_.png"})") == "match");
    CHECK(explained(R"({"a": [{"wildcard": "img_*.png"}]})", R"({"a": "img_1.jpg"})") ==
          R"(no match: a expected [{"wildcard":"img_*.png"}], event has "img_1.jpg")");
    CHECK(explained(R"({"a": [{"wildcard": {"equals-ignore-case": "IMG_*.PNG"}}]})", R"({"a": "img_2.png"})") ==
          "match");
    CHECK(explained(R"({"a": [{"wildcard": {"equals-ignore-case": "IMG_*.PNG"}}]})", R"({"a": "img_2.gif"})") ==
          R"(no match: a expected [{"wildcard":{"equals-ignore-case":"IMG_*.PNG"}}], event has "img_2.gif")");

    const char* range = R"({"detail": {"amount": [{"numeric": [">", 0, "<=", 5]}]}})";
    CHECK(explained(range, R"({"detail": {"amount": 5}})") == "match");
    CHECK(explained(range, R"({"detail": {"amount": 5.5}})") ==
          R"(no match: detail.amount expected [{"numeric":[">",0,"<=",5]}], event has 5.5)");
    CHECK(explained(range, R"({"detail": {"amount": "3"}})") ==
          R"(no match: detail.amount expected [{"numeric":[">",0,"<=",5]}], event has "3")");
    CHECK(explained(R"({"detail": {"amount": [{"numeric": [">", 100]}]}})", R"({"detail": {"amount": 42}})") ==
          R"(no match: detail.amount expected [{"numeric":[">",100]}], event has 42)");
    CHECK(explained(R"({"a": [{"numeric": ["=", 3]}]})", R"({"a": 3.0})") == "match");

    CHECK(explained(R"({"ip": [{"cidr": "10.0.0.0/24"}]})", R"({"ip": "10.0.0.9"})") == "match");
    CHECK(explained(R"({"ip": [{"cidr": "10.0.0.0/24"}]})", R"({"ip": "10.0.1.5"})") ==
          R"(no match: ip expected [{"cidr":"10.0.0.0/24"}], event has "10.0.1.5")");
    CHECK(explained(R"({"ip": [{"cidr": "2001:db8::/32"}]})", R"({"ip": "2001:db8::1"})") == "match");
    CHECK(explained(R"({"ip": [{"cidr": "2001:db8::/32"}]})", R"({"ip": "10.0.0.1"})") ==
          R"(no match: ip expected [{"cidr":"2001:db8::/32"}], event has "10.0.0.1")");

    CHECK(explained(R"({"a": [{"regexp": "B..CH"}]})", R"({"a": "BEACH"})") == "match");
    CHECK(explained(R"({"a": [{"regexp": "B..CH"}]})", R"({"a": "XBEACH"})") ==
          R"(no match: a expected [{"regexp":"B..CH"}], event has "XBEACH")");
}

TEST_CASE("explain: exists true and false (leaf semantics)") {
    const char* present = R"({"a": [{"exists": true}]})";
    CHECK(explained(present, R"({"a": null})") == "match");
    CHECK(explained(present, R"({"a": [1]})") == "match");
    CHECK(explained(present, R"({"b": 1})") == R"(no match: a expected [{"exists":true}], event has missing)");
    CHECK(explained(present, R"({"a": []})") == R"(no match: a expected [{"exists":true}], event has [])");
    CHECK(explained(present, R"({"a": {"b": 1}})") == R"(no match: a expected [{"exists":true}], event has {"b":1})");
    const char* absent = R"({"a": [{"exists": false}]})";
    CHECK(explained(absent, R"({"b": 1})") == "match");
    CHECK(explained(absent, R"({"a": {"b": 1}})") == "match");
    CHECK(explained(absent, R"({"a": 0})") == R"(no match: a expected [{"exists":false}], event has 0)");
    CHECK(explained(R"({"x": {"a": [{"exists": false}]}})", R"({"x": [{"b": 1}, {"a": "here"}]})") ==
          R"(no match: x.a expected [{"exists":false}], event has ["here"])");
}

TEST_CASE("explain: anything-but in every form") {
    CHECK(explained(R"({"a": [{"anything-but": "x"}]})", R"({"a": "x"})") ==
          R"(no match: a expected [{"anything-but":"x"}], event has "x")");
    CHECK(explained(R"({"a": [{"anything-but": "x"}]})", R"({"a": 5})") == "match");
    CHECK(explained(R"({"a": [{"anything-but": "x"}]})", R"({"b": "y"})") ==
          R"(no match: a expected [{"anything-but":"x"}], event has missing)");
    CHECK(explained(R"({"a": [{"anything-but": ["x", "y"]}]})", R"({"a": "y"})") ==
          R"(no match: a expected [{"anything-but":["x","y"]}], event has "y")");
    CHECK(explained(R"({"a": [{"anything-but": 5}]})", R"({"a": 5.0})") ==
          R"(no match: a expected [{"anything-but":5}], event has 5.0)");
    CHECK(explained(R"({"a": [{"anything-but": [1, 2]}]})", R"({"a": 2})") ==
          R"(no match: a expected [{"anything-but":[1,2]}], event has 2)");
    CHECK(explained(R"({"a": [{"anything-but": [1, 2]}]})", R"({"a": "2"})") == "match");
    CHECK(explained(R"({"a": [{"anything-but": {"prefix": "tmp"}}]})", R"({"a": "tmpfile"})") ==
          R"(no match: a expected [{"anything-but":{"prefix":"tmp"}}], event has "tmpfile")");
    CHECK(explained(R"({"a": [{"anything-but": {"prefix": "tmp"}}]})", R"({"a": null})") == "match");
    CHECK(explained(R"({"a": [{"anything-but": {"suffix": [".tmp", ".bak"]}}]})", R"({"a": "x.bak"})") ==
          R"(no match: a expected [{"anything-but":{"suffix":[".tmp",".bak"]}}], event has "x.bak")");
    CHECK(explained(R"({"a": [{"anything-but": {"wildcard": "*.log"}}]})", R"({"a": "err.log"})") ==
          R"(no match: a expected [{"anything-but":{"wildcard":"*.log"}}], event has "err.log")");
    CHECK(explained(R"({"a": [{"anything-but": {"wildcard": "*.log"}}]})", R"({"a": "err.txt"})") == "match");
    CHECK(explained(R"({"a": [{"anything-but": {"equals-ignore-case": ["A", "b"]}}]})", R"({"a": "a"})") ==
          R"(no match: a expected [{"anything-but":{"equals-ignore-case":["A","b"]}}], event has "a")");
    CHECK(explained(R"({"a": [{"anything-but": {"equals-ignore-case": ["A", "b"]}}]})", R"({"a": "c"})") == "match");
}

TEST_CASE("explain: all-of holds on one value") {
    const char* p = R"({"a": [{"all-of": [{"numeric": [">", 0, "<", 100]}, {"anything-but": [50]}]}]})";
    CHECK(explained(p, R"({"a": 49})") == "match");
    CHECK(explained(p, R"({"a": 50})") ==
          R"(no match: a expected [{"all-of":[{"numeric":[">",0,"<",100]},{"anything-but":[50]}]}], event has 50)");
    // 50 fails the exclusion and 150 the range: no single value holds both.
    CHECK(
        explained(p, R"({"a": [50, 150]})") ==
        R"(no match: a expected [{"all-of":[{"numeric":[">",0,"<",100]},{"anything-but":[50]}]}], event has [50,150])");
    CHECK(explained(p, R"({"a": [50, 150, 7]})") == "match");
}

TEST_CASE("explain: arrays in the event, nested objects, the order conditions are taken in") {
    CHECK(explained(R"({"a": ["x"]})", R"({"a": ["w", "x"]})") == "match");
    CHECK(explained(R"({"a": ["x"]})", R"({"a": ["w", "y"]})") == R"(no match: a expected ["x"], event has ["w","y"])");
    CHECK(explained(R"({"a": [4]})", R"({"a": [[1, [2, 3]]]})") ==
          R"(no match: a expected [4], event has [[1,[2,3]]])");
    CHECK(explained(R"({"a": {"b": ["x"]}})", R"({"a": [{"b": "y"}, {"c": 1}, {"b": "z"}]})") ==
          R"(no match: a.b expected ["x"], event has ["y","z"])");
    CHECK(explained(R"({"a": {"b": ["x"]}})", R"({"a": []})") == R"(no match: a.b expected ["x"], event has missing)");
    CHECK(explained(R"({"a": {"b": ["x"]}})", R"({"a": "b"})") == R"(no match: a.b expected ["x"], event has missing)");

    const char* p = R"({"detail": {"state": ["paid", "shipped"], "total": [{"numeric": [">", 100]}]}})";
    CHECK(explained(p, R"({"detail": {"state": "paid", "total": 250}})") == "match");
    CHECK(explained(p, R"({"detail": {"state": "paid", "total": 50}})") ==
          R"(no match: detail.total expected [{"numeric":[">",100]}], event has 50)");
    // Both fail: the first in byte order of keys at each level (compile()'s order) is reported,
    // whatever the order written.
    CHECK(explained(p, R"({"detail": {"state": "new", "total": 50}})") ==
          R"(no match: detail.state expected ["paid","shipped"], event has "new")");
    CHECK(explained(R"({"source": ["com.shop"], "detail": {"x": [1]}})", R"({"source": "other"})") ==
          R"(no match: detail.x expected [1], event has missing)");
    CHECK(
        explained(R"({"source": ["com.shop"], "detail": {"x": [1]}})", R"({"source": "other", "detail": {"x": 1}})") ==
        R"(no match: source expected ["com.shop"], event has "other")");
}

TEST_CASE("explain: a pattern object whose key names an operator is a nested field") {
    // {"a": {"numeric": [...]}} is the field a.numeric, whose values are ">" and 1.
    const char* p = R"({"a": {"numeric": [">", 1]}})";
    CHECK(explained(p, R"({"a": {"numeric": ">"}})") == "match");
    CHECK(explained(p, R"({"a": {"numeric": 2}})") == R"(no match: a.numeric expected [">",1], event has 2)");
    CHECK(explained(p, R"({"a": 5})") == R"(no match: a.numeric expected [">",1], event has missing)");
    CHECK(explained(R"({"a": {"exists": [false]}})", R"({"a": {"exists": true}})") ==
          R"(no match: a.exists expected [false], event has true)");
}

TEST_CASE("explain: fields that hold only in different elements of an array of objects") {
    const char* p = R"({"items": {"sku": ["A"], "qty": [2]}})";
    CHECK(explained(p, R"({"items": [{"sku": "A", "qty": 2}, {"sku": "B", "qty": 1}]})") == "match");
    const auto e = switchyard::explain(p, R"({"items": [{"sku": "A", "qty": 1}, {"sku": "B", "qty": 2}]})");
    CHECK_FALSE(e.matched);
    REQUIRE(e.miss.has_value());
    CHECK(e.miss->path == "items.sku");
    CHECK(e.miss->expected == R"(["A"])");
    CHECK(e.miss->actual == R"(["A","B"])");
    CHECK(e.miss->reason == "items.qty and items.sku hold only in different elements of items");
    CHECK(
        e.to_string() ==
        R"(no match: items.sku expected ["A"], event has ["A","B"] (items.qty and items.sku hold only in different elements of items))");
    // One of them failing on its own is reported as such, without a reason.
    CHECK(explained(p, R"({"items": [{"sku": "A", "qty": 1}]})") ==
          R"(no match: items.qty expected [2], event has [1])");

    // Nested arrays: the innermost array both fields pass through is named.
    const char* q = R"({"o": {"i": {"k": ["x"], "v": [1]}, "tag": ["t"]}})";
    CHECK(
        explained(q, R"({"o": [{"tag": "u", "i": [{"k": "x", "v": 1}]}, {"tag": "t", "i": [{"k": "x", "v": 1}]}]})") ==
        "match");
    CHECK(
        explained(q, R"({"o": [{"tag": "u", "i": [{"k": "x", "v": 1}]}, {"tag": "t", "i": [{"k": "x", "v": 2}]}]})") ==
        R"(no match: o.tag expected ["t"], event has ["u","t"] (o.i.v and o.tag hold only in different elements of o))");
    CHECK(explained(q, R"({"o": [{"tag": "t", "i": [{"k": "x", "v": 2}, {"k": "y", "v": 1}]}]})") ==
          R"(no match: o.i.v expected [1], event has [2,1] (o.i.k and o.i.v hold only in different elements of o.i))");
    // An array directly inside an array is part of the outer array's element.
    CHECK(explained(R"({"x": {"a": [1], "b": [2]}})", R"({"x": [[{"a": 1}], [{"b": 2}]]})") ==
          R"(no match: x.b expected [2], event has [2] (x.a and x.b hold only in different elements of x))");
    // Three fields, each pair together somewhere, never all three.
    CHECK(
        explained(R"({"r": {"a": [1], "b": [1], "c": [1]}})",
                  R"({"r": [{"a": 1, "b": 1}, {"b": 1, "c": 1}, {"a": 1, "c": 1}]})") ==
        R"(no match: r.c expected [1], event has [1,1] (no array element holds it together with the fields before it))");
    // A field outside the array combines with any element.
    CHECK(explained(R"({"id": [1], "items": {"sku": ["B"]}})", R"({"id": 1, "items": [{"sku": "A"}, {"sku": "B"}]})") ==
          "match");
}

TEST_CASE("explain: $or reports the alternative that matched, or the one that came closest") {
    const char* p = R"({"$or": [{"a": [1]}, {"b": [2], "c": [3]}]})";
    CHECK(explained(p, R"({"a": 1})") == "match (alternative 1 of 2)");
    CHECK(explained(p, R"({"b": 2, "c": 3})") == "match (alternative 2 of 2)");
    // One failing condition each: the first alternative on the tie.
    CHECK(explained(p, R"({"b": 2})") ==
          R"(no match (alternative 1 of 2 came closest): a expected [1], event has missing)");
    // The first fails twice, the second once: the second came closest.
    const char* q = R"({"$or": [{"a": [1], "d": [4]}, {"b": [2], "c": [3]}]})";
    const auto e = switchyard::explain(q, R"({"b": 2, "c": 4})");
    CHECK_FALSE(e.matched);
    CHECK(e.alternative == 1);
    CHECK(e.alternatives == 2);
    CHECK(e.to_string() == R"(no match (alternative 2 of 2 came closest): c expected [3], event has 4)");

    // Several $or multiply: alternatives are numbered as compiled_pattern::branches() lists them.
    const char* r = R"({"x": {"$or": [{"a": [1]}, {"b": [1]}]}, "y": {"$or": [{"c": [1]}, {"d": [1]}]}})";
    CHECK(switchyard::pattern::compile(r).branches().size() == 4);
    CHECK(explained(r, R"({"x": {"b": 1}, "y": {"d": 1}})") == "match (alternative 4 of 4)");
    CHECK(explained(r, R"({"x": {"b": 1}, "y": {"c": 1}})") == "match (alternative 3 of 4)");
    CHECK(explained(r, R"({"x": {"b": 1}, "y": {"e": 1}})") ==
          R"(no match (alternative 3 of 4 came closest): y.c expected [1], event has missing)");
    // Nested $or, and a field tested both outside and inside an $or alternative.
    CHECK(explained(R"({"$or": [{"a": [1]}, {"$or": [{"b": [1]}, {"c": [1]}]}]})", R"({"c": 1})") ==
          "match (alternative 3 of 3)");
    CHECK(explained(R"({"a": [1], "$or": [{"a": [2]}, {"b": [1]}]})", R"({"a": [1, 2]})") ==
          "match (alternative 1 of 2)");
    CHECK(explained(R"({"a": [1], "$or": [{"a": [2]}, {"b": [1]}]})", R"({"a": [1, 3], "b": 1})") ==
          "match (alternative 2 of 2)");
    CHECK(explained(R"({"a": [1], "$or": [{"a": [2]}, {"b": [1]}]})", R"({"a": 2})") ==
          R"(no match (alternative 1 of 2 came closest): a expected [1], event has 2)");
    // Several candidates whose conditions all hold alone: only the second holds them together.
    CHECK(explained(R"({"$or": [{"items": {"a": [1], "b": [1]}}, {"items": {"a": [1], "c": [1]}}]})",
                    R"({"items": [{"a": 1, "c": 1}, {"b": 1}]})") == "match (alternative 2 of 2)");
    // Two conditions on one field from different alternatives, in different elements.
    CHECK(
        explained(R"({"items": {"x": [1]}, "$or": [{"items": {"x": [2]}}, {"b": [1]}]})",
                  R"({"items": [{"x": 1}, {"x": 2}]})") ==
        R"(no match (alternative 1 of 2 came closest): items.x expected [1], event has [1,2] (items.x [2] and items.x [1] hold only in different elements of items))");
}

TEST_CASE("explain: odd keys, long values, documents that are not objects") {
    CHECK(explained(R"({"a\u0001b": [1]})", R"({"a\u0001b": 2})") ==
          R"(no match: "a\u0001b" expected [1], event has 2)");
    CHECK(explained(R"({"a.b": [1]})", R"({"a.b": 2})") == R"(no match: a.b expected [1], event has 2)");
    const std::string long_text(300, 'x');
    const auto e = switchyard::explain(R"({"a": ["y"]})", R"({"a": ")" + long_text + R"("})");
    REQUIRE(e.miss.has_value());
    CHECK(e.miss->actual == "\"" + long_text + "\"");
    CHECK(e.to_string() == R"(no match: a expected ["y"], event has ")" + std::string(199, 'x') + "...");
    // Cut before a multi-byte character, never inside it.
    const auto u = switchyard::explain(R"({"a": ["y"]})", R"({"a": ")" + std::string(198, 'x') + "é\"}");
    CHECK(u.to_string() == R"(no match: a expected ["y"], event has ")" + std::string(198, 'x') + "...");
    CHECK(explained(R"({"a": [{"exists": true}]})", "5") ==
          R"(no match: a expected [{"exists":true}], event has missing)");
    CHECK(explained(R"({"a": [{"exists": false}]})", "[1]") == "match");
}

TEST_CASE("explain: an invalid pattern or event throws") {
    CHECK_THROWS_WITH_AS((void)switchyard::explain(R"({"a": [{"numeric": ["<", 5, ">", 1]}]})", "{}"),
                         "a[0].numeric: lower bound must come first", switchyard::pattern_error);
    CHECK_THROWS_AS((void)switchyard::explain(R"({"a": [1)", "{}"), switchyard::pattern_error);
    CHECK_THROWS_WITH_AS((void)switchyard::explain(R"({"a": [1]})", R"({"a": )"),
                         doctest::Contains("the event is not valid JSON at byte 6"), switchyard::error);
    CHECK_THROWS_WITH_AS((void)switchyard::explain(R"({"a": [1]})", R"({"a": 1e400})"),
                         doctest::Contains("number overflow"), switchyard::error);
    const std::string deep = R"({"a": )" + std::string(600, '[') + std::string(600, ']') + "}";
    CHECK_THROWS_WITH_AS((void)switchyard::explain(R"({"a": [1]})", deep), doctest::Contains("more than 512 deep"),
                         switchyard::error);
}

namespace {

// {"a": {"b": values}} for the path "a.b" (the property test's keys hold no dots).
std::string condition_pattern(const std::string& path, const std::string& values) {
    nlohmann::json out = nlohmann::json::parse(values);
    std::size_t end = path.size();
    while (true) {
        const std::size_t dot = path.rfind('.', end - 1);
        const std::size_t start = dot == std::string::npos ? 0 : dot + 1;
        nlohmann::json wrapped = nlohmann::json::object();
        wrapped[path.substr(start, end - start)] = std::move(out);
        out = std::move(wrapped);
        if (dot == std::string::npos) break;
        end = dot;
    }
    return out.dump();
}

struct explain_generator {
    std::mt19937 rng;
    int pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng); }
    std::string word() {
        static const char* words[] = {"a", "ab", "b", "Ab", "10.0.0.7", ""};
        return words[pick(6)];
    }
    std::string value() {
        switch (pick(16)) {
            case 0:
                return "\"" + word() + "\"";
            case 1:
                return std::to_string(pick(4));
            case 2:
                return R"({"prefix": ")" + word() + "\"}";
            case 3:
                return R"({"suffix": {"equals-ignore-case": ")" + word() + "\"}}";
            case 4:
                return R"({"equals-ignore-case": ")" + word() + "\"}";
            case 5:
                return R"({"wildcard": "*)" + word() + "\"}";
            case 6:
                return R"({"anything-but": [")" + word() + "\"]}";
            case 7:
                return R"({"anything-but": {"prefix": ")" + word() + "\"}}";
            case 8:
                return R"({"numeric": [">", )" + std::to_string(pick(4)) + "]}";
            case 9:
                return R"({"exists": true})";
            case 10:
                return R"({"cidr": "10.0.0.0/24"})";
            case 11:
                return R"({"regexp": "A?b"})";
            case 12:
                return R"({"all-of": [{"numeric": [">=", 1]}, {"anything-but": [2]}]})";
            case 13:
                return "true";
            case 14:
                return R"({"anything-but": 1})";
            default:
                return "null";
        }
    }
    std::string values() {
        if (pick(8) == 0) return R"([{"exists": false}])";
        std::string out = "[" + value();
        if (pick(2)) out += ", " + value();
        return out + "]";
    }
    // Fields f, g, o.h, arr.k, arr.v (arr is an array of objects in events), some under $or.
    std::string object(int depth) {
        std::string out = "{";
        auto add = [&](const std::string& member) { out += (out.size() > 1 ? ", " : "") + member; };
        if (pick(2)) add(R"("f": )" + values());
        if (pick(2)) add(R"("g": )" + values());
        if (pick(3) == 0) add(R"("o": {"h": )" + values() + "}");
        if (pick(2)) {
            std::string arr = R"("arr": {"k": )" + values();
            if (pick(2)) arr += R"(, "v": )" + values();
            add(arr + "}");
        }
        if (depth < 2 && pick(4) == 0) add(R"("$or": [)" + object(depth + 1) + ", " + object(depth + 1) + "]");
        if (out.size() == 1) add(R"("f": )" + values());
        return out + "}";
    }
    std::string scalar() {
        switch (pick(6)) {
            case 0:
                return std::to_string(pick(4));
            case 1:
                return "true";
            case 2:
                return "null";
            default:
                return "\"" + word() + "\"";
        }
    }
    std::string event() {
        std::string out = "{";
        auto add = [&](const std::string& member) { out += (out.size() > 1 ? ", " : "") + member; };
        if (pick(4)) add(R"("f": )" + scalar());
        if (pick(4)) add(R"("g": )" + (pick(3) ? scalar() : "[" + scalar() + ", " + scalar() + "]"));
        if (pick(3)) add(R"("o": {"h": )" + scalar() + "}");
        if (pick(4)) {
            std::string arr = "[";
            const int n = pick(4);
            for (int k = 0; k < n; ++k)
                arr += std::string(k ? ", " : "") + R"({"k": )" + scalar() + R"(, "v": )" + scalar() + "}";
            add(R"("arr": )" + arr + "]");
        }
        return out + "}";
    }
};

// explain() agrees with the matcher, and its miss is right about the condition: one that fails
// alone has no reason; one with a reason (the same-array-element rule) holds alone.
void check_agrees(const std::string& pattern, const std::string& event) {
    CAPTURE(pattern);
    CAPTURE(event);
    const auto e = switchyard::explain(pattern, event);
    CHECK(e.matched == matches(pattern, event));
    CHECK(e.miss.has_value() == !e.matched);
    CHECK(e.alternative < e.alternatives);
    CHECK(e.alternatives == switchyard::pattern::compile(pattern).branches().size());
    if (e.miss) CHECK(matches(condition_pattern(e.miss->path, e.miss->expected), event) == !e.miss->reason.empty());
}

}  // namespace

TEST_CASE("explain agrees with the matcher over fixed and random patterns and events") {
    const std::vector<std::string> patterns = {
        R"({"f": ["a"]})",
        R"({"f": [{"prefix": "a"}, 3], "g": [{"exists": false}]})",
        R"({"arr": {"k": ["a"], "v": [{"numeric": [">", 0]}]}})",
        R"({"arr": {"k": [{"anything-but": "a"}]}, "f": [{"exists": true}]})",
        R"({"$or": [{"f": ["a"]}, {"arr": {"k": ["b"], "v": [1]}}]})",
        R"({"o": {"h": [{"all-of": [{"prefix": "a"}, {"suffix": "b"}]}]}})",
        R"({"g": [{"cidr": "10.0.0.0/24"}, {"regexp": "A?b"}]})",
    };
    const std::vector<std::string> events = {
        R"({})",
        R"({"f": "a", "g": null})",
        R"({"f": 3, "o": {"h": "ab"}})",
        R"({"arr": [{"k": "a", "v": 0}, {"k": "b", "v": 1}]})",
        R"({"arr": [{"k": "b", "v": 1}], "f": "x", "g": ["10.0.0.7", "b"]})",
        R"({"arr": [{"k": "a", "v": 2}], "g": "Ab", "o": {"h": "axb"}})",
    };
    for (const auto& p : patterns)
        for (const auto& e : events) check_agrees(p, e);

    explain_generator gen{std::mt19937(2024)};
    int misses = 0, clashes = 0;
    const int rounds = random_rounds(400);
    for (int i = 0; i < rounds; ++i) {
        const std::string pattern = gen.object(0);
        for (int k = 0; k < 5; ++k) {
            const std::string event = gen.event();
            check_agrees(pattern, event);
            const auto e = switchyard::explain(pattern, event);
            misses += e.miss ? 1 : 0;
            clashes += e.miss && !e.miss->reason.empty() ? 1 : 0;
        }
    }
    // The random set reaches both kinds of miss (and matches: 2,000 events in all, fewer when scaled).
    CHECK(misses > rounds / 4);
    CHECK(misses < rounds * 5);
    CHECK(clashes > 0);
}
