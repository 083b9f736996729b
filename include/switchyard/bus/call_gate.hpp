// The call gate of a subscription's target: calls enter and leave it, and ending the
// subscription closes it and waits for the calls already inside — except those running on the
// closing thread itself (a handler that ends its own subscription), which would never leave.
#pragma once

#include <condition_variable>
#include <mutex>

namespace switchyard::detail {

class call_gate {
public:
    // A call inside the gate for as long as it lives; `entered()` is false when the gate was
    // already closed (the call must not run).
    class scope {
    public:
        explicit scope(call_gate& gate) : gate_(&gate), outer_(innermost()) {
            std::lock_guard lock(gate.mutex_);
            if (!gate.open_) {
                gate_ = nullptr;
                return;
            }
            ++gate.running_;
            innermost() = this;
        }
        ~scope() {
            if (!gate_) return;
            innermost() = outer_;
            std::lock_guard lock(gate_->mutex_);
            --gate_->running_;
            gate_->idle_.notify_all();
        }
        scope(const scope&) = delete;
        scope& operator=(const scope&) = delete;
        bool entered() const noexcept { return gate_ != nullptr; }

    private:
        friend class call_gate;
        call_gate* gate_;
        const scope* outer_;
    };

    // Lets no more calls in, then waits until every call inside has left, but for those on
    // this thread (nested inline calls), which are still on the stack below the caller.
    void close_and_wait() {
        std::unique_lock lock(mutex_);
        open_ = false;
        const unsigned own = entered_on_this_thread();
        idle_.wait(lock, [&] { return running_ <= own; });
    }

    bool is_open() const {
        std::lock_guard lock(mutex_);
        return open_;
    }

private:
    static const scope*& innermost() noexcept {
        thread_local const scope* top = nullptr;
        return top;
    }
    unsigned entered_on_this_thread() const noexcept {
        unsigned n = 0;
        for (const scope* s = innermost(); s; s = s->outer_) n += s->gate_ == this ? 1u : 0u;
        return n;
    }

    mutable std::mutex mutex_;
    std::condition_variable idle_;
    bool open_ = true;
    unsigned running_ = 0;
};

}  // namespace switchyard::detail
