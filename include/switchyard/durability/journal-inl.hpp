// journal.hpp's compiled half (compiled into libswitchyard, or included by journal.hpp when
// SWITCHYARD_HEADER_ONLY is defined).
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "switchyard/config.hpp"
#include "switchyard/durability/journal.hpp"

namespace switchyard {

SWITCHYARD_INLINE std::uint64_t memory_journal::record_accepted(std::string_view event_json, std::span<const journal_delivery> deliveries) {
    std::lock_guard lock(mutex_);
    return record(event_json, deliveries);
}

SWITCHYARD_INLINE std::vector<std::uint64_t> memory_journal::record_accepted_batch(std::span<const journal_record> records) {
    std::lock_guard lock(mutex_);
    std::vector<std::uint64_t> sequences;
    sequences.reserve(records.size());
    for (const auto& r : records) sequences.push_back(record(r.event_json, r.deliveries));
    ++batches_;
    return sequences;
}

SWITCHYARD_INLINE std::uint64_t memory_journal::batches() const {
    std::lock_guard lock(mutex_);
    return batches_;
}

SWITCHYARD_INLINE void memory_journal::record_ended(std::uint64_t sequence, std::string_view rule, std::string_view target) noexcept {
    std::lock_guard lock(mutex_);
    const auto it = open_.find(sequence);
    if (it == open_.end()) return;
    auto& list = it->second.open;
    for (auto d = list.begin(); d != list.end(); ++d)
        if (d->rule == rule && d->target == target) {
            list.erase(d);
            break;
        }
    if (list.empty()) open_.erase(it);
}

SWITCHYARD_INLINE std::vector<journaled_event> memory_journal::unfinished() {
    std::lock_guard lock(mutex_);
    std::vector<journaled_event> out;
    out.reserve(open_.size());
    for (const auto& [sequence, entry] : open_) out.push_back(entry);
    return out;
}

SWITCHYARD_INLINE void memory_journal::save_checkpoint(std::string_view key, std::string_view value) {
    std::lock_guard lock(mutex_);
    const auto it = checkpoints_.find(key);
    if (it != checkpoints_.end())
        it->second = std::string(value);
    else
        checkpoints_.emplace(std::string(key), std::string(value));
}

SWITCHYARD_INLINE std::optional<std::string> memory_journal::load_checkpoint(std::string_view key) {
    std::lock_guard lock(mutex_);
    const auto it = checkpoints_.find(key);
    if (it == checkpoints_.end()) return std::nullopt;
    return it->second;
}

SWITCHYARD_INLINE std::uint64_t memory_journal::record(std::string_view event_json, std::span<const journal_delivery> deliveries) {
    const auto sequence = ++last_;
    auto& entry = open_[sequence];
    entry.sequence = sequence;
    entry.event_json = std::string(event_json);
    entry.open.assign(deliveries.begin(), deliveries.end());
    if (entry.open.empty()) open_.erase(sequence);
    return sequence;
}

}  // namespace switchyard
