// A fixed pool of worker threads sharing one FIFO queue. The destructor runs every task already
// queued, then joins its threads. An exception escaping a task goes to the pool's error handler
// (by default a line on stderr) and the worker carries on.
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

#include "switchyard/error.hpp"
#include "switchyard/executor/detail/task_errors.hpp"
#include "switchyard/executor/executor.hpp"

namespace switchyard {

class thread_pool {
public:
    using error_handler = std::function<void(std::exception_ptr)>;

    explicit thread_pool(std::size_t threads, error_handler on_error = {}) : on_error_(std::move(on_error)) {
        if (threads == 0) throw error("thread_pool needs at least one thread (use inline_executor to run tasks on the caller)");
        workers_.reserve(threads);
        for (std::size_t i = 0; i < threads; ++i) workers_.emplace_back([this] { work(); });
    }

    thread_pool(const thread_pool&) = delete;
    thread_pool& operator=(const thread_pool&) = delete;

    ~thread_pool() {
        {
            std::lock_guard lock(mutex_);
            stopping_ = true;
        }
        ready_.notify_all();
        for (auto& worker : workers_) worker.join();
    }

    // Queues `t`. Throws switchyard::error once the pool is being destroyed.
    void execute(task t) {
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

    std::size_t size() const noexcept { return workers_.size(); }

    // Tasks queued and not yet started.
    std::size_t backlog() const {
        std::lock_guard lock(mutex_);
        return queue_.size();
    }

    // Expires when the executor is destroyed (see executor_lifetime).
    std::weak_ptr<const void> lifetime() const noexcept { return lifetime_.token(); }

private:
    void work() {
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

    void report(std::exception_ptr failure) noexcept { detail::report_task_failure(on_error_, failure, "thread_pool"); }

    error_handler on_error_;
    mutable std::mutex mutex_;
    std::condition_variable ready_;
    std::deque<task> queue_;
    bool stopping_ = false;
    std::size_t sleeping_ = 0;
    std::atomic<std::size_t> queued_{0};  // queue_.size(), readable without the lock
    std::vector<std::thread> workers_;
    executor_lifetime lifetime_;
};

}  // namespace switchyard
