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

#include "switchyard/config.hpp"

namespace switchyard {

/// One thread that runs callbacks at their due time: every retry of a bus waits here, so a
/// thousand pending retries cost a thousand heap entries, not a thousand sleeping threads. The
/// thread starts with the first timer and is joined by the destructor.
class SWITCHYARD_API timer_service {
public:
    /// The clock due times are on.
    using clock = std::chrono::steady_clock;
    /// Called once: at its due time with `cancelled` false, or early with `cancelled` true.
    using callback = std::function<void(bool cancelled)>;

    timer_service() = default;
    timer_service(const timer_service&) = delete;
    timer_service& operator=(const timer_service&) = delete;

    ~timer_service();

    /// Queues `cb`; returns false (and drops nothing: `cb` was not taken) once close() ran.
    [[nodiscard]] bool schedule(clock::time_point due, callback&& cb);

    /// Cancels everything pending (see cancel_all) and refuses later schedules: checked under the
    /// same lock, so no callback can slip in between the cancel and the refusal.
    void close();

    /// Callbacks scheduled and not yet run.
    std::size_t pending() const;

    /// Runs every pending callback now, with cancelled = true, on the calling thread (used by
    /// shutdown to dead-letter retries).
    void cancel_all();

private:
    struct entry {
        clock::time_point due;
        std::uint64_t sequence;  // keeps equal due times in scheduling order
        callback cb;
        bool operator>(const entry& other) const {
            return due != other.due ? due > other.due : sequence > other.sequence;
        }
    };

    void run();

    mutable std::mutex mutex_;
    std::condition_variable wake_;
    std::priority_queue<entry, std::vector<entry>, std::greater<>> heap_;
    std::uint64_t next_sequence_ = 0;
    bool stopping_ = false;
    bool closed_ = false;
    std::thread thread_;
};

}  // namespace switchyard

#ifdef SWITCHYARD_HEADER_ONLY
#include "switchyard/delivery/timer_service-inl.hpp"
#endif
