// Producers: a typed, source-bound way to publish. `bus.producer<T>("com.example.x")` returns a
// cheap handle whose `publish(T)` fills in the envelope (id, time, source, detail-type, account,
// region) and routes the event. A producer must not outlive its bus.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "switchyard/bus.hpp"
#include "switchyard/event.hpp"

namespace switchyard {

// Optional envelope fields for a single publish.
struct publish_options {
    std::vector<std::string> resources{};
    std::string dedup_id{};  // with deduplication on: the idempotency key (default: a content hash)
    // The caller's W3C trace context: the event's publish span becomes its child. Without one,
    // a publish from inside a handler joins the handler's trace, and otherwise a tracer on the
    // bus starts a new trace.
    std::optional<trace_context> trace{};
};

template <event_type T> class producer {
public:
    const std::string& source() const noexcept { return source_; }

    publish_result publish(T detail, publish_options options = {}) const {
        const auto timed = core_->latency_weight();
        const auto began = timed != 0 ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point{};
        const auto now = std::chrono::system_clock::now();  // one clock read for time and ingestion
        event<T> e;
        static_cast<envelope&>(e) = core_->make_envelope(source_, std::string(detail_type_of<T>()), now);
        e.resources = std::move(options.resources);
        e.detail = std::move(detail);
        const auto trace = core_->trace_for_new(options.trace);
        e.trace = trace.span;
        auto result = core_->dispatch(make_event(std::move(e), now), options.dedup_id, {}, &trace);
        core_->record_put(result, began, timed);
        return result;
    }

private:
    friend class bus;
    producer(detail::bus_core* core, std::string source) : core_(core), source_(std::move(source)) {}

    detail::bus_core* core_;
    std::string source_;
};

template <event_type T> producer<T> bus::producer(std::string source) {
    if (source.empty()) throw error("a producer needs a non-empty source such as \"com.example.transaction\"");
    return switchyard::producer<T>(core_.get(), std::move(source));
}

template <event_type T> publish_result bus::publish(std::string source, T detail) {
    return producer<T>(std::move(source)).publish(std::move(detail));
}

}  // namespace switchyard
