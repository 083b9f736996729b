// idempotency.hpp's compiled half (compiled into libswitchyard, or included by idempotency.hpp when
// SWITCHYARD_HEADER_ONLY is defined).
#pragma once

#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>

#include "switchyard/config.hpp"
#include "switchyard/durability/idempotency.hpp"

namespace switchyard {

SWITCHYARD_INLINE memory_processed_store::memory_processed_store(std::size_t capacity) : capacity_(capacity) {
    if (capacity_ == 0) throw error("memory_processed_store: capacity must be at least 1");
}

SWITCHYARD_INLINE bool memory_processed_store::contains(std::string_view key) {
    std::lock_guard lock(mutex_);
    return keys_.count(std::string(key)) != 0;
}

SWITCHYARD_INLINE void memory_processed_store::insert(std::string_view key) {
    std::lock_guard lock(mutex_);
    if (!keys_.emplace(key).second) return;
    order_.emplace_back(key);
    if (order_.size() > capacity_) {
        keys_.erase(order_.front());
        order_.pop_front();
    }
}

SWITCHYARD_INLINE std::size_t memory_processed_store::size() const {
    std::lock_guard lock(mutex_);
    return keys_.size();
}

}  // namespace switchyard
