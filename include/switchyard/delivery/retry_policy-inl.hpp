// retry_policy.hpp's compiled half (compiled into libswitchyard, or included by retry_policy.hpp when
// SWITCHYARD_HEADER_ONLY is defined).
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <random>
#include <string>

#include "switchyard/config.hpp"
#include "switchyard/delivery/retry_policy.hpp"

namespace switchyard {

SWITCHYARD_INLINE void retry_policy::validate(const std::string& where) const {
    if (max_retry_attempts > max_allowed_retry_attempts)
        throw error(where + ": retry_policy::max_retry_attempts is " + std::to_string(max_retry_attempts) +
                    "; it must be 0 to 185");
    if (max_event_age.count() <= 0) throw error(where + ": retry_policy::max_event_age must be positive");
    if (base_delay.count() < 0 || max_delay.count() < 0)
        throw error(where + ": retry_policy delays must not be negative");
    if (max_delay < base_delay) throw error(where + ": retry_policy::max_delay must be at least base_delay");
}

SWITCHYARD_INLINE std::chrono::microseconds retry_policy::backoff(unsigned retry) const {
    thread_local std::mt19937_64 generator{std::random_device{}()};
    const auto base = std::chrono::duration_cast<std::chrono::microseconds>(base_delay).count();
    const auto cap = std::chrono::duration_cast<std::chrono::microseconds>(max_delay).count();
    const unsigned shift = std::min(retry > 0 ? retry - 1 : 0u, 40u);
    const long double ceiling = std::min<long double>(static_cast<long double>(cap),
                                                      static_cast<long double>(base) * static_cast<long double>(1ull << shift));
    std::uniform_int_distribution<std::int64_t> draw(0, static_cast<std::int64_t>(ceiling));
    return std::chrono::microseconds(draw(generator));
}

}  // namespace switchyard
