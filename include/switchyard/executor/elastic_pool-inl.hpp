// elastic_pool.hpp's compiled half (compiled into libswitchyard, or included by elastic_pool.hpp when
// SWITCHYARD_HEADER_ONLY is defined).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdio>
#include <deque>
#include <exception>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "switchyard/config.hpp"
#include "switchyard/executor/elastic_pool.hpp"

namespace switchyard {

SWITCHYARD_INLINE elastic_pool::elastic_pool(elastic_pool_options options, error_handler on_error) : options_(options), on_error_(std::move(on_error)) {
    if (options_.max_workers == 0) throw error("elastic_pool_options::max_workers must be at least 1");
    if (options_.min_workers > options_.max_workers)
        throw error("elastic_pool_options::min_workers must not exceed max_workers");
    if (!(options_.target_backlog_per_worker > 0.0))
        throw error("elastic_pool_options::target_backlog_per_worker must be positive");
    std::lock_guard lock(mutex_);
    while (workers_ < options_.min_workers) start_worker();
}

SWITCHYARD_INLINE elastic_pool::~elastic_pool() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
        if (workers_ == 0 && !queue_.empty()) start_worker();  // someone must run what is queued
    }
    ready_.notify_all();
    // Workers leave once the queue is empty; each moves its thread to reaped_ on the way out.
    std::list<std::thread> finished;
    {
        std::unique_lock lock(mutex_);
        exited_.wait(lock, [this] { return workers_ == 0; });
        finished.swap(reaped_);
    }
    for (auto& t : finished) t.join();
}

SWITCHYARD_INLINE void elastic_pool::execute(task t) {
    std::list<std::thread> finished;
    bool wake = false;
    {
        std::lock_guard lock(mutex_);
        if (stopping_) throw error("elastic_pool::execute called while the pool is being destroyed");
        queue_.push_back(std::move(t));
        queued_.store(queue_.size(), std::memory_order_relaxed);
        // Only a waiting worker needs a wake-up; one looking again before it waits (see work())
        // finds the task itself. Skipping the notify saves a futex call per task under load.
        wake = idle_ > 0;
        const double backlog_per_worker =
            workers_ == 0 ? static_cast<double>(queue_.size())
                          : static_cast<double>(queue_.size()) / static_cast<double>(workers_);
        // Idle workers (waiting, or looking again before they wait) absorb one queued task each
        // (one may be woken but not yet running); beyond that, the backlog per worker decides.
        if (workers_ < options_.max_workers &&
            (workers_ == 0 || (queue_.size() > idle_ + looking_ && backlog_per_worker > options_.target_backlog_per_worker)))
            start_worker();
        finished.swap(reaped_);
    }
    if (wake) ready_.notify_one();
    for (auto& thread : finished) thread.join();
}

SWITCHYARD_INLINE std::size_t elastic_pool::workers() const {
    std::lock_guard lock(mutex_);
    return workers_;
}

SWITCHYARD_INLINE std::size_t elastic_pool::peak_workers() const {
    std::lock_guard lock(mutex_);
    return peak_;
}

SWITCHYARD_INLINE std::size_t elastic_pool::backlog() const {
    std::lock_guard lock(mutex_);
    return queue_.size();
}

SWITCHYARD_INLINE std::size_t elastic_pool::idle_workers() const {
    std::lock_guard lock(mutex_);
    return idle_ + looking_;
}

SWITCHYARD_INLINE bool elastic_pool::wait_for_workers(std::size_t count, std::chrono::milliseconds timeout) const {
    std::unique_lock lock(mutex_);
    return exited_.wait_for(lock, timeout, [&] { return workers_ == count; });
}

SWITCHYARD_INLINE void elastic_pool::start_worker() {
    ++workers_;
    if (workers_ > peak_) peak_ = workers_;
    exited_.notify_all();
    threads_.emplace_back();
    auto self = std::prev(threads_.end());
    *self = std::thread([this, self] { work(self); });
}

SWITCHYARD_INLINE void elastic_pool::work(std::list<std::thread>::iterator self) {
    std::unique_lock lock(mutex_);
    for (;;) {
        if (queue_.empty() && !stopping_) {
            // Look again for a few microseconds before waiting: under a steady stream of small
            // tasks this saves a wait and a wake-up (two context switches) per task. With four
            // workers on two cores, waking one per task cut throughput to a tenth of one worker's.
            ++looking_;
            lock.unlock();
            for (int spin = 0; spin < 64 && queued_.load(std::memory_order_relaxed) == 0; ++spin) std::this_thread::yield();
            lock.lock();
            --looking_;
        }
        if (queue_.empty()) {
            if (stopping_) break;
            ++idle_;
            const bool woke = ready_.wait_for(lock, options_.idle_timeout, [this] { return stopping_ || !queue_.empty(); });
            --idle_;
            if (!woke && workers_ > options_.min_workers) break;  // idle too long: scale in
            continue;
        }
        task next = std::move(queue_.front());
        queue_.pop_front();
        queued_.store(queue_.size(), std::memory_order_relaxed);
        lock.unlock();
        try {
            next();
        } catch (...) {
            report(std::current_exception());
        }
        next = nullptr;
        lock.lock();
    }
    // Hand our std::thread to be joined by whoever executes next (or the destructor).
    reaped_.splice(reaped_.end(), threads_, self);
    --workers_;
    exited_.notify_all();
}

}  // namespace switchyard
