// idempotency.hpp's compiled half (compiled into libswitchyard, or included by idempotency.hpp when
// SWITCHYARD_HEADER_ONLY is defined).
#pragma once

#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>

#include "switchyard/config.hpp"
#include "switchyard/durability/idempotency.hpp"

namespace switchyard {

struct memory_processed_store::state {
    std::mutex mutex;
    std::unordered_set<std::string> keys;
    std::deque<std::string> order;
};

SWITCHYARD_INLINE memory_processed_store::memory_processed_store(std::size_t capacity)
    : capacity_(capacity), state_(std::make_unique<state>()) {
    if (capacity_ == 0) throw error("memory_processed_store: capacity must be at least 1");
}

SWITCHYARD_INLINE memory_processed_store::~memory_processed_store() = default;

SWITCHYARD_INLINE bool memory_processed_store::contains(std::string_view key) {
    std::lock_guard lock(state_->mutex);
    return state_->keys.count(std::string(key)) != 0;
}

SWITCHYARD_INLINE void memory_processed_store::insert(std::string_view key) {
    std::lock_guard lock(state_->mutex);
    if (!state_->keys.emplace(key).second) return;
    state_->order.emplace_back(key);
    if (state_->order.size() > capacity_) {
        state_->keys.erase(state_->order.front());
        state_->order.pop_front();
    }
}

SWITCHYARD_INLINE std::size_t memory_processed_store::size() const {
    std::lock_guard lock(state_->mutex);
    return state_->keys.size();
}

// The key once_per_event uses: rule, target and event id, separated by NUL (no name contains it).
SWITCHYARD_INLINE std::string processed_key(std::string_view rule, std::string_view target, std::string_view event_id) {
    std::string key;
    key.reserve(rule.size() + target.size() + event_id.size() + 2);
    key.append(rule).push_back('\0');
    key.append(target).push_back('\0');
    key.append(event_id);
    return key;
}

// `t`, except that an event that already succeeded on this rule and target (as far as `store`
// remembers) succeeds again at once without calling the handler. Failures are not remembered,
// so retries still run.
SWITCHYARD_INLINE target once_per_event(target t, std::shared_ptr<processed_store> store) {
    if (!store) throw error("once_per_event: the processed_store is null");
    // A replay repeats events on purpose (same ids): each replay is handled once on its own.
    const auto key_of = [](const any_event& e, const delivery_info& info) {
        auto key = processed_key(info.rule, info.target, e.meta().id);
        if (e.meta().replay_name) key.append(1, '\0').append(*e.meta().replay_name);
        return key;
    };
    if (t.invoke_async) {
        // The key is remembered when the asynchronous delivery completes successfully.
        t.invoke_async = [inner = std::move(t.invoke_async), store = std::move(store), key_of](const any_event& e, const delivery_info& info,
                                                                                             delivery_completion done) {
            auto key = key_of(e, info);
            if (store->contains(key)) return done(outcome::success());
            inner(e, info, delivery_completion([store, key = std::move(key), done = std::move(done)](outcome result) mutable {
                      if (result.status() == outcome::kind::success) {
                          try {
                              store->insert(key);
                          } catch (const std::exception& ex) {
                              result = outcome::retry(std::string("once_per_event could not remember the event: ") + ex.what());
                          } catch (...) {
                              result = outcome::retry("once_per_event could not remember the event (a non-standard exception)");
                          }
                      }
                      done(std::move(result));
                  }));
        };
        return t;
    }
    t.invoke = [inner = std::move(t.invoke), store = std::move(store), key_of](const any_event& e, const delivery_info& info) -> outcome {
        auto key = key_of(e, info);
        if (store->contains(key)) return outcome::success();
        auto result = inner(e, info);
        if (result.status() == outcome::kind::success) store->insert(key);
        return result;
    };
    return t;
}

}  // namespace switchyard
