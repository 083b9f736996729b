// timer_service.hpp's compiled half (compiled into libswitchyard, or included by timer_service.hpp when
// SWITCHYARD_HEADER_ONLY is defined).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <queue>
#include <thread>
#include <utility>
#include <vector>

#include "switchyard/config.hpp"
#include "switchyard/delivery/timer_service.hpp"

namespace switchyard {

SWITCHYARD_INLINE timer_service::~timer_service() {
    cancel_all();
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
    cancel_all();  // a callback that ran during the join may have scheduled another
}

SWITCHYARD_INLINE bool timer_service::schedule(clock::time_point due, callback&& cb) {
    std::lock_guard lock(mutex_);
    if (closed_) return false;
    // Start the thread before queueing: if that throws, nothing is left queued with no
    // thread to run it (the caller still holds the callback's work).
    if (!thread_.joinable()) thread_ = std::thread([this] { run(); });
    heap_.push(entry{due, next_sequence_++, std::move(cb)});
    wake_.notify_one();
    return true;
}

SWITCHYARD_INLINE void timer_service::close() {
    {
        std::lock_guard lock(mutex_);
        closed_ = true;
    }
    cancel_all();
}

SWITCHYARD_INLINE std::size_t timer_service::pending() const {
    std::lock_guard lock(mutex_);
    return heap_.size();
}

SWITCHYARD_INLINE void timer_service::cancel_all() {
    std::vector<callback> cancelled;
    {
        std::lock_guard lock(mutex_);
        while (!heap_.empty()) {
            cancelled.push_back(std::move(const_cast<entry&>(heap_.top()).cb));
            heap_.pop();
        }
    }
    for (auto& cb : cancelled) cb(true);
}

SWITCHYARD_INLINE void timer_service::run() {
    std::unique_lock lock(mutex_);
    while (!stopping_) {
        if (heap_.empty()) {
            wake_.wait(lock);
            continue;
        }
        const auto due = heap_.top().due;
        if (clock::now() < due) {
            wake_.wait_until(lock, due);
            continue;
        }
        callback cb = std::move(const_cast<entry&>(heap_.top()).cb);
        heap_.pop();
        lock.unlock();
        cb(false);
        lock.lock();
    }
}

}  // namespace switchyard
