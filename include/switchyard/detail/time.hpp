// RFC 3339 timestamps in UTC, the form EventBridge writes in an event's `time` field
// (`2026-11-29T20:00:41Z`), and a parser that accepts any RFC 3339 offset and fraction.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <fmt/format.h>

namespace switchyard::detail {

using sys_seconds = std::chrono::sys_seconds;

inline std::string format_rfc3339(std::chrono::system_clock::time_point tp) {
    using namespace std::chrono;
    const auto secs = floor<seconds>(tp);
    const auto days = floor<std::chrono::days>(secs);
    const year_month_day ymd{days};
    const hh_mm_ss<seconds> hms{secs - days};
    return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", static_cast<int>(ymd.year()),
                       static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                       hms.hours().count(), hms.minutes().count(), hms.seconds().count());
}

// The same, for "now"-like times on a hot path: each thread keeps the last second it formatted,
// so publishing many events per second formats the timestamp once per second, not per event.
inline const std::string& format_rfc3339_cached(std::chrono::system_clock::time_point tp) {
    thread_local std::chrono::sys_seconds last{};
    thread_local std::string text;
    const auto secs = std::chrono::floor<std::chrono::seconds>(tp);
    if (secs != last || text.empty()) {
        text = format_rfc3339(tp);
        last = secs;
    }
    return text;
}

// Parses `YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)`; `t` and `z` are accepted as RFC 3339
// allows. Returns nothing for anything else, including impossible dates.
inline std::optional<std::chrono::system_clock::time_point> parse_rfc3339(std::string_view text) {
    using namespace std::chrono;
    std::size_t pos = 0;
    auto digits = [&](std::size_t count, int& out) {
        if (pos + count > text.size()) return false;
        int value = 0;
        for (std::size_t i = 0; i < count; ++i) {
            const char c = text[pos + i];
            if (c < '0' || c > '9') return false;
            value = value * 10 + (c - '0');
        }
        pos += count;
        out = value;
        return true;
    };
    auto literal = [&](char a, char b = '\0') {
        if (pos < text.size() && (text[pos] == a || (b != '\0' && text[pos] == b))) {
            ++pos;
            return true;
        }
        return false;
    };
    int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
    if (!digits(4, y) || !literal('-') || !digits(2, mo) || !literal('-') || !digits(2, d) ||
        !literal('T', 't') || !digits(2, h) || !literal(':') || !digits(2, mi) || !literal(':') ||
        !digits(2, s))
        return std::nullopt;
    std::int64_t nanos = 0;
    if (literal('.')) {
        const std::size_t start = pos;
        std::int64_t scale = 100'000'000;
        while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
            nanos += (text[pos] - '0') * scale;
            scale /= 10;
            ++pos;
        }
        if (pos == start) return std::nullopt;
    }
    int offset_minutes = 0;
    if (!literal('Z', 'z')) {
        int sign = 0;
        if (literal('+')) sign = 1;
        else if (literal('-')) sign = -1;
        else return std::nullopt;
        int oh = 0, om = 0;
        if (!digits(2, oh) || !literal(':') || !digits(2, om) || oh > 23 || om > 59)
            return std::nullopt;
        offset_minutes = sign * (oh * 60 + om);
    }
    if (pos != text.size()) return std::nullopt;
    const year_month_day ymd{year{y}, month{static_cast<unsigned>(mo)}, day{static_cast<unsigned>(d)}};
    if (!ymd.ok() || h > 23 || mi > 59 || s > 60) return std::nullopt;
    const auto tp = sys_days{ymd} + hours{h} + minutes{mi} + seconds{s} - minutes{offset_minutes};
    // system_clock counts nanoseconds in 64 bits: about the years 1678 to 2262. Outside them the
    // conversion below would overflow (undefined behaviour), so such a time is not accepted.
    constexpr auto limit = duration_cast<seconds>(system_clock::duration::max()).count() - 1;
    if (tp.time_since_epoch().count() > limit || tp.time_since_epoch().count() < -limit) return std::nullopt;
    return time_point_cast<system_clock::duration>(tp + nanoseconds{nanos});
}

}  // namespace switchyard::detail
