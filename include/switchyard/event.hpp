// Events: EventBridge's envelope, typed events (`event<T>`), and `any_event`, the immutable,
// reference-counted form the bus shares across every target an event reaches. A typed event
// keeps its C++ value; its JSON text is produced only when something asks for it, and once.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <typeinfo>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "switchyard/config.hpp"
#include "switchyard/detail/block_pool.hpp"
#include "switchyard/detail/once.hpp"
#include "switchyard/error.hpp"
#include "switchyard/fields.hpp"
#include "switchyard/small_string.hpp"
#include "switchyard/trace_context.hpp"
#include "switchyard/value_sink.hpp"

namespace switchyard {

/// Everything EventBridge puts around an event's detail. The text fields are small_string: up to
/// 39 characters (an id, a time, most sources) are held without a heap allocation; they convert
/// to std::string_view and std::string and compare with either.
struct envelope {
    small_string version = "0";               ///< "version": always "0"
    small_string id;                          ///< "id": unique per event
    small_string detail_type;                 ///< "detail-type"
    small_string source;                      ///< "source": who published it
    small_string account;                     ///< "account"
    small_string time;                        ///< "time": RFC 3339, UTC
    small_string region;                      ///< "region"
    std::vector<std::string> resources;      ///< "resources"
    std::optional<std::string> replay_name;  ///< "replay-name": set on an event an archive replayed
    /// W3C trace context: the span that published the event (set by the bus when tracing is on
    /// or the publisher passed a context). Not an EventBridge field: in JSON it is written as
    /// "traceparent" and "tracestate", and only when present.
    std::optional<trace_context> trace;

    /// Field by field.
    friend bool operator==(const envelope&, const envelope&) = default;
};

/// An event whose detail is a C++ value. `event<nlohmann::json>` holds any detail.
template <class T> struct event : envelope {
    T detail{};  ///< "detail": the event's content

    /// Envelope and detail, field by field.
    friend bool operator==(const event&, const event&) = default;
};

/// Writes the envelope's fields in EventBridge's order.
SWITCHYARD_API void to_json(nlohmann::json& out, const envelope& e);

/// Reads an envelope; throws switchyard::error naming the field when one is missing or mistyped.
void from_json(const nlohmann::json& in, envelope& e);

/// Writes the envelope's fields and the detail (nlohmann's to_json, found by lookup).
template <class T> void to_json(nlohmann::json& out, const event<T>& e) {
    to_json(out, static_cast<const envelope&>(e));
    out["detail"] = e.detail;
}

/// Reads the envelope and the detail; throws switchyard::error when the detail is missing or
/// does not fit `T`.
template <class T> void from_json(const nlohmann::json& in, event<T>& e) {
    from_json(in, static_cast<envelope&>(e));
    const auto detail = in.find("detail");
    if (detail == in.end())
        throw error("event JSON has no \"detail\": every EventBridge event carries a detail object");
    try {
        detail->get_to(e.detail);
    } catch (const nlohmann::json::exception& ex) {
        throw error(std::string("event \"detail\" does not fit the event's type: ") + ex.what());
    }
}

/// The immutable, shared form of one accepted event: the bus shares it across every target the
/// event reaches. A typed event keeps its C++ value; its JSON text is produced only when
/// something asks for it, and once.
class any_event : public std::enable_shared_from_this<any_event> {
public:
    virtual ~any_event() = default;
    any_event(const any_event&) = delete;
    any_event& operator=(const any_event&) = delete;

    /// The envelope: id, source, detail-type, time...
    const envelope& meta() const noexcept { return *meta_; }
    /// When the bus accepted the event (retry ages count from there).
    std::chrono::system_clock::time_point ingestion_time() const noexcept { return ingested_; }

    /// Streams the detail's fields (the typed value's visitor, or the JSON text's tokens).
    virtual void emit_detail(value_sink& sink) const = 0;

    /// The detail as JSON text, produced at most once.
    SWITCHYARD_API const std::string& detail_json() const;

    /// The whole event as EventBridge JSON text (EventBridge's field order), produced at most once.
    SWITCHYARD_API const std::string& json() const;

    /// The typed event when this event was published as an `event<T>`, else null.
    template <class T> const event<T>* as() const noexcept {
        return static_cast<const event<T>*>(typed(typeid(T)));
    }

    /// How many buses routed this event to another bus before it reached this one (0 when it was
    /// published here). Bus-to-bus targets stop a routing loop by it.
    virtual unsigned hops() const noexcept { return 0; }

    /// For wrappers that delegate to another event: the typed value behind `type`, or null.
    const void* typed_ptr(const std::type_info& type) const noexcept { return typed(type); }

protected:
    /// For implementations: `meta` must outlive this object (it is usually a member).
    any_event(const envelope* meta, std::chrono::system_clock::time_point ingested) : meta_(meta), ingested_(ingested) {}
    /// Produces detail_json()'s text (called at most once).
    virtual std::string make_detail_json() const = 0;
    /// The typed value when it is a `type`, else null (the default).
    virtual const void* typed(const std::type_info&) const noexcept { return nullptr; }

private:
    const envelope* meta_;
    std::chrono::system_clock::time_point ingested_;
    mutable detail::once_latch detail_once_;
    mutable detail::once_latch json_once_;
    mutable std::string detail_json_;
    mutable std::string json_;
};

/// How events are passed around: shared and immutable.
using event_ptr = std::shared_ptr<const any_event>;

namespace detail {

template <class T> class typed_event final : public any_event {
public:
    typed_event(event<T>&& value, std::chrono::system_clock::time_point ingested)
        : any_event(&value_, ingested), value_(std::move(value)) {}
    // Built in place from its parts: a producer's publish moves the envelope and the detail
    // straight into the shared allocation instead of through an event<T> on the way.
    typed_event(envelope&& meta, T&& detail, std::chrono::system_clock::time_point ingested)
        : any_event(&value_, ingested), value_{std::move(meta), std::move(detail)} {}
    void emit_detail(value_sink& sink) const override { emit_value(sink, value_.detail); }

protected:
    std::string make_detail_json() const override { return nlohmann::json(value_.detail).dump(); }
    const void* typed(const std::type_info& type) const noexcept override {
        return type == typeid(T) ? &value_ : nullptr;
    }

private:
    event<T> value_;
};

// An event whose detail arrived as JSON text (put_events, the archive, the network). The text
// must already have been validated as a JSON object.
class json_text_event final : public any_event {
public:
    json_text_event(envelope meta, std::string detail,
                    std::chrono::system_clock::time_point ingested = std::chrono::system_clock::now(), unsigned hops = 0)
        : any_event(&meta_, ingested), meta_(std::move(meta)), detail_(std::move(detail)), hops_(hops) {}
    SWITCHYARD_API void emit_detail(value_sink& sink) const override;
    // A dead letter published into a bus carries the hops of the event that failed, plus one.
    unsigned hops() const noexcept override { return hops_; }

protected:
    std::string make_detail_json() const override { return detail_; }

private:
    envelope meta_;
    std::string detail_;
    unsigned hops_;
};

// The same event one bus further along: it shares the original's envelope, detail and typed
// value (no copy, no JSON), and counts one more hop.
class forwarded_event final : public any_event {
public:
    explicit forwarded_event(event_ptr original)
        : any_event(&original->meta(), original->ingestion_time()), original_(std::move(original)), hops_(original_->hops() + 1) {}
    void emit_detail(value_sink& sink) const override { original_->emit_detail(sink); }
    unsigned hops() const noexcept override { return hops_; }

protected:
    std::string make_detail_json() const override { return original_->detail_json(); }
    const void* typed(const std::type_info& type) const noexcept override { return original_->typed_ptr(type); }

private:
    event_ptr original_;
    unsigned hops_;
};

}  // namespace detail

/// Wraps a complete typed event (id, time and all) as a shareable event.
/// `ingested` is when the bus accepted it (retry ages count from there).
template <class T>
event_ptr make_event(event<T> value, std::chrono::system_clock::time_point ingested = std::chrono::system_clock::now()) {
    return detail::make_pooled<const detail::typed_event<T>>(std::move(value), ingested);
}

/// Wraps an envelope and detail JSON text. Throws switchyard::error if the detail is not a JSON object.
SWITCHYARD_API event_ptr make_json_event(envelope meta, std::string detail_json);

/// Parses a whole EventBridge event (envelope and detail) from JSON text. Throws switchyard::error
/// naming the problem (not JSON, a missing or mistyped field, nesting past 128 levels).
SWITCHYARD_API event_ptr parse_event(std::string_view text);

/// The typed view of any event: the stored value when it was published as T, else the detail
/// JSON converted to T. Throws switchyard::permanent_error when the detail does not fit T.
template <class T> event<T> event_cast(const any_event& e) {
    if (const auto* typed = e.as<T>()) return *typed;
    event<T> out;
    static_cast<envelope&>(out) = e.meta();
    try {
        nlohmann::json::parse(e.detail_json()).get_to(out.detail);
    } catch (const nlohmann::json::exception& ex) {
        throw permanent_error(std::string("event ") + e.meta().id + " detail does not fit the target's type: " + ex.what());
    }
    return out;
}

}  // namespace switchyard

#ifdef SWITCHYARD_HEADER_ONLY
#include "switchyard/event-inl.hpp"
#endif
