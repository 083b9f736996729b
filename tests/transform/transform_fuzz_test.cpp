// A doctest-driven random test (fixed seeds, bounded size) of parse_event and the input
// transformer: random and malformed events, templates and paths. Every call must either throw
// switchyard::error or succeed, and every JSON output must parse. Runs under ASan/UBSan in CI.
#include <doctest/doctest.h>

#include <cstdint>
#include <exception>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <switchyard/detail/json_path.hpp>
#include <switchyard/transform.hpp>

namespace {

using json = nlohmann::json;

class fuzzer {
public:
    explicit fuzzer(std::uint64_t seed) : gen_(seed) {}

    std::size_t below(std::size_t n) { return std::uniform_int_distribution<std::size_t>(0, n - 1)(gen_); }
    bool chance(double p) { return std::bernoulli_distribution(p)(gen_); }
    template <class T> const T& pick(const std::vector<T>& from) { return from[below(from.size())]; }

    // Text with the characters that break naive JSON handling, and some byte sequences that are
    // not UTF-8 (which only typed events and rule names can carry into a render).
    std::string text(bool allow_invalid_utf8) {
        static const std::vector<std::string> pieces{"a", "Z", "0", " ", "\"", "\\", "\n", "\t", "\x01", "<", ">",
                                                     "<a>", "{", "}", "[", "]", ":", ",", "\xc3\xa9", "\xe2\x82\xac",
                                                     "\xf0\x9f\x9a\x80", "\\u0041", "/", "'", "null"};
        static const std::vector<std::string> invalid{"\xff", "\xc3", "\xed\xa0\x80", "\xc0\xaf", "\xf4\x90\x80\x80"};
        std::string out;
        const std::size_t n = below(8);
        for (std::size_t i = 0; i < n; ++i) out += allow_invalid_utf8 && chance(0.1) ? pick(invalid) : pick(pieces);
        return out;
    }

    const std::string& key() {
        static const std::vector<std::string> keys{"a", "b", "k-1", "k_2", "items", "x/y", "detail", "\xc3\xa9"};
        return pick(keys);
    }

    json value(int depth) {
        switch (depth <= 0 ? below(6) : below(8)) {
            case 0: return nullptr;
            case 1: return chance(0.5);
            case 2: return static_cast<std::int64_t>(below(2000)) - 1000;
            case 3: return static_cast<double>(below(100000)) / 7.0;
            case 4:
            case 5: return text(false);
            case 6: {
                json a = json::array();
                for (std::size_t i = below(4); i > 0; --i) a.push_back(value(depth - 1));
                return a;
            }
            default: {
                json o = json::object();
                for (std::size_t i = below(5); i > 0; --i) o[key()] = value(depth - 1);
                return o;
            }
        }
    }

    json detail() {
        json o = json::object();
        for (std::size_t i = below(6); i > 0; --i) o[key()] = value(3);
        return o;
    }

    std::string event_text() {
        json e = {{"version", "0"}, {"id", text(false)},     {"detail-type", text(false)}, {"source", text(false)},
                  {"account", "1"}, {"time", "2026-11-29T20:00:00Z"}, {"region", "eu"}, {"resources", {text(false)}},
                  {"detail", detail()}};
        if (chance(0.1)) e.erase(pick(std::vector<std::string>{"id", "detail-type", "source", "time", "detail"}));
        if (chance(0.1)) e[pick(std::vector<std::string>{"id", "detail", "resources", "replay-name"})] = value(1);
        return e.dump(chance(0.5) ? -1 : 2);
    }

    // Random byte-level damage: deletions, insertions, swaps, truncation.
    std::string mutate(std::string s) {
        static const std::string alphabet = "{}[]<>\"\\:,.$*0123456789abcdeflnrstu- \n\t\x01\xff\xc3";
        for (std::size_t n = 1 + below(4); n > 0; --n) {
            if (s.empty()) {
                s += alphabet[below(alphabet.size())];
                continue;
            }
            const std::size_t at = below(s.size());
            switch (below(4)) {
                case 0: s.erase(at, 1 + below(3)); break;
                case 1: s.insert(at, 1, alphabet[below(alphabet.size())]); break;
                case 2: s[at] = alphabet[below(alphabet.size())]; break;
                default: s.resize(at); break;
            }
        }
        return s;
    }

    std::string path() {
        if (chance(0.05)) return mutate("$.detail." + key());
        std::string p = chance(0.9) ? "$.detail" : "$";
        for (std::size_t n = below(4); n > 0; --n) {
            switch (below(4)) {
                case 0: p += fmt::format("[{}]", below(3)); break;
                case 1: p += chance(0.5) ? ".*" : "[*]"; break;
                default: p += "." + key(); break;
            }
        }
        return p;
    }

    std::string placeholder(const std::vector<std::string>& names) {
        static const std::vector<std::string> reserved{"aws.events.rule-name", "aws.events.event", "aws.events.event.json",
                                                       "aws.events.event.ingestion-time", "undefined"};
        return "<" + (chance(0.8) && !names.empty() ? pick(names) : pick(reserved)) + ">";
    }

    // Mostly well-formed JSON templates with placeholders in value and string positions.
    std::string json_template(const std::vector<std::string>& names, int depth) {
        switch (depth <= 0 ? below(4) : below(6)) {
            case 0: return placeholder(names);
            case 1: return value(0).dump();
            case 2: {
                std::string s = "\"";
                for (std::size_t n = below(4); n > 0; --n) {
                    if (chance(0.5)) s += placeholder(names);
                    else {
                        const std::string quoted = json(text(false)).dump();
                        s += quoted.substr(1, quoted.size() - 2);
                    }
                }
                return s + "\"";
            }
            case 3: return chance(0.5) ? "true" : "-0.5e3";
            case 4: {
                std::string s = "[";
                for (std::size_t n = below(4); n > 0; --n) s += json_template(names, depth - 1) + (n > 1 ? ", " : "");
                return s + "]";
            }
            default: {
                std::string s = "{";
                for (std::size_t n = below(4); n > 0; --n)
                    s += json(key()).dump() + ": " + json_template(names, depth - 1) + (n > 1 ? ",\n" : "");
                return s + "}";
            }
        }
    }

    switchyard::input_spec spec(std::vector<std::string>& names) {
        switch (below(10)) {
            case 0: return switchyard::whole_event{};
            case 1: return switchyard::constant_input{chance(0.5) ? value(2).dump() : mutate(value(2).dump())};
            case 2: return switchyard::input_path{path()};
            default: {
                switchyard::input_transformer t;
                static const std::vector<std::string> pool{"a", "b", "c-1", "d_2", "e.f", "aws.x", "bad name"};
                for (std::size_t n = below(5); n > 0; --n) {
                    const auto& name = pick(pool);
                    t.input_paths[name] = path();
                    names.push_back(name);
                }
                if (chance(0.2)) {
                    t.input_template = text(true) + placeholder(names) + text(false);  // plain text, mostly
                } else {
                    t.input_template = json_template(names, 3);
                    if (chance(0.3)) t.input_template = mutate(t.input_template);
                }
                return t;
            }
        }
    }

private:
    std::mt19937_64 gen_;
};

struct tally {
    int compiled = 0, rejected = 0, rendered = 0, events = 0, bad_events = 0;
};

// Renders every way it can and checks the outputs; returns false (after reporting) on a
// non-switchyard exception.
void exercise(fuzzer& f, const switchyard::compiled_input& input, const switchyard::any_event& e, bool json_event,
              tally& t) {
    const std::string rule = f.chance(0.9) ? "rule-1" : f.text(true);
    try {
        const std::string out = input.render(e, rule);
        ++t.rendered;
        if (input.is_json()) {
            INFO("output: " << out);
            CHECK(json::accept(out));
        }
    } catch (const switchyard::permanent_error& ex) {
        // Only a typed event (whose strings need not be UTF-8) may fail to render.
        INFO(ex.what());
        CHECK_FALSE(json_event);
    }
}

}  // namespace

TEST_CASE("fuzz: parse_event accepts or rejects cleanly") {
    fuzzer f(0x5eed'0001);
    tally t;
    for (int i = 0; i < 3000; ++i) {
        std::string text = f.event_text();
        if (f.chance(0.5)) text = f.mutate(std::move(text));
        try {
            const auto e = switchyard::parse_event(text);
            ++t.events;
            CHECK(json::accept(e->json()));
            CHECK(json::parse(e->detail_json()).is_object());
        } catch (const switchyard::error&) {
            ++t.bad_events;
        } catch (const std::exception& ex) {
            FAIL_CHECK("parse_event threw a non-switchyard exception: " << ex.what() << " for " << text);
        }
    }
    MESSAGE("events parsed: " << t.events << ", rejected: " << t.bad_events);
    CHECK(t.events > 500);
    CHECK(t.bad_events > 500);
}

TEST_CASE("fuzz: random specifications compile or are rejected, and render valid JSON") {
    fuzzer f(0x5eed'0002);
    tally t;
    std::vector<switchyard::event_ptr> events;
    std::vector<bool> json_events;
    while (events.size() < 40) {
        try {
            events.push_back(switchyard::parse_event(f.event_text()));
            json_events.push_back(true);
        } catch (const switchyard::error&) {
        }
    }
    // Typed events whose detail holds arbitrary bytes, UTF-8 or not.
    for (int i = 0; i < 10; ++i) {
        switchyard::event<std::map<std::string, std::string>> typed;
        typed.id = f.text(false);
        typed.source = f.text(false);
        typed.detail_type = f.text(false);
        typed.time = "2026-11-29T20:00:00Z";
        typed.detail = {{"a", f.text(true)}, {"b", f.text(true)}};
        events.push_back(switchyard::make_event(typed));
        json_events.push_back(false);
    }

    for (int i = 0; i < 3000; ++i) {
        std::vector<std::string> names;
        const auto spec = f.spec(names);
        std::optional<switchyard::compiled_input> input;
        try {
            input = switchyard::compiled_input::compile(spec);
            ++t.compiled;
        } catch (const switchyard::error&) {
            ++t.rejected;
            continue;
        } catch (const std::exception& ex) {
            FAIL_CHECK("compile threw a non-switchyard exception: " << ex.what());
            continue;
        }
        for (int k = 0; k < 3; ++k) {
            const std::size_t which = f.below(events.size());
            try {
                exercise(f, *input, *events[which], json_events[which], t);
            } catch (const std::exception& ex) {
                FAIL_CHECK("render threw a non-switchyard exception: " << ex.what());
            }
        }
    }
    MESSAGE("compiled: " << t.compiled << ", rejected: " << t.rejected << ", rendered: " << t.rendered);
    CHECK(t.compiled > 1000);
    CHECK(t.rejected > 100);
}

TEST_CASE("fuzz: templates built around one event's real values") {
    // Every value of a richer event, extracted by every path that reaches it, in every position.
    fuzzer f(0x5eed'0003);
    for (int round = 0; round < 200; ++round) {
        json detail = f.detail();
        detail["items"] = json::array({f.value(2), f.value(2)});
        const json event = {{"id", "1"}, {"detail-type", "t"}, {"source", "s"}, {"time", "2026-11-29T20:00:00Z"},
                            {"detail", detail}};
        const auto e = switchyard::parse_event(event.dump());
        switchyard::input_transformer t;
        for (int v = 0; v < 6; ++v) t.input_paths[fmt::format("v{}", v)] = f.path();
        t.input_template = R"({"x": [<v0>, <v1>, "<v2>|<v3>"], "y": "<v4>", "z": <v5>})";
        std::optional<switchyard::compiled_input> input;
        try {
            input = switchyard::compiled_input::compile(t);
        } catch (const switchyard::error&) {
            continue;  // a damaged path
        }
        const auto out = input->render(*e, "r");
        INFO(out);
        REQUIRE(json::accept(out));
        const auto parsed = json::parse(out);
        CHECK(parsed["x"].size() == 3);
    }
}

TEST_CASE("fuzz: a definite path read from the event's text gives what a DOM of it gives") {
    // Transformers whose paths each name one value read them from the text in place; the
    // reference here is the DOM the renderer built before (nlohmann's ordered_json and
    // json_path::find). Details are written compact or indented. (A member named twice cannot
    // happen: events with one are refused when they are made.)
    using ordered = nlohmann::ordered_json;
    fuzzer f(0x5eed'0004);
    int compared = 0;
    for (int round = 0; round < 3000; ++round) {
        const json detail = f.detail();
        const std::string detail_text = detail.dump(f.chance(0.5) ? -1 : 2);
        switchyard::envelope meta;
        meta.id = "1";
        meta.detail_type = "t";
        meta.source = "s";
        const auto e = switchyard::make_json_event(std::move(meta), detail_text);
        const std::string p = f.path();
        if (p.find('*') != std::string::npos) continue;
        std::optional<switchyard::detail::json_path> path;
        try {
            path = switchyard::detail::json_path::parse(p);
        } catch (const switchyard::error&) {
            continue;  // a damaged path
        }
        const bool under = path->under_detail();
        const ordered dom = ordered::parse(under ? e->detail_json() : e->json());
        const ordered* found = path->find(dom, under ? 1 : 0);
        const auto dump = [](const ordered& v) { return v.dump(-1, ' ', false, ordered::error_handler_t::replace); };
        const std::string as_json = found ? dump(*found) : "null";
        const std::string as_text = !found ? "" : found->is_string() ? found->get<std::string>() : dump(*found);

        INFO("detail: " << detail_text << "\npath: " << p);
        // An input path of the whole event or the whole detail sends its text as it is.
        const auto& steps = path->steps();
        const std::string whole = steps.empty() ? e->json() : steps.size() == 1 && p == "$.detail" ? e->detail_json() : as_json;
        CHECK(switchyard::compiled_input::compile(switchyard::input_path{p}).render(*e, "r") == whole);
        CHECK(switchyard::compiled_input::compile(switchyard::input_transformer{{{"v", p}}, R"({"v": <v>})"}).render(*e, "r") ==
              "{\"v\": " + as_json + "}");
        CHECK(switchyard::compiled_input::compile(switchyard::input_transformer{{{"v", p}}, "x<v>y"}).render(*e, "r") ==
              "x" + as_text + "y");
        ++compared;
    }
    MESSAGE("paths compared: " << compared);
    CHECK(compared > 1000);
}
