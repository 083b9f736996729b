// What a bus tells the world: metrics, tracer hooks, the error handler and the log, behind one
// facade. Every hook a user supplies is called through `guarded`, the one place that catches
// what a hook throws: a failing tracer, handler or log sink never changes what is delivered.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

#include "switchyard/bus_options.hpp"
#include "switchyard/delivery/dead_letter.hpp"
#include "switchyard/event.hpp"
#include "switchyard/observe/log.hpp"
#include "switchyard/observe/metrics.hpp"
#include "switchyard/observe/tracer.hpp"
#include "switchyard/trace_context.hpp"

namespace switchyard::detail {

// The publish span of one event on one bus, and the span it is a child of.
struct publish_trace {
    std::optional<trace_context> span{};
    span_id parent{};
};

class bus_telemetry {
public:
    bus_telemetry(const std::string& bus_name, const bus_options& options)
        : bus_(bus_name),
          metrics_on_(options.metrics),
          sampler_(options.latency_sample_every),
          tracer_(options.tracer),
          log_(options.log ? options.log : std::make_shared<stderr_sink>()) {}

    // ---- metrics ------------------------------------------------------------------------------
    bool metrics_on() const noexcept { return metrics_on_; }
    bus_metrics& counters() noexcept { return metrics_; }
    const bus_metrics& counters() const noexcept { return metrics_; }
    // Adds one to `c` when metrics are on.
    void count(counter& c) const noexcept {
        if (metrics_on_) c.add();
    }
    // Whether to time this operation: the weight to record its latency with, 0 for no.
    std::uint32_t latency_weight() const noexcept { return metrics_on_ ? sampler_.weight() : 0; }
    // The start of a put (a PutEvents entry, a typed publish, or a batch timed as one): whether
    // to time it, and when it began.
    struct put_timer {
        std::uint32_t weight = 0;
        std::chrono::steady_clock::time_point began{};
    };
    put_timer start_put() const noexcept {
        const auto weight = latency_weight();
        return {weight, weight != 0 ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point{}};
    }
    void record_put(bool ok, const put_timer& timer) noexcept { record_put(ok, timer.began, timer.weight); }
    // Counts one PutEvents entry (or typed publish), and its latency when `weight` says so.
    void record_put(bool ok, std::chrono::steady_clock::time_point began, std::uint32_t weight) noexcept {
        if (!metrics_on_) return;
        metrics_.put_events_entries.add();
        if (!ok) metrics_.put_events_failed_entries.add();
        if (weight != 0) metrics_.put_events_latency.record(std::chrono::steady_clock::now() - began, weight);
    }

    // ---- traces -------------------------------------------------------------------------------
    bool tracing() const noexcept { return tracer_ != nullptr; }

    // Calls `hook(tracer)` when there is a tracer.
    template <class Hook> void trace(Hook&& hook) const noexcept {
        if (tracer_) guarded([&] { hook(*tracer_); });
    }

    // The publish span of an event whose envelope the bus builds now: a child of the caller's
    // context, else of the delivery running on this thread (a handler publishing), else the root
    // of a new trace when a tracer is set. Without any of those, no trace at all.
    publish_trace trace_for_new(const std::optional<trace_context>& caller) const {
        return under(caller && caller->valid() ? &*caller : trace::current);
    }
    // The same for an event built elsewhere (forwarded by another bus, replayed, recovered):
    // the running delivery's span first (a bus target's attempt), else the span the event carries.
    publish_trace trace_of_built(const any_event& e) const {
        const auto& carried = e.meta().trace;
        return under(trace::current ? trace::current : carried ? &*carried : nullptr);
    }
    void published(const any_event& e, const publish_trace& t) const noexcept {
        if (!t.span) return;
        trace([&](tracer& hooks) {
            const auto& m = e.meta();
            hooks.on_publish(*t.span, {t.parent, bus_, m.id, m.source, m.detail_type, trace_clock::now()});
        });
    }
    void matched(const any_event& e, const publish_trace& t, std::string_view rule) const noexcept {
        if (!t.span) return;
        trace([&](tracer& hooks) { hooks.on_match(*t.span, {bus_, e.meta().id, rule, trace_clock::now()}); });
    }
    // A child span for a delivery attempt, when tracing; else the publish span itself, so what a
    // handler publishes still joins the trace.
    trace_context attempt_span(const trace_context& publish_span) const { return tracer_ ? child_of(publish_span) : publish_span; }

    // ---- failures -----------------------------------------------------------------------------
    void set_error_handler(error_handler handler) {
        std::lock_guard lock(error_mutex_);
        on_error_ = std::make_shared<const error_handler>(std::move(handler));
    }

    // A dead letter that had no sink (or whose sink failed): the error handler acts on it, the
    // log records it.
    void report(const dead_letter& letter) const noexcept {
        std::shared_ptr<const error_handler> handler;
        {
            std::lock_guard lock(error_mutex_);
            handler = on_error_;
        }
        const bool handler_ok = !handler || !*handler || guarded([&] { (*handler)(letter); });
        guarded([&] {
            log_to(*log_, log_level::error, handler_ok ? "delivery failed" : "delivery failed (and the error handler threw)",
                   {{"bus", bus_},
                    {"rule", letter.rule},
                    {"target", letter.target},
                    {"event_id", letter.event->meta().id},
                    {"error_code", letter.error_code},
                    {"reason", std::string(to_string(letter.reason))},
                    {"attempts", std::to_string(letter.attempts)},
                    {"message", letter.error_message}});
        });
    }

    // The first delivery of an ordered target whose event lacks the ordering key: a typo in the
    // path would otherwise put every event into one FIFO group without a word.
    void missing_ordering_key(const std::string& rule, const std::string& target, const std::string& path,
                              std::string_view event_id) const noexcept {
        guarded([&] {
            log_to(*log_, log_level::warn,
                   "an event has no value at the target's ordering key, so it joins the one FIFO group of such events; "
                   "check the path (this is logged once per target; stats() counts them as missing_ordering_key)",
                   {{"bus", bus_}, {"rule", rule}, {"target", target}, {"ordering_key", path}, {"event_id", std::string(event_id)}});
        });
    }

    // The one place that catches what user-supplied hooks throw. Returns false when `f` threw.
    template <class F> static bool guarded(F&& f) noexcept {
        try {
            f();
            return true;
        } catch (...) {
            return false;  // a hook's failure must not change what is delivered
        }
    }

private:
    publish_trace under(const trace_context* parent) const {
        publish_trace out;
        if (parent) {
            out.span = child_of(*parent);
            out.parent = parent->span;
        } else if (tracer_) {
            out.span = trace_context::start();
        }
        return out;
    }

    const std::string& bus_;
    const bool metrics_on_;
    bus_metrics metrics_;
    latency_sampler sampler_;
    std::shared_ptr<tracer> tracer_;
    std::shared_ptr<log_sink> log_;
    mutable std::mutex error_mutex_;
    std::shared_ptr<const error_handler> on_error_;
};

}  // namespace switchyard::detail
