// Per-target retry policy: how many times a retryable failure is retried, for how long after the
// event was accepted, and how long to wait between attempts (exponential backoff with full
// jitter: a uniform draw in [0, min(cap, base * 2^retry)], as AWS recommends against herds).
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <string>

#include "switchyard/config.hpp"
#include "switchyard/error.hpp"

namespace switchyard {

/// Per-target retry policy: how many times a retryable failure is retried, for how long after the
/// event was accepted, and how long to wait between attempts (exponential backoff with full
/// jitter: a uniform draw in [0, min(cap, base * 2^retry)], as AWS recommends against herds).
struct retry_policy {
    /// Retries after the first attempt, 0 to 185 (EventBridge's MaximumRetryAttempts range).
    /// The default is small for an in-process bus; `eventbridge_defaults()` gives EventBridge's.
    unsigned max_retry_attempts = 2;
    /// A delivery is not retried once the event is older than this (EventBridge's
    /// MaximumEventAgeInSeconds: 60 s to 24 h).
    std::chrono::milliseconds max_event_age = std::chrono::hours(24);
    std::chrono::milliseconds base_delay = std::chrono::milliseconds(100);  ///< the backoff's base
    std::chrono::milliseconds max_delay = std::chrono::seconds(10);         ///< the backoff's cap

    /// The most retries validate() allows (EventBridge's limit).
    static constexpr unsigned max_allowed_retry_attempts = 185;

    /// No retries: the first failure is final.
    static retry_policy none() { return retry_policy{.max_retry_attempts = 0}; }

    /// EventBridge's defaults: 185 retries over at most 24 hours.
    static retry_policy eventbridge_defaults() {
        return retry_policy{.max_retry_attempts = 185, .max_event_age = std::chrono::hours(24),
                            .base_delay = std::chrono::seconds(1), .max_delay = std::chrono::minutes(3)};
    }

    /// Throws switchyard::error naming the field and the allowed range (the message starts with `where`).
    SWITCHYARD_API void validate(const std::string& where) const;

    /// The wait before retry number `retry` (1 for the first retry): full jitter.
    SWITCHYARD_API std::chrono::microseconds backoff(unsigned retry) const;
};

}  // namespace switchyard

#ifdef SWITCHYARD_HEADER_ONLY
#include "switchyard/delivery/retry_policy-inl.hpp"
#endif
