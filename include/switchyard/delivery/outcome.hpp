// What a handler's delivery ended in. A handler reports failure by throwing (any exception is
// retryable; `permanent_error` is not) or by returning an `outcome`: `outcome::success()`,
// `outcome::retry("why")` or `outcome::fail("why")`. Permanent failures skip retries and go
// straight to the dead-letter sink.
#pragma once

#include <string>
#include <utility>

#include "switchyard/error.hpp"

namespace switchyard {

class outcome {
public:
    enum class kind { success, retryable, permanent };

    static outcome success() { return outcome(kind::success, {}); }
    static outcome retry(std::string reason) { return outcome(kind::retryable, std::move(reason)); }
    static outcome fail(std::string reason) { return outcome(kind::permanent, std::move(reason)); }

    kind status() const noexcept { return kind_; }
    bool ok() const noexcept { return kind_ == kind::success; }
    const std::string& reason() const noexcept { return reason_; }

private:
    outcome(kind k, std::string reason) : kind_(k), reason_(std::move(reason)) {}
    kind kind_;
    std::string reason_;
};

}  // namespace switchyard
