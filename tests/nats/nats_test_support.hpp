// Helpers for the NATS tests: a quiet log sink, the events a bus received, reading a stream back
// with nats.c, waiting for a condition with a deadline.
#pragma once

#include <nats/nats.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>
#include <switchyard/bus_options.hpp>
#include <switchyard/nats/connection.hpp>
#include <switchyard/observe/log.hpp>

#include "nats/internal.hpp"

// Events received by a bus, by id and by key, with their order; lets a test wait for a count.
class received_log {
public:
    void add(std::string_view json) {
        const auto j = nlohmann::json::parse(json);
        std::lock_guard lock(mutex_);
        ++by_id_[j["id"].get<std::string>()];
        if (j["detail"].contains("customer"))
            by_key_[j["detail"]["customer"].get<std::string>()].push_back(j["detail"]["n"].get<int>());
        ++total_;
        changed_.notify_all();
    }
    bool wait_distinct(std::size_t n, std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
        std::unique_lock lock(mutex_);
        return changed_.wait_for(lock, timeout, [&] { return by_id_.size() >= n; });
    }
    // Waits for n distinct events while they keep coming: false once none came for `idle`
    // (a stall) or `limit` passed. A slow build (sanitizers) takes longer, a stall never passes.
    bool wait_distinct_progressing(std::size_t n, std::chrono::milliseconds idle, std::chrono::milliseconds limit) {
        const auto end = std::chrono::steady_clock::now() + limit;
        std::unique_lock lock(mutex_);
        while (by_id_.size() < n) {
            const auto before = by_id_.size();
            const auto until = std::min(end, std::chrono::steady_clock::now() + idle);
            changed_.wait_until(lock, until, [&] { return by_id_.size() >= n || by_id_.size() > before; });
            if (by_id_.size() == before || std::chrono::steady_clock::now() >= end) return by_id_.size() >= n;
        }
        return true;
    }
    std::size_t distinct() {
        std::lock_guard lock(mutex_);
        return by_id_.size();
    }
    std::size_t total() {
        std::lock_guard lock(mutex_);
        return total_;
    }
    std::map<std::string, int> by_id() {
        std::lock_guard lock(mutex_);
        return by_id_;
    }
    std::map<std::string, std::vector<int>> by_key() {
        std::lock_guard lock(mutex_);
        return by_key_;
    }

private:
    std::mutex mutex_;
    std::condition_variable changed_;
    std::map<std::string, int> by_id_;
    std::map<std::string, std::vector<int>> by_key_;
    std::size_t total_ = 0;
};

// Keeps what is logged, for tests that check the log (and to keep the test output quiet).
class recording_sink : public switchyard::log_sink {
public:
    // The message, then each field as " key=value".
    void write(switchyard::log_level, std::string_view message, std::span<const switchyard::log_field> fields) override {
        std::string line(message);
        for (const auto& f : fields) {
            line += ' ';
            line += f.key;
            line += '=';
            line += f.value;
        }
        std::lock_guard lock(mutex_);
        lines_.push_back(std::move(line));
    }
    std::size_t count(std::string_view needle) const {
        std::lock_guard lock(mutex_);
        std::size_t n = 0;
        for (const auto& l : lines_) n += l.find(needle) != std::string::npos;
        return n;
    }

private:
    mutable std::mutex mutex_;
    std::vector<std::string> lines_;
};

// For buses whose dead letters a test causes on purpose: nothing logged.
class quiet_log : public switchyard::log_sink {
public:
    bool enabled(switchyard::log_level) const noexcept override { return false; }
    void write(switchyard::log_level, std::string_view, std::span<const switchyard::log_field>) override {}
};
inline switchyard::bus_options quiet_bus() { return switchyard::bus_options{}.with_log(std::make_shared<quiet_log>()); }

// Polls `condition` until it holds or `timeout` passes (for state that has no notification: a
// server's consumer info, a counter kept by nats.c's threads).
inline bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds timeout = std::chrono::seconds(15)) {
    const auto until = std::chrono::steady_clock::now() + timeout;
    while (!condition()) {
        if (std::chrono::steady_clock::now() > until) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return true;
}

inline std::shared_ptr<switchyard::nats_connection> connect_to(const std::string& url, std::shared_ptr<recording_sink> log = nullptr,
                                                               std::string name = "test") {
    switchyard::nats_connection_options o;
    o.url = url;
    o.name = std::move(name);
    o.reconnect_wait = std::chrono::milliseconds(50);
    o.request_timeout = std::chrono::milliseconds(2000);
    o.log = log ? log : std::make_shared<recording_sink>();
    return switchyard::nats_connection::connect(o);
}

// One stored message as the server has it.
struct stored_message {
    std::string subject;
    std::string data;
    std::string msg_id;  // the Nats-Msg-Id header
    std::string traceparent;
};

// The message at `seq` of `stream`, read with nats.c (js_GetMsg), or nothing.
inline std::optional<stored_message> stored(switchyard::nats_connection& c, const std::string& stream, std::uint64_t seq) {
    natsMsg* m = nullptr;
    if (js_GetMsg(&m, c.internals()->js, stream.c_str(), seq, nullptr, nullptr) != NATS_OK) return std::nullopt;
    stored_message out;
    out.subject = natsMsg_GetSubject(m);
    out.data.assign(natsMsg_GetData(m), static_cast<std::size_t>(natsMsg_GetDataLength(m)));
    const char* v = nullptr;
    if (natsMsgHeader_Get(m, "Nats-Msg-Id", &v) == NATS_OK && v) out.msg_id = v;
    if (natsMsgHeader_Get(m, "traceparent", &v) == NATS_OK && v) out.traceparent = v;
    natsMsg_Destroy(m);
    return out;
}

// How many messages the stream holds.
inline std::uint64_t stream_count(switchyard::nats_connection& c, const std::string& stream) {
    jsStreamInfo* si = nullptr;
    if (js_GetStreamInfo(&si, c.internals()->js, stream.c_str(), nullptr, nullptr) != NATS_OK) return 0;
    const auto n = si->State.Msgs;
    jsStreamInfo_Destroy(si);
    return n;
}

// The consumer's messages delivered and not yet acknowledged, and those not yet delivered.
struct consumer_counts {
    std::int64_t ack_pending = -1;
    std::uint64_t pending = 0;
    std::uint64_t redelivered = 0;
    std::int64_t waiting = -1;  // pull requests open at the server
};
inline consumer_counts consumer(switchyard::nats_connection& c, const std::string& stream, const std::string& durable) {
    jsConsumerInfo* ci = nullptr;
    consumer_counts out;
    if (js_GetConsumerInfo(&ci, c.internals()->js, stream.c_str(), durable.c_str(), nullptr, nullptr) != NATS_OK) return out;
    out.ack_pending = ci->NumAckPending;
    out.pending = ci->NumPending;
    out.redelivered = static_cast<std::uint64_t>(ci->NumRedelivered);
    out.waiting = ci->NumWaiting;
    jsConsumerInfo_Destroy(ci);
    return out;
}
