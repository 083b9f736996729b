// The NATS chaos tests' child process (tests/nats/chaos_test.cpp starts and kills it):
//   nats_chaos_child publish <url> <dir> <events>
//       Recovers <dir>/journal.db, then publishes every n in [0, events) not yet in
//       <dir>/accepted.log through a bus journaled there whose only target is a nats_target
//       (subject events.seq); each n whose publish returned success is appended to accepted.log.
//       Exits 0 once everything accepted has been forwarded (drained).
//   nats_chaos_child consume <url> <durable> <out file> [kill-after <n> <marker file>]
//       A nats_source on stream EVENTS with that durable, into a bus whose handler appends each
//       event's n to <out file>. With kill-after: after handling n (its line written, its
//       message not yet acked) the process SIGKILLs itself, once (the marker file says it did).
//       Runs until killed.
//   nats_chaos_child consume-once <url> <durable> <effects file> <processed db> <deliveries file>
//                    [kill-after <n> <marker file>]
//       The same, with the handler behind once_per_event on a sqlite_processed_store shared by
//       the consumers: each delivery's n goes to <deliveries file>, the handler's (the side
//       effect) to <effects file>. With kill-after, the process SIGKILLs itself after the
//       delivery of n returned (its side effect done and recorded), before the ack.
// Lines are written with one write(2) each on an O_APPEND descriptor, so a kill never leaves
// half a line.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <unordered_set>

#include <nlohmann/json.hpp>
#include <switchyard/executor/thread_pool.hpp>
#include <switchyard/nats/nats_source.hpp>
#include <switchyard/nats/nats_target.hpp>
#include <switchyard/sqlite/sqlite_journal.hpp>
#include <switchyard/sqlite/sqlite_processed_store.hpp>
#include <switchyard/switchyard.hpp>

namespace {

class line_log {
public:
    explicit line_log(const std::string& file) : fd_(::open(file.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644)) {
        if (fd_ < 0) {
            std::perror(file.c_str());
            std::exit(2);
        }
    }
    ~line_log() { ::close(fd_); }
    line_log(const line_log&) = delete;
    line_log& operator=(const line_log&) = delete;
    void append(std::int64_t n) const {
        const auto line = std::to_string(n) + "\n";
        if (::write(fd_, line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
            std::perror("write");
            std::_Exit(2);
        }
    }

private:
    int fd_;
};

std::unordered_set<std::int64_t> read_ns(const std::string& file) {
    std::ifstream in(file, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    std::unordered_set<std::int64_t> ns;
    const std::string s = text.str();
    std::size_t start = 0;
    for (std::size_t end; (end = s.find('\n', start)) != std::string::npos; start = end + 1) ns.insert(std::stoll(s.substr(start, end - start)));
    return ns;
}

std::shared_ptr<switchyard::nats_connection> connect(const std::string& url, const std::string& name) {
    switchyard::nats_connection_options o;
    o.url = url;
    o.name = name;
    o.reconnect_wait = std::chrono::milliseconds(50);
    o.request_timeout = std::chrono::milliseconds(2000);
    return switchyard::nats_connection::connect(o);
}

int publish(const std::string& url, const std::string& dir, std::int64_t events) {
    const auto before = read_ns(dir + "/accepted.log");
    line_log accepted(dir + "/accepted.log");
    auto c = connect(url, "chaos-publisher");
    auto journal = std::make_shared<switchyard::sqlite_journal>(dir + "/journal.db",
                                                                switchyard::sqlite_journal_options{.synchronous = switchyard::sync_level::normal});
    switchyard::thread_pool pool{8};
    switchyard::bus bus{"chaos", {.journal = journal}};
    bus.add_rule({.name = "to-nats",
                  .pattern = R"({"source": ["chaos"]})",
                  .targets = {switchyard::nats_target("jetstream", c, {.subject = "events.seq"}, pool)
                                  .retry({.max_retry_attempts = 185, .base_delay = std::chrono::milliseconds(20),
                                          .max_delay = std::chrono::milliseconds(200)})}});
    const auto recovered = bus.recover();
    std::fprintf(stderr, "nats_chaos_child: recovered %zu deliveries; %zu accepted before\n", recovered.deliveries, before.size());
    for (std::int64_t n = 0; n < events; ++n) {
        if (before.count(n)) continue;
        auto e = switchyard::make_json_event(bus.make_envelope("chaos", "Seq"), nlohmann::json{{"n", n}}.dump());
        const auto r = bus.publish(e);
        if (r.ok()) accepted.append(n);
    }
    bus.drain();
    return 0;
}

std::int64_t n_of(std::string_view json) { return nlohmann::json::parse(json)["detail"]["n"].get<std::int64_t>(); }

void kill_once(const std::string& marker) {
    if (std::filesystem::exists(marker)) return;
    std::ofstream{marker} << "killed\n";
    ::kill(::getpid(), SIGKILL);
}

// `processed` empty: the plain consumer (the handler writes to `out`, kill inside it). Else the
// once_per_event consumer (see the file comment).
int consume(const std::string& url, const std::string& durable, const std::string& out, std::int64_t kill_after, const std::string& marker,
            const std::string& processed = {}, const std::string& deliveries_file = {}) {
    line_log handled(out);
    auto c = connect(url, "chaos-consumer-" + std::to_string(::getpid()));
    switchyard::bus bus{"consumer"};
    switchyard::target t = switchyard::json_handler("h", [&](std::string_view json) {
        const auto n = n_of(json);
        handled.append(n);
        if (n == kill_after && processed.empty()) kill_once(marker);  // the handler ran; the ack never goes out
    });
    std::optional<line_log> deliveries;
    if (!processed.empty()) {
        deliveries.emplace(deliveries_file);
        t = switchyard::once_per_event(std::move(t), std::make_shared<switchyard::sqlite_processed_store>(processed));
        t.invoke = [inner = std::move(t.invoke), &deliveries, kill_after, marker](const switchyard::any_event& e,
                                                                                   const switchyard::delivery_info& info) {
            const auto n = n_of(e.json());
            deliveries->append(n);
            auto result = inner(e, info);
            // The side effect is done and once_per_event has recorded it; the ack never goes out.
            if (n == kill_after && result.ok()) kill_once(marker);
            return result;
        };
    }
    auto sub = bus.subscribe(R"({"source": ["chaos"]})", std::move(t));
    switchyard::nats_source_options o;
    o.stream = "EVENTS";
    o.durable = durable;
    o.ack_wait = std::chrono::milliseconds(1000);
    o.fetch_wait = std::chrono::milliseconds(100);
    o.max_in_flight = 32;
    o.fetch_batch = 16;
    switchyard::nats_source source(bus, c, o);
    std::fprintf(stderr, "nats_chaos_child: consuming as %s\n", durable.c_str());
    while (true) std::this_thread::sleep_for(std::chrono::hours(1));  // until killed
}

}  // namespace

int main(int argc, char** argv) {
    const std::string mode = argc > 1 ? argv[1] : "";
    try {
        if (mode == "publish" && argc == 5) return publish(argv[2], argv[3], std::stoll(argv[4]));
        if (mode == "consume" && argc == 5) return consume(argv[2], argv[3], argv[4], -1, "");
        if (mode == "consume" && argc == 8 && std::string(argv[5]) == "kill-after")
            return consume(argv[2], argv[3], argv[4], std::stoll(argv[6]), argv[7]);
        if (mode == "consume-once" && argc == 7) return consume(argv[2], argv[3], argv[4], -1, "", argv[5], argv[6]);
        if (mode == "consume-once" && argc == 10 && std::string(argv[7]) == "kill-after")
            return consume(argv[2], argv[3], argv[4], std::stoll(argv[8]), argv[9], argv[5], argv[6]);
    } catch (const std::exception& ex) {
        std::fprintf(stderr, "nats_chaos_child: %s\n", ex.what());
        return 1;
    }
    std::fprintf(stderr,
                 "usage: nats_chaos_child publish <url> <dir> <events>\n"
                 "       nats_chaos_child consume <url> <durable> <out file> [kill-after <n> <marker file>]\n"
                 "       nats_chaos_child consume-once <url> <durable> <effects file> <processed db> <deliveries file> "
                 "[kill-after <n> <marker file>]\n");
    return 2;
}
