// What a handler's delivery ended in. A handler reports failure by throwing (any exception is
// retryable; `permanent_error` is not) or by returning an `outcome`: `outcome::success()`,
// `outcome::retry("why")` or `outcome::fail("why")`. Permanent failures skip retries and go
// straight to the dead-letter sink.
#pragma once

#include <chrono>
#include <string>
#include <utility>

#include "switchyard/error.hpp"

namespace switchyard {

/// What a handler's delivery ended in. A handler reports failure by throwing (any exception is
/// retryable; `permanent_error` is not) or by returning an `outcome`: `outcome::success()`,
/// `outcome::retry("why")` or `outcome::fail("why")`. Permanent failures skip retries and go
/// straight to the dead-letter sink.
class outcome {
public:
    /// How the delivery ended.
    enum class kind {
        success,    ///< delivered
        retryable,  ///< failed; retried as the target's retry_policy allows
        permanent,  ///< failed for good: dead-lettered without retries
    };

    /// The delivery succeeded.
    static outcome success() { return outcome(kind::success, {}); }
    /// The delivery failed for `reason`, and may succeed if retried.
    static outcome retry(std::string reason) { return outcome(kind::retryable, std::move(reason)); }
    /// The delivery failed for `reason` and may succeed if retried, but not before `after` (an
    /// HTTP 429's Retry-After, say): the retry waits for the longer of `after` and the target's
    /// backoff, within the retry policy's maximum event age.
    static outcome retry(std::string reason, std::chrono::milliseconds after) {
        outcome o(kind::retryable, std::move(reason));
        o.retry_after_ = after;
        return o;
    }
    /// The delivery failed for `reason`, and retrying cannot help.
    static outcome fail(std::string reason) { return outcome(kind::permanent, std::move(reason)); }

    /// How the delivery ended.
    kind status() const noexcept { return kind_; }
    /// Whether it succeeded.
    bool ok() const noexcept { return kind_ == kind::success; }
    /// Why it failed; empty on success.
    const std::string& reason() const noexcept { return reason_; }
    /// The shortest wait before a retry the handler asked for (zero: the backoff decides).
    std::chrono::milliseconds retry_after() const noexcept { return retry_after_; }

private:
    outcome(kind k, std::string reason) : kind_(k), reason_(std::move(reason)) {}
    kind kind_;
    std::string reason_;
    std::chrono::milliseconds retry_after_{0};
};

}  // namespace switchyard
