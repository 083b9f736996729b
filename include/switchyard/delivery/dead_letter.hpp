// Dead letters: an event that could not be delivered to a target, with why. A target's
// dead-letter sink receives them; without one, the bus's error handler does. Nothing is dropped.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <utility>

#include "switchyard/event.hpp"

namespace switchyard {

/// Why a delivery was given up.
enum class dead_letter_reason {
    retries_exhausted,  ///< max_retry_attempts used up
    max_age_exceeded,   ///< the event grew older than max_event_age
    permanent_failure,  ///< the handler said retrying cannot help
    queue_full,         ///< the target's queue was full and its overflow policy is dead_letter
    shutdown,           ///< the bus shut down before the delivery ended
    routing_loop,       ///< the event crossed too many buses
};

/// The reason's name: "retries-exhausted", "max-age-exceeded", "permanent-failure",
/// "queue-full", "shutdown" or "routing-loop".
constexpr std::string_view to_string(dead_letter_reason r) noexcept {
    switch (r) {
        case dead_letter_reason::retries_exhausted: return "retries-exhausted";
        case dead_letter_reason::max_age_exceeded: return "max-age-exceeded";
        case dead_letter_reason::permanent_failure: return "permanent-failure";
        case dead_letter_reason::queue_full: return "queue-full";
        case dead_letter_reason::shutdown: return "shutdown";
        case dead_letter_reason::routing_loop: return "routing-loop";
    }
    return "unknown";
}

/// An event that could not be delivered to a target, with why. A target's dead-letter sink
/// receives it; without one, the bus's error handler does. Nothing is dropped.
struct dead_letter {
    event_ptr event;            ///< the event
    std::string rule;           ///< the rule's name
    std::string target;         ///< the target's id
    std::string error_code;     ///< e.g. "HandlerFailed", "ThrottlingException", "Shutdown"
    std::string error_message;  ///< the handler's message, or what the bus decided
    unsigned attempts = 0;      ///< handler calls made
    dead_letter_reason reason = dead_letter_reason::retries_exhausted;  ///< why it was given up
};

/// Where a target's dead letters go: any callable taking `const dead_letter&`. It runs on the
/// thread that gave up on the delivery; an exception from it goes to the bus's error handler.
using dead_letter_sink = std::function<void(const dead_letter&)>;

}  // namespace switchyard
