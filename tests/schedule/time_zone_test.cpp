// Time zones from the system's tz database, and schedules across daylight saving transitions. The
// 2026 transitions used here, checked against tzdata 2025b with zdump:
//   America/New_York  2026-03-08 02:00 EST -> 03:00 EDT (07:00Z); 2026-11-01 02:00 EDT -> 01:00 EST (06:00Z)
//   Europe/London     2026-03-29 01:00 GMT -> 02:00 BST (01:00Z); 2026-10-25 02:00 BST -> 01:00 GMT (01:00Z)
//   Australia/Sydney  2026-04-05 03:00 AEDT -> 02:00 AEST (04-04 16:00Z); 2026-10-04 02:00 AEST -> 03:00 AEDT
//                     (10-03 16:00Z)
#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include <switchyard/detail/time.hpp>
#include <switchyard/schedule/expression.hpp>

#include "schedule/schedule_test_support.hpp"

using switchyard::schedule_error;
using switchyard::schedule_expression;
using switchyard::time_zone;

namespace {

std::chrono::sys_seconds at_utc(std::string_view rfc3339) { return schedule_test::instant(rfc3339); }

// The next `count` fires strictly after `from`, as RFC 3339 in `zone`.
std::vector<std::string> fires_in(std::string_view zone_name, std::string_view expression, std::string_view from,
                                  int count, std::string_view anchor = {}) {
    return schedule_test::fires(expression, from, count, zone_name, anchor);
}

using strings = std::vector<std::string>;
using std::chrono::hours;
using std::chrono::minutes;

}  // namespace

TEST_CASE("time_zone: UTC by default, IANA names from the tz database") {
    const time_zone utc;
    CHECK(utc.name() == "UTC");
    CHECK(utc == time_zone::locate("UTC"));
    CHECK(utc.utc_offset(at_utc("2026-07-01T00:00:00Z")) == std::chrono::seconds{0});
    CHECK(utc.format(at_utc("2026-03-09T16:00:00Z")) == "2026-03-09T16:00:00+00:00");
    const auto new_york = time_zone::locate("America/New_York");
    CHECK(new_york.name() == "America/New_York");
    CHECK(new_york == time_zone::locate("America/New_York"));
    CHECK_FALSE(new_york == utc);
    CHECK(time_zone::locate("Etc/UTC").utc_offset(at_utc("2026-07-01T00:00:00Z")) == std::chrono::seconds{0});
}

TEST_CASE("time_zone: unknown names are refused with an example of a good one") {
    using doctest::Contains;
    CHECK_THROWS_WITH_AS(time_zone::locate("America/Nwe_York"),
                         "unknown time zone 'America/Nwe_York': use an IANA name such as America/New_York, "
                         "Europe/London or UTC",
                         schedule_error);
    CHECK_THROWS_WITH_AS(time_zone::locate(""), Contains("unknown time zone ''"), schedule_error);
    CHECK_THROWS_WITH_AS(time_zone::locate("america/new_york"), Contains("unknown time zone 'america/new_york'"),
                         schedule_error);
    CHECK_THROWS_WITH_AS(time_zone::locate("EST5EDT "), Contains("unknown time zone"), schedule_error);
}

TEST_CASE("time_zone: offsets switch at the 2026 transitions") {
    const auto new_york = time_zone::locate("America/New_York");
    CHECK(new_york.utc_offset(at_utc("2026-03-08T06:59:59Z")) == hours{-5});
    CHECK(new_york.utc_offset(at_utc("2026-03-08T07:00:00Z")) == hours{-4});
    CHECK(new_york.utc_offset(at_utc("2026-11-01T05:59:59Z")) == hours{-4});
    CHECK(new_york.utc_offset(at_utc("2026-11-01T06:00:00Z")) == hours{-5});
    const auto london = time_zone::locate("Europe/London");
    CHECK(london.utc_offset(at_utc("2026-03-29T00:59:59Z")) == hours{0});
    CHECK(london.utc_offset(at_utc("2026-03-29T01:00:00Z")) == hours{1});
    CHECK(london.utc_offset(at_utc("2026-10-25T00:59:59Z")) == hours{1});
    CHECK(london.utc_offset(at_utc("2026-10-25T01:00:00Z")) == hours{0});
    const auto sydney = time_zone::locate("Australia/Sydney");
    CHECK(sydney.utc_offset(at_utc("2026-04-04T15:59:59Z")) == hours{11});
    CHECK(sydney.utc_offset(at_utc("2026-04-04T16:00:00Z")) == hours{10});
    CHECK(sydney.utc_offset(at_utc("2026-10-03T15:59:59Z")) == hours{10});
    CHECK(sydney.utc_offset(at_utc("2026-10-03T16:00:00Z")) == hours{11});
}

TEST_CASE("time_zone: to_local and format carry the offset in force") {
    using namespace std::chrono;
    const auto new_york = time_zone::locate("America/New_York");
    const auto t = at_utc("2026-03-09T16:00:00Z");
    CHECK(new_york.to_local(t) == local_days{year{2026} / March / 9} + hours{12});
    CHECK(new_york.format(t) == "2026-03-09T12:00:00-04:00");
    CHECK(new_york.format(at_utc("2026-01-15T17:30:05Z")) == "2026-01-15T12:30:05-05:00");
    // The two 01:30s of the fall-back night.
    CHECK(new_york.format(at_utc("2026-11-01T05:30:00Z")) == "2026-11-01T01:30:00-04:00");
    CHECK(new_york.format(at_utc("2026-11-01T06:30:00Z")) == "2026-11-01T01:30:00-05:00");
    CHECK(time_zone::locate("Australia/Sydney").format(at_utc("2026-01-01T00:00:00Z")) == "2026-01-01T11:00:00+11:00");
    CHECK(time_zone::locate("Asia/Kolkata").format(at_utc("2026-01-01T00:00:00Z")) == "2026-01-01T05:30:00+05:30");
    // Half-hour offsets west of Greenwich: Newfoundland is UTC-03:30 in winter.
    CHECK(time_zone::locate("America/St_Johns").format(at_utc("2026-01-15T12:00:00Z")) ==
          "2026-01-15T08:30:00-03:30");
    // The local date differs from the UTC date across midnight.
    CHECK(time_zone::locate("Pacific/Auckland").format(at_utc("2026-06-30T20:00:00Z")) == "2026-07-01T08:00:00+12:00");
}

TEST_CASE("cron across spring-forward: a skipped local time does not fire") {
    // New York 2026-03-08: 02:30 does not exist, so that day has no fire.
    CHECK(fires_in("America/New_York", "cron(30 2 * * ? *)", "2026-03-07T00:00:00Z", 3) ==
          strings{"2026-03-07T02:30:00-05:00", "2026-03-09T02:30:00-04:00", "2026-03-10T02:30:00-04:00"});
    // Every 30 minutes: 01:30 EST is followed by 03:00 EDT, half an hour later in real time.
    CHECK(fires_in("America/New_York", "cron(0/30 * * * ? *)", "2026-03-08T06:15:00Z", 3) ==
          strings{"2026-03-08T01:30:00-05:00", "2026-03-08T03:00:00-04:00", "2026-03-08T03:30:00-04:00"});
    // Noon is unaffected but moves an hour earlier in UTC (the example output).
    CHECK(fires_in("America/New_York", "cron(0 12 * * ? *)", "2026-03-07T00:00:00Z", 3) ==
          strings{"2026-03-07T12:00:00-05:00", "2026-03-08T12:00:00-04:00", "2026-03-09T12:00:00-04:00"});
    // London 2026-03-29: 01:30 does not exist (01:00 GMT jumps to 02:00 BST).
    CHECK(fires_in("Europe/London", "cron(30 1 * * ? *)", "2026-03-28T12:00:00Z", 2) ==
          strings{"2026-03-30T01:30:00+01:00", "2026-03-31T01:30:00+01:00"});
    // Sydney 2026-10-04: 02:30 does not exist (02:00 AEST jumps to 03:00 AEDT).
    CHECK(fires_in("Australia/Sydney", "cron(30 2 * * ? *)", "2026-10-03T00:00:00Z", 2) ==
          strings{"2026-10-05T02:30:00+11:00", "2026-10-06T02:30:00+11:00"});
    // Berlin, the same night as London, one hour east: 02:30 does not exist.
    CHECK(fires_in("Europe/Berlin", "cron(30 2 29 3 ? 2026-2027)", "2026-01-01T00:00:00Z", 2) ==
          strings{"2027-03-29T02:30:00+02:00"});
}

TEST_CASE("cron across fall-back: a repeated local time fires once, at its first occurrence") {
    // New York 2026-11-01: 01:30 happens at 05:30Z (EDT) and 06:30Z (EST); it fires at the first.
    CHECK(fires_in("America/New_York", "cron(30 1 * * ? *)", "2026-10-31T12:00:00Z", 3) ==
          strings{"2026-11-01T01:30:00-04:00", "2026-11-02T01:30:00-05:00", "2026-11-03T01:30:00-05:00"});
    // From between the two occurrences (01:00 EST, the second pass): 01:30 already fired, so the
    // next is the day after.
    CHECK(fires_in("America/New_York", "cron(30 1 * * ? *)", "2026-11-01T06:00:00Z", 1) ==
          strings{"2026-11-02T01:30:00-05:00"});
    // Every 30 minutes: each local time once; from 01:30 EDT to 02:00 EST is 90 minutes.
    CHECK(fires_in("America/New_York", "cron(0/30 * * * ? *)", "2026-11-01T04:45:00Z", 4) ==
          strings{"2026-11-01T01:00:00-04:00", "2026-11-01T01:30:00-04:00", "2026-11-01T02:00:00-05:00",
                  "2026-11-01T02:30:00-05:00"});
    // London 2026-10-25: 01:30 BST (00:30Z) fires; 01:30 GMT does not.
    CHECK(fires_in("Europe/London", "cron(30 1 * * ? *)", "2026-10-24T12:00:00Z", 2) ==
          strings{"2026-10-25T01:30:00+01:00", "2026-10-26T01:30:00+00:00"});
    // Sydney 2026-04-05: 02:30 AEDT (04-04 15:30Z) fires, 02:30 AEST does not.
    CHECK(fires_in("Australia/Sydney", "cron(30 2 * * ? *)", "2026-04-04T00:00:00Z", 2) ==
          strings{"2026-04-05T02:30:00+11:00", "2026-04-06T02:30:00+10:00"});
    // Every minute through the repeated hour: the first pass fires, the second is silent.
    CHECK(fires_in("America/New_York", "cron(* * * * ? *)", "2026-11-01T05:58:00Z", 3) ==
          strings{"2026-11-01T01:59:00-04:00", "2026-11-01T02:00:00-05:00", "2026-11-01T02:01:00-05:00"});
}

TEST_CASE("rate across daylight saving: a fixed duration whatever the zone") {
    // rate(1 day) from 12:00 EST: 24 hours later is 13:00 EDT.
    CHECK(fires_in("America/New_York", "rate(1 day)", "2026-03-07T17:00:00Z", 2, "2026-03-07T17:00:00Z") ==
          strings{"2026-03-08T13:00:00-04:00", "2026-03-09T13:00:00-04:00"});
    // rate(1 hour) through the fall-back: 01:00 EDT, 01:00 EST, 02:00 EST.
    CHECK(fires_in("America/New_York", "rate(1 hour)", "2026-11-01T04:30:00Z", 3, "2026-11-01T04:00:00Z") ==
          strings{"2026-11-01T01:00:00-04:00", "2026-11-01T01:00:00-05:00", "2026-11-01T02:00:00-05:00"});
    // The zone does not change the instants.
    const auto e = schedule_expression::parse("rate(7 days)");
    const auto anchor = at_utc("2026-03-01T00:00:00Z");
    CHECK(e.next_after(anchor, time_zone::locate("Australia/Sydney"), anchor) ==
          e.next_after(anchor, time_zone{}, anchor));
}

TEST_CASE("at in a zone: skipped times move forward by the gap, repeated ones take the first") {
    // 02:30 on 2026-03-08 does not exist in New York: it moves forward an hour, to 03:30 EDT.
    CHECK(fires_in("America/New_York", "at(2026-03-08T02:30:00)", "2026-03-01T00:00:00Z", 2) ==
          strings{"2026-03-08T03:30:00-04:00"});
    // 01:30 on 2026-11-01 happens twice: the first (EDT) only, even asked between the two.
    CHECK(fires_in("America/New_York", "at(2026-11-01T01:30:00)", "2026-10-01T00:00:00Z", 2) ==
          strings{"2026-11-01T01:30:00-04:00"});
    CHECK(fires_in("America/New_York", "at(2026-11-01T01:30:00)", "2026-11-01T05:30:00Z", 1).empty());
    // An ordinary local time in a zone.
    CHECK(fires_in("America/New_York", "at(2026-03-09T12:00:00)", "2026-03-01T00:00:00Z", 1) ==
          strings{"2026-03-09T12:00:00-04:00"});
    CHECK(fires_in("Australia/Sydney", "at(2026-10-04T02:15:00)", "2026-10-01T00:00:00Z", 1) ==
          strings{"2026-10-04T03:15:00+11:00"});
    CHECK(fires_in("Europe/London", "at(2026-10-25T01:15:00)", "2026-10-01T00:00:00Z", 1) ==
          strings{"2026-10-25T01:15:00+01:00"});
}

TEST_CASE("cron in a zone far from UTC: days follow the local calendar") {
    // 09:00 on the first Monday in Sydney: June 1 2026 is a Monday, 09:00 AEST is May 31 23:00Z.
    CHECK(fires_in("Australia/Sydney", "cron(0 9 ? * 2#1 *)", "2026-05-15T00:00:00Z", 1) ==
          strings{"2026-06-01T09:00:00+10:00"});
    const auto e = schedule_expression::parse("cron(0 9 ? * 2#1 *)");
    CHECK(e.next_after(at_utc("2026-05-15T00:00:00Z"), time_zone::locate("Australia/Sydney")) ==
          at_utc("2026-05-31T23:00:00Z"));
}

// The tz files list transitions only up to 2037; later years follow the same rules (checked
// against Python's zoneinfo, which reads the files' POSIX rule).
TEST_CASE("time_zone: daylight saving continues after 2037") {
    const auto new_york = time_zone::locate("America/New_York");
    // 2040: the second Sunday in March is the 11th.
    CHECK(new_york.format(at_utc("2040-03-11T06:59:00Z")) == "2040-03-11T01:59:00-05:00");
    CHECK(new_york.format(at_utc("2040-03-11T07:00:00Z")) == "2040-03-11T03:00:00-04:00");
    CHECK(new_york.format(at_utc("2100-07-01T00:00:00Z")) == "2100-06-30T20:00:00-04:00");
    // 2199: the first Sunday in November is the 3rd.
    CHECK(new_york.format(at_utc("2199-11-03T05:59:00Z")) == "2199-11-03T01:59:00-04:00");
    CHECK(new_york.format(at_utc("2199-11-03T06:00:00Z")) == "2199-11-03T01:00:00-05:00");
    const auto sydney = time_zone::locate("Australia/Sydney");
    CHECK(sydney.utc_offset(at_utc("2050-01-01T00:00:00Z")) == hours{11});
    CHECK(sydney.utc_offset(at_utc("2050-07-01T00:00:00Z")) == hours{10});
    CHECK(fires_in("America/New_York", "cron(30 2 * * ? *)", "2040-03-10T00:00:00Z", 2) ==
          strings{"2040-03-10T02:30:00-05:00", "2040-03-12T02:30:00-04:00"});
}
