// Producers: a typed, source-bound way to publish. `bus.producer<T>("com.example.x")` returns a
// cheap handle whose `publish(T)` fills in the envelope (id, time, source, detail-type, account,
// region) and routes the event. A producer that outlives its bus gets BusShutDown.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <ranges>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "switchyard/bus.hpp"
#include "switchyard/config.hpp"
#include "switchyard/event.hpp"
#include "switchyard/publish.hpp"

namespace switchyard {

namespace detail {
/// Builds the typed event around the envelope the bus made (the value is moved from `detail`).
using typed_event_factory = event_ptr (*)(void* detail, envelope&& meta, std::chrono::system_clock::time_point now);

/// The compiled half of producer<T>::publish: everything but the type.
SWITCHYARD_API publish_result publish_new(const std::weak_ptr<bus_core>& core, const std::string& source, std::string_view detail_type,
                                          publish_options&& options, void* detail, typed_event_factory make);

/// The compiled half of producer<T>::publish_async: everything but the type.
SWITCHYARD_API void publish_new_async(const std::weak_ptr<bus_core>& core, const std::string& source, std::string_view detail_type,
                                      publish_options&& options, void* detail, typed_event_factory make, publish_callback on_done);

/// The compiled half of producer<T>::publish_batch: `count` details `stride` bytes apart.
SWITCHYARD_API std::vector<publish_result> publish_batch_new(const std::weak_ptr<bus_core>& core, const std::string& source,
                                                             std::string_view detail_type, const publish_options& options,
                                                             void* details, std::size_t count, std::size_t stride,
                                                             typed_event_factory make);
}  // namespace detail

/// Publishes events of type T from one source: `bus.producer<T>("com.example.x")`. Cheap to
/// copy; use it from any thread. Each publish fills in the envelope (a new id, the time, source,
/// detail-type, account, region) and routes the event.
template <event_type T> class producer {
public:
    /// The source every event of this producer carries.
    const std::string& source() const noexcept { return source_; }

    /// Publishes one event. The result says whether the bus accepted it and, if not, why
    /// (publish_errc); a journaled bus returns once the event is durable.
    [[nodiscard]] publish_result publish(T detail, publish_options options = {}) const {
        return detail::publish_new(core_, source_, detail_type_of<T>(), std::move(options), &detail, &make);
    }

    /// Publishes one event without waiting for the journal: `on_done` gets the result, exactly
    /// once (see publish_callback for when and on which thread). On a journaled bus the event is
    /// matched and a slot reserved on each target here (a full queue blocks or throttles as
    /// publish() does); its record joins the journal's next commit, shared with every record
    /// made meanwhile (sqlite_journal: one transaction and one fsync), and its deliveries start
    /// once that commit is durable. One thread keeps many events in flight that way, at the
    /// journal's batched rate. Without a journal it is publish() with a callback, run before this
    /// returns. Throws switchyard::error when `on_done` is empty.
    void publish_async(T detail, publish_callback on_done, publish_options options = {}) const {
        detail::publish_new_async(core_, source_, detail_type_of<T>(), std::move(options), &detail, &make, std::move(on_done));
    }

    /// Publishes every detail in `details`, in order, each as its own event (its own id), with
    /// `options` applied to each, and returns one result per event, in the same order: a
    /// refused event fails alone, as in put_events. Any number of events (no PutEvents limit of
    /// 10). On a journaled bus they are recorded 256 at a time with one journal call each (one
    /// SQLite transaction and sync), which is what makes a batch faster than publishing one by
    /// one; the call returns once every accepted event is durable. `options.dedup_id` must be
    /// empty (one id would make every event after the first a duplicate): throws
    /// switchyard::error otherwise; deduplication by content still applies to each event.
    template <std::ranges::input_range R>
        requires std::convertible_to<std::ranges::range_reference_t<R>, T>
    [[nodiscard]] publish_batch_result publish_batch(R&& details, const publish_options& options = {}) const {
        std::vector<T> values;
        if constexpr (std::ranges::sized_range<R>) values.reserve(std::ranges::size(details));
        // A container passed as an rvalue gives its elements up; anything else is copied from.
        constexpr bool owned = !std::is_lvalue_reference_v<R> && !std::ranges::view<std::remove_cvref_t<R>> &&
                               !std::ranges::borrowed_range<R>;
        for (auto&& d : details) {
            if constexpr (owned && std::is_lvalue_reference_v<decltype(d)>)
                values.push_back(static_cast<T>(std::move(d)));
            else
                values.push_back(static_cast<T>(std::forward<decltype(d)>(d)));
        }
        publish_batch_result out;
        out.entries = detail::publish_batch_new(core_, source_, detail_type_of<T>(), options, values.data(), values.size(), sizeof(T), &make);
        for (const auto& r : out.entries)
            if (!r.ok()) ++out.failed_entry_count;
        return out;
    }

private:
    friend class bus;
    producer(std::weak_ptr<detail::bus_core> core, std::string source) : core_(std::move(core)), source_(std::move(source)) {}

    static event_ptr make(void* value, envelope&& meta, std::chrono::system_clock::time_point now) {
        return detail::make_pooled<const detail::typed_event<T>>(std::move(meta), std::move(*static_cast<T*>(value)), now);
    }

    std::weak_ptr<detail::bus_core> core_;
    std::string source_;
};

/// @cond
template <event_type T> producer<T> bus::producer(std::string source) {
    if (source.empty()) throw error("a producer needs a non-empty source such as \"com.example.transaction\"");
    return switchyard::producer<T>(core_, std::move(source));
}

template <event_type T> publish_result bus::publish(std::string source, T detail) {
    return producer<T>(std::move(source)).publish(std::move(detail));
}
/// @endcond

}  // namespace switchyard
