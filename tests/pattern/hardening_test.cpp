// Hardening: inputs built to make matching slow, and inputs whose meaning was ambiguous. Speed
// itself is measured in benchmarks/pattern (family "adversarial"); these tests pin the answers
// and the work counters the engine exposes (flat_event::state.consistency_steps), not time.
#include <doctest/doctest.h>

#include <algorithm>
#include <random>
#include <regex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "pattern/support.hpp"
#include "test_scale.hpp"

namespace sp = switchyard::pattern;
using pattern_test::error_of;
using pattern_test::matches;

namespace {

struct outcome {
    bool ok = false;
    std::vector<sp::rule_id> ids;
    std::uint64_t steps = 0;
    std::size_t fields = 0;
};

outcome run_one(std::string_view pattern, std::string_view event) {
    const auto m = sp::matcher{}.with(1, sp::compile(pattern));
    sp::flat_event scratch;
    outcome o;
    o.ok = m.match_json(event, scratch, o.ids);
    o.steps = scratch.state.consistency_steps;
    o.fields = scratch.fields.size();
    return o;
}

// {"detail": {"items": [...]}} with `n` items that alternate between only a sku and only a qty,
// then (when `pair_at_end`) one item with both.
std::string unpaired_items(std::size_t n, bool pair_at_end) {
    std::string e = R"({"detail": {"items": [)";
    for (std::size_t i = 0; i < n; ++i) {
        if (i) e += ',';
        e += i % 2 ? R"({"qty": 2, "note": "x"})" : R"({"sku": "A", "note": "y"})";
    }
    if (pair_at_end) e += R"(, {"sku": "A", "qty": 2})";
    e += "]}}";
    return e;
}

}  // namespace

TEST_CASE("array consistency is linear: items that never pair up") {
    const char* rule = R"({"detail": {"items": {"sku": ["A"], "qty": [2]}}})";
    for (const bool pair : {false, true}) {
        CAPTURE(pair);
        const auto o = run_one(rule, unpaired_items(20000, pair));
        REQUIRE(o.ok);
        CHECK(o.ids == (pair ? std::vector<sp::rule_id>{1} : std::vector<sp::rule_id>{}));
        // Each hit is looked at a bounded number of times per array level (here one level).
        CHECK(o.steps <= 4 * (o.fields + 1));
        CHECK(o.steps > 0);
    }
}

TEST_CASE("array consistency is linear: several objects per element, crafted near-misses") {
    // Fields in several objects inside one array element: the old depth-first search tried every
    // combination of candidates (its budget counter wrapped past zero, so it was unbounded).
    const char* rule = R"({"arr": {"p": {"v": [1]}, "q": {"v": [1]}, "r": {"v": [1]}, "s": {"v": [1]}, "t": {"v": [1]}}})";
    std::string event = R"({"arr": [)";
    const char* names[] = {"p", "q", "r", "s", "t"};
    const std::size_t n = 2000;
    for (std::size_t i = 0; i < n; ++i) {
        if (i) event += ',';
        // Every element misses exactly one of the five.
        event += '{';
        bool first = true;
        for (std::size_t k = 0; k < 5; ++k) {
            if (k == i % 5) continue;
            if (!first) event += ',';
            first = false;
            event += std::string("\"") + names[k] + R"(": {"v": 1})";
        }
        event += '}';
    }
    const std::string miss = event + "]}";
    const std::string hit = event + R"(, {"p": {"v": 1}, "q": {"v": 1}, "r": {"v": 1}, "s": {"v": 1}, "t": {"v": 1}}]})";
    const auto a = run_one(rule, miss);
    REQUIRE(a.ok);
    CHECK(a.ids.empty());
    CHECK(a.steps <= 4 * (a.fields + 1));
    const auto b = run_one(rule, hit);
    REQUIRE(b.ok);
    CHECK(b.ids == std::vector<sp::rule_id>{1});
    CHECK(b.steps <= 4 * (b.fields + 1));
}

TEST_CASE("array consistency: nested levels, arrays inside arrays, several arrays per element") {
    const char* q = R"({"o": {"i": {"k": ["x"], "v": [1]}, "tag": ["t"]}})";
    CHECK(matches(q, R"({"o": [{"tag": "t", "i": [{"k": "y", "v": 1}, {"k": "x", "v": 1}]}]})"));
    CHECK_FALSE(matches(q, R"({"o": [{"tag": "t", "i": [{"k": "y", "v": 1}]}, {"tag": "u", "i": [{"k": "x", "v": 1}]}]})"));
    // Two arrays in one element supply their fields independently.
    const char* two = R"({"o": {"a": {"x": [1]}, "b": {"y": [2]}, "z": [3]}})";
    CHECK(matches(two, R"({"o": [{"z": 3, "a": [{"x": 0}, {"x": 1}], "b": [{"y": 2}]}]})"));
    CHECK_FALSE(matches(two, R"({"o": [{"z": 3, "a": [{"x": 0}]}, {"a": [{"x": 1}], "b": [{"y": 2}]}]})"));
    // Objects in arrays nested directly in arrays: one element must hold both fields.
    const char* both = R"({"x": {"a": [1], "b": [2]}})";
    CHECK(matches(both, R"({"x": [[{"a": 1, "b": 2}]]})"));
    CHECK_FALSE(matches(both, R"({"x": [[{"a": 1, "b": 0}], [{"a": 0, "b": 2}]]})"));
    CHECK_FALSE(matches(both, R"({"x": [[{"a": 1}, {"b": 2}]]})"));
    // A field outside the array combines with any element; fields in the same element combine.
    CHECK(matches(R"({"id": [1], "o": {"a": [1], "b": [2]}})", R"({"o": [{"a": 1}, {"a": 1, "b": 2}], "id": 1})"));
}

TEST_CASE("$or over arrays: many alternatives cost what their hits cost") {
    std::string rule = R"({"$or": [)";
    for (int i = 0; i < 1024; ++i) {
        if (i) rule += ',';
        rule += R"({"items": {"k": [)" + std::to_string(i % 32) + R"(], "v": [)" + std::to_string(i / 32) + "]}}";
    }
    rule += "]}";
    std::string event = R"({"items": [)";
    for (int i = 0; i < 64; ++i) {
        if (i) event += ',';
        event += R"({"k": )" + std::to_string(i % 32) + R"(, "v": )" + std::to_string(100 + i) + "}";
    }
    const auto miss = run_one(rule, event + "]}");
    REQUIRE(miss.ok);
    CHECK(miss.ids.empty());
    const auto hit = run_one(rule, event + R"(, {"k": 5, "v": 31}]})");
    CHECK(hit.ids == std::vector<sp::rule_id>{1});
    // Each alternative touched looks only at its own hits.
    CHECK(miss.steps <= 4 * 64 * 32);
}

TEST_CASE("duplicate members in an event: the last one counts, as in nlohmann::json") {
    const char* big = R"({"amount": [{"numeric": [">", 100]}]})";
    CHECK(matches(big, R"({"amount": 5, "amount": 1000000})"));
    CHECK_FALSE(matches(big, R"({"amount": 1000000, "amount": 5})"));
    CHECK_FALSE(matches(big, R"({"amount": 1000000, "other": 1, "amount": 5})"));
    // Also when the earlier one was an array, an object, or nested.
    CHECK_FALSE(matches(big, R"({"amount": [1000000], "amount": 5})"));
    CHECK_FALSE(matches(R"({"a": {"b": [1]}})", R"({"a": {"b": 1}, "a": {"c": 2}})"));
    CHECK(matches(R"({"a": {"b": [1]}})", R"({"a": {"b": 2}, "a": {"c": 2, "b": 1}})"));
    CHECK_FALSE(matches(R"({"a": {"b": [1]}})", R"({"a": {"b": 1, "b": 2}})"));
    CHECK(matches(R"({"a": {"b": [1]}})", R"({"a": [{"b": 2, "b": 1}]})"));
    // A member of the same name in a nested object is not a duplicate (nor in a string).
    CHECK(matches(big, R"({"amount": 1000000, "x": {"amount": 5}, "s": "\"amount\": 5"})"));
    CHECK(matches(R"({"a": {"b": [1]}})", R"({"a": {"b": 1, "c": {"b": 2}, "d": [{"b": 3}]}, "b": 4})"));
    // Duplicates after every read member was seen, at the top level and nested.
    CHECK_FALSE(matches(R"({"a": {"b": [1]}, "c": [2]})", R"({"a": {"b": 1}, "c": 2, "x": [1, {"y": 2}], "a": {"b": 3}})"));
    CHECK_FALSE(matches(R"({"a": {"b": [1], "c": [2]}})", R"({"a": {"c": 2, "b": 1, "x": "y", "c": 3}})"));
    // An empty member name, and a name that is a prefix of another.
    CHECK_FALSE(matches(R"({"": [1]})", R"({"": 1, "x": 0, "": 2})"));
    CHECK(matches(big, R"({"amount": 1000000, "amounts": 5, "xamount": 5})"));
    // Escaped member names are the same member.
    CHECK_FALSE(matches(big, R"({"amount": 1000000, "\u0061mount": 5})"));
    // Many duplicates stay correct.
    std::string many = "{";
    for (int i = 0; i < 500; ++i) many += R"("amount": )" + std::to_string(1000 + i) + R"(, "x": 1, )";
    CHECK_FALSE(matches(big, many + R"("amount": 1})"));
    CHECK(matches(big, many + R"("amount": 101})"));
    // consistent with nlohmann::json, which the bus and the CLI parse with
    CHECK(nlohmann::json::parse(R"({"amount": 5, "amount": 1000000})")["amount"] == 1000000);
}

TEST_CASE("an event nested beyond the scanner's limit says so") {
    const auto m = sp::matcher{}.with(1, sp::compile(R"({"a": [1]})"));
    sp::flat_event scratch;
    std::vector<sp::rule_id> out;
    const std::string deep = R"({"a": )" + std::string(600, '[') + "1" + std::string(600, ']') + "}";
    CHECK_FALSE(m.match_json(deep, scratch, out));
    CHECK(scratch.error == sp::scan_error::too_deep);
    CHECK(scratch.error_message().find("more than 512 deep") != std::string::npos);
    CHECK_FALSE(m.match_json(R"({"a": [1)", scratch, out));
    CHECK(scratch.error == sp::scan_error::malformed);
    CHECK(scratch.error_message().find("not valid JSON") != std::string::npos);
    CHECK(m.match_json(R"({"a": )" + std::string(400, '[') + "1" + std::string(400, ']') + "}", scratch, out));
    CHECK(scratch.error == sp::scan_error::none);
    CHECK(out == std::vector<sp::rule_id>{1});
}

TEST_CASE("anything-but with prefix, suffix, equals-ignore-case or wildcard matches values that are not strings") {
    // As EventBridge and aws/event-ruler: such a value is not excluded by any string form.
    for (const char* op : {R"({"prefix": "S"})", R"({"suffix": "S"})", R"({"equals-ignore-case": "S"})", R"({"wildcard": "S*"})",
                           R"({"prefix": ["S", "T"]})"}) {
        CAPTURE(op);
        const std::string p = std::string(R"({"a": [{"anything-but": )") + op + "}]}";
        CHECK(matches(p, R"({"a": null})"));
        CHECK(matches(p, R"({"a": 5})"));
        CHECK(matches(p, R"({"a": true})"));
        CHECK(matches(p, R"({"a": false})"));
        CHECK(matches(p, R"({"a": "x"})"));
        CHECK_FALSE(matches(p, R"({"a": "S"})"));
        CHECK_FALSE(matches(p, R"({"b": 5})"));  // still never a missing field
    }
    // Inside all-of too (one value, every condition).
    CHECK(matches(R"({"a": [{"all-of": [{"anything-but": {"prefix": "S"}}, {"numeric": [">", 1]}]}]})", R"({"a": 5})"));
}

TEST_CASE("a number beyond the double range in a pattern is a pattern_error naming its path") {
    CHECK(error_of(R"({"a": [1e400]})") ==
          "a[0]: number is outside the range of a double (about ±1.8e308); write a smaller number");
    CHECK(error_of(R"({"d": {"t": [{"numeric": [">", 0, "<", -1e999]}]}})")
              .starts_with("d.t[0].numeric[3]: number is outside the range of a double"));
    CHECK(error_of(R"({"a": [{"anything-but": [1, 2, 1e400]}]})").starts_with("a[0].anything-but[2]: number is outside"));
    try {
        (void)sp::compile(R"({"x": {"y": [1e400]}})");
        FAIL("compiled");
    } catch (const switchyard::pattern_error& e) {
        CHECK(e.path() == "x.y[0]");
    }
}

TEST_CASE("a key repeated in one pattern object is refused, naming it") {
    CHECK(error_of(R"({"a": ["x"], "a": ["y"]})") ==
          "a: the key \"a\" appears twice in one object; a JSON parser keeps only one of them, so merge their values into "
          "one list (or one object)");
    CHECK(error_of(R"({"d": {"b": [1], "c": [2], "b": [3]}})").starts_with("d.b: the key \"b\" appears twice"));
    CHECK(error_of(R"({"$or": [{"a": [1]}, {"b": [1], "b": [2]}]})").starts_with("$or[1].b: the key \"b\" appears twice"));
    // The same key in different objects is fine.
    CHECK(error_of(R"({"a": {"x": [1]}, "b": {"x": [1]}, "$or": [{"x": [1]}, {"x": [2]}]})").empty());
}

namespace {
const sp::detail::regexp_program& regexp_of(const sp::compiled_pattern& p) {
    return *p.branches().at(0).at(0).atoms.at(0).extra->regexp;
}
std::string utf8(std::uint32_t cp) {
    std::string s;
    sp::detail::append_utf8(s, cp);
    return s;
}
}  // namespace

TEST_CASE("regexp: a repeated class of many characters is one set, tested once per character") {
    // ([^<900 non-ASCII characters>]*){1000}: a thousand live states share one class; each code
    // point is looked up once (binary search), not once per state and range by range.
    std::string cls;
    for (std::uint32_t cp = 0x400; cp < 0x400 + 2 * 900; cp += 2) cls += utf8(cp);
    const std::string source = "([^" + cls + "]*){1000}";
    const auto p = sp::compile(R"({"a": [{"regexp": ")" + source + R"("}]})");
    CHECK(regexp_of(p).set_count() == 1);
    const std::string rule = R"({"a": [{"regexp": ")" + source + R"("}]})";
    CHECK(matches(rule, R"({"a": ")" + std::string(1024, 'x') + R"("})"));
    CHECK_FALSE(matches(rule, R"({"a": ")" + std::string(1000, 'x') + utf8(0x402) + R"("})"));
    CHECK(matches(rule, R"({"a": ")" + std::string(1000, 'x') + utf8(0x403) + R"("})"));
}

TEST_CASE("regexp: classes with overlapping, adjacent and unsorted ranges agree with a plain scan") {
    const std::vector<std::pair<std::uint32_t, std::uint32_t>> ranges = {
        {'m', 'p'}, {'a', 'c'}, {'b', 'e'}, {'f', 'f'}, {'x', 'x'}, {0x3B1, 0x3C9}, {0x3C0, 0x3D0}, {'0', '9'}};
    std::string cls;
    for (const auto& [lo, hi] : ranges) cls += utf8(lo) + (lo == hi ? "" : "-" + utf8(hi));
    for (const bool negated : {false, true}) {
        const std::string rule = std::string(R"({"a": [{"regexp": "[)") + (negated ? "^" : "") + cls + R"(]"}]})";
        for (std::uint32_t cp = 0x20; cp < 0x3E0; ++cp) {
            if (cp == '"' || cp == '\\' || (cp >= 0x7F && cp < 0xA0)) continue;
            bool in = false;
            for (const auto& [lo, hi] : ranges) in = in || (cp >= lo && cp <= hi);
            CAPTURE(cp);
            CHECK(matches(rule, R"({"a": ")" + utf8(cp) + R"("})") == (in != negated));
        }
    }
}

TEST_CASE("wildcard segments are found in linear time and agree with a plain search") {
    // "aaaa...a" against "*aaa...ab*": a naive search compares the whole segment at every position.
    const std::string seg = std::string(300, 'a') + "b";
    const std::string rule = R"({"a": [{"wildcard": "x*)" + seg + R"(*y"}]})";
    const std::string value = "x" + std::string(5000, 'a');
    CHECK_FALSE(matches(rule, R"({"a": ")" + value + R"(y"})"));
    CHECK(matches(rule, R"({"a": ")" + value + "b" + R"(y"})"));
    CHECK(matches(rule, R"({"a": ")" + value + "b" + std::string(70, 'a') + R"(y"})"));
    // find_linear against std::string_view::find on periodic needles
    std::string hay = "abababababcabababcababababababcabababababababababababababababababababababcab";
    hay += hay + "ababababab" + hay;
    for (const char* needle : {"ababc", "abababc", "bababab", "ababababababab", "cababa", "zzzzzz"}) {
        CAPTURE(needle);
        for (std::size_t from = 0; from < hay.size(); ++from) {
            const std::string_view h = std::string_view(hay).substr(from);
            CHECK(sp::detail::find_linear(h, needle) == h.find(needle));
        }
    }
}

namespace {

// The semantics of array consistency, spelled out naively (every combination of candidate
// leaves, pairwise compatible trails), for small random events.
struct leaf {
    std::string path;
    int value;
    std::vector<std::pair<int, int>> trail;
};

void leaves_of(const nlohmann::json& v, const std::string& path, std::vector<std::pair<int, int>> trail,
               std::vector<leaf>& out, int& arrays) {
    if (v.is_object()) {
        for (const auto& [k, x] : v.items()) leaves_of(x, path.empty() ? k : path + "." + k, trail, out, arrays);
    } else if (v.is_array()) {
        const int id = ++arrays;
        for (std::size_t i = 0; i < v.size(); ++i) {
            auto t = trail;
            if (v[i].is_object() || v[i].is_array()) t.emplace_back(id, static_cast<int>(i));
            leaves_of(v[i], path, t, out, arrays);
        }
    } else {
        out.push_back({path, v.get<int>(), trail});
    }
}

bool compatible_trails(const leaf& a, const leaf& b) {
    for (std::size_t k = 0; k < std::min(a.trail.size(), b.trail.size()); ++k) {
        if (a.trail[k].first != b.trail[k].first) return true;
        if (a.trail[k].second != b.trail[k].second) return false;
    }
    return true;
}

bool reference_match(const std::vector<std::pair<std::string, int>>& conditions, const std::vector<leaf>& leaves) {
    std::vector<std::vector<const leaf*>> cands;
    for (const auto& [path, value] : conditions) {
        cands.emplace_back();
        for (const auto& l : leaves)
            if (l.path == path && l.value == value) cands.back().push_back(&l);
        if (cands.back().empty()) return false;
    }
    std::vector<const leaf*> chosen;
    auto search = [&](auto& self, std::size_t k) -> bool {
        if (k == cands.size()) return true;
        for (const leaf* l : cands[k]) {
            bool ok = true;
            for (const leaf* c : chosen) ok = ok && compatible_trails(*l, *c);
            if (!ok) continue;
            chosen.push_back(l);
            if (self(self, k + 1)) return true;
            chosen.pop_back();
        }
        return false;
    };
    return search(search, 0);
}

}  // namespace

TEST_CASE("array consistency agrees with a naive search on random nested events") {
    std::mt19937 rng(20261201);
    auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); };
    const std::vector<std::string> paths = {"id", "o.tag", "o.w", "o.i.k", "o.i.v", "o.j.k", "o.j.v", "o.i.d.x", "o.i.d.y"};
    for (int round = 0; round < random_rounds(400); ++round) {
        nlohmann::json event = nlohmann::json::object();
        if (pick(2)) event["id"] = pick(3);
        nlohmann::json o = nlohmann::json::array();
        for (int e = pick(4); e >= 0; --e) {
            nlohmann::json el = nlohmann::json::object();
            if (pick(3)) el["tag"] = pick(3);
            if (pick(3)) el["w"] = pick(3);
            nlohmann::json is = nlohmann::json::array();
            for (int k = pick(4); k > 0; --k) {
                nlohmann::json it = nlohmann::json::object();
                if (pick(4)) it["k"] = pick(3);
                if (pick(4)) it["v"] = pick(3);
                if (!pick(3)) {
                    nlohmann::json ds = nlohmann::json::array();
                    for (int d = pick(3); d >= 0; --d) ds.push_back({{"x", pick(2)}, {"y", pick(2)}});
                    it["d"] = ds;
                }
                is.push_back(it);
            }
            el["i"] = is;
            nlohmann::json js = nlohmann::json::array();
            for (int a = pick(3); a > 0; --a) {
                nlohmann::json inner = nlohmann::json::array();
                for (int b = pick(3); b >= 0; --b) inner.push_back({{"k", pick(3)}, {"v", pick(3)}});
                js.push_back(inner);
            }
            el["j"] = js;
            o.push_back(el);
        }
        event["o"] = o;
        std::vector<leaf> leaves;
        int arrays = 0;
        leaves_of(event, "", {}, leaves, arrays);
        const std::string text = event.dump();
        for (int p = 0; p < 8; ++p) {
            std::vector<std::pair<std::string, int>> conditions;
            nlohmann::json pattern = nlohmann::json::object();
            for (int c = 1 + pick(4); c > 0; --c) {
                const std::string& path = paths[static_cast<std::size_t>(pick(static_cast<int>(paths.size())))];
                if (std::any_of(conditions.begin(), conditions.end(), [&](const auto& x) { return x.first == path; })) continue;
                const int value = pick(3);
                conditions.emplace_back(path, value);
                pattern[nlohmann::json::json_pointer("/" + std::regex_replace(path, std::regex("\\."), "/"))] = {value};
            }
            CAPTURE(text);
            CAPTURE(pattern.dump());
            CHECK(matches(pattern.dump(), text) == reference_match(conditions, leaves));
        }
    }
}

TEST_CASE("array consistency: several inner arrays in one element, last condition elsewhere") {
    // The old depth-first search tried every combination of the inner elements (n^3) and its
    // budget counter wrapped, so nothing stopped it.
    const char* rule = R"({"arr": {"a": {"x": [1]}, "b": {"y": [1]}, "c": {"z": [1]}, "last": [1]}})";
    std::string inner;
    for (int i = 0; i < 300; ++i) inner += std::string(i ? "," : "") + R"({"x": 1})";
    auto arrays = [&](const std::string& x) {
        std::string y = x, z = x;
        for (auto* s : {&y, &z})
            for (std::size_t at = 0; (at = s->find("\"x\"", at)) != std::string::npos; ++at) (*s)[at + 1] = s == &y ? 'y' : 'z';
        return R"("a": [)" + x + R"(], "b": [)" + y + R"(], "c": [)" + z + "]";
    };
    const auto miss = run_one(rule, R"({"arr": [{)" + arrays(inner) + R"(}, {"last": 1}]})");
    REQUIRE(miss.ok);
    CHECK(miss.ids.empty());
    CHECK(miss.steps <= 4 * (miss.fields + 1));
    const auto hit = run_one(rule, R"({"arr": [{)" + arrays(inner) + R"(, "last": 1}]})");
    CHECK(hit.ids == std::vector<sp::rule_id>{1});
    CHECK(hit.steps <= 4 * 3 * (hit.fields + 1));
}
