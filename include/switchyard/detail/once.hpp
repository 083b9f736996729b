// Runs an initialisation once, for objects that each make one thing once: an event's JSON text
// is made on first use, so every event that is journaled, archived or forwarded pays a first
// call. std::call_once's first call goes through glibc's pthread_once slow path (a few percent
// of a NATS bridge's CPU); here the first call is one compare-and-swap and every later call one
// acquire load. Concurrent first callers wait for the one that runs; if it throws, the next
// caller runs it again (as with std::call_once).
#pragma once

#include <atomic>

namespace switchyard::detail {

class once_latch {
public:
    template <class F> void call(F&& make) {
        if (state_.load(std::memory_order_acquire) != done) call_slow(make);
    }

private:
    enum : int { idle, running, done };

    template <class F> void call_slow(F& make) {
        for (;;) {
            int seen = idle;
            if (state_.compare_exchange_strong(seen, running, std::memory_order_acquire)) {
                try {
                    make();
                } catch (...) {
                    state_.store(idle, std::memory_order_release);
                    state_.notify_all();
                    throw;
                }
                state_.store(done, std::memory_order_release);
                state_.notify_all();
                return;
            }
            if (seen == done) return;
            state_.wait(running, std::memory_order_acquire);
        }
    }

    std::atomic<int> state_{idle};
};

}  // namespace switchyard::detail
