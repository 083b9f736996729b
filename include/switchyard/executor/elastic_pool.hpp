// A pool whose workers follow the backlog, like target tracking on "backlog per task": it starts
// a worker whenever queued tasks per worker exceed the target (up to max_workers), and a worker
// that has been idle for idle_timeout exits (down to min_workers, which may be zero). With no
// workers, the next task starts one at once: a pool at zero never waits for "enough data".
// Every thread is joined by the pool: exited workers are reaped on the next execute and in the
// destructor, which first runs every queued task.
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
#include "switchyard/error.hpp"
#include "switchyard/executor/detail/task_errors.hpp"
#include "switchyard/executor/executor.hpp"

namespace switchyard {

/// How an elastic_pool scales.
struct elastic_pool_options {
    std::size_t min_workers = 0;  ///< workers kept when idle (may be zero)
    std::size_t max_workers = 4;  ///< at most this many workers (at least 1)
    /// Start another worker when queued tasks per worker exceed this.
    double target_backlog_per_worker = 1.0;
    std::chrono::milliseconds idle_timeout = std::chrono::seconds(30);  ///< an idle worker exits after this
};

/// A pool whose workers follow the backlog, like target tracking on "backlog per task": it starts
/// a worker whenever queued tasks per worker exceed the target (up to max_workers), and a worker
/// that has been idle for idle_timeout exits (down to min_workers, which may be zero). With no
/// workers, the next task starts one at once: a pool at zero never waits for "enough data".
/// Every thread is joined by the pool: exited workers are reaped on the next execute and in the
/// destructor, which first runs every queued task.
class SWITCHYARD_API elastic_pool {
public:
    /// Receives an exception that escaped a task; without one, the pool writes a line to stderr.
    using error_handler = std::function<void(std::exception_ptr)>;

    /// Throws switchyard::error when the options are inconsistent (max_workers zero, min_workers
    /// above it, a target backlog that is not positive).
    explicit elastic_pool(elastic_pool_options options = {}, error_handler on_error = {});

    elastic_pool(const elastic_pool&) = delete;
    elastic_pool& operator=(const elastic_pool&) = delete;

    ~elastic_pool();

    /// Queues `t`, starting a worker when the backlog calls for one. Throws switchyard::error
    /// while the pool is being destroyed.
    void execute(task t);

    /// Workers running now (busy or idle).
    std::size_t workers() const;
    /// The most workers that ran at once.
    std::size_t peak_workers() const;
    /// Tasks queued and not yet started.
    std::size_t backlog() const;
    /// Workers without a task: waiting for one, or looking for one before they wait. A task
    /// queued while one is idle does not start a new worker below max_workers.
    std::size_t idle_workers() const;
    /// The options it was made with.
    const elastic_pool_options& options() const noexcept { return options_; }

    /// Waits until the pool runs exactly `count` workers, or the timeout passes. For tests and
    /// dashboards that want to observe scaling without polling.
    bool wait_for_workers(std::size_t count, std::chrono::milliseconds timeout) const;

    /// Expires when the executor is destroyed (see executor_lifetime).
    std::weak_ptr<const void> lifetime() const noexcept { return lifetime_.token(); }

private:
    // Called with mutex_ held.
    void start_worker();

    void work(std::list<std::thread>::iterator self);

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
    std::size_t idle_ = 0;                // workers waiting on ready_
    std::size_t looking_ = 0;             // workers looking again before they wait (see work())
    std::atomic<std::size_t> queued_{0};  // queue_.size(), readable without the lock
    std::size_t peak_ = 0;
    bool stopping_ = false;
    executor_lifetime lifetime_;
};

}  // namespace switchyard

#ifdef SWITCHYARD_HEADER_ONLY
#include "switchyard/executor/elastic_pool-inl.hpp"
#endif
