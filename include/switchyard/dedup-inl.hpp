// The deduplication window's definitions: dedup.hpp's compiled half (compiled into
// libswitchyard, or included by dedup.hpp when SWITCHYARD_HEADER_ONLY is defined).
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "switchyard/config.hpp"
#include "switchyard/dedup.hpp"
#include "switchyard/detail/sha256.hpp"
#include "switchyard/error.hpp"

namespace switchyard {

SWITCHYARD_INLINE dedup_window::dedup_window(dedup_options options) : options_(options) {
    if (options_.window <= std::chrono::milliseconds::zero())
        throw error("dedup window must be positive, got " + std::to_string(options_.window.count()) + " ms");
    if (options_.max_entries == 0) throw error("dedup max_entries must be at least 1");
    if (options_.shards == 0) throw error("dedup shards must be at least 1");
    std::size_t shards = 1;
    while (shards * 2 <= options_.shards && shards * 2 <= options_.max_entries) shards *= 2;
    options_.shards = shards;
    shard_bits_ = 0;
    while ((std::size_t{1} << shard_bits_) < shards) ++shard_bits_;
    per_shard_ = options_.max_entries / shards;
    shards_ = std::make_unique<shard[]>(shards);
    // Buckets for the whole bound up front (8 bytes a key): a shard never rehashes, so no
    // publisher waits behind a rehash of a large table, and the FIFO can hold iterators.
    for (std::size_t i = 0; i < shards; ++i) shards_[i].entries.reserve(per_shard_);
}

SWITCHYARD_INLINE dedup_window::~dedup_window() = default;

SWITCHYARD_INLINE bool dedup_window::first_seen(std::string_view key, clock::time_point now) {
    const std::size_t hash = std::hash<std::string_view>{}(key);
    shard& s = shard_for(hash);
    const clock::time_point expiry = now + options_.window;
    std::lock_guard lock(s.mutex);
    expire(s, now);
    if (const auto it = s.entries.find(probe{hash, key}); it != s.entries.end()) {
        if (now < it->second) {
            ++s.duplicates;
            return false;
        }
        // Its window ended but it was still queued behind a later expiry (callers' clocks
        // raced): a new first sighting.
        it->second = expiry;
        s.order.push_back({expiry, it});
        return true;
    }
    while (s.entries.size() >= per_shard_ && evict_oldest(s)) {
    }
    const auto [it, inserted] = s.entries.emplace(key_type{hash, std::string(key)}, expiry);
    s.order.push_back({expiry, it});
    return inserted;
}

SWITCHYARD_INLINE bool dedup_window::forget(std::string_view key) {
    const std::size_t hash = std::hash<std::string_view>{}(key);
    shard& s = shard_for(hash);
    std::lock_guard lock(s.mutex);
    const auto it = s.entries.find(probe{hash, key});
    if (it == s.entries.end() || it->second == forgotten) return false;
    // The node stays until its FIFO slot reaches the front (erasing it now would leave the
    // slot dangling); `forgotten` makes it count as expired meanwhile.
    it->second = forgotten;
    return true;
}

SWITCHYARD_INLINE std::string dedup_window::without_insignificant_space(std::string_view json) {
    std::string out;
    out.reserve(json.size());
    bool in_string = false;
    for (std::size_t i = 0; i < json.size(); ++i) {
        const char c = json[i];
        if (in_string) {
            out += c;
            if (c == '\\' && i + 1 < json.size()) out += json[++i];
            else if (c == '"') in_string = false;
        } else if (c == '"') {
            in_string = true;
            out += c;
        } else if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
            out += c;
        }
    }
    return out;
}

SWITCHYARD_INLINE std::string dedup_window::content_key(std::string_view source, std::string_view detail_type, std::string_view detail_json) {
    detail::sha256 h;
    auto field = [&](std::string_view text) {
        char length[8];
        for (int i = 0; i < 8; ++i) length[i] = static_cast<char>((static_cast<std::uint64_t>(text.size()) >> (8 * i)) & 0xff);
        h.update(std::string_view(length, 8)).update(text);
    };
    field(source);
    field(detail_type);
    field(without_insignificant_space(detail_json));
    const auto digest = h.finish();
    static constexpr char hex[] = "0123456789abcdef";
    std::string out = "c:";
    for (std::size_t i = 0; i < 16; ++i) {
        out += hex[digest[i] >> 4];
        out += hex[digest[i] & 0xf];
    }
    return out;
}

SWITCHYARD_INLINE std::string dedup_window::id_key(std::string_view dedup_id) {
    std::string out = "id:";
    out += dedup_id;
    return out;
}

SWITCHYARD_INLINE dedup_window::stats dedup_window::statistics() const {
    stats out;
    for (std::size_t i = 0; i < options_.shards; ++i) {
        const shard& s = shards_[i];
        std::lock_guard lock(s.mutex);
        out.entries += s.entries.size();
        out.duplicates += s.duplicates;
        out.evictions_by_count += s.evictions;
        out.expirations += s.expirations;
    }
    return out;
}

SWITCHYARD_INLINE dedup_window::shard& dedup_window::shard_for(std::size_t hash) noexcept {
    if (shard_bits_ == 0) return shards_[0];
    // Fibonacci hashing: the top bits of a multiply spread any hash across the shards.
    const std::uint64_t mixed = static_cast<std::uint64_t>(hash) * 0x9e3779b97f4a7c15ULL;
    return shards_[static_cast<std::size_t>(mixed >> (64 - shard_bits_))];
}

SWITCHYARD_INLINE bool dedup_window::pop_front(shard& s) {
    const slot front = s.order.front();
    s.order.pop_front();
    if (front.entry->second != front.expiry && front.entry->second != forgotten)
        return false;  // stale: the key's window restarted
    s.entries.erase(front.entry);
    return true;
}

SWITCHYARD_INLINE void dedup_window::expire(shard& s, clock::time_point now) {
    while (!s.order.empty() && s.order.front().expiry <= now)
        if (pop_front(s)) ++s.expirations;
}

SWITCHYARD_INLINE bool dedup_window::evict_oldest(shard& s) {
    while (!s.order.empty())
        if (pop_front(s)) {
            ++s.evictions;
            return true;
        }
    return false;  // unreachable while every key has a slot; stops the caller's loop regardless
}

}  // namespace switchyard
