// The scheduler on a real bus: what a fire publishes, when, and what happens around restarts.
// Most tests drive a manual_clock (no waiting); one runs on the system clock's timer thread.
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <span>
#include <stdexcept>
#include <thread>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <switchyard/schedule/scheduler.hpp>
#include <switchyard/switchyard.hpp>

#include "test_support.hpp"

using namespace std::chrono_literals;
using switchyard::manual_clock;
using switchyard::missed_fire_policy;
using switchyard::schedule_spec;
using switchyard::scheduler;
using switchyard::scheduler_options;
using std::chrono::sys_days;
using std::chrono::sys_seconds;

namespace {

sys_seconds utc(int y, unsigned m, unsigned d, int hh = 0, int mm = 0, int ss = 0) {
    return sys_days{std::chrono::year{y} / std::chrono::month{m} / std::chrono::day{d}} + std::chrono::hours(hh) +
           std::chrono::minutes(mm) + std::chrono::seconds(ss);
}

// Every event that reached the rule "all", as parsed JSON, in order.
class recorder {
public:
    explicit recorder(switchyard::bus& b, std::string pattern = R"({"detail-type": ["Scheduled Event"]})") {
        b.add_rule({.name = "all", .pattern = std::move(pattern), .targets = {switchyard::json_handler("t", [this](std::string_view text) {
                        std::lock_guard lock(mutex_);
                        events_.push_back(nlohmann::json::parse(text));
                        arrived_.add();
                    })}});
    }
    std::vector<nlohmann::json> events() const {
        std::lock_guard lock(mutex_);
        return events_;
    }
    std::vector<std::string> times() const {
        std::vector<std::string> out;
        for (const auto& e : events()) out.push_back(e.at("time").get<std::string>());
        return out;
    }
    const tally& arrived() const { return arrived_; }

private:
    mutable std::mutex mutex_;
    std::vector<nlohmann::json> events_;
    tally arrived_;
};

}  // namespace

TEST_CASE("a cron schedule publishes EventBridge's Scheduled Event at each time, in order") {
    manual_clock clock{utc(2026, 3, 2, 9, 0)};  // a Monday
    switchyard::bus b{"ops", switchyard::bus_options{}.with_account("123456789012").with_region("eu-west-1")};
    recorder seen{b};
    scheduler s{b, {.clock = &clock}};
    s.add({.name = "weekday-report", .expression = "cron(0 18 ? * MON-FRI *)"});
    REQUIRE(s.info("weekday-report")->next_fire == utc(2026, 3, 2, 18, 0));

    clock.advance(std::chrono::days(7));
    CHECK(seen.times() == std::vector<std::string>{"2026-03-02T18:00:00Z", "2026-03-03T18:00:00Z", "2026-03-04T18:00:00Z",
                                                   "2026-03-05T18:00:00Z", "2026-03-06T18:00:00Z"});
    const auto first = seen.events().at(0);
    CHECK(first.at("source") == "aws.events");
    CHECK(first.at("detail-type") == "Scheduled Event");
    CHECK(first.at("account") == "123456789012");
    CHECK(first.at("region") == "eu-west-1");
    CHECK(first.at("resources") == nlohmann::json::array({"arn:aws:scheduler:eu-west-1:123456789012:schedule/default/weekday-report"}));
    CHECK(first.at("detail") == nlohmann::json::object());

    const auto info = *s.info("weekday-report");
    CHECK(info.fires == 5);
    CHECK(info.missed_fires == 0);
    CHECK(info.late_fires == 0);
    CHECK(info.last_fire == utc(2026, 3, 6, 18, 0));
    CHECK(info.next_fire == utc(2026, 3, 9, 18, 0));
}

TEST_CASE("a fire's id derives from the schedule and its time: the same fire has the same id, others differ") {
    manual_clock clock{utc(2026, 1, 1)};
    switchyard::bus b{"ops"};
    recorder seen{b};
    scheduler s{b, {.clock = &clock}};
    s.add({.name = "hourly", .expression = "cron(0 * * * ? *)"});
    clock.advance(2h);
    const auto events = seen.events();
    REQUIRE(events.size() == 3);  // 00:00, 01:00, 02:00
    CHECK(events[0].at("id") != events[1].at("id"));
    CHECK(events[1].at("id") != events[2].at("id"));
    CHECK(events[0].at("id").get<std::string>().size() == 36);

    // The same schedule and times in another bus and scheduler: the same ids.
    manual_clock again{utc(2026, 1, 1)};
    switchyard::bus other{"other"};
    recorder seen_again{other};
    scheduler s2{other, {.clock = &again}};
    s2.add({.name = "hourly", .expression = "cron(0 * * * ? *)"});
    again.advance(1h);
    REQUIRE(seen_again.events().size() == 2);
    CHECK(seen_again.events()[0].at("id") == events[0].at("id"));
    CHECK(seen_again.events()[1].at("id") == events[1].at("id"));
}

TEST_CASE("a fire published twice is delivered once when the bus deduplicates") {
    manual_clock clock{utc(2026, 1, 1)};
    switchyard::bus b{"ops", switchyard::bus_options{}.with_dedup({})};
    recorder seen{b};
    // Two schedulers of the same group firing the same schedule: the second fire is a duplicate.
    scheduler first{b, {.clock = &clock}};
    scheduler second{b, {.clock = &clock}};
    first.add({.name = "tick", .expression = "rate(5 minutes)"});
    second.add({.name = "tick", .expression = "rate(5 minutes)"});
    clock.advance(10min);
    CHECK(seen.times() == std::vector<std::string>{"2026-01-01T00:00:00Z", "2026-01-01T00:05:00Z", "2026-01-01T00:10:00Z"});
    CHECK(b.dedup_statistics()->duplicates == 3);
}

TEST_CASE("rate fires at its start and every period; start and end bound it") {
    manual_clock clock{utc(2026, 5, 1, 12, 0)};
    switchyard::bus b{"ops"};
    recorder seen{b};
    scheduler s{b, {.clock = &clock}};

    SUBCASE("without a start: at once, then every period") {
        s.add({.name = "r", .expression = "rate(1 hour)"});
        clock.advance(3h);
        CHECK(seen.times() == std::vector<std::string>{"2026-05-01T12:00:00Z", "2026-05-01T13:00:00Z", "2026-05-01T14:00:00Z",
                                                       "2026-05-01T15:00:00Z"});
    }
    SUBCASE("from a future start to an end") {
        s.add({.name = "r", .expression = "rate(30 minutes)", .start = utc(2026, 5, 1, 13, 10), .end = utc(2026, 5, 1, 14, 15)});
        clock.advance(5h);
        CHECK(seen.times() == std::vector<std::string>{"2026-05-01T13:10:00Z", "2026-05-01T13:40:00Z", "2026-05-01T14:10:00Z"});
        CHECK_FALSE(s.info("r")->next_fire.has_value());
    }
    SUBCASE("a start in the past counts the period from it, firing from now on") {
        s.add({.name = "r", .expression = "rate(45 minutes)", .start = utc(2026, 5, 1, 11, 0)});
        CHECK(s.info("r")->next_fire == utc(2026, 5, 1, 12, 30));
        clock.advance(1h);
        CHECK(seen.times() == std::vector<std::string>{"2026-05-01T12:30:00Z"});
    }
}

TEST_CASE("at() fires once, in its time zone; a past at() never fires") {
    manual_clock clock{utc(2026, 7, 1)};
    switchyard::bus b{"ops"};
    recorder seen{b};
    scheduler s{b, {.clock = &clock}};
    s.add({.name = "once", .expression = "at(2026-07-01T09:30:00)", .time_zone = "America/New_York"});
    s.add({.name = "past", .expression = "at(2026-06-30T09:30:00)"});
    CHECK(s.info("once")->next_fire == utc(2026, 7, 1, 13, 30));  // EDT is UTC-4
    CHECK_FALSE(s.info("past")->next_fire.has_value());
    clock.advance(std::chrono::days(2));
    CHECK(seen.times() == std::vector<std::string>{"2026-07-01T13:30:00Z"});
}

TEST_CASE("a cron schedule follows its zone across a daylight-saving change") {
    manual_clock clock{utc(2026, 3, 6)};
    switchyard::bus b{"ops"};
    recorder seen{b};
    scheduler s{b, {.clock = &clock}};
    s.add({.name = "nine", .expression = "cron(0 9 * * ? *)", .time_zone = "America/New_York"});
    clock.advance(std::chrono::days(4));
    // 09:00 in New York is 14:00Z before 2026-03-08 and 13:00Z from then on.
    CHECK(seen.times() == std::vector<std::string>{"2026-03-06T14:00:00Z", "2026-03-07T14:00:00Z", "2026-03-08T13:00:00Z",
                                                   "2026-03-09T13:00:00Z"});
}

TEST_CASE("a flexible window fires within the window; the event keeps the scheduled time") {
    manual_clock clock{utc(2026, 2, 1)};
    switchyard::bus b{"ops"};
    std::vector<std::pair<std::string, std::chrono::system_clock::time_point>> fires;
    b.add_rule({.name = "all", .pattern = R"({"source": ["aws.events"]})", .targets = {switchyard::json_handler("t", [&](std::string_view text) {
                    fires.emplace_back(nlohmann::json::parse(text).at("time").get<std::string>(), clock.now());
                })}});
    scheduler s{b, {.clock = &clock, .seed = 42}};
    s.add({.name = "flex", .expression = "cron(0 * * * ? *)", .flexible_window = std::chrono::minutes(15)});
    clock.advance(24h);
    REQUIRE(fires.size() == 24);
    bool some_offset = false;
    for (const auto& [time, at] : fires) {
        const auto scheduled = *switchyard::detail::parse_rfc3339(time);
        CHECK(at >= scheduled);
        CHECK(at < scheduled + std::chrono::minutes(15));
        some_offset = some_offset || at > scheduled;
    }
    CHECK(some_offset);
    CHECK(s.info("flex")->late_fires == 0);
}

TEST_CASE("disable stops a schedule, enable resumes it without counting the times in between as missed") {
    manual_clock clock{utc(2026, 1, 1)};
    switchyard::bus b{"ops"};
    recorder seen{b};
    scheduler s{b, {.clock = &clock}};
    s.add({.name = "m", .expression = "rate(10 minutes)"});
    clock.advance(10min);
    s.disable("m");
    CHECK_FALSE(s.info("m")->enabled);
    clock.advance(1h);
    s.enable("m");
    clock.advance(20min);
    CHECK(seen.times() == std::vector<std::string>{"2026-01-01T00:00:00Z", "2026-01-01T00:10:00Z", "2026-01-01T01:20:00Z",
                                                   "2026-01-01T01:30:00Z"});
    CHECK(s.info("m")->missed_fires == 0);

    SUBCASE("a schedule added disabled never fires until enabled") {
        s.add({.name = "off", .expression = "rate(1 minute)", .enabled = false});
        clock.advance(10min);
        CHECK_FALSE(s.info("off")->next_fire.has_value());
        CHECK(s.info("off")->fires == 0);
        s.enable("off");
        clock.advance(2min);
        CHECK(s.info("off")->fires == 2);
        CHECK(s.info("off")->missed_fires == 0);
    }
}

TEST_CASE("fire_now publishes at once with the current time and leaves the schedule as it was") {
    manual_clock clock{utc(2026, 1, 1, 8, 0, 30)};
    switchyard::bus b{"ops"};
    recorder seen{b};
    scheduler s{b, {.clock = &clock}};
    s.add({.name = "nightly", .expression = "cron(0 2 * * ? *)", .detail = R"({"job": "settle"})"});
    const auto result = s.fire_now("nightly");
    CHECK(result.ok());
    REQUIRE(seen.events().size() == 1);
    CHECK(seen.events()[0].at("time") == "2026-01-01T08:00:30Z");
    CHECK(seen.events()[0].at("detail") == nlohmann::json{{"job", "settle"}});
    CHECK(s.info("nightly")->next_fire == utc(2026, 1, 2, 2, 0));
    CHECK(s.info("nightly")->fires == 1);
    CHECK_THROWS_WITH_AS(s.fire_now("nope"), "there is no schedule named 'nope'", switchyard::schedule_error);
}

TEST_CASE("bad schedules are refused with the field at fault") {
    manual_clock clock{utc(2026, 1, 1)};
    switchyard::bus b{"ops"};
    scheduler s{b, {.clock = &clock}};
    using doctest::Contains;
    CHECK_THROWS_WITH_AS(s.add({.name = "has space", .expression = "rate(1 hour)"}), Contains("schedule name \"has space\" is not valid"),
                         switchyard::schedule_error);
    CHECK_THROWS_WITH_AS(s.add({.name = "x", .expression = "every hour"}), Contains("schedule 'x': "), switchyard::schedule_error);
    CHECK_THROWS_WITH_AS(s.add({.name = "x", .expression = "rate(1 hour)", .time_zone = "Mars/Olympus"}),
                         Contains("Mars/Olympus"), switchyard::schedule_error);
    CHECK_THROWS_WITH_AS(s.add({.name = "x", .expression = "rate(1 hour)", .start = utc(2026, 2, 1), .end = utc(2026, 1, 1)}),
                         Contains("its end is before its start"), switchyard::schedule_error);
    CHECK_THROWS_WITH_AS(s.add({.name = "x", .expression = "rate(1 hour)", .detail = "[1]"}), Contains("detail must be a JSON object"),
                         switchyard::schedule_error);
    CHECK_THROWS_WITH_AS(s.add({.name = "x", .expression = "rate(1 hour)", .on_missed = missed_fire_policy::fire_all, .max_catch_up = 0}),
                         Contains("max_catch_up is 0"), switchyard::schedule_error);
    s.add({.name = "x", .expression = "rate(1 hour)"});
    CHECK_THROWS_WITH_AS(s.add({.name = "x", .expression = "rate(2 hours)"}), Contains("a schedule named 'x' exists"),
                         switchyard::schedule_error);
    s.put({.name = "x", .expression = "rate(2 hours)"});
    CHECK(s.info("x")->expression == "rate(2 hours)");
    CHECK(s.remove("x"));
    CHECK_FALSE(s.remove("x"));
    CHECK_THROWS_WITH_AS(s.enable("x"), "there is no schedule named 'x'", switchyard::schedule_error);
    CHECK_THROWS_WITH_AS((scheduler{b, {.group = "a/b"}}), Contains("scheduler group \"a/b\" is not valid"), switchyard::schedule_error);
    CHECK(s.list().empty());
}

TEST_CASE("a fire the bus refuses is counted, reported and tried again") {
    manual_clock clock{utc(2026, 1, 1)};
    switchyard::bus b{"ops"};
    recorder seen{b};
    std::vector<std::string> errors;
    scheduler s{b, {.clock = &clock, .retry_interval = std::chrono::seconds(30), .on_error = [&](std::string_view name, std::string_view message) {
                        errors.push_back(std::string(name) + ": " + std::string(message));
                    }}};
    s.add({.name = "r", .expression = "rate(1 hour)", .start = utc(2026, 1, 1, 1, 0)});
    REQUIRE(b.shutdown(1s));
    clock.advance(60min + 45s);
    const auto info = *s.info("r");
    CHECK(info.fires == 0);
    CHECK(info.failed_fires == 2);  // at 01:00:00 and again at 01:00:30
    CHECK(info.next_fire == utc(2026, 1, 1, 1, 0));  // still the refused time
    REQUIRE_FALSE(errors.empty());
    CHECK(errors[0].find("r: the fire of 2026-01-01T01:00:00Z was refused by bus 'ops' (BusShutDown") == 0);
}

TEST_CASE("metrics count fires, missed and late fires per schedule") {
    manual_clock clock{utc(2026, 1, 1)};
    switchyard::bus b{"ops"};
    scheduler s{b, {.clock = &clock}};
    s.add({.name = "m", .expression = "rate(1 minute)"});
    clock.advance(2min);
    const auto snapshot = s.metrics();
    const auto* fires = snapshot.find("ScheduleFires", {{"group", "default"}, {"schedule", "m"}});
    REQUIRE(fires != nullptr);
    CHECK(fires->value == 3);
    CHECK(snapshot.find("ScheduleMissedFires", {{"schedule", "m"}})->value == 0);
    CHECK(switchyard::render_prometheus(snapshot).find("schedule=\"m\"") != std::string::npos);
}

TEST_CASE("a refused fire is retried until the bus takes it, however late, and is not counted missed") {
    manual_clock clock{utc(2026, 1, 1)};
    // A journal that refuses its first records (a full disk, say), then recovers.
    struct refusing_journal final : switchyard::journal {
        int refusals = 3;
        switchyard::memory_journal inner;
        std::uint64_t record_accepted(std::string_view json, std::span<const switchyard::journal_delivery> d) override {
            if (refusals > 0) {
                --refusals;
                throw std::runtime_error("disk full");
            }
            return inner.record_accepted(json, d);
        }
        void record_ended(std::uint64_t s, std::string_view r, std::string_view t) noexcept override { inner.record_ended(s, r, t); }
        std::vector<switchyard::journaled_event> unfinished() override { return inner.unfinished(); }
    };
    auto journal = std::make_shared<refusing_journal>();
    switchyard::bus b{"ops", switchyard::bus_options{}.with_journal(journal)};
    recorder seen{b};
    std::vector<std::string> errors;
    scheduler s{b, {.clock = &clock, .retry_interval = std::chrono::minutes(1),
                    .on_error = [&](std::string_view, std::string_view m) { errors.emplace_back(m); }}};
    s.add({.name = "r", .expression = "cron(0 1 * * ? *)", .on_missed = missed_fire_policy::skip});
    clock.advance(2h);  // refused at 01:00, 01:01, 01:02; delivered at 01:03, three minutes late
    CHECK(seen.times() == std::vector<std::string>{"2026-01-01T01:00:00Z"});
    const auto info = *s.info("r");
    CHECK(info.failed_fires == 3);
    CHECK(info.fires == 1);
    CHECK(info.missed_fires == 0);
    CHECK(info.late_fires == 1);
    REQUIRE(errors.size() >= 3);  // the journal without checkpoints said so first
    CHECK(errors.front().find("keeps no checkpoints") != std::string::npos);
}

TEST_CASE("handlers may call the scheduler: from on_error and from a fire's delivery") {
    manual_clock clock{utc(2026, 1, 1)};

    SUBCASE("on_error reads and disables the schedule (no deadlock)") {
        switchyard::bus b{"ops"};
        std::optional<switchyard::schedule_info> seen_from_handler;
        scheduler* self = nullptr;
        scheduler s{b, {.clock = &clock, .on_error = [&](std::string_view name, std::string_view) {
                            seen_from_handler = self->info(name);
                            self->disable(name);
                        }}};
        self = &s;
        s.add({.name = "r", .expression = "rate(1 hour)"});
        REQUIRE(b.shutdown(1s));
        clock.advance(2h);
        REQUIRE(seen_from_handler.has_value());
        CHECK(seen_from_handler->failed_fires == 1);
        CHECK(s.info("r")->failed_fires == 1);  // disabled: not retried
        CHECK_FALSE(s.info("r")->enabled);
    }
    SUBCASE("remove() inside a fire stops the rest of a catch-up and clears the saved progress") {
        auto journal = std::make_shared<switchyard::memory_journal>();
        {
            switchyard::bus b{"ops", switchyard::bus_options{}.with_journal(journal)};
            scheduler s{b, {.clock = &clock}};
            s.add({.name = "c", .expression = "rate(1 hour)", .on_missed = missed_fire_policy::fire_all});
        }
        clock.advance(10h);  // down for ten hours: ten missed fires to catch up
        switchyard::bus b{"ops", switchyard::bus_options{}.with_journal(journal)};
        scheduler* self = nullptr;
        int delivered = 0;
        b.add_rule({.name = "all", .pattern = R"({"source": ["aws.events"]})", .targets = {switchyard::json_handler("t", [&](std::string_view) {
                        ++delivered;
                        CHECK(self->remove("c"));
                    })}});
        scheduler s{b, {.clock = &clock}};
        self = &s;
        s.add({.name = "c", .expression = "rate(1 hour)", .on_missed = missed_fire_policy::fire_all});
        clock.advance(1s);
        CHECK(delivered == 1);
        CHECK(s.list().empty());
        CHECK(journal->load_checkpoint("schedule/default/c") == "{}");
    }
    SUBCASE("put() inside a fire does not fire the same time again") {
        switchyard::bus b{"ops"};
        scheduler* self = nullptr;
        std::vector<std::string> times;
        b.add_rule({.name = "all", .pattern = R"({"source": ["aws.events"]})", .targets = {switchyard::json_handler("t", [&](std::string_view text) {
                        times.push_back(nlohmann::json::parse(text).at("time").get<std::string>());
                        if (times.size() == 2) self->put({.name = "h", .expression = "cron(0 * * * ? *)"});
                    })}});
        scheduler s{b, {.clock = &clock}};
        self = &s;
        s.add({.name = "h", .expression = "cron(0 * * * ? *)"});
        clock.advance(3h);
        CHECK(times == std::vector<std::string>{"2026-01-01T00:00:00Z", "2026-01-01T01:00:00Z", "2026-01-01T02:00:00Z",
                                                "2026-01-01T03:00:00Z"});
    }
    SUBCASE("moving the manual clock from inside a fire is refused with a message") {
        switchyard::bus b{"ops"};
        std::string refused;
        b.add_rule({.name = "all", .pattern = R"({"source": ["aws.events"]})", .targets = {switchyard::json_handler("t", [&](std::string_view) {
                        try {
                            clock.advance(1min);
                        } catch (const switchyard::error& e) {
                            refused = e.what();
                        }
                    })}});
        scheduler s{b, {.clock = &clock}};
        s.add({.name = "h", .expression = "rate(1 hour)"});
        clock.advance(1s);
        CHECK(refused.find("manual_clock moved from inside a fire") == 0);
    }
}

TEST_CASE("put() replacing a schedule: a new expression or a disabled one plans from now, inventing no fires") {
    manual_clock clock{utc(2026, 1, 1)};
    switchyard::bus b{"ops"};
    recorder seen{b};
    scheduler s{b, {.clock = &clock}};
    s.add({.name = "d", .expression = "cron(0 1 * * ? *)"});
    clock.advance(std::chrono::hours(21) + 30min);  // fired at 01:00; now 21:30
    s.put({.name = "d", .expression = "cron(0 6 * * ? *)"});
    CHECK(s.info("d")->next_fire == utc(2026, 1, 2, 6, 0));  // not today's 06:00, long past
    s.disable("d");
    clock.advance(std::chrono::days(2));
    s.put({.name = "d", .expression = "cron(0 6 * * ? *)"});
    clock.advance(1s);
    CHECK(seen.times() == std::vector<std::string>{"2026-01-01T01:00:00Z"});
    CHECK(s.info("d")->missed_fires == 0);
    CHECK(s.info("d")->fires == 1);  // counts survive the put
}

TEST_CASE("a rate missed for years is counted exactly, without visiting each time") {
    auto journal = std::make_shared<switchyard::memory_journal>();
    manual_clock clock{utc(2026, 1, 1)};
    {
        switchyard::bus b{"ops", switchyard::bus_options{}.with_journal(journal)};
        scheduler s{b, {.clock = &clock}};
        s.add({.name = "m", .expression = "rate(1 minute)", .on_missed = missed_fire_policy::fire_all, .max_catch_up = 3});
        clock.advance(30s);  // fired at 00:00
    }
    clock.set(std::chrono::system_clock::time_point(utc(2029, 1, 1)));  // three years (1,578,240 minutes) later
    switchyard::bus b{"ops", switchyard::bus_options{}.with_journal(journal)};
    recorder seen{b};
    scheduler s{b, {.clock = &clock}};
    s.add({.name = "m", .expression = "rate(1 minute)", .on_missed = missed_fire_policy::fire_all, .max_catch_up = 3});
    clock.advance(1s);
    // The scheduler wakes at 2029-01-01T00:00:00. Of the 1,578,241 minutes from 2026-01-01T00:00
    // to then, the first fired before the stop, and 23:59 and 00:00 are at most a minute late (on
    // time); the 1,578,238 between are missed. fire_all fires the latest three of them, then the
    // two on time.
    CHECK(seen.times() == std::vector<std::string>{"2028-12-31T23:56:00Z", "2028-12-31T23:57:00Z", "2028-12-31T23:58:00Z",
                                                   "2028-12-31T23:59:00Z", "2029-01-01T00:00:00Z"});
    CHECK(s.info("m")->missed_fires == 1'578'238 - 3);
}

// ---- restarts --------------------------------------------------------------------------------

TEST_CASE("after downtime, missed fires follow the schedule's policy") {
    auto journal = std::make_shared<switchyard::memory_journal>();
    manual_clock clock{utc(2026, 1, 1, 12, 0)};
    struct run {
        std::vector<std::string> times;
        switchyard::schedule_info info;
    };
    const auto run_for = [&](missed_fire_policy policy, std::size_t max_catch_up) {
        const std::string name = fmt::format("daily-{}", static_cast<int>(policy));
        {
            switchyard::bus b{"ops", switchyard::bus_options{}.with_journal(journal)};
            recorder seen{b};
            scheduler s{b, {.clock = &clock}};
            s.add({.name = name, .expression = "cron(0 13 * * ? *)", .on_missed = policy, .max_catch_up = max_catch_up});
            clock.advance(2h);  // fires 2026-01-01T13:00
            REQUIRE(seen.times().size() == 1);
        }
        // Down for four days: 13:00 on the 2nd, 3rd, 4th and 5th go by.
        clock.advance(std::chrono::days(4));
        switchyard::bus b{"ops", switchyard::bus_options{}.with_journal(journal)};
        recorder seen{b};
        scheduler s{b, {.clock = &clock}};
        s.add({.name = name, .expression = "cron(0 13 * * ? *)", .on_missed = policy, .max_catch_up = max_catch_up});
        clock.advance(1s);
        return run{seen.times(), *s.info(name)};
    };

    SUBCASE("fire_once: the latest missed time, once") {
        const auto r = run_for(missed_fire_policy::fire_once, 100);
        CHECK(r.times == std::vector<std::string>{"2026-01-05T13:00:00Z"});
        CHECK(r.info.missed_fires == 3);
        CHECK(r.info.late_fires == 1);
    }
    SUBCASE("fire_all: every missed time, oldest first") {
        const auto r = run_for(missed_fire_policy::fire_all, 100);
        CHECK(r.times == std::vector<std::string>{"2026-01-02T13:00:00Z", "2026-01-03T13:00:00Z", "2026-01-04T13:00:00Z",
                                                  "2026-01-05T13:00:00Z"});
        CHECK(r.info.missed_fires == 0);
        CHECK(r.info.late_fires == 4);
    }
    SUBCASE("fire_all with a bound: the latest ones") {
        const auto r = run_for(missed_fire_policy::fire_all, 2);
        CHECK(r.times == std::vector<std::string>{"2026-01-04T13:00:00Z", "2026-01-05T13:00:00Z"});
        CHECK(r.info.missed_fires == 2);
    }
    SUBCASE("skip: none; the next fire is the next one on time") {
        const auto r = run_for(missed_fire_policy::skip, 100);
        CHECK(r.times.empty());
        CHECK(r.info.missed_fires == 4);
        CHECK(r.info.next_fire == utc(2026, 1, 6, 13, 0));
    }
}

TEST_CASE("a restart before a schedule's first fire still handles the fires missed while down") {
    auto journal = std::make_shared<switchyard::memory_journal>();
    manual_clock clock{utc(2026, 1, 1, 12, 0)};
    {
        switchyard::bus b{"ops", switchyard::bus_options{}.with_journal(journal)};
        scheduler s{b, {.clock = &clock}};
        s.add({.name = "daily", .expression = "cron(0 13 * * ? *)"});
        s.add({.name = "once", .expression = "at(2026-01-02T09:00:00)"});
    }  // stopped at 12:00, before either fired
    clock.advance(std::chrono::days(4));
    switchyard::bus b{"ops", switchyard::bus_options{}.with_journal(journal)};
    recorder seen{b};
    scheduler s{b, {.clock = &clock}};
    s.add({.name = "daily", .expression = "cron(0 13 * * ? *)"});
    s.add({.name = "once", .expression = "at(2026-01-02T09:00:00)"});
    clock.advance(1s);
    auto times = seen.times();  // each schedule's in order; the two schedules in either order
    std::sort(times.begin(), times.end());
    CHECK(times == std::vector<std::string>{"2026-01-02T09:00:00Z", "2026-01-04T13:00:00Z"});
    CHECK(s.info("daily")->missed_fires == 3);
    CHECK(s.info("once")->late_fires == 1);
}

TEST_CASE("a restart goes on from the last fire: nothing is fired twice") {
    auto journal = std::make_shared<switchyard::memory_journal>();
    manual_clock clock{utc(2026, 1, 1)};
    std::vector<std::string> all;
    for (int run = 0; run < 3; ++run) {
        switchyard::bus b{"ops", switchyard::bus_options{}.with_journal(journal)};
        recorder seen{b};
        scheduler s{b, {.clock = &clock}};
        s.add({.name = "q", .expression = "rate(15 minutes)"});
        clock.advance(20min);
        for (auto& t : seen.times()) all.push_back(t);
    }
    // Every 15 minutes from the first start, each once, across three runs.
    CHECK(all == std::vector<std::string>{"2026-01-01T00:00:00Z", "2026-01-01T00:15:00Z", "2026-01-01T00:30:00Z", "2026-01-01T00:45:00Z",
                                          "2026-01-01T01:00:00Z"});
}

TEST_CASE("a fire cut short by a crash is published again with the same id, once") {
    // The journal as it was while a fire was being delivered: copied from inside the handler.
    manual_clock clock{utc(2026, 1, 1)};
    auto journal = std::make_shared<switchyard::memory_journal>();
    std::optional<std::string> saved_mid_fire;
    std::string first_id;
    {
        switchyard::bus b{"ops", switchyard::bus_options{}.with_journal(journal)};
        scheduler s{b, {.clock = &clock}};
        b.add_rule({.name = "all", .pattern = R"({"source": ["aws.events"]})", .targets = {switchyard::json_handler("t", [&](std::string_view text) {
                        first_id = nlohmann::json::parse(text).at("id").get<std::string>();
                        saved_mid_fire = journal->load_checkpoint("schedule/default/settle");
                    })}});
        s.add({.name = "settle", .expression = "cron(0 1 * * ? *)"});
        clock.advance(2h);
    }
    REQUIRE(saved_mid_fire.has_value());
    CHECK(nlohmann::json::parse(*saved_mid_fire).at("firing") == utc(2026, 1, 1, 1, 0).time_since_epoch().count());

    SUBCASE("the journal no longer holds the event: the scheduler publishes it again") {
        auto crashed = std::make_shared<switchyard::memory_journal>();
        crashed->save_checkpoint("schedule/default/settle", *saved_mid_fire);
        switchyard::bus b{"ops", switchyard::bus_options{}.with_journal(crashed)};
        recorder seen{b, R"({"source": ["aws.events"]})"};
        scheduler s{b, {.clock = &clock}};
        s.add({.name = "settle", .expression = "cron(0 1 * * ? *)"});
        clock.advance(1s);
        REQUIRE(seen.events().size() == 1);
        CHECK(seen.events()[0].at("id") == first_id);
        CHECK(seen.events()[0].at("time") == "2026-01-01T01:00:00Z");
        CHECK(s.info("settle")->last_fire == utc(2026, 1, 1, 1, 0));
    }
    SUBCASE("the journal still holds it: recover() delivers it and the scheduler does not") {
        // The event as the journal recorded it, with its delivery still open.
        auto e = switchyard::make_json_event(
            switchyard::envelope{.id = first_id, .detail_type = "Scheduled Event", .source = "aws.events", .account = "000000000000",
                                 .time = "2026-01-01T01:00:00Z", .region = "local", .resources = {}, .replay_name = {}, .trace = {}},
            "{}");
        const switchyard::journal_delivery open[] = {{"all", "t"}};

        for (const bool scheduler_first : {true, false}) {
            CAPTURE(scheduler_first);
            auto copy = std::make_shared<switchyard::memory_journal>();
            copy->save_checkpoint("schedule/default/settle", *saved_mid_fire);
            (void)copy->record_accepted(e->json(), open);
            switchyard::bus b{"ops", switchyard::bus_options{}.with_journal(copy).with_dedup({})};
            recorder seen{b, R"({"source": ["aws.events"]})"};
            scheduler s{b, {.clock = &clock}};
            if (scheduler_first) {
                s.add({.name = "settle", .expression = "cron(0 1 * * ? *)"});
                clock.advance(1s);
                (void)b.recover();
            } else {
                (void)b.recover();
                s.add({.name = "settle", .expression = "cron(0 1 * * ? *)"});
                clock.advance(1s);
            }
            b.drain();
            REQUIRE(seen.events().size() == 1);
            CHECK(seen.events()[0].at("id") == first_id);
        }
    }
}

// ---- the system clock --------------------------------------------------------------------------

TEST_CASE("on the system clock, a fire cut short by a crash is repeated at once") {
    auto journal = std::make_shared<switchyard::memory_journal>();
    const auto now = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
    const auto cut = now - std::chrono::minutes(5);
    journal->save_checkpoint("schedule/default/r",
                             nlohmann::json{{"expression", "rate(1 day)"}, {"anchor", cut.time_since_epoch().count()},
                                            {"firing", cut.time_since_epoch().count()}}
                                 .dump());
    switchyard::bus b{"ops", switchyard::bus_options{}.with_journal(journal)};
    recorder seen{b};
    scheduler s{b};
    s.add({.name = "r", .expression = "rate(1 day)"});
    REQUIRE(seen.arrived().wait_for(1, std::chrono::seconds(10)));  // not after the timer's 30 s recheck
    CHECK(seen.times() == std::vector<std::string>{switchyard::detail::format_rfc3339(cut)});
    CHECK(s.info("r")->next_fire == cut + std::chrono::days(1));
}

TEST_CASE("schedulers on one manual clock can be destroyed while another thread moves it") {
    manual_clock clock{utc(2026, 1, 1)};
    switchyard::bus b{"ops"};
    std::atomic<bool> done{false};
    std::thread mover([&] {
        while (!done) clock.advance(1min);
    });
    // Until the mover has run a while (and at least 200 times): each scheduler is destroyed while
    // the clock may be inside its fires.
    const auto moved_enough = std::chrono::system_clock::time_point(utc(2026, 1, 1)) + std::chrono::hours(2);
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    for (int i = 0; i < 200 || (clock.now() < moved_enough && std::chrono::steady_clock::now() < give_up); ++i) {
        scheduler s{b, {.clock = &clock}};
        s.add({.name = "m", .expression = "rate(1 minute)"});
    }
    done = true;
    mover.join();
    CHECK(clock.now() >= moved_enough);
}

TEST_CASE("on the system clock, a timer thread fires the schedule") {
    switchyard::bus b{"ops"};
    recorder seen{b};
    scheduler s{b};
    // One second ahead (at() has whole seconds): the timer thread must wake for it.
    const auto soon = std::chrono::ceil<std::chrono::seconds>(std::chrono::system_clock::now()) + std::chrono::seconds(1);
    const auto text = switchyard::detail::format_rfc3339(soon);
    s.add({.name = "soon", .expression = "at(" + text.substr(0, 19) + ")"});
    REQUIRE(seen.arrived().wait_for(1, std::chrono::seconds(10)));
    CHECK(seen.times() == std::vector<std::string>{text});
    CHECK(s.info("soon")->late_fires == 0);
}
