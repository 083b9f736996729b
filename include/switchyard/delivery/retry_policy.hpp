// Per-target retry policy: how many times a retryable failure is retried, for how long after the
// event was accepted, and how long to wait between attempts (exponential backoff with full
// jitter: a uniform draw in [0, min(cap, base * 2^retry)], as AWS recommends against herds).
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <random>
#include <string>

#include "switchyard/error.hpp"

namespace switchyard {

struct retry_policy {
    // Retries after the first attempt, 0 to 185 (EventBridge's MaximumRetryAttempts range).
    // The default is small for an in-process bus; `eventbridge_defaults()` gives EventBridge's.
    unsigned max_retry_attempts = 2;
    // A delivery is not retried once the event is older than this (EventBridge's
    // MaximumEventAgeInSeconds: 60 s to 24 h).
    std::chrono::milliseconds max_event_age = std::chrono::hours(24);
    std::chrono::milliseconds base_delay = std::chrono::milliseconds(100);
    std::chrono::milliseconds max_delay = std::chrono::seconds(10);

    static constexpr unsigned max_allowed_retry_attempts = 185;

    // No retries: the first failure is final.
    static retry_policy none() { return retry_policy{.max_retry_attempts = 0}; }

    // EventBridge's defaults: 185 retries over at most 24 hours.
    static retry_policy eventbridge_defaults() {
        return retry_policy{.max_retry_attempts = 185, .max_event_age = std::chrono::hours(24),
                            .base_delay = std::chrono::seconds(1), .max_delay = std::chrono::minutes(3)};
    }

    // Throws switchyard::error naming the field and the allowed range.
    void validate(const std::string& where) const {
        if (max_retry_attempts > max_allowed_retry_attempts)
            throw error(where + ": retry_policy::max_retry_attempts is " + std::to_string(max_retry_attempts) +
                        "; it must be 0 to 185");
        if (max_event_age.count() <= 0) throw error(where + ": retry_policy::max_event_age must be positive");
        if (base_delay.count() < 0 || max_delay.count() < 0)
            throw error(where + ": retry_policy delays must not be negative");
        if (max_delay < base_delay) throw error(where + ": retry_policy::max_delay must be at least base_delay");
    }

    // The wait before retry number `retry` (1 for the first retry): full jitter.
    std::chrono::microseconds backoff(unsigned retry) const {
        thread_local std::mt19937_64 generator{std::random_device{}()};
        const auto base = std::chrono::duration_cast<std::chrono::microseconds>(base_delay).count();
        const auto cap = std::chrono::duration_cast<std::chrono::microseconds>(max_delay).count();
        const unsigned shift = std::min(retry > 0 ? retry - 1 : 0u, 40u);
        const long double ceiling = std::min<long double>(static_cast<long double>(cap),
                                                          static_cast<long double>(base) * static_cast<long double>(1ull << shift));
        std::uniform_int_distribution<std::int64_t> draw(0, static_cast<std::int64_t>(ceiling));
        return std::chrono::microseconds(draw(generator));
    }
};

}  // namespace switchyard
