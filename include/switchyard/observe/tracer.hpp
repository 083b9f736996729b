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

// Wall-clock time: exporters (OTLP, Zipkin, Jaeger) want Unix-epoch timestamps.
using trace_clock = std::chrono::system_clock;

// The spans the bus makes: one `publish` span per accepted event (a child of the publisher's
// context, or the root of a new trace), and one `deliver` span per delivery attempt, a child of
// the publish span (so attempts are siblings, and retries stay in the event's trace). Match,
// retry and dead letter are moments within those spans, not spans of their own.
//
// Every string_view in these structs refers to memory that lives only for the duration of the
// call: copy what you keep.
struct publish_info {
    span_id parent{};  // the publisher's span, or all zero when the publish started the trace
    std::string_view bus{};
    std::string_view event_id{};
    std::string_view source{};
    std::string_view detail_type{};
    trace_clock::time_point at{};
};

struct match_info {
    std::string_view bus{};
    std::string_view event_id{};
    std::string_view rule{};
    trace_clock::time_point at{};
};

struct deliver_start_info {
    span_id parent{};  // the publish span
    std::string_view bus{};
    std::string_view rule{};
    std::string_view target{};
    std::string_view event_id{};
    unsigned attempt = 1;  // 1 for the first attempt
    trace_clock::time_point at{};
};

enum class deliver_result { success, retryable_failure, permanent_failure };

inline constexpr std::string_view to_string(deliver_result r) noexcept {
    switch (r) {
        case deliver_result::success: return "success";
        case deliver_result::retryable_failure: return "retryable_failure";
        case deliver_result::permanent_failure: return "permanent_failure";
    }
    return "unknown";
}

struct deliver_end_info {
    deliver_result result = deliver_result::success;
    std::string_view error{};  // the failure's reason; empty on success
    trace_clock::time_point at{};
};

struct retry_info {
    unsigned next_attempt = 2;
    std::chrono::nanoseconds delay{};  // until the next attempt starts
    std::string_view reason{};
    trace_clock::time_point at{};
};

struct dead_letter_info {
    std::string_view bus{};
    std::string_view rule{};
    std::string_view target{};
    std::string_view event_id{};
    std::string_view reason{};      // retries_exhausted, permanent_failure, queue_full, shutdown, ...
    std::string_view error_code{};  // HandlerFailed, ThrottlingException, ...
    std::string_view message{};
    unsigned attempts = 0;
    trace_clock::time_point at{};
};

// The hooks. Each is called on the thread doing the work (a publisher, a worker, the timer), so
// an implementation must be thread-safe, cheap, and must not throw (the bus ignores what it
// throws). Every hook has an empty default: override only what you need. `span` is the span the
// moment belongs to:
//   on_publish        the new publish span (its parent is in `info.parent`)
//   on_match          the publish span, once per matched rule
//   on_deliver_start  the new attempt span (its parent, the publish span, is in `info.parent`)
//   on_deliver_end    the attempt span, once per on_deliver_start
//   on_retry          the attempt span that failed, after its on_deliver_end
//   on_dead_letter    the last attempt span, or the publish span when no attempt ran
class tracer {
public:
    virtual ~tracer() = default;
    virtual void on_publish(const trace_context& /*span*/, const publish_info& /*info*/) {}
    virtual void on_match(const trace_context& /*span*/, const match_info& /*info*/) {}
    virtual void on_deliver_start(const trace_context& /*span*/, const deliver_start_info& /*info*/) {}
    virtual void on_deliver_end(const trace_context& /*span*/, const deliver_end_info& /*info*/) {}
    virtual void on_retry(const trace_context& /*span*/, const retry_info& /*info*/) {}
    virtual void on_dead_letter(const trace_context& /*span*/, const dead_letter_info& /*info*/) {}
};

// A moment inside a span: "match", "retry" or "dead_letter", with its details as attributes.
struct span_event {
    std::string name{};
    trace_clock::time_point at{};
    std::vector<std::pair<std::string, std::string>> attributes{};

    // The attribute's value, or an empty string.
    std::string attribute(std::string_view key) const {
        for (const auto& [k, v] : attributes)
            if (k == key) return v;
        return {};
    }
};

// One span as recorded: "publish" or "deliver". A publish span is a moment (start == end); a
// deliver span ends at its on_deliver_end (`ended` is false until then).
struct span_record {
    trace_context context{};
    span_id parent{};  // all zero for a root
    std::string name{};
    std::string bus{};
    std::string rule{};    // deliver spans
    std::string target{};  // deliver spans
    std::string event_id{};
    unsigned attempt = 0;  // deliver spans
    trace_clock::time_point start{};
    trace_clock::time_point end{};
    bool ended = false;
    deliver_result result = deliver_result::success;
    std::string error{};
    std::vector<span_event> events{};

    bool is_root() const noexcept { return detail::trace::all_zero(parent); }
};

// Keeps every span in memory, in the order they started, for tests and for small tools. Hooks
// for a span it never saw start (on_match for a publish span created elsewhere, say) are kept as
// a span named "unknown" so nothing reported is lost. Thread-safe: one mutex around everything.
class SWITCHYARD_API recording_tracer : public tracer {
public:
    void on_publish(const trace_context& span, const publish_info& info) override;

    void on_match(const trace_context& span, const match_info& info) override;

    void on_deliver_start(const trace_context& span, const deliver_start_info& info) override;

    void on_deliver_end(const trace_context& span, const deliver_end_info& info) override;

    void on_retry(const trace_context& span, const retry_info& info) override;

    void on_dead_letter(const trace_context& span, const dead_letter_info& info) override;

    // A copy of every span, in the order they started.
    std::vector<span_record> spans() const;

    std::optional<span_record> find(const span_id& id) const;

    // The spans whose parent is `id`, in the order they started.
    std::vector<span_record> children_of(const span_id& id) const;

    std::vector<span_record> roots() const { return children_of(span_id{}); }

    std::size_t size() const;

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
