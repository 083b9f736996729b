// Pattern-matching throughput on the shared benchmark data: every rule set over the city-lots
// sample cycled to 213,068 events (one thread), the 5 -> 10,000 exact-rule scaling series,
// 1,000 single-wildcard rules, and heap bytes per rule. The data directory is
// $SWITCHYARD_BENCHMARK_DATA, else the one configured at build time (../shared/data).
#include <benchmark/benchmark.h>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <switchyard/event.hpp>
#include <switchyard/flatten.hpp>
#include <switchyard/pattern/matcher.hpp>
#include <switchyard/pattern/pattern.hpp>

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

const int registered = [] {
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
