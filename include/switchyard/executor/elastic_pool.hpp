// A pool whose workers follow the backlog, like target tracking on "backlog per task": it starts
// a worker whenever queued tasks per worker exceed the target (up to max_workers), and a worker
// that has been idle for idle_timeout exits (down to min_workers, which may be zero). With no
// workers, the next task starts one at once: a pool at zero never waits for "enough data".
// Every thread is joined by the pool: exited workers are reaped on the next execute and in the
// destructor, which first runs every queued task.
#pragma once

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

#include "switchyard/error.hpp"
#include "switchyard/executor/detail/task_errors.hpp"
#include "switchyard/executor/executor.hpp"

namespace switchyard {

struct elastic_pool_options {
    std::size_t min_workers = 0;
    std::size_t max_workers = 4;
    // Start another worker when queued tasks per worker exceed this.
    double target_backlog_per_worker = 1.0;
    std::chrono::milliseconds idle_timeout = std::chrono::seconds(30);
};

class elastic_pool {
public:
    using error_handler = std::function<void(std::exception_ptr)>;

    explicit elastic_pool(elastic_pool_options options = {}, error_handler on_error = {})
        : options_(options), on_error_(std::move(on_error)) {
        if (options_.max_workers == 0) throw error("elastic_pool_options::max_workers must be at least 1");
        if (options_.min_workers > options_.max_workers)
            throw error("elastic_pool_options::min_workers must not exceed max_workers");
        if (!(options_.target_backlog_per_worker > 0.0))
            throw error("elastic_pool_options::target_backlog_per_worker must be positive");
        std::lock_guard lock(mutex_);
        while (workers_ < options_.min_workers) start_worker();
    }

    elastic_pool(const elastic_pool&) = delete;
    elastic_pool& operator=(const elastic_pool&) = delete;

    ~elastic_pool() {
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

    void execute(task t) {
        std::list<std::thread> finished;
        {
            std::lock_guard lock(mutex_);
            if (stopping_) throw error("elastic_pool::execute called while the pool is being destroyed");
            queue_.push_back(std::move(t));
            const double backlog_per_worker =
                workers_ == 0 ? static_cast<double>(queue_.size())
                              : static_cast<double>(queue_.size()) / static_cast<double>(workers_);
            // Idle workers absorb one queued task each (one may be woken but not yet running);
            // beyond that, the backlog per worker decides.
            if (workers_ < options_.max_workers &&
                (workers_ == 0 || (queue_.size() > idle_ && backlog_per_worker > options_.target_backlog_per_worker)))
                start_worker();
            finished.swap(reaped_);
        }
        ready_.notify_one();
        for (auto& thread : finished) thread.join();
    }

    // Workers running now (busy or idle).
    std::size_t workers() const {
        std::lock_guard lock(mutex_);
        return workers_;
    }
    // The most workers that ran at once.
    std::size_t peak_workers() const {
        std::lock_guard lock(mutex_);
        return peak_;
    }
    std::size_t backlog() const {
        std::lock_guard lock(mutex_);
        return queue_.size();
    }
    const elastic_pool_options& options() const noexcept { return options_; }

    // Waits until the pool runs exactly `count` workers, or the timeout passes. For tests and
    // dashboards that want to observe scaling without polling.
    bool wait_for_workers(std::size_t count, std::chrono::milliseconds timeout) const {
        std::unique_lock lock(mutex_);
        return exited_.wait_for(lock, timeout, [&] { return workers_ == count; });
    }

    // Expires when the executor is destroyed (see executor_lifetime).
    std::weak_ptr<const void> lifetime() const noexcept { return lifetime_.token(); }

private:
    // Called with mutex_ held.
    void start_worker() {
        ++workers_;
        if (workers_ > peak_) peak_ = workers_;
        exited_.notify_all();
        threads_.emplace_back();
        auto self = std::prev(threads_.end());
        *self = std::thread([this, self] { work(self); });
    }

    void work(std::list<std::thread>::iterator self) {
        std::unique_lock lock(mutex_);
        for (;;) {
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

    void report(std::exception_ptr failure) noexcept { detail::report_task_failure(on_error_, failure, "elastic_pool"); }

    elastic_pool_options options_;
    error_handler on_error_;
    mutable std::mutex mutex_;
    std::condition_variable ready_;
    mutable std::condition_variable exited_;
    std::deque<task> queue_;
    std::list<std::thread> threads_;  // running workers
    std::list<std::thread> reaped_;   // exited workers, not yet joined
    std::size_t workers_ = 0;
    std::size_t idle_ = 0;
    std::size_t peak_ = 0;
    bool stopping_ = false;
    executor_lifetime lifetime_;
};

}  // namespace switchyard
