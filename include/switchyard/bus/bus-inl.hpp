// The definitions behind bus.hpp and producer.hpp: compiled once into the switchyard library
// (src/*.cpp), or included by bus.hpp itself when SWITCHYARD_HEADER_ONLY is defined.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "switchyard/bus.hpp"
#include "switchyard/bus/bus_core.hpp"
#include "switchyard/config.hpp"
#include "switchyard/detail/time.hpp"
#include "switchyard/producer.hpp"

namespace switchyard {

namespace detail {

inline constexpr const char* dead_letter_source = "switchyard.dead-letter";

// How many events of a typed batch a journaled bus records with one journal call.
inline constexpr std::size_t typed_batch_chunk = 256;

// A handle's lock on the core, or the result a publish through a dead handle gets.
inline publish_result bus_gone() {
    publish_result r;
    r.error_code = publish_errc::bus_shut_down;
    r.error_message = "the bus no longer exists: a producer must not outlive its bus";
    return r;
}

// A typed event with a new envelope from `source`, its options applied; nothing (and `refused`
// saying why) when they cannot be.
// `resources` is taken apart from `options` so a single publish can move them in.
inline std::optional<publish_pipeline::built_entry> build_typed(bus_core& core, const std::string& source, std::string_view detail_type,
                                                                  const publish_options& options, std::vector<std::string> resources,
                                                                  void* detail, typed_event_factory make,
                                                                  std::chrono::system_clock::time_point now, publish_result& refused) {
    envelope meta = core.pipeline.make_envelope(source, detail_type, now);
    if (options.time) {
        // Read back through the same parser put_events' Time goes through, which holds the range.
        auto text = format_rfc3339(*options.time);
        if (!parse_rfc3339(text)) {
            refused.error_code = publish_errc::invalid_argument;
            refused.error_message =
                fmt::format("publish_options::time ({}) is outside the years 1678 to 2261 that an event's time can hold", text);
            return std::nullopt;
        }
        meta.time = std::move(text);
    }
    meta.resources = std::move(resources);
    auto trace = core.telemetry.trace_for_new(options.trace);
    meta.trace = trace.span;
    return publish_pipeline::built_entry{make(detail, std::move(meta), now), std::move(trace), options.dedup_id};
}

SWITCHYARD_INLINE publish_result publish_new(const std::weak_ptr<bus_core>& weak, const std::string& source, std::string_view detail_type,
                                             publish_options&& options, void* detail, typed_event_factory make) {
    const auto core = weak.lock();
    if (!core) return bus_gone();
    auto& telemetry = core->telemetry;
    const auto timer = telemetry.start_put();
    const auto now = std::chrono::system_clock::now();  // one clock read for time and ingestion
    publish_result result;
    if (auto built = build_typed(*core, source, detail_type, options, std::move(options.resources), detail, make, now, result))
        result = core->pipeline.publish(built->event, built->dedup_id, {}, &built->trace);
    telemetry.record_put(result.ok(), timer);
    return result;
}

SWITCHYARD_INLINE void publish_new_async(const std::weak_ptr<bus_core>& weak, const std::string& source, std::string_view detail_type,
                                         publish_options&& options, void* detail, typed_event_factory make, publish_callback on_done) {
    if (!on_done) throw error("producer::publish_async: the callback is empty (use publish() when no callback is wanted)");
    const auto core = weak.lock();
    if (!core) {
        const auto gone = bus_gone();
        try {
            on_done(gone);
        } catch (...) {  // dropped, as publish_callback says
        }
        return;
    }
    auto& telemetry = core->telemetry;
    const auto timer = telemetry.start_put();
    const auto now = std::chrono::system_clock::now();
    publish_result result;
    auto built = build_typed(*core, source, detail_type, options, std::move(options.resources), detail, make, now, result);
    // The put is counted (and timed, to its answer) when the result is known; the bus outlives
    // the pending publish (its destructor drains).
    auto counted = [&telemetry, timer, done = std::move(on_done)](const publish_result& r) {
        telemetry.record_put(r.ok(), timer);
        done(r);
    };
    if (!built) {
        try {
            counted(result);
        } catch (...) {  // dropped, as publish_callback says
        }
        return;
    }
    core->pipeline.publish_async(built->event, std::move(counted), built->dedup_id, &built->trace);
}

SWITCHYARD_INLINE std::vector<publish_result> publish_batch_new(const std::weak_ptr<bus_core>& weak, const std::string& source,
                                                                std::string_view detail_type, const publish_options& options,
                                                                void* details, std::size_t count, std::size_t stride,
                                                                typed_event_factory make) {
    if (!options.dedup_id.empty())
        throw error(fmt::format("publish_batch got publish_options::dedup_id \"{}\": one id for {} events would make every event "
                                "after the first a duplicate; publish them one by one, each with its own dedup_id, or leave it "
                                "empty to deduplicate by content",
                                options.dedup_id, count));
    const auto core = weak.lock();
    if (!core) return std::vector<publish_result>(count, bus_gone());
    auto& telemetry = core->telemetry;
    auto* first = static_cast<char*>(details);
    std::vector<publish_result> results;
    results.reserve(count);
    if (!core->pipeline.journaled()) {
        // Each event is published alone, and timed alone, as publish() would.
        auto build = [&](std::size_t i, publish_result& refused) {
            return build_typed(*core, source, detail_type, options, options.resources, first + i * stride, make,
                               std::chrono::system_clock::now(), refused);
        };
        for (std::size_t i = 0; i < count; ++i) {
            const auto timer = telemetry.start_put();
            auto& result = results.emplace_back();
            if (auto built = core->pipeline.build_alone(build, i, result))
                result = core->pipeline.publish(built->event, built->dedup_id, {}, &built->trace);
            telemetry.record_put(result.ok(), timer);
        }
        return results;
    }
    // Journaled: chunks of typed_batch_chunk events, each recorded with one journal call (one
    // transaction and one sync for sqlite_journal), so the queue slots and journal records held
    // at once stay bounded however large the batch. Each event's latency is its chunk's.
    std::vector<publish_result> chunk;
    for (std::size_t begin = 0; begin < count; begin += typed_batch_chunk) {
        const std::size_t n = std::min(typed_batch_chunk, count - begin);
        const auto timer = telemetry.start_put();
        const auto now = std::chrono::system_clock::now();
        core->pipeline.publish_many(n, chunk, [&](std::size_t i, publish_result& refused) {
            return build_typed(*core, source, detail_type, options, options.resources, first + (begin + i) * stride, make, now, refused);
        });
        for (auto& r : chunk) {
            telemetry.record_put(r.ok(), timer);
            results.push_back(std::move(r));
        }
    }
    return results;
}

}  // namespace detail

SWITCHYARD_INLINE subscription& subscription::operator=(subscription&& other) noexcept {
    if (this != &other) {
        unsubscribe();
        core_ = std::move(other.core_);
        rule_ = std::move(other.rule_);
    }
    return *this;
}

SWITCHYARD_INLINE void subscription::unsubscribe() {
    if (auto core = core_.lock()) {
        if (auto targets = core->rules.remove(rule_, true))
            for (const auto& t : *targets) t->gate.close_and_wait();
    }
    core_.reset();
}

SWITCHYARD_INLINE bus::bus(std::string name, bus_options options)
    : core_(std::make_shared<detail::bus_core>(std::move(name), std::move(options))) {}

SWITCHYARD_INLINE bus::~bus() {
    core_->engine.close();  // publishes racing with destruction (e.g. from another bus) are refused
    if (core_->engine.running_here()) {
        std::fprintf(stderr,
                     "switchyard: bus \"%s\" is being destroyed from inside one of its own deliveries; it would wait for "
                     "itself forever. Destroy a bus from outside its handlers.\n",
                     core_->name().c_str());
        std::abort();
    }
    core_->engine.drain(std::nullopt);
}

SWITCHYARD_INLINE const std::string& bus::name() const noexcept { return core_->name(); }
SWITCHYARD_INLINE const bus_options& bus::options() const noexcept { return core_->options(); }
SWITCHYARD_INLINE void bus::add_rule(rule_spec spec) { core_->rules.add(std::move(spec)); }
SWITCHYARD_INLINE bool bus::remove_rule(std::string_view name) { return core_->rules.remove(name).has_value(); }
SWITCHYARD_INLINE void bus::enable_rule(std::string_view name) { core_->rules.set_state(name, rule_state::enabled); }
SWITCHYARD_INLINE void bus::disable_rule(std::string_view name) { core_->rules.set_state(name, rule_state::disabled); }
SWITCHYARD_INLINE void bus::put_rule(rule_spec spec) { core_->rules.add(std::move(spec), false, true); }
SWITCHYARD_INLINE void bus::put_targets(std::string_view rule, std::vector<target> targets) {
    core_->rules.put_targets(rule, std::move(targets));
}
SWITCHYARD_INLINE void bus::remove_targets(std::string_view rule, const std::vector<std::string>& ids) {
    core_->rules.remove_targets(rule, ids);
}
SWITCHYARD_INLINE std::vector<rule_info> bus::list_rules() const { return core_->rules.list(); }

SWITCHYARD_INLINE std::optional<dedup_window::stats> bus::dedup_statistics() const {
    const auto* window = core_->pipeline.dedup();
    if (!window) return std::nullopt;
    return window->statistics();
}

SWITCHYARD_INLINE publish_result bus::publish(event_ptr e) {
    if (!e) throw error("bus::publish: the event pointer is null");
    return core_->pipeline.publish(e);
}

SWITCHYARD_INLINE publish_result bus::publish(event_ptr e, settlement_callback on_settled) {
    if (!e) throw error("bus::publish: the event pointer is null");
    if (!on_settled) throw error("bus::publish: the settlement callback is empty (use publish(event) when no callback is wanted)");
    // A publish in progress until this function returns: when every delivery ended during the
    // publish, the callback runs below, on this thread, and drain() and shutdown() must wait for
    // it as they wait for a delivery's (the pipeline's own token ends with its publish).
    const detail::delivery_engine::publish_token token(core_->engine);
    auto settle = std::make_shared<detail::settlement_tracker>(std::move(on_settled));
    publish_result result;
    try {
        result = core_->pipeline.publish(e, {}, {}, nullptr, settle);
    } catch (...) {
        // Not published: nobody is called back (the caller gets the exception instead).
        settle->forget();
        throw;
    }
    settle->published(result);
    settle.reset();  // the callback runs here when no delivery is still running
    return result;
}

SWITCHYARD_INLINE void bus::publish_async(event_ptr e, publish_callback on_done) {
    if (!e) throw error("bus::publish_async: the event pointer is null");
    if (!on_done) throw error("bus::publish_async: the callback is empty (use publish(event) when no callback is wanted)");
    core_->pipeline.publish_async(e, std::move(on_done));
}

SWITCHYARD_INLINE publish_result bus::publish_deduplicated(event_ptr e, std::string_view dedup_id) {
    if (!e) throw error("bus::publish_deduplicated: the event pointer is null");
    return core_->pipeline.publish(e, dedup_id);
}

SWITCHYARD_INLINE publish_result bus::publish(event_ptr e, std::span<const std::string> only_rules) {
    if (!e) throw error("bus::publish: the event pointer is null");
    return core_->pipeline.publish(e, {}, only_rules);
}

SWITCHYARD_INLINE recovery_result bus::recover() { return core_->recover(); }

SWITCHYARD_INLINE put_events_result bus::put_events(std::span<const put_events_entry> entries) {
    const auto limit = core_->options().max_batch_entries;
    if (entries.size() > limit)
        throw error(fmt::format("put_events got {} entries; at most {} are allowed per call (bus_options::max_batch_entries)",
                                entries.size(), limit));
    auto& telemetry = core_->telemetry;
    put_events_result result;
    if (!core_->pipeline.journaled()) {
        // Each entry is published alone, and timed alone.
        result.entries.reserve(entries.size());
        for (const auto& entry : entries) {
            const auto timer = telemetry.start_put();
            result.entries.push_back(core_->pipeline.put_entry(entry));
            telemetry.record_put(result.entries.back().ok(), timer);
            if (!result.entries.back().ok()) ++result.failed_entry_count;
        }
        return result;
    }
    // Journaled, the batch is recorded with one journal call, so each entry's latency is the
    // batch's.
    const auto timer = telemetry.start_put();
    core_->pipeline.put_events(entries, result.entries);
    for (const auto& entry : result.entries) {
        telemetry.record_put(entry.ok(), timer);
        if (!entry.ok()) ++result.failed_entry_count;
    }
    return result;
}

SWITCHYARD_INLINE subscription bus::subscribe(std::string pattern, target t, std::string rule_name) {
    std::string name = rule_name.empty() ? core_->rules.next_subscription_name() : std::move(rule_name);
    core_->rules.add(rule_spec{name, std::move(pattern), {std::move(t)}, rule_state::enabled, "subscription"}, true);
    return subscription(core_, std::move(name));
}

SWITCHYARD_INLINE void bus::set_error_handler(error_handler handler) { core_->telemetry.set_error_handler(std::move(handler)); }
SWITCHYARD_INLINE bool bus::drain(std::chrono::nanoseconds timeout) { return core_->engine.drain(timeout); }
SWITCHYARD_INLINE void bus::drain() { core_->engine.drain(std::nullopt); }
SWITCHYARD_INLINE bool bus::shutdown(std::chrono::nanoseconds timeout) { return core_->engine.shutdown(timeout); }
SWITCHYARD_INLINE std::uint64_t bus::pending() const noexcept { return core_->engine.pending(); }
SWITCHYARD_INLINE std::size_t bus::pending_retries() const { return core_->engine.pending_retries(); }

SWITCHYARD_INLINE std::vector<rule_explanation> bus::explain(const any_event& e) const { return explain(std::string_view(e.json())); }

SWITCHYARD_INLINE std::vector<rule_explanation> bus::explain(std::string_view event_json) const {
    const auto table = core_->rules.load();
    std::vector<rule_explanation> out;
    out.reserve(table->by_name.size());
    for (const auto& [name, id] : table->by_name) {
        const auto& entry = *table->by_id[id];
        out.push_back({entry.name, entry.state, switchyard::explain(entry.pattern, event_json)});
    }
    return out;
}

SWITCHYARD_INLINE std::vector<target_stats> bus::stats() const {
    const auto table = core_->rules.load();
    std::vector<target_stats> out;
    for (const auto& [name, id] : table->by_name)
        for (const auto& t : table->by_id[id]->targets)
            out.push_back({t->rule, t->spec.id, t->accepted.load(), t->delivered.load(), t->retried.load(), t->dead_lettered.load(),
                           t->discarded.load(), t->slots.in_use(), t->throttled.load(), t->spec.queue.capacity, t->missing_key.load()});
    return out;
}

SWITCHYARD_INLINE metrics_snapshot bus::metrics() const {
    const auto& bus_name = core_->name();
    const bool on = core_->telemetry.metrics_on();
    metrics_snapshot out;
    core_->telemetry.counters().collect(out, {{"bus", bus_name}});
    const auto table = core_->rules.load();
    for (const auto& [name, id] : table->by_name) {
        const auto& entry = *table->by_id[id];
        entry.metrics->collect(out, {{"bus", bus_name}, {"rule", entry.name}});
        for (const auto& t : entry.targets) {
            const metric_labels labels{{"bus", bus_name}, {"rule", entry.name}, {"target", t->spec.id}};
            t->metrics.collect(out, labels, on ? t->delivered.load(std::memory_order_relaxed) : 0);
            out.samples.push_back(gauge_sample(metric_names::queue_depth, labels, static_cast<double>(t->slots.in_use())));
            out.samples.push_back(gauge_sample(metric_names::queue_capacity, labels, static_cast<double>(t->spec.queue.capacity)));
        }
    }
    return out;
}

SWITCHYARD_INLINE envelope bus::make_envelope(std::string source, std::string detail_type) const {
    return core_->pipeline.make_envelope(source, detail_type, std::chrono::system_clock::now());
}

SWITCHYARD_INLINE dead_letter_sink bus::as_dead_letter_sink() {
    using detail::dead_letter_source;
    std::weak_ptr<detail::bus_core> weak = core_;
    return [weak](const dead_letter& letter) {
        auto core = weak.lock();
        if (!core) throw error("the dead-letter bus no longer exists");
        // A dead letter carries one hop more than the event that failed. Only a chain of dead
        // letters (a dead letter that failed in turn) is limited here: the first dead letter of
        // any event goes through, even one that failed for crossing too many buses.
        const unsigned hops = letter.event->hops() + 1;
        if (letter.event->meta().source == dead_letter_source && hops > core->options().max_hops)
            throw error(fmt::format("the dead letter of event {} would be its {}th hop into bus \"{}\"; the limit is {} "
                                    "(bus_options::max_hops): dead letters are failing into the bus that produced them",
                                    letter.event->meta().id, hops, core->name(), core->options().max_hops));
        nlohmann::json detail = {{"rule", letter.rule},
                                 {"target", letter.target},
                                 {"errorCode", letter.error_code},
                                 {"errorMessage", letter.error_message},
                                 {"attempts", letter.attempts},
                                 {"reason", std::string(to_string(letter.reason))},
                                 {"event", nlohmann::json::parse(letter.event->json())}};
        auto meta = core->pipeline.make_envelope(dead_letter_source, "DeadLetter", std::chrono::system_clock::now());
        const auto result = core->pipeline.publish(
            detail::make_pooled<const detail::json_text_event>(std::move(meta), detail.dump(), std::chrono::system_clock::now(), hops));
        if (!result) throw error("the dead-letter bus refused the event: " + result.error_message);
    };
}

SWITCHYARD_INLINE target bus_target(std::string id, bus& destination, any_executor executor) {
    std::weak_ptr<detail::bus_core> weak = destination.engine(detail::engine_access{});
    target t{std::move(id),
             [weak](const any_event& e, const delivery_info&) -> outcome {
                 auto core = weak.lock();
                 if (!core) throw permanent_error("the destination bus no longer exists");
                 const unsigned hops = e.hops() + 1;
                 if (hops > core->options().max_hops)
                     throw detail::routing_loop_error(fmt::format("event {} would cross its {}th bus into \"{}\"; the limit is {} "
                                                                  "(bus_options::max_hops): the rules route it in a loop",
                                                                  e.meta().id, hops, core->name(), core->options().max_hops));
                 const auto result = core->pipeline.publish(std::make_shared<const detail::forwarded_event>(e.shared_from_this()));
                 if (result.ok()) return outcome::success();
                 if (result.error_code == publish_errc::throttled) return outcome::retry(result.error_message);
                 return outcome::fail(fmt::format("bus \"{}\" refused the event: {}: {}", core->name(), to_string(result.error_code),
                                                  result.error_message));
             },
             std::move(executor)};
    t.forwards_whole_event = true;
    return t;
}

}  // namespace switchyard
