// How an asynchronous target ends a delivery: its invoker receives a delivery_completion and
// calls it once, from any thread, with the delivery's outcome, after its own I/O finished (a
// PubAck, an HTTP response). Until then the delivery counts as running (drain() waits for it, its
// FIFO group waits, its queue slot stays taken) but holds no thread.
#pragma once

#include <memory>
#include <type_traits>
#include <utility>

#include "switchyard/delivery/outcome.hpp"
#include "switchyard/error.hpp"

namespace switchyard {

namespace detail {
// What a completion destroyed without being called ends its delivery with.
inline outcome dropped_completion() {
    return outcome::retry("the asynchronous target dropped its delivery_completion without calling it");
}

// Where a completion's outcome goes: the bus's engine, or an adapter's wrapper.
class completion_sink {
public:
    virtual ~completion_sink() = default;
    // The completion was called.
    virtual void complete(outcome result) noexcept = 0;
    // The completion was destroyed without being called.
    virtual void dropped() noexcept { complete(dropped_completion()); }
};
}  // namespace detail

/// Ends one asynchronous delivery (see target::invoke_async). Move-only; call it exactly once,
/// from any thread, with how the delivery went. A completion destroyed without being called ends
/// its delivery as a retryable failure ("dropped"), so a lost callback cannot hang drain(); when
/// that happens inside the invoker's own call (say, it throws), the bus ends the delivery once the
/// call is over, with the exception's message if it threw.
class delivery_completion {
public:
    /// An empty completion (calling it throws).
    delivery_completion() noexcept = default;
    /// A completion that hands the outcome to `sink` (the bus makes these; adapters that wrap an
    /// invoker can make their own around the completion they were given).
    explicit delivery_completion(std::unique_ptr<detail::completion_sink> sink) noexcept : sink_(std::move(sink)) {}
    /// A completion that calls `f(outcome)` once: for adapters and tests.
    template <class F, class = std::enable_if_t<std::is_invocable_v<F&, outcome> && !std::is_same_v<std::decay_t<F>, delivery_completion>>>
    explicit delivery_completion(F f) : sink_(std::make_unique<callable_sink<F>>(std::move(f))) {}

    /// Takes `other`'s delivery over; `other` is left empty.
    delivery_completion(delivery_completion&& other) noexcept : sink_(std::move(other.sink_)) {}
    /// Drops this completion's delivery (see the class) and takes `other`'s over.
    delivery_completion& operator=(delivery_completion&& other) noexcept {
        if (this != &other) {
            drop();
            sink_ = std::move(other.sink_);
        }
        return *this;
    }
    delivery_completion(const delivery_completion&) = delete;
    delivery_completion& operator=(const delivery_completion&) = delete;
    /// Ends a delivery it still holds as a retryable failure ("dropped"; see the class).
    ~delivery_completion() { drop(); }

    /// Ends the delivery with `result`. Throws switchyard::error when called a second time (or on
    /// an empty completion).
    void operator()(outcome result) {
        auto sink = std::move(sink_);
        if (!sink)
            throw error("delivery_completion called twice (or never given a delivery): an asynchronous delivery ends exactly once");
        sink->complete(std::move(result));
    }
    /// Whether it still has a delivery to end.
    explicit operator bool() const noexcept { return sink_ != nullptr; }

private:
    template <class F> class callable_sink final : public detail::completion_sink {
    public:
        explicit callable_sink(F f) : f_(std::move(f)) {}
        // A throwing `f` would have nowhere to go: the completion's caller may be any thread.
        void complete(outcome result) noexcept override { f_(std::move(result)); }

    private:
        F f_;
    };

    void drop() noexcept {
        if (auto sink = std::move(sink_)) sink->dropped();
    }

    std::unique_ptr<detail::completion_sink> sink_;
};

}  // namespace switchyard
