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

#include "switchyard/config.hpp"
#include "switchyard/error.hpp"
#include "switchyard/executor/detail/task_errors.hpp"
#include "switchyard/executor/executor.hpp"

namespace switchyard {

/// A fixed pool of worker threads sharing one FIFO queue. The destructor runs every task already
/// queued, then joins its threads. An exception escaping a task goes to the pool's error handler
/// (by default a line on stderr) and the worker carries on.
class SWITCHYARD_API thread_pool {
public:
    /// Receives an exception that escaped a task; without one, the pool writes a line to stderr.
    using error_handler = std::function<void(std::exception_ptr)>;

    /// Starts `threads` workers. Throws switchyard::error when `threads` is zero.
    explicit thread_pool(std::size_t threads, error_handler on_error = {});

    thread_pool(const thread_pool&) = delete;
    thread_pool& operator=(const thread_pool&) = delete;

    ~thread_pool();

    /// Queues `t`. Throws switchyard::error once the pool is being destroyed.
    void execute(task t);

    /// The number of worker threads.
    std::size_t size() const noexcept { return workers_.size(); }

    /// Tasks queued and not yet started.
    std::size_t backlog() const;

    /// Expires when the executor is destroyed (see executor_lifetime).
    std::weak_ptr<const void> lifetime() const noexcept { return lifetime_.token(); }

private:
    void work();

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

#ifdef SWITCHYARD_HEADER_ONLY
#include "switchyard/executor/thread_pool-inl.hpp"
#endif
