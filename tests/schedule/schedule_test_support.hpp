// Helpers shared by the schedule expression and time-zone tests: an RFC 3339 instant, and the
// fire times an expression gives one after another.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include <doctest/doctest.h>

#include <switchyard/detail/time.hpp>
#include <switchyard/schedule/expression.hpp>

namespace schedule_test {

// `rfc3339` (any offset) as whole seconds in UTC.
inline std::chrono::sys_seconds instant(std::string_view rfc3339) {
    const auto parsed = switchyard::detail::parse_rfc3339(rfc3339);
    REQUIRE(parsed.has_value());
    return std::chrono::floor<std::chrono::seconds>(*parsed);
}

// The next `count` fires strictly after `from` (each after the previous), as RFC 3339 in
// `zone_name`; fewer when the schedule ends. `anchor` is a rate's start.
inline std::vector<std::string> fires(std::string_view expression, std::string_view from, int count,
                                      std::string_view zone_name = "UTC", std::string_view anchor = {}) {
    const auto e = switchyard::schedule_expression::parse(expression);
    const auto zone = switchyard::time_zone::locate(zone_name);
    const auto start = anchor.empty() ? std::chrono::sys_seconds{} : instant(anchor);
    std::vector<std::string> out;
    auto after = instant(from);
    for (int i = 0; i < count; ++i) {
        const auto next = e.next_after(after, zone, start);
        if (!next) break;
        out.push_back(zone.format(*next));
        after = *next;
    }
    return out;
}

}  // namespace schedule_test
