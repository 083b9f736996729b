// Where an archive keeps the events it archived: each accepted event's JSON with its event time
// and a sequence number that orders the archive. `memory_archive_store` keeps them in memory
// (tests, short-lived archives); switchyard::sqlite's `sqlite_archive_store` keeps them on disk.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "switchyard/config.hpp"
#include "switchyard/error.hpp"

namespace switchyard {

/// One archived event, as a store hands it to a scan.
struct archived_event {
    std::uint64_t sequence = 0;                    ///< the store's order of appending (ascending)
    std::chrono::system_clock::time_point time{};  ///< the event's `time`
    std::string_view event_json;                   ///< valid during the visit only
};

/// One event for archive_store::append_batch.
struct archive_entry {
    std::string_view event_json;                   ///< the whole event, EventBridge JSON
    std::chrono::system_clock::time_point time{};  ///< the event's `time`
};

/// Where an archive keeps the events it archived: each accepted event's JSON with its event time
/// and a sequence number that orders the archive. memory_archive_store keeps them in memory
/// (tests, short-lived archives); switchyard::sqlite's sqlite_archive_store keeps them on disk.
class archive_store {
public:
    /// The event times' clock.
    using time_point = std::chrono::system_clock::time_point;
    /// Called with each event a scan visits. Returns false to stop the scan.
    using visitor = std::function<bool(const archived_event&)>;

    virtual ~archive_store() = default;

    /// Appends one event (its whole EventBridge JSON, which must be a JSON object) with its event
    /// time. Returns the event's sequence, greater than every sequence appended before. Throws
    /// switchyard::error on non-JSON input or when the store cannot write. Thread-safe.
    virtual std::uint64_t append(std::string_view event_json, time_point event_time) = 0;

    /// Appends several events in order, all or none where the store can (memory_archive_store,
    /// and sqlite_archive_store in one transaction): an archive's writer thread hands its batches
    /// here. The default appends them one by one (a failure then leaves those before it appended,
    /// and the archive's retry appends them again). Throws as append() does.
    virtual void append_batch(std::span<const archive_entry> entries) {
        for (const auto& e : entries) (void)append(e.event_json, e.time);
    }

    /// Visits every event whose time is in [from, to), in sequence (original) order, until
    /// `visit` returns false. Returns how many events were visited.
    virtual std::size_t scan(time_point from, time_point to, const visitor& visit) = 0;

    /// Removes every event whose time is before `cutoff`; returns how many.
    virtual std::size_t purge_before(time_point cutoff) = 0;

    /// How many events the store holds.
    virtual std::size_t count() = 0;
    /// How many events the store holds with time in [from, to).
    virtual std::size_t count(time_point from, time_point to) = 0;
};

namespace detail {
// Refuses a row that is not a JSON object, naming the store and the fix.
SWITCHYARD_API void check_archive_json(std::string_view store, std::string_view event_json);
}  // namespace detail

/// The archive_store contract in memory: kept as long as the object lives.
class SWITCHYARD_API memory_archive_store final : public archive_store {
public:
    std::uint64_t append(std::string_view event_json, time_point event_time) override;
    /// All or none: every entry is checked before any is kept.
    void append_batch(std::span<const archive_entry> entries) override;

    std::size_t scan(time_point from, time_point to, const visitor& visit) override;

    std::size_t purge_before(time_point cutoff) override;

    std::size_t count() override;
    std::size_t count(time_point from, time_point to) override;

private:
    struct row {
        std::uint64_t sequence;
        time_point time;
        std::string json;
    };
    std::mutex mutex_;
    std::uint64_t last_ = 0;
    std::vector<row> rows_;  // ascending sequence
};

}  // namespace switchyard

#ifdef SWITCHYARD_HEADER_ONLY
#include "switchyard/durability/archive_store-inl.hpp"
#endif
