// Producers: a typed, source-bound way to publish. `bus.producer<T>("com.example.x")` returns a
// cheap handle whose `publish(T)` fills in the envelope (id, time, source, detail-type, account,
// region) and routes the event. A producer that outlives its bus gets BusShutDown.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "switchyard/bus.hpp"
#include "switchyard/config.hpp"
#include "switchyard/event.hpp"
#include "switchyard/publish.hpp"

namespace switchyard {

namespace detail {
// Builds the typed event around the envelope the bus made (the value is moved from `detail`).
using typed_event_factory = event_ptr (*)(void* detail, envelope&& meta, std::chrono::system_clock::time_point now);

// The compiled half of producer<T>::publish: everything but the type.
SWITCHYARD_API publish_result publish_new(const std::weak_ptr<bus_core>& core, const std::string& source, std::string_view detail_type,
                                          publish_options&& options, void* detail, typed_event_factory make);
}  // namespace detail

template <event_type T> class producer {
public:
    const std::string& source() const noexcept { return source_; }

    publish_result publish(T detail, publish_options options = {}) const {
        return detail::publish_new(core_, source_, detail_type_of<T>(), std::move(options), &detail, &make);
    }

private:
    friend class bus;
    producer(std::weak_ptr<detail::bus_core> core, std::string source) : core_(std::move(core)), source_(std::move(source)) {}

    static event_ptr make(void* value, envelope&& meta, std::chrono::system_clock::time_point now) {
        return std::make_shared<const detail::typed_event<T>>(std::move(meta), std::move(*static_cast<T*>(value)), now);
    }

    std::weak_ptr<detail::bus_core> core_;
    std::string source_;
};

template <event_type T> producer<T> bus::producer(std::string source) {
    if (source.empty()) throw error("a producer needs a non-empty source such as \"com.example.transaction\"");
    return switchyard::producer<T>(core_, std::move(source));
}

template <event_type T> publish_result bus::publish(std::string source, T detail) {
    return producer<T>(std::move(source)).publish(std::move(detail));
}

}  // namespace switchyard
