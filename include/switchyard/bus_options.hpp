// How a bus is configured (bus_options) and what it reports about itself (stats, recovery),
// as plain types: the bus's public face, without its engine.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "switchyard/dedup.hpp"
#include "switchyard/delivery/dead_letter.hpp"

namespace switchyard {

class journal;
class tracer;
class log_sink;

/// How a bus is configured. Every field has a default, so name only what you change: either with
/// designated initializers, in declaration order,
///
///     switchyard::bus_options{.metrics = false, .journal = j}
///
/// or with the chainable setters below, in any order (they return the options, so a chain can
/// be passed straight to the bus):
///
///     switchyard::bus bus{"payments", switchyard::bus_options{}.with_journal(j).with_dedup({})};
struct bus_options {
    std::string account = "000000000000";  ///< the envelope's account (EventBridge's 12-digit id)
    std::string region = "local";          ///< the envelope's region
    std::size_t max_targets_per_rule = 5;      ///< EventBridge's limit
    std::size_t max_event_size = 1024 * 1024;  ///< bytes, measured as EventBridge measures an entry
    std::size_t max_batch_entries = 10;        ///< put_events entries per call, EventBridge's limit
    /// Publish-time deduplication (off unless set): a duplicate inside the window is accepted but
    /// not delivered, and its result says `deduplicated`. See dedup.hpp for the bounds. Replayed
    /// events (with a replay-name) are never deduplicated: a replay repeats events on purpose.
    std::optional<dedup_options> dedup{};
    /// How deeply an entry's detail may nest objects and arrays (deeper ones fail alone with
    /// InvalidArgument: recursive JSON code would otherwise risk the stack).
    std::size_t max_detail_depth = 100;
    /// How many bus-to-bus hops an event may take; one more is a routing loop (dead-lettered).
    /// Dead letters published into a bus (as_dead_letter_sink) count a hop too.
    unsigned max_hops = 8;
    /// How deeply deliveries may nest on one thread: a handler on an inline executor that
    /// publishes runs the next delivery inside its own call. Past this depth the delivery is
    /// dead-lettered with reason routing-loop instead of overflowing the stack.
    unsigned max_nested_deliveries = 64;
    /// EventBridge's metrics (bus::metrics()); off saves a few relaxed atomics per publish.
    bool metrics = true;
    /// The latency histograms time a random 1 in this many publishes and attempts, each recorded
    /// with this weight, so their rates, sums and quantiles stay unbiased estimates (counters are
    /// always exact). Timing costs two clock reads, as much as the rest of a small in-process
    /// publish on a virtual machine; 1 times everything.
    std::uint32_t latency_sample_every = 16;
    /// Where the bus logs (dead letters without a sink, failing sinks and handlers); null: a
    /// stderr_sink at warn.
    std::shared_ptr<log_sink> log{};
    /// Durable delivery (off unless set): publish returns success only once the journal has
    /// recorded the event and the deliveries it starts; bus::recover() re-delivers those that had
    /// not ended when the process died. Deliveries to subscriptions are not journaled (a
    /// subscription lives as long as its handle, so there is nothing to re-deliver it to).
    std::shared_ptr<switchyard::journal> journal{};
    /// Tracing hooks (observe/tracer.hpp), called as events are published, matched, delivered,
    /// retried and dead-lettered. With a tracer every published event gets a trace (the caller's,
    /// or a new one); without one, a trace the caller passes is still carried and propagated.
    std::shared_ptr<switchyard::tracer> tracer{};

    /// @name Chainable setters
    /// @{

    /// Sets the field of the same name and returns these options, so calls chain.
    bus_options& with_journal(std::shared_ptr<switchyard::journal> j) & { journal = std::move(j); return *this; }
    bus_options&& with_journal(std::shared_ptr<switchyard::journal> j) && { return std::move(with_journal(std::move(j))); }
    bus_options& with_dedup(dedup_options d) & { dedup = d; return *this; }
    bus_options&& with_dedup(dedup_options d) && { return std::move(with_dedup(d)); }
    bus_options& with_metrics(bool on) & { metrics = on; return *this; }
    bus_options&& with_metrics(bool on) && { return std::move(with_metrics(on)); }
    bus_options& with_tracer(std::shared_ptr<switchyard::tracer> t) & { tracer = std::move(t); return *this; }
    bus_options&& with_tracer(std::shared_ptr<switchyard::tracer> t) && { return std::move(with_tracer(std::move(t))); }
    bus_options& with_log(std::shared_ptr<log_sink> sink) & { log = std::move(sink); return *this; }
    bus_options&& with_log(std::shared_ptr<log_sink> sink) && { return std::move(with_log(std::move(sink))); }
    bus_options& with_account(std::string a) & { account = std::move(a); return *this; }
    bus_options&& with_account(std::string a) && { return std::move(with_account(std::move(a))); }
    bus_options& with_region(std::string r) & { region = std::move(r); return *this; }
    bus_options&& with_region(std::string r) && { return std::move(with_region(std::move(r))); }
    bus_options& with_max_targets_per_rule(std::size_t n) & { max_targets_per_rule = n; return *this; }
    bus_options&& with_max_targets_per_rule(std::size_t n) && { return std::move(with_max_targets_per_rule(n)); }
    bus_options& with_max_event_size(std::size_t bytes) & { max_event_size = bytes; return *this; }
    bus_options&& with_max_event_size(std::size_t bytes) && { return std::move(with_max_event_size(bytes)); }
    bus_options& with_max_batch_entries(std::size_t n) & { max_batch_entries = n; return *this; }
    bus_options&& with_max_batch_entries(std::size_t n) && { return std::move(with_max_batch_entries(n)); }
    bus_options& with_max_detail_depth(std::size_t levels) & { max_detail_depth = levels; return *this; }
    bus_options&& with_max_detail_depth(std::size_t levels) && { return std::move(with_max_detail_depth(levels)); }
    bus_options& with_max_hops(unsigned hops) & { max_hops = hops; return *this; }
    bus_options&& with_max_hops(unsigned hops) && { return std::move(with_max_hops(hops)); }
    bus_options& with_max_nested_deliveries(unsigned depth) & { max_nested_deliveries = depth; return *this; }
    bus_options&& with_max_nested_deliveries(unsigned depth) && { return std::move(with_max_nested_deliveries(depth)); }
    bus_options& with_latency_sample_every(std::uint32_t n) & { latency_sample_every = n; return *this; }
    bus_options&& with_latency_sample_every(std::uint32_t n) && { return std::move(with_latency_sample_every(n)); }
    /// @}
};

/// What bus::recover() found in the journal.
struct recovery_result {
    std::size_t events = 0;      ///< events with deliveries that had not ended
    std::size_t deliveries = 0;  ///< deliveries started again
    std::size_t orphaned = 0;    ///< deliveries whose rule or target no longer exists (reported, ended)
    std::size_t unreadable = 0;  ///< journaled events that could not be parsed (reported, ended)
};

/// What the bus's error handler receives: a dead letter that had no sink (or whose sink threw).
using delivery_failure = dead_letter;
/// What bus::set_error_handler takes: called once for each failure it receives.
using error_handler = std::function<void(const delivery_failure&)>;

/// Per-target delivery accounting. At any quiescent moment
/// accepted = delivered + dead_lettered + discarded + pending.
struct target_stats {
    std::string rule;                 ///< the rule's name
    std::string target;               ///< the target's id
    std::uint64_t accepted = 0;       ///< deliveries the bus accepted for this target
    std::uint64_t delivered = 0;      ///< deliveries whose handler succeeded
    std::uint64_t retried = 0;        ///< retry attempts scheduled (not deliveries)
    std::uint64_t dead_lettered = 0;  ///< to the target's sink, or the error handler without one
    std::uint64_t discarded = 0;      ///< queued for a subscription that ended before they ran
    std::uint64_t pending = 0;        ///< accepted, not yet ended: the queue depth
    std::uint64_t throttled = 0;      ///< entries refused because this target's queue was full
    std::size_t capacity = 0;         ///< the target's queue capacity (queue_options::capacity)
    /// Deliveries to an ordered target (target::ordered_by) whose event had no value at the
    /// ordering key: they all share one FIFO group. The first one is logged at warn.
    std::uint64_t missing_ordering_key = 0;
};

}  // namespace switchyard
