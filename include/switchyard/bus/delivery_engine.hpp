// The delivery engine: starts each accepted delivery, runs its attempts on the target's
// executor, retries on the shared timer, and ends it exactly once — delivered, dead-lettered or
// discarded — freeing its slot, moving its FIFO group on, and counting it out so that drain and
// shutdown know when everything accepted is done. `fail` is the one way a delivery fails.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>

#include <fmt/format.h>

#include "switchyard/bus/target_state.hpp"
#include "switchyard/bus/telemetry.hpp"
#include "switchyard/delivery/completion.hpp"
#include "switchyard/delivery/dead_letter.hpp"
#include "switchyard/delivery/outcome.hpp"
#include "switchyard/delivery/timer_service.hpp"
#include "switchyard/durability/journal.hpp"
#include "switchyard/error.hpp"

namespace switchyard::detail {

// Thrown by a bus-to-bus target when an event has crossed too many buses.
class routing_loop_error : public permanent_error {
public:
    using permanent_error::permanent_error;
};

inline std::string describe(std::exception_ptr failure) {
    try {
        std::rethrow_exception(failure);
    } catch (const std::exception& e) {
        return e.what();
    } catch (...) {
        return "a non-standard exception";
    }
}

class delivery_engine {
    // The deliveries and publishes running on this thread, innermost first: inline ones nest.
    struct frame {
        const delivery_engine* engine;
        const frame* outer;
    };
    static const frame*& frames() noexcept {
        thread_local const frame* top = nullptr;
        return top;
    }

public:
    delivery_engine(const std::string& bus_name, bus_telemetry& telemetry, std::shared_ptr<journal> journal_in,
                    unsigned max_nested_deliveries)
        : bus_(bus_name), telemetry_(telemetry), journal_(std::move(journal_in)), max_nested_(max_nested_deliveries) {}

    delivery_engine(const delivery_engine&) = delete;
    delivery_engine& operator=(const delivery_engine&) = delete;

    ~delivery_engine() {
        // A worker that ended the last delivery may still be inside finish(); wait it out (a few
        // instructions) so the mutex and condition it touches outlive it.
        while (finishing_.load(std::memory_order_acquire) != 0) std::this_thread::yield();
    }

    // ---- intake -------------------------------------------------------------------------------

    // A publish in progress counts as pending, so a closing bus cannot finish draining (and be
    // destroyed, or report a completed shutdown) between the closed check and the deliveries
    // it starts. seq_cst pairs with close(): one of the two always sees the other.
    class publish_token {
    public:
        // The thread is marked as inside this engine too: a hook called during the publish (a
        // tracer, a dead-letter sink, the error handler) that drains would wait for itself.
        explicit publish_token(delivery_engine& e) : engine_(&e), frame_{&e, frames()} {
            e.pending_.fetch_add(1, std::memory_order_seq_cst);
            frames() = &frame_;
        }
        ~publish_token() {
            frames() = frame_.outer;
            engine_->finish();
        }
        publish_token(const publish_token&) = delete;
        publish_token& operator=(const publish_token&) = delete;

    private:
        delivery_engine* engine_;
        frame frame_;
    };

    // A publish still on its way after its call returned (bus::publish_async awaiting the
    // journal) counts as pending too, until this is destroyed: drain() and shutdown() wait for it.
    class async_hold {
    public:
        explicit async_hold(delivery_engine& e) : engine_(&e) { e.pending_.fetch_add(1, std::memory_order_seq_cst); }
        async_hold(async_hold&& other) noexcept : engine_(std::exchange(other.engine_, nullptr)) {}
        async_hold& operator=(async_hold&&) = delete;
        async_hold(const async_hold&) = delete;
        async_hold& operator=(const async_hold&) = delete;
        ~async_hold() {
            if (engine_) engine_->finish();
        }

    private:
        delivery_engine* engine_;
    };

    void close() noexcept { closed_.store(true, std::memory_order_seq_cst); }
    bool closed() const noexcept { return closed_.load(std::memory_order_seq_cst); }

    // ---- starting -----------------------------------------------------------------------------

    // A delivery with a reserved slot enters its target: straight to the executor, or behind
    // the deliveries of its FIFO group.
    // `settle` (null unless the publish asked for a settlement) is told how the delivery ends.
    void start(const event_ptr& e, const std::shared_ptr<target_state>& target, const std::optional<trace_context>& span,
               std::uint64_t journal_sequence = 0, bool redelivered = false,
               const std::shared_ptr<settlement_tracker>& settle = nullptr) {
        auto& t = *target;
        if (t.key.empty() && t.spec.executor.is_inline()) {
            // The synchronous path: no heap delivery, no task object.
            t.accepted.fetch_add(1, std::memory_order_relaxed);
            pending_.fetch_add(1, std::memory_order_acq_rel);
            if (settle) settle->started();
            delivery d{e, target, 0, std::nullopt, journal_sequence, redelivered, span, {}, settle};
            attempt(d, nullptr);
            return;
        }
        // Allocated before anything is counted: if it throws, the caller still holds the slot.
        auto d = std::make_unique<delivery>(delivery{e, target, 0, std::nullopt, journal_sequence, redelivered, span, {}, settle});
        t.accepted.fetch_add(1, std::memory_order_relaxed);
        pending_.fetch_add(1, std::memory_order_acq_rel);
        if (settle) settle->started();
        if (!t.key.empty()) {
            try {
                d->group = t.key.group_of(*d->event);
            } catch (const std::exception& ex) {
                fail(*d, dead_letter_reason::permanent_failure, "OrderingKeyUnreadable",
                     fmt::format("the ordering key {} could not be read: {}", t.spec.ordering_key, ex.what()));
                return;
            }
            if (*d->group == no_key_group) {
                t.missing_key.fetch_add(1, std::memory_order_relaxed);
                telemetry_.count(t.metrics.ordering_key_missing);
                if (!t.missing_key_logged.exchange(true, std::memory_order_relaxed))
                    telemetry_.missing_ordering_key(t.rule, t.spec.id, t.spec.ordering_key, d->event->meta().id);
            }
            const std::string group = *d->group;  // not *d->group in the call: `d` moves into it
            auto head = t.groups.arrive(group, std::move(d));
            if (!head) return;  // the group's head is in flight; this one follows it
            d = std::move(*head);
        }
        submit(d.release());
    }

    // An accepted delivery that goes straight to its dead-letter sink (its target's queue was
    // full and its policy says dead_letter). It takes a slot past the capacity until it ends.
    void start_dead_lettered(const event_ptr& e, const std::shared_ptr<target_state>& target, const std::optional<trace_context>& span,
                             const std::shared_ptr<settlement_tracker>& settle = nullptr) {
        target->accepted.fetch_add(1, std::memory_order_relaxed);
        telemetry_.count(target->metrics.throttled_rules);
        pending_.fetch_add(1, std::memory_order_acq_rel);
        target->slots.force_reserve();  // released by end()
        if (settle) settle->started();
        delivery d{e, target, 0, std::nullopt, 0, false, span, {}, settle};
        fail(d, dead_letter_reason::queue_full, "ThrottlingException",
             fmt::format("the target's queue was full ({} deliveries pending)", target->spec.queue.capacity));
    }

    // ---- ending -------------------------------------------------------------------------------

    // The one way a delivery fails: to its dead-letter sink (or the error handler) with the
    // reason, then ended.
    void fail(delivery& d, dead_letter_reason reason, const char* code, std::string message) noexcept {
        dead_letter_now(d, reason, code, std::move(message));
        end(d);
    }

    // Ends a delivery that was never attempted because its subscription ended first.
    void discard(delivery& d) noexcept {
        d.target->discarded.fetch_add(1, std::memory_order_relaxed);
        if (d.settle) d.settle->discarded();
        end(d);
    }

    // ---- completion ---------------------------------------------------------------------------

    bool drain(std::optional<std::chrono::nanoseconds> timeout) {
        if (!timeout && running_here())
            throw error(fmt::format("bus \"{}\": drain() was called from inside one of its own deliveries or publishes (a "
                                    "handler, sink or hook), which would wait for itself forever: drain from outside it, "
                                    "or pass a timeout",
                                    bus_));
        // Announced before pending_ is read (both seq_cst): a finish() that does not see this
        // drainer ended its delivery before the read below, which then sees it ended.
        drainers_.fetch_add(1, std::memory_order_seq_cst);
        struct leave {
            std::atomic<std::uint32_t>& drainers;
            ~leave() { drainers.fetch_sub(1, std::memory_order_seq_cst); }
        } announced{drainers_};
        std::unique_lock lock(drain_mutex_);
        auto idle = [this] { return pending_.load(std::memory_order_seq_cst) == 0; };
        if (!timeout) {
            drained_.wait(lock, idle);
            return true;
        }
        return drained_.wait_for(lock, *timeout, idle);
    }

    // Stops accepting events, drains for up to `timeout`, then dead-letters whatever is still
    // pending with reason `shutdown`: waiting retries at once, queued deliveries as their
    // executor reaches them (instead of calling the handler). Returns true when every accepted
    // delivery has ended within a second `timeout` (handlers already running are waited for).
    bool shutdown(std::chrono::nanoseconds timeout) {
        close();
        if (drain(timeout)) return true;
        shutting_down_.store(true, std::memory_order_release);
        timers_.close();  // waiting retries are dead-lettered now, later ones are refused
        return drain(timeout);
    }

    // True when this thread is inside one of this engine's deliveries or publishes (a handler,
    // a sink, a hook).
    bool running_here() const noexcept {
        for (const auto* f = frames(); f; f = f->outer)
            if (f->engine == this) return true;
        return false;
    }

    std::uint64_t pending() const noexcept { return pending_.load(std::memory_order_acquire); }
    std::size_t pending_retries() const { return timers_.pending(); }

private:
    static unsigned& nesting() noexcept {
        thread_local unsigned depth = 0;
        return depth;
    }
    class frame_scope {
    public:
        explicit frame_scope(const delivery_engine* e) noexcept : frame_{e, frames()} {
            frames() = &frame_;
            ++nesting();
        }
        ~frame_scope() {
            frames() = frame_.outer;
            --nesting();
        }
        frame_scope(const frame_scope&) = delete;
        frame_scope& operator=(const frame_scope&) = delete;

    private:
        frame frame_;
    };

    // Hands a heap delivery to its executor; the task owns it from here.
    void submit(delivery* d) {
        try {
            d->target->spec.executor.execute([this, d] {
                delivery_owner owner(d);
                attempt(*d, std::move(owner));
            });
        } catch (...) {
            // The executor refused the task without running it: the delivery ends here.
            delivery_owner owner(d);
            fail(*d, dead_letter_reason::permanent_failure, "ExecutorRejected", describe(std::current_exception()));
        }
    }

    // Runs one attempt of `d`. `owner` owns `d` when it lives on the heap; on an inline
    // executor's first attempt it is null and `d` lives on the publisher's stack, and moves to
    // the heap only if it must wait for a retry.
    void attempt(delivery& d, delivery_owner owner) {
        auto& t = *d.target;
        // A subscription's target is touched again after the delivery may have ended (leaving its
        // gate): keep it alive until then, even if the bus goes away meanwhile.
        const std::shared_ptr<target_state> keep = t.closable ? d.target : nullptr;
        std::optional<call_gate::scope> inside;
        if (t.closable) {
            inside.emplace(t.gate);  // a subscription may end at any moment: enter through its gate
            if (!inside->entered()) return discard(d);
        }
        const frame_scope running(this);
        if (nesting() > max_nested_)
            return fail(d, dead_letter_reason::routing_loop, "RoutingLoop",
                        fmt::format("deliveries nested {} deep on one thread (bus_options::max_nested_deliveries is {}): a handler "
                                    "on an inline executor publishes events that reach it again; give the target a thread "
                                    "pool or break the loop",
                                    nesting(), max_nested_));
        if (shutting_down_.load(std::memory_order_acquire))
            return fail(d, dead_letter_reason::shutdown, "Shutdown",
                        d.attempts == 0 ? "the bus shut down before this delivery ran"
                                        : "the bus shut down before this delivery's next attempt");
        ++d.attempts;
        // Each attempt is a child span of the publish span (so retries are its siblings); with no
        // tracer the handler still sees the publish span, so what it publishes joins the trace.
        std::optional<trace_context> attempt_span;
        if (d.span) {
            attempt_span = telemetry_.attempt_span(*d.span);
            d.attempt_span = attempt_span->span;
            telemetry_.trace([&](tracer& hooks) {
                hooks.on_deliver_start(*attempt_span,
                                       {d.span->span, bus_, t.rule, t.spec.id, d.event->meta().id, d.attempts, trace_clock::now()});
            });
        }
        const trace::current_scope running_span(attempt_span ? &*attempt_span : nullptr);
        auto trace_end = [&](deliver_result r, std::string_view error) noexcept {
            if (attempt_span) telemetry_.trace([&](tracer& hooks) { hooks.on_deliver_end(*attempt_span, {r, error, trace_clock::now()}); });
        };
        const std::uint32_t timed = telemetry_.latency_weight();
        if (timed != 0)
            t.metrics.ingestion_to_invocation_start_latency.record(std::chrono::system_clock::now() - d.event->ingestion_time(), timed);
        if (d.attempts > 1) telemetry_.count(t.metrics.retry_invocation_attempts);
        if (t.spec.invoke_async) return attempt_async(d, std::move(owner), timed);
        outcome result = outcome::success();
        try {
            std::string payload;
            const delivery_info info = info_for(d, payload);
            result = t.spec.invoke(*d.event, info);
        } catch (const routing_loop_error& ex) {
            trace_end(deliver_result::permanent_failure, ex.what());
            telemetry_.count(t.metrics.failed_attempts);
            return fail(d, dead_letter_reason::routing_loop, "RoutingLoop", ex.what());
        } catch (...) {
            result = outcome_of(std::current_exception());
        }
        conclude(d, std::move(owner), std::move(result), timed);
    }

    // What the handler learns of attempt `d`; `payload` holds the target's rendered input (the
    // info views it), rendered per attempt: cheap next to a retry.
    static delivery_info info_for(const delivery& d, std::string& payload) {
        const auto& t = *d.target;
        delivery_info info{t.rule, t.spec.id, d.attempts};
        info.redelivered = d.redelivered;
        if (!t.input.is_whole_event()) {
            payload = t.input.render(*d.event, t.rule);
            info.payload = payload;
            info.payload_is_json = t.input.is_json();
        }
        return info;
    }

    static outcome outcome_of(std::exception_ptr failure) {
        try {
            std::rethrow_exception(failure);
        } catch (const permanent_error& ex) {
            return outcome::fail(ex.what());
        } catch (const std::exception& ex) {
            return outcome::retry(ex.what());
        } catch (...) {
            return outcome::retry("the handler threw a non-standard exception");
        }
    }

    // An attempt's outcome: the trace's end, the counters, then delivered, dead-lettered or
    // retried. Runs on the attempt's thread, or on whichever thread completes an asynchronous one.
    void conclude(delivery& d, delivery_owner owner, outcome result, std::uint32_t timed) {
        auto& t = *d.target;
        const auto status = result.status();
        if (d.span) {
            const deliver_result r = status == outcome::kind::success     ? deliver_result::success
                                     : status == outcome::kind::permanent ? deliver_result::permanent_failure
                                                                          : deliver_result::retryable_failure;
            const std::string_view why = status == outcome::kind::success ? std::string_view{} : std::string_view(result.reason());
            telemetry_.trace([&](tracer& hooks) { hooks.on_deliver_end(attempt_context(d), {r, why, trace_clock::now()}); });
        }
        if (status != outcome::kind::success) telemetry_.count(t.metrics.failed_attempts);
        switch (status) {
            case outcome::kind::success:
                t.delivered.fetch_add(1, std::memory_order_relaxed);  // also Invocations and InvocationAttempts
                if (d.settle) d.settle->delivered();
                if (timed != 0)
                    t.metrics.ingestion_to_invocation_success_latency.record(std::chrono::system_clock::now() - d.event->ingestion_time(),
                                                                             timed);
                return end(d);
            case outcome::kind::permanent: return fail(d, dead_letter_reason::permanent_failure, "HandlerFailed", result.reason());
            case outcome::kind::retryable: return retry_or_give_up(d, std::move(owner), result.reason(), result.retry_after());
        }
    }

    // An asynchronous attempt (target::invoke_async): the delivery moves to the heap (an inline
    // first attempt lives on the publisher's stack) and into a pending_attempt, which the
    // completion ends exactly once: from the target's callback, from a dropped completion, or
    // from here when the invoker throws before calling it. From the call on, this thread must
    // not touch the delivery: it may end on another thread at any moment.
    class pending_attempt {
    public:
        pending_attempt(delivery_engine& engine, delivery_owner owner, std::uint32_t timed) noexcept
            : engine_(engine), owner_(std::move(owner)), timed_(timed) {}
        void complete(outcome result) noexcept {
            if (done_.exchange(true, std::memory_order_acq_rel)) return;
            delivery_owner owner = std::move(owner_);
            delivery& d = *owner;
            // On whichever thread completes it: marked as inside this engine (a callback that
            // drains without a timeout fails instead of waiting for itself), with the attempt's
            // span current (what a dead-letter sink or settlement callback publishes joins it).
            const frame_scope running(&engine_);
            std::optional<trace_context> span;
            if (d.span) span = attempt_context(d);
            const trace::current_scope current(span ? &*span : nullptr);
            try {
                engine_.conclude(d, std::move(owner), std::move(result), timed_);
            } catch (...) {
                // Only an allocation can fail in conclude before the delivery ends (its retry
                // bookkeeping ends the delivery itself); nothing can be done about it here.
            }
        }
        // The completion was destroyed without a call. Inside the invoker's own call (on the
        // invoking thread) it is settled when the call is over, with the exception if one came.
        void dropped() noexcept {
            if (invoking_.load(std::memory_order_acquire) && std::this_thread::get_id() == invoker_) {
                dropped_while_invoking_ = true;
                return;
            }
            complete(dropped_completion());
        }
        // The invoker's call is over: `thrown` is its exception's outcome, if it threw.
        void invoked(std::optional<outcome> thrown) noexcept {
            invoking_.store(false, std::memory_order_release);
            if (thrown) complete(std::move(*thrown));  // a no-op if the completion came first
            else if (dropped_while_invoking_)
                complete(dropped_completion());
        }

    private:
        delivery_engine& engine_;
        delivery_owner owner_;
        const std::uint32_t timed_;
        std::atomic<bool> done_{false};
        std::atomic<bool> invoking_{true};
        const std::thread::id invoker_ = std::this_thread::get_id();
        bool dropped_while_invoking_ = false;  // the invoking thread's alone
    };
    class completion_forwarder final : public completion_sink {
    public:
        explicit completion_forwarder(std::shared_ptr<pending_attempt> p) noexcept : pending_(std::move(p)) {}
        void complete(outcome result) noexcept override { pending_->complete(std::move(result)); }
        void dropped() noexcept override { pending_->dropped(); }

    private:
        std::shared_ptr<pending_attempt> pending_;
    };

    void attempt_async(delivery& d, delivery_owner owner, std::uint32_t timed) {
        auto& t = *d.target;
        std::shared_ptr<pending_attempt> pending;
        std::string payload;
        delivery_info info;
        // The call may outlive the delivery (it can end on another thread before the invoker
        // returns, and the bus go away): keep what the call uses, the event and the target
        // (its invoker, the strings `info` views).
        const event_ptr event = d.event;
        const std::shared_ptr<target_state> keep = d.target;
        try {
            info = info_for(d, payload);
            if (!owner) owner = std::make_unique<delivery>(std::move(d));  // `d` is not used again
            pending = std::make_shared<pending_attempt>(*this, std::move(owner), timed);
        } catch (...) {
            delivery& still = owner ? *owner : d;
            return conclude(still, std::move(owner), outcome_of(std::current_exception()), timed);
        }
        std::optional<outcome> thrown;
        try {
            t.spec.invoke_async(*event, info, delivery_completion(std::make_unique<completion_forwarder>(pending)));
        } catch (...) {
            thrown = outcome_of(std::current_exception());
        }
        pending->invoked(std::move(thrown));
    }

    void retry_or_give_up(delivery& d, delivery_owner owner, const std::string& reason,
                          std::chrono::milliseconds at_least = std::chrono::milliseconds(0)) {
        auto& t = *d.target;
        const auto& policy = t.spec.retries;
        if (d.attempts > policy.max_retry_attempts) return fail(d, dead_letter_reason::retries_exhausted, "HandlerFailed", reason);
        const auto age = std::chrono::system_clock::now() - d.event->ingestion_time();
        const auto wait = std::max<std::chrono::microseconds>(policy.backoff(d.attempts), at_least);
        if (age + wait >= policy.max_event_age) return fail(d, dead_letter_reason::max_age_exceeded, "HandlerFailed", reason);
        if (shutting_down_.load(std::memory_order_acquire))
            return fail(d, dead_letter_reason::shutdown, "Shutdown", "the bus shut down before this delivery could be retried: " + reason);
        t.retried.fetch_add(1, std::memory_order_relaxed);
        if (d.span)
            telemetry_.trace([&](tracer& hooks) { hooks.on_retry(attempt_context(d), {d.attempts + 1, wait, reason, trace_clock::now()}); });
        bool scheduled = false;
        try {
            if (!owner) owner = std::make_unique<delivery>(std::move(d));  // `d` is not used again
            delivery* waiting = owner.get();
            timer_service::callback retry = [this, waiting](bool cancelled) {
                if (!cancelled) return submit(waiting);
                delivery_owner back(waiting);
                fail(*waiting, dead_letter_reason::shutdown, "Shutdown", "the bus shut down while this delivery waited to retry");
            };
            // Once the timer holds it, this thread must not touch the delivery or the bus again:
            // the retry may run, end, and let the bus be destroyed at any moment.
            scheduled = timers_.schedule(std::chrono::steady_clock::now() + wait, std::move(retry));
            if (scheduled) owner.release();
        } catch (...) {
            delivery& still = owner ? *owner : d;
            return fail(still, dead_letter_reason::retries_exhausted, "RetryNotScheduled",
                        reason + " (and the retry could not be scheduled: " + describe(std::current_exception()) + ")");
        }
        if (!scheduled)  // the bus shut down between the check above and the schedule
            fail(*owner, dead_letter_reason::shutdown, "Shutdown", "the bus shut down before this delivery could be retried: " + reason);
    }

    // The span of `d`'s latest attempt (its publish span before the first attempt).
    static trace_context attempt_context(const delivery& d) {
        if (d.attempts == 0) return *d.span;
        return {d.span->trace, d.attempt_span, d.span->flags, d.span->tracestate};
    }

    void dead_letter_now(delivery& d, dead_letter_reason reason, const char* code, std::string message) noexcept {
        auto& t = *d.target;
        t.dead_lettered.fetch_add(1, std::memory_order_relaxed);
        // EventBridge counts an invocation once it permanently fails (after its retries).
        if (d.attempts > 0) telemetry_.count(t.metrics.failed_invocations);
        if (d.span)
            telemetry_.trace([&](tracer& hooks) {
                hooks.on_dead_letter(attempt_context(d), {bus_, t.rule, t.spec.id, d.event->meta().id, to_string(reason), code, message,
                                                          d.attempts, trace_clock::now()});
            });
        dead_letter letter{d.event, t.rule, t.spec.id, code, std::move(message), d.attempts, reason};
        if (d.settle) d.settle->dead_lettered(letter);
        if (t.spec.dead_letter_to) {
            try {
                t.spec.dead_letter_to(letter);
                telemetry_.count(t.metrics.invocations_sent_to_dlq);
                return;
            } catch (const std::exception& ex) {
                letter.error_message = fmt::format("{} (and the dead-letter sink failed: {})", letter.error_message, ex.what());
            } catch (...) {
                letter.error_message += " (and the dead-letter sink failed with a non-standard exception)";
            }
        }
        telemetry_.report(letter);
    }

    // A delivery ended (delivered, dead-lettered or discarded): free its slot, let its FIFO
    // group move on, and count it out.
    void end(delivery& d) noexcept {
        auto& t = *d.target;
        if (d.journal_sequence != 0) journal_->record_ended(d.journal_sequence, t.rule, t.spec.id);
        std::optional<delivery_owner> next;
        if (d.group) next = t.groups.depart(*d.group);
        t.slots.release();
        // The settlement's callback, if this was the last delivery of its publish, runs here:
        // while the delivery still counts as pending, so drain() waits for it, and before its
        // FIFO group's next delivery starts, so an ordered target's publishes settle in order.
        d.settle.reset();
        if (next) submit_in_order(next->release());
        finish();
    }

    // Starting a group's next delivery from inside end() would nest one call per queued event
    // on an inline executor; a per-thread trampoline runs them one after another instead.
    void submit_in_order(delivery* next) {
        thread_local std::deque<delivery*>* trampoline = nullptr;
        if (trampoline) {
            trampoline->push_back(next);
            return;
        }
        std::deque<delivery*> queue{next};
        trampoline = &queue;
        while (!queue.empty()) {
            auto* current = queue.front();
            queue.pop_front();
            submit(current);
        }
        trampoline = nullptr;
    }

    // Ends one delivery. The last one wakes drainers; notifying under the lock means a drainer
    // cannot return (and the bus be destroyed) while this thread still touches the condition.
    // `finishing_` covers the gap between the decrement and the lock: the destructor waits it out.
    // With nobody draining (a synchronous publish ends its last delivery every time) there is
    // nothing to wake, and the lock and the broadcast are skipped; see drain() for the ordering.
    void finish() noexcept {
        finishing_.fetch_add(1, std::memory_order_acq_rel);
        if (pending_.fetch_sub(1, std::memory_order_seq_cst) == 1 && drainers_.load(std::memory_order_seq_cst) != 0) {
            std::lock_guard lock(drain_mutex_);
            drained_.notify_all();
        }
        finishing_.fetch_sub(1, std::memory_order_release);
    }

    const std::string& bus_;
    bus_telemetry& telemetry_;
    std::shared_ptr<journal> journal_;
    const unsigned max_nested_;
    std::atomic<std::uint64_t> pending_{0};
    std::atomic<std::uint32_t> finishing_{0};
    std::atomic<std::uint32_t> drainers_{0};  // threads inside drain()
    std::mutex drain_mutex_;
    std::condition_variable drained_;
    std::atomic<bool> closed_{false};
    std::atomic<bool> shutting_down_{false};
    // Declared last: destroyed first, joining its thread while everything it calls still exists.
    timer_service timers_;
};

}  // namespace switchyard::detail
