// The tracing hooks the bus calls as an event moves through it — publish, match, delivery start
// and end, retry, dead letter — so users can plug in OpenTelemetry or anything else without
// switchyard depending on it; and `recording_tracer`, which keeps the span tree in memory.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "switchyard/config.hpp"
#include "switchyard/trace_context.hpp"

namespace switchyard {

/// Wall-clock time: exporters (OTLP, Zipkin, Jaeger) want Unix-epoch timestamps.
using trace_clock = std::chrono::system_clock;

/// What tracer::on_publish is told about an accepted event. Every string_view here lives only
/// for the duration of the call: copy what you keep.
struct publish_info {
    span_id parent{};                ///< the publisher's span, or all zero when the publish started the trace
    std::string_view bus{};          ///< the bus's name
    std::string_view event_id{};     ///< the event's id
    std::string_view source{};       ///< the event's source
    std::string_view detail_type{};  ///< the event's detail-type
    trace_clock::time_point at{};    ///< when it happened
};

/// What tracer::on_match is told about a rule that matched. The string_views live only for the
/// duration of the call.
struct match_info {
    std::string_view bus{};        ///< the bus's name
    std::string_view event_id{};   ///< the event's id
    std::string_view rule{};       ///< the rule's name
    trace_clock::time_point at{};  ///< when it happened
};

/// What tracer::on_deliver_start is told about a delivery attempt. The string_views live only
/// for the duration of the call.
struct deliver_start_info {
    span_id parent{};              ///< the publish span
    std::string_view bus{};        ///< the bus's name
    std::string_view rule{};       ///< the rule's name
    std::string_view target{};     ///< the target's id
    std::string_view event_id{};   ///< the event's id
    unsigned attempt = 1;          ///< 1 for the first attempt
    trace_clock::time_point at{};  ///< when it started
};

/// How a delivery attempt ended.
enum class deliver_result {
    success,            ///< the handler succeeded
    retryable_failure,  ///< it failed and may be retried
    permanent_failure,  ///< it failed and must not be retried
};

/// The result's name: "success", "retryable_failure" or "permanent_failure".
inline constexpr std::string_view to_string(deliver_result r) noexcept {
    switch (r) {
        case deliver_result::success: return "success";
        case deliver_result::retryable_failure: return "retryable_failure";
        case deliver_result::permanent_failure: return "permanent_failure";
    }
    return "unknown";
}

/// What tracer::on_deliver_end is told. The string_view lives only for the duration of the call.
struct deliver_end_info {
    deliver_result result = deliver_result::success;  ///< how the attempt ended
    std::string_view error{};                         ///< the failure's reason; empty on success
    trace_clock::time_point at{};                     ///< when it ended
};

/// What tracer::on_retry is told. The string_view lives only for the duration of the call.
struct retry_info {
    unsigned next_attempt = 2;         ///< the number of the attempt to come
    std::chrono::nanoseconds delay{};  ///< until the next attempt starts
    std::string_view reason{};         ///< why the attempt failed
    trace_clock::time_point at{};      ///< when the retry was scheduled
};

/// What tracer::on_dead_letter is told. The string_views live only for the duration of the call.
struct dead_letter_info {
    std::string_view bus{};         ///< the bus's name
    std::string_view rule{};        ///< the rule's name
    std::string_view target{};      ///< the target's id
    std::string_view event_id{};    ///< the event's id
    std::string_view reason{};      ///< to_string(dead_letter_reason): retries-exhausted, queue-full, shutdown, ...
    std::string_view error_code{};  ///< HandlerFailed, ThrottlingException, ...
    std::string_view message{};     ///< the handler's message, or what the bus decided
    unsigned attempts = 0;          ///< handler calls made
    trace_clock::time_point at{};   ///< when it happened
};

/// The tracing hooks the bus calls as an event moves through it, so OpenTelemetry or anything
/// else can be plugged in without switchyard depending on it.
///
/// The spans the bus makes: one `publish` span per accepted event (a child of the publisher's
/// context, or the root of a new trace), and one `deliver` span per delivery attempt, a child of
/// the publish span (so attempts are siblings, and retries stay in the event's trace). Match,
/// retry and dead letter are moments within those spans, not spans of their own.
///
/// Each hook is called on the thread doing the work (a publisher, a worker, the timer), so an
/// implementation must be thread-safe, cheap, and must not throw (the bus ignores what it
/// throws). Every hook has an empty default: override only what you need. `span` is the span
/// the moment belongs to. Every string_view in the info structs refers to memory that lives only
/// for the duration of the call: copy what you keep.
class tracer {
public:
    virtual ~tracer() = default;
    /// An event was accepted: `span` is the new publish span (its parent is in `info.parent`).
    virtual void on_publish(const trace_context& /*span*/, const publish_info& /*info*/) {}
    /// A rule matched: `span` is the publish span; called once per matched rule.
    virtual void on_match(const trace_context& /*span*/, const match_info& /*info*/) {}
    /// An attempt starts: `span` is the new attempt span (its parent, the publish span, is in
    /// `info.parent`).
    virtual void on_deliver_start(const trace_context& /*span*/, const deliver_start_info& /*info*/) {}
    /// An attempt ended: `span` is the attempt span; called once per on_deliver_start.
    virtual void on_deliver_end(const trace_context& /*span*/, const deliver_end_info& /*info*/) {}
    /// A retry is scheduled: `span` is the attempt span that failed, after its on_deliver_end.
    virtual void on_retry(const trace_context& /*span*/, const retry_info& /*info*/) {}
    /// A delivery was dead-lettered: `span` is the last attempt span, or the publish span when
    /// no attempt ran.
    virtual void on_dead_letter(const trace_context& /*span*/, const dead_letter_info& /*info*/) {}
};

/// A moment inside a span ("publish", "match", "retry" or "dead_letter"), with its details as
/// attributes.
struct span_event {
    std::string name{};                                              ///< what happened
    trace_clock::time_point at{};                                    ///< when
    std::vector<std::pair<std::string, std::string>> attributes{};  ///< its details, as key and value

    /// The attribute's value, or an empty string.
    std::string attribute(std::string_view key) const {
        for (const auto& [k, v] : attributes)
            if (k == key) return v;
        return {};
    }
};

/// One span as recorded: "publish" or "deliver" ("unknown" for a span it never saw start). A
/// publish span is a moment (start == end); a deliver span ends at its on_deliver_end (`ended`
/// is false until then).
struct span_record {
    trace_context context{};                          ///< the span's own context
    span_id parent{};                                 ///< all zero for a root
    std::string name{};                               ///< "publish", "deliver" or "unknown"
    std::string bus{};                                ///< the bus's name
    std::string rule{};                               ///< deliver spans: the rule's name
    std::string target{};                             ///< deliver spans: the target's id
    std::string event_id{};                           ///< the event's id
    unsigned attempt = 0;                             ///< deliver spans: 1 for the first attempt
    trace_clock::time_point start{};                  ///< when it started
    trace_clock::time_point end{};                    ///< when it ended (once `ended`)
    bool ended = false;                               ///< whether it has ended
    deliver_result result = deliver_result::success;  ///< deliver spans: how the attempt ended
    std::string error{};                              ///< deliver spans: the failure's reason
    std::vector<span_event> events{};                 ///< the moments within it, in order

    /// Whether it started a trace (no parent).
    bool is_root() const noexcept { return detail::trace::all_zero(parent); }
};

/// Keeps every span in memory, in the order they started, for tests and for small tools. Hooks
/// for a span it never saw start (on_match for a publish span created elsewhere, say) are kept as
/// a span named "unknown" so nothing reported is lost. Thread-safe: one mutex around everything.
class SWITCHYARD_API recording_tracer : public tracer {
public:
    void on_publish(const trace_context& span, const publish_info& info) override;

    void on_match(const trace_context& span, const match_info& info) override;

    void on_deliver_start(const trace_context& span, const deliver_start_info& info) override;

    void on_deliver_end(const trace_context& span, const deliver_end_info& info) override;

    void on_retry(const trace_context& span, const retry_info& info) override;

    void on_dead_letter(const trace_context& span, const dead_letter_info& info) override;

    /// A copy of every span, in the order they started.
    std::vector<span_record> spans() const;

    /// The span with id `id` (the latest, should an id repeat), or nothing.
    std::optional<span_record> find(const span_id& id) const;

    /// The spans whose parent is `id`, in the order they started.
    std::vector<span_record> children_of(const span_id& id) const;

    /// The spans that started a trace, in the order they started.
    std::vector<span_record> roots() const { return children_of(span_id{}); }

    /// The number of spans recorded.
    std::size_t size() const;

    /// Forgets every span.
    void clear();

private:
    // Span ids are random and unique in practice; a repeated one (a tracer shared by two buses
    // replaying one context) starts a new record rather than overwriting the old.
    span_record& add(const trace_context& span, const span_id& parent, const char* name, trace_clock::time_point at);

    span_record& find_or_add(const trace_context& span, trace_clock::time_point at);

    mutable std::mutex mutex_;
    std::vector<span_record> spans_;
    std::map<span_id, std::size_t> by_span_;
};

}  // namespace switchyard

#ifdef SWITCHYARD_HEADER_ONLY
#include "switchyard/observe/tracer-inl.hpp"
#endif
