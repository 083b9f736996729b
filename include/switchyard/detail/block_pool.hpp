// Small blocks recycled across threads: the memory of events and deliveries.
//
// Why: an event handed to a thread pool is allocated by the publishing thread and freed by the
// worker. glibc's malloc keeps a small cache per thread, so the worker's frees fill its own cache
// and then go back to the publisher's arena under that arena's lock, while the publisher's
// mallocs miss its cache and take the same lock: a fifth of a cross-thread publish was malloc and
// free (BENCHMARKS.md, "The envelope without allocations"). Here each thread keeps its freed
// blocks in a list of its own and hands them on in batches of 64 to a shared stack per size,
// which an allocating thread takes whole when its list is empty: one atomic operation per batch
// instead of a lock per block.
//
// Every block is an ordinary `::operator new` block of its size class, so any block may be freed
// to the system at any time (a thread that exits frees its list; a full shared stack frees what
// comes past its limit). A thread holds at most a few hundred blocks per size class. Under
// AddressSanitizer (and MemorySanitizer, HWASan) the pool is bypassed, so use-after-free of an
// event is still found; define SWITCHYARD_NO_BLOCK_POOL to bypass it elsewhere (Valgrind).
#pragma once

#include <cstddef>
#include <memory>
#include <new>
#include <type_traits>
#include <utility>

#include "switchyard/config.hpp"

namespace switchyard::detail {

/// A block of at least `bytes` bytes, aligned for any type with the default new alignment.
/// Blocks up to `pooled_block_limit` bytes come from the pool. Throws std::bad_alloc.
SWITCHYARD_API void* pool_allocate(std::size_t bytes);

/// Returns a block from pool_allocate(bytes), with the same `bytes`. Any thread may return it.
SWITCHYARD_API void pool_deallocate(void* block, std::size_t bytes) noexcept;

/// Blocks larger than this are plain `::operator new` blocks.
inline constexpr std::size_t pooled_block_limit = 1024;

/// False when the pool is bypassed (AddressSanitizer builds).
SWITCHYARD_API bool pool_enabled() noexcept;

/// A standard allocator over the pool, for std::allocate_shared (an event and its reference
/// counts in one pooled block).
template <class T> struct pool_allocator {
    using value_type = T;
    static_assert(alignof(T) <= __STDCPP_DEFAULT_NEW_ALIGNMENT__, "pool_allocator serves default-aligned types only");

    pool_allocator() noexcept = default;
    template <class U> pool_allocator(const pool_allocator<U>&) noexcept {}  // NOLINT(google-explicit-constructor)

    T* allocate(std::size_t n) {
        if (n > static_cast<std::size_t>(-1) / sizeof(T)) throw std::bad_array_new_length();
        return static_cast<T*>(pool_allocate(n * sizeof(T)));
    }
    void deallocate(T* p, std::size_t n) noexcept { pool_deallocate(p, n * sizeof(T)); }

    template <class U> bool operator==(const pool_allocator<U>&) const noexcept { return true; }
};

/// std::make_shared in a pooled block (a plain std::make_shared for an over-aligned type).
template <class T, class... Args> std::shared_ptr<T> make_pooled(Args&&... args) {
    using object = std::remove_const_t<T>;  // an allocator's value_type is never const
    if constexpr (alignof(object) > __STDCPP_DEFAULT_NEW_ALIGNMENT__)
        return std::make_shared<object>(std::forward<Args>(args)...);
    else
        return std::allocate_shared<object>(pool_allocator<object>{}, std::forward<Args>(args)...);
}

}  // namespace switchyard::detail

#ifdef SWITCHYARD_HEADER_ONLY
#include "switchyard/detail/block_pool-inl.hpp"
#endif
