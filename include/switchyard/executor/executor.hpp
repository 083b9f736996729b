// The executor concept: anything with `execute(callable)` can run switchyard's handlers (a
// thread pool, an asio io_context adapter, a GUI loop). `any_executor` stores one behind a
// small type-erased handle, by reference (the executor outlives the bus) or by shared_ptr.
#pragma once

#include <concepts>
#include <functional>
#include <memory>
#include <type_traits>
#include <utility>

namespace switchyard {

// The unit of work an executor runs. It never throws: the bus catches handler exceptions first.
using task = std::function<void()>;

template <class E>
concept executor = requires(E& e, task t) { e.execute(std::move(t)); };

class any_executor {
public:
    // Refers to `e`, which must outlive every bus and target that uses it.
    template <executor E>
        requires(!std::is_same_v<std::remove_cvref_t<E>, any_executor>)
    any_executor(E& e) noexcept  // NOLINT(google-explicit-constructor): executors convert implicitly
        : object_(&e), execute_(&call<E>) {}

    // Shares ownership of `e`.
    template <executor E>
    any_executor(std::shared_ptr<E> e) noexcept  // NOLINT(google-explicit-constructor)
        : owner_(e), object_(e.get()), execute_(&call<E>) {}

    void execute(task t) const { execute_(object_, std::move(t)); }

    // True when both refer to the same executor object.
    bool same_as(const any_executor& other) const noexcept { return object_ == other.object_; }

private:
    template <class E> static void call(void* object, task t) { static_cast<E*>(object)->execute(std::move(t)); }

    std::shared_ptr<void> owner_;
    void* object_;
    void (*execute_)(void*, task);
};

}  // namespace switchyard
