// Targets: where a rule sends the events it matches. A target has an id (unique within its
// rule), an executor that runs it, and an invoker that hands the event to user code: a typed
// handler, a raw JSON handler or a subscriber. Failures are exceptions from the invoker; the bus
// turns them into reports (and, with the delivery layer, retries and dead letters).
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "switchyard/event.hpp"
#include "switchyard/executor/executor.hpp"
#include "switchyard/executor/inline_executor.hpp"

namespace switchyard {

// What a handler can learn about the delivery it is part of.
struct delivery_info {
    std::string_view rule;
    std::string_view target;
    unsigned attempt = 1;  // 1 for the first delivery
};

struct target {
    using invoker = std::function<void(const any_event&, const delivery_info&)>;

    std::string id;
    invoker invoke;
    any_executor executor = inline_executor::instance();
};

// A handler for events of type T: `f(const event<T>&)` or `f(const event<T>&, const
// delivery_info&)`. An event published as T reaches it without copies; any other event's detail
// JSON is converted to T, and a detail that does not fit T is a delivery failure.
template <class T, class F> target handler(std::string id, F f, any_executor executor = inline_executor::instance()) {
    static_assert(std::is_invocable_v<F&, const event<T>&> || std::is_invocable_v<F&, const event<T>&, const delivery_info&>,
                  "a handler<T> must be callable as f(const event<T>&) or f(const event<T>&, const delivery_info&)");
    return target{std::move(id),
                  [f = std::move(f)](const any_event& e, const delivery_info& info) mutable {
                      auto call = [&](const event<T>& typed) {
                          if constexpr (std::is_invocable_v<F&, const event<T>&, const delivery_info&>) f(typed, info);
                          else f(typed);
                      };
                      if (const auto* typed = e.as<T>()) call(*typed);
                      else call(event_cast<T>(e));
                  },
                  std::move(executor)};
}

// A handler that receives the whole event as EventBridge JSON text: `f(std::string_view)` or
// `f(std::string_view, const delivery_info&)`.
template <class F> target json_handler(std::string id, F f, any_executor executor = inline_executor::instance()) {
    static_assert(std::is_invocable_v<F&, std::string_view> || std::is_invocable_v<F&, std::string_view, const delivery_info&>,
                  "a json_handler must be callable as f(std::string_view) or f(std::string_view, const delivery_info&)");
    return target{std::move(id),
                  [f = std::move(f)](const any_event& e, const delivery_info& info) mutable {
                      if constexpr (std::is_invocable_v<F&, std::string_view, const delivery_info&>) f(std::string_view(e.json()), info);
                      else f(std::string_view(e.json()));
                  },
                  std::move(executor)};
}

// An object-oriented receiver of typed events, attached with `bus::subscribe`.
template <class T> class subscriber {
public:
    virtual ~subscriber() = default;
    virtual void on_event(const event<T>& e) = 0;
};

}  // namespace switchyard
