// switchyard::nats's private side: the nats.c handles behind a nats_connection, its counters,
// and the PubAcks awaited. Not installed.
#pragma once

#include <nats/nats.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "switchyard/nats/connection.hpp"
#include "switchyard/observe/log.hpp"

namespace switchyard::nats_detail {

// What nats.c said about a failed call: its status text and, when it has one, its last error.
std::string describe(natsStatus s);
std::string describe(natsStatus s, jsErrCode code);

inline std::int64_t to_ms(std::chrono::milliseconds d) { return static_cast<std::int64_t>(d.count()); }
inline std::int64_t to_ns(std::chrono::milliseconds d) { return static_cast<std::int64_t>(d.count()) * 1'000'000; }

// One publish awaiting its PubAck.
struct pub_waiter {
    std::mutex mutex;
    std::condition_variable done_cv;
    bool done = false;
    bool ok = false;
    bool duplicate = false;
    std::string error;
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

    // PubAcks awaited: the bound (max_pub_acks_in_flight) and who waits for which message.
    std::mutex pending_mutex;
    std::condition_variable slot_free;
    std::size_t in_flight = 0;
    std::unordered_map<natsMsg*, std::shared_ptr<nats_detail::pub_waiter>> waiting;

    // The closed callback is the last nats.c calls: the destructor waits for it.
    std::mutex closed_mutex;
    std::condition_variable closed_cv;
    bool closed = false;

    explicit state(nats_connection_options o);
    ~state();
    state(const state&) = delete;
    state& operator=(const state&) = delete;

    void write(log_level level, std::string_view message, std::initializer_list<log_field> fields = {}) const noexcept;

    // A slot among max_pub_acks_in_flight, waiting up to `deadline`; false when none came.
    bool acquire_slot(std::chrono::steady_clock::time_point deadline);
    void release_slot();
};

}  // namespace switchyard
