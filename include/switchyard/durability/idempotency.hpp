// Idempotent handling: journaled delivery is at least once, so after a crash a handler may see an
// event it already handled. `once_per_event(target, store)` wraps any target so that an event
// (by id) that already succeeded on that rule and target is acknowledged without calling the
// handler again. The store decides how long and how durably that is remembered:
// `memory_processed_store` remembers the last N in memory (duplicates within one process, e.g.
// a retry after a handler's side effect succeeded but its reply failed); a durable store (a
// table in the handler's own database, written in the same transaction as its effect) closes
// the crash window too.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "switchyard/config.hpp"
#include "switchyard/error.hpp"
#include "switchyard/target.hpp"

namespace switchyard {

/// Remembers which deliveries succeeded, for once_per_event(). How long and how durably is the
/// store's choice: memory_processed_store remembers the last N in memory (duplicates within one
/// process, e.g. a retry after a handler's side effect succeeded but its reply failed); a durable
/// store (a table in the handler's own database, written in the same transaction as its effect)
/// closes the crash window too.
class processed_store {
public:
    virtual ~processed_store() = default;
    /// Whether `key` (rule, target and event id) completed before.
    virtual bool contains(std::string_view key) = 0;
    /// Records that `key` completed. Called after the handler succeeded.
    virtual void insert(std::string_view key) = 0;
};

/// The last `capacity` keys, forgotten oldest first. Thread-safe.
class SWITCHYARD_API memory_processed_store final : public processed_store {
public:
    /// Remembers up to `capacity` keys.
    explicit memory_processed_store(std::size_t capacity = 100'000);
    ~memory_processed_store() override;

    bool contains(std::string_view key) override;

    void insert(std::string_view key) override;

    /// How many keys it remembers now.
    std::size_t size() const;

private:
    struct state;  // the keys and their order, behind a lock (idempotency-inl.hpp)
    std::size_t capacity_;
    std::unique_ptr<state> state_;
};

/// The key once_per_event uses: rule, target and event id, separated by NUL (no name contains it).
SWITCHYARD_API std::string processed_key(std::string_view rule, std::string_view target, std::string_view event_id);

/// `t`, except that an event that already succeeded on this rule and target (as far as `store`
/// remembers) succeeds again at once without calling the handler. Failures are not remembered,
/// so retries still run.
SWITCHYARD_API target once_per_event(target t, std::shared_ptr<processed_store> store);

}  // namespace switchyard

#ifdef SWITCHYARD_HEADER_ONLY
#include "switchyard/durability/idempotency-inl.hpp"
#endif
