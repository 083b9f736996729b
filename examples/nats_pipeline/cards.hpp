// What the three services of examples/nats_pipeline share: the transaction event (EventBridge
// JSON: source "com.example.cards", detail-type "Transaction") and the JetStream stream that
// carries it. Every service declares the stream when it starts (add_stream creates it, or leaves
// an identical one as it is), so they can start in any order.
#pragma once

#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstddef>
#include <cstdio>
#include <mutex>
#include <string>
#include <unordered_set>

#include <switchyard/nats/connection.hpp>
#include <switchyard/switchyard.hpp>

namespace cards {

struct Transaction {
    std::string id;  // "t-000042": increasing, so a customer's transactions sort in publish order
    std::string customerId;
    double amount = 0.0;  // whole cents (12.34)
    std::string currency;
    std::string country;
    std::string merchant;
};
SWITCHYARD_EVENT(Transaction, "Transaction", id, customerId, amount, currency, country, merchant)

inline constexpr const char* source = "com.example.cards";

// The producer stores each transaction on cards.<partition of its customer>.
inline switchyard::nats_stream_config stream() { return {.name = "CARDS", .subjects = {"cards.>"}}; }

// Totals are kept in cents: integers add up the same in every process, in any order.
inline long long cents(double amount) { return std::llround(amount * 100); }
inline std::string usd(long long cents) {
    char text[32];
    std::snprintf(text, sizeof text, "%lld.%02lld USD", cents / 100, cents % 100);
    return text;
}

// JetStream delivers at least once (a redelivery after a crash or a lost ack comes again): a
// consumer counts each event id once. Its main thread waits here until it has seen them all.
class seen_events {
public:
    // True the first time an id is seen.
    bool first_time(const std::string& event_id) {
        std::lock_guard lock(mutex_);
        if (!ids_.insert(event_id).second) return false;
        changed_.notify_all();
        return true;
    }
    bool wait_for(std::size_t count, std::chrono::seconds timeout) {
        std::unique_lock lock(mutex_);
        return changed_.wait_for(lock, timeout, [&] { return ids_.size() >= count; });
    }
    std::size_t size() {
        std::lock_guard lock(mutex_);
        return ids_.size();
    }

private:
    std::mutex mutex_;
    std::condition_variable changed_;
    std::unordered_set<std::string> ids_;
};

}  // namespace cards
