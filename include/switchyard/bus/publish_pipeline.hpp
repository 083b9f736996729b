// The publish pipeline, one path for single events and batches, journaled or not:
//   admit   the dedup key, the trace, the match, and a slot on every target (all or nothing)
//   journal the event and its deliveries, once (one call for a whole batch)
//   commit  the dedup window (once, after the journal), then every delivery starts
// A refusal at any step leaves nothing behind: the admission plan gives its slots back.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <atomic>
#include <exception>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "switchyard/bus/admission.hpp"
#include "switchyard/bus/delivery_engine.hpp"
#include "switchyard/bus/ingest.hpp"
#include "switchyard/bus/rule_registry.hpp"
#include "switchyard/bus/telemetry.hpp"
#include "switchyard/bus_options.hpp"
#include "switchyard/dedup.hpp"
#include "switchyard/durability/journal.hpp"
#include "switchyard/pattern/flatten.hpp"
#include "switchyard/publish.hpp"

namespace switchyard::detail {

class publish_pipeline {
public:
    publish_pipeline(const std::string& bus_name, const bus_options& options, rule_registry& rules, delivery_engine& engine,
                     bus_telemetry& telemetry)
        : bus_(bus_name),
          account_(options.account),
          region_(options.region),
          limits_{options.max_event_size, options.max_detail_depth},
          rules_(rules),
          engine_(engine),
          telemetry_(telemetry),
          journal_(options.journal),
          dedup_(options.dedup ? std::make_unique<dedup_window>(*options.dedup) : nullptr) {}

    bool journaled() const noexcept { return journal_ != nullptr; }
    const dedup_window* dedup() const noexcept { return dedup_.get(); }
    dedup_window* dedup() noexcept { return dedup_.get(); }

    // Routes an event to every target of every enabled rule it matches (only those of the
    // rules named in `only_rules` when it is not empty: a replay's). `built_trace` is the
    // event's publish span when the bus built the envelope; null for an event built elsewhere.
    // `settle`, when set, is told of every delivery the publish starts (bus::publish with a
    // settlement_callback); its owner records the result and lets it go.
    publish_result publish(const event_ptr& e, std::string_view dedup_id = {}, std::span<const std::string> only_rules = {},
                           const publish_trace* built_trace = nullptr, const std::shared_ptr<settlement_tracker>& settle = nullptr) {
        publish_result result{e->meta().id, publish_errc::none, {}, false};
        const delivery_engine::publish_token token(engine_);
        if (refuse_if_closed(result)) return result;
        scratch_guard scratch;  // held until the deliveries have started: an inline one may publish
        admission a(scratch->plan, e);
        if (admit(a, result, *scratch, dedup_id, only_rules, built_trace, true) != admitted::ready) return result;
        if (journal_) {
            auto& journaled = scratch->journaled;
            journaled_deliveries(a, journaled);
            if (!journaled.empty()) {
                try {
                    a.sequence = journal_->record_accepted(e->json(), journaled);
                } catch (const std::exception& ex) {
                    refuse_unjournaled(a, result, ex.what());
                    return result;
                }
            }
        }
        commit(a, result, settle);
        return result;
    }

    // publish() with the journal's record made asynchronously (journal::record_accepted_async):
    // admitted here, on the caller's thread (matched, a slot reserved on each target: the
    // backpressure), then committed (the dedup window, the deliveries) when the journal says the
    // record is durable, and `done` told. Without a journal, or with nothing to journal, it is
    // publish(), and `done` runs before this returns. Until `done` has run the publish counts as
    // pending: drain() and shutdown() wait for it.
    void publish_async(const event_ptr& e, publish_callback done, std::string_view dedup_id = {}, const publish_trace* built_trace = nullptr) {
        delivery_engine::async_hold hold(engine_);
        publish_result result{e->meta().id, publish_errc::none, {}, false};
        std::shared_ptr<async_publish> pending;
        {
            const delivery_engine::publish_token token(engine_);
            if (refuse_if_closed(result)) return tell(done, result);
            scratch_guard scratch;
            admission a(scratch->plan, e);
            if (admit(a, result, *scratch, dedup_id, {}, built_trace, true) != admitted::ready) return tell(done, result);
            journaled_deliveries(a, a.journaled);
            if (!journal_ || a.journaled.empty()) {
                commit(a, result);
                return tell(done, result);
            }
            a.plan.keep();  // the scratch is the next publish's
            // Shared: std::function needs a copyable callable.
            pending = std::make_shared<async_publish>(*this, std::move(hold), std::move(a), std::move(result), std::move(done));
        }
        const auto& admitted_event = pending->admitted;
        try {
            // The completion captures the shared_ptr alone: it fits std::function's own buffer.
            journal_->record_accepted_async(admitted_event.event->json(), admitted_event.journaled,
                                            [pending](std::uint64_t sequence, std::exception_ptr failure) {
                                                pending->pipeline.complete(*pending, sequence, std::move(failure));
                                            });
        } catch (...) {
            // A journal that throws instead of calling back: the record failed (unless it was
            // called already, when this is ignored).
            complete(*pending, 0, std::current_exception());
        }
    }

    // A new event on its way into publish_many: the event, its publish span, its dedup id.
    struct built_entry {
        event_ptr event;
        publish_trace trace;
        std::string_view dedup_id{};
    };

    // PutEvents and typed batches on a journaled bus: `count` events, each built by
    // `make_entry(i, result)` (nothing when it fails alone, its result saying why) and published
    // alone: a bad one fails alone. The admitted events are recorded with one journal call (one
    // transaction for sqlite_journal, so a single publisher batches), then each starts; an event
    // that would block for a queue slot first commits those admitted before it, whose deliveries
    // may be what frees the slot. Without a journal, each event is simply publish()ed.
    template <class MakeEntry> void publish_many(std::size_t count, std::vector<publish_result>& results, MakeEntry&& make_entry) {
        results.assign(count, publish_result{});
        if (!journal_) {
            for (std::size_t i = 0; i < count; ++i)
                if (auto built = build_alone(make_entry, i, results[i])) results[i] = publish(built->event, built->dedup_id, {}, &built->trace);
            return;
        }
        const delivery_engine::publish_token token(engine_);
        batch waiting{*this, results};
        for (std::size_t i = 0; i < count; ++i) {
            auto& result = results[i];
            if (refuse_if_closed(result)) continue;
            auto built = build_alone(make_entry, i, result);
            if (!built) continue;
            result.event_id = built->event->meta().id;
            scratch_guard scratch;
            admission a(scratch->plan, built->event);
            auto outcome = admit(a, result, *scratch, built->dedup_id, {}, &built->trace, waiting.empty());
            if (outcome == admitted::would_block) {
                waiting.commit();
                a.plan.reset();
                outcome = admit(a, result, *scratch, built->dedup_id, {}, &built->trace, true);
            }
            if (outcome != admitted::ready) continue;
            a.plan.keep();  // the scratch is reused by the next entry
            journaled_deliveries(a, a.journaled);
            waiting.add(std::move(a), i);
        }
        waiting.commit();
    }

    // Entry `i` from `make_entry(i, result)`, failing alone (nothing, `result` saying why) when
    // building it throws or, on a journaled bus, when its JSON, which the journal records, cannot
    // be written (a string that is not UTF-8, a to_json that throws): before anything is
    // reserved for it.
    template <class MakeEntry>
    std::optional<built_entry> build_alone(MakeEntry& make_entry, std::size_t i, publish_result& result) const {
        auto fail = [&](std::string_view what, const std::exception& ex) {
            result.error_code = publish_errc::invalid_argument;
            result.error_message = fmt::format("{}: {}", what, ex.what());
            return std::optional<built_entry>();
        };
        std::optional<built_entry> built;
        try {
            built = make_entry(i, result);
        } catch (const std::exception& ex) {
            return fail("the event could not be built", ex);
        }
        if (built && journal_) {
            try {
                (void)built->event->json();
            } catch (const std::exception& ex) {
                return fail("the event cannot be written as JSON for the journal", ex);
            }
        }
        return built;
    }

    // PutEvents: each entry checked and published alone.
    void put_events(std::span<const put_events_entry> entries, std::vector<publish_result>& results) {
        publish_many(entries.size(), results, [&](std::size_t i, publish_result& result) { return build(entries[i], result); });
    }

    // One PutEvents entry, checked and published alone.
    publish_result put_entry(const put_events_entry& entry) {
        publish_result result;
        auto built = build(entry, result);
        if (!built) return result;
        return publish(built->event, entry.dedup_id, {}, &built->trace);
    }

    // The event of a new envelope (typed publish): the caller's trace, the bus's envelope.
    envelope make_envelope(std::string_view source, std::string_view detail_type, std::chrono::system_clock::time_point now) const {
        return detail::make_envelope(account_, region_, source, detail_type, now);
    }

private:
    using step = admission_plan<target_ptr>::step;

    struct match_scratch {
        pattern::flat_event fields;
        std::vector<pattern::rule_id> ids;
        std::vector<step> plan;
        std::vector<journal_delivery> journaled;
        std::vector<const rule_entry*> rules;  // the enabled rules an event matched
    };

    // A handler on an inline executor may publish again from inside publish(), so scratch
    // space is a per-thread stack rather than a single per-thread buffer.
    class scratch_guard {
    public:
        scratch_guard() {
            auto& stack = pool();
            if (depth() == stack.size()) stack.push_back(std::make_unique<match_scratch>());
            current_ = stack[depth()++].get();
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

    // One event on its way in: matched, with a slot reserved on each of its targets, not yet
    // journaled or started.
    struct admission {
        admission(std::vector<step>& storage, event_ptr e) : event(std::move(e)), plan(storage) {}
        event_ptr event;
        std::shared_ptr<const rule_table> table;  // keeps the planned targets alive
        admission_plan<target_ptr> plan;
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

    // Admitted entries of a journaled batch, recorded with one journal call on commit().
    class batch {
    public:
        batch(publish_pipeline& p, std::vector<publish_result>& results) : pipeline_(p), results_(results) {}
        bool empty() const noexcept { return waiting_.empty(); }
        void add(admission a, std::size_t result) {
            waiting_.push_back(std::move(a));
            result_of_.push_back(result);
        }
        void commit() {
            std::vector<journal_record> records;
            std::vector<std::size_t> recorded;
            for (std::size_t k = 0; k < waiting_.size(); ++k)
                if (!waiting_[k].journaled.empty()) {
                    records.push_back({waiting_[k].event->json(), waiting_[k].journaled});
                    recorded.push_back(k);
                }
            try {
                if (!records.empty()) {
                    const auto sequences = pipeline_.journal_->record_accepted_batch(records);
                    if (sequences.size() != records.size()) {
                        // A journal breaking its contract: end what it recorded, refuse the batch.
                        for (std::size_t r = 0; r < sequences.size() && r < records.size(); ++r)
                            for (const auto& d : records[r].deliveries) pipeline_.journal_->record_ended(sequences[r], d.rule, d.target);
                        throw error(fmt::format("the journal returned {} sequence numbers for {} events", sequences.size(), records.size()));
                    }
                    for (std::size_t r = 0; r < recorded.size(); ++r) waiting_[recorded[r]].sequence = sequences[r];
                }
            } catch (...) {
                const std::string reason = describe(std::current_exception());
                for (std::size_t k = 0; k < waiting_.size(); ++k) pipeline_.refuse_unjournaled(waiting_[k], results_[result_of_[k]], reason);
                clear();
                return;
            }
            for (std::size_t k = 0; k < waiting_.size(); ++k) pipeline_.commit(waiting_[k], results_[result_of_[k]]);
            clear();
        }

    private:
        void clear() {
            waiting_.clear();  // each plan gives back whatever it still holds
            result_of_.clear();
        }
        publish_pipeline& pipeline_;
        std::vector<publish_result>& results_;
        std::vector<admission> waiting_;
        std::vector<std::size_t> result_of_;
    };

    // A checked put_events entry as an event, with its publish span.
    std::optional<built_entry> build(const put_events_entry& entry, publish_result& result) const {
        if (auto failure = check_entry(entry, limits_)) {
            result.error_code = failure->code;
            result.error_message = std::move(failure->message);
            return std::nullopt;
        }
        envelope meta = envelope_of(entry, account_, region_);
        std::optional<trace_context> caller;
        if (!entry.traceparent.empty()) caller = trace_context::parse(entry.traceparent, entry.tracestate);
        auto trace = telemetry_.trace_for_new(caller);
        meta.trace = trace.span;
        return built_entry{make_pooled<const json_text_event>(std::move(meta), entry.detail), std::move(trace), entry.dedup_id};
    }

    bool refuse_if_closed(publish_result& result) const {
        if (!engine_.closed()) return false;
        result.error_code = publish_errc::bus_shut_down;
        result.error_message = fmt::format("bus \"{}\" has been shut down and accepts no more events", bus_);
        return true;
    }

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
                result.error_code = publish_errc::invalid_argument;
                result.error_message = fmt::format("the event's detail cannot be serialised to compute its dedup key: {} "
                                                   "(give the event a dedup_id)",
                                                   ex.what());
                return admitted::done;
            }
        }
        a.trace = built_trace ? *built_trace : telemetry_.trace_of_built(*e);
        a.table = rules_.load();
        const auto& table = *a.table;
        scratch.ids.clear();
        scratch.rules.clear();
        match(table.matcher, *e, scratch.fields, scratch.ids);
        for (const auto id : scratch.ids) {
            const auto& entry = table.by_id[id];
            if (!entry || entry->state != rule_state::enabled) continue;
            if (!only_rules.empty() && std::find(only_rules.begin(), only_rules.end(), entry->name) == only_rules.end()) continue;
            scratch.rules.push_back(entry.get());
            for (const auto& t : entry->targets) a.plan.add(&t, &t->slots);
        }
        // Metrics and trace hooks once the publish is decided (not for an admission that must
        // start over after a batch commits): the rules matched whether the publish was then
        // throttled or refused by the journal, as EventBridge counts TriggeredRules.
        auto account = [&] {
            telemetry_.published(*e, a.trace);
            for (const auto* rule : scratch.rules) {
                telemetry_.count(rule->metrics->triggered_rules);
                telemetry_.matched(*e, a.trace, rule->name);
            }
            if (!scratch.rules.empty()) telemetry_.count(telemetry_.counters().matched_events);
        };
        auto& steps = a.plan.steps();
        if (steps.empty()) {
            account();
            if (a.dedup) result.deduplicated = !a.dedup->first_seen(a.dedup_key);
            if (result.deduplicated) telemetry_.count(telemetry_.counters().deduplicated_events);
            return admitted::done;
        }

        // Reserve a queue slot on every target first (a throttled event must not be remembered
        // as seen, or the producer's retry would be swallowed as a duplicate).
        std::optional<std::chrono::steady_clock::time_point> deadline;
        for (auto& s : steps) {
            auto& t = **s.target;
            bool reserved = t.slots.try_reserve();
            if (!reserved && !may_block) {
                // In a batch, earlier entries may hold this target's slots until they commit:
                // whatever the policy, commit them first and try again (no hook called yet).
                a.plan.release();
                return admitted::would_block;
            }
            if (!reserved && t.spec.queue.on_full == overflow_policy::block) {
                if (!deadline) deadline = std::chrono::steady_clock::now() + t.spec.queue.block_timeout;
                reserved = t.slots.reserve_until(std::min(*deadline, std::chrono::steady_clock::now() + t.spec.queue.block_timeout));
            }
            if (reserved) {
                s.reserved = true;
            } else if (t.spec.queue.on_full != overflow_policy::dead_letter) {
                a.plan.release();
                t.throttled.fetch_add(1, std::memory_order_relaxed);
                telemetry_.count(t.metrics.throttled_rules);
                result.error_code = publish_errc::throttled;
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

    // An asynchronous publish between its admission and the journal's answer. The hold is
    // declared first, so it is released last: after `done` ran.
    struct async_publish {
        async_publish(publish_pipeline& p, delivery_engine::async_hold h, admission a, publish_result r, publish_callback d)
            : hold(std::move(h)), pipeline(p), admitted(std::move(a)), result(std::move(r)), done(std::move(d)) {}
        async_publish(const async_publish&) = delete;
        async_publish& operator=(const async_publish&) = delete;
        ~async_publish() {
            if (completed.load(std::memory_order_acquire)) return;
            // The journal dropped the completion without calling it: never accepted.
            refuse_unjournaled(admitted, result, "the journal dropped the record's completion without calling it");
            tell(done, result);
        }
        delivery_engine::async_hold hold;
        publish_pipeline& pipeline;
        admission admitted;
        publish_result result;
        publish_callback done;
        std::atomic<bool> completed{false};
    };

    // The journal's answer to an asynchronous publish: its deliveries start (on this thread, as
    // the publishing thread's would), then its caller is told.
    void complete(async_publish& p, std::uint64_t sequence, std::exception_ptr failure) noexcept {
        if (p.completed.exchange(true, std::memory_order_acq_rel)) return;  // a second answer: the first counts
        const delivery_engine::publish_token token(engine_);
        if (failure) {
            refuse_unjournaled(p.admitted, p.result, describe(failure));
        } else {
            p.admitted.sequence = sequence;
            try {
                commit(p.admitted, p.result);
            } catch (...) {
                // Starting a delivery failed (out of memory). The event is accepted and journaled:
                // the deliveries that did not start stay open in the journal and run at the next
                // bus::recover().
            }
        }
        tell(p.done, p.result);
    }

    // A publish_callback's call: what it throws is dropped (documented on publish_callback).
    static void tell(const publish_callback& done, const publish_result& result) noexcept {
        try {
            done(result);
        } catch (...) {
        }
    }

    // The deliveries of an admission the journal records (subscriptions' are not journaled).
    static void journaled_deliveries(const admission& a, std::vector<journal_delivery>& out) {
        out.clear();
        for (const auto& s : a.plan.steps())
            if (s.reserved && !(*s.target)->closable) out.push_back({(*s.target)->rule, (*s.target)->spec.id});
    }

    // The journal refused: nothing of the event is delivered, and it is not remembered as seen.
    static void refuse_unjournaled(admission& a, publish_result& result, std::string_view why) {
        a.plan.release();
        result.error_code = publish_errc::journal_failed;
        result.error_message = fmt::format("the journal could not record the event, so it was not accepted: {} "
                                           "(nothing of it is delivered; publish again once the journal works)",
                                           why);
    }

    // The last steps, once journaled: the dedup window (after the journal, so a publish the
    // journal refused is not remembered as seen), then the deliveries start.
    void commit(admission& a, publish_result& result, const std::shared_ptr<settlement_tracker>& settle = nullptr) {
        if (a.dedup && !a.dedup->first_seen(a.dedup_key)) {
            for (const auto& s : a.plan.steps())
                if (s.reserved && a.sequence != 0 && !(*s.target)->closable)
                    journal_->record_ended(a.sequence, (*s.target)->rule, (*s.target)->spec.id);
            a.plan.release();
            result.deduplicated = true;
            telemetry_.count(telemetry_.counters().deduplicated_events);
            return;
        }
        for (auto& s : a.plan.steps()) {
            const target_ptr& shared = *s.target;  // `a.table` keeps it alive
            if (s.reserved) {
                engine_.start(a.event, shared, a.trace.span, shared->closable ? 0 : a.sequence, false, settle);
                s.reserved = false;  // the delivery owns the slot from here
            } else {
                // Full, and the policy is dead_letter: accepted, and dead-lettered at once.
                engine_.start_dead_lettered(a.event, shared, a.trace.span, settle);
            }
        }
    }

    const std::string& bus_;
    const std::string account_;
    const std::string region_;
    const ingest_limits limits_;
    rule_registry& rules_;
    delivery_engine& engine_;
    bus_telemetry& telemetry_;
    std::shared_ptr<journal> journal_;
    std::unique_ptr<dedup_window> dedup_;
};

}  // namespace switchyard::detail
