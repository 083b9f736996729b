// The executor concept: anything with `execute(callable)` can run switchyard's handlers (a
// thread pool, an asio io_context adapter, a GUI loop). `any_executor` stores one behind a
// small type-erased handle, by reference (the executor outlives the bus) or by shared_ptr.
#pragma once

#include <concepts>
#include <functional>
#include <memory>
#include <type_traits>
#include <utility>

#include "switchyard/error.hpp"

namespace switchyard {

/// The unit of work an executor runs. It never throws: the bus catches handler exceptions first.
using task = std::function<void()>;

/// Anything with `execute(callable)` can run switchyard's handlers (a thread pool, an asio
/// io_context adapter, a GUI loop). The contract: `execute` either accepts the task and
/// eventually runs it exactly once, or throws without running it (a stopped pool). An executor
/// that silently drops tasks loses the deliveries inside them.
template <class E>
concept executor = requires(E& e, task t) { e.execute(std::move(t)); };

/// A token an executor holds for as long as it lives. switchyard's pools carry one, so that a
/// target still holding a pool by reference after the pool was destroyed gets a clear error
/// instead of touching freed memory (executors must outlive the buses that use them).
class executor_lifetime {
public:
    /// Expires when this object is destroyed.
    std::weak_ptr<const void> token() const noexcept { return token_; }

private:
    std::shared_ptr<const char> token_ = std::make_shared<const char>('\0');
};

/// Any executor behind a small type-erased handle, held by reference (the executor outlives the
/// bus) or by shared_ptr.
class any_executor {
public:
    /// Refers to `e`, which must outlive every bus and target that uses it.
    template <executor E>
        requires(!std::is_same_v<std::remove_cvref_t<E>, any_executor>)
    any_executor(E& e) noexcept  // NOLINT(google-explicit-constructor): executors convert implicitly
        : object_(&e), execute_(&call<E>), runs_inline_(runs_inline<E>()) {
        if constexpr (requires { { e.lifetime() } -> std::convertible_to<std::weak_ptr<const void>>; }) {
            lifetime_ = e.lifetime();
            watched_ = true;
        }
    }

    /// Shares ownership of `e`.
    template <executor E>
    any_executor(std::shared_ptr<E> e) noexcept  // NOLINT(google-explicit-constructor)
        : owner_(e), object_(e.get()), execute_(&call<E>), runs_inline_(runs_inline<E>()) {}

    /// Hands `t` to the executor. Throws switchyard::error, without running `t`, when the
    /// executor is known to be destroyed.
    void execute(task t) const {
        if (watched_ && lifetime_.expired())
            throw error("the executor this target runs on was destroyed while a bus still used it: destroy the bus (or end "
                        "the subscription) before its executors");
        execute_(object_, std::move(t));
    }

    /// True when the executor runs every task at once on the calling thread (it declares
    /// `static constexpr bool runs_inline = true`), so callers may skip packaging the task.
    bool is_inline() const noexcept { return runs_inline_; }

    /// True when both refer to the same executor object.
    bool same_as(const any_executor& other) const noexcept { return object_ == other.object_; }

private:
    template <class E> static constexpr bool runs_inline() {
        if constexpr (requires { E::runs_inline; }) return E::runs_inline;
        else return false;
    }
    template <class E> static void call(void* object, task t) { static_cast<E*>(object)->execute(std::move(t)); }

    std::shared_ptr<void> owner_;
    std::weak_ptr<const void> lifetime_;  // expires with a by-reference executor that has one
    bool watched_ = false;
    void* object_;
    void (*execute_)(void*, task);
    bool runs_inline_;
};

}  // namespace switchyard
