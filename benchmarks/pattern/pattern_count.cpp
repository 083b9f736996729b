// Instruction-count harness for plain-JSON matching: the loop of bench_pattern's `rules/<SET>`
// cases (matcher::match_json over the city-lots sample, cycling) or, with --bus, of its
// `bus_path/<SET>` cases (switchyard::match on events whose detail is JSON text), run a fixed
// number of times, so that `valgrind --tool=callgrind --toggle-collect=switchyard_count_loop`
// (switchyard_count_bus_loop with --bus) counts the matching and nothing of the setup (reading
// files, compiling rules). Deterministic, unlike Google Benchmark's iteration count, so two
// builds can be compared instruction for instruction. Built as `pattern_count` with the
// benchmarks; BENCHMARKS.md ("Compiled library against header-only: instruction counts") has the
// commands, including a header-only build of it by hand.
//
//   pattern_count [--bus] <rules.jsonl> <events.jsonl> <events to match> [timed runs]
//
// With a number of timed runs it also times the loop that many times (thread CPU time) and
// prints the minimum and the median nanoseconds per event: on a busy machine the minimum of many
// short runs of two builds, alternated, says more than one long run of each.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include <time.h>

#include <switchyard/event.hpp>
#include <switchyard/pattern/flatten.hpp>
#include <switchyard/pattern/matcher.hpp>
#include <switchyard/pattern/pattern.hpp>

namespace sp = switchyard::pattern;

namespace {

std::vector<std::string> lines(const char* path) {
    std::ifstream in(path);
    if (!in) {
        std::fprintf(stderr, "cannot read %s\n", path);
        std::exit(2);
    }
    std::vector<std::string> out;
    std::string line;
    while (std::getline(in, line))
        if (!line.empty()) out.push_back(line);
    return out;
}

}  // namespace

// The measured loops (named, out-of-line functions for callgrind's --toggle-collect).
extern "C" [[gnu::noinline]] std::size_t switchyard_count_loop(const sp::matcher& m, const std::vector<std::string>& evs,
                                                                std::size_t n, sp::flat_event& scratch,
                                                                std::vector<sp::rule_id>& out) {
    std::size_t matches = 0;
    std::size_t k = 0;
    for (std::size_t i = 0; i < n; ++i) {
        out.clear();
        m.match_json(evs[k], scratch, out);
        matches += out.size();
        if (++k == evs.size()) k = 0;
    }
    return matches;
}

extern "C" [[gnu::noinline]] std::size_t switchyard_count_bus_loop(const sp::matcher& m,
                                                                    const std::vector<switchyard::event_ptr>& evs,
                                                                    std::size_t n, sp::flat_event& scratch,
                                                                    std::vector<sp::rule_id>& out) {
    std::size_t matches = 0;
    std::size_t k = 0;
    for (std::size_t i = 0; i < n; ++i) {
        out.clear();
        switchyard::match(m, *evs[k], scratch, out);
        matches += out.size();
        if (++k == evs.size()) k = 0;
    }
    return matches;
}

int main(int argc, char** argv) {
    const bool bus = argc > 1 && std::string(argv[1]) == "--bus";
    if (bus) {
        --argc;
        ++argv;
    }
    if (argc != 4 && argc != 5) {
        std::fprintf(stderr, "usage: %s [--bus] <rules.jsonl> <events.jsonl> <events to match> [timed runs]\n", argv[0]);
        return 2;
    }
    const auto rules = lines(argv[1]);
    const auto evs = lines(argv[2]);
    const auto n = static_cast<std::size_t>(std::strtoull(argv[3], nullptr, 10));
    sp::matcher m;
    for (std::size_t i = 0; i < rules.size(); ++i)
        m = m.with(static_cast<sp::rule_id>(i),
                   sp::compile(bus ? R"({"source": ["city.lots"], "detail": )" + rules[i] + "}" : rules[i]));
    std::vector<switchyard::event_ptr> events;  // --bus: as bench_pattern's bus_path builds them
    if (bus)
        for (const auto& line : evs) {
            switchyard::envelope meta;
            meta.id = "0";
            meta.source = "city.lots";
            meta.detail_type = "lot";
            meta.time = "2024-01-01T00:00:00Z";
            events.push_back(switchyard::make_json_event(meta, line));
        }
    sp::flat_event scratch;
    std::vector<sp::rule_id> out;
    auto loop = [&] {
        return bus ? switchyard_count_bus_loop(m, events, n, scratch, out) : switchyard_count_loop(m, evs, n, scratch, out);
    };
    // One untimed pass over the file first, so the scratch buffers have their final sizes.
    for (std::size_t k = 0; k < evs.size(); ++k) {
        out.clear();
        if (bus) switchyard::match(m, *events[k], scratch, out);
        else m.match_json(evs[k], scratch, out);
    }
    const std::size_t matches = loop();
    std::printf("%zu rules, %zu events matched, %zu matches\n", rules.size(), n, matches);
    if (argc == 5) {
        std::vector<double> ns;
        for (long r = std::strtol(argv[4], nullptr, 10); r > 0; --r) {
            timespec a{}, b{};
            clock_gettime(CLOCK_THREAD_CPUTIME_ID, &a);
            loop();
            clock_gettime(CLOCK_THREAD_CPUTIME_ID, &b);
            ns.push_back((static_cast<double>(b.tv_sec - a.tv_sec) * 1e9 + static_cast<double>(b.tv_nsec - a.tv_nsec)) /
                         static_cast<double>(n));
        }
        std::sort(ns.begin(), ns.end());
        std::printf("ns per event: min %.2f median %.2f\n", ns.front(), ns[ns.size() / 2]);
    }
    return 0;
}
