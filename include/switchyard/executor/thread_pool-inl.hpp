// thread_pool.hpp's compiled half (compiled into libswitchyard, or included by thread_pool.hpp when
// SWITCHYARD_HEADER_ONLY is defined).
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdio>
#include <deque>
#include <atomic>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "switchyard/config.hpp"
#include "switchyard/executor/thread_pool.hpp"

namespace switchyard {

SWITCHYARD_INLINE thread_pool::thread_pool(std::size_t threads, error_handler on_error) : on_error_(std::move(on_error)) {
    if (threads == 0) throw error("thread_pool needs at least one thread (use inline_executor to run tasks on the caller)");
    workers_.reserve(threads);
    for (std::size_t i = 0; i < threads; ++i) workers_.emplace_back([this] { work(); });
}

SWITCHYARD_INLINE thread_pool::~thread_pool() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    ready_.notify_all();
    for (auto& worker : workers_) worker.join();
}

SWITCHYARD_INLINE void thread_pool::execute(task t) {
    bool wake = false;
    {
        std::lock_guard lock(mutex_);
        if (stopping_) throw error("thread_pool::execute called while the pool is being destroyed");
        queue_.push_back(std::move(t));
        queued_.store(queue_.size(), std::memory_order_relaxed);
        // Only a sleeping worker needs a wake-up; busy ones come back for the queue anyway,
        // and skipping the notify saves a futex call per task under load.
        wake = sleeping_ > 0;
    }
    if (wake) ready_.notify_one();
}

SWITCHYARD_INLINE std::size_t thread_pool::backlog() const {
    std::lock_guard lock(mutex_);
    return queue_.size();
}

SWITCHYARD_INLINE void thread_pool::work() {
    for (;;) {
        task next;
        {
            std::unique_lock lock(mutex_);
            if (!stopping_ && queue_.empty()) {
                // Look again for a few microseconds before sleeping: under a steady stream
                // this saves a sleep and a wake-up (two context switches) per task.
                lock.unlock();
                for (int spin = 0; spin < 64 && queued_.load(std::memory_order_relaxed) == 0; ++spin)
                    std::this_thread::yield();
                lock.lock();
            }
            if (!stopping_ && queue_.empty()) {
                ++sleeping_;
                ready_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
                --sleeping_;
            }
            if (queue_.empty()) return;  // stopping, and nothing left to run
            next = std::move(queue_.front());
            queue_.pop_front();
            queued_.store(queue_.size(), std::memory_order_relaxed);
        }
        try {
            next();
        } catch (...) {
            report(std::current_exception());
        }
    }
}

}  // namespace switchyard
