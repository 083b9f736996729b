// What publishing takes and returns: PutEvents entries, per-publish options, and results whose
// error codes are an enum (EventBridge's names only at the edges, through to_string).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "switchyard/small_string.hpp"
#include "switchyard/trace_context.hpp"

namespace switchyard {

/// One entry of `bus::put_events`, shaped like EventBridge's PutEventsRequestEntry.
struct put_events_entry {
    std::string source{};                  ///< the event's source
    std::string detail_type{};             ///< the event's detail-type
    std::string detail{};                  ///< JSON object text
    std::vector<std::string> resources{};  ///< the event's resources
    std::string time{};                    ///< optional RFC 3339 timestamp; empty means now
    /// With deduplication on: the producer's idempotency key. Empty: a hash of source,
    /// detail-type and detail identifies duplicates.
    std::string dedup_id{};
    /// W3C trace context of the caller (PutEvents' TraceHeader). An invalid traceparent starts a
    /// new trace, as the W3C spec asks; it never fails the entry.
    std::string traceparent{};
    std::string tracestate{};  ///< the W3C tracestate that goes with `traceparent`
};

/// Optional envelope fields for a single typed publish.
struct publish_options {
    std::vector<std::string> resources{};  ///< the event's resources
    std::string dedup_id{};  ///< with deduplication on: the idempotency key (default: a content hash)
    /// The caller's W3C trace context: the event's publish span becomes its child. Without one,
    /// a publish from inside a handler joins the handler's trace, and otherwise a tracer on the
    /// bus starts a new trace.
    std::optional<trace_context> trace{};
    /// The event's time (EventBridge's Time; written as RFC 3339, UTC, in the envelope). Default:
    /// now. A time outside the years 1678 to 2261 is refused as InvalidArgument. Retries still
    /// count the event's age from when the bus accepted it.
    std::optional<std::chrono::system_clock::time_point> time{};
};

/// Why a publish was refused. Compare these, never their names.
enum class publish_errc : std::uint8_t {
    none,              ///< accepted
    invalid_argument,  ///< a field is missing, too large, or malformed (InvalidArgument)
    malformed_detail,  ///< the detail is not a well-formed JSON object (MalformedDetail)
    throttled,         ///< a target's bounded queue was full: nothing of the event was delivered
    journal_failed,    ///< the journal could not record the event: nothing of it was accepted
    bus_shut_down,     ///< the bus accepts no more events
};

/// EventBridge's name for each code, as PutEvents results, metrics and logs show it.
constexpr std::string_view to_string(publish_errc code) noexcept {
    switch (code) {
        case publish_errc::none: return "";
        case publish_errc::invalid_argument: return "InvalidArgument";
        case publish_errc::malformed_detail: return "MalformedDetail";
        case publish_errc::throttled: return "ThrottlingException";
        case publish_errc::journal_failed: return "JournalFailed";
        case publish_errc::bus_shut_down: return "BusShutDown";
    }
    return "InternalFailure";
}

/// The outcome of one published event: its id, or an error code and a message. [[nodiscard]]: a
/// dropped result would hide a refused event (throttled, journal failed, malformed); write
/// `(void)bus.publish(...)` where ignoring it is really meant.
struct [[nodiscard]] publish_result {
    small_string event_id;                         ///< the event's id (empty when refused before it had one)
    publish_errc error_code = publish_errc::none;  ///< why it was refused; none when accepted
    std::string error_message;                     ///< what went wrong, for people
    bool deduplicated = false;  ///< accepted, but a duplicate inside the dedup window: not delivered

    /// Whether the event was accepted.
    bool ok() const noexcept { return error_code == publish_errc::none; }
    /// ok().
    explicit operator bool() const noexcept { return ok(); }
};

/// The outcome of a batch (bus::put_events, producer::publish_batch): how many entries failed,
/// and each entry's result. [[nodiscard]] too.
struct [[nodiscard]] put_events_result {
    std::size_t failed_entry_count = 0;   ///< entries refused
    std::vector<publish_result> entries;  ///< one per entry, in order

    /// True when every entry was accepted.
    bool ok() const noexcept { return failed_entry_count == 0; }
};

/// What producer::publish_batch returns: the same shape as a PutEvents result.
using publish_batch_result = put_events_result;

/// What `bus::publish_async` and `producer<T>::publish_async` call, exactly once, with the
/// publish's result: at once (on the publishing thread, before the call returns) when the publish
/// is decided there (refused, throttled, deduplicated, matched nothing, or no journal); on a
/// journaled bus, once the journal's commit carried the event (on the journal's thread: its
/// deliveries have started, inline targets have run). Must not throw (an exception is caught and
/// dropped); must not drain the bus without a timeout.
using publish_callback = std::function<void(const publish_result&)>;

}  // namespace switchyard
