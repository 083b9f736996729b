// Pattern-matching throughput on the benchmark data (benchmarks/data): every rule set over the city-lots
// sample cycled to 213,068 events (one thread), the 5 -> 10,000 exact-rule scaling series,
// 1,000 single-wildcard rules, and heap bytes per rule. The `adversarial` family times one match
// of events built to be slow against a normal event of the same size and the same rules. The data directory is
// $SWITCHYARD_BENCHMARK_DATA, else the one configured at build time (benchmarks/data).
// The `json_check` family times check_json_object, the check every JSON detail passes on the
// publish path before it reaches the matcher: the hand-written validator (`new`) against the
// nlohmann-SAX check it replaced (`old`, fuzz/json_check_oracle.hpp), per detail.
#include <benchmark/benchmark.h>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <switchyard/detail/json_object_check.hpp>
#include <switchyard/event.hpp>
#include <switchyard/pattern/detail/casefold.hpp>
#include <switchyard/pattern/flatten.hpp>
#include <switchyard/pattern/matcher.hpp>
#include <switchyard/pattern/pattern.hpp>

#include "../../fuzz/json_check_oracle.hpp"

namespace {

namespace sp = switchyard::pattern;

constexpr std::size_t events_per_pass = 213068;

std::string data_dir() {
    if (const char* env = std::getenv("SWITCHYARD_BENCHMARK_DATA")) return env;
    return SWITCHYARD_BENCHMARK_DATA;
}

std::vector<std::string> lines(const std::string& name) {
    std::ifstream in(data_dir() + "/" + name);
    if (!in) throw std::runtime_error("cannot read " + data_dir() + "/" + name + " (set SWITCHYARD_BENCHMARK_DATA)");
    std::vector<std::string> out;
    std::string line;
    while (std::getline(in, line))
        if (!line.empty()) out.push_back(line);
    return out;
}

const std::vector<std::string>& events(const std::string& file) {
    static std::map<std::string, std::vector<std::string>> cache;
    auto& e = cache[file];
    if (e.empty()) e = lines(file);
    return e;
}

sp::matcher build(const std::vector<std::string>& rules, std::size_t count) {
    sp::matcher m;
    for (std::size_t i = 0; i < count && i < rules.size(); ++i) m = m.with(static_cast<sp::rule_id>(i), sp::compile(rules[i]));
    return m;
}

// One pass = events_per_pass events, cycling through the file.
void run_pass(benchmark::State& state, const sp::matcher& m, const std::vector<std::string>& evs) {
    sp::flat_event scratch;
    std::vector<sp::rule_id> out;
    std::size_t matches = 0;
    for (auto _ : state) {
        matches = 0;
        std::size_t k = 0;
        for (std::size_t i = 0; i < events_per_pass; ++i) {
            out.clear();
            m.match_json(evs[k], scratch, out);
            matches += out.size();
            if (++k == evs.size()) k = 0;
        }
        benchmark::DoNotOptimize(matches);
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * events_per_pass));
    state.counters["matches_per_pass"] = static_cast<double>(matches);
}

void rule_set(benchmark::State& state, const std::string& set, const std::string& event_file) {
    const auto rules = lines("rulesets/" + set + ".jsonl");
    const auto m = build(rules, rules.size());
    run_pass(state, m, events(event_file));
}

void exact_scaling(benchmark::State& state) {
    const auto rules = lines("rulesets/EXACT_10000.jsonl");
    const auto m = build(rules, static_cast<std::size_t>(state.range(0)));
    run_pass(state, m, events("citylots-sample.jsonl"));
}

// N numeric range rules on one field, each so narrow that about one event in ten matches any
// of them whatever N is: the cost should not grow with N (interval tree).
void numeric_scaling(benchmark::State& state) {
    const auto count = static_cast<std::size_t>(state.range(0));
    const double low = -122.52, span = 0.17, width = span / static_cast<double>(count * 10);
    sp::matcher m;
    for (std::size_t i = 0; i < count; ++i) {
        const double a = low + span * static_cast<double>((i * 7919) % count) / static_cast<double>(count);
        char pattern[200];
        std::snprintf(pattern, sizeof pattern,
                      R"({"geometry": {"firstCoordinates": {"x": [{"numeric": [">=", %.17g, "<", %.17g]}]}}})", a, a + width);
        m = m.with(static_cast<sp::rule_id>(i), sp::compile(pattern));
    }
    run_pass(state, m, events("citylots2-sample.jsonl"));
}

// The bus's path: EventBridge events whose detail arrived as JSON text (put_events). The
// envelope comes from the event's fields, the detail's text goes through the scanner.
void bus_path(benchmark::State& state, const std::string& set) {
    const auto rules = lines("rulesets/" + set + ".jsonl");
    sp::matcher m;
    for (std::size_t i = 0; i < rules.size(); ++i)
        m = m.with(static_cast<sp::rule_id>(i), sp::compile(R"({"source": ["city.lots"], "detail": )" + rules[i] + "}"));
    std::vector<switchyard::event_ptr> evs;
    for (const auto& line : events("citylots-sample.jsonl")) {
        switchyard::envelope meta;
        meta.id = "0";
        meta.source = "city.lots";
        meta.detail_type = "lot";
        meta.time = "2024-01-01T00:00:00Z";
        evs.push_back(switchyard::make_json_event(meta, line));
    }
    sp::flat_event scratch;
    std::vector<sp::rule_id> out;
    std::size_t matches = 0;
    for (auto _ : state) {
        matches = 0;
        std::size_t k = 0;
        for (std::size_t i = 0; i < events_per_pass; ++i) {
            out.clear();
            switchyard::match(m, *evs[k], scratch, out);
            matches += out.size();
            if (++k == evs.size()) k = 0;
        }
        benchmark::DoNotOptimize(matches);
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * events_per_pass));
    state.counters["matches_per_pass"] = static_cast<double>(matches);
}

// Heap bytes the matcher holds per rule (compiled patterns included), measured by malloc.
void memory_per_rule(benchmark::State& state) {
    const auto rules = lines("rulesets/EXACT_10000.jsonl");
    const auto count = static_cast<std::size_t>(state.range(0));
    double per_rule = 0;
    for (auto _ : state) {
#if defined(__GLIBC__)
        malloc_trim(0);
        const auto before = mallinfo2().uordblks;
        auto m = std::make_unique<sp::matcher>(build(rules, count));
        const auto after = mallinfo2().uordblks;
        per_rule = static_cast<double>(after - before) / static_cast<double>(count);
        benchmark::DoNotOptimize(m);
#else
        state.SkipWithError("bytes per rule are measured with glibc's mallinfo2");
        break;
#endif
    }
    state.counters["bytes_per_rule"] = per_rule;
}

// Adding rules one at a time (each `with` derives a new immutable snapshot).
void add_rules_one_by_one(benchmark::State& state) {
    const auto rules = lines("rulesets/EXACT_10000.jsonl");
    std::vector<sp::compiled_pattern> compiled;
    for (const auto& r : rules) compiled.push_back(sp::compile(r));
    for (auto _ : state) {
        sp::matcher m;
        for (std::size_t i = 0; i < compiled.size(); ++i) m = m.with(static_cast<sp::rule_id>(i), compiled[i]);
        benchmark::DoNotOptimize(m);
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * compiled.size()));
}


// --- adversarial: worst cases against a normal event of the same size ------------------------
//
// Each case is one rule set and two events of (about) the same size: `worst`, built to make the
// engine slow (each was minutes, seconds or quadratic before it was fixed), and `normal`, an
// ordinary event that the same rules read as much of (the same fields hit, matching or not).
// The ratio worst / normal is the figure of merit (goal: at most 10).

struct adversarial_case {
    std::vector<std::string> rules;
    std::string worst, normal;
};

std::string repeat_join(std::size_t n, const std::function<std::string(std::size_t)>& item) {
    std::string out;
    for (std::size_t i = 0; i < n; ++i) {
        if (i) out += ',';
        out += item(i);
    }
    return out;
}

// Pads `json` (an object ending in '}') with an unread member so it is `size` bytes long.
std::string pad_to(std::string json, std::size_t size) {
    if (json.size() + 16 > size) return json;
    json.pop_back();
    json += R"(, "zpad": ")" + std::string(size - json.size() - 14, 'p') + "\"}";
    return json;
}

// Item 1: fields in several objects inside one array element; each element misses one of them.
adversarial_case five_objects(std::size_t elements) {
    adversarial_case c;
    c.rules = {R"({"arr": {"p": {"v": [1]}, "q": {"v": [1]}, "r": {"v": [1]}, "s": {"v": [1]}, "t": {"v": [1]}}})"};
    const char* names[] = {"p", "q", "r", "s", "t"};
    auto element = [&](std::size_t i, bool complete) {
        std::string e = "{";
        bool first = true;
        for (std::size_t k = 0; k < 5; ++k) {
            if (!complete && k == i % 5) continue;
            if (!first) e += ',';
            first = false;
            e += std::string("\"") + names[k] + R"(":{"v":1})";
        }
        return e + "}";
    };
    c.worst = R"({"arr":[)" + repeat_join(elements, [&](std::size_t i) { return element(i, false); }) + "]}";
    c.normal = pad_to(R"({"arr":[)" + repeat_join(elements * 4 / 5, [&](std::size_t i) { return element(i, true); }) + "]}",
                      c.worst.size());
    return c;
}

// Item 1, the depth-first search's worst shape: one element holds several arrays whose objects
// each supply one condition, and the last condition is only in another element. The search tried
// every combination of the inner elements (n^3 here) before giving up on the element.
adversarial_case inner_arrays(std::size_t n) {
    adversarial_case c;
    c.rules = {R"({"arr": {"a": {"x": [1]}, "b": {"y": [1]}, "c": {"z": [1]}, "last": [1]}})"};
    auto inner = [&](const char* key) { return repeat_join(n, [&](std::size_t) { return std::string(R"({")") + key + R"(":1})"; }); };
    c.worst = R"({"arr":[{"a":[)" + inner("x") + R"(],"b":[)" + inner("y") + R"(],"c":[)" + inner("z") + R"(]},{"last":1}]})";
    c.normal = pad_to(R"({"arr":[{"a":[)" + inner("x") + R"(],"b":[)" + inner("y") + R"(],"c":[)" + inner("z") + R"(],"last":1}]})",
                      c.worst.size());
    return c;
}

// Item 2: an ordinary rule and items that never pair up (sku only, qty only, alternately).
adversarial_case unpaired_items(std::size_t bytes) {
    adversarial_case c;
    c.rules = {R"({"detail": {"items": {"sku": ["A"], "qty": [2]}}})"};
    const std::size_t n = bytes / 24;
    c.worst = R"({"detail":{"items":[)" +
              repeat_join(n, [](std::size_t i) { return i % 2 ? std::string(R"({"qty":2,"n":"xxxx"})") : std::string(R"({"sku":"A","n":"yy"})"); }) +
              "]}}";
    c.normal = pad_to(R"({"detail":{"items":[)" + repeat_join(n / 2, [](std::size_t) { return std::string(R"({"sku":"A","qty":2,"n":"xxxxxxxxxxxxxxxxxxxx"})"); }) +
                          "]}}",
                      c.worst.size());
    return c;
}

// Item 3: $or with 1,024 alternatives over one array; every alternative sees all its fields but
// never in one element.
adversarial_case or_over_arrays(std::size_t items) {
    adversarial_case c;
    std::string rule = R"({"$or": [)";
    for (int i = 0; i < 1024; ++i) {
        if (i) rule += ',';
        rule += R"({"items": {"a": [1], "b": [1], "c": [)" + std::to_string(i) + "]}}";
    }
    c.rules = {rule + "]}"};
    c.worst = R"({"items":[)" + repeat_join(items, [](std::size_t i) {
                  return std::string(i % 2 ? R"({"b":1,"c":)" : R"({"a":1,"c":)") + std::to_string(i % 1024) + "}";
              }) + "]}";
    c.normal = pad_to(R"({"items":[)" + repeat_join(items * 2 / 3, [](std::size_t i) {
                          return R"({"a":1,"b":1,"c":)" + std::to_string(i % 1024) + "}";
                      }) + "]}",
                      c.worst.size());
    return c;
}

std::string utf8_of(std::uint32_t cp) {
    std::string s;
    sp::detail::append_utf8(s, cp);
    return s;
}

// Item 4: ([^<900 non-ASCII characters>]*){1000} on a 1 KiB value. The normal event holds a
// 1 KiB value of ordinary text for the same rule (a regexp's cost is the rule's, not the
// value's): the figure here is the absolute time, 2.26 s per match before.
adversarial_case regexp_class() {
    adversarial_case c;
    std::string cls;
    for (std::uint32_t cp = 0x400; cp < 0x400 + 2 * 900; cp += 2) cls += utf8_of(cp);
    c.rules = {R"({"a": [{"regexp": "([^)" + cls + R"(]*){1000}"}]})"};
    std::string value;
    while (value.size() < 1024) value += utf8_of(0x401 + 2 * (value.size() % 700));  // near misses: between the ranges
    c.worst = R"({"a":")" + value + "\"}";
    c.normal = R"({"a":")" + std::string(value.size(), 'x') + "\"}";
    return c;
}

// Found while hunting: a wildcard segment that almost matches everywhere ("aaa...ab" in "aaaa").
adversarial_case wildcard_near_miss(std::size_t bytes) {
    adversarial_case c;
    c.rules = {R"({"a": [{"wildcard": "x*)" + std::string(300, 'a') + R"(b*y"}]})"};
    c.worst = R"({"a":"x)" + std::string(bytes, 'a') + R"(y"})";
    std::string text;
    for (std::size_t i = 0; text.size() < bytes; ++i) text += "lorem ipsum dolor sit amet "[i % 27];
    c.normal = R"({"a":"x)" + text + R"(y"})";
    return c;
}

// Item 9's price: every member of a big object is a duplicate of the one member a rule reads.
adversarial_case duplicate_members(std::size_t bytes) {
    adversarial_case c;
    c.rules = {R"({"detail": {"amount": [{"numeric": [">", 100]}]}})"};
    const std::size_t n = bytes / 16;
    c.worst = R"({"detail":{)" + repeat_join(n, [](std::size_t i) { return R"("amount":)" + std::to_string(100000 + i % 1000); }) + "}}";
    c.normal = R"({"detail":{)" + repeat_join(n, [](std::size_t i) { return R"("amo)" + std::to_string(100000 + i) + R"(":1)"; }) +
               R"(,"amount":5000})" + "}";
    return c;
}

// Many members read in one object (the duplicate check's Bloom filter saturates): 1,000 rules
// on 1,000 keys, one event holding them all; normal: the same keys each once in 1,000 objects.
adversarial_case many_members() {
    adversarial_case c;
    for (int i = 0; i < 1000; ++i) c.rules.push_back(R"({"d": {"k)" + std::to_string(i) + R"(": [1]}})");
    c.worst = R"({"d":{)" + repeat_join(1000, [](std::size_t i) { return R"("k)" + std::to_string(i) + R"(":1)"; }) + "}}";
    c.normal = R"({"d":[)" + repeat_join(1000, [](std::size_t i) { return R"({"k)" + std::to_string(i) + R"(":1})"; }) + "]}";
    return c;
}

// Nesting at the scanner's limit against a flat event of the same size.
adversarial_case deep_nesting() {
    adversarial_case c;
    c.rules = {R"({"a": {"b": [1]}})"};
    std::string open, close;
    for (int i = 0; i < 250; ++i) {
        open += R"({"a":[)";
        close += "]}";
    }
    c.worst = R"({"a":[)" + open + R"({"b":1})" + close + "]}";
    c.normal = pad_to(R"({"a":[{"b":1}]})", c.worst.size());
    return c;
}

void adversarial(benchmark::State& state, const std::function<adversarial_case()>& make, bool worst) {
    const adversarial_case c = make();
    sp::matcher m;
    for (std::size_t i = 0; i < c.rules.size(); ++i) m = m.with(static_cast<sp::rule_id>(i), sp::compile(c.rules[i]));
    const std::string& event = worst ? c.worst : c.normal;
    sp::flat_event scratch;
    std::vector<sp::rule_id> out;
    for (auto _ : state) {
        out.clear();
        if (!m.match_json(event, scratch, out)) {
            state.SkipWithError(scratch.error_message().c_str());
            break;
        }
        benchmark::DoNotOptimize(out.data());
    }
    state.counters["bytes"] = static_cast<double>(event.size());
    state.counters["matches"] = static_cast<double>(out.size());
    state.counters["steps"] = static_cast<double>(scratch.state.consistency_steps);
}

void register_adversarial() {
    const std::vector<std::pair<std::string, std::function<adversarial_case()>>> cases = {
        {"inner_arrays_660B", [] { return inner_arrays(25); }},
        {"inner_arrays_1MiB", [] { return inner_arrays(40000); }},
        {"five_objects_660B", [] { return five_objects(10); }},
        {"five_objects_1MiB", [] { return five_objects(17000); }},
        {"unpaired_items_1.2MB", [] { return unpaired_items(1200000); }},
        {"or_1024_over_array_867B", [] { return or_over_arrays(60); }},
        {"or_1024_over_array_8KB", [] { return or_over_arrays(600); }},
        {"or_1024_over_array_1MiB", [] { return or_over_arrays(75000); }},
        {"regexp_900_char_class_x1000_1KiB", [] { return regexp_class(); }},
        {"wildcard_near_miss_1MiB", [] { return wildcard_near_miss(1 << 20); }},
        {"duplicate_members_1MiB", [] { return duplicate_members(1 << 20); }},
        {"many_members_read", [] { return many_members(); }},
        {"nesting_500", [] { return deep_nesting(); }},
    };
    for (const auto& [name, make] : cases)
        for (const bool worst : {true, false})
            benchmark::RegisterBenchmark(("adversarial/" + name + (worst ? "/worst" : "/normal")).c_str(), adversarial, make, worst)
                ->Unit(benchmark::kMicrosecond)
                ->MinTime(0.2);
}

// check_json_object on one detail per iteration, cycling through `details`.
void json_check(benchmark::State& state, const std::vector<std::string>& details, bool old) {
    for (const auto& d : details)
        if (switchyard::detail::check_json_object(d) || switchyard_oracle::oracle_check_json_object(d))
            throw std::runtime_error("json_check: a detail is refused: " + d.substr(0, 80));
    std::size_t k = 0, bytes = 0;
    for (auto _ : state) {
        const auto& d = details[k];
        if (++k == details.size()) k = 0;
        bytes += d.size();
        auto problem = old ? switchyard_oracle::oracle_check_json_object(d) : switchyard::detail::check_json_object(d);
        benchmark::DoNotOptimize(problem);
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(bytes));
}

void register_json_check() {
    std::string wide = "{";
    for (int i = 0; i < 40; ++i) wide += "\"field" + std::to_string(i) + "\":" + std::to_string(i * 7) + (i < 39 ? "," : "}");
    const std::vector<std::pair<std::string, std::vector<std::string>>> sets = {
        {"small", {R"({"transactionId":"tx-1","customerId":"c-42","total":125.5})"}},
        {"order",
         {R"({"orderId":"ord-9f8e7d6c","customer":{"id":"c-42","name":"Zoë Ångström","tier":"gold"},"items":[{"sku":"A-1",)"
          R"("qty":2,"price":19.99},{"sku":"B-22","qty":1,"price":5.5,"tags":["gift","fragile"]}],"total":45.48,)"
          R"("currency":"EUR","paid":true,"coupon":null,"note":"leave at the door\nring twice \u2764",)"
          R"("placedAt":"2026-12-01T15:00:00Z","weightKg":1.25e0})"}},
        {"wide_40_members", {wide}},
        {"citylots", events("citylots-sample.jsonl")},
        {"citylots2", events("citylots2-sample.jsonl")},
    };
    for (const auto& [name, details] : sets)
        for (const bool old : {true, false})
            benchmark::RegisterBenchmark(("json_check/" + name + (old ? "/old" : "/new")).c_str(), json_check, details, old)
                ->Unit(benchmark::kNanosecond)
                ->MinTime(0.3);
}

const int registered = [] {
    register_adversarial();
    register_json_check();
    const char* citylots[] = {"EXACT", "PREFIX", "SUFFIX", "EQUALS_IGNORE_CASE", "WILDCARD", "ANYTHING_BUT",
                              "ANYTHING_BUT_IGNORE_CASE", "ANYTHING_BUT_PREFIX", "ANYTHING_BUT_SUFFIX",
                              "ANYTHING_BUT_WILDCARD", "PREFIX_EQUALS_IGNORE_CASE", "SUFFIX_EQUALS_IGNORE_CASE",
                              "REGEXP", "CITYLOTS4"};
    for (const char* set : citylots)
        benchmark::RegisterBenchmark((std::string("rules/") + set).c_str(), rule_set, std::string(set),
                                     std::string("citylots-sample.jsonl"))
            ->Unit(benchmark::kMillisecond)
            ->MinTime(0.5);
    for (const char* set : {"NUMERIC", "COMPLEX_ARRAYS"})
        benchmark::RegisterBenchmark((std::string("rules/") + set).c_str(), rule_set, std::string(set),
                                     std::string("citylots2-sample.jsonl"))
            ->Unit(benchmark::kMillisecond)
            ->MinTime(0.5);
    benchmark::RegisterBenchmark("rules/WILDCARD_1000", rule_set, std::string("WILDCARD_1000"),
                                 std::string("wildcard-words.jsonl"))
        ->Unit(benchmark::kMillisecond)
        ->MinTime(0.5);
    benchmark::RegisterBenchmark("scaling/EXACT", exact_scaling)
        ->Arg(5)->Arg(10)->Arg(100)->Arg(1000)->Arg(10000)
        ->Unit(benchmark::kMillisecond)
        ->MinTime(0.5);
    for (const char* set : {"EXACT", "ANYTHING_BUT", "CITYLOTS4"})
        benchmark::RegisterBenchmark((std::string("bus_path/") + set).c_str(), bus_path, std::string(set))
            ->Unit(benchmark::kMillisecond)
            ->MinTime(0.5);
    benchmark::RegisterBenchmark("scaling/NUMERIC", numeric_scaling)
        ->Arg(5)->Arg(100)->Arg(1000)->Arg(10000)
        ->Unit(benchmark::kMillisecond)
        ->MinTime(0.5);
    benchmark::RegisterBenchmark("memory/EXACT", memory_per_rule)->Arg(10000)->Iterations(1);
    benchmark::RegisterBenchmark("build/EXACT_10000_one_by_one", add_rules_one_by_one)->Unit(benchmark::kMillisecond);
    return 0;
}();

}  // namespace

BENCHMARK_MAIN();
