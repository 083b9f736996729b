// Metric primitives cheap enough for the publish and delivery paths (relaxed atomics, no locks,
// no allocation), the plain-data snapshot a scrape reads, and the table of metric names — those
// of EventBridge's CloudWatch metrics, so operators recognise them. Unlike CloudWatch, a metric
// that is zero is reported as zero, never omitted. prometheus.hpp renders a snapshot.
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace switchyard {

// ---- primitives ---------------------------------------------------------------------------------

/// A monotonically increasing count. One relaxed fetch_add: counters order nothing, and a scrape
/// only needs each value to be one that existed. Not sharded per thread: the bus keeps its counters
/// per target, so contention is per target, and a sharded counter would cost a cache line per
/// thread per counter (and a sum over them at every scrape).
class counter {
public:
    /// Adds `n`.
    void add(std::uint64_t n = 1) noexcept { value_.fetch_add(n, std::memory_order_relaxed); }
    /// The count.
    std::uint64_t value() const noexcept { return value_.load(std::memory_order_relaxed); }

private:
    std::atomic<std::uint64_t> value_{0};
};

/// A value that goes up and down (queue depth, workers). Signed so that a transiently unbalanced
/// add/sub pair seen by a scrape reads as a small negative number, not as 2^64 - 1.
class gauge {
public:
    /// Sets the value.
    void set(std::int64_t v) noexcept { value_.store(v, std::memory_order_relaxed); }
    /// Adds `n`.
    void add(std::int64_t n = 1) noexcept { value_.fetch_add(n, std::memory_order_relaxed); }
    /// Subtracts `n`.
    void sub(std::int64_t n = 1) noexcept { value_.fetch_sub(n, std::memory_order_relaxed); }
    /// The value.
    std::int64_t value() const noexcept { return value_.load(std::memory_order_relaxed); }

private:
    std::atomic<std::int64_t> value_{0};
};

/// What a histogram looks like in a snapshot, in Prometheus's shape and base unit (seconds):
/// `cumulative_counts[i]` observations were <= `upper_bounds[i]`; the implicit +Inf bucket is
/// `count`. Plain data, so a caller may also build one by hand.
struct histogram_data {
    std::vector<double> upper_bounds{};              ///< seconds, strictly increasing, finite
    std::vector<std::uint64_t> cumulative_counts{};  ///< observations <= the matching upper bound
    double sum = 0;                                  ///< of all observations, in seconds
    std::uint64_t count = 0;                         ///< all observations (the +Inf bucket)
};

/// A latency histogram with fixed buckets, recorded in nanoseconds. Recording is a binary search of
/// the bounds and two relaxed atomic adds (bucket and sum; the count is the buckets' total). Fixed
/// buckets (rather than configurable ones) keep every switchyard histogram comparable and
/// aggregatable across buses and processes.
///
/// Bucket upper bounds (inclusive, Prometheus's `le`): 1, 2.5, 5, 10, 25, 50, 100, 250, 500 µs;
/// 1, 2.5, 5, 10, 25, 50, 100, 250, 500 ms; 1, 2.5, 5, 10 s; then +Inf.
class histogram {
public:
    /// The buckets' upper bounds, in nanoseconds (+Inf is implicit).
    static constexpr std::array<std::uint64_t, 22> bounds_ns{
        1'000,          2'500,          5'000,          10'000,         25'000,        50'000,
        100'000,        250'000,        500'000,        1'000'000,      2'500'000,     5'000'000,
        10'000'000,     25'000'000,     50'000'000,     100'000'000,    250'000'000,   500'000'000,
        1'000'000'000,  2'500'000'000,  5'000'000'000,  10'000'000'000};

    /// Records one observation. Negative durations (a clock stepped backwards between two
    /// readings) count as zero. `weight` > 1 records a sampled observation standing for that many
    /// (see latency_sampler).
    void record(std::chrono::nanoseconds elapsed, std::uint32_t weight = 1) noexcept {
        record_ns(elapsed.count() < 0 ? 0 : static_cast<std::uint64_t>(elapsed.count()), weight);
    }

    /// record() for a duration already in nanoseconds.
    void record_ns(std::uint64_t ns, std::uint32_t weight = 1) noexcept {
        const auto bucket = static_cast<std::size_t>(std::lower_bound(bounds_ns.begin(), bounds_ns.end(), ns) - bounds_ns.begin());
        counts_[bucket].fetch_add(weight, std::memory_order_relaxed);
        sum_ns_.fetch_add(ns * weight, std::memory_order_relaxed);
    }

    /// The buckets, count and sum, in seconds. The count is the sum of the buckets read, so the
    /// +Inf bucket always equals `count` even while other threads record; `sum` may then include
    /// an observation the buckets do not yet.
    histogram_data snapshot() const {
        histogram_data out;
        out.upper_bounds.reserve(bounds_ns.size());
        out.cumulative_counts.reserve(bounds_ns.size());
        std::uint64_t running = 0;
        for (std::size_t i = 0; i < bounds_ns.size(); ++i) {
            running += counts_[i].load(std::memory_order_relaxed);
            out.upper_bounds.push_back(static_cast<double>(bounds_ns[i]) / 1e9);
            out.cumulative_counts.push_back(running);
        }
        running += counts_[bounds_ns.size()].load(std::memory_order_relaxed);
        out.count = running;
        out.sum = static_cast<double>(sum_ns_.load(std::memory_order_relaxed)) / 1e9;
        return out;
    }

    /// The number of observations (weights included).
    std::uint64_t count() const noexcept {
        std::uint64_t total = 0;
        for (const auto& c : counts_) total += c.load(std::memory_order_relaxed);
        return total;
    }
    /// The sum of the observations (weights included), in nanoseconds.
    std::uint64_t sum_ns() const noexcept { return sum_ns_.load(std::memory_order_relaxed); }

private:
    std::array<std::atomic<std::uint64_t>, bounds_ns.size() + 1> counts_{};  // the last is +Inf
    std::atomic<std::uint64_t> sum_ns_{0};
};

/// Decides which latencies are measured. A latency costs two clock reads, which on a virtual
/// machine cost as much as the rest of an in-process publish; measuring a random 1 in `every` and
/// recording it with weight `every` keeps the histograms' rates, means and quantiles unbiased
/// estimates at a fraction of the cost. `every` = 1 measures everything (exact counts).
class latency_sampler {
public:
    /// Measures 1 in `every` (0 is taken as 1).
    explicit latency_sampler(std::uint32_t every = 1) noexcept : every_(every == 0 ? 1 : every) {}

    /// 0: do not measure this one; otherwise the weight to record it with.
    std::uint32_t weight() const noexcept {
        if (every_ == 1) return 1;
        return next() % every_ == 0 ? every_ : 0;
    }
    /// The sampling rate: 1 in every().
    std::uint32_t every() const noexcept { return every_; }

private:
    // xorshift64*: a per-thread generator, no shared state, a few cycles.
    static std::uint64_t next() noexcept {
        thread_local std::uint64_t state = 0x9E3779B97F4A7C15ull ^ reinterpret_cast<std::uintptr_t>(&state);
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        return (state * 0x2545F4914F6CDD1Dull) >> 32;
    }
    std::uint32_t every_;
};

// ---- snapshot -----------------------------------------------------------------------------------

/// The kind of a metric.
enum class metric_type {
    counter,    ///< a monotonically increasing count
    gauge,      ///< a value that goes up and down
    histogram,  ///< a latency distribution
};

/// A time series' labels, as name and value, e.g. {{"bus", "payments"}, {"rule", "r"}}.
using metric_labels = std::vector<std::pair<std::string, std::string>>;

/// One time series at the moment of the snapshot. `name` is the EventBridge-style name
/// ("MatchedEvents"); the renderer derives the exposition name from it. `value` is used by
/// counters and gauges, `histogram` by histograms.
struct metric_sample {
    std::string name{};                       ///< the EventBridge-style name, e.g. "MatchedEvents"
    std::string help{};                       ///< the description (the HELP text)
    metric_type type = metric_type::counter;  ///< the kind of metric
    metric_labels labels{};                   ///< e.g. {{"bus", "payments"}, {"rule", "r"}, {"target", "t"}}
    double value = 0;                         ///< counters and gauges
    histogram_data histogram{};               ///< histograms
};

/// The samples a scrape reads (bus::metrics() makes one; collect_pool_metrics() adds to one).
struct metrics_snapshot {
    std::vector<metric_sample> samples{};  ///< the time series

    /// The first sample named `name` (EventBridge's name, e.g. "Invocations") whose labels include
    /// every pair in `labels`, in any order (other labels may be present); null when none does.
    /// `snapshot.find("Invocations", {{"rule", "r"}, {"target", "t"}})->value`.
    const metric_sample* find(std::string_view name, const metric_labels& labels = {}) const& noexcept {
        for (const auto& sample : samples) {
            if (sample.name != name) continue;
            bool all = true;
            for (const auto& wanted : labels) {
                bool present = false;
                for (const auto& label : sample.labels) present = present || label == wanted;
                all = all && present;
            }
            if (all) return &sample;
        }
        return nullptr;
    }
    /// Not on a temporary snapshot (`bus.metrics().find(...)`): the sample would dangle as soon
    /// as the statement ends. Keep the snapshot in a variable.
    const metric_sample* find(std::string_view name, const metric_labels& labels = {}) const&& = delete;
};

// ---- the names ----------------------------------------------------------------------------------

/// A metric switchyard defines: its name, kind and description (an entry of metric_catalog).
struct metric_info {
    std::string_view name;  ///< the EventBridge-style name (one of metric_names)
    metric_type type;       ///< the kind of metric
    std::string_view help;  ///< the description (the HELP text)
};

/// The names of switchyard's metrics: those of EventBridge's CloudWatch metrics, plus
/// switchyard's own gauges. metric_catalog describes each.
namespace metric_names {
// Counters, per bus (and rule, and target, where the metric is about one).
inline constexpr std::string_view matched_events = "MatchedEvents";                       ///< counter
inline constexpr std::string_view triggered_rules = "TriggeredRules";                     ///< counter
inline constexpr std::string_view invocations = "Invocations";                            ///< counter
inline constexpr std::string_view failed_invocations = "FailedInvocations";               ///< counter
inline constexpr std::string_view invocation_attempts = "InvocationAttempts";             ///< counter
inline constexpr std::string_view retry_invocation_attempts = "RetryInvocationAttempts";  ///< counter
inline constexpr std::string_view invocations_sent_to_dlq = "InvocationsSentToDlq";       ///< counter
inline constexpr std::string_view throttled_rules = "ThrottledRules";                     ///< counter
inline constexpr std::string_view deduplicated_events = "DeduplicatedEvents";             ///< counter
inline constexpr std::string_view put_events_entries = "PutEventsEntries";                ///< counter
inline constexpr std::string_view put_events_failed_entries = "PutEventsFailedEntries";   ///< counter
// Latency histograms (seconds in the exposition).
/// histogram
inline constexpr std::string_view ingestion_to_invocation_start_latency = "IngestionToInvocationStartLatency";
/// histogram
inline constexpr std::string_view ingestion_to_invocation_success_latency = "IngestionToInvocationSuccessLatency";
inline constexpr std::string_view put_events_latency = "PutEventsLatency";  ///< histogram
// Gauges (switchyard's own: EventBridge has no queues or workers to show).
inline constexpr std::string_view queue_depth = "QueueDepth";               ///< gauge
inline constexpr std::string_view queue_capacity = "QueueCapacity";         ///< gauge
/// counter (switchyard's own): deliveries to an ordered target whose event lacked the ordering key
inline constexpr std::string_view ordering_key_missing = "OrderingKeyMissing";
inline constexpr std::string_view pool_workers = "PoolWorkers";             ///< gauge
inline constexpr std::string_view pool_queued_tasks = "PoolQueuedTasks";    ///< gauge
}  // namespace metric_names

/// Every metric switchyard defines, with its kind and HELP text. HELP texts follow EventBridge's
/// metric descriptions where there is one.
inline constexpr std::array<metric_info, 19> metric_catalog{{
    {metric_names::matched_events, metric_type::counter, "Events that matched at least one rule."},
    {metric_names::triggered_rules, metric_type::counter, "Times a rule matched an event and was triggered."},
    {metric_names::invocations, metric_type::counter, "Deliveries that ended after reaching the target: successful, or failed for good (EventBridge counts both)."},
    {metric_names::failed_invocations, metric_type::counter,
     "Deliveries that failed permanently or ran out of retries (whether or not a dead-letter sink took them)."},
    {metric_names::invocation_attempts, metric_type::counter, "Handler calls, first attempts and retries."},
    {metric_names::retry_invocation_attempts, metric_type::counter, "Handler calls that were retries."},
    {metric_names::invocations_sent_to_dlq, metric_type::counter, "Deliveries handed to a dead-letter sink."},
    {metric_names::throttled_rules, metric_type::counter, "Times a rule's target refused an event because its queue was full."},
    {metric_names::deduplicated_events, metric_type::counter, "Events accepted but not delivered: duplicates inside the dedup window."},
    {metric_names::put_events_entries, metric_type::counter, "Entries received by put_events and publish."},
    {metric_names::put_events_failed_entries, metric_type::counter, "Entries that put_events or publish rejected."},
    {metric_names::ingestion_to_invocation_start_latency, metric_type::histogram,
     "Time from an event's ingestion to the start of a handler call, in seconds."},
    {metric_names::ingestion_to_invocation_success_latency, metric_type::histogram,
     "Time from an event's ingestion to the end of its successful handler call, in seconds."},
    {metric_names::put_events_latency, metric_type::histogram, "Time a put_events or publish call took, in seconds."},
    {metric_names::queue_depth, metric_type::gauge, "Deliveries accepted by a target and not yet ended."},
    {metric_names::queue_capacity, metric_type::gauge, "Deliveries a target may hold before its overflow policy applies."},
    {metric_names::pool_workers, metric_type::gauge, "Worker threads an executor pool is running."},
    {metric_names::pool_queued_tasks, metric_type::gauge, "Tasks waiting in an executor pool's queue."},
    {metric_names::ordering_key_missing, metric_type::counter,
     "Deliveries to an ordered target whose event had no value at the ordering key (they all share one FIFO group)."},
}};

static_assert(
    [] {
        for (const auto& m : metric_catalog)
            if (m.name.empty() || m.help.empty()) return false;
        return true;
    }(),
    "every slot of metric_catalog is filled: keep its size in step with its entries");

/// The catalog entry for `name`, or null for a name switchyard does not define.
constexpr const metric_info* find_metric(std::string_view name) noexcept {
    for (const auto& m : metric_catalog)
        if (m.name == name) return &m;
    return nullptr;
}

// Builders that fill `help` from the catalog, so call sites name a metric once.

/// A counter sample, its `help` from the catalog (empty for a name not in it).
inline metric_sample counter_sample(std::string_view name, metric_labels labels, std::uint64_t value) {
    const auto* info = find_metric(name);
    return {std::string(name), info ? std::string(info->help) : std::string(), metric_type::counter, std::move(labels),
            static_cast<double>(value), {}};
}

/// A gauge sample, its `help` from the catalog (empty for a name not in it).
inline metric_sample gauge_sample(std::string_view name, metric_labels labels, double value) {
    const auto* info = find_metric(name);
    return {std::string(name), info ? std::string(info->help) : std::string(), metric_type::gauge, std::move(labels), value, {}};
}

/// A histogram sample, its `help` from the catalog (empty for a name not in it).
inline metric_sample histogram_sample(std::string_view name, metric_labels labels, histogram_data data) {
    const auto* info = find_metric(name);
    return {std::string(name), info ? std::string(info->help) : std::string(), metric_type::histogram, std::move(labels), 0,
            std::move(data)};
}

// ---- bundles the bus embeds -----------------------------------------------------------------------
// The bus's metrics grouped by what they describe, each able to append its samples — zeros
// included — to a snapshot under the labels the caller gives.

/// Per bus (labels {bus}): the ingestion side.
struct bus_metrics {
    counter matched_events;             ///< metric_names::matched_events
    counter deduplicated_events;        ///< metric_names::deduplicated_events
    counter put_events_entries;         ///< metric_names::put_events_entries
    counter put_events_failed_entries;  ///< metric_names::put_events_failed_entries
    histogram put_events_latency;       ///< metric_names::put_events_latency

    /// Appends these samples, zeros included, to `out` under `labels`.
    void collect(metrics_snapshot& out, const metric_labels& labels) const {
        out.samples.push_back(counter_sample(metric_names::matched_events, labels, matched_events.value()));
        out.samples.push_back(counter_sample(metric_names::deduplicated_events, labels, deduplicated_events.value()));
        out.samples.push_back(counter_sample(metric_names::put_events_entries, labels, put_events_entries.value()));
        out.samples.push_back(counter_sample(metric_names::put_events_failed_entries, labels, put_events_failed_entries.value()));
        out.samples.push_back(histogram_sample(metric_names::put_events_latency, labels, put_events_latency.snapshot()));
    }
};

/// Per rule (labels {bus, rule}).
struct rule_metrics {
    counter triggered_rules;  ///< metric_names::triggered_rules

    /// Appends this sample, zero included, to `out` under `labels`.
    void collect(metrics_snapshot& out, const metric_labels& labels) const {
        out.samples.push_back(counter_sample(metric_names::triggered_rules, labels, triggered_rules.value()));
    }
};

/// Per target (labels {bus, rule, target}): the delivery side. Successful attempts are not
/// counted here: the bus counts every delivery anyway, and passes that count to collect(), which
/// derives Invocations and InvocationAttempts from it (one atomic less per delivery each).
struct target_metrics {
    counter failed_invocations;                         ///< metric_names::failed_invocations
    counter failed_attempts;                            ///< attempts that did not succeed (retried or final)
    counter retry_invocation_attempts;                  ///< metric_names::retry_invocation_attempts
    counter invocations_sent_to_dlq;                    ///< metric_names::invocations_sent_to_dlq
    counter throttled_rules;                            ///< metric_names::throttled_rules
    counter ordering_key_missing;                       ///< metric_names::ordering_key_missing
    histogram ingestion_to_invocation_start_latency;    ///< metric_names::ingestion_to_invocation_start_latency
    histogram ingestion_to_invocation_success_latency;  ///< metric_names::ingestion_to_invocation_success_latency

    /// Appends these samples, zeros included, to `out` under `labels`. `delivered`: deliveries
    /// that succeeded (each after exactly one successful attempt).
    void collect(metrics_snapshot& out, const metric_labels& labels, std::uint64_t delivered) const {
        const auto failed = failed_invocations.value();
        out.samples.push_back(counter_sample(metric_names::invocations, labels, delivered + failed));
        out.samples.push_back(counter_sample(metric_names::failed_invocations, labels, failed));
        out.samples.push_back(counter_sample(metric_names::invocation_attempts, labels, delivered + failed_attempts.value()));
        out.samples.push_back(counter_sample(metric_names::retry_invocation_attempts, labels, retry_invocation_attempts.value()));
        out.samples.push_back(counter_sample(metric_names::invocations_sent_to_dlq, labels, invocations_sent_to_dlq.value()));
        out.samples.push_back(counter_sample(metric_names::throttled_rules, labels, throttled_rules.value()));
        out.samples.push_back(counter_sample(metric_names::ordering_key_missing, labels, ordering_key_missing.value()));
        out.samples.push_back(histogram_sample(metric_names::ingestion_to_invocation_start_latency, labels,
                                               ingestion_to_invocation_start_latency.snapshot()));
        out.samples.push_back(histogram_sample(metric_names::ingestion_to_invocation_success_latency, labels,
                                               ingestion_to_invocation_success_latency.snapshot()));
    }
};

}  // namespace switchyard
