// block_pool.hpp's compiled half (compiled into libswitchyard, or included by block_pool.hpp when
// SWITCHYARD_HEADER_ONLY is defined).
#pragma once

#include <atomic>
#include <cstddef>
#include <new>

#include "switchyard/config.hpp"
#include "switchyard/detail/block_pool.hpp"

// Memory checkers see a reused block as still allocated, so under them the pool is bypassed. A
// build can bypass it too with SWITCHYARD_NO_BLOCK_POOL (for Valgrind, say); define it alike in
// every file of a header-only build.
#if defined(SWITCHYARD_NO_BLOCK_POOL) || defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_HWADDRESS__)
#define SWITCHYARD_POOL_BYPASS 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(memory_sanitizer) || __has_feature(hwaddress_sanitizer)
#define SWITCHYARD_POOL_BYPASS 1
#endif
#endif

namespace switchyard::detail::block_pool_impl {

inline constexpr std::size_t granule = 64;                          // size classes are 64, 128, ... bytes
inline constexpr std::size_t classes = pooled_block_limit / granule;
inline constexpr std::size_t batch = 64;           // blocks a thread hands to the shared stack at once
inline constexpr std::size_t kept = 256;           // blocks a thread keeps per class before handing on
inline constexpr std::size_t shared_limit = 8192;  // blocks the shared stack keeps per class; more are freed

// A free block. The first block of a batch also carries the batch's tail, length and the next batch.
struct node {
    node* next;
    node* next_batch;
    node* tail;
    std::size_t count;
};
static_assert(sizeof(node) <= granule);

// One stack of batches per size class, shared by all threads. Threads only push batches and take
// the whole stack (never pop one), so the stack has no ABA problem.
struct shared_class {
    std::atomic<node*> batches{nullptr};
    std::atomic<std::size_t> blocks{0};  // about how many blocks the stack holds (bounds it)
};

// A thread's own free lists. Trivially destructible, so it can still be read after the thread's
// reaper has run (a thread_local destroyed later may free an event).
struct local_class {
    node* head = nullptr;
    std::size_t count = 0;
    node* spill = nullptr;  // blocks past `kept`, gathered into the next batch for the shared stack
    node* spill_tail = nullptr;
    std::size_t spill_count = 0;
};
struct local_cache {
    local_class lists[classes];
    bool registered = false;  // the reaper is set up for this thread
    bool dead = false;        // the thread is exiting: blocks go straight to the system
};

inline shared_class& shared(std::size_t k) noexcept {
    static shared_class stacks[classes];  // constant-initialized and never destroyed
    return stacks[k];
}

inline local_cache& cache() noexcept {
    thread_local constinit local_cache c;
    return c;
}

// Returns a block to the system. Sized when the compiler offers it (Clang before 19 does not
// by default).
inline void free_block(void* block, [[maybe_unused]] std::size_t bytes) noexcept {
#if defined(__cpp_sized_deallocation)
    ::operator delete(block, bytes);
#else
    ::operator delete(block);
#endif
}

inline void free_list(node* n, std::size_t bytes) noexcept {
    while (n) {
        node* next = n->next;
        free_block(n, bytes);
        n = next;
    }
}

// Frees the exiting thread's blocks and marks its cache dead.
struct reaper {
    reaper() = default;
    reaper(const reaper&) = delete;
    reaper& operator=(const reaper&) = delete;
    ~reaper() {
        auto& c = cache();
        for (std::size_t k = 0; k < classes; ++k) {
            free_list(c.lists[k].head, (k + 1) * granule);
            free_list(c.lists[k].spill, (k + 1) * granule);
            c.lists[k] = local_class{};
        }
        c.dead = true;
    }
};

// A thread's first blocks (its first free, or its first refill) set up the reaper. A block a
// thread frees during static destruction, after its thread_local objects were destroyed, stays in
// its list until the process ends.
inline void register_reaper(local_cache& c) {
    thread_local reaper r;  // destroyed at the thread's exit
    (void)r;
    c.registered = true;
}

// Hands the thread's gathered spill to the shared stack, or frees it when the stack is full.
inline void push_spill(local_class& l, std::size_t k) noexcept {
    node* first = l.spill;
    first->tail = l.spill_tail;
    first->count = l.spill_count;
    l.spill = l.spill_tail = nullptr;
    l.spill_count = 0;
    auto& s = shared(k);
    if (s.blocks.load(std::memory_order_relaxed) >= shared_limit) {
        free_list(first, (k + 1) * granule);
        return;
    }
    s.blocks.fetch_add(first->count, std::memory_order_relaxed);
    first->next_batch = s.batches.load(std::memory_order_relaxed);
    while (!s.batches.compare_exchange_weak(first->next_batch, first, std::memory_order_release, std::memory_order_relaxed)) {
    }
}

// Moves batches of the shared stack into the thread's list (which is empty): about `kept`
// blocks, so that a thread that allocates once and then idles does not hold the whole stack. It
// takes the stack whole (no ABA: nobody pops single batches) and pushes back what it leaves.
inline void refill(local_class& l, std::size_t k) noexcept {
    auto& s = shared(k);
    if (!s.batches.load(std::memory_order_relaxed)) return;
    node* b = s.batches.exchange(nullptr, std::memory_order_acquire);
    std::size_t taken = 0;
    node* tail = nullptr;
    while (b && taken < kept) {
        node* next_batch = b->next_batch;
        taken += b->count;
        if (tail) tail->next = b;
        else l.head = b;
        tail = b->tail;
        b = next_batch;
    }
    if (tail) tail->next = nullptr;
    l.count += taken;
    s.blocks.fetch_sub(taken, std::memory_order_relaxed);
    if (b) {
        // The rest goes back as one chain: its last batch links to whatever was pushed meanwhile.
        node* last = b;
        while (last->next_batch) last = last->next_batch;
        last->next_batch = s.batches.load(std::memory_order_relaxed);
        while (!s.batches.compare_exchange_weak(last->next_batch, b, std::memory_order_release, std::memory_order_relaxed)) {
        }
    }
}

}  // namespace switchyard::detail::block_pool_impl

namespace switchyard::detail {

SWITCHYARD_INLINE bool pool_enabled() noexcept {
#ifdef SWITCHYARD_POOL_BYPASS
    return false;
#else
    return true;
#endif
}

SWITCHYARD_INLINE void* pool_allocate(std::size_t bytes) {
    using namespace block_pool_impl;
#ifndef SWITCHYARD_POOL_BYPASS
    if (bytes != 0 && bytes <= pooled_block_limit) {
        const std::size_t k = (bytes - 1) / granule;
        auto& c = cache();
        auto& l = c.lists[k];
        if (!l.head && !c.dead) {
            if (!c.registered) register_reaper(c);  // the blocks taken are freed when this thread exits
            refill(l, k);
        }
        if (node* n = l.head) {
            l.head = n->next;
            --l.count;
            return n;
        }
        return ::operator new((k + 1) * granule);
    }
#endif
    return ::operator new(bytes);
}

SWITCHYARD_INLINE void pool_deallocate(void* block, std::size_t bytes) noexcept {
    using namespace block_pool_impl;
#ifndef SWITCHYARD_POOL_BYPASS
    if (block && bytes != 0 && bytes <= pooled_block_limit) {
        const std::size_t k = (bytes - 1) / granule;
        auto& c = cache();
        if (c.dead) return free_block(block, (k + 1) * granule);
        if (!c.registered) register_reaper(c);
        auto& l = c.lists[k];
        node* n = static_cast<node*>(block);
        if (l.count < kept) {
            n->next = l.head;
            l.head = n;
            ++l.count;
            return;
        }
        n->next = l.spill;
        if (!l.spill) l.spill_tail = n;
        l.spill = n;
        if (++l.spill_count == batch) push_spill(l, k);
        return;
    }
#endif
    block_pool_impl::free_block(block, bytes);
}

}  // namespace switchyard::detail
