// Chaos with processes (nats_chaos_child) and a real server, each test bounded in time, each
// counting lost (must be 0) and duplicated messages:
//   - the publishing process is SIGKILLed mid-batch, several times, and restarted on its journal:
//     every event whose publish returned success is in the stream;
//   - a consumer process is SIGKILLed after its handler ran but before the ack: a peer on the
//     same durable gets the message again;
//   - three consumer processes share a durable while one of them is SIGKILLed (and restarted)
//     every second or so: every published event is processed.
// (A server SIGKILLed and restarted while events flow, and a poison message's max_deliver, are in
// source_test.cpp.) SWITCHYARD_NATS_CHAOS_EVENTS scales the event counts.
#include <doctest/doctest.h>

#include <signal.h>
#include <sys/prctl.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>
#include <switchyard/executor/thread_pool.hpp>
#include <switchyard/nats/nats_target.hpp>
#include <switchyard/sqlite/sqlite_processed_store.hpp>
#include <switchyard/switchyard.hpp>

#include "nats/nats_server.hpp"
#include "nats/nats_test_support.hpp"

#ifndef SWITCHYARD_NATS_CHAOS_CHILD
#error "SWITCHYARD_NATS_CHAOS_CHILD must name the nats_chaos_child executable"
#endif

using namespace switchyard;
using namespace std::chrono_literals;

namespace {

int scaled(int n) {
    if (const char* env = std::getenv("SWITCHYARD_NATS_CHAOS_EVENTS")) return std::max(1, std::atoi(env) * n / 5000);
    return n;
}

// Starts nats_chaos_child with `args`, its output appended to `log` (not the test's own: a
// child that outlived the test would hold the test runner's pipes open).
pid_t spawn(const std::vector<std::string>& args, const std::string& log = "/dev/null") {
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlives the test
        const int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (out >= 0) {
            ::dup2(out, 1);
            ::dup2(out, 2);
        }
        std::vector<char*> argv;
        argv.push_back(const_cast<char*>(SWITCHYARD_NATS_CHAOS_CHILD));
        for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
        argv.push_back(nullptr);
        ::execv(SWITCHYARD_NATS_CHAOS_CHILD, argv.data());
        std::_Exit(127);
    }
    return pid;
}

// SIGKILL and reap; true when the kill (rather than an exit) ended it.
bool kill_and_reap(pid_t pid) {
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    return WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
}

// Child processes a test started, SIGKILLed and reaped when it ends (a failed REQUIRE included).
class children {
public:
    children() = default;
    children(const children&) = delete;
    children& operator=(const children&) = delete;
    ~children() {
        for (const auto pid : pids_)
            if (pid > 0) kill_and_reap(pid);
    }
    pid_t start(const std::vector<std::string>& args, const std::string& log = "/dev/null") {
        return pids_.emplace_back(spawn(args, log));
    }
    // Forget a child the test reaped itself.
    void reaped(pid_t pid) {
        for (auto& p : pids_)
            if (p == pid) p = -1;
    }

private:
    std::vector<pid_t> pids_;
};

// Each n on a complete line of `file`, with how many times it appears.
std::map<std::int64_t, int> read_counts(const std::string& file) {
    std::ifstream in(file, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    const std::string s = text.str();
    std::map<std::int64_t, int> counts;
    std::size_t start = 0;
    for (std::size_t end; (end = s.find('\n', start)) != std::string::npos; start = end + 1) ++counts[std::stoll(s.substr(start, end - start))];
    return counts;
}

std::map<std::int64_t, int> merged(const std::vector<std::string>& files) {
    std::map<std::int64_t, int> all;
    for (const auto& f : files)
        for (const auto& [n, c] : read_counts(f)) all[n] += c;
    return all;
}

// Publishes n = [from, to) on events.seq from this process (an inline nats_target).
void publish_range(nats_connection& c, bus& b, std::int64_t from, std::int64_t to) {
    (void)c;
    for (std::int64_t n = from; n < to; ++n) {
        const auto r = b.publish(make_json_event(b.make_envelope("chaos", "Seq"), nlohmann::json{{"n", n}}.dump()));
        REQUIRE(r.ok());
    }
}

}  // namespace

TEST_CASE("chaos: the publishing process is SIGKILLed mid-batch and restarted; journal + recover lose nothing") {
    nats_server server;
    auto c = connect_to(server.url());
    c->add_stream({.name = "EVENTS", .subjects = {"events.>"}});
    temp_dir dir;
    const auto path = dir.path().string();
    const int events = scaled(5000);
    const auto seed = static_cast<unsigned>(std::random_device{}());
    std::mt19937 random(seed);
    // Each round is killed once its accepted count passes a random point: mid-batch for sure (the
    // points stop at three quarters of the events, so no round can finish before its kill lands).
    std::uniform_int_distribution<int> kill_point(1, std::max(1, events * 3 / 4));
    std::vector<int> points{kill_point(random), kill_point(random), kill_point(random), kill_point(random)};
    std::sort(points.begin(), points.end());
    int killed = 0;
    children procs;
    const auto child_log = dir.file("publisher.log");
    std::vector<std::size_t> accepted_after;
    for (int round = 0; round < 4; ++round) {
        const pid_t pid = procs.start({"publish", server.url(), path, std::to_string(events)}, child_log);
        const auto target = static_cast<std::size_t>(points[static_cast<std::size_t>(round)]);
        const bool reached = eventually([&] { return read_counts(dir.file("accepted.log")).size() >= target; }, 30s);
        INFO("round " << round << ", kill point " << target);
        CHECK(reached);  // the kill lands after the point, not on a timeout
        const bool was_killed = kill_and_reap(pid);
        CHECK(was_killed);  // the child was still running: it died of the SIGKILL, not done
        killed += was_killed;
        procs.reaped(pid);
        accepted_after.push_back(read_counts(dir.file("accepted.log")).size());
        CHECK(accepted_after.back() < static_cast<std::size_t>(events));  // mid-batch: events were left to publish
    }
    // The last run finishes: it recovers, publishes what is left and drains.
    const pid_t last = procs.start({"publish", server.url(), path, std::to_string(events)}, child_log);
    int status = 0;
    const bool finished = eventually([&] { return ::waitpid(last, &status, WNOHANG) == last; }, 60s);
    REQUIRE(finished);
    procs.reaped(last);
    REQUIRE(WIFEXITED(status));
    REQUIRE(WEXITSTATUS(status) == 0);

    const auto accepted = read_counts(dir.file("accepted.log"));
    const auto stored_count = stream_count(*c, "EVENTS");
    std::map<std::int64_t, int> stored_ns;
    std::set<std::string> ids;
    int same_id_twice = 0;
    for (std::uint64_t seq = 1; seq <= stored_count; ++seq) {
        const auto m = stored(*c, "EVENTS", seq);
        REQUIRE(m);
        const auto j = nlohmann::json::parse(m->data);
        ++stored_ns[j["detail"]["n"].get<std::int64_t>()];
        if (!ids.insert(m->msg_id).second) ++same_id_twice;
    }
    int lost = 0, republished = 0;
    for (const auto& [n, count] : accepted)
        if (!stored_ns.count(n)) ++lost;
    for (const auto& [n, count] : stored_ns) republished += count - 1;
    std::size_t recovered = 0;
    {
        std::ifstream in(child_log);
        for (std::string line; std::getline(in, line);)
            if (const auto at = line.find("recovered "); at != std::string::npos) recovered += std::stoul(line.substr(at + 10));
    }
    std::string progress;
    for (const auto a : accepted_after) progress += std::to_string(a) + " ";
    MESSAGE("accepted after each kill: " << progress << "; deliveries recovered by the restarts: " << recovered);
    MESSAGE("seed " << seed << ": " << events << " events, " << killed << " kills; " << accepted.size() << " accepted, " << stored_count
                    << " stored; lost " << lost << ", n stored twice (published again after a kill before its acceptance "
                    << "was written) " << republished << ", same id stored twice " << same_id_twice);
    CHECK(killed == 4);
    CHECK(accepted.size() == static_cast<std::size_t>(events));
    CHECK(lost == 0);
    CHECK(same_id_twice == 0);  // the server's Nats-Msg-Id dedup caught every re-forward after recover()
    CHECK(stored_ns.size() == static_cast<std::size_t>(events));
}

TEST_CASE("chaos: a consumer SIGKILLed after its handler ran, before the ack: the message goes to a peer") {
    nats_server server;
    auto c = connect_to(server.url());
    c->add_stream({.name = "EVENTS", .subjects = {"events.>"}});
    bus b{"producer"};
    b.add_rule({.name = "to-nats", .pattern = R"({"source": ["chaos"]})", .targets = {nats_target("jetstream", c, {.subject = "events.seq"})}});
    const int events = scaled(300);
    const std::int64_t victim = events / 3;
    temp_dir dir;
    const auto a_log = dir.file("a.log"), b_log = dir.file("b.log"), marker = dir.file("killed");
    children procs;
    // The first consumer, alone on the durable, kills itself once it has handled `victim`.
    const pid_t a = procs.start({"consume", server.url(), "workers", a_log, "kill-after", std::to_string(victim), marker});
    publish_range(*c, b, 0, events);
    int status = 0;
    REQUIRE(eventually([&] { return ::waitpid(a, &status, WNOHANG) == a; }, 30s));
    procs.reaped(a);
    CHECK((WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL));
    // Its peer joins the durable: it gets the rest, and what the first held unacked.
    procs.start({"consume", server.url(), "workers", b_log});
    // Everything handled, the victim a second time (after ack_wait: 1 s) by the peer.
    const bool all = eventually(
        [&] { return merged({a_log, b_log}).size() == static_cast<std::size_t>(events) && read_counts(b_log).count(victim) == 1; }, 30s);
    CHECK(all);
    const auto a_counts = read_counts(a_log), b_counts = read_counts(b_log);
    const auto total = merged({a_log, b_log});
    int lost = 0, duplicates = 0;
    for (std::int64_t n = 0; n < events; ++n) {
        const auto it = total.find(n);
        if (it == total.end()) ++lost;
        else duplicates += it->second - 1;
    }
    MESSAGE("consumer a handled " << a_counts.size() << ", its peer " << b_counts.size() << "; lost " << lost << ", duplicates "
                                  << duplicates << " (the victim and whatever else a held unacked)");
    CHECK(lost == 0);
    CHECK(a_counts.count(victim) == 1);  // the handler ran in the process that died...
    CHECK(b_counts.count(victim) == 1);  // ...and the message was redelivered to the peer
    CHECK(duplicates >= 1);
}

TEST_CASE("chaos: killed after its handler ran and once_per_event recorded it, before the ack: redelivered to a peer, side effect once") {
    nats_server server;
    auto c = connect_to(server.url());
    c->add_stream({.name = "EVENTS", .subjects = {"events.>"}});
    bus b{"producer"};
    b.add_rule({.name = "to-nats", .pattern = R"({"source": ["chaos"]})", .targets = {nats_target("jetstream", c, {.subject = "events.seq"})}});
    const int events = scaled(300);
    const std::int64_t victim = events / 3;
    temp_dir dir;
    const auto processed = dir.file("processed.db");
    { sqlite_processed_store created(processed); }  // made once, before the consumers share it
    const auto a_effects = dir.file("a.effects"), b_effects = dir.file("b.effects");
    const auto a_deliveries = dir.file("a.deliveries"), b_deliveries = dir.file("b.deliveries"), marker = dir.file("killed");
    children procs;
    const pid_t a = procs.start({"consume-once", server.url(), "workers", a_effects, processed, a_deliveries, "kill-after",
                                 std::to_string(victim), marker});
    publish_range(*c, b, 0, events);
    int status = 0;
    REQUIRE(eventually([&] { return ::waitpid(a, &status, WNOHANG) == a; }, 30s));
    procs.reaped(a);
    CHECK((WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL));
    procs.start({"consume-once", server.url(), "workers", b_effects, processed, b_deliveries});
    // Every event's side effect done, and the victim delivered to the peer too (after ack_wait).
    const bool all = eventually([&] {
        return merged({a_effects, b_effects}).size() == static_cast<std::size_t>(events) && read_counts(b_deliveries).count(victim) == 1;
    }, 30s);
    CHECK(all);
    const auto effects = merged({a_effects, b_effects});
    const auto deliveries = merged({a_deliveries, b_deliveries});
    int lost = 0, repeated_effects = 0, redelivered = 0;
    for (std::int64_t n = 0; n < events; ++n) {
        const auto it = effects.find(n);
        if (it == effects.end()) ++lost;
        else repeated_effects += it->second - 1;
        if (const auto d = deliveries.find(n); d != deliveries.end()) redelivered += d->second - 1;
    }
    MESSAGE("deliveries: " << redelivered << " redelivered (the victim and what a held unacked); side effects repeated: "
                           << repeated_effects << "; lost " << lost);
    CHECK(lost == 0);
    CHECK(read_counts(a_deliveries).count(victim) == 1);  // delivered in the process that died...
    CHECK(read_counts(b_deliveries).count(victim) == 1);  // ...and again to the peer
    CHECK(redelivered >= 1);
    CHECK(repeated_effects == 0);  // once_per_event on the shared store: the side effect happened once
    CHECK(read_counts(a_effects).count(victim) == 1);
    CHECK(read_counts(b_effects).count(victim) == 0);
}

TEST_CASE("chaos: three consumer processes on one durable, one SIGKILLed every second or so: processed equals published") {
    nats_server server;
    auto c = connect_to(server.url());
    c->add_stream({.name = "EVENTS", .subjects = {"events.>"}});
    bus b{"producer"};
    b.add_rule({.name = "to-nats", .pattern = R"({"source": ["chaos"]})", .targets = {nats_target("jetstream", c, {.subject = "events.seq"})}});
    const int events = scaled(3000);
    temp_dir dir;
    std::vector<std::string> logs;
    std::vector<pid_t> consumers;
    children procs;
    for (int i = 0; i < 3; ++i) {
        logs.push_back(dir.file("consumer-" + std::to_string(i) + ".log"));
        consumers.push_back(procs.start({"consume", server.url(), "shared", logs.back()}));
    }
    const auto seed = static_cast<unsigned>(std::random_device{}());
    std::mt19937 random(seed);
    int kills = 0;
    // Publish in slices, killing (and restarting) one consumer between slices.
    constexpr int slices = 6;
    for (int s = 0; s < slices; ++s) {
        publish_range(*c, b, static_cast<std::int64_t>(events) * s / slices, static_cast<std::int64_t>(events) * (s + 1) / slices);
        std::this_thread::sleep_for(std::chrono::milliseconds(500 + static_cast<int>(random() % 700)));  // let them work a while
        const auto victim = static_cast<std::size_t>(random() % consumers.size());
        kills += kill_and_reap(consumers[victim]);
        procs.reaped(consumers[victim]);
        consumers[victim] = procs.start({"consume", server.url(), "shared", logs[victim]});
    }
    const bool all = eventually([&] { return merged(logs).size() == static_cast<std::size_t>(events); }, 30s);
    CHECK(all);
    const auto total = merged(logs);
    int lost = 0, duplicates = 0, unknown = 0;
    for (std::int64_t n = 0; n < events; ++n) {
        const auto it = total.find(n);
        if (it == total.end()) ++lost;
        else duplicates += it->second - 1;
    }
    for (const auto& [n, count] : total) unknown += n < 0 || n >= events;
    std::vector<std::size_t> per;
    for (const auto& l : logs) per.push_back(read_counts(l).size());
    MESSAGE("seed " << seed << ": " << events << " events, " << kills << " consumer kills; processed by each: " << per[0] << ", " << per[1]
                    << ", " << per[2] << "; lost " << lost << ", duplicates " << duplicates);
    CHECK(lost == 0);
    CHECK(unknown == 0);
    CHECK(total.size() == static_cast<std::size_t>(events));  // processed (distinct) equals published
    CHECK(kills == slices);
}
