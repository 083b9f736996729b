// Shared helpers for switchyard's tests: event types used across files, and a latch-like
// waiter so tests wait on conditions with a timeout instead of sleeping.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <vector>

#include <switchyard/detail/json_depth.hpp>
#include <switchyard/detail/time.hpp>
#include <switchyard/detail/uuid.hpp>
#include <switchyard/switchyard.hpp>

namespace test_types {

struct Card {
    std::string brand;
    std::string last4;
    friend bool operator==(const Card&, const Card&) = default;
};
SWITCHYARD_FIELDS(Card, brand, last4)

struct CreditCardTransaction {
    std::string transactionId;
    std::string customerId;
    double total = 0.0;
    Card card;
    std::vector<std::string> tags;
    friend bool operator==(const CreditCardTransaction&, const CreditCardTransaction&) = default;
};
SWITCHYARD_EVENT(CreditCardTransaction, "CREDIT_CARD_TRANSACTION", transactionId, customerId, total, card, tags)

struct Refund {
    std::string transactionId;
    double amount = 0.0;
};
SWITCHYARD_EVENT(Refund, "REFUND", transactionId, amount)

// The pattern that routes Refund events, and the bus name most tests use.
inline constexpr const char* refunds = R"({"detail-type": ["REFUND"]})";
inline const std::string bus_name = "payments";

// A retry policy fast enough for tests: `retries` retries, 1-2 ms apart.
inline switchyard::retry_policy quick(unsigned retries) {
    return switchyard::retry_policy{.max_retry_attempts = retries, .base_delay = std::chrono::milliseconds(1),
                                    .max_delay = std::chrono::milliseconds(2)};
}

}  // namespace test_types

// Counts events and lets a test wait, with a timeout, until a number has arrived.
class tally {
public:
    void add(int n = 1) {
        // Notify under the lock: a waiter may destroy the tally as soon as it can return.
        std::lock_guard lock(mutex_);
        count_ += n;
        changed_.notify_all();
    }
    int value() const {
        std::lock_guard lock(mutex_);
        return count_;
    }
    bool wait_for(int at_least, std::chrono::milliseconds timeout = std::chrono::seconds(10)) const {
        std::unique_lock lock(mutex_);
        return changed_.wait_for(lock, timeout, [&] { return count_ >= at_least; });
    }

private:
    mutable std::mutex mutex_;
    mutable std::condition_variable changed_;
    int count_ = 0;
};

// A gate handlers can wait at until the test opens it.
class gate {
public:
    void open() {
        std::lock_guard lock(mutex_);
        open_ = true;
        opened_.notify_all();
    }
    void wait() const {
        std::unique_lock lock(mutex_);
        opened_.wait(lock, [&] { return open_; });
    }

private:
    mutable std::mutex mutex_;
    mutable std::condition_variable opened_;
    bool open_ = false;
};
