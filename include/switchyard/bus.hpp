// The bus: rules route published events to targets. This header is the bus's public face —
// the `bus`, its subscriptions and bus-to-bus targets — and carries no engine: the engine
// (include/switchyard/bus/) is compiled into the switchyard library, or into every file that
// includes this one when SWITCHYARD_HEADER_ONLY is defined.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "switchyard/bus/settlement.hpp"
#include "switchyard/bus_options.hpp"
#include "switchyard/config.hpp"
#include "switchyard/delivery/dead_letter.hpp"
#include "switchyard/event.hpp"
#include "switchyard/executor/inline_executor.hpp"
#include "switchyard/observe/metrics.hpp"
#include "switchyard/pattern/explain.hpp"
#include "switchyard/publish.hpp"
#include "switchyard/rule.hpp"
#include "switchyard/target.hpp"

namespace switchyard {

namespace detail {
class bus_core;
/// Only switchyard's own handles name this, to reach a bus's engine.
struct engine_access {
    explicit engine_access() = default;
};
}  // namespace detail

/// What bus::explain says about one rule.
struct rule_explanation {
    std::string rule;          ///< the rule's name (subscriptions' and archives' rules included)
    rule_state state = rule_state::enabled;  ///< a disabled rule matches nothing, whatever its pattern says
    pattern_explanation explanation;  ///< whether its pattern matches the event and, if not, why

    /// Whether the bus would route the event to this rule's targets.
    bool routes() const noexcept { return explanation.matched && state == rule_state::enabled; }
};

class bus;
/// A typed, source-bound way to publish (switchyard/producer.hpp).
template <event_type T> class producer;

/// Ends a subscription when destroyed: its handler is not called again once the destructor (or
/// `unsubscribe`) has returned. A subscription that outlives its bus ends harmlessly.
class subscription {
public:
    /// An empty handle (active() is false).
    subscription() = default;
    /// Takes over `other`'s subscription; `other` becomes empty.
    subscription(subscription&& other) noexcept = default;
    /// Ends this subscription, then takes over `other`'s.
    SWITCHYARD_API subscription& operator=(subscription&& other) noexcept;
    subscription(const subscription&) = delete;
    subscription& operator=(const subscription&) = delete;
    ~subscription() { unsubscribe(); }

    /// The managed rule behind this subscription, as `bus::list_rules` shows it.
    const std::string& rule_name() const noexcept { return rule_; }
    /// True until unsubscribe() (or the bus is destroyed).
    bool active() const noexcept { return !core_.expired(); }

    /// Removes the subscription's rule and waits for a delivery to it that is running now; the
    /// handler is not called again once this returns. Calling it again does nothing.
    SWITCHYARD_API void unsubscribe();

private:
    friend class bus;
    subscription(std::weak_ptr<detail::bus_core> core, std::string rule) : core_(std::move(core)), rule_(std::move(rule)) {}

    std::weak_ptr<detail::bus_core> core_;
    std::string rule_;
};

/// An event bus: rules whose patterns route the events published to it to targets (handlers on
/// executors, other buses, dead-letter sinks), with retries, per-key order, deduplication,
/// durability and metrics as configured. Thread-safe: publish, configure and read it from any
/// thread.
class bus {
public:
    /// Throws switchyard::error naming the problem (a bad name, a zero limit).
    SWITCHYARD_API explicit bus(std::string name, bus_options options = {});

    bus(const bus&) = delete;
    bus& operator=(const bus&) = delete;

    /// Delivers everything accepted (retries included) before returning. Executors must outlive
    /// the bus. Use `shutdown(timeout)` first to bound the wait. Destroying a bus from inside one
    /// of its own deliveries would wait for itself: it aborts with a message saying so.
    SWITCHYARD_API ~bus();

    /// The bus's name (labels its metrics and logs).
    SWITCHYARD_API const std::string& name() const noexcept;

    /// The options the bus was made with (its account, region, journal, limits).
    SWITCHYARD_API const bus_options& options() const noexcept;

    /// Adds a rule. Throws switchyard::error (pattern_error for the pattern) naming the problem.
    SWITCHYARD_API void add_rule(rule_spec spec);

    /// Removes a rule: no event published after this returns matches it. Events it already
    /// matched are still delivered. Returns false when there was no such rule.
    SWITCHYARD_API bool remove_rule(std::string_view name);

    /// Starts or stops a rule matching events (EventBridge's EnableRule / DisableRule). Throws
    /// switchyard::error when there is no rule of that name.
    SWITCHYARD_API void enable_rule(std::string_view name);
    /// @copydoc enable_rule
    SWITCHYARD_API void disable_rule(std::string_view name);

    /// Adds the rule, or replaces the rule of the same name in one atomic step (EventBridge's
    /// PutRule): no event sees both or neither; deliveries already accepted finish on the old one.
    SWITCHYARD_API void put_rule(rule_spec spec);

    /// Adds targets to a rule, replacing those with the same ids (EventBridge's PutTargets), and
    /// removes targets by id (RemoveTargets). Deliveries already accepted still run.
    SWITCHYARD_API void put_targets(std::string_view rule, std::vector<target> targets);
    /// @copydoc put_targets
    SWITCHYARD_API void remove_targets(std::string_view rule, const std::vector<std::string>& ids);

    /// For every rule, sorted by name: whether its pattern matches `e` and, for a miss, the first
    /// condition that fails, with its path, what the pattern expects and what the event has
    /// (see pattern_explanation). Nothing is published; use it to ask why an event did not match.
    SWITCHYARD_API std::vector<rule_explanation> explain(const any_event& e) const;
    /// explain() for an event as EventBridge JSON text (the whole event: envelope and detail).
    /// Throws switchyard::error when the text is not valid JSON.
    SWITCHYARD_API std::vector<rule_explanation> explain(std::string_view event_json) const;

    /// Every rule, sorted by name.
    SWITCHYARD_API std::vector<rule_info> list_rules() const;

    /// The dedup window's counters, when deduplication is on.
    SWITCHYARD_API std::optional<dedup_window::stats> dedup_statistics() const;

    /// A producer of T events with the given source. A producer that outlives its bus gets
    /// BusShutDown from every publish.
    template <event_type T> switchyard::producer<T> producer(std::string source);

    /// Publishes a typed event from `source`.
    template <event_type T> publish_result publish(std::string source, T detail);

    /// Publishes an already-built event as it is (id, time and all), e.g. one read from JSON.
    SWITCHYARD_API publish_result publish(event_ptr e);

    /// Publishes an already-built event as it is and calls `on_settled` once every delivery the
    /// publish started has ended — delivered, dead-lettered (with each reason) or discarded — or
    /// at once, on this thread, when it started none (refused, deduplicated, or matching no
    /// rule). See publish_settlement and settlement_callback for where and when it runs. A
    /// bridge acknowledges its input there (switchyard::nats's source acks JetStream messages).
    /// Throws switchyard::error when `e` is null or `on_settled` is empty; when the publish
    /// itself throws, `on_settled` is never called.
    SWITCHYARD_API publish_result publish(event_ptr e, settlement_callback on_settled);

    /// Publishes an already-built event as it is without waiting for the journal: `on_done` gets
    /// the result, exactly once (see publish_callback for when and on which thread), and
    /// producer<T>::publish_async says what happens meanwhile. Throws switchyard::error when `e`
    /// is null or `on_done` is empty.
    SWITCHYARD_API void publish_async(event_ptr e, publish_callback on_done);

    /// Publishes an already-built event whose idempotency key is `dedup_id`: with deduplication
    /// on (bus_options::dedup), a second event with the same key inside the window is accepted but
    /// not delivered (publish_result::deduplicated). A scheduler's fire uses its id.
    SWITCHYARD_API publish_result publish_deduplicated(event_ptr e, std::string_view dedup_id);

    /// Publishes an already-built event to the rules named in `only_rules` alone (all rules when
    /// it is empty), as a replay does.
    SWITCHYARD_API publish_result publish(event_ptr e, std::span<const std::string> only_rules);

    /// With a journal (bus_options::journal): starts again every delivery accepted before a crash
    /// that had not ended, on the rules and targets of the same names — so add them first. Each
    /// such delivery reaches its handler with delivery_info::redelivered set (at least once: a
    /// handler may see an event twice). Throws switchyard::error when the bus has no journal.
    SWITCHYARD_API recovery_result recover();

    /// EventBridge's PutEvents: each entry is validated and published alone; a bad entry fails with
    /// an error code and message while the others go on. Throws switchyard::error when the batch
    /// has more entries than bus_options::max_batch_entries.
    SWITCHYARD_API put_events_result put_events(std::span<const put_events_entry> entries);
    /// @copydoc put_events(std::span<const put_events_entry>)
    put_events_result put_events(std::initializer_list<put_events_entry> entries) {
        return put_events(std::span<const put_events_entry>(entries.begin(), entries.size()));
    }

    /// Attaches a target to a pattern for as long as the returned handle lives. Behind it is a
    /// managed rule (bus::list_rules shows it with `managed` set) named `rule_name`, which names
    /// the target in stats() and metrics(); by default "subscription-N". Throws
    /// switchyard::error when a rule of that name exists or the name is not valid.
    [[nodiscard]] SWITCHYARD_API subscription subscribe(std::string pattern, target t, std::string rule_name = {});

    /// Attaches a subscriber to every event of its type (matched by detail-type), or to `pattern`.
    template <event_type T>
    [[nodiscard]] subscription subscribe(subscriber<T>& s, any_executor executor = inline_executor::instance(),
                                         std::optional<std::string> pattern = std::nullopt) {
        std::string p = pattern ? std::move(*pattern) : nlohmann::json{{"detail-type", {std::string(detail_type_of<T>())}}}.dump();
        return subscribe(std::move(p), handler<T>("subscriber", [&s](const event<T>& e) { s.on_event(e); }, std::move(executor)));
    }

    /// Receives every dead letter of a target without a sink, and failures of sinks themselves.
    /// The default writes one line to stderr.
    SWITCHYARD_API void set_error_handler(error_handler handler);

    /// Waits until every accepted delivery has ended, pending retries included. Returns false if
    /// `timeout` passed first. Without a timeout, from inside one of this bus's own deliveries,
    /// it throws switchyard::error (it would wait for itself forever).
    SWITCHYARD_API bool drain(std::chrono::nanoseconds timeout);
    /// Waits, without a time limit, until every accepted delivery has ended (see above).
    SWITCHYARD_API void drain();

    /// Stops accepting events (publishes then fail with BusShutDown), drains for up to
    /// `timeout`, then hands whatever is still pending to the dead-letter sinks (or the error
    /// handler) with reason `shutdown`. Returns true when everything accepted has ended.
    SWITCHYARD_API bool shutdown(std::chrono::nanoseconds timeout);

    /// Deliveries accepted and not yet ended, and how many of them wait for a retry.
    SWITCHYARD_API std::uint64_t pending() const noexcept;
    /// @copydoc pending
    SWITCHYARD_API std::size_t pending_retries() const;

    /// Every target's delivery accounting, rule by rule in name order.
    SWITCHYARD_API std::vector<target_stats> stats() const;

    /// EventBridge's metrics (MatchedEvents, TriggeredRules, Invocations, ... and latency
    /// histograms) as plain data, labelled by bus, rule and target; render_prometheus() turns it
    /// into Prometheus text. All zeros while bus_options::metrics is off.
    SWITCHYARD_API metrics_snapshot metrics() const;

    /// The envelope a new event published now from `source` would carry (fresh id and time).
    SWITCHYARD_API envelope make_envelope(std::string source, std::string detail_type) const;

    /// A dead-letter sink that publishes each dead letter into this bus as an event with source
    /// "switchyard.dead-letter" and detail-type "DeadLetter": the original event and the reason.
    /// The dead letter counts one hop more than the event that failed, so dead letters that fail
    /// into the same bus again stop after bus_options::max_hops (at the error handler).
    SWITCHYARD_API dead_letter_sink as_dead_letter_sink();

    /// The engine behind this bus: for switchyard's own handles (producers, bus targets).
    const std::shared_ptr<detail::bus_core>& engine(detail::engine_access) const noexcept { return core_; }

private:
    std::shared_ptr<detail::bus_core> core_;
};

/// A target that routes matched events into another bus (EventBridge's event-bus target). The
/// event keeps its id, envelope and typed value; it is not copied. Each crossing counts a hop, and
/// an event beyond the destination's bus_options::max_hops is dead-lettered with reason
/// `routing-loop` instead of circling forever. A destination that throttles makes the delivery
/// fail retryably; one that no longer exists, permanently.
SWITCHYARD_API target bus_target(std::string id, bus& destination, any_executor executor = inline_executor::instance());

}  // namespace switchyard

#include "switchyard/producer.hpp"

#ifdef SWITCHYARD_HEADER_ONLY
#include "switchyard/bus/bus-inl.hpp"
#endif
