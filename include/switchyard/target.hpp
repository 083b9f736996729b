// Targets: where a rule sends the events it matches. A target has an id (unique within its
// rule), an invoker that hands the event to user code (a typed handler, a raw JSON handler, a
// subscriber), the executor that runs it, and how its deliveries behave: a bounded queue with an
// overflow policy, retries, a dead-letter sink and an optional per-group FIFO ordering key.
// Setters chain: `handler<T>(...).retry(...).dead_letters(sink).ordered_by("$.detail.customerId")`.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "switchyard/delivery/completion.hpp"
#include "switchyard/delivery/dead_letter.hpp"
#include "switchyard/delivery/outcome.hpp"
#include "switchyard/delivery/retry_policy.hpp"
#include "switchyard/event.hpp"
#include "switchyard/executor/executor.hpp"
#include "switchyard/executor/inline_executor.hpp"
#include "switchyard/transform/input_spec.hpp"

namespace switchyard {

/// What a handler can learn about the delivery it is part of.
struct delivery_info {
    std::string_view rule;   ///< the rule's name
    std::string_view target; ///< the target's id
    unsigned attempt = 1;    ///< 1 for the first delivery, 2 for the first retry, ...
    /// What the target's input specification made of the event; empty for the whole event.
    std::optional<std::string_view> payload{};
    bool payload_is_json = true;  ///< false for a plain-text template's output
    /// Started again by bus::recover() after a crash: the handler may have seen this event
    /// before (journaled deliveries are at least once; the event's id is stable across them).
    bool redelivered = false;
};

/// What happens when a target already holds `capacity` deliveries that have not ended.
enum class overflow_policy {
    block,        ///< the publisher waits up to block_timeout, then the entry is throttled
    reject,       ///< the entry fails with ThrottlingException (nothing of it is delivered)
    dead_letter,  ///< this target's delivery goes straight to its dead-letter sink
};

/// A target's bounded queue (target::bounded()).
struct queue_options {
    /// Deliveries accepted for the target and not yet ended (queued, running or waiting to retry).
    std::size_t capacity = 65536;
    overflow_policy on_full = overflow_policy::block;                     ///< what happens beyond `capacity`
    std::chrono::milliseconds block_timeout = std::chrono::seconds(10);  ///< overflow_policy::block's wait
};

/// Where a rule sends the events it matches: an id (unique within its rule), an invoker that hands
/// the event to user code (a typed handler, a raw JSON handler, a subscriber), the executor that
/// runs it, and how its deliveries behave: a bounded queue with an overflow policy, retries, a
/// dead-letter sink and an optional per-group FIFO ordering key.
///
/// Its setters (`retry`, `dead_letters`, `ordered_by`, `bounded`, `with_input`) chain on a
/// temporary (`handler<T>(...).retry(...)`) and also work on a named target (`t.retry(...)`).
struct target {
    /// Hands one event to user code and says how that went.
    using invoker = std::function<outcome(const any_event&, const delivery_info&)>;

    /// Starts handing one event over and returns; the delivery ends when `done` is called
    /// (async_target()).
    using async_invoker = std::function<void(const any_event&, const delivery_info&, delivery_completion done)>;

    std::string id;                                       ///< unique within its rule
    invoker invoke;                                       ///< hands the event to user code
    any_executor executor = inline_executor::instance();  ///< runs `invoke`
    retry_policy retries{};                               ///< when and how often to retry
    dead_letter_sink dead_letter_to{};  ///< empty: dead letters go to the bus's error handler
    std::string ordering_key{};         ///< empty: no ordering; else a path such as "$.detail.customerId"
    queue_options queue{};              ///< the bound on deliveries not yet ended
    input_spec input{};                 ///< what the handler receives: the whole event unless set
    bool forwards_whole_event = false;  ///< set by bus_target: an input specification cannot apply
    /// Set by handler<T>: the detail type the handler reads, so that the bus refuses an ordering
    /// key naming a field T does not have when the rule is added.
    const detail::typed_detail_shape* typed_detail = nullptr;
    /// Instead of `invoke` (a target has one or the other): an asynchronous delivery, ended by
    /// its delivery_completion from any thread. See async_target(). (Last, so that positional
    /// initialisers of the members above keep their meaning.)
    async_invoker invoke_async{};

    /// What this target receives: `whole_event{}` (default), `constant_input{json}`,
    /// `input_path{"$.detail"}` or `input_transformer{{{"var", "$.path"}}, "template <var>"}`.
    target&& with_input(input_spec spec) && {
        input = std::move(spec);
        return std::move(*this);
    }
    /// with_input() on a named target.
    target& with_input(input_spec spec) & {
        input = std::move(spec);
        return *this;
    }
    /// Sets the retry policy.
    target&& retry(retry_policy policy) && {
        retries = policy;
        return std::move(*this);
    }
    /// retry() on a named target.
    target& retry(retry_policy policy) & {
        retries = policy;
        return *this;
    }
    /// Sends this target's dead letters to `sink` (instead of the bus's error handler).
    target&& dead_letters(dead_letter_sink sink) && {
        dead_letter_to = std::move(sink);
        return std::move(*this);
    }
    /// dead_letters() on a named target.
    target& dead_letters(dead_letter_sink sink) & {
        dead_letter_to = std::move(sink);
        return *this;
    }
    /// Deliveries whose events share the value at `path` run one at a time, in publish order
    /// (like an SQS FIFO message group); different values run in parallel. Events without the
    /// field form one group of their own.
    target&& ordered_by(std::string path) && {
        ordering_key = std::move(path);
        return std::move(*this);
    }
    /// ordered_by() on a named target.
    target& ordered_by(std::string path) & {
        ordering_key = std::move(path);
        return *this;
    }
    /// Sets the queue's capacity and overflow policy.
    target&& bounded(queue_options options) && {
        queue = options;
        return std::move(*this);
    }
    /// bounded() on a named target.
    target& bounded(queue_options options) & {
        queue = options;
        return *this;
    }
};

/// A target whose deliveries end asynchronously: `f(event, info, done)` starts the work (a
/// network request, say) and returns; the delivery ends when `done(outcome)` is called, from any
/// thread (an I/O library's callback). Meanwhile it holds no thread, but it counts as running:
/// drain() and shutdown() wait for it, an ordered target's next delivery of the group waits for
/// it, and it keeps its queue slot (queue_options::capacity bounds the deliveries in flight).
/// Retries, dead letters and the journal treat it like any other delivery. An exception thrown
/// by `f` ends the attempt as a handler's exception would, unless `done` was already called.
/// `f` runs on `executor` (inline by default: on the publishing thread, which is then free
/// again as soon as `f` returns). The delivery's end (its dead-letter sink, a settlement
/// callback, an ordered target's next delivery) runs on the thread that calls `done`: keep that
/// thread free of long waits. Ending a subscription (whose target this is) does not wait for its
/// deliveries in flight: `done` may still be called, and their dead letters reported, after
/// unsubscribe() returned; `f` itself is never called again.
inline target async_target(std::string id, target::async_invoker f, any_executor executor = inline_executor::instance()) {
    target t{std::move(id), nullptr, std::move(executor)};
    t.invoke_async = std::move(f);
    return t;
}

/// The event with a transformed payload as its detail (the envelope stays the event's). Throws
/// permanent_error, naming the target, when the payload does not fit T.
template <class T> event<T> payload_cast(const any_event& e, const delivery_info& info) {
    event<T> out;
    static_cast<envelope&>(out) = e.meta();
    out.detail = payload_as<T>(*info.payload, info.payload_is_json, info.target);
    return out;
}

namespace detail {
template <class F, class... Args> outcome call_returning_outcome(F& f, Args&&... args) {
    using result = std::invoke_result_t<F&, Args...>;
    if constexpr (std::is_same_v<result, outcome>) {
        return f(std::forward<Args>(args)...);
    } else if constexpr (std::is_void_v<result>) {
        f(std::forward<Args>(args)...);
        return outcome::success();
    } else {
        // A handler returning, say, `bool false` would otherwise count as a success.
        static_assert(dependent_false<result>,
                      "a switchyard handler must return void (success unless it throws) or switchyard::outcome "
                      "(outcome::success(), outcome::retry(\"why\"), outcome::fail(\"why\")); it returns something else");
        return outcome::success();
    }
}

template <class T> void emit_default_detail(value_sink& sink) { emit_value(sink, T{}); }

// The shape of T's detail, for handler<T>: only for types declared with SWITCHYARD_EVENT or
// SWITCHYARD_FIELDS, whose default value shows every field (a type read only through its own
// from_json may have no way to be written, or may leave members out).
template <class T>
concept has_detail_shape = std::is_default_constructible_v<T> && field_visitable<T>;
template <class T> constexpr typed_detail_shape typed_shape_of() {
    if constexpr (event_type<T>) return {detail_type_of<T>(), &emit_default_detail<T>};
    else return {"the handler's detail type", &emit_default_detail<T>};
}
template <has_detail_shape T> inline constexpr typed_detail_shape typed_shape = typed_shape_of<T>();
}  // namespace detail

/// A handler for events of type T: `f(const event<T>&)` or `f(const event<T>&, const
/// delivery_info&)`, returning void or an `outcome`. An event published as T reaches it without
/// copies; any other event's detail JSON is converted to T, and a detail that does not fit T is a
/// permanent failure (dead-lettered, not retried). With an input specification, the transformed
/// payload becomes the detail (the envelope stays the event's).
template <class T, class F> target handler(std::string id, F f, any_executor executor = inline_executor::instance()) {
    constexpr bool with_info = std::is_invocable_v<F&, const event<T>&, const delivery_info&>;
    static_assert(with_info || std::is_invocable_v<F&, const event<T>&>,
                  "a handler<T> must be callable as f(const event<T>&) or f(const event<T>&, const delivery_info&)");
    target t{std::move(id),
             [f = std::move(f)](const any_event& e, const delivery_info& info) mutable -> outcome {
                 auto call = [&](const event<T>& typed) {
                     if constexpr (with_info) return detail::call_returning_outcome(f, typed, info);
                     else return detail::call_returning_outcome(f, typed);
                 };
                 if (info.payload) return call(payload_cast<T>(e, info));
                 if (const auto* typed = e.as<T>()) return call(*typed);
                 return call(event_cast<T>(e));
             },
             std::move(executor)};
    if constexpr (detail::has_detail_shape<T>) t.typed_detail = &detail::typed_shape<T>;
    return t;
}

/// A handler that receives the whole event as EventBridge JSON text (or what the target's input
/// specification made of it): `f(std::string_view)` or `f(std::string_view, const
/// delivery_info&)`, returning void or an `outcome`.
template <class F> target json_handler(std::string id, F f, any_executor executor = inline_executor::instance()) {
    constexpr bool with_info = std::is_invocable_v<F&, std::string_view, const delivery_info&>;
    static_assert(with_info || std::is_invocable_v<F&, std::string_view>,
                  "a json_handler must be callable as f(std::string_view) or f(std::string_view, const delivery_info&)");
    return target{std::move(id),
                  [f = std::move(f)](const any_event& e, const delivery_info& info) mutable -> outcome {
                      const std::string_view text = info.payload ? *info.payload : std::string_view(e.json());
                      if constexpr (with_info) return detail::call_returning_outcome(f, text, info);
                      else return detail::call_returning_outcome(f, text);
                  },
                  std::move(executor)};
}

/// An object-oriented receiver of typed events, attached with `bus::subscribe`.
template <class T> class subscriber {
public:
    virtual ~subscriber() = default;
    /// Receives one event; throwing fails the delivery.
    virtual void on_event(const event<T>& e) = 0;
};

}  // namespace switchyard
