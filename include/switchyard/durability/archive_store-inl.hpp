// archive_store.hpp's compiled half (compiled into libswitchyard, or included by
// archive_store.hpp when SWITCHYARD_HEADER_ONLY is defined).
#pragma once

#include <mutex>
#include <string>
#include <vector>
#include <string_view>

#include "switchyard/config.hpp"
#include "switchyard/detail/json_object_check.hpp"
#include "switchyard/durability/archive_store.hpp"
#include "switchyard/error.hpp"

namespace switchyard {

namespace detail {
// Refuses a row that is not a JSON object, naming the store and the fix.
SWITCHYARD_INLINE void check_archive_json(std::string_view store, std::string_view event_json) {
    if (auto problem = check_json_object(event_json))
        throw error(std::string(store) + "::append: the event is not a JSON object that reads back as it was written (it " +
                    problem->message + "; got \"" + std::string(event_json.substr(0, 40)) + (event_json.size() > 40 ? "...\"" : "\"") +
                    "); archive the whole event as any_event::json() gives it");
}
}  // namespace detail

SWITCHYARD_INLINE std::uint64_t memory_archive_store::append(std::string_view event_json, time_point event_time) {
    detail::check_archive_json("memory_archive_store", event_json);
    std::lock_guard lock(mutex_);
    rows_.push_back(row{++last_, event_time, std::string(event_json)});
    return last_;
}

SWITCHYARD_INLINE void memory_archive_store::append_batch(std::span<const archive_entry> entries) {
    for (const auto& e : entries) detail::check_archive_json("memory_archive_store", e.event_json);
    std::lock_guard lock(mutex_);
    rows_.reserve(rows_.size() + entries.size());
    for (const auto& e : entries) rows_.push_back(row{++last_, e.time, std::string(e.event_json)});
}

SWITCHYARD_INLINE std::size_t memory_archive_store::scan(time_point from, time_point to, const visitor& visit) {
    // Copies the window first so a visitor may publish (and so append) without deadlocking.
    std::vector<row> window;
    {
        std::lock_guard lock(mutex_);
        for (const auto& r : rows_)
            if (r.time >= from && r.time < to) window.push_back(r);
    }
    std::size_t visited = 0;
    for (const auto& r : window) {
        ++visited;
        if (!visit(archived_event{r.sequence, r.time, r.json})) break;
    }
    return visited;
}

SWITCHYARD_INLINE std::size_t memory_archive_store::purge_before(time_point cutoff) {
    std::lock_guard lock(mutex_);
    return std::erase_if(rows_, [&](const row& r) { return r.time < cutoff; });
}

SWITCHYARD_INLINE std::size_t memory_archive_store::count() {
    std::lock_guard lock(mutex_);
    return rows_.size();
}

SWITCHYARD_INLINE std::size_t memory_archive_store::count(time_point from, time_point to) {
    std::lock_guard lock(mutex_);
    std::size_t n = 0;
    for (const auto& r : rows_) n += (r.time >= from && r.time < to) ? 1 : 0;
    return n;
}

}  // namespace switchyard
