// One thread that runs callbacks at their due time: every retry of a bus waits here, so a
// thousand pending retries cost a thousand heap entries, not a thousand sleeping threads. The
// thread starts with the first timer and is joined by the destructor. `cancel_all` hands every
// pending callback `cancelled = true` at once (used by shutdown to dead-letter retries).
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

namespace switchyard {

class timer_service {
public:
    using clock = std::chrono::steady_clock;
    using callback = std::function<void(bool cancelled)>;

    timer_service() = default;
    timer_service(const timer_service&) = delete;
    timer_service& operator=(const timer_service&) = delete;

    ~timer_service() {
        cancel_all();
        {
            std::lock_guard lock(mutex_);
            stopping_ = true;
        }
        wake_.notify_all();
        if (thread_.joinable()) thread_.join();
        cancel_all();  // a callback that ran during the join may have scheduled another
    }

    // Queues `cb`; returns false (and drops nothing: `cb` was not taken) once close() ran.
    [[nodiscard]] bool schedule(clock::time_point due, callback&& cb) {
        std::lock_guard lock(mutex_);
        if (closed_) return false;
        // Start the thread before queueing: if that throws, nothing is left queued with no
        // thread to run it (the caller still holds the callback's work).
        if (!thread_.joinable()) thread_ = std::thread([this] { run(); });
        heap_.push(entry{due, next_sequence_++, std::move(cb)});
        wake_.notify_one();
        return true;
    }

    // Cancels everything pending (see cancel_all) and refuses later schedules: checked under the
    // same lock, so no callback can slip in between the cancel and the refusal.
    void close() {
        {
            std::lock_guard lock(mutex_);
            closed_ = true;
        }
        cancel_all();
    }

    std::size_t pending() const {
        std::lock_guard lock(mutex_);
        return heap_.size();
    }

    // Runs every pending callback now, with cancelled = true, on the calling thread.
    void cancel_all() {
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

private:
    struct entry {
        clock::time_point due;
        std::uint64_t sequence;  // keeps equal due times in scheduling order
        callback cb;
        bool operator>(const entry& other) const {
            return due != other.due ? due > other.due : sequence > other.sequence;
        }
    };

    void run() {
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

    mutable std::mutex mutex_;
    std::condition_variable wake_;
    std::priority_queue<entry, std::vector<entry>, std::greater<>> heap_;
    std::uint64_t next_sequence_ = 0;
    bool stopping_ = false;
    bool closed_ = false;
    std::thread thread_;
};

}  // namespace switchyard
