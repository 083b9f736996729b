// Settlement: one callback per publish, called once every delivery that publish started has
// ended (delivered, dead-lettered or discarded), or at once when it started none (refused,
// deduplicated, or matched no rule). A bridge that must not acknowledge its input before the bus
// is done with it (switchyard::nats's source acks a JetStream message here) uses
// `bus::publish(event, on_settled)`.
//
// The engine carries a `std::shared_ptr<settlement_tracker>` in each delivery of such a publish
// (null for every other publish: the synchronous path pays a null pointer's copy); each delivery
// records how it ended, and the last reference to go — the publish holds one until it has
// started every delivery and knows its result — calls the callback.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "switchyard/delivery/dead_letter.hpp"
#include "switchyard/publish.hpp"

namespace switchyard {

/// One delivery of a settled publish that was dead-lettered: which target, and why.
struct settled_dead_letter {
    std::string rule;                                                   ///< the rule's name
    std::string target;                                                 ///< the target's id
    dead_letter_reason reason = dead_letter_reason::retries_exhausted;  ///< why it was given up
    std::string error_code;                                             ///< e.g. "HandlerFailed"
    std::string error_message;                                          ///< the handler's message, or the bus's
    unsigned attempts = 0;                                              ///< handler calls made
};

/// What became of one publish once every delivery it started has ended.
struct publish_settlement {
    /// The publish's own result: refused (error_code), deduplicated, or accepted.
    publish_result publish{};
    std::size_t started = 0;        ///< deliveries the publish started
    std::size_t delivered = 0;      ///< of those, delivered
    std::size_t dead_lettered = 0;  ///< of those, dead-lettered (each in `dead_letters`)
    std::size_t discarded = 0;      ///< of those, discarded: their subscription ended first
    std::vector<settled_dead_letter> dead_letters{};  ///< one per dead-lettered delivery

    /// Accepted, and every delivery it started was delivered (or discarded).
    bool ok() const noexcept { return publish.ok() && dead_lettered == 0; }
};

/// Called once per publish with its settlement, on the thread that ended its last delivery (or
/// the publishing thread when that was the publish itself). It runs while the bus still counts
/// that delivery as pending, so `bus::drain()` returns only after it has returned. It must not
/// throw (an exception is caught and dropped) and must not drain the bus without a timeout.
using settlement_callback = std::function<void(const publish_settlement&)>;

namespace detail {

// The shared state of one settled publish: deliveries record into it; the destructor, run by
// whoever drops the last reference, calls the callback.
class settlement_tracker {
public:
    explicit settlement_tracker(settlement_callback callback) : callback_(std::move(callback)) {}
    settlement_tracker(const settlement_tracker&) = delete;
    settlement_tracker& operator=(const settlement_tracker&) = delete;
    ~settlement_tracker() {
        if (!callback_) return;
        try {
            callback_(summary_);
        } catch (...) {
            // A callback's failure must not change what is delivered (documented above).
        }
    }

    void started() noexcept {
        std::lock_guard lock(mutex_);
        ++summary_.started;
    }
    void delivered() noexcept {
        std::lock_guard lock(mutex_);
        ++summary_.delivered;
    }
    void discarded() noexcept {
        std::lock_guard lock(mutex_);
        ++summary_.discarded;
    }
    void dead_lettered(const dead_letter& letter) noexcept {
        std::lock_guard lock(mutex_);
        ++summary_.dead_lettered;
        try {
            summary_.dead_letters.push_back(
                {letter.rule, letter.target, letter.reason, letter.error_code, letter.error_message, letter.attempts});
        } catch (...) {
            // Out of memory: the count above still says it was dead-lettered.
        }
    }
    // The publish threw: its caller gets the exception, and nobody is called back.
    void forget() noexcept {
        std::lock_guard lock(mutex_);
        callback_ = nullptr;
    }
    void published(publish_result result) {
        std::lock_guard lock(mutex_);
        summary_.publish = std::move(result);
    }

private:
    std::mutex mutex_;
    publish_settlement summary_;
    settlement_callback callback_;
};

}  // namespace detail
}  // namespace switchyard
