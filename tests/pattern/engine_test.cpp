// The engine: one automaton for many rules, incremental add and exact remove (checked against
// a matcher rebuilt from scratch on random rule sets), and flattening typed events, JSON-text
// details and plain JSON documents to the same fields.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <map>
#include <random>
#include <string>
#include <vector>

#include <switchyard/event.hpp>
#include <switchyard/pattern/detail/index.hpp>
#include <switchyard/pattern/flatten.hpp>

#include "pattern/support.hpp"
#include "test_scale.hpp"

namespace sp = switchyard::pattern;

namespace engine_test {
struct Line {
    std::string sku;
    int qty = 0;
};
SWITCHYARD_FIELDS(Line, sku, qty)

struct Order {
    std::string customer;
    double total = 0;
    bool rush = false;
    std::vector<Line> lines;
    std::vector<std::string> tags;
};
SWITCHYARD_EVENT(Order, "ORDER", customer, total, rush, lines, tags)
}  // namespace engine_test

namespace {

std::vector<sp::rule_id> run(const sp::matcher& m, std::string_view json) {
    sp::flat_event scratch;
    std::vector<sp::rule_id> out;
    REQUIRE(m.match_json(json, scratch, out));
    return out;
}

std::vector<sp::rule_id> run(const sp::matcher& m, const switchyard::any_event& e) {
    sp::flat_event scratch;
    std::vector<sp::rule_id> out;
    switchyard::match(m, e, scratch, out);
    return out;
}

}  // namespace

TEST_CASE("many rules in one matcher: each event gets exactly its rules, ascending and once") {
    sp::matcher m;
    m = m.with(5, sp::compile(R"({"a": ["x"]})"));
    m = m.with(2, sp::compile(R"({"a": [{"prefix": "x"}]})"));
    m = m.with(9, sp::compile(R"({"$or": [{"a": ["x"]}, {"b": [1]}]})"));
    m = m.with(1, sp::compile(R"({"b": [{"numeric": [">", 0]}], "a": [{"anything-but": "y"}]})"));
    m = m.with(3, sp::compile(R"({"c": [{"exists": false}]})"));
    CHECK(m.size() == 5);
    CHECK(run(m, R"({"a": "x", "b": 1})") == std::vector<sp::rule_id>{1, 2, 3, 5, 9});
    CHECK(run(m, R"({"a": "xy", "c": 1})") == std::vector<sp::rule_id>{2});
    CHECK(run(m, R"({"a": "y", "b": 2})") == std::vector<sp::rule_id>{3});
    // Replacing a rule's pattern under the same id.
    m = m.with(5, sp::compile(R"({"a": ["y"]})"));
    CHECK(run(m, R"({"a": "y", "c": 0})") == std::vector<sp::rule_id>{5});
    CHECK(m.without(42).size() == 5);
    CHECK(run(m.without(5).without(3), R"({"a": "y"})").empty());
    CHECK(run(sp::matcher{}, R"({"a": "y"})").empty());
}

TEST_CASE("a snapshot is unaffected by later with/without") {
    const auto one = sp::matcher{}.with(1, sp::compile(R"({"a": ["x"]})"));
    const auto two = one.with(2, sp::compile(R"({"a": ["x"]})"));
    const auto none = two.without(1).without(2);
    CHECK(run(one, R"({"a": "x"})") == std::vector<sp::rule_id>{1});
    CHECK(run(two, R"({"a": "x"})") == std::vector<sp::rule_id>{1, 2});
    CHECK(run(none, R"({"a": "x"})").empty());
}

TEST_CASE("typed events, JSON-text details and plain JSON flatten to the same fields") {
    using engine_test::Order;
    sp::matcher m;
    const std::vector<std::string> patterns = {
        R"({"detail-type": ["ORDER"], "detail": {"total": [{"numeric": [">", 100]}]}})",
        R"({"detail": {"lines": {"sku": ["A"], "qty": [2]}}})",
        R"({"detail": {"rush": [true], "customer": [{"prefix": "c-"}]}})",
        R"({"source": ["shop"], "detail": {"tags": ["vip"]}})",
        R"({"resources": ["arn:x"], "detail": {"missing": [{"exists": false}]}})",
        R"({"detail": {"customer": [{"equals-ignore-case": "C-ÉLISE"}]}})",
    };
    for (std::size_t i = 0; i < patterns.size(); ++i) m = m.with(static_cast<sp::rule_id>(i), sp::compile(patterns[i]));

    switchyard::event<Order> typed;
    typed.id = "1";
    typed.source = "shop";
    typed.detail_type = "ORDER";
    typed.time = "2024-01-01T00:00:00Z";
    typed.resources = {"arn:x"};
    typed.detail = {"c-élise", 150.0, true, {{"A", 1}, {"B", 2}, {"A", 2}}, {"new", "vip"}};
    const auto typed_event = switchyard::make_event(typed);
    const auto text_event = switchyard::make_json_event(static_cast<const switchyard::envelope&>(typed),
                                                        nlohmann::json(typed.detail).dump());
    const std::string whole = typed_event->json();

    const std::vector<sp::rule_id> all = {0, 1, 2, 3, 4, 5};
    CHECK(run(m, *typed_event) == all);
    CHECK(run(m, *text_event) == all);
    CHECK(run(m, whole) == all);

    typed.detail.lines = {{"A", 1}, {"B", 2}};
    typed.detail.total = 5;
    const auto fewer = std::vector<sp::rule_id>{2, 3, 4, 5};
    CHECK(run(m, *switchyard::make_event(typed)) == fewer);
    CHECK(run(m, *switchyard::make_json_event(static_cast<const switchyard::envelope&>(typed), nlohmann::json(typed.detail).dump())) ==
          fewer);
}

TEST_CASE("the scanner skips what no rule reads and rejects malformed text it reads") {
    const auto m = sp::matcher{}.with(1, sp::compile(R"({"b": {"c": ["x"]}})"));
    CHECK(run(m, R"({"a": {"deep": [[[{"q": "\"}]"}]]], "n": -1.5e3}, "b": {"z": [1, 2], "c": "x"}, "t": true})") ==
          std::vector<sp::rule_id>{1});
    CHECK(run(m, R"({"b\u0000": 1, "\u0062": {"c": "\u0078"}})") == std::vector<sp::rule_id>{1});
    sp::flat_event scratch;
    std::vector<sp::rule_id> out;
    CHECK_FALSE(m.match_json(R"({"b": {"c": "x)", scratch, out));
    CHECK_FALSE(m.match_json(R"({"b": {"c": )", scratch, out));
    CHECK_FALSE(m.match_json(R"({"b": {"c": xyz}})", scratch, out));
    CHECK_FALSE(m.match_json("", scratch, out));
    // Once every member a rule reads has been seen, the rest of the document is not looked at.
    CHECK(m.match_json(R"({"b": {"c": "y"}} trailing)", scratch, out));
    CHECK(out.empty());
}

namespace {

// Random patterns over a small vocabulary, so rules overlap and share index entries.
struct generator {
    std::mt19937 rng;
    int pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng); }
    std::string word() {
        static const char* words[] = {"a", "ab", "abc", "b", "ba", "bab", "cab", "ABC", "Ab", ""};
        return words[pick(10)];
    }
    std::string field() {
        static const char* fields[] = {"f", "g", "o.h", "o.i", "arr.k", "arr.v"};
        return fields[pick(6)];
    }
    std::string value() {
        switch (pick(14)) {
            case 0: return "\"" + word() + "\"";
            case 1: return std::to_string(pick(5));
            case 2: return R"({"prefix": ")" + word() + "\"}";
            case 3: return R"({"suffix": ")" + word() + "\"}";
            case 4: return R"({"equals-ignore-case": ")" + word() + "\"}";
            case 5: {
                std::string w = word() + "*" + word();
                if (pick(2) && w[0] != '*') w = "*" + w;
                return R"({"wildcard": ")" + w + "\"}";
            }
            case 6: return R"({"anything-but": [")" + word() + "\"]}";
            case 7: return R"({"numeric": [">", )" + std::to_string(pick(5)) + "]}";
            case 8: return R"({"exists": true})";
            case 9: return R"({"prefix": {"equals-ignore-case": ")" + word() + "\"}}";
            case 10: return R"({"wildcard": {"equals-ignore-case": "*)" + word() + "\"}}";
            case 11: return R"({"anything-but": {"prefix": ")" + word() + "\"}}";
            case 12: return "true";
            default: return "null";
        }
    }
    std::string leaf(const std::string& path, const std::string& values) {
        // "o.h" -> {"o": {"h": values}}
        std::string out, close;
        std::size_t start = 0;
        while (true) {
            const auto dot = path.find('.', start);
            out.append("\"").append(path, start, dot == std::string::npos ? std::string::npos : dot - start).append("\": ");
            if (dot == std::string::npos) break;
            out += "{";
            close += "}";
            start = dot + 1;
        }
        return out + values + close;
    }
    std::string pattern() {
        const int fields = 1 + pick(2);
        std::string out = "{";
        std::vector<std::string> used;
        for (int k = 0; k < fields; ++k) {
            std::string f = field();
            // Keys must not repeat at one level: keep distinct top-level keys.
            const std::string top = f.substr(0, f.find('.'));
            if (std::find(used.begin(), used.end(), top) != used.end()) continue;
            used.push_back(top);
            std::string values = "[";
            const int n = 1 + pick(2);
            for (int v = 0; v < n; ++v) values += (v ? ", " : "") + value();
            values += "]";
            if (pick(8) == 0) values = R"([{"exists": false}])";
            out += (out.size() > 1 ? ", " : "") + leaf(f, values);
        }
        if (pick(6) == 0) out += R"(, "$or": [{"f": ["a"]}, {"g": [{"prefix": "b"}]}])";
        return out + "}";
    }
    std::string scalar() {
        switch (pick(5)) {
            case 0: return std::to_string(pick(5));
            case 1: return "true";
            case 2: return "null";
            default: return "\"" + word() + "\"";
        }
    }
    std::string event() {
        std::string out = "{";
        auto add = [&](const std::string& member) { out += (out.size() > 1 ? ", " : "") + member; };
        if (pick(4)) add("\"f\": " + scalar());
        if (pick(4)) add("\"g\": " + (pick(3) ? scalar() : "[" + scalar() + ", " + scalar() + "]"));
        if (pick(3)) add(R"("o": {"h": )" + scalar() + R"(, "i": )" + scalar() + "}");
        if (pick(3)) {
            std::string arr = "[";
            const int n = pick(4);
            for (int k = 0; k < n; ++k) arr += std::string(k ? ", " : "") + R"({"k": )" + scalar() + R"(, "v": )" + scalar() + "}";
            add("\"arr\": " + arr + "]");
        }
        return out + "}";
    }
};

}  // namespace

TEST_CASE("adding and removing rules at random gives the same answers as a rebuild from scratch") {
    generator gen{std::mt19937(12345)};
    for (int round = 0; round < random_rounds(20); ++round) {
        std::map<sp::rule_id, sp::compiled_pattern> live;
        std::map<sp::rule_id, std::string> texts;
        sp::matcher incremental;
        for (int step = 0; step < 150; ++step) {
            const auto id = static_cast<sp::rule_id>(gen.pick(60));
            if (gen.pick(3) == 0) {
                incremental = incremental.without(id);
                live.erase(id);
                texts.erase(id);
            } else {
                const std::string text = gen.pattern();
                auto compiled = sp::compile(text);
                incremental = incremental.with(id, compiled);
                live[id] = compiled;
                texts[id] = text;
            }
        }
        sp::matcher rebuilt;
        for (const auto& entry : live) rebuilt = rebuilt.with(entry.first, entry.second);
        REQUIRE(incremental.size() == live.size());
        for (int e = 0; e < 60; ++e) {
            const std::string event = gen.event();
            const auto got = run(incremental, event);
            const auto want = run(rebuilt, event);
            INFO("event: " << event);
            CHECK(got == want);
            // And each rule on its own agrees with the combined automaton.
            std::vector<sp::rule_id> alone;
            for (const auto& entry : live)
                if (!run(sp::matcher{}.with(entry.first, entry.second), event).empty()) alone.push_back(entry.first);
            CHECK(got == alone);
        }
        // Removing everything leaves an empty automaton.
        for (const auto& entry : live) incremental = incremental.without(entry.first);
        CHECK(incremental.size() == 0);
        CHECK(incremental.root().child_count == 0);
    }
}

TEST_CASE("skipping long members: strings with brackets, escapes, every block alignment") {
    const auto m = sp::matcher{}.with(1, sp::compile(R"({"k": ["x"], "o": {"a": ["y"]}})"));
    for (int pad = 0; pad < 140; ++pad) {
        const std::string filler(static_cast<std::size_t>(pad), ' ');
        for (const char* tricky : {R"("]]}}")", R"("\"]}\\")", R"("{[\\\"\\")", R"([{"q": "}"}, "]", [[["{"]]]])"}) {
            const std::string event = std::string(R"({"skip": {)") + filler + R"("s": )" + tricky + R"(, "n": [1, 2, {"z": "]"}], "t": ")" +
                                      filler + R"("}, "o": {"a": "y", "rest": [)" + filler + tricky + R"(]}, "k": "x"})";
            INFO(event);
            CHECK(run(m, event) == std::vector<sp::rule_id>{1});
        }
    }
}

TEST_CASE("malformed and truncated JSON never reads out of bounds") {
    // Run under AddressSanitizer in CI: every prefix and many byte flips of valid events.
    sp::matcher m;
    m = m.with(1, sp::compile(R"({"a": {"b": ["x"]}, "n": [{"numeric": [">", 0]}]})"));
    m = m.with(2, sp::compile(R"({"arr": {"k": [{"prefix": "v"}], "s": [{"equals-ignore-case": "É"}]}})"));
    m = m.with(3, sp::compile(R"({"u": [{"wildcard": "*\\**"}]})"));
    const std::vector<std::string> events = {
        R"({"a": {"b": "x", "c": [1, {"d": "\"]}"}]}, "n": 1.5e3, "arr": [{"k": "v\u00e9", "s": "\u00c9"}, {"k": "w"}], "u": "a*b"})",
        R"({"skip": [[[[{"x": "\\\"\\"}]]]], "a": {"b": "\ud83d\ude00"}, "n": -0.0, "long": ")" + std::string(200, 'y') + R"("})",
    };
    std::mt19937 rng(7);
    sp::flat_event scratch;
    std::vector<sp::rule_id> out;
    for (const auto& e : events) {
        for (std::size_t n = 0; n <= e.size(); ++n) {
            // A heap copy of exactly n bytes (no terminating NUL), so reading past the end is caught.
            const auto bytes = std::make_unique<char[]>(n);
            std::memcpy(bytes.get(), e.data(), n);
            (void)m.match_json(std::string_view(bytes.get(), n), scratch, out);
        }
        for (int k = 0; k < 3000; ++k) {
            std::string mutated = e;
            const int flips = 1 + static_cast<int>(rng() % 3);
            for (int f = 0; f < flips; ++f)
                mutated[rng() % mutated.size()] = "\"\\{}[],:0a \xc3"[rng() % 13];
            const auto bytes = std::make_unique<char[]>(mutated.size());
            std::memcpy(bytes.get(), mutated.data(), mutated.size());
            (void)m.match_json(std::string_view(bytes.get(), mutated.size()), scratch, out);
        }
    }
    CHECK(true);
}

TEST_CASE("many numeric ranges on one field (interval tree) agree with each rule alone") {
    std::mt19937 rng(99);
    auto value = [&] { return static_cast<double>(static_cast<int>(rng() % 41) - 20) / 2; };  // -10 .. 10 by 0.5
    const char* lower[] = {">", ">="};
    const char* upper[] = {"<", "<="};
    std::vector<std::string> patterns;
    for (int i = 0; i < 300; ++i) {
        double a = value(), b = value();
        if (a > b) std::swap(a, b);
        if (a == b) b += 0.5;
        std::string range;
        switch (rng() % 4) {
            case 0: range = std::string("[\"") + lower[rng() % 2] + "\", " + std::to_string(a) + "]"; break;
            case 1: range = std::string("[\"") + upper[rng() % 2] + "\", " + std::to_string(b) + "]"; break;
            case 2: range = "[\"=\", " + std::to_string(a) + "]"; break;
            default:
                range = std::string("[\"") + lower[rng() % 2] + "\", " + std::to_string(a) + ", \"" + upper[rng() % 2] + "\", " +
                        std::to_string(b) + "]";
        }
        patterns.push_back(R"({"x": [{"numeric": )" + range + "}]}");
    }
    sp::matcher all;
    std::vector<sp::matcher> alone;
    for (std::size_t i = 0; i < patterns.size(); ++i) {
        const auto compiled = sp::compile(patterns[i]);
        all = all.with(static_cast<sp::rule_id>(i), compiled);
        alone.push_back(sp::matcher{}.with(static_cast<sp::rule_id>(i), compiled));
    }
    for (int e = 0; e < 200; ++e) {
        const double x = value() + (e % 3 == 0 ? 0.25 : 0.0);
        const std::string event = R"({"x": )" + std::to_string(x) + "}";
        std::vector<sp::rule_id> want;
        for (std::size_t i = 0; i < alone.size(); ++i)
            if (!run(alone[i], event).empty()) want.push_back(static_cast<sp::rule_id>(i));
        INFO(event);
        CHECK(run(all, event) == want);
    }
    // Removing half of them rebuilds the tree for the new snapshot.
    for (std::size_t i = 0; i < patterns.size(); i += 2) all = all.without(static_cast<sp::rule_id>(i));
    const auto got = run(all, R"({"x": 0})");
    for (const auto id : got) CHECK(id % 2 == 1);
}

TEST_CASE("numbers beyond the double range compare as infinities or zero") {
    const auto big = sp::matcher{}.with(1, sp::compile(R"({"n": [{"numeric": [">", 1e308]}]})"));
    const auto small = sp::matcher{}.with(1, sp::compile(R"({"n": [0]})"));
    CHECK(run(big, R"({"n": 1e999})") == std::vector<sp::rule_id>{1});
    CHECK(run(big, "{\"n\": 1" + std::string(400, '0') + "}") == std::vector<sp::rule_id>{1});
    CHECK(run(big, R"({"n": -1e999})").empty());
    CHECK(run(small, R"({"n": 1e-999})") == std::vector<sp::rule_id>{1});
    CHECK(run(small, "{\"n\": 0." + std::string(400, '0') + "1}") == std::vector<sp::rule_id>{1});
    CHECK(run(small, R"({"n": -0.0})") == std::vector<sp::rule_id>{1});
}

TEST_CASE("many cidr blocks in one matcher agree with each alone, and remove exactly") {
    const std::vector<std::string> blocks = {"10.0.0.0/8", "10.1.0.0/16", "10.1.2.0/24", "10.1.2.3/32", "0.0.0.0/0",
                                             "192.168.0.0/23", "2001:db8::/32", "2001:db8:1::/48", "::/0", "fe80::/10",
                                             "10.1.2.255", "172.16.0.0/12"};
    const std::vector<std::string> addresses = {"10.1.2.3", "10.1.2.4", "10.2.0.1", "192.168.1.7", "192.168.2.1", "2001:db8:1::5",
                                                "2001:db8:2::5", "fe80::1", "172.31.255.255", "10.1.2.255", "nope", "::1"};
    sp::matcher all;
    for (std::size_t i = 0; i < blocks.size(); ++i)
        all = all.with(static_cast<sp::rule_id>(i), sp::compile(R"({"ip": [{"cidr": ")" + blocks[i] + "\"}]}"));
    auto check = [&](const sp::matcher& m, const std::vector<std::size_t>& live) {
        for (const auto& a : addresses) {
            const std::string event = R"({"ip": ")" + a + "\"}";
            std::vector<sp::rule_id> want;
            for (const auto i : live)
                if (!run(sp::matcher{}.with(1, sp::compile(R"({"ip": [{"cidr": ")" + blocks[i] + "\"}]}")), event).empty())
                    want.push_back(static_cast<sp::rule_id>(i));
            INFO(event);
            CHECK(run(m, event) == want);
        }
    };
    std::vector<std::size_t> live;
    for (std::size_t i = 0; i < blocks.size(); ++i) live.push_back(i);
    check(all, live);
    std::vector<std::size_t> odd;
    for (std::size_t i = 0; i < blocks.size(); ++i) {
        if (i % 2 == 0) all = all.without(static_cast<sp::rule_id>(i));
        else odd.push_back(i);
    }
    check(all, odd);
}

TEST_CASE("EventBridge envelopes parsed from text: envelope fields and the detail") {
    // The foundation's stand-in cases, kept: they exercise parse_event's path through flatten().
    const auto e = switchyard::parse_event(
        R"({"id":"1","detail-type":"T","source":"a","time":"2026-11-29T00:00:00Z","resources":["r1","r2"],)"
        R"("detail":{"n":300,"s":"x","b":true,"z":null,"tags":["p","q"]}})");
    auto matches = [&](const char* pattern) { return run(sp::matcher{}.with(7, sp::compile(pattern)), *e) == std::vector<sp::rule_id>{7}; };
    CHECK(matches(R"({"source": ["a"]})"));
    CHECK_FALSE(matches(R"({"source": ["b"]})"));
    CHECK(matches(R"({"detail": {"n": [300]}})"));
    CHECK(matches(R"({"detail": {"n": [3e2]}})"));
    CHECK_FALSE(matches(R"({"detail": {"n": ["300"]}})"));
    CHECK(matches(R"({"detail": {"b": [true]}})"));
    CHECK(matches(R"({"detail": {"z": [null]}})"));
    CHECK_FALSE(matches(R"({"detail": {"missing": [null]}})"));
    CHECK(matches(R"({"detail": {"tags": ["q"]}})"));
    CHECK(matches(R"({"resources": ["r2"]})"));
    CHECK(matches(R"({"source": ["a"], "detail": {"s": ["x", "y"]}})"));
    CHECK_FALSE(matches(R"({"source": ["a"], "detail": {"s": ["y"]}})"));
    CHECK(matches(R"({"detail-type": [{"prefix": "T"}], "version": ["0"], "detail": {"tags": [{"anything-but": "p"}]}})"));
}
