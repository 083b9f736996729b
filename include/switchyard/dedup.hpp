// Publish-time deduplication: a window (default 5 minutes) of the keys seen recently, keyed by a
// producer-supplied deduplication id or by a digest of source + detail-type + detail. Bounded in
// time and in count, sharded so that many publishers rarely contend.
//
// Semantics:
//  - first_seen(key, now) is true when `key` was not seen in [now - window, now): the caller
//    delivers. A duplicate does not extend the window (as SQS FIFO deduplication: the interval
//    starts at the first sighting). A key seen exactly `window` after its first sighting is new.
//  - Count bound: each of the S shards holds at most max_entries / S keys; a shard that is full
//    evicts its oldest key early, counted in `evictions_by_count`. An evicted key is forgotten, so
//    a duplicate of it that arrives later inside its window is NOT caught: size max_entries for
//    the peak rate times the window (1,000,000 covers ~3,300 events/s for 5 minutes). Because the
//    bound is per shard, evictions can start slightly before the total reaches max_entries.
//  - Memory: measured at ~135 bytes per key (137 for 37-character ids, 129 for content keys:
//    the key text, a hash-table node, its bucket and a FIFO slot), so ~135 MB at the default
//    1,000,000 entries when full. The buckets (8 bytes per entry, 8 MB by default) are
//    allocated up front.
//  - Keys are compared exactly (the full text), never by hash alone, so two different keys are
//    never taken for duplicates. Content keys are SHA-256 digests; see content_key(). Details
//    that differ only in whitespace between JSON tokens have the same content key.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "switchyard/config.hpp"
#include "switchyard/error.hpp"

namespace switchyard {

/// How long and how many keys a dedup_window remembers.
struct dedup_options {
    std::chrono::milliseconds window = std::chrono::minutes(5);  ///< how long a key counts as seen
    std::size_t max_entries = 1'000'000;  ///< at most this many keys (about 135 bytes each)
    std::size_t shards = 16;              ///< rounded down to a power of two, at most max_entries
};

/// Publish-time deduplication: a window (default 5 minutes) of the keys seen recently, keyed by a
/// producer-supplied deduplication id (id_key()) or by a digest of source + detail-type + detail
/// (content_key()). Bounded in time and in count, sharded so that many publishers rarely contend.
///
/// A duplicate does not extend the window (as SQS FIFO deduplication: the interval starts at the
/// first sighting); a key seen exactly `window` after its first sighting is new. Each of the S
/// shards holds at most max_entries / S keys; a shard that is full evicts its oldest key early
/// (counted in `evictions_by_count`), and a duplicate of an evicted key is NOT caught: size
/// max_entries for the peak rate times the window (1,000,000 covers ~3,300 events/s for 5
/// minutes). Memory: ~135 bytes per key, so ~135 MB at the default 1,000,000 entries when full;
/// the buckets (8 bytes per entry) are allocated up front. Keys are compared exactly (the full
/// text), never by hash alone.
class SWITCHYARD_API dedup_window {
public:
    /// The clock windows are measured on.
    using clock = std::chrono::steady_clock;

    /// Counts for monitoring.
    struct stats {
        std::uint64_t entries = 0;             ///< keys held now (a forgotten key until its slot is reached)
        std::uint64_t duplicates = 0;          ///< first_seen calls that returned false
        std::uint64_t evictions_by_count = 0;  ///< keys forgotten early because a shard was full
        std::uint64_t expirations = 0;         ///< keys forgotten because their window ended
    };

    /// Throws switchyard::error when the window is not positive or a count is zero.
    SWITCHYARD_API explicit dedup_window(dedup_options options = {});
    SWITCHYARD_API ~dedup_window();

    dedup_window(const dedup_window&) = delete;
    dedup_window& operator=(const dedup_window&) = delete;

    /// True if `key` was first seen now (the caller delivers), false if it is a duplicate inside
    /// the window. `now` is injectable for tests and for callers that already read the clock.
    bool first_seen(std::string_view key, clock::time_point now = clock::now());

    /// Undoes a first sighting, for a caller that recorded a key and then did not accept the
    /// event after all (a later check failed): without this, the producer's retry would be taken
    /// for a duplicate and lost. True if the key was held.
    bool forget(std::string_view key);

    /// JSON text without the whitespace between tokens, so details that differ only in layout are
    /// the same content. The text must be well-formed (ingest checked it): only strings need care.
    static std::string without_insignificant_space(std::string_view json);

    /// A key for an event without a deduplication id: a digest of the source, the detail-type and
    /// the detail JSON text without insignificant whitespace (length-prefixed, so no field can
    /// bleed into the next): details that differ only in layout ({"a":1} vs {"a": 1}) give the
    /// same key.
    // SHA-256 rather than a fast hash because a false duplicate silently loses an event: the key
    // is SHA-256 truncated to 128 bits, so an accidental collision among a million keys has
    // probability ~1e-27, and making a chosen event collide with someone else's (a second
    // preimage) takes ~2^128 work. Fast hashes such as FNV-1a or MurmurHash3 have practical,
    // seed-independent collisions.
    static std::string content_key(std::string_view source, std::string_view detail_type, std::string_view detail_json);

    /// A key for a producer-supplied deduplication id. The prefixes keep the two kinds apart, so
    /// an id can never equal some event's content key.
    static std::string id_key(std::string_view dedup_id);

    /// The counts, summed over the shards.
    stats statistics() const;

    /// The options in effect (shards rounded as documented).
    const dedup_options& options() const noexcept { return options_; }

private:
    // The hash is computed once per call and stored, so rehashing and bucket walks never rehash text.
    struct key_type {
        std::size_t hash;
        std::string text;
    };
    struct probe {
        std::size_t hash;
        std::string_view text;
    };
    struct key_hash {
        using is_transparent = void;
        std::size_t operator()(const key_type& k) const noexcept { return k.hash; }
        std::size_t operator()(const probe& p) const noexcept { return p.hash; }
    };
    struct key_equal {
        using is_transparent = void;
        template <class A, class B> bool operator()(const A& a, const B& b) const noexcept {
            return a.hash == b.hash && std::string_view(a.text) == std::string_view(b.text);
        }
    };
    static constexpr clock::time_point forgotten = clock::time_point::min();

    using table = std::unordered_map<key_type, clock::time_point, key_hash, key_equal>;
    // Keys in insertion order. A key whose window restarted has an older, stale slot too; a slot
    // only removes its key when the key's expiry still matches. Slots for one key leave the
    // queue in the order they entered it and the matching one is the last, so `entry` never
    // dangles: a node is erased only by its last slot. The table is reserved for its bound and
    // never exceeds it, so it never rehashes and the iterators stay valid.
    struct slot {
        clock::time_point expiry;
        table::iterator entry;
    };
    struct alignas(64) shard {  // one cache line apart: shards do not false-share
        mutable std::mutex mutex;
        table entries;
        std::deque<slot> order;
        std::uint64_t duplicates = 0;
        std::uint64_t evictions = 0;
        std::uint64_t expirations = 0;
    };

    shard& shard_for(std::size_t hash) noexcept;

    // Pops the front slot; true if it removed its key.
    static bool pop_front(shard& s);

    static void expire(shard& s, clock::time_point now);

    static bool evict_oldest(shard& s);

    dedup_options options_;
    unsigned shard_bits_ = 0;
    std::size_t per_shard_ = 1;
    std::unique_ptr<shard[]> shards_;
};

}  // namespace switchyard

#ifdef SWITCHYARD_HEADER_ONLY
#include "switchyard/dedup-inl.hpp"
#endif
