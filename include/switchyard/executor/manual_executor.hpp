// An executor that runs nothing until told to: tasks queue until `run_one` or `run_all` is
// called, on the caller's thread. Tests use it to interleave deliveries deterministically.
#pragma once

#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <utility>

#include "switchyard/executor/executor.hpp"

namespace switchyard {

/// An executor that runs nothing until told to: tasks queue until run_one() or run_all() is
/// called, on the caller's thread. Tests use it to interleave deliveries deterministically.
class manual_executor {
public:
    /// Queues `t`.
    void execute(task t) {
        std::lock_guard lock(mutex_);
        queue_.push_back(std::move(t));
    }

    /// Runs the oldest queued task; returns false when there was none.
    bool run_one() {
        task next;
        {
            std::lock_guard lock(mutex_);
            if (queue_.empty()) return false;
            next = std::move(queue_.front());
            queue_.pop_front();
        }
        next();
        return true;
    }

    /// Runs tasks until the queue is empty, including tasks queued by the tasks it runs.
    /// Returns how many ran.
    std::size_t run_all() {
        std::size_t ran = 0;
        while (run_one()) ++ran;
        return ran;
    }

    /// Tasks queued and not yet run.
    std::size_t size() const {
        std::lock_guard lock(mutex_);
        return queue_.size();
    }

    /// Expires when the executor is destroyed (see executor_lifetime).
    std::weak_ptr<const void> lifetime() const noexcept { return lifetime_.token(); }

private:
    mutable std::mutex mutex_;
    std::deque<task> queue_;
    executor_lifetime lifetime_;
};

}  // namespace switchyard
