// An HTTP target's rate limit: requests are spaced at least 1/rate apart, whichever thread sends
// them. Private to switchyard::http.
#pragma once

#include <algorithm>
#include <chrono>
#include <mutex>

namespace switchyard::http_detail {

/// Spaces requests `interval` apart: a token bucket that holds a single token (GCRA with no
/// burst). A bucket holding a second's worth of tokens would let 2 * rate requests through within
/// one sliding second (a full bucket, then its refill), which a receiver counting "per second" in
/// a sliding window would throttle; with one token, no second ever sees more than rate + 1.
/// Idle time does not accumulate credit for the same reason.
class target_rate_limiter {
public:
    using clock = std::chrono::steady_clock;

    /// What reserve() decided.
    struct reservation {
        bool granted = false;  ///< true: send at `at`; false: nothing was reserved
        clock::time_point at;  ///< when the request may go (or would have gone)
    };

    explicit target_rate_limiter(clock::duration interval) : interval_(interval) {}

    /// Takes the next free slot when it comes no later than `now + max_wait`; otherwise reserves
    /// nothing (so a caller that gives up does not push everyone after it back) and says when
    /// that slot is.
    reservation reserve(clock::time_point now, clock::duration max_wait) {
        std::lock_guard lock(mutex_);
        const auto slot = std::max(next_, now);
        if (slot - now > max_wait) return {false, slot};
        next_ = slot + interval_;
        return {true, slot};
    }

    /// The spacing between requests.
    clock::duration interval() const noexcept { return interval_; }

private:
    const clock::duration interval_;
    std::mutex mutex_;
    clock::time_point next_{};  ///< the earliest time the next request may go
};

}  // namespace switchyard::http_detail
