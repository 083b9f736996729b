// The bus: rules route published events to targets. Publishers read an immutable snapshot of
// the rule table and never wait for a reconfiguration; writers build the next snapshot and swap
// it in. Every accepted delivery is counted until it ends — delivered, dead-lettered or
// discarded — so `drain` knows when everything accepted is done and `stats` always adds up.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "switchyard/dedup.hpp"
#include "switchyard/delivery/dead_letter.hpp"
#include "switchyard/delivery/ordering_key.hpp"
#include "switchyard/delivery/outcome.hpp"
#include "switchyard/delivery/retry_policy.hpp"
#include "switchyard/delivery/timer_service.hpp"
#include "switchyard/detail/json_depth.hpp"
#include "switchyard/detail/snapshot.hpp"
#include "switchyard/durability/journal.hpp"
#include "switchyard/error.hpp"
#include "switchyard/event.hpp"
#include "switchyard/flatten.hpp"
#include "switchyard/observe/log.hpp"
#include "switchyard/observe/metrics.hpp"
#include "switchyard/observe/tracer.hpp"
#include "switchyard/pattern/matcher.hpp"
#include "switchyard/pattern/pattern.hpp"
#include "switchyard/rule.hpp"
#include "switchyard/target.hpp"

namespace switchyard {

struct bus_options {
    std::string account = "000000000000";
    std::string region = "local";
    std::size_t max_targets_per_rule = 5;      // EventBridge's limit
    std::size_t max_event_size = 1024 * 1024;  // bytes, measured as EventBridge measures an entry
    std::size_t max_batch_entries = 10;        // put_events entries per call, EventBridge's limit
    // Publish-time deduplication (off unless set): a duplicate inside the window is accepted but
    // not delivered, and its result says `deduplicated`. See dedup.hpp for the bounds. Replayed
    // events (with a replay-name) are never deduplicated: a replay repeats events on purpose.
    std::optional<dedup_options> dedup{};
    // How deeply an entry's detail may nest objects and arrays (deeper ones fail alone with
    // InvalidArgument: recursive JSON code would otherwise risk the stack).
    std::size_t max_detail_depth = 100;
    // How many bus-to-bus hops an event may take; one more is a routing loop (dead-lettered).
    unsigned max_hops = 8;
    // EventBridge's metrics (bus::metrics()); off saves a few relaxed atomics per publish.
    bool metrics = true;
    // The latency histograms time a random 1 in this many publishes and attempts, each recorded
    // with this weight, so their rates, sums and quantiles stay unbiased estimates (counters are
    // always exact). Timing costs two clock reads, as much as the rest of a small in-process
    // publish on a virtual machine; 1 times everything.
    std::uint32_t latency_sample_every = 16;
    // Where the bus logs (dead letters without a sink, failing sinks and handlers); null: a
    // stderr_sink at warn.
    std::shared_ptr<log_sink> log{};
    // Durable delivery (off unless set): publish returns success only once the journal has
    // recorded the event and the deliveries it starts; bus::recover() re-delivers those that had
    // not ended when the process died. Deliveries to subscriptions are not journaled (a
    // subscription lives as long as its handle, so there is nothing to re-deliver it to).
    std::shared_ptr<switchyard::journal> journal{};
    // Tracing hooks (observe/tracer.hpp), called as events are published, matched, delivered,
    // retried and dead-lettered. With a tracer every published event gets a trace (the caller's,
    // or a new one); without one, a trace the caller passes is still carried and propagated.
    std::shared_ptr<switchyard::tracer> tracer{};
};

// One entry of `bus::put_events`, shaped like EventBridge's PutEventsRequestEntry.
struct put_events_entry {
    std::string source{};
    std::string detail_type{};
    std::string detail{};  // JSON object text
    std::vector<std::string> resources{};
    std::string time{};  // optional RFC 3339 timestamp; empty means now
    // With deduplication on: the producer's idempotency key. Empty: a hash of source,
    // detail-type and detail identifies duplicates.
    std::string dedup_id{};
    // W3C trace context of the caller (PutEvents' TraceHeader). An invalid traceparent starts a
    // new trace, as the W3C spec asks; it never fails the entry.
    std::string traceparent{};
    std::string tracestate{};
};

// The outcome of one published event: its id, or an EventBridge error code and a message.
struct publish_result {
    std::string event_id;
    std::string error_code;  // empty on success; InvalidArgument, MalformedDetail, ThrottlingException, ...
    std::string error_message;
    bool deduplicated = false;  // accepted, but a duplicate inside the dedup window: not delivered

    bool ok() const noexcept { return error_code.empty(); }
    explicit operator bool() const noexcept { return ok(); }
};

struct put_events_result {
    std::size_t failed_entry_count = 0;
    std::vector<publish_result> entries;  // one per entry, in order
};

// What bus::recover() found in the journal.
struct recovery_result {
    std::size_t events = 0;      // events with deliveries that had not ended
    std::size_t deliveries = 0;  // deliveries started again
    std::size_t orphaned = 0;    // deliveries whose rule or target no longer exists (reported, ended)
    std::size_t unreadable = 0;  // journaled events that could not be parsed (reported, ended)
};

// What the bus's error handler receives: a dead letter that had no sink (or whose sink threw).
using delivery_failure = dead_letter;
using error_handler = std::function<void(const delivery_failure&)>;

// Per-target delivery accounting. At any quiescent moment
// accepted = delivered + dead_lettered + discarded + pending.
struct target_stats {
    std::string rule;
    std::string target;
    std::uint64_t accepted = 0;
    std::uint64_t delivered = 0;
    std::uint64_t retried = 0;        // retry attempts scheduled (not deliveries)
    std::uint64_t dead_lettered = 0;  // to the target's sink, or the error handler without one
    std::uint64_t discarded = 0;      // queued for a subscription that ended before they ran
    std::uint64_t pending = 0;        // accepted, not yet ended: the queue depth
    std::uint64_t throttled = 0;      // entries refused because this target's queue was full
    std::size_t capacity = 0;
};

class bus;
template <event_type T> class producer;

namespace detail {

struct target_state;

// Thrown by a bus-to-bus target when an event has crossed too many buses.
class routing_loop_error : public permanent_error {
public:
    using permanent_error::permanent_error;
};

// One (event, target) delivery in flight. It has exactly one owner at a time: the publisher's
// stack (inline first attempt), an executor task, the timer, or its FIFO group's queue. Tasks
// and timers carry it as a raw pointer (so a task fits std::function's small buffer and costs
// no allocation); whoever runs them takes ownership back.
struct delivery {
    event_ptr event;
    std::shared_ptr<target_state> target;
    unsigned attempts = 0;
    std::optional<std::string> group;  // FIFO group when the target is ordered
    std::uint64_t journal_sequence = 0;  // non-zero when the journal recorded this delivery
    bool redelivered = false;            // started again by bus::recover()
    std::optional<trace_context> span{};  // the event's publish span on this bus, when traced
    span_id attempt_span{};               // the latest attempt's span id
};

// The publish span of one event on one bus, and the span it is a child of.
struct publish_trace {
    std::optional<trace_context> span{};
    span_id parent{};
};
using delivery_owner = std::unique_ptr<delivery>;

struct target_state {
    target_state(target spec_in, std::string rule_in)
        : spec(std::move(spec_in)),
          rule(std::move(rule_in)),
          key(spec.ordering_key.empty() ? key_path{} : key_path(spec.ordering_key)),
          input(compiled_input::compile(spec.input)) {}

    target spec;
    std::string rule;
    key_path key;
    compiled_input input;
    std::atomic<std::uint64_t> accepted{0}, delivered{0}, retried{0}, dead_lettered{0}, discarded{0}, throttled{0};
    std::atomic<std::uint64_t> in_flight{0};
    target_metrics metrics;
    bool closable = false;  // a subscription's target: its handler calls pass through `gate`

    // Slots: the bounded queue. Publishers that block wait on `slot_freed`.
    std::mutex slot_mutex;
    std::condition_variable slot_freed;
    std::atomic<unsigned> slot_waiters{0};

    // seq_cst here and in release(): a waiter announces itself then re-reads in_flight while a
    // releaser decrements then reads slot_waiters; weaker orders could let both miss the other.
    bool try_reserve() noexcept {
        auto current = in_flight.load(std::memory_order_seq_cst);
        while (current < spec.queue.capacity)
            if (in_flight.compare_exchange_weak(current, current + 1, std::memory_order_seq_cst)) return true;
        return false;
    }
    bool reserve_blocking(std::chrono::steady_clock::time_point deadline) {
        if (try_reserve()) return true;
        std::unique_lock lock(slot_mutex);
        slot_waiters.fetch_add(1, std::memory_order_seq_cst);
        const bool got = slot_freed.wait_until(lock, deadline, [this] { return try_reserve(); });
        slot_waiters.fetch_sub(1, std::memory_order_acq_rel);
        return got;
    }
    void release() noexcept {
        in_flight.fetch_sub(1, std::memory_order_seq_cst);
        if (slot_waiters.load(std::memory_order_seq_cst) != 0) {
            std::lock_guard lock(slot_mutex);
            slot_freed.notify_all();
        }
    }

    // FIFO groups: a group exists while its head is in flight; the rest wait here in order.
    std::mutex groups_mutex;
    std::unordered_map<std::string, std::deque<delivery_owner>> groups;

    // A subscription's end must wait for calls already running, and stop any later ones.
    std::mutex gate;
    std::condition_variable idle;
    bool open = true;
    unsigned running = 0;
};

struct rule_entry {
    pattern::rule_id id = 0;
    std::string name;
    std::string pattern;
    rule_state state = rule_state::enabled;
    std::string description;
    std::vector<std::shared_ptr<target_state>> targets;
    bool managed = false;
    std::shared_ptr<rule_metrics> metrics = std::make_shared<rule_metrics>();  // shared by copies of the entry
};

// One immutable snapshot of the rules.
struct rule_table {
    pattern::matcher matcher;
    std::vector<std::shared_ptr<const rule_entry>> by_id;  // indexed by rule id; null when removed
    std::map<std::string, pattern::rule_id, std::less<>> by_name;
};

// The targets whose handlers are running on this thread, innermost first (inline deliveries
// nest): a subscription ended from inside a handler waits for every other call but these.
struct running_frame {
    const target_state* target;
    const running_frame* outer;
};
inline thread_local const running_frame* running_targets = nullptr;

inline unsigned running_here(const target_state* t) noexcept {
    unsigned n = 0;
    for (const auto* f = running_targets; f; f = f->outer) n += f->target == t ? 1u : 0u;
    return n;
}

class bus_core {
public:
    bus_core(std::string name, bus_options options) : name_(std::move(name)), options_(std::move(options)) {
        check_name("event bus", name_);
        if (options_.max_targets_per_rule == 0) throw error("bus_options::max_targets_per_rule must be at least 1");
        if (options_.max_batch_entries == 0) throw error("bus_options::max_batch_entries must be at least 1");
    }

    bus_core(const bus_core&) = delete;
    bus_core& operator=(const bus_core&) = delete;

    ~bus_core() {
        // A worker that ended the last delivery may still be inside finish(); wait it out (a few
        // instructions) so the mutex and condition it touches outlive it.
        while (finishing_.load(std::memory_order_acquire) != 0) std::this_thread::yield();
    }

    const std::string& name() const noexcept { return name_; }
    const bus_options& options() const noexcept { return options_; }

    // ---- configuration (writers serialise on config_mutex_) ----------------------------------

    // Adds a rule; with `replace`, a rule of the same name is replaced in one atomic step (its
    // deliveries already accepted still run on the old targets).
    void add_rule(rule_spec spec, bool managed = false, bool replace = false) {
        check_name("rule", spec.name);
        check_target_list(spec.name, spec.targets.size(), [&](std::size_t i) -> const std::string& { return spec.targets[i].id; });
        pattern::compiled_pattern compiled = [&] {
            try {
                return pattern::compile(spec.pattern);
            } catch (const pattern_error& e) {
                throw pattern_error(fmt::format("rule \"{}\": invalid event pattern: {}", spec.name, e.what()), e.path(), e.offset());
            }
        }();
        auto entry = std::make_shared<rule_entry>();
        entry->name = spec.name;
        entry->pattern = std::move(spec.pattern);
        entry->state = spec.state;
        entry->description = std::move(spec.description);
        entry->managed = managed;
        for (auto& t : spec.targets) entry->targets.push_back(make_target(std::move(t), spec.name, managed));

        std::lock_guard lock(config_mutex_);
        const auto current = table_.load();
        const auto existing = current->by_name.find(spec.name);
        if (existing != current->by_name.end() && !replace)
            throw error(fmt::format("bus \"{}\" already has a rule named \"{}\": remove it first, use put_rule to replace it, "
                                    "or choose another name", name_, spec.name));
        if (existing != current->by_name.end()) {
            const auto& old = *current->by_id[existing->second];
            if (old.managed) throw error(fmt::format("rule \"{}\" belongs to a subscription: end the subscription instead", spec.name));
            retire(old.targets);
        }
        entry->id = next_rule_id_++;
        auto next = std::make_shared<rule_table>(*current);
        if (existing != current->by_name.end()) {
            next->matcher = current->matcher.without(existing->second).with(entry->id, compiled);
            next->by_id[existing->second] = nullptr;
            next->by_name.erase(existing->first);
        } else {
            next->matcher = current->matcher.with(entry->id, compiled);
        }
        if (next->by_id.size() <= entry->id) next->by_id.resize(entry->id + 1);
        next->by_name.emplace(entry->name, entry->id);
        next->by_id[entry->id] = std::move(entry);
        table_.store(std::move(next));
    }

    // Returns the removed rule's targets (a subscription waits for them), or nothing.
    // A subscription's rule can only be removed by its subscription (which also closes its
    // target, so the handler is never called afterwards).
    std::optional<std::vector<std::shared_ptr<target_state>>> remove_rule(std::string_view name, bool by_subscription = true) {
        std::lock_guard lock(config_mutex_);
        const auto current = table_.load();
        const auto it = current->by_name.find(name);
        if (it == current->by_name.end()) return std::nullopt;
        const auto id = it->second;
        if (current->by_id[id]->managed && !by_subscription)
            throw error(fmt::format("rule \"{}\" belongs to a subscription: end the subscription instead", name));
        auto targets = current->by_id[id]->targets;
        retire(targets);
        auto next = std::make_shared<rule_table>(*current);
        next->matcher = current->matcher.without(id);
        next->by_name.erase(std::string(name));
        next->by_id[id] = nullptr;
        table_.store(std::move(next));
        return targets;
    }

    void set_state(std::string_view name, rule_state state) {
        update_entry(name, [&](rule_entry& entry) { entry.state = state; });
    }

    // Validates a target and builds its runtime state; errors name the target and the rule.
    std::shared_ptr<target_state> make_target(target t, const std::string& rule, bool managed) const {
        check_name("target", t.id);
        const std::string where = fmt::format("target \"{}\" of rule \"{}\"", t.id, rule);
        if (!t.invoke) throw error(where + " has no handler");
        t.retries.validate(where);
        if (t.queue.capacity == 0) throw error(where + ": queue_options::capacity must be at least 1");
        if (t.forwards_whole_event && !std::holds_alternative<whole_event>(t.input))
            throw error(where + " routes events to another bus, which always receives the whole event: remove its input specification");
        try {
            auto state = std::make_shared<target_state>(std::move(t), rule);
            state->closable = managed;
            return state;
        } catch (const error& e) {
            throw error(fmt::format("{}: {}", where, e.what()));
        }
    }

    template <class IdOf> void check_target_list(const std::string& rule, std::size_t count, IdOf id_of) const {
        if (count > options_.max_targets_per_rule)
            throw error(fmt::format("rule \"{}\" has {} targets; a rule may have at most {} (bus_options::max_targets_per_rule)", rule,
                                    count, options_.max_targets_per_rule));
        for (std::size_t i = 0; i < count; ++i)
            for (std::size_t j = 0; j < i; ++j)
                if (id_of(j) == id_of(i))
                    throw error(fmt::format("rule \"{}\" has two targets with id \"{}\": target ids must be unique within a rule", rule,
                                            id_of(i)));
    }

    // Replaces a rule's entry with an edited copy, atomically. Subscriptions' rules are theirs.
    template <class Edit> void update_entry(std::string_view rule, Edit edit) {
        std::lock_guard lock(config_mutex_);
        const auto current = table_.load();
        const auto it = current->by_name.find(rule);
        if (it == current->by_name.end()) throw error(fmt::format("bus \"{}\" has no rule named \"{}\"", name_, rule));
        auto entry = std::make_shared<rule_entry>(*current->by_id[it->second]);
        if (entry->managed) throw error(fmt::format("rule \"{}\" belongs to a subscription: end the subscription instead", rule));
        edit(*entry);
        auto next = std::make_shared<rule_table>(*current);
        next->by_id[entry->id] = std::move(entry);
        table_.store(std::move(next));
    }

    // Replaces a rule's target list with the one `change` edits.
    template <class Change> void update_targets(std::string_view rule, Change change) {
        update_entry(rule, [&](rule_entry& entry) {
            retire(entry.targets);  // the ones `change` drops must not die on a worker thread
            change(entry.targets);
            check_target_list(entry.name, entry.targets.size(),
                              [&](std::size_t i) -> const std::string& { return entry.targets[i]->spec.id; });
        });
    }

    // Keeps targets that left the rule table alive until the bus's own threads are done with
    // them: otherwise the last reference could drop inside a delivery, on a worker of the very
    // pool the target owns, and that pool's destructor would join itself. Called under
    // config_mutex_; targets only this list still holds are freed here, on the caller's thread.
    void retire(const std::vector<std::shared_ptr<target_state>>& targets) {
        std::erase_if(retired_, [](const std::shared_ptr<target_state>& t) { return t.use_count() == 1; });
        retired_.insert(retired_.end(), targets.begin(), targets.end());
    }

    // Adds targets to a rule or replaces those with the same ids (EventBridge's PutTargets).
    void put_targets(std::string_view rule, std::vector<target> targets) {
        std::vector<std::shared_ptr<target_state>> fresh;
        for (auto& t : targets) fresh.push_back(make_target(std::move(t), std::string(rule), false));
        update_targets(rule, [&](std::vector<std::shared_ptr<target_state>>& list) {
            for (auto& f : fresh) {
                auto same = std::find_if(list.begin(), list.end(), [&](const auto& t) { return t->spec.id == f->spec.id; });
                if (same != list.end()) *same = f;
                else list.push_back(f);
            }
        });
    }

    // Removes targets by id; unknown ids are an error naming them (EventBridge's RemoveTargets).
    void remove_targets(std::string_view rule, const std::vector<std::string>& ids) {
        update_targets(rule, [&](std::vector<std::shared_ptr<target_state>>& list) {
            for (const auto& id : ids) {
                auto it = std::find_if(list.begin(), list.end(), [&](const auto& t) { return t->spec.id == id; });
                if (it == list.end()) throw error(fmt::format("rule \"{}\" has no target \"{}\"", rule, id));
                list.erase(it);
            }
        });
    }

    std::vector<rule_info> list_rules() const {
        const auto table = table_.load();
        std::vector<rule_info> out;
        for (const auto& [name, id] : table->by_name) {
            const auto& entry = *table->by_id[id];
            rule_info info{entry.name, entry.pattern, entry.state, entry.description, {}, entry.managed};
            for (const auto& t : entry.targets) info.target_ids.push_back(t->spec.id);
            out.push_back(std::move(info));
        }
        return out;
    }

    std::vector<target_stats> stats() const {
        const auto table = table_.load();
        std::vector<target_stats> out;
        for (const auto& [name, id] : table->by_name)
            for (const auto& t : table->by_id[id]->targets) out.push_back(stats_of(*t));
        return out;
    }

    // EventBridge's metrics for this bus, its rules and their targets, zeros included.
    metrics_snapshot metrics() const {
        metrics_snapshot out;
        const metric_labels bus_labels{{"bus", name_}};
        metrics_.collect(out, bus_labels);
        const auto table = table_.load();
        for (const auto& [name, id] : table->by_name) {
            const auto& entry = *table->by_id[id];
            const metric_labels rule_labels{{"bus", name_}, {"rule", entry.name}};
            entry.metrics->collect(out, rule_labels);
            for (const auto& t : entry.targets) {
                const metric_labels labels{{"bus", name_}, {"rule", entry.name}, {"target", t->spec.id}};
                t->metrics.collect(out, labels, options_.metrics ? t->delivered.load(std::memory_order_relaxed) : 0);
                out.samples.push_back(gauge_sample(metric_names::queue_depth, labels, static_cast<double>(t->in_flight.load())));
                out.samples.push_back(gauge_sample(metric_names::queue_capacity, labels, static_cast<double>(t->spec.queue.capacity)));
            }
        }
        return out;
    }

    // Whether to time this publish: the weight to record its latency with, 0 for no.
    std::uint32_t latency_weight() const noexcept { return options_.metrics ? sampler_.weight() : 0; }

    // Counts one PutEvents entry (or typed publish), and its latency when `weight` says so.
    void record_put(const publish_result& result, std::chrono::steady_clock::time_point began, std::uint32_t weight) noexcept {
        if (!options_.metrics) return;
        metrics_.put_events_entries.add();
        if (!result.ok()) metrics_.put_events_failed_entries.add();
        if (weight != 0) metrics_.put_events_latency.record(std::chrono::steady_clock::now() - began, weight);
    }

    static target_stats stats_of(const target_state& t) {
        return {t.rule,
                t.spec.id,
                t.accepted.load(),
                t.delivered.load(),
                t.retried.load(),
                t.dead_lettered.load(),
                t.discarded.load(),
                t.in_flight.load(),
                t.throttled.load(),
                t.spec.queue.capacity};
    }

    void set_error_handler(error_handler handler) {
        std::lock_guard lock(error_mutex_);
        on_error_ = std::make_shared<const error_handler>(std::move(handler));
    }

    // ---- publishing ---------------------------------------------------------------------------

    // Routes an accepted event to every target of every enabled rule it matches. Admission is
    // all or nothing: if a target with the reject (or timed-out block) policy has no room, no
    // target receives the event and the result says ThrottlingException.
    // `only_rules`, when not empty, limits delivery to the rules of those names (a replay's).
    // `trace` is the event's publish span when the bus built the envelope (and put it there);
    // null for an event built elsewhere, whose publish span is made here.
    publish_result dispatch(const event_ptr& e, std::string_view dedup_id = {}, std::span<const std::string> only_rules = {},
                            const publish_trace* built_trace = nullptr) {
        publish_result result{e->meta().id, {}, {}, false};
        const dispatch_token token(this);
        if (refuse_if_closed(result)) return result;
        scratch_guard scratch;  // held until the deliveries have started: an inline one may publish
        admission a;
        a.event = e;
        if (admit(a, result, *scratch, dedup_id, only_rules, built_trace, true) != admitted::ready) return result;
        if (journal_) {
            auto& journaled = scratch->journaled;
            journaled_deliveries(a, journaled);
            if (!journaled.empty()) {
                try {
                    a.sequence = journal_->record_accepted(e->json(), journaled);
                } catch (const std::exception& ex) {
                    refuse_unjournaled(a, result, ex);
                    return result;
                }
            }
        }
        commit(a, result);
        return result;
    }

    // put_events on a journaled bus: the entries are admitted one by one, then recorded with one
    // journal call (one transaction for sqlite_journal, so a single publisher batches), then each
    // starts. An entry that would block for a queue slot first commits those admitted before it,
    // whose deliveries may be what frees the slot.
    void put_journaled(std::span<const put_events_entry> entries, std::vector<publish_result>& results) {
        results.assign(entries.size(), publish_result{});
        const dispatch_token token(this);
        std::vector<admission> waiting;
        std::vector<std::size_t> result_of;  // waiting[k]'s entry
        waiting.reserve(entries.size());     // no reallocation: each admission points into itself
        auto commit_waiting = [&] {
            std::vector<journal_record> records;
            std::vector<std::size_t> recorded;
            for (std::size_t k = 0; k < waiting.size(); ++k)
                if (!waiting[k].journaled.empty()) {
                    records.push_back({waiting[k].event->json(), waiting[k].journaled});
                    recorded.push_back(k);
                }
            std::exception_ptr failure;
            try {
                if (!records.empty()) {
                    const auto sequences = journal_->record_accepted_batch(records);
                    if (sequences.size() != records.size()) {
                        // A journal breaking its contract: end what it recorded, refuse the batch.
                        for (std::size_t r = 0; r < sequences.size() && r < records.size(); ++r)
                            for (const auto& d : records[r].deliveries) journal_->record_ended(sequences[r], d.rule, d.target);
                        throw error(fmt::format("the journal returned {} sequence numbers for {} events", sequences.size(), records.size()));
                    }
                    for (std::size_t r = 0; r < recorded.size(); ++r) waiting[recorded[r]].sequence = sequences[r];
                }
            } catch (...) {
                failure = std::current_exception();
            }
            if (failure) {
                const std::runtime_error reason(describe(failure));
                for (std::size_t k = 0; k < waiting.size(); ++k) refuse_unjournaled(waiting[k], results[result_of[k]], reason);
                waiting.clear();
                result_of.clear();
                return;
            }
            for (std::size_t k = 0; k < waiting.size(); ++k) {
                commit(waiting[k], results[result_of[k]]);
                waiting[k].plan = nullptr;  // its slots belong to its deliveries now
            }
            waiting.clear();
            result_of.clear();
        };
        // Whatever escapes (memory running out) must not leave slots reserved by waiting entries.
        struct release_waiting {
            std::vector<admission>& waiting;
            ~release_waiting() {
                for (auto& a : waiting)
                    if (a.plan)
                        for (const auto& step : *a.plan)
                            if (step.reserved) (*step.target)->release();
            }
        } guard{waiting};
        for (std::size_t i = 0; i < entries.size(); ++i) {
            auto& result = results[i];
            if (refuse_if_closed(result)) continue;
            auto built = build_entry(entries[i], result);
            if (!built) continue;
            result.event_id = built->event->meta().id;
            auto& a = waiting.emplace_back();
            a.event = built->event;
            auto outcome = admitted::done;
            {
                scratch_guard scratch;
                outcome = admit(a, result, *scratch, entries[i].dedup_id, {}, &built->trace, waiting.size() == 1);
                if (outcome == admitted::would_block) {
                    waiting.pop_back();
                    commit_waiting();
                    auto& again = waiting.emplace_back();
                    again.event = built->event;
                    outcome = admit(again, result, *scratch, entries[i].dedup_id, {}, &built->trace, true);
                }
                if (outcome == admitted::ready) {
                    auto& ready = waiting.back();
                    ready.own_plan = *ready.plan;  // the scratch is reused by the next entry
                    ready.plan = &ready.own_plan;
                    journaled_deliveries(ready, ready.journaled);
                    result_of.push_back(i);
                }
            }
            if (outcome != admitted::ready) waiting.pop_back();
        }
        commit_waiting();
    }

    // A validated put_events entry as an event, with its publish span.
    struct built_entry {
        event_ptr event;
        publish_trace trace;
    };

    publish_result put(const put_events_entry& entry) {
        publish_result result;
        auto built = build_entry(entry, result);
        if (!built) return result;
        return dispatch(built->event, entry.dedup_id, {}, &built->trace);
    }

    // Validates an entry (size, depth, JSON object detail, time, resources) and builds its event;
    // nothing, with `result` saying why, when it is refused.
    std::optional<built_entry> build_entry(const put_events_entry& entry, publish_result& result) const {
        auto fail = [&](const char* code, std::string message) -> std::optional<built_entry> {
            result.error_code = code;
            result.error_message = std::move(message);
            return std::nullopt;
        };
        if (entry.source.empty())
            return fail("InvalidArgument", "Source is empty: every entry needs a source such as \"com.example.orders\"");
        if (entry.detail_type.empty())
            return fail("InvalidArgument", "DetailType is empty: every entry needs a detail-type such as \"OrderPlaced\"");
        if (entry.detail.empty()) return fail("InvalidArgument", "Detail is empty: send a JSON object, \"{}\" at least");
        const std::size_t size = entry_size(entry);
        if (size > options_.max_event_size)
            return fail("InvalidArgument", fmt::format("entry is {} bytes; the limit is {} bytes (bus_options::max_event_size)", size,
                                                       options_.max_event_size));
        if (const auto depth = json_depth(entry.detail); depth > options_.max_detail_depth)
            return fail("InvalidArgument", fmt::format("Detail nests {} levels deep; the limit is {} (bus_options::max_detail_depth)",
                                                       depth, options_.max_detail_depth));
        const auto parsed = nlohmann::json::parse(entry.detail, nullptr, false);
        if (parsed.is_discarded())
            return fail("MalformedDetail", "Detail is not valid JSON: send a JSON object such as {\"orderId\": \"42\"}");
        if (!parsed.is_object()) return fail("MalformedDetail", fmt::format("Detail must be a JSON object, got {}", parsed.type_name()));
        envelope meta = make_envelope(entry.source, entry.detail_type);
        if (!entry.time.empty()) {
            const auto when = parse_rfc3339(entry.time);
            if (!when)
                return fail("InvalidArgument",
                            fmt::format("Time \"{}\" is not an RFC 3339 timestamp such as 2026-11-29T20:00:41Z", entry.time));
            meta.time = format_rfc3339(*when);
        }
        for (const auto& r : entry.resources)
            if (r.empty()) return fail("InvalidArgument", "Resources must not contain an empty string");
        meta.resources = entry.resources;
        std::optional<trace_context> caller;
        if (!entry.traceparent.empty()) caller = trace_context::parse(entry.traceparent, entry.tracestate);
        auto trace = trace_for_new(caller);
        meta.trace = trace.span;
        event_ptr e = std::make_shared<const json_text_event>(std::move(meta), entry.detail);
        return built_entry{std::move(e), std::move(trace)};
    }

    // ---- tracing ------------------------------------------------------------------------------

    // The publish span of an event whose envelope the bus builds now: a child of the caller's
    // context, else of the delivery running on this thread (a handler publishing), else the root
    // of a new trace when a tracer is set. Without any of those, no trace at all.
    publish_trace trace_for_new(const std::optional<trace_context>& caller) const {
        return publish_trace_under(caller && caller->valid() ? &*caller : detail::trace::current);
    }

    // The same for an event built elsewhere (forwarded by another bus, replayed, recovered):
    // the running delivery's span first (a bus target's attempt), else the span the event carries.
    publish_trace trace_of_built(const any_event& e) const {
        const auto& carried = e.meta().trace;
        return publish_trace_under(detail::trace::current ? detail::trace::current : carried ? &*carried : nullptr);
    }

    publish_trace publish_trace_under(const trace_context* parent) const {
        publish_trace out;
        if (parent) {
            out.span = child_of(*parent);
            out.parent = parent->span;
        } else if (tracer_) {
            out.span = trace_context::start();
        }
        return out;
    }

    void trace_publish(const any_event& e, const publish_trace& trace) noexcept {
        if (!tracer_ || !trace.span) return;
        try {
            const auto& m = e.meta();
            tracer_->on_publish(*trace.span, {trace.parent, name_, m.id, m.source, m.detail_type, trace_clock::now()});
        } catch (...) {
            // A tracer's failure must not change what is delivered.
        }
    }

    // The span of `d`'s latest attempt (its publish span before the first attempt).
    static trace_context attempt_context(const delivery& d) {
        if (d.attempts == 0) return *d.span;
        return {d.span->trace, d.attempt_span, d.span->flags, d.span->tracestate};
    }

    std::optional<dedup_window::stats> dedup_statistics() const {
        if (!dedup_) return std::nullopt;
        return dedup_->statistics();
    }

    envelope make_envelope(std::string source, std::string detail_type,
                           std::chrono::system_clock::time_point now = std::chrono::system_clock::now()) const {
        envelope meta;
        meta.id = make_uuid_v4();
        meta.detail_type = std::move(detail_type);
        meta.source = std::move(source);
        meta.account = options_.account;
        meta.time = format_rfc3339_cached(now);
        meta.region = options_.region;
        return meta;
    }

    // ---- recovery -----------------------------------------------------------------------------

    // Starts again every journaled delivery that had not ended, on the rule and target of the
    // same names in the current rule table. A delivery whose rule or target is gone, or whose
    // event cannot be read, is reported (error handler and log) and ended in the journal.
    recovery_result recover() {
        if (!journal_) throw error(fmt::format("bus \"{}\" has no journal to recover from (set bus_options::journal)", name_));
        if (recovered_.exchange(true))
            throw error(fmt::format("bus \"{}\" has already recovered: a second recover() would start deliveries that are "
                                    "still running again (call it once, after adding the rules and before publishing)",
                                    name_));
        const dispatch_token token(this);  // a concurrent drain or shutdown waits for the recovery
        if (closed_.load(std::memory_order_seq_cst))
            throw error(fmt::format("bus \"{}\" has been shut down: recover() would dead-letter what it recovers "
                                    "(recover before shutting down)", name_));
        recovery_result out;
        for (const auto& entry : journal_->unfinished()) {
            event_ptr e;
            try {
                e = parse_event(entry.event_json);
            } catch (const std::exception& ex) {
                ++out.unreadable;
                for (const auto& d : entry.open) {
                    report_unrecoverable(nullptr, d, fmt::format("journal entry {} cannot be read: {}", entry.sequence, ex.what()));
                    journal_->record_ended(entry.sequence, d.rule, d.target);
                }
                continue;
            }
            ++out.events;
            const auto trace = trace_of_built(*e);
            trace_publish(*e, trace);
            const auto table = table_.load();
            for (const auto& d : entry.open) {
                const std::shared_ptr<target_state>* found = nullptr;
                const auto rule = table->by_name.find(d.rule);
                if (rule != table->by_name.end())
                    for (const auto& t : table->by_id[rule->second]->targets)
                        if (t->spec.id == d.target && !t->closable) found = &t;
                if (!found) {
                    ++out.orphaned;
                    const auto missing = rule == table->by_name.end() ? fmt::format("there is no rule \"{}\"", d.rule)
                                                                      : fmt::format("rule \"{}\" has no target \"{}\"", d.rule, d.target);
                    report_unrecoverable(e, d, fmt::format("{}, so the delivery journaled before the crash cannot run "
                                                           "(add the rule and its targets before recover())", missing));
                    journal_->record_ended(entry.sequence, d.rule, d.target);
                    continue;
                }
                // Recovered deliveries were accepted before the crash: they take a slot even
                // when the queue is full, rather than be refused a second time.
                (*found)->in_flight.fetch_add(1, std::memory_order_seq_cst);
                ++out.deliveries;
                start(e, *found, trace, entry.sequence, true);
            }
        }
        return out;
    }

    // ---- completion ---------------------------------------------------------------------------

    bool drain(std::optional<std::chrono::nanoseconds> timeout) {
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
    // Refuses every later publish (BusShutDown); dispatches already past the check finish.
    void close() noexcept { closed_.store(true, std::memory_order_seq_cst); }

    bool shutdown(std::chrono::nanoseconds timeout) {
        close();
        if (drain(timeout)) return true;
        shutting_down_.store(true, std::memory_order_release);
        timers_.close();  // waiting retries are dead-lettered now, later ones are refused
        return drain(timeout);
    }

    std::uint64_t pending() const noexcept { return pending_.load(std::memory_order_acquire); }
    std::size_t pending_retries() const { return timers_.pending(); }

    // Closes a target so that none of its handler calls start any more, and waits for the calls
    // already running (except one on this very thread, when a handler ends its own subscription).
    static void close_target(target_state& t) {
        std::unique_lock lock(t.gate);
        t.open = false;
        const unsigned self = running_here(&t);
        t.idle.wait(lock, [&] { return t.running <= self; });
    }

private:
    struct planned {
        const std::shared_ptr<target_state>* target;  // into the snapshot dispatch holds
        bool reserved;
    };
    struct match_scratch {
        pattern::flat_event fields;
        std::vector<pattern::rule_id> ids;
        std::vector<planned> plan;
        std::vector<journal_delivery> journaled;
        std::vector<const rule_entry*> rules;  // the enabled rules an event matched
    };

    // A handler on an inline executor may publish again from inside dispatch, so scratch space
    // is a per-thread stack rather than a single per-thread buffer.
    class scratch_guard {
    public:
        scratch_guard() {
            auto& stack = pool();
            if (depth() == stack.size()) stack.push_back(std::make_unique<match_scratch>());
            current_ = stack[depth()++].get();
            current_->ids.clear();
            current_->plan.clear();
        }
        ~scratch_guard() { --depth(); }
        scratch_guard(const scratch_guard&) = delete;
        scratch_guard& operator=(const scratch_guard&) = delete;
        match_scratch* operator->() const noexcept { return current_; }
        match_scratch& operator*() const noexcept { return *current_; }

    private:
        static std::vector<std::unique_ptr<match_scratch>>& pool() {
            thread_local std::vector<std::unique_ptr<match_scratch>> stack;
            return stack;
        }
        static std::size_t& depth() {
            thread_local std::size_t level = 0;
            return level;
        }
        match_scratch* current_;
    };

    // A publish in progress counts as pending, so a closing bus cannot finish draining (and be
    // destroyed, or report a completed shutdown) between the closed check and the deliveries
    // it starts. seq_cst pairs with close(): one of the two always sees the other.
    struct dispatch_token {
        explicit dispatch_token(bus_core* c) : core(c) { core->pending_.fetch_add(1, std::memory_order_seq_cst); }
        ~dispatch_token() { core->finish(); }
        dispatch_token(const dispatch_token&) = delete;
        dispatch_token& operator=(const dispatch_token&) = delete;
        bus_core* core;
    };

    bool refuse_if_closed(publish_result& result) const {
        if (!closed_.load(std::memory_order_seq_cst)) return false;
        result.error_code = "BusShutDown";
        result.error_message = fmt::format("bus \"{}\" has been shut down and accepts no more events", name_);
        return true;
    }

    // One event on its way in: matched, with a slot reserved on each of its targets, not yet
    // journaled or started.
    struct admission {
        event_ptr event;
        std::shared_ptr<const rule_table> table;  // keeps the planned targets alive
        std::vector<planned>* plan = nullptr;     // the thread's scratch, or own_plan in a batch
        std::vector<planned> own_plan;
        publish_trace trace;
        dedup_window* dedup = nullptr;
        std::string dedup_key;
        std::vector<journal_delivery> journaled;  // in a batch
        std::uint64_t sequence = 0;               // the journal's, once recorded
    };
    enum class admitted {
        done,         // the publish ended here: refused, throttled, or nothing to deliver
        ready,        // reserved: journal it, then commit
        would_block,  // (only when blocking is not allowed) a target is full; nothing is reserved
    };

    // The dedup key, the trace, the match, and a slot on every target.
    admitted admit(admission& a, publish_result& result, match_scratch& scratch, std::string_view dedup_id,
                   std::span<const std::string> only_rules, const publish_trace* built_trace, bool may_block) {
        const auto& e = a.event;
        // The dedup key first: producing it can fail (a typed detail that cannot be serialised),
        // and nothing may be reserved yet when it does. A replay re-delivers archived events on
        // purpose (original ids and details): the window, which guards against producers'
        // retries, does not apply to it.
        a.dedup = e->meta().replay_name ? nullptr : dedup_.get();
        if (a.dedup) {
            try {
                a.dedup_key = dedup_id.empty() ? dedup_window::content_key(e->meta().source, e->meta().detail_type, e->detail_json())
                                               : dedup_window::id_key(dedup_id);
            } catch (const std::exception& ex) {
                result.error_code = "InvalidArgument";
                result.error_message = fmt::format("the event's detail cannot be serialised to compute its dedup key: {} "
                                                   "(give the event a dedup_id)", ex.what());
                return admitted::done;
            }
        }
        a.trace = built_trace ? *built_trace : trace_of_built(*e);
        a.table = table_.load();
        const auto& table = a.table;
        scratch.ids.clear();
        scratch.plan.clear();
        scratch.rules.clear();
        match(table->matcher, *e, scratch.fields, scratch.ids);
        auto& plan = scratch.plan;
        a.plan = &plan;
        for (const auto id : scratch.ids) {
            const auto& entry = table->by_id[id];
            if (!entry || entry->state != rule_state::enabled) continue;
            if (!only_rules.empty() && std::find(only_rules.begin(), only_rules.end(), entry->name) == only_rules.end()) continue;
            scratch.rules.push_back(entry.get());
            for (const auto& t : entry->targets) plan.push_back({&t, false});
        }
        // Metrics and trace hooks once the publish is decided (not for an admission that must
        // start over after a batch commits): the rules matched whether the publish was then
        // throttled or refused by the journal, as EventBridge counts TriggeredRules.
        auto account = [&] {
            trace_publish(*e, a.trace);
            for (const auto* rule : scratch.rules) {
                if (options_.metrics) rule->metrics->triggered_rules.add();
                if (a.trace.span && tracer_) {
                    try {
                        tracer_->on_match(*a.trace.span, {name_, e->meta().id, rule->name, trace_clock::now()});
                    } catch (...) {
                        // A tracer's failure must not change what is delivered.
                    }
                }
            }
            if (!scratch.rules.empty() && options_.metrics) metrics_.matched_events.add();
        };
        if (plan.empty()) {
            account();
            if (a.dedup) result.deduplicated = !a.dedup->first_seen(a.dedup_key);
            if (result.deduplicated && options_.metrics) metrics_.deduplicated_events.add();
            return admitted::done;
        }

        // Reserve a queue slot on every target first (a throttled event must not be remembered
        // as seen, or the producer's retry would be swallowed as a duplicate).
        std::optional<std::chrono::steady_clock::time_point> deadline;
        for (std::size_t i = 0; i < plan.size(); ++i) {
            auto& t = **plan[i].target;
            bool reserved = t.try_reserve();
            if (!reserved && !may_block) {
                // In a batch, earlier entries may hold this target's slots until they commit:
                // whatever the policy, commit them first and try again (no hook called yet).
                for (std::size_t j = 0; j < i; ++j)
                    if (plan[j].reserved) (*plan[j].target)->release();
                return admitted::would_block;
            }
            if (!reserved && t.spec.queue.on_full == overflow_policy::block) {
                if (!deadline) deadline = std::chrono::steady_clock::now() + t.spec.queue.block_timeout;
                reserved = t.reserve_blocking(std::min(*deadline, std::chrono::steady_clock::now() + t.spec.queue.block_timeout));
            }
            if (reserved) {
                plan[i].reserved = true;
            } else if (t.spec.queue.on_full != overflow_policy::dead_letter) {
                for (std::size_t j = 0; j < i; ++j)
                    if (plan[j].reserved) (*plan[j].target)->release();
                t.throttled.fetch_add(1, std::memory_order_relaxed);
                if (options_.metrics) t.metrics.throttled_rules.add();
                result.error_code = "ThrottlingException";
                result.error_message = fmt::format("target \"{}\" of rule \"{}\" has {} deliveries pending, its queue capacity; "
                                                   "the event was not delivered anywhere (retry later, or raise queue_options::capacity)",
                                                   t.spec.id, t.rule, t.spec.queue.capacity);
                account();
                return admitted::done;
            }
        }
        account();
        return admitted::ready;
    }

    // The deliveries of an admission the journal records (subscriptions' are not journaled).
    static void journaled_deliveries(const admission& a, std::vector<journal_delivery>& out) {
        out.clear();
        for (const auto& step : *a.plan)
            if (step.reserved && !(*step.target)->closable) out.push_back({(*step.target)->rule, (*step.target)->spec.id});
    }

    // The journal refused: nothing of the event is delivered, and it is not remembered as seen.
    static void refuse_unjournaled(admission& a, publish_result& result, const std::exception& ex) {
        for (const auto& step : *a.plan)
            if (step.reserved) (*step.target)->release();
        result.error_code = "JournalFailed";
        result.error_message = fmt::format("the journal could not record the event, so it was not accepted: {} "
                                           "(nothing of it is delivered; publish again once the journal works)", ex.what());
    }

    // The last steps, once journaled: the dedup window (after the journal, so a publish the
    // journal refused is not remembered as seen), then the deliveries start.
    void commit(admission& a, publish_result& result) {
        const auto& plan = *a.plan;
        if (a.dedup && !a.dedup->first_seen(a.dedup_key)) {
            for (const auto& step : plan) {
                if (!step.reserved) continue;
                (*step.target)->release();
                if (a.sequence != 0 && !(*step.target)->closable)
                    journal_->record_ended(a.sequence, (*step.target)->rule, (*step.target)->spec.id);
            }
            result.deduplicated = true;
            if (options_.metrics) metrics_.deduplicated_events.add();
            return;
        }
        for (const auto& step : plan) {
            const std::shared_ptr<target_state>& shared = *step.target;  // `a.table` keeps it alive
            if (step.reserved) {
                start(a.event, shared, a.trace, shared->closable ? 0 : a.sequence);
            } else {
                // Full, and the policy is dead_letter: accepted, and dead-lettered at once.
                shared->accepted.fetch_add(1, std::memory_order_relaxed);
                if (options_.metrics) shared->metrics.throttled_rules.add();
                pending_.fetch_add(1, std::memory_order_acq_rel);
                shared->in_flight.fetch_add(1, std::memory_order_acq_rel);  // released by end()
                delivery d{a.event, shared, 0, std::nullopt, 0, false, a.trace.span, {}};
                dead_letter_now(d, dead_letter_reason::queue_full, "ThrottlingException",
                                fmt::format("the target's queue was full ({} deliveries pending)", shared->spec.queue.capacity));
                end(d);
            }
        }
    }

    static std::size_t entry_size(const put_events_entry& entry) {
        std::size_t size = entry.source.size() + entry.detail_type.size() + entry.detail.size();
        if (!entry.time.empty()) size += 14;  // EventBridge counts a given Time as 14 bytes
        for (const auto& r : entry.resources) size += r.size();
        return size;
    }

    // A delivery with a reserved slot enters its target: straight to the executor, or behind
    // the deliveries of its FIFO group.
    void start(const event_ptr& e, const std::shared_ptr<target_state>& target, const publish_trace& trace,
               std::uint64_t journal_sequence = 0, bool redelivered = false) {
        auto& t = *target;
        t.accepted.fetch_add(1, std::memory_order_relaxed);
        pending_.fetch_add(1, std::memory_order_acq_rel);
        if (t.key.empty() && t.spec.executor.is_inline()) {
            // The synchronous path: no heap delivery, no task object.
            delivery d{e, target, 0, std::nullopt, journal_sequence, redelivered, trace.span, {}};
            attempt(d, nullptr);
            return;
        }
        auto d = std::make_unique<delivery>(delivery{e, target, 0, std::nullopt, journal_sequence, redelivered, trace.span, {}});
        if (!t.key.empty()) {
            try {
                d->group = t.key.group_of(*d->event);
            } catch (const std::exception& ex) {
                dead_letter_now(*d, dead_letter_reason::permanent_failure, "OrderingKeyUnreadable",
                                fmt::format("the ordering key {} could not be read: {}", t.spec.ordering_key, ex.what()));
                end(*d);
                return;
            }
            std::lock_guard lock(t.groups_mutex);
            auto [group, created] = t.groups.try_emplace(*d->group);
            if (!created) {
                group->second.push_back(std::move(d));  // the group's head is in flight; follow it
                return;
            }
        }
        submit(d.release());
    }

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
            dead_letter_now(*d, dead_letter_reason::permanent_failure, "ExecutorRejected", describe(std::current_exception()));
            end(*d);
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
        running_frame frame{&t, running_targets};
        struct leave_gate {
            target_state* t = nullptr;
            const running_frame* outer = nullptr;
            ~leave_gate() {
                running_targets = outer;
                if (!t) return;
                std::lock_guard lock(t->gate);
                --t->running;
                t->idle.notify_all();
            }
        } guard;
        guard.outer = running_targets;
        if (t.closable) {
            // A subscription may end at any moment: enter through its gate.
            std::unique_lock lock(t.gate);
            if (!t.open) {
                lock.unlock();
                t.discarded.fetch_add(1, std::memory_order_relaxed);
                end(d);
                return;
            }
            ++t.running;
            guard.t = &t;
        }
        running_targets = &frame;

        if (shutting_down_.load(std::memory_order_acquire)) {
            dead_letter_now(d, dead_letter_reason::shutdown, "Shutdown",
                            d.attempts == 0 ? "the bus shut down before this delivery ran"
                                            : "the bus shut down before this delivery's next attempt");
            end(d);
            return;
        }
        ++d.attempts;
        // Each attempt is a child span of the publish span (so retries are its siblings); with no
        // tracer the handler still sees the publish span, so what it publishes joins the trace.
        std::optional<trace_context> attempt_span;
        if (d.span) {
            attempt_span = tracer_ ? child_of(*d.span) : *d.span;
            d.attempt_span = attempt_span->span;
            if (tracer_) {
                try {
                    tracer_->on_deliver_start(*attempt_span, {d.span->span, name_, t.rule, t.spec.id, d.event->meta().id, d.attempts,
                                                              trace_clock::now()});
                } catch (...) {
                }
            }
        }
        const detail::trace::current_scope running_span(attempt_span ? &*attempt_span : nullptr);
        auto trace_end = [&](deliver_result r, std::string_view error) noexcept {
            if (!attempt_span || !tracer_) return;
            try {
                tracer_->on_deliver_end(*attempt_span, {r, error, trace_clock::now()});
            } catch (...) {
            }
        };
        const std::uint32_t timed = latency_weight();
        if (timed != 0)
            t.metrics.ingestion_to_invocation_start_latency.record(std::chrono::system_clock::now() - d.event->ingestion_time(), timed);
        if (d.attempts > 1 && options_.metrics) t.metrics.retry_invocation_attempts.add();
        outcome result = outcome::success();
        try {
            delivery_info info{t.rule, t.spec.id, d.attempts};
            info.redelivered = d.redelivered;
            std::string payload;
            if (!t.input.is_whole_event()) {
                payload = t.input.render(*d.event, t.rule);  // rendered per attempt: cheap next to a retry
                info.payload = payload;
                info.payload_is_json = t.input.is_json();
            }
            result = t.spec.invoke(*d.event, info);
        } catch (const routing_loop_error& ex) {
            trace_end(deliver_result::permanent_failure, ex.what());
            if (options_.metrics) t.metrics.failed_attempts.add();
            dead_letter_now(d, dead_letter_reason::routing_loop, "RoutingLoop", ex.what());
            end(d);
            return;
        } catch (const permanent_error& ex) {
            result = outcome::fail(ex.what());
        } catch (const std::exception& ex) {
            result = outcome::retry(ex.what());
        } catch (...) {
            result = outcome::retry("the handler threw a non-standard exception");
        }
        trace_end(result.status() == outcome::kind::success     ? deliver_result::success
                  : result.status() == outcome::kind::permanent ? deliver_result::permanent_failure
                                                                : deliver_result::retryable_failure,
                  result.status() == outcome::kind::success ? std::string_view{} : std::string_view(result.reason()));
        if (result.status() != outcome::kind::success && options_.metrics) t.metrics.failed_attempts.add();
        switch (result.status()) {
            case outcome::kind::success:
                t.delivered.fetch_add(1, std::memory_order_relaxed);  // also Invocations and InvocationAttempts
                if (timed != 0)
                    t.metrics.ingestion_to_invocation_success_latency.record(std::chrono::system_clock::now() - d.event->ingestion_time(),
                                                                             timed);
                end(d);
                return;
            case outcome::kind::permanent:
                dead_letter_now(d, dead_letter_reason::permanent_failure, "HandlerFailed", result.reason());
                end(d);
                return;
            case outcome::kind::retryable: retry_or_give_up(d, std::move(owner), result.reason()); return;
        }
    }

    void retry_or_give_up(delivery& d, delivery_owner owner, const std::string& reason) {
        auto& t = *d.target;
        const auto& policy = t.spec.retries;
        if (d.attempts > policy.max_retry_attempts) {
            dead_letter_now(d, dead_letter_reason::retries_exhausted, "HandlerFailed", reason);
            end(d);
            return;
        }
        const auto age = std::chrono::system_clock::now() - d.event->ingestion_time();
        const auto wait = policy.backoff(d.attempts);
        if (age + wait >= policy.max_event_age) {
            dead_letter_now(d, dead_letter_reason::max_age_exceeded, "HandlerFailed", reason);
            end(d);
            return;
        }
        if (shutting_down_.load(std::memory_order_acquire)) {
            dead_letter_now(d, dead_letter_reason::shutdown, "Shutdown", "the bus shut down before this delivery could be retried: " + reason);
            end(d);
            return;
        }
        t.retried.fetch_add(1, std::memory_order_relaxed);
        if (d.span && tracer_) {
            try {
                tracer_->on_retry(attempt_context(d), {d.attempts + 1, wait, reason, trace_clock::now()});
            } catch (...) {
            }
        }
        bool scheduled = false;
        try {
            if (!owner) owner = std::make_unique<delivery>(std::move(d));  // `d` is not used again
            delivery* waiting = owner.get();
            timer_service::callback retry = [this, waiting](bool cancelled) {
                if (!cancelled) return submit(waiting);
                delivery_owner back(waiting);
                dead_letter_now(*waiting, dead_letter_reason::shutdown, "Shutdown",
                                "the bus shut down while this delivery waited to retry");
                end(*waiting);
            };
            // Once the timer holds it, this thread must not touch the delivery or the bus again:
            // the retry may run, end, and let the bus be destroyed at any moment.
            scheduled = timers_.schedule(std::chrono::steady_clock::now() + wait, std::move(retry));
            if (scheduled) owner.release();
        } catch (...) {
            delivery& still = owner ? *owner : d;
            dead_letter_now(still, dead_letter_reason::retries_exhausted, "RetryNotScheduled",
                            reason + " (and the retry could not be scheduled: " + describe(std::current_exception()) + ")");
            end(still);
            return;
        }
        if (!scheduled) {
            // The bus shut down between the check above and the schedule.
            dead_letter_now(*owner, dead_letter_reason::shutdown, "Shutdown", "the bus shut down before this delivery could be retried: " + reason);
            end(*owner);
        }
    }

    void dead_letter_now(delivery& d, dead_letter_reason reason, const char* code, std::string message) noexcept {
        auto& t = *d.target;
        t.dead_lettered.fetch_add(1, std::memory_order_relaxed);
        // EventBridge counts an invocation once it permanently fails (after its retries).
        if (options_.metrics && d.attempts > 0) t.metrics.failed_invocations.add();
        if (d.span && tracer_) {
            try {
                tracer_->on_dead_letter(attempt_context(d), {name_, t.rule, t.spec.id, d.event->meta().id, to_string(reason), code, message,
                                                             d.attempts, trace_clock::now()});
            } catch (...) {
            }
        }
        dead_letter letter{d.event, t.rule, t.spec.id, code, std::move(message), d.attempts, reason};
        if (t.spec.dead_letter_to) {
            try {
                t.spec.dead_letter_to(letter);
                if (options_.metrics) t.metrics.invocations_sent_to_dlq.add();
                return;
            } catch (const std::exception& ex) {
                letter.error_message = fmt::format("{} (and the dead-letter sink failed: {})", letter.error_message, ex.what());
            } catch (...) {
                letter.error_message += " (and the dead-letter sink failed with a non-standard exception)";
            }
        }
        report(letter);
    }

    static std::string describe(std::exception_ptr failure) {
        try {
            std::rethrow_exception(failure);
        } catch (const std::exception& e) {
            return e.what();
        } catch (...) {
            return "a non-standard exception";
        }
    }

    void report_unrecoverable(event_ptr e, const journal_delivery& d, std::string message) noexcept {
        try {
            if (!e) e = std::make_shared<const detail::json_text_event>(make_envelope("switchyard.journal", "Unreadable"), "{}");
            report(dead_letter{std::move(e), d.rule, d.target, "RecoveryFailed", std::move(message), 0, dead_letter_reason::permanent_failure});
        } catch (...) {
            // Out of memory while reporting: nothing better is left to do.
        }
    }

    void report(const dead_letter& letter) noexcept {
        std::shared_ptr<const error_handler> handler;
        {
            std::lock_guard lock(error_mutex_);
            handler = on_error_;
        }
        // Both the error handler and the log hear of it: the handler acts, the log records.
        bool handler_failed = false;
        try {
            if (handler && *handler) (*handler)(letter);
        } catch (...) {
            handler_failed = true;  // an error handler that throws must not take the worker down
        }
        try {
            log_to(*log_, log_level::error, handler_failed ? "delivery failed (and the error handler threw)" : "delivery failed",
                   {{"bus", name_},
                    {"rule", letter.rule},
                    {"target", letter.target},
                    {"event_id", letter.event->meta().id},
                    {"error_code", letter.error_code},
                    {"reason", std::string(to_string(letter.reason))},
                    {"attempts", std::to_string(letter.attempts)},
                    {"message", letter.error_message}});
        } catch (...) {
            // A failing log sink has nowhere left to report to.
        }
    }

    // A delivery ended (delivered, dead-lettered or discarded): free its slot, let its FIFO
    // group move on, and count it out.
    void end(delivery& d) noexcept {
        auto& t = *d.target;
        if (d.journal_sequence != 0) journal_->record_ended(d.journal_sequence, t.rule, t.spec.id);
        delivery_owner next;
        if (d.group) {
            std::lock_guard lock(t.groups_mutex);
            auto it = t.groups.find(*d.group);
            if (it != t.groups.end()) {
                if (it->second.empty()) {
                    t.groups.erase(it);
                } else {
                    next = std::move(it->second.front());
                    it->second.pop_front();
                }
            }
        }
        t.release();
        if (next) submit_in_order(next.release());
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
    void finish() noexcept {
        finishing_.fetch_add(1, std::memory_order_acq_rel);
        if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
            std::lock_guard lock(drain_mutex_);
            drained_.notify_all();
        }
        finishing_.fetch_sub(1, std::memory_order_release);
    }

    std::string name_;
    bus_options options_;
    snapshot<rule_table> table_{std::make_shared<const rule_table>()};
    std::mutex config_mutex_;
    std::vector<std::shared_ptr<target_state>> retired_;  // see retire()
    pattern::rule_id next_rule_id_ = 0;
    std::uint64_t next_subscription_ = 0;

    std::mutex error_mutex_;
    std::shared_ptr<const error_handler> on_error_;

    std::atomic<std::uint64_t> pending_{0};
    std::atomic<std::uint32_t> finishing_{0};
    std::mutex drain_mutex_;
    std::condition_variable drained_;
    std::atomic<bool> closed_{false};
    std::atomic<bool> shutting_down_{false};
    std::atomic<bool> recovered_{false};
    std::unique_ptr<dedup_window> dedup_ = options_.dedup ? std::make_unique<dedup_window>(*options_.dedup) : nullptr;
    std::shared_ptr<log_sink> log_ = options_.log ? options_.log : std::make_shared<stderr_sink>();
    std::shared_ptr<journal> journal_ = options_.journal;
    std::shared_ptr<tracer> tracer_ = options_.tracer;
    bus_metrics metrics_;
    latency_sampler sampler_{options_.latency_sample_every};

    // Declared last: destroyed first, joining its thread while everything it calls still exists.
    timer_service timers_;

    friend class switchyard::bus;
};

}  // namespace detail

// Ends a subscription when destroyed: its handler is not called again once the destructor (or
// `unsubscribe`) has returned.
class subscription {
public:
    subscription() = default;
    subscription(subscription&& other) noexcept = default;
    subscription& operator=(subscription&& other) noexcept {
        if (this != &other) {
            unsubscribe();
            core_ = std::move(other.core_);
            rule_ = std::move(other.rule_);
        }
        return *this;
    }
    subscription(const subscription&) = delete;
    subscription& operator=(const subscription&) = delete;
    ~subscription() { unsubscribe(); }

    // The managed rule behind this subscription, as `bus::list_rules` shows it.
    const std::string& rule_name() const noexcept { return rule_; }
    bool active() const noexcept { return !core_.expired(); }

    void unsubscribe() {
        if (auto core = core_.lock()) {
            if (auto targets = core->remove_rule(rule_))
                for (const auto& t : *targets) detail::bus_core::close_target(*t);
        }
        core_.reset();
    }

private:
    friend class bus;
    subscription(std::weak_ptr<detail::bus_core> core, std::string rule) : core_(std::move(core)), rule_(std::move(rule)) {}

    std::weak_ptr<detail::bus_core> core_;
    std::string rule_;
};

class bus {
public:
    explicit bus(std::string name, bus_options options = {})
        : core_(std::make_shared<detail::bus_core>(std::move(name), std::move(options))) {}

    bus(const bus&) = delete;
    bus& operator=(const bus&) = delete;

    // Delivers everything accepted (retries included) before returning. Executors must outlive
    // the bus. Use `shutdown(timeout)` first to bound the wait.
    ~bus() {
        core_->close();  // publishes racing with destruction (e.g. from another bus) are refused
        core_->drain(std::nullopt);
    }

    const std::string& name() const noexcept { return core_->name(); }

    // Adds a rule. Throws switchyard::error (pattern_error for the pattern) naming the problem.
    void add_rule(rule_spec spec) { core_->add_rule(std::move(spec)); }

    // Removes a rule: no event published after this returns matches it. Events it already
    // matched are still delivered. Returns false when there was no such rule.
    bool remove_rule(std::string_view name) { return core_->remove_rule(name, false).has_value(); }

    void enable_rule(std::string_view name) { core_->set_state(name, rule_state::enabled); }
    void disable_rule(std::string_view name) { core_->set_state(name, rule_state::disabled); }

    // Adds the rule, or replaces the rule of the same name in one atomic step (EventBridge's
    // PutRule): no event sees both or neither; deliveries already accepted finish on the old one.
    void put_rule(rule_spec spec) { core_->add_rule(std::move(spec), false, true); }

    // Adds targets to a rule, replacing those with the same ids (EventBridge's PutTargets), and
    // removes targets by id (RemoveTargets). Deliveries already accepted still run.
    void put_targets(std::string_view rule, std::vector<target> targets) { core_->put_targets(rule, std::move(targets)); }
    void remove_targets(std::string_view rule, const std::vector<std::string>& ids) { core_->remove_targets(rule, ids); }

    // Every rule, sorted by name.
    std::vector<rule_info> list_rules() const { return core_->list_rules(); }

    // The dedup window's counters, when deduplication is on.
    std::optional<dedup_window::stats> dedup_statistics() const { return core_->dedup_statistics(); }

    // A producer of T events with the given source. It must not outlive the bus.
    template <event_type T> switchyard::producer<T> producer(std::string source);

    // Publishes a typed event from `source`.
    template <event_type T> publish_result publish(std::string source, T detail);

    // Publishes an already-built event as it is (id, time and all), e.g. one read from JSON.
    publish_result publish(event_ptr e) {
        if (!e) throw error("bus::publish: the event pointer is null");
        return core_->dispatch(e);
    }

    // Publishes an already-built event to the rules named in `only_rules` alone (all rules when
    // it is empty), as a replay does.
    publish_result publish(event_ptr e, std::span<const std::string> only_rules) {
        if (!e) throw error("bus::publish: the event pointer is null");
        return core_->dispatch(e, {}, only_rules);
    }

    // With a journal (bus_options::journal): starts again every delivery accepted before a crash
    // that had not ended, on the rules and targets of the same names — so add them first. Each
    // such delivery reaches its handler with delivery_info::redelivered set (at least once: a
    // handler may see an event twice). Throws switchyard::error when the bus has no journal.
    recovery_result recover() { return core_->recover(); }

    // EventBridge's PutEvents: each entry is validated and published alone; a bad entry fails with
    // an error code and message while the others go on. Throws switchyard::error when the batch
    // has more entries than bus_options::max_batch_entries.
    put_events_result put_events(std::span<const put_events_entry> entries) {
        if (entries.size() > core_->options().max_batch_entries)
            throw error(fmt::format("put_events got {} entries; at most {} are allowed per call (bus_options::max_batch_entries)",
                                    entries.size(), core_->options().max_batch_entries));
        put_events_result result;
        if (core_->journal_) {
            // Journaled: the batch is recorded with one journal call, so each entry's latency is
            // the batch's.
            const auto timed = core_->latency_weight();
            const auto began = timed != 0 ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point{};
            core_->put_journaled(entries, result.entries);
            for (const auto& entry : result.entries) {
                core_->record_put(entry, began, timed);
                if (!entry.ok()) ++result.failed_entry_count;
            }
            return result;
        }
        result.entries.reserve(entries.size());
        for (const auto& entry : entries) {
            const auto timed = core_->latency_weight();
            const auto began = timed != 0 ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point{};
            result.entries.push_back(core_->put(entry));
            core_->record_put(result.entries.back(), began, timed);
            if (!result.entries.back().ok()) ++result.failed_entry_count;
        }
        return result;
    }
    put_events_result put_events(std::initializer_list<put_events_entry> entries) {
        return put_events(std::span<const put_events_entry>(entries.begin(), entries.size()));
    }

    // Attaches a target to a pattern for as long as the returned handle lives.
    [[nodiscard]] subscription subscribe(std::string pattern, target t) {
        std::string name;
        {
            std::lock_guard lock(core_->config_mutex_);
            name = fmt::format("subscription-{}", core_->next_subscription_++);
        }
        core_->add_rule(rule_spec{name, std::move(pattern), {std::move(t)}, rule_state::enabled, "subscription"}, true);
        return subscription(core_, std::move(name));
    }

    // Attaches a subscriber to every event of its type (matched by detail-type), or to `pattern`.
    template <event_type T>
    [[nodiscard]] subscription subscribe(subscriber<T>& s, any_executor executor = inline_executor::instance(),
                                         std::optional<std::string> pattern = std::nullopt) {
        std::string p = pattern ? std::move(*pattern) : nlohmann::json{{"detail-type", {std::string(detail_type_of<T>())}}}.dump();
        return subscribe(std::move(p), handler<T>("subscriber", [&s](const event<T>& e) { s.on_event(e); }, std::move(executor)));
    }

    // Receives every dead letter of a target without a sink, and failures of sinks themselves.
    // The default writes one line to stderr.
    void set_error_handler(error_handler handler) { core_->set_error_handler(std::move(handler)); }

    // Waits until every accepted delivery has ended, pending retries included. Returns false if
    // `timeout` passed first.
    bool drain(std::chrono::nanoseconds timeout) { return core_->drain(timeout); }
    void drain() { core_->drain(std::nullopt); }

    // Stops accepting events (publishes then fail with BusShutDown), drains for up to
    // `timeout`, then hands whatever is still pending to the dead-letter sinks (or the error
    // handler) with reason `shutdown`. Returns true when everything accepted has ended.
    bool shutdown(std::chrono::nanoseconds timeout) { return core_->shutdown(timeout); }

    // Deliveries accepted and not yet ended, and how many of them wait for a retry.
    std::uint64_t pending() const noexcept { return core_->pending(); }
    std::size_t pending_retries() const { return core_->pending_retries(); }

    std::vector<target_stats> stats() const { return core_->stats(); }

    // EventBridge's metrics (MatchedEvents, TriggeredRules, Invocations, ... and latency
    // histograms) as plain data, labelled by bus, rule and target; render_prometheus() turns it
    // into Prometheus text. All zeros while bus_options::metrics is off.
    metrics_snapshot metrics() const { return core_->metrics(); }

    // The envelope a new event published now from `source` would carry (fresh id and time).
    envelope make_envelope(std::string source, std::string detail_type) const {
        return core_->make_envelope(std::move(source), std::move(detail_type));
    }

    // A dead-letter sink that publishes each dead letter into this bus as an event with source
    // "switchyard.dead-letter" and detail-type "DeadLetter": the original event and the reason.
    dead_letter_sink as_dead_letter_sink() {
        std::weak_ptr<detail::bus_core> weak = core_;
        return [weak](const dead_letter& letter) {
            auto core = weak.lock();
            if (!core) throw error("the dead-letter bus no longer exists");
            nlohmann::json detail = {{"rule", letter.rule},
                                     {"target", letter.target},
                                     {"errorCode", letter.error_code},
                                     {"errorMessage", letter.error_message},
                                     {"attempts", letter.attempts},
                                     {"reason", std::string(to_string(letter.reason))},
                                     {"event", nlohmann::json::parse(letter.event->json())}};
            auto meta = core->make_envelope("switchyard.dead-letter", "DeadLetter");
            const auto result = core->dispatch(std::make_shared<const detail::json_text_event>(std::move(meta), detail.dump()));
            if (!result) throw error("the dead-letter bus refused the event: " + result.error_message);
        };
    }

private:
    template <event_type T> friend class switchyard::producer;
    friend target bus_target(std::string id, bus& destination, any_executor executor);
    std::shared_ptr<detail::bus_core> core_;
};

// A target that routes matched events into another bus (EventBridge's event-bus target). The
// event keeps its id, envelope and typed value; it is not copied. Each crossing counts a hop, and
// an event beyond the destination's bus_options::max_hops is dead-lettered with reason
// `routing-loop` instead of circling forever. A destination that throttles makes the delivery
// fail retryably; one that no longer exists, permanently.
inline target bus_target(std::string id, bus& destination, any_executor executor = inline_executor::instance()) {
    std::weak_ptr<detail::bus_core> weak = destination.core_;
    target t{std::move(id),
             [weak](const any_event& e, const delivery_info&) -> outcome {
                 auto core = weak.lock();
                 if (!core) throw permanent_error("the destination bus no longer exists");
                 const unsigned hops = e.hops() + 1;
                 if (hops > core->options().max_hops)
                     throw detail::routing_loop_error(fmt::format("event {} would cross its {}th bus into \"{}\"; the limit is {} "
                                                                  "(bus_options::max_hops): the rules route it in a loop",
                                                                  e.meta().id, hops, core->name(), core->options().max_hops));
                 const auto result = core->dispatch(std::make_shared<const detail::forwarded_event>(e.shared_from_this()));
                 if (result.ok()) return outcome::success();
                 if (result.error_code == "ThrottlingException") return outcome::retry(result.error_message);
                 return outcome::fail(fmt::format("bus \"{}\" refused the event: {}: {}", core->name(), result.error_code,
                                                  result.error_message));
             },
             std::move(executor)};
    t.forwards_whole_event = true;
    return t;
}

}  // namespace switchyard

#include "switchyard/producer.hpp"
