// The switchyard command-line tool.
//   switchyard test-pattern PATTERN EVENT      EventBridge's TestEventPattern, offline
//   switchyard test-pattern --explain PATTERN EVENT   the same, saying why it does not match
//   switchyard match --rules FILE --events FILE [--repeat N] [--threads T]
//   switchyard next-fires EXPRESSION [--tz ZONE] [--from TIME] [--count N]   a schedule's next fire times
// Arguments that start with '@' name a file to read.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include <switchyard/error.hpp>
#include <switchyard/pattern/explain.hpp>
#include <switchyard/pattern/matcher.hpp>
#include <switchyard/pattern/pattern.hpp>
#ifdef SWITCHYARD_CLI_HAS_SCHEDULE
#include <switchyard/detail/time.hpp>
#include <switchyard/schedule/expression.hpp>
#endif

namespace {

namespace sp = switchyard::pattern;

struct usage_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw usage_error("cannot read \"" + path + "\"");
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

std::string argument_text(const std::string& arg) { return !arg.empty() && arg[0] == '@' ? read_file(arg.substr(1)) : arg; }

std::vector<std::string> non_empty_lines(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.find_first_not_of(" \t") != std::string::npos) lines.push_back(std::move(line));
    }
    return lines;
}

std::string one_line(std::string message) {
    std::replace(message.begin(), message.end(), '\n', ' ');
    return message;
}

void check_event(const std::string& text, const std::string& what) {
    const auto parsed = nlohmann::json::parse(text, nullptr, false);
    if (parsed.is_discarded()) throw usage_error(what + " is not valid JSON");
    if (!parsed.is_object()) throw usage_error(what + " must be a JSON object");
}

// Prints true/false, or with --explain the explanation ("match", "no match: a expected [1], event
// has 2"); exit code 0 for a match, 1 for none, 2 when either argument is invalid.
int test_pattern(std::vector<std::string> args) {
    const bool explaining = !args.empty() && args[0] == "--explain";
    if (explaining) args.erase(args.begin());
    if (args.size() != 2)
        throw usage_error("usage: switchyard test-pattern [--explain] PATTERN EVENT (JSON text or @file)");
    const std::string pattern_text = argument_text(args[0]);
    const std::string event_text = argument_text(args[1]);
    sp::compiled_pattern pattern;
    try {
        pattern = sp::compile(pattern_text);
    } catch (const switchyard::pattern_error& e) {
        throw usage_error(std::string("invalid pattern: ") + e.what());
    }
    check_event(event_text, "the event");
    if (explaining) {
        const auto explanation = switchyard::explain(pattern_text, event_text);
        std::cout << explanation.to_string() << '\n';
        return explanation.matched ? 0 : 1;
    }
    const auto m = sp::matcher{}.with(0, pattern);
    sp::flat_event scratch;
    std::vector<sp::rule_id> out;
    if (!m.match_json(event_text, scratch, out)) throw usage_error(scratch.error_message());
    const bool matched = !out.empty();
    std::cout << (matched ? "true" : "false") << '\n';
    return matched ? 0 : 1;
}

int match(const std::vector<std::string>& args) {
    std::string rules_path, events_path;
    long repeat = 1, threads = 1;
    for (std::size_t i = 0; i < args.size(); ++i) {
        auto value = [&]() -> const std::string& {
            if (i + 1 >= args.size()) throw usage_error(args[i] + " needs a value");
            return args[++i];
        };
        auto count = [&](const std::string& name) {
            const std::string& v = value();
            long n = 0;
            try {
                std::size_t used = 0;
                n = std::stol(v, &used);
                if (used != v.size()) n = 0;
            } catch (const std::exception&) {
                n = 0;
            }
            if (n < 1) throw usage_error(name + " must be a positive integer, got \"" + v + "\"");
            return n;
        };
        if (args[i] == "--rules") rules_path = value();
        else if (args[i] == "--events") events_path = value();
        else if (args[i] == "--repeat") repeat = count("--repeat");
        else if (args[i] == "--threads") threads = count("--threads");
        else throw usage_error("unknown option \"" + args[i] + "\"");
    }
    if (rules_path.empty() || events_path.empty())
        throw usage_error("usage: switchyard match --rules FILE --events FILE [--repeat N] [--threads T]");

    const auto rules = non_empty_lines(read_file(rules_path));
    sp::matcher m;
    for (std::size_t i = 0; i < rules.size(); ++i) {
        try {
            m = m.with(static_cast<sp::rule_id>(i), sp::compile(rules[i]));
        } catch (const switchyard::pattern_error& e) {
            throw usage_error(rules_path + ": rule " + std::to_string(i) + ": " + e.what());
        }
    }
    const auto events = non_empty_lines(read_file(events_path));
    for (std::size_t i = 0; i < events.size(); ++i) check_event(events[i], events_path + ": event " + std::to_string(i));

    std::vector<std::vector<std::uint64_t>> counts(static_cast<std::size_t>(threads), std::vector<std::uint64_t>(rules.size()));
    auto work = [&](std::size_t thread) {
        sp::flat_event scratch;
        std::vector<sp::rule_id> out;
        auto& mine = counts[thread];
        for (long pass = 0; pass < repeat; ++pass)
            for (std::size_t e = thread; e < events.size(); e += static_cast<std::size_t>(threads)) {
                out.clear();
                m.match_json(events[e], scratch, out);
                for (const auto id : out) ++mine[id];
            }
    };
    const auto start = std::chrono::steady_clock::now();
    if (threads == 1) {
        work(0);
    } else {
        std::vector<std::thread> pool;
        for (long t = 0; t < threads; ++t) pool.emplace_back(work, static_cast<std::size_t>(t));
        for (auto& t : pool) t.join();
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

    for (std::size_t r = 0; r < rules.size(); ++r) {
        std::uint64_t total = 0;
        for (const auto& c : counts) total += c[r];
        std::cout << r << '\t' << total / static_cast<std::uint64_t>(repeat) << '\n';
    }
    const auto total_events = static_cast<std::uint64_t>(events.size()) * static_cast<std::uint64_t>(repeat);
    char summary[160];
    std::snprintf(summary, sizeof summary, "%llu events in %.3f s: %.0f events/s", static_cast<unsigned long long>(total_events),
                  seconds, seconds > 0 ? static_cast<double>(total_events) / seconds : 0.0);
    std::cerr << summary << '\n';
    return 0;
}

constexpr const char* next_fires_usage =
    "usage: switchyard next-fires EXPRESSION [--tz ZONE] [--from TIME] [--count N]: the next N (default 5, at most "
    "1000) fire times strictly after --from (RFC 3339, default now), in ZONE (IANA, default UTC); a rate counts from "
    "--from";

// Prints a schedule's next fire times, one a line as RFC 3339 with the zone's offset; fewer when
// the schedule ends (an at(), a cron whose years run out). Exit 0, or 2 for a bad argument.
int next_fires(const std::vector<std::string>& args) {
#ifndef SWITCHYARD_CLI_HAS_SCHEDULE
    (void)args;
    throw usage_error("next-fires needs a switchyard built with SWITCHYARD_WITH_SCHEDULE=ON");
#else
    using namespace std::chrono;
    std::optional<std::string> expression_text;
    std::string zone_name = "UTC";
    std::optional<std::string> from_text;
    long count = 5;
    constexpr long max_count = 1000;
    for (std::size_t i = 0; i < args.size(); ++i) {
        auto value = [&]() -> const std::string& {
            if (i + 1 >= args.size()) throw usage_error(args[i] + " needs a value");
            return args[++i];
        };
        if (args[i] == "--tz") {
            zone_name = value();
        } else if (args[i] == "--from") {
            from_text = value();
        } else if (args[i] == "--count") {
            const std::string& v = value();
            count = 0;
            if (!v.empty() && v.size() <= 5 && v.find_first_not_of("0123456789") == std::string::npos)
                count = std::stol(v);
            if (count < 1 || count > max_count)
                throw usage_error("--count must be an integer from 1 to " + std::to_string(max_count) + ", got \"" + v +
                                  "\"");
        } else if (args[i].rfind("--", 0) == 0) {
            throw usage_error("unknown option \"" + args[i] + "\"");
        } else if (expression_text) {
            throw usage_error(next_fires_usage);
        } else {
            expression_text = args[i];
        }
    }
    if (!expression_text) throw usage_error(next_fires_usage);
    const auto expression = switchyard::schedule_expression::parse(*expression_text);
    const auto zone = switchyard::time_zone::locate(zone_name);
    sys_seconds from = floor<seconds>(system_clock::now());
    if (from_text) {
        const auto parsed = switchyard::detail::parse_rfc3339(*from_text);
        if (!parsed)
            throw usage_error("--from must be an RFC 3339 time such as 2026-03-08T00:00:00Z or "
                              "2026-03-08T00:00:00-05:00, got \"" + *from_text + "\"");
        // Whole seconds: a fire at the floor is not after a fractional --from either.
        from = floor<seconds>(*parsed);
    }
    std::string out;
    auto after = from;
    for (long i = 0; i < count; ++i) {
        const auto next = expression.next_after(after, zone, from);
        if (!next) break;
        out += zone.format(*next);
        out += '\n';
        after = *next;
    }
    std::cout << out;
    return 0;
#endif
}

}  // namespace

int main(int argc, char** argv) {
    const std::vector<std::string> args(argv + 1, argv + argc);
    try {
        if (args.empty())
            throw usage_error("usage: switchyard test-pattern [--explain] PATTERN EVENT | switchyard match --rules FILE "
                              "--events FILE [--repeat N] [--threads T] | switchyard next-fires EXPRESSION [--tz ZONE] "
                              "[--from TIME] [--count N]");
        const std::vector<std::string> rest(args.begin() + 1, args.end());
        if (args[0] == "test-pattern") return test_pattern(rest);
        if (args[0] == "match") return match(rest);
        if (args[0] == "next-fires") return next_fires(rest);
        throw usage_error("unknown command \"" + args[0] + "\"; expected test-pattern, match or next-fires");
    } catch (const std::exception& e) {
        std::cerr << "switchyard: " << one_line(e.what()) << '\n';
        return 2;
    }
}
