// Admission: the bounded queue of each target as a count of slots, and the plan of one event on
// its way in, which holds a slot on each of its targets and gives them back by itself unless it
// hands them over to the deliveries it starts (RAII: no exit path can leak a slot).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <utility>
#include <vector>

namespace switchyard::detail {

// Deliveries accepted for a target and not yet ended, bounded by a capacity.
class slot_counter {
public:
    explicit slot_counter(std::size_t capacity) noexcept : capacity_(capacity) {}

    std::size_t capacity() const noexcept { return capacity_; }
    std::uint64_t in_use() const noexcept { return in_use_.load(std::memory_order_relaxed); }

    // seq_cst here and in release(): a waiter announces itself then re-reads in_use_ while a
    // releaser decrements then reads waiters_; weaker orders could let both miss the other.
    bool try_reserve() noexcept {
        auto current = in_use_.load(std::memory_order_seq_cst);
        while (current < capacity_)
            if (in_use_.compare_exchange_weak(current, current + 1, std::memory_order_seq_cst)) return true;
        return false;
    }
    bool reserve_until(std::chrono::steady_clock::time_point deadline) {
        if (try_reserve()) return true;
        std::unique_lock lock(mutex_);
        waiters_.fetch_add(1, std::memory_order_seq_cst);
        const bool got = freed_.wait_until(lock, deadline, [this] { return try_reserve(); });
        waiters_.fetch_sub(1, std::memory_order_acq_rel);
        return got;
    }
    // Takes a slot even past the capacity: for deliveries accepted before (recovered after a
    // crash, or dead-lettered at once), which must not be refused a second time.
    void force_reserve() noexcept { in_use_.fetch_add(1, std::memory_order_seq_cst); }
    void release() noexcept {
        in_use_.fetch_sub(1, std::memory_order_seq_cst);
        if (waiters_.load(std::memory_order_seq_cst) != 0) {
            std::lock_guard lock(mutex_);
            freed_.notify_all();
        }
    }

private:
    const std::size_t capacity_;
    std::atomic<std::uint64_t> in_use_{0};
    std::atomic<unsigned> waiters_{0};
    std::mutex mutex_;
    std::condition_variable freed_;
};

// The targets one event is about to reach, with the slot reserved on each. `Target` is whatever
// the caller routes to; the plan only needs its slot counter. Steps live in caller-provided
// storage (a per-thread scratch on the hot path) until `keep()` copies them into the plan.
template <class Target> class admission_plan {
public:
    struct step {
        const Target* target;
        slot_counter* slots;
        bool reserved = false;
    };

    explicit admission_plan(std::vector<step>& storage) noexcept : steps_(&storage) { storage.clear(); }
    admission_plan(admission_plan&& other) noexcept { take(std::move(other)); }
    admission_plan& operator=(admission_plan&& other) noexcept {
        if (this != &other) {
            release();
            take(std::move(other));
        }
        return *this;
    }
    admission_plan(const admission_plan&) = delete;
    admission_plan& operator=(const admission_plan&) = delete;
    ~admission_plan() { release(); }

    void add(const Target* target, slot_counter* slots) { steps_->push_back({target, slots, false}); }
    std::vector<step>& steps() noexcept { return *steps_; }
    const std::vector<step>& steps() const noexcept { return *steps_; }
    bool empty() const noexcept { return steps_->empty(); }

    // Gives back every slot reserved so far.
    void release() noexcept {
        if (!steps_) return;
        for (auto& s : *steps_)
            if (s.reserved) {
                s.slots->release();
                s.reserved = false;
            }
    }
    // Gives back every slot and forgets the steps, to plan the same event again.
    void reset() noexcept {
        release();
        if (steps_) steps_->clear();
    }
    // The deliveries started from this plan own its slots now: nothing to give back.
    void hand_over() noexcept {
        if (!steps_) return;
        for (auto& s : *steps_) s.reserved = false;
    }
    // Moves the steps out of the caller's storage, which may be reused (a batch keeps plans).
    void keep() {
        if (steps_ == &own_) return;
        own_ = *steps_;
        steps_->clear();
        steps_ = &own_;
    }

private:
    void take(admission_plan&& other) noexcept {
        if (other.steps_ == &other.own_) {
            own_ = std::move(other.own_);
            steps_ = &own_;
        } else {
            steps_ = other.steps_;
        }
        other.steps_ = nullptr;
    }

    std::vector<step>* steps_ = nullptr;
    std::vector<step> own_;
};

}  // namespace switchyard::detail
