// The clock a scheduler reads. The system clock moves by itself, so a scheduler watches it with a
// timer; a manual_clock moves only when told, and then runs the fires that fall due, each at its
// own time, on the thread that moved it: a test or a simulation runs a week of schedules in
// milliseconds and sees every fire on time, in order.
#pragma once

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <optional>
#include <vector>

#include "switchyard/error.hpp"

namespace switchyard {

namespace detail {
// What a manual_clock drives: a scheduler's next due moment, and running what is due at `now`.
class clock_listener {
public:
    virtual std::optional<std::chrono::system_clock::time_point> next_due() = 0;
    virtual void run_due(std::chrono::system_clock::time_point now) = 0;

protected:
    ~clock_listener() = default;
};
}  // namespace detail

/// The clock a scheduler reads: the system clock unless a test or a simulation gives its own.
class schedule_clock {
public:
    virtual ~schedule_clock() = default;
    /// The current time.
    virtual std::chrono::system_clock::time_point now() const = 0;

    /// True for a clock that moves only when told (manual_clock): its schedulers start no timer
    /// thread and fire when it moves.
    virtual bool manual() const noexcept { return false; }

    /// For schedulers on a manual clock: called when one starts and stops using it.
    virtual void attach(detail::clock_listener&) {}
    /// @copydoc attach
    virtual void detach(detail::clock_listener&) noexcept {}
};

/// The system clock (the default).
class system_schedule_clock final : public schedule_clock {
public:
    std::chrono::system_clock::time_point now() const override { return std::chrono::system_clock::now(); }

    /// The one instance schedulers use by default.
    static system_schedule_clock& instance() {
        static system_schedule_clock clock;
        return clock;
    }
};

/// A clock that moves only when told. advance() and set() run, on the calling thread, every fire
/// of every scheduler on this clock that falls due on the way, each with the clock reading its
/// due time, in time order. Move it from one thread at a time, and not from inside a fire;
/// now() may be read from any thread, and a scheduler on it may be destroyed on any thread (its
/// destructor waits while the clock is running that scheduler's fires).
class manual_clock final : public schedule_clock {
public:
    /// A clock reading `start`.
    explicit manual_clock(std::chrono::system_clock::time_point start) : now_(start) {}

    std::chrono::system_clock::time_point now() const override {
        std::lock_guard lock(mutex_);
        return now_;
    }
    bool manual() const noexcept override { return true; }

    /// Moves the clock forward by `d` (see the class comment). Throws switchyard::error for a
    /// negative `d`: schedules never run backwards.
    void advance(std::chrono::system_clock::duration d) {
        if (d < d.zero()) throw error("manual_clock::advance: the duration is negative; a schedule clock only moves forward");
        set(now() + d);
    }

    /// Moves the clock forward to `t` (see the class comment); an earlier `t`, or a call from
    /// inside a fire this clock is running, throws switchyard::error.
    void set(std::chrono::system_clock::time_point t) {
        {
            std::lock_guard lock(mutex_);
            if (mover_ == std::this_thread::get_id())
                throw error("manual_clock moved from inside a fire it is running: move it from outside the handlers "
                            "(a fire runs with the clock at its due time)");
            if (t < now_) throw error("manual_clock::set: the time is earlier than the clock's; a schedule clock only moves forward");
            mover_ = std::this_thread::get_id();
        }
        struct done_moving {
            manual_clock& c;
            ~done_moving() {
                std::lock_guard lock(c.mutex_);
                c.mover_ = {};
            }
        } done{*this};
        for (;;) {
            // The earliest due moment of any scheduler, if it is on the way to `t`.
            std::optional<std::chrono::system_clock::time_point> earliest;
            for (auto* l : listeners())
                with_listener(l, [&](detail::clock_listener& live) {
                    const auto due = live.next_due();
                    if (due && *due <= t && (!earliest || *due < *earliest)) earliest = due;
                });
            if (!earliest) break;
            const auto at = move_to(*earliest);
            for (auto* l : listeners()) with_listener(l, [&](detail::clock_listener& live) { live.run_due(at); });
        }
        move_to(t);
        for (auto* l : listeners()) with_listener(l, [&](detail::clock_listener& live) { live.run_due(t); });
    }

    void attach(detail::clock_listener& l) override {
        std::lock_guard lock(mutex_);
        listeners_.push_back(&l);
    }
    void detach(detail::clock_listener& l) noexcept override {
        std::unique_lock lock(mutex_);
        std::erase(listeners_, &l);
        // Another thread moving the clock may be inside this listener: wait until it is out. (On
        // the moving thread itself, a fire is destroying a scheduler; it is not `current_`.)
        if (mover_ != std::this_thread::get_id()) released_.wait(lock, [&] { return current_ != &l; });
    }

private:
    std::vector<detail::clock_listener*> listeners() const {
        std::lock_guard lock(mutex_);
        return listeners_;
    }
    // Calls `f` with `l` if it is still attached, marked as in use so detach() waits for it.
    template <class F> void with_listener(detail::clock_listener* l, F&& f) {
        {
            std::lock_guard lock(mutex_);
            if (std::find(listeners_.begin(), listeners_.end(), l) == listeners_.end()) return;
            current_ = l;
        }
        struct release {
            manual_clock& c;
            ~release() {
                {
                    std::lock_guard lock(c.mutex_);
                    c.current_ = nullptr;
                }
                c.released_.notify_all();
            }
        } released{*this};
        f(*l);
    }
    std::chrono::system_clock::time_point move_to(std::chrono::system_clock::time_point t) {
        std::lock_guard lock(mutex_);
        now_ = std::max(now_, t);
        return now_;
    }

    mutable std::mutex mutex_;
    std::condition_variable released_;
    std::chrono::system_clock::time_point now_;
    std::vector<detail::clock_listener*> listeners_;
    detail::clock_listener* current_ = nullptr;  // the listener a set() is calling
    std::thread::id mover_{};                     // the thread inside set()
};

}  // namespace switchyard
