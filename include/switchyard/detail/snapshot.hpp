// An immutable value published for many readers: readers take a shared_ptr to the current
// version; a writer swaps in the next one. The lock is held only to copy or swap a pointer, so a
// reader never waits for a writer's work (the writer builds its version before taking it).
// (std::atomic<std::shared_ptr> would do, but libstdc++ 12's lock-bit implementation is opaque
// to ThreadSanitizer, and every concurrent path here must be TSan-clean.)
#pragma once

#include <memory>
#include <mutex>
#include <utility>

namespace switchyard::detail {

template <class T> class snapshot {
public:
    explicit snapshot(std::shared_ptr<const T> initial) : current_(std::move(initial)) {}

    std::shared_ptr<const T> load() const {
        std::lock_guard lock(mutex_);
        return current_;
    }

    void store(std::shared_ptr<const T> next) {
        std::lock_guard lock(mutex_);
        current_.swap(next);
        // `next` (the old version) is released after the lock, by whoever holds it last.
    }

private:
    mutable std::mutex mutex_;
    std::shared_ptr<const T> current_;
};

}  // namespace switchyard::detail
