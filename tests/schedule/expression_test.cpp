// Schedule expressions: parsing (every error names its field) and next fire times in UTC. Time
// zones and daylight saving are in time_zone_test.cpp.
#include <doctest/doctest.h>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <switchyard/detail/time.hpp>
#include <switchyard/schedule/expression.hpp>

#include "schedule/schedule_test_support.hpp"

using switchyard::schedule_error;
using switchyard::schedule_expression;
using switchyard::schedule_kind;
using switchyard::time_zone;
using schedule_test::fires;
using schedule_test::instant;

namespace {

std::optional<std::string> next_fire(std::string_view expression, std::string_view from) {
    const auto f = fires(expression, from, 1);
    if (f.empty()) return std::nullopt;
    return f.front();
}

using strings = std::vector<std::string>;

}  // namespace

TEST_CASE("the three forms parse, keep their text and kind") {
    const auto rate = schedule_expression::parse("rate(5 minutes)");
    CHECK(rate.kind() == schedule_kind::rate);
    CHECK(rate.text() == "rate(5 minutes)");
    CHECK(rate.period() == std::chrono::minutes{5});
    const auto cron = schedule_expression::parse("cron(0 10 * * ? *)");
    CHECK(cron.kind() == schedule_kind::cron);
    CHECK(cron.period() == std::chrono::seconds{0});
    const auto at = schedule_expression::parse("at(2022-11-20T13:00:00)");
    CHECK(at.kind() == schedule_kind::at);
    CHECK(at.text() == "at(2022-11-20T13:00:00)");
    CHECK(cron == schedule_expression::parse("cron(0 10 * * ? *)"));
    CHECK_FALSE(cron == rate);
}

// EventBridge's documented rate examples (eb-scheduled-rule-pattern, Scheduler schedule types):
// rate(1 minute), rate(5 minutes), rate(1 hour), rate(12 hours), rate(1 day), rate(7 days).
TEST_CASE("rate: documented examples and their periods") {
    CHECK(schedule_expression::parse("rate(1 minute)").period() == std::chrono::minutes{1});
    CHECK(schedule_expression::parse("rate(5 minutes)").period() == std::chrono::minutes{5});
    CHECK(schedule_expression::parse("rate(1 hour)").period() == std::chrono::hours{1});
    CHECK(schedule_expression::parse("rate(12 hours)").period() == std::chrono::hours{12});
    CHECK(schedule_expression::parse("rate(1 day)").period() == std::chrono::hours{24});
    CHECK(schedule_expression::parse("rate(7 days)").period() == std::chrono::hours{24 * 7});
    // Several spaces between value and unit are still one separator.
    CHECK(schedule_expression::parse("rate(2   hours)").period() == std::chrono::hours{2});
}

TEST_CASE("rate: fires at anchor + k * period, the first strictly after `after`") {
    const auto anchor = "2026-03-04T00:00:00Z";
    // Before the anchor: the anchor itself (k = 0).
    CHECK(fires("rate(5 minutes)", "2026-03-03T00:00:00Z", 1, "UTC", anchor) == strings{"2026-03-04T00:00:00+00:00"});
    CHECK(fires("rate(5 minutes)", "2026-03-03T23:59:59Z", 1, "UTC", anchor) == strings{"2026-03-04T00:00:00+00:00"});
    // At the anchor: strictly after, so k = 1.
    CHECK(fires("rate(5 minutes)", anchor, 3, "UTC", anchor) ==
          strings{"2026-03-04T00:05:00+00:00", "2026-03-04T00:10:00+00:00", "2026-03-04T00:15:00+00:00"});
    // Between fires: the next multiple (00:07:30 -> 00:10), and a fire exactly at `after` is not repeated.
    CHECK(fires("rate(5 minutes)", "2026-03-04T00:07:30Z", 1, "UTC", anchor) == strings{"2026-03-04T00:10:00+00:00"});
    CHECK(fires("rate(5 minutes)", "2026-03-04T00:10:00Z", 1, "UTC", anchor) == strings{"2026-03-04T00:15:00+00:00"});
    // The anchor's seconds carry over: 12:00:30 + 7 days.
    CHECK(fires("rate(7 days)", "2026-03-05T00:00:00Z", 2, "UTC", "2026-03-04T12:00:30Z") ==
          strings{"2026-03-11T12:00:30+00:00", "2026-03-18T12:00:30+00:00"});
    // 1000 days on: 2026-03-04 + 1000 days = 2028-11-28 (2026: 302 days left, 2027: 365, 2028 to Nov 28: 333).
    CHECK(fires("rate(1000 days)", anchor, 1, "UTC", anchor) == strings{"2028-11-28T00:00:00+00:00"});
    // Default anchor: the Unix epoch; rate(1 hour) fires on whole UTC hours.
    const auto e = schedule_expression::parse("rate(1 hour)");
    CHECK(e.next_after(instant("2026-03-04T10:20:00Z")) == instant("2026-03-04T11:00:00Z"));
}

TEST_CASE("rate: errors name the value or the unit and what is allowed") {
    using doctest::Contains;
    CHECK_THROWS_WITH_AS(schedule_expression::parse("rate(1 minutes)"),
                         Contains("rate(1 minutes): unit: use 'minute' for a value of 1"), schedule_error);
    CHECK_THROWS_WITH_AS(schedule_expression::parse("rate(5 minute)"),
                         Contains("rate(5 minute): unit: use 'minutes' for a value other than 1"), schedule_error);
    CHECK_THROWS_WITH_AS(schedule_expression::parse("rate(1 hours)"), Contains("use 'hour'"), schedule_error);
    CHECK_THROWS_WITH_AS(schedule_expression::parse("rate(2 day)"), Contains("use 'days'"), schedule_error);
    CHECK_THROWS_WITH_AS(schedule_expression::parse("rate(5 weeks)"),
                         Contains("unit: 'weeks' is not a unit (allowed minute, minutes, hour, hours, day, days)"),
                         schedule_error);
    CHECK_THROWS_WITH_AS(schedule_expression::parse("rate(5 Minutes)"), Contains("unit: 'Minutes' is not a unit"),
                         schedule_error);
    CHECK_THROWS_WITH_AS(schedule_expression::parse("rate(5)"), Contains("rate(5): unit: missing"), schedule_error);
    CHECK_THROWS_WITH_AS(schedule_expression::parse("rate(5 )"), Contains("unit: missing"), schedule_error);
    CHECK_THROWS_WITH_AS(schedule_expression::parse("rate(0 minutes)"),
                         Contains("value: 0 is not a positive integer"), schedule_error);
    CHECK_THROWS_WITH_AS(schedule_expression::parse("rate(-5 minutes)"),
                         Contains("value: '-5' is not a positive integer"), schedule_error);
    CHECK_THROWS_WITH_AS(schedule_expression::parse("rate(+5 minutes)"),
                         Contains("value: '+5' is not a positive integer"), schedule_error);
    CHECK_THROWS_WITH_AS(schedule_expression::parse("rate(1.5 hours)"),
                         Contains("value: '1.5' is not a positive integer"), schedule_error);
    CHECK_THROWS_WITH_AS(schedule_expression::parse("rate( 5 minutes)"),
                         Contains("value: '' is not a positive integer"), schedule_error);
    CHECK_THROWS_WITH_AS(schedule_expression::parse("rate(five minutes)"),
                         Contains("value: 'five' is not a positive integer"), schedule_error);
    CHECK_THROWS_WITH_AS(schedule_expression::parse("rate(5minutes)"),
                         Contains("value: '5minutes' is not a positive integer"), schedule_error);
    CHECK_THROWS_WITH_AS(schedule_expression::parse("rate(5 minutes )"), Contains("unit: 'minutes ' is not a unit"),
                         schedule_error);
    CHECK_THROWS_WITH_AS(schedule_expression::parse("rate(99999999999 minutes)"),
                         Contains("value: 99999999999 is too large"), schedule_error);
    CHECK_THROWS_WITH_AS(schedule_expression::parse("rate()"), Contains("rate(): the value and unit are missing"),
                         schedule_error);
}

TEST_CASE("expressions that are none of the three forms list them") {
    using doctest::Contains;
    const auto forms = Contains("use rate(value unit), cron(minutes hours day-of-month month day-of-week year) or "
                                "at(yyyy-mm-ddThh:mm:ss)");
    for (const char* text : {"", "every 5 minutes", "rate 5 minutes", "Rate(5 minutes)", "cron(0 10 * * ? *",
                             " rate(5 minutes)", "rate(5 minutes) ", "at2026-01-01T00:00:00", "cron"})
        CHECK_THROWS_WITH_AS(schedule_expression::parse(text), forms, schedule_error);
    CHECK_THROWS_WITH_AS(schedule_expression::parse("every 5 minutes"),
                         Contains("'every 5 minutes' is not a schedule expression"), schedule_error);
}

// EventBridge's documented cron examples (eb-scheduled-rule-pattern / eb-cron-expressions), from
// Wednesday 2026-03-04 00:00 UTC unless said otherwise. March 2026 starts on a Sunday.
TEST_CASE("cron: documented examples") {
    const auto wednesday = "2026-03-04T00:00:00Z";
    // 10:00 every day.
    CHECK(fires("cron(0 10 * * ? *)", wednesday, 2) == strings{"2026-03-04T10:00:00+00:00", "2026-03-05T10:00:00+00:00"});
    // 12:15 every day.
    CHECK(fires("cron(15 12 * * ? *)", wednesday, 2) ==
          strings{"2026-03-04T12:15:00+00:00", "2026-03-05T12:15:00+00:00"});
    // 18:00 Monday to Friday: Wed 4, Thu 5, Fri 6, then Monday 9 (the weekend skipped).
    CHECK(fires("cron(0 18 ? * MON-FRI *)", wednesday, 4) ==
          strings{"2026-03-04T18:00:00+00:00", "2026-03-05T18:00:00+00:00", "2026-03-06T18:00:00+00:00",
                  "2026-03-09T18:00:00+00:00"});
    // 08:00 on the first of every month.
    CHECK(fires("cron(0 8 1 * ? *)", wednesday, 2) == strings{"2026-04-01T08:00:00+00:00", "2026-05-01T08:00:00+00:00"});
    // Every 15 minutes.
    CHECK(fires("cron(0/15 * * * ? *)", wednesday, 4) ==
          strings{"2026-03-04T00:15:00+00:00", "2026-03-04T00:30:00+00:00", "2026-03-04T00:45:00+00:00",
                  "2026-03-04T01:00:00+00:00"});
    // Every 10 minutes Monday to Friday: from Friday 23:45 to 23:50, then Monday 00:00.
    CHECK(fires("cron(0/10 * ? * MON-FRI *)", "2026-03-06T23:45:00Z", 3) ==
          strings{"2026-03-06T23:50:00+00:00", "2026-03-09T00:00:00+00:00", "2026-03-09T00:10:00+00:00"});
    // Every 5 minutes between 08:00 and 17:55 Monday to Friday: Friday 17:55, then Monday 08:00.
    CHECK(fires("cron(0/5 8-17 ? * MON-FRI *)", "2026-03-06T17:50:00Z", 3) ==
          strings{"2026-03-06T17:55:00+00:00", "2026-03-09T08:00:00+00:00", "2026-03-09T08:05:00+00:00"});
    // 09:00 on the first Monday of the month: March's (the 2nd) is past; April 1 is a Wednesday, so
    // April 6; May 1 is a Friday, so May 4.
    CHECK(fires("cron(0 9 ? * 2#1 *)", wednesday, 2) == strings{"2026-04-06T09:00:00+00:00", "2026-05-04T09:00:00+00:00"});
    // Scheduler's example: 10:15 on the last Friday of every month in 2022-2023. November 30 2023 is
    // a Thursday (last Friday the 24th), December 31 a Sunday (the 29th); then the years run out.
    CHECK(fires("cron(15 10 ? * 6L 2022-2023)", "2023-11-01T00:00:00Z", 3) ==
          strings{"2023-11-24T10:15:00+00:00", "2023-12-29T10:15:00+00:00"});
}

// Vectors from a second implementation: beemhq/aws-cron-parser (TypeScript),
// src/tests/awsCronParser.test.ts and src/tests/lib/next.test.ts, "next" occurrences in UTC.
TEST_CASE("cron: vectors from beemhq/aws-cron-parser") {
    const auto base = "2020-05-09T22:30:57Z";  // a Saturday
    struct vector {
        const char* cron;
        const char* next;
    };
    const vector vectors[] = {
        {"cron(1,24,50-55,58 * 25 MAR/4 ? 2020,2021,2023,2028)", "2020-07-25T00:01:00+00:00"},
        {"cron(9 * 7,9,11 3,5,7 ? 2021)", "2021-03-07T00:09:00+00:00"},
        {"cron(9 * 7,9,11 5 ? 2021)", "2021-05-07T00:09:00+00:00"},
        {"cron(9 * 7,9,11 5 ? 2020)", "2020-05-09T23:09:00+00:00"},
        {"cron(9 8-20 7,9,11 5 ? 2020)", "2020-05-11T08:09:00+00:00"},
        {"cron(9 8-20 ? 5 MON-WED,FRI 2020)", "2020-05-11T08:09:00+00:00"},
        {"cron(3 2-5 ? 4,6,8,10 TUE,THU,SAT 2020)", "2020-06-02T02:03:00+00:00"},
        {"cron(9 * L 5 ? 2019,2020)", "2020-05-31T00:09:00+00:00"},
        {"cron(19 4 L 9 ? 2019,2020)", "2020-09-30T04:19:00+00:00"},
        {"cron(19 4 3W 9 ? 2019,2020)", "2020-09-03T04:19:00+00:00"},
        {"cron(19 4 5W 9 ? 2019,2020)", "2020-09-04T04:19:00+00:00"},  // the 5th is a Saturday
        {"cron(9 8-20 ? 8 5#2 2019,2020)", "2020-08-13T08:09:00+00:00"},
        {"cron(9 8-20 ? 8 5#3 2019,2020)", "2020-08-20T08:09:00+00:00"},
        {"cron(9 8-20 ? 12 3#1 2019,2020)", "2020-12-01T08:09:00+00:00"},
        {"cron(9 8-20 ? 12 3#5 2019,2020)", "2020-12-29T08:09:00+00:00"},
        {"cron(0 0 1 1 ? *)", "2021-01-01T00:00:00+00:00"},
        {"cron(0 1 2 3 ? *)", "2021-03-02T01:00:00+00:00"},
        {"cron(7 1 2 3 ? *)", "2021-03-02T01:07:00+00:00"},
        {"cron(* * 2 3 ? *)", "2021-03-02T00:00:00+00:00"},
    };
    for (const auto& v : vectors) {
        CAPTURE(v.cron);
        CHECK(next_fire(v.cron, base) == std::optional<std::string>{v.next});
    }
    CHECK(fires("cron(23,24,25 17,18 25 MAR/4 ? 2020,2021,2023,2028)", base, 10) ==
          strings{"2020-07-25T17:23:00+00:00", "2020-07-25T17:24:00+00:00", "2020-07-25T17:25:00+00:00",
                  "2020-07-25T18:23:00+00:00", "2020-07-25T18:24:00+00:00", "2020-07-25T18:25:00+00:00",
                  "2020-11-25T17:23:00+00:00", "2020-11-25T17:24:00+00:00", "2020-11-25T17:25:00+00:00",
                  "2020-11-25T18:23:00+00:00"});
    CHECK(fires("cron(15 10 ? * 6L 2002-2025)", base, 10) ==
          strings{"2020-05-29T10:15:00+00:00", "2020-06-26T10:15:00+00:00", "2020-07-31T10:15:00+00:00",
                  "2020-08-28T10:15:00+00:00", "2020-09-25T10:15:00+00:00", "2020-10-30T10:15:00+00:00",
                  "2020-11-27T10:15:00+00:00", "2020-12-25T10:15:00+00:00", "2021-01-29T10:15:00+00:00",
                  "2021-02-26T10:15:00+00:00"});
    CHECK(fires("cron(0 */3 */1 * ? *)", "2020-12-07T15:57:37Z", 4) ==
          strings{"2020-12-07T18:00:00+00:00", "2020-12-07T21:00:00+00:00", "2020-12-08T00:00:00+00:00",
                  "2020-12-08T03:00:00+00:00"});
    CHECK(fires("cron(15 12 ? * sun,mon *)", "2020-12-07T15:57:37Z", 4) ==
          strings{"2020-12-13T12:15:00+00:00", "2020-12-14T12:15:00+00:00", "2020-12-20T12:15:00+00:00",
                  "2020-12-21T12:15:00+00:00"});
}

TEST_CASE("cron: lists, ranges, increments and names") {
    const auto from = "2026-03-04T00:00:00Z";
    // a-b/c: 10, 25, 40; a/c runs from a to the end of the field: 5/20 is 5, 25, 45.
    CHECK(fires("cron(10-40/15 0 * * ? *)", from, 4) ==
          strings{"2026-03-04T00:10:00+00:00", "2026-03-04T00:25:00+00:00", "2026-03-04T00:40:00+00:00",
                  "2026-03-05T00:10:00+00:00"});
    CHECK(fires("cron(5/20 0 * * ? *)", from, 3) ==
          strings{"2026-03-04T00:05:00+00:00", "2026-03-04T00:25:00+00:00", "2026-03-04T00:45:00+00:00"});
    // */8 hours: 0, 8, 16.
    CHECK(fires("cron(0 */8 * * ? *)", from, 4) ==
          strings{"2026-03-04T08:00:00+00:00", "2026-03-04T16:00:00+00:00", "2026-03-05T00:00:00+00:00",
                  "2026-03-05T08:00:00+00:00"});
    // Names in any case, in lists and ranges: Sunday and Saturday in JAN and DEC. From March 4
    // 2026 the next is December 2026, whose first weekend day is Saturday the 5th.
    CHECK(fires("cron(0 12 ? jan,Dec sat,SUN *)", from, 3) ==
          strings{"2026-12-05T12:00:00+00:00", "2026-12-06T12:00:00+00:00", "2026-12-12T12:00:00+00:00"});
    CHECK(fires("cron(0 12 ? * tue-thu *)", from, 3) ==
          strings{"2026-03-04T12:00:00+00:00", "2026-03-05T12:00:00+00:00", "2026-03-10T12:00:00+00:00"});
    // Numbers for weekdays: 1 is Sunday, 7 Saturday.
    CHECK(fires("cron(0 0 ? * 1,7 *)", from, 2) == strings{"2026-03-07T00:00:00+00:00", "2026-03-08T00:00:00+00:00"});
    // Year increments: 2021/20 is 2021, 2041, ...
    CHECK(fires("cron(0 0 1 1 ? 2021/20)", "2020-05-09T00:00:00Z", 2) ==
          strings{"2021-01-01T00:00:00+00:00", "2041-01-01T00:00:00+00:00"});
    // Month increments with a name: MAR/4 is March, July, November.
    CHECK(fires("cron(0 0 1 MAR/4 ? 2026)", "2026-01-01T00:00:00Z", 4) ==
          strings{"2026-03-01T00:00:00+00:00", "2026-07-01T00:00:00+00:00", "2026-11-01T00:00:00+00:00"});
    // Extra spaces between fields are one separator.
    CHECK(fires("cron(0  10 *  * ?   *)", from, 1) == strings{"2026-03-04T10:00:00+00:00"});
}

TEST_CASE("cron: seconds of `after` count and fires are whole minutes") {
    CHECK(next_fire("cron(* * * * ? *)", "2026-03-04T10:00:30Z") == "2026-03-04T10:01:00+00:00");
    CHECK(next_fire("cron(* * * * ? *)", "2026-03-04T10:00:00Z") == "2026-03-04T10:01:00+00:00");
    CHECK(next_fire("cron(* * * * ? *)", "2026-03-04T10:00:59Z") == "2026-03-04T10:01:00+00:00");
    CHECK(next_fire("cron(0 10 * * ? *)", "2026-03-04T09:59:59Z") == "2026-03-04T10:00:00+00:00");
    CHECK(next_fire("cron(0 10 * * ? *)", "2026-03-04T10:00:00Z") == "2026-03-05T10:00:00+00:00");
    // Across the end of a year and a month.
    CHECK(next_fire("cron(* * * * ? *)", "2026-12-31T23:59:00Z") == "2027-01-01T00:00:00+00:00");
    // Before 1970 the search starts at the first year EventBridge allows.
    CHECK(next_fire("cron(0 0 1 1 ? *)", "1960-06-01T00:00:00Z") == "1970-01-01T00:00:00+00:00");
}

TEST_CASE("cron: L and W in day-of-month") {
    // L: the last day; February 2027 has 28 days, February 2028 29 (a leap year).
    CHECK(fires("cron(0 0 L 2 ? *)", "2027-01-01T00:00:00Z", 2) ==
          strings{"2027-02-28T00:00:00+00:00", "2028-02-29T00:00:00+00:00"});
    CHECK(fires("cron(30 6 L * ? *)", "2026-03-31T07:00:00Z", 3) ==
          strings{"2026-04-30T06:30:00+00:00", "2026-05-31T06:30:00+00:00", "2026-06-30T06:30:00+00:00"});
    // The 29th of February only in leap years: 2028, then 2032. A once-in-four-years schedule
    // must not walk minute by minute.
    CHECK(fires("cron(0 0 29 2 ? *)", "2026-03-01T00:00:00Z", 2) ==
          strings{"2028-02-29T00:00:00+00:00", "2032-02-29T00:00:00+00:00"});
    // The 31st skips 30-day months: after March 31 comes May 31, then July 31.
    CHECK(fires("cron(0 0 31 * ? *)", "2026-03-31T00:00:00Z", 2) ==
          strings{"2026-05-31T00:00:00+00:00", "2026-07-31T00:00:00+00:00"});
    // nW, the weekday nearest day n within the month. August 1 2026 is a Saturday: 1W is Monday
    // the 3rd, not Friday July 31. September 1 2026 is a Tuesday: the 1st itself.
    CHECK(fires("cron(0 9 1W * ? *)", "2026-07-15T00:00:00Z", 2) ==
          strings{"2026-08-03T09:00:00+00:00", "2026-09-01T09:00:00+00:00"});
    // August 15 2026 is a Saturday (Friday the 14th); November 15 2026 a Sunday (Monday the 16th).
    CHECK(fires("cron(0 9 15W 8,11 ? 2026)", "2026-01-01T00:00:00Z", 2) ==
          strings{"2026-08-14T09:00:00+00:00", "2026-11-16T09:00:00+00:00"});
    // 31W: May 31 2026 is a Sunday, the last day, so Friday the 29th (not June 1); June has no 31st;
    // July 31 2026 is a Friday.
    CHECK(fires("cron(0 0 31W * ? *)", "2026-05-01T00:00:00Z", 2) ==
          strings{"2026-05-29T00:00:00+00:00", "2026-07-31T00:00:00+00:00"});
    // LW, the last weekday: February 28 2026 is a Saturday (27th), March 31 a Tuesday, April 30 a
    // Thursday, May 31 a Sunday (29th).
    CHECK(fires("cron(0 0 LW * ? *)", "2026-02-01T00:00:00Z", 4) ==
          strings{"2026-02-27T00:00:00+00:00", "2026-03-31T00:00:00+00:00", "2026-04-30T00:00:00+00:00",
                  "2026-05-29T00:00:00+00:00"});
    // Lists mix plain days with L: the 15th and the last day.
    CHECK(fires("cron(0 0 15,L * ? *)", "2026-02-01T00:00:00Z", 3) ==
          strings{"2026-02-15T00:00:00+00:00", "2026-02-28T00:00:00+00:00", "2026-03-15T00:00:00+00:00"});
}

TEST_CASE("cron: L and # in day-of-week") {
    // 6L, the last Friday: March 27 and April 24 2026.
    CHECK(fires("cron(0 0 ? * 6L *)", "2026-03-04T00:00:00Z", 2) ==
          strings{"2026-03-27T00:00:00+00:00", "2026-04-24T00:00:00+00:00"});
    CHECK(fires("cron(0 0 ? * FRIL *)", "2026-03-04T00:00:00Z", 1) == strings{"2026-03-27T00:00:00+00:00"});
    // L alone is the last day of the week, Saturday (EventBridge: "the last day of the week").
    CHECK(fires("cron(0 0 ? * L *)", "2026-03-04T00:00:00Z", 2) ==
          strings{"2026-03-07T00:00:00+00:00", "2026-03-14T00:00:00+00:00"});
    // MON#5 only in months with five Mondays: not January (5-26) or February (2-23) 2026; March
    // 30; not April (6-27) or May (4-25); June 29.
    CHECK(fires("cron(0 0 ? * MON#5 *)", "2026-01-01T00:00:00Z", 2) ==
          strings{"2026-03-30T00:00:00+00:00", "2026-06-29T00:00:00+00:00"});
    // 1#1, the first Sunday: March 1 2026 is a Sunday, April's is the 5th.
    CHECK(fires("cron(0 0 ? * 1#1 *)", "2026-02-28T00:00:00Z", 2) ==
          strings{"2026-03-01T00:00:00+00:00", "2026-04-05T00:00:00+00:00"});
    // The second and fourth Tuesday, in one list.
    CHECK(fires("cron(0 0 ? * TUE#2,TUE#4 *)", "2026-03-01T00:00:00Z", 3) ==
          strings{"2026-03-10T00:00:00+00:00", "2026-03-24T00:00:00+00:00", "2026-04-14T00:00:00+00:00"});
}

TEST_CASE("cron: schedules whose years run out end with nullopt") {
    CHECK(next_fire("cron(0 0 1 1 ? 2020)", "2020-01-01T00:00:00Z") == std::nullopt);
    CHECK(next_fire("cron(0 0 1 1 ? 2020-2025)", "2026-03-04T00:00:00Z") == std::nullopt);
    // 2199 is the last year: its last minute fires, then nothing.
    CHECK(next_fire("cron(59 23 31 12 ? *)", "2199-06-01T00:00:00Z") == "2199-12-31T23:59:00+00:00");
    CHECK(next_fire("cron(* * * * ? *)", "2199-12-31T23:59:00Z") == std::nullopt);
    CHECK(next_fire("cron(* * * * ? *)", "2200-01-01T00:00:00Z") == std::nullopt);
    // Days that never exist: February 30, and the 31st of April, June, September, November.
    CHECK(next_fire("cron(0 0 30 2 ? *)", "1970-01-01T00:00:00Z") == std::nullopt);
    CHECK(next_fire("cron(0 0 31 4,6,9,11 ? *)", "1970-01-01T00:00:00Z") == std::nullopt);
    CHECK(next_fire("cron(0 0 30W 2 ? *)", "1970-01-01T00:00:00Z") == std::nullopt);
}

TEST_CASE("cron: errors name the field and what it allows") {
    using doctest::Contains;
    auto error_of = [](std::string_view text) {
        try {
            (void)schedule_expression::parse(text);
        } catch (const schedule_error& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    CHECK(error_of("cron(0 25 * * ? *)") == "cron(0 25 * * ? *): hours: 25 is out of range (allowed 0-23)");
    CHECK(error_of("cron(60 0 * * ? *)") == "cron(60 0 * * ? *): minutes: 60 is out of range (allowed 0-59)");
    CHECK(error_of("cron(0 0 32 * ? *)") == "cron(0 0 32 * ? *): day-of-month: 32 is out of range (allowed 1-31)");
    CHECK(error_of("cron(0 0 0 * ? *)") == "cron(0 0 0 * ? *): day-of-month: 0 is out of range (allowed 1-31)");
    CHECK(error_of("cron(0 0 1 13 ? *)") == "cron(0 0 1 13 ? *): month: 13 is out of range (allowed 1-12)");
    CHECK(error_of("cron(0 0 ? * 8 *)") == "cron(0 0 ? * 8 *): day-of-week: 8 is out of range (allowed 1-7)");
    CHECK(error_of("cron(0 0 ? * 0 *)") == "cron(0 0 ? * 0 *): day-of-week: 0 is out of range (allowed 1-7)");
    CHECK(error_of("cron(0 0 1 * ? 1969)") == "cron(0 0 1 * ? 1969): year: 1969 is out of range (allowed 1970-2199)");
    CHECK(error_of("cron(0 0 1 * ? 2200)") == "cron(0 0 1 * ? 2200): year: 2200 is out of range (allowed 1970-2199)");

    CHECK_THROWS_WITH_AS(schedule_expression::parse("cron(0 10 * * ?)"),
                         Contains("cron(0 10 * * ?): 5 fields, but six are required: minutes hours day-of-month month "
                                  "day-of-week year"),
                         schedule_error);
    CHECK_THROWS_WITH_AS(schedule_expression::parse("cron(0 0 10 * * ? *)"), Contains("7 fields, but six are required"),
                         schedule_error);
    CHECK_THROWS_WITH_AS(schedule_expression::parse("cron()"), Contains("0 fields, but six are required"),
                         schedule_error);
    // Exactly one day field is '?'.
    CHECK_THROWS_WITH_AS(schedule_expression::parse("cron(0 10 * * * *)"),
                         Contains("day-of-month and day-of-week: exactly one of them must be '?'"), schedule_error);
    CHECK_THROWS_WITH_AS(schedule_expression::parse("cron(0 10 1 * MON *)"),
                         Contains("day-of-month and day-of-week: exactly one of them must be '?'"), schedule_error);
    CHECK_THROWS_WITH_AS(schedule_expression::parse("cron(0 10 ? * ? *)"), Contains("both are"), schedule_error);
    CHECK_THROWS_WITH_AS(schedule_expression::parse("cron(? 10 * * ? *)"),
                         Contains("minutes: '?' is allowed only in day-of-month and day-of-week "
                                  "(allowed 0-59 and , - * /)"),
                         schedule_error);
    CHECK_THROWS_WITH_AS(schedule_expression::parse("cron(0 0 ? * 1,? *)"),
                         Contains("day-of-week: '?' must be the whole field"), schedule_error);
    // Names only where the field has them, and only real ones.
    CHECK_THROWS_WITH_AS(schedule_expression::parse("cron(0 0 1 JANUARY ? *)"),
                         Contains("month: 'JANUARY' is not a value (allowed 1-12 or JAN-DEC and , - * /)"),
                         schedule_error);
    CHECK_THROWS_WITH_AS(schedule_expression::parse("cron(0 0 ? * MONDAY *)"),
                         Contains("day-of-week: 'MONDAY' is not a value (allowed 1-7 or SUN-SAT"), schedule_error);
    CHECK_THROWS_WITH_AS(schedule_expression::parse("cron(0 MON * * ? *)"),
                         Contains("hours: 'MON' is not a value (allowed 0-23 and , - * /)"), schedule_error);
    CHECK_THROWS_WITH_AS(schedule_expression::parse("cron(1x 0 * * ? *)"),
                         Contains("minutes: '1x' is not a number"), schedule_error);
    // Ranges, lists and increments.
    CHECK_THROWS_WITH_AS(schedule_expression::parse("cron(0 17-8 * * ? *)"),
                         Contains("hours: range '17-8' runs backwards"), schedule_error);
    CHECK_THROWS_WITH_AS(schedule_expression::parse("cron(0 0 1,,2 * ? *)"),
                         Contains("day-of-month: '1,,2' has an empty list item"), schedule_error);
    CHECK_THROWS_WITH_AS(schedule_expression::parse("cron(0/0 * * * ? *)"),
                         Contains("minutes: '0/0': increment 0 is out of range (allowed 1-59)"), schedule_error);
    CHECK_THROWS_WITH_AS(schedule_expression::parse("cron(0/ * * * ? *)"),
                         Contains("minutes: '0/': the increment after / must be a number"), schedule_error);
    CHECK_THROWS_WITH_AS(schedule_expression::parse("cron(0 0 ? * 1/2 *)"),
                         Contains("day-of-week: '1/2': increments (/) are not allowed here"), schedule_error);
    CHECK_THROWS_WITH_AS(schedule_expression::parse("cron(-5 0 * * ? *)"), Contains("minutes: a value is missing"),
                         schedule_error);
    // L, W and # only where EventBridge allows them.
    CHECK_THROWS_WITH_AS(schedule_expression::parse("cron(L 0 * * ? *)"),
                         Contains("minutes: 'L': L, W and # are allowed only in the day fields"), schedule_error);
    CHECK_THROWS_WITH_AS(schedule_expression::parse("cron(0 0 ? * 2#6 *)"),
                         Contains("day-of-week: '2#6': the week after # must be 1-5"), schedule_error);
    CHECK_THROWS_WITH_AS(schedule_expression::parse("cron(0 0 ? * 9#1 *)"),
                         Contains("day-of-week: 9 is out of range (allowed 1-7)"), schedule_error);
    CHECK_THROWS_WITH_AS(schedule_expression::parse("cron(0 0 L-2 * ? *)"),
                         Contains("day-of-month: 'L-2' is not supported: use L (last day) or LW (last weekday)"),
                         schedule_error);
    CHECK_THROWS_WITH_AS(schedule_expression::parse("cron(0 0 1-5W * ? *)"),
                         Contains("day-of-month: '1-5W': W follows a single day"), schedule_error);
    CHECK_THROWS_WITH_AS(schedule_expression::parse("cron(0 0 32W * ? *)"),
                         Contains("day-of-month: 32 is out of range (allowed 1-31)"), schedule_error);
    CHECK_THROWS_WITH_AS(schedule_expression::parse("cron(0 0 ? * 2-6L *)"),
                         Contains("day-of-week: '2-6L': L follows a single weekday"), schedule_error);
    CHECK_THROWS_WITH_AS(schedule_expression::parse("cron(0 0 ? * W *)"),
                         Contains("day-of-week: 'W' is not a day-of-week"), schedule_error);
    CHECK_THROWS_WITH_AS(schedule_expression::parse("cron(0 0 1# * ? *)"),
                         Contains("day-of-month: '1#' is not a day-of-month"), schedule_error);
}

TEST_CASE("at: one local time, fired once when it is still ahead") {
    // The Scheduler documentation's example.
    CHECK(fires("at(2022-11-20T13:00:00)", "2022-01-01T00:00:00Z", 3) == strings{"2022-11-20T13:00:00+00:00"});
    CHECK(fires("at(2022-11-20T13:00:00)", "2022-11-20T12:59:59Z", 1) == strings{"2022-11-20T13:00:00+00:00"});
    // Already past, or exactly now: nothing.
    CHECK(fires("at(2022-11-20T13:00:00)", "2022-11-20T13:00:00Z", 1).empty());
    CHECK(fires("at(2022-11-20T13:00:00)", "2026-03-04T00:00:00Z", 1).empty());
    // February 29 in a leap year exists.
    CHECK(fires("at(2028-02-29T23:59:59)", "2026-03-04T00:00:00Z", 1) == strings{"2028-02-29T23:59:59+00:00"});
}

TEST_CASE("at: errors say what a valid date and time is") {
    using doctest::Contains;
    CHECK_THROWS_WITH_AS(schedule_expression::parse("at(2026-02-30T10:00:00)"),
                         Contains("at(2026-02-30T10:00:00): day 30 is out of range (2026-02 has days 01-28)"),
                         schedule_error);
    CHECK_THROWS_WITH_AS(schedule_expression::parse("at(2027-02-29T10:00:00)"),
                         Contains("day 29 is out of range (2027-02 has days 01-28)"), schedule_error);
    CHECK_THROWS_WITH_AS(schedule_expression::parse("at(2026-04-31T10:00:00)"), Contains("(2026-04 has days 01-30)"),
                         schedule_error);
    CHECK_THROWS_WITH_AS(schedule_expression::parse("at(2026-13-01T10:00:00)"),
                         Contains("month 13 is out of range (allowed 01-12)"), schedule_error);
    CHECK_THROWS_WITH_AS(schedule_expression::parse("at(2026-00-01T10:00:00)"),
                         Contains("month 00 is out of range"), schedule_error);
    CHECK_THROWS_WITH_AS(schedule_expression::parse("at(2026-03-01T24:00:00)"),
                         Contains("time 24:00:00 is out of range (allowed 00:00:00-23:59:59)"), schedule_error);
    CHECK_THROWS_WITH_AS(schedule_expression::parse("at(2026-03-01T10:60:00)"), Contains("time 10:60:00 is out of range"),
                         schedule_error);
    CHECK_THROWS_WITH_AS(schedule_expression::parse("at(2026-03-01T10:00:60)"), Contains("time 10:00:60 is out of range"),
                         schedule_error);
    const auto shape = Contains("is not a local date and time: write at(yyyy-mm-ddThh:mm:ss)");
    for (const char* text : {"at(2026-03-01 10:00:00)", "at(2026-03-01T10:00)", "at(2026-03-01T10:00:00Z)",
                             "at(2026-3-01T10:00:00)", "at(2026-03-01t10:00:00)", "at()", "at(tomorrow)"})
        CHECK_THROWS_WITH_AS(schedule_expression::parse(text), shape, schedule_error);
}
