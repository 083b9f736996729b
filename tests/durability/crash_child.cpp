// The crash test's child (tests/durability/crash_test.cpp kills it with SIGKILL at random moments):
//   crash_child <dir> <events> <publisher threads> [sync|async]
// Recovers <dir>/journal.db first, then publishes every id in [0, events) not yet in
// <dir>/accepted.log through a bus journaled there (sync_level::normal), several threads at a
// time. The handler appends each id it receives to <dir>/delivered.log; each id whose publish
// returned success is appended to <dir>/accepted.log after publish returns, or, with `async`,
// from publish_async's callback once it said the event is accepted (durable). One write(2) per
// line on an O_APPEND descriptor, so a kill never leaves half a line. Every event is also
// archived to <dir>/archive.db (sqlite_archive_store): the archive's rule is journaled, so what a
// kill kept out of the archive is archived by the next run's recover().
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include <switchyard/archive.hpp>
#include <switchyard/sqlite/sqlite_archive_store.hpp>
#include <switchyard/sqlite/sqlite_journal.hpp>
#include <switchyard/switchyard.hpp>

struct Sequenced {
    std::int64_t n = 0;
};
SWITCHYARD_EVENT(Sequenced, "SEQUENCED", n)

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

// Ids on complete lines of a log (a line without its newline was never fully written).
std::unordered_set<std::int64_t> read_ids(const std::string& file) {
    std::ifstream in(file, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    std::unordered_set<std::int64_t> ids;
    const std::string s = text.str();
    std::size_t start = 0;
    for (std::size_t end; (end = s.find('\n', start)) != std::string::npos; start = end + 1)
        ids.insert(std::stoll(s.substr(start, end - start)));
    return ids;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 4 && argc != 5) {
        std::fprintf(stderr, "usage: crash_child <dir> <events> <publisher threads> [sync|async]\n");
        return 2;
    }
    const std::string dir = argv[1];
    const std::int64_t events = std::stoll(argv[2]);
    const int threads = std::stoi(argv[3]);
    const bool async = argc == 5 && std::string(argv[4]) == "async";

    const auto accepted_before = read_ids(dir + "/accepted.log");
    line_log delivered(dir + "/delivered.log");
    line_log accepted(dir + "/accepted.log");
    std::atomic<bool> failed{false};  // before the bus: a callback may run until the bus is gone

    auto journal = std::make_shared<switchyard::sqlite_journal>(dir + "/journal.db",
                                                                switchyard::sqlite_journal_options{.synchronous = switchyard::sync_level::normal});
    switchyard::thread_pool workers{2};
    switchyard::bus bus{"crash", {.journal = journal}};
    bus.add_rule({.name = "all",
                  .pattern = R"({"detail-type": ["SEQUENCED"]})",
                  .targets = {switchyard::handler<Sequenced>(
                      "log", [&](const switchyard::event<Sequenced>& e) { delivered.append(e.detail.n); }, workers)}});
    // Before recover(), as any rule whose deliveries a recovery may restart.
    switchyard::archive archive(bus, {.name = "all", .store = std::make_shared<switchyard::sqlite_archive_store>(dir + "/archive.db")});
    const auto recovered = bus.recover();
    std::fprintf(stderr, "crash_child: recovered %zu deliveries of %zu events; %zu ids accepted before\n", recovered.deliveries,
                 recovered.events, accepted_before.size());

    std::vector<std::thread> publishers;
    for (int t = 0; t < threads; ++t)
        publishers.emplace_back([&, t] {
            auto producer = bus.producer<Sequenced>("com.example.crash");
            for (std::int64_t n = t; n < events && !failed; n += threads) {
                if (accepted_before.count(n)) continue;
                const auto report = [&failed, &accepted, n](const switchyard::publish_result& result) {
                    if (!result.ok()) {
                        std::fprintf(stderr, "crash_child: publish of %lld failed: %s: %s\n", static_cast<long long>(n),
                                     std::string(to_string(result.error_code)).c_str(), result.error_message.c_str());
                        failed = true;
                        return;
                    }
                    accepted.append(n);
                };
                if (async) producer.publish_async({n}, report);  // reported once the record is durable
                else report(producer.publish({n}));
            }
        });
    for (auto& p : publishers) p.join();
    bus.drain();  // every publish_async callback has run once it returns
    bus.shutdown(std::chrono::seconds(30));
    return failed ? 3 : 0;
}
