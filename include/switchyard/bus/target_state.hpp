// A target at run time: its specification compiled (ordering key, input), its slots, its FIFO
// groups, its call gate when it belongs to a subscription, and its counters. One delivery is one
// (event, target) pair in flight.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "switchyard/bus/admission.hpp"
#include "switchyard/bus/call_gate.hpp"
#include "switchyard/bus/settlement.hpp"
#include "switchyard/delivery/ordering_key.hpp"
#include "switchyard/detail/block_pool.hpp"
#include "switchyard/event.hpp"
#include "switchyard/executor/keyed_strand.hpp"
#include "switchyard/observe/metrics.hpp"
#include "switchyard/target.hpp"
#include "switchyard/trace_context.hpp"
#include "switchyard/transform.hpp"

namespace switchyard::detail {

struct target_state;

// One (event, target) delivery in flight. It has exactly one owner at a time: the publisher's
// stack (inline first attempt), an executor task, the timer, or its FIFO group's queue. Tasks
// and timers carry it as a raw pointer (so a task fits std::function's small buffer and costs
// no allocation); whoever runs them takes ownership back.
struct delivery {
    event_ptr event;
    std::shared_ptr<target_state> target;
    unsigned attempts = 0;
    std::optional<std::string> group{};      // FIFO group when the target is ordered
    std::uint64_t journal_sequence = 0;      // non-zero when the journal recorded this delivery
    bool redelivered = false;                // started again by bus::recover()
    std::optional<trace_context> span{};     // the event's publish span on this bus, when traced
    span_id attempt_span{};                  // the latest attempt's span id
    // Set when the publish asked to be told when its deliveries have ended (bus::publish with a
    // settlement_callback); null otherwise. Dropped by end(): the last reference calls back.
    std::shared_ptr<settlement_tracker> settle{};

    // Allocated by the publishing thread and freed by a worker: from the block pool, which
    // recycles blocks across threads without a lock per block (detail/block_pool.hpp).
    static void* operator new(std::size_t bytes) { return pool_allocate(bytes); }
    static void operator delete(void* block, std::size_t bytes) noexcept { pool_deallocate(block, bytes); }
};
using delivery_owner = std::unique_ptr<delivery>;

struct target_state {
    target_state(target spec_in, std::string rule_in, bool subscription)
        : spec(std::move(spec_in)),
          rule(std::move(rule_in)),
          key(spec.ordering_key.empty() ? key_path{} : key_path(spec.ordering_key)),
          input(compiled_input::compile(spec.input)),
          slots(spec.queue.capacity),
          closable(subscription) {
        // A typed handler reading the whole event: its ordering key must name a field it has.
        if (spec.typed_detail && !key.empty() && std::holds_alternative<whole_event>(spec.input)) key.check_against(*spec.typed_detail);
    }

    target spec;
    std::string rule;
    key_path key;
    compiled_input input;
    slot_counter slots;    // the bounded queue
    const bool closable;   // a subscription's target: its handler calls pass through `gate`
    call_gate gate;
    keyed_sequencer<delivery_owner> groups;  // FIFO groups of an ordered target
    std::atomic<std::uint64_t> accepted{0}, delivered{0}, retried{0}, dead_lettered{0}, discarded{0}, throttled{0};
    std::atomic<std::uint64_t> missing_key{0};      // deliveries whose event had no ordering key
    std::atomic<bool> missing_key_logged{false};    // the first of them is logged, once
    target_metrics metrics;
};

}  // namespace switchyard::detail
