// The switchyard command-line tool.
//   switchyard test-pattern PATTERN EVENT      EventBridge's TestEventPattern, offline
//   switchyard test-pattern --explain PATTERN EVENT   the same, saying why it does not match
//   switchyard match --rules FILE --events FILE [--repeat N] [--threads T]
//   switchyard next-fires EXPRESSION [--tz ZONE] [--from TIME] [--count N]   a schedule's next fire times
//   switchyard serve --port P --rules FILE [--bus NAME]   a local EventBridge: PutEvents over HTTP,
//                                                         each delivery printed as a JSON line
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
#if defined(SWITCHYARD_CLI_HAS_HTTP) && !defined(_WIN32)
#define SWITCHYARD_CLI_SERVE 1
#include <atomic>
#include <cerrno>
#include <csignal>
#include <mutex>
#include <thread>

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <switchyard/http/ingress.hpp>
#include <switchyard/switchyard.hpp>
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

#ifdef SWITCHYARD_CLI_SERVE

constexpr const char* serve_usage =
    "usage: switchyard serve --port P --rules FILE [--bus NAME]: a local EventBridge on http://127.0.0.1:P (0: any "
    "free port, printed on stderr) for aws events put-events / test-event-pattern --endpoint-url; FILE holds one rule "
    "a line, {\"name\": ..., \"pattern\": {...}}; every delivery goes to stdout as one line {\"rule\": ..., "
    "\"event\": {...}}; SIGTERM or SIGINT stops it";

// Adds every rule of a rules file to `b`. Blank lines and lines starting with '#' are skipped; any
// other line must be {"name": NAME, "pattern": PATTERN} with the pattern as a JSON object or as
// its text (as EventBridge's --event-pattern takes it). A problem names the file and line.
void add_rules(switchyard::bus& b, const std::string& path, const switchyard::target& print) {
    std::istringstream in(read_file(path));
    std::string line;
    for (std::size_t number = 1; std::getline(in, line); ++number) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        const auto first = line.find_first_not_of(" \t");
        if (first == std::string::npos || line[first] == '#') continue;
        const std::string where = path + ":" + std::to_string(number) + ": ";
        nlohmann::json rule;
        try {
            rule = nlohmann::json::parse(line);
        } catch (const nlohmann::json::parse_error& e) {
            std::string why = e.what();  // "[json.exception.parse_error.101] parse error at ..."
            if (const auto bracket = why.find("] "); why.rfind("[json.exception", 0) == 0 && bracket != std::string::npos)
                why.erase(0, bracket + 2);
            // The parser saw one line: its "line 1" would read as the file's first line.
            if (const auto at = why.find("at line 1, column "); at != std::string::npos) why.replace(at, 18, "at column ");
            throw usage_error(where + "not valid JSON: " + why);
        }
        if (!rule.is_object()) throw usage_error(where + "a rule must be a JSON object {\"name\": ..., \"pattern\": {...}}");
        for (const auto& [key, value] : rule.items())
            if (key != "name" && key != "pattern")
                throw usage_error(where + "unknown member \"" + key + "\" (a rule has \"name\" and \"pattern\")");
        const auto name = rule.find("name");
        if (name == rule.end() || !name->is_string()) throw usage_error(where + "\"name\" is missing or not a string");
        const auto pattern = rule.find("pattern");
        if (pattern == rule.end() || !(pattern->is_object() || pattern->is_string()))
            throw usage_error(where + "\"pattern\" is missing or neither a JSON object nor a string");
        const std::string rule_name = name->get<std::string>();
        try {
            b.add_rule({.name = rule_name,
                        .pattern = pattern->is_string() ? pattern->get<std::string>() : pattern->dump(),
                        .targets = {print}});
        } catch (const switchyard::error& e) {  // pattern_error included: it names the rule and the pattern's path
            throw usage_error(where + e.what());
        }
    }
}

// Writes all of `text` to standard output with write(2), not stdio: after a failed fflush, stdio
// may keep the tail of a line and put it in front of the next one.
bool write_stdout(std::string_view text) {
    while (!text.empty()) {
        const auto n = ::write(STDOUT_FILENO, text.data(), text.size());
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        text.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
}

// One stdout line per delivery, written whole under one lock: the ingress's I/O threads deliver
// (the target runs inline), so lines would otherwise interleave. When stdout is gone (its reader
// exited: EPIPE, SIGPIPE being ignored), serve stops as if told to: the delivery fails (its
// client still gets its reply) and SIGTERM starts the graceful stop.
switchyard::target stdout_target(std::mutex& out) {
    return switchyard::target{"stdout", [&out](const switchyard::any_event& e, const switchyard::delivery_info& info) {
                                  std::string text = "{\"rule\":" + nlohmann::json(std::string(info.rule)).dump() +
                                                     ",\"event\":" + e.json() + "}";
                                  // A PutEvents Detail is kept as the text the client sent, which may
                                  // span lines; in valid JSON a raw CR or LF can only be whitespace,
                                  // so a space means the same and keeps one event to one line.
                                  std::replace(text.begin(), text.end(), '\n', ' ');
                                  std::replace(text.begin(), text.end(), '\r', ' ');
                                  text += '\n';
                                  std::lock_guard lock(out);
                                  if (write_stdout(text)) return switchyard::outcome::success();
                                  static std::atomic<bool> stopping{false};
                                  if (!stopping.exchange(true)) ::kill(::getpid(), SIGTERM);
                                  // Not retried: a retry after a partial write would print half a line twice.
                                  return switchyard::outcome::fail("cannot write the event to stdout");
                              }};
}

#endif

// A bus behind an http_ingress on 127.0.0.1 until SIGTERM or SIGINT, then a graceful stop: the
// ingress finishes the requests in flight, the bus delivers what it accepted, exit 0.
int serve(const std::vector<std::string>& args) {
#ifndef SWITCHYARD_CLI_SERVE
    (void)args;
#ifdef _WIN32
    throw usage_error("serve waits for POSIX signals and is not available on Windows");
#else
    throw usage_error("serve: this switchyard was built without HTTP support (configure with SWITCHYARD_WITH_HTTP=ON)");
#endif
#else
    std::optional<std::string> port_text, rules_path;
    std::string bus_name = "default";
    for (std::size_t i = 0; i < args.size(); ++i) {
        auto value = [&]() -> const std::string& {
            if (i + 1 >= args.size()) throw usage_error(args[i] + " needs a value");
            return args[++i];
        };
        if (args[i] == "--port") port_text = value();
        else if (args[i] == "--rules") rules_path = value();
        else if (args[i] == "--bus") bus_name = value();
        else if (args[i].rfind("--", 0) == 0) throw usage_error("unknown option \"" + args[i] + "\"");
        else throw usage_error(serve_usage);
    }
    if (!port_text || !rules_path) throw usage_error(serve_usage);
    long port = -1;
    if (!port_text->empty() && port_text->size() <= 5 && port_text->find_first_not_of("0123456789") == std::string::npos)
        port = std::stol(*port_text);
    if (port < 0 || port > 65535)
        throw usage_error("--port must be an integer from 0 (any free port) to 65535, got \"" + *port_text + "\"");

    // Blocked before the bus and the ingress start their threads, which inherit the mask: the
    // signals then stay pending until sigwait below takes them on this thread.
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGUSR1);  // ends the second-signal watcher below
    pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
    // A reader of stdout that goes away must not kill serve in the middle of a request.
    std::signal(SIGPIPE, SIG_IGN);

    std::mutex out;
    switchyard::bus b(bus_name);
    add_rules(b, *rules_path, stdout_target(out));

    switchyard::ingress_options options;
    options.port = static_cast<std::uint16_t>(port);
    options.threads = 2;  // a client holding a connection open does not hold up the others
    switchyard::http_ingress ingress(options);
    ingress.add_bus(b);
    ingress.start();
    std::fprintf(stderr, "listening on http://127.0.0.1:%u (bus \"%s\", rules: %zu)\n", static_cast<unsigned>(ingress.port()),
                 bus_name.c_str(), b.list_rules().size());
    std::fflush(stderr);

    int signal_number = 0;
    while (sigwait(&stop_signals, &signal_number) != 0 || signal_number == SIGUSR1) {
    }
    // The graceful stop waits for requests in flight and for the bus to deliver, which a stalled
    // stdout reader can hold up: a second SIGTERM or SIGINT ends serve at once.
    std::thread watcher([&stop_signals] {
        int second = 0;
        while (sigwait(&stop_signals, &second) != 0) {
        }
        if (second == SIGUSR1) return;  // the graceful stop finished
        static constexpr char message[] = "switchyard: second signal: stopping at once\n";
        [[maybe_unused]] const auto n = ::write(STDERR_FILENO, message, sizeof message - 1);
        std::_Exit(130);
    });
    const bool clean = ingress.stop(std::chrono::seconds(5));
    b.drain();
    pthread_kill(watcher.native_handle(), SIGUSR1);
    watcher.join();
    const auto stats = ingress.stats();
    std::fprintf(stderr, "%s: stopped after %llu requests, %llu entries accepted, %llu refused%s\n",
                 signal_number == SIGINT ? "SIGINT" : "SIGTERM", static_cast<unsigned long long>(stats.requests),
                 static_cast<unsigned long long>(stats.entries_accepted), static_cast<unsigned long long>(stats.entries_failed),
                 clean ? "" : " (requests still running after 5 s were cut off)");
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
                              "[--from TIME] [--count N] | switchyard serve --port P --rules FILE [--bus NAME]");
        const std::vector<std::string> rest(args.begin() + 1, args.end());
        if (args[0] == "test-pattern") return test_pattern(rest);
        if (args[0] == "match") return match(rest);
        if (args[0] == "next-fires") return next_fires(rest);
        if (args[0] == "serve") return serve(rest);
        throw usage_error("unknown command \"" + args[0] + "\"; expected test-pattern, match, next-fires or serve");
    } catch (const std::exception& e) {
        std::cerr << "switchyard: " << one_line(e.what()) << '\n';
        return 2;
    }
}
