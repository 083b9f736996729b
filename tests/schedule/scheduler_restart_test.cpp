// The restart test, with real parts: a child process runs a daily schedule on a bus journaled
// in a SQLite file and is killed with SIGKILL in the middle of a fire's delivery; the test then
// restarts "three days later" on the same file and checks every fire against the schedule's
// missed-fire policy: the fire the kill cut short is delivered once (by recover()), and the
// fires of the downtime follow the policy. POSIX only (fork, SIGKILL).
#include <doctest/doctest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <switchyard/schedule/scheduler.hpp>
#include <switchyard/sqlite/sqlite_journal.hpp>
#include <switchyard/switchyard.hpp>

#include "durability/temp_dir.hpp"

namespace {

using std::chrono::sys_days;
using std::chrono::sys_seconds;
using namespace std::chrono_literals;

sys_seconds utc(int y, unsigned m, unsigned d, int hh = 0) {
    return sys_days{std::chrono::year{y} / std::chrono::month{m} / std::chrono::day{d}} + std::chrono::hours(hh);
}

// Appends "time id\n" for each delivery; write(2) with O_APPEND reaches the file even when the
// process is killed right after.
switchyard::target logging_target(const std::string& file, const std::string& kill_at = {}) {
    return switchyard::json_handler("log", [file, kill_at](std::string_view text) {
        const auto e = nlohmann::json::parse(text);
        const auto time = e.at("time").get<std::string>();
        if (time == kill_at) ::kill(::getpid(), SIGKILL);  // killed while the fire is being delivered
        const auto line = time + " " + e.at("id").get<std::string>() + "\n";
        const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
        REQUIRE(fd >= 0);
        REQUIRE(::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()));
        ::close(fd);
    });
}

switchyard::schedule_spec daily(switchyard::missed_fire_policy policy) {
    return {.name = "settle", .expression = "cron(0 1 * * ? *)", .on_missed = policy};
}

// time -> how many deliveries, and time -> the ids seen.
std::map<std::string, std::vector<std::string>> read_log(const std::string& file) {
    std::ifstream in(file);
    std::map<std::string, std::vector<std::string>> out;
    for (std::string time, id; in >> time >> id;) out[time].push_back(id);
    return out;
}

// Runs the child until its kill at 2026-01-04T01:00, then restarts at 2026-01-07T02:00 on the
// same journal file; returns the log of deliveries.
std::map<std::string, std::vector<std::string>> crash_and_restart(switchyard::missed_fire_policy policy, const temp_dir& dir,
                                                                  std::uint64_t expect_missed) {
    const auto journal_file = dir.file("journal.db");
    const auto log = dir.file("delivered");
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        // The child: three days of fires, then the fourth kills it during its delivery.
        auto journal = std::make_shared<switchyard::sqlite_journal>(journal_file);
        switchyard::bus b{"ops", switchyard::bus_options{}.with_journal(journal)};
        b.add_rule({.name = "settlement", .pattern = R"({"source": ["aws.events"]})",
                    .targets = {logging_target(log, "2026-01-04T01:00:00Z")}});
        switchyard::manual_clock clock{utc(2026, 1, 1)};
        switchyard::scheduler s{b, {.clock = &clock}};
        s.add(daily(policy));
        clock.advance(std::chrono::days(4));
        std::_Exit(3);  // not reached: the kill comes first
    }
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    REQUIRE(WIFSIGNALED(status));
    REQUIRE(WTERMSIG(status) == SIGKILL);

    // The restart, three days on: rules and schedules first, and the schedules run (on a system
    // clock they may fire at once) before recover() delivers what the kill cut short.
    auto journal = std::make_shared<switchyard::sqlite_journal>(journal_file);
    switchyard::bus b{"ops", switchyard::bus_options{}.with_journal(journal).with_dedup({})};
    b.add_rule({.name = "settlement", .pattern = R"({"source": ["aws.events"]})", .targets = {logging_target(log)}});
    switchyard::manual_clock clock{utc(2026, 1, 7, 2)};
    switchyard::scheduler s{b, {.clock = &clock}};
    s.add(daily(policy));
    clock.advance(1s);
    const auto recovered = b.recover();
    CHECK(recovered.deliveries == 1);  // the fire the kill cut short
    b.drain();
    const auto info = *s.info("settle");
    CHECK(info.next_fire == utc(2026, 1, 8, 1));
    CHECK(info.last_fire.has_value());
    CHECK(info.missed_fires == expect_missed);
    return read_log(log);
}

// Each listed time delivered exactly once, and nothing else.
void check_delivered(const std::map<std::string, std::vector<std::string>>& log, const std::vector<std::string>& times) {
    std::vector<std::string> seen;
    for (const auto& [time, ids] : log) {
        CAPTURE(time);
        CHECK(ids.size() == 1);
        seen.push_back(time);
    }
    CHECK(seen == times);
}

}  // namespace

TEST_CASE("restart test: a scheduler killed mid-fire resumes by its policy, nothing lost or doubled") {
    temp_dir dir;
    const std::vector<std::string> before = {"2026-01-01T01:00:00Z", "2026-01-02T01:00:00Z", "2026-01-03T01:00:00Z",
                                             "2026-01-04T01:00:00Z"};
    auto with = [&](std::vector<std::string> downtime) {
        auto all = before;
        all.insert(all.end(), downtime.begin(), downtime.end());
        return all;
    };
    SUBCASE("fire_once: the cut fire, then the latest missed one") {
        check_delivered(crash_and_restart(switchyard::missed_fire_policy::fire_once, dir, 2), with({"2026-01-07T01:00:00Z"}));
    }
    SUBCASE("fire_all: the cut fire, then every missed one") {
        check_delivered(crash_and_restart(switchyard::missed_fire_policy::fire_all, dir, 0),
                        with({"2026-01-05T01:00:00Z", "2026-01-06T01:00:00Z", "2026-01-07T01:00:00Z"}));
    }
    SUBCASE("skip: the cut fire only") {
        check_delivered(crash_and_restart(switchyard::missed_fire_policy::skip, dir, 3), with({}));
    }
}
