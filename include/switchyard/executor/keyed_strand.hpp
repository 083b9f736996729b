// Per-key FIFO order, kept apart from any executor (as asio keeps its strand): items that share
// a key run one at a time in arrival order, items of different keys run in parallel.
// `keyed_sequencer` is the bookkeeping alone — the caller decides when an item has finished
// (the bus: when a delivery ends, retries included); `keyed_strand` adapts any executor so that
// a task of a key finishes when it returns.
#pragma once

#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>

#include "switchyard/config.hpp"
#include "switchyard/executor/executor.hpp"

namespace switchyard {

/// Per-key FIFO bookkeeping alone: items that share a key run one at a time in arrival order,
/// items of different keys in parallel; the caller runs them and says when one has finished (the
/// bus: when a delivery ends, retries included). Thread-safe.
template <class Item> class keyed_sequencer {
public:
    /// `item` arrives for `key`. Returns it back when it is the key's head now (the caller runs
    /// it), or nothing when it waits behind the key's head.
    std::optional<Item> arrive(const std::string& key, Item item) {
        std::lock_guard lock(mutex_);
        auto [queue, created] = waiting_.try_emplace(key);
        if (created) return std::optional<Item>(std::move(item));
        queue->second.push_back(std::move(item));
        return std::nullopt;
    }

    /// The head of `key` has finished. Returns the key's next item, which is its head now (the
    /// caller runs it), or nothing when the key has no more items (it is forgotten).
    std::optional<Item> depart(const std::string& key) {
        std::lock_guard lock(mutex_);
        const auto it = waiting_.find(key);
        if (it == waiting_.end()) return std::nullopt;
        if (it->second.empty()) {
            waiting_.erase(it);
            return std::nullopt;
        }
        std::optional<Item> next(std::move(it->second.front()));
        it->second.pop_front();
        return next;
    }

    /// Keys with an item in flight.
    std::size_t active_keys() const {
        std::lock_guard lock(mutex_);
        return waiting_.size();
    }

private:
    mutable std::mutex mutex_;
    // A key is present while its head is in flight; the items behind the head wait here.
    std::unordered_map<std::string, std::deque<Item>> waiting_;
};

/// An executor adaptor: `execute(key, task)` runs on the inner executor, one task per key at a
/// time, in the order they were given (a task of a key finishes when it returns). The strand
/// must outlive the tasks it was given.
class SWITCHYARD_API keyed_strand {
public:
    /// Runs tasks on `inner`.
    explicit keyed_strand(any_executor inner) : state_(std::make_shared<state>(std::move(inner))) {}

    /// Runs `t` once every earlier task of `key` has returned. Throws what the inner executor
    /// throws when it refuses this very task (which then does not run; the key's later tasks
    /// still do, in order). A task queued behind its key's head that the inner executor refuses
    /// later is skipped: give the strand an executor that refuses only when it stops.
    void execute(const std::string& key, task t);

    /// Keys with a task in flight.
    std::size_t active_keys() const { return state_->order.active_keys(); }

private:
    struct state {
        explicit state(any_executor e) : inner(std::move(e)) {}
        any_executor inner;
        keyed_sequencer<task> order;
    };
    struct job {
        std::shared_ptr<state> s;
        std::string key;
        task body;
    };

    static task wrap(const std::shared_ptr<state>& s, const std::string& key, task body);

    // Starts a key's next head. On an inline executor the head's end would start the next one
    // inside its own call, one nesting per queued task; a per-thread trampoline runs them one
    // after another instead.
    static void run(const std::shared_ptr<state>& s, const std::string& key, task body);

    std::shared_ptr<state> state_;
};

}  // namespace switchyard

#ifdef SWITCHYARD_HEADER_ONLY
#include "switchyard/executor/keyed_strand-inl.hpp"
#endif
