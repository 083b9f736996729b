// Reading an HTTP response's Retry-After (RFC 9110 §10.2.3) for an HTTP target's retry. Private
// to switchyard::http.
#pragma once

#include <curl/curl.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <optional>
#include <string>
#include <string_view>

namespace switchyard::http_detail {

/// The longest wait a Retry-After can ask for: EventBridge's longest maximum event age. A longer
/// one would outlive any retry policy anyway (the delivery is dead-lettered max-age-exceeded),
/// and the cap keeps the arithmetic far from overflowing.
inline constexpr std::chrono::milliseconds max_retry_after = std::chrono::hours(24);

/// The wait a Retry-After value asks for, from `now`: delta-seconds ("120") or an HTTP-date
/// ("Wed, 21 Oct 2015 07:28:00 GMT", or the obsolete RFC 850 and asctime forms, which RFC 9110
/// tells recipients to accept). A date in the past is no wait; anything else unreadable is
/// nullopt (the retry policy's backoff decides alone). At most max_retry_after.
inline std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view value, std::chrono::system_clock::time_point now) {
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
    if (value.empty()) return std::nullopt;
    if (std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        constexpr long long cap = std::chrono::duration_cast<std::chrono::seconds>(max_retry_after).count();
        long long seconds = 0;
        for (const char c : value) {
            seconds = seconds * 10 + (c - '0');
            if (seconds >= cap) return max_retry_after;  // also stops long digit strings overflowing
        }
        return std::chrono::seconds(seconds);
    }
    // curl's date parser reads all three HTTP-date forms (and is what curl itself uses for them).
    const std::string text(value);
    const std::time_t t = curl_getdate(text.c_str(), nullptr);
    if (t == static_cast<std::time_t>(-1)) return std::nullopt;
    // Compared in seconds first: a date centuries ahead does not fit system_clock's nanoseconds.
    const std::time_t now_t = std::chrono::system_clock::to_time_t(now);
    if (t > now_t && t - now_t > std::chrono::duration_cast<std::chrono::seconds>(max_retry_after).count()) return max_retry_after;
    if (t < now_t) return std::chrono::milliseconds(0);
    const auto at = std::chrono::system_clock::from_time_t(t);
    if (at <= now) return std::chrono::milliseconds(0);
    return std::min(std::chrono::ceil<std::chrono::milliseconds>(at - now), max_retry_after);
}

}  // namespace switchyard::http_detail
