// switchyard::nats's private side: the nats.c handles behind a nats_connection, its counters,
// and the PubAcks awaited. Not installed.
#pragma once

#include <nats/nats.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>

#include "switchyard/nats/connection.hpp"
#include "switchyard/observe/log.hpp"

namespace switchyard::nats_detail {

// What nats.c said about a failed call: its status text and, when it has one, its last error.
std::string describe(natsStatus s);
std::string describe(natsStatus s, jsErrCode code);

inline std::int64_t to_ms(std::chrono::milliseconds d) { return static_cast<std::int64_t>(d.count()); }
inline std::int64_t to_ns(std::chrono::milliseconds d) { return static_cast<std::int64_t>(d.count()) * 1'000'000; }

// One publish awaiting its PubAck. on_pub_ack fills in the result, frees the publish's slot and
// hands the waiter to the connection's completion thread, which calls `finish` (nats_target ends
// its delivery there). Not on nats.c's thread: ending a delivery may start the next one of its
// FIFO group, whose publish may wait for a slot that only nats.c's thread can free.
// A publish awaiting its PubAck: what came back, and what to do with it (on the connection's
// completion thread). One allocation per publish: the target's waiter derives from it.
struct pub_waiter {
    virtual ~pub_waiter() = default;
    virtual void finish() = 0;
    bool ok = false;
    bool duplicate = false;
    std::string error;

    // Who frees the message. nats.c registers it for its PubAck before it writes it, and its
    // MaxWait timer can end that wait (on_pub_ack, which frees the message) while the publishing
    // thread is still inside js_PublishMsgAsync, blocked on the connection's lock behind a write
    // to a server that stopped reading: nats.c then reads the freed message. So on_pub_ack frees
    // it only once that call has returned; otherwise the publishing thread frees it on return.
    enum phase_t : int { publishing, published, answered_while_publishing };
    std::atomic<int> phase{publishing};
    // on_pub_ack, with the answer in: true when the message is its to free now.
    bool answered() noexcept { return phase.exchange(answered_while_publishing, std::memory_order_acq_rel) == published; }
    // The publishing thread, js_PublishMsgAsync returned (the library took the message): true
    // when on_pub_ack came first and left the message for it to free.
    bool publish_returned() noexcept { return phase.exchange(published, std::memory_order_acq_rel) == answered_while_publishing; }
};

}  // namespace switchyard::nats_detail

namespace switchyard {

struct nats_connection::state {
    nats_connection_options options;
    std::shared_ptr<log_sink> log;
    natsConnection* nc = nullptr;
    jsCtx* js = nullptr;

    std::atomic<std::uint64_t> disconnects{0}, reconnects{0}, published{0}, pub_acks{0}, pub_ack_duplicates{0},
        pub_ack_failures{0}, received{0}, redeliveries{0}, acks{0}, naks{0}, terms{0}, in_progress{0}, lag{0},
        stalls_recovered{0};
    // "Duplicate" PubAcks with no stream sequence: retried, not counted as stored (on_pub_ack).
    std::atomic<std::uint64_t> pub_ack_unstored_duplicates{0};
    // PubAcks (or their timeouts) that came while their publish call was still running: the
    // publishing thread freed the message (pub_waiter::phase). For tests; no metric.
    std::atomic<std::uint64_t> answered_while_publishing{0};

    // PubAcks awaited: the bound (max_pub_acks_in_flight) and who waits for which message.
    std::mutex pending_mutex;
    std::condition_variable slot_free;
    std::size_t in_flight = 0;
    std::size_t slot_waiters = 0;  // publishes waiting in await_pub_ack: notified only when some wait
    // A publish that found every slot taken waits until PubAcks have freed a quarter of them,
    // then goes on without waiting for that many: one wake-up per quarter of the bound instead
    // of one per PubAck (a context switch each, which cost about a fifth of the throughput).
    std::size_t resume_below() const noexcept {
        const auto bound = options.max_pub_acks_in_flight;
        return bound - std::max<std::size_t>(1, bound / 4);
    }
    std::unordered_map<natsMsg*, std::shared_ptr<nats_detail::pub_waiter>> waiting;

    // The completion thread (see pub_waiter): started by the first publish, joined by ~state.
    std::mutex completions_mutex;
    std::condition_variable completions_ready;
    std::deque<std::shared_ptr<nats_detail::pub_waiter>> completions;
    bool completions_stop = false;
    bool completer_idle = false;  // waiting for work: notified only then (a wake-up per PubAck costs a syscall)
    std::thread completer;
    std::atomic<bool> completer_started{false};  // read without completions_mutex by each publish
    void start_completer();

    // Set by the destructor before it closes the connection: nats.c reports the close as a
    // disconnect too, which is not one.
    std::atomic<bool> closing{false};
    // The closed callback is the last nats.c calls: the destructor waits for it.
    std::mutex closed_mutex;
    std::condition_variable closed_cv;
    bool closed = false;

    explicit state(nats_connection_options o);
    ~state();
    state(const state&) = delete;
    state& operator=(const state&) = delete;

    void write(log_level level, std::string_view message, std::initializer_list<log_field> fields = {}) const noexcept;

    // Takes a slot among max_pub_acks_in_flight, waiting for one up to `deadline` (false when
    // none came), and registers `w` for the PubAck of `msg` (the key on_pub_ack looks up): one
    // lock for both, as the publishing thread, nats.c's thread and the completion thread all
    // take these locks for every message. Starts the completion thread the first time.
    bool await_pub_ack(natsMsg* msg, std::shared_ptr<nats_detail::pub_waiter> w, std::chrono::steady_clock::time_point deadline);
    // Frees a slot, pending_mutex held.
    void free_slot_locked() noexcept;
    // Takes `msg`'s waiter back, and frees its slot, when its publish never left (it is not
    // finished then).
    std::shared_ptr<nats_detail::pub_waiter> forget_pub_ack(natsMsg* msg);
    // Hands a waiter whose result is in to the completion thread.
    void complete_later(std::shared_ptr<nats_detail::pub_waiter> w);
    // Set on the completion thread when it destroyed its own connection state (see ~state).
    static bool& completer_orphaned() noexcept;
};

}  // namespace switchyard
