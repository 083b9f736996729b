// An archive_store in a SQLite file (switchyard::sqlite): WAL mode, an index on the event time,
// and a file that is refused unless it is empty or a switchyard archive.
#pragma once

#include <memory>
#include <string>

#include "switchyard/durability/archive_store.hpp"
#include "switchyard/sqlite/sync_level.hpp"

namespace switchyard {

/// How a sqlite_archive_store writes.
struct sqlite_archive_options {
    /// See sync_level. An archive is a record of the past, not the guarantee of delivery:
    /// NORMAL loses at most the last moments before a power failure, never on a process crash.
    sync_level synchronous = sync_level::normal;
};

/// An archive_store in a SQLite file (switchyard::sqlite): WAL mode, an index on the event time,
/// and a file that is refused unless it is empty or a switchyard archive.
class sqlite_archive_store final : public archive_store {
public:
    /// Opens (or creates) the archive at `file`. Throws switchyard::error naming the file when it
    /// cannot be opened, is not SQLite, or is a database that is not a switchyard archive (which is
    /// then left untouched).
    explicit sqlite_archive_store(std::string file, sqlite_archive_options options = {});
    ~sqlite_archive_store() override;
    sqlite_archive_store(const sqlite_archive_store&) = delete;
    sqlite_archive_store& operator=(const sqlite_archive_store&) = delete;

    std::uint64_t append(std::string_view event_json, time_point event_time) override;
    /// One transaction: all or none.
    void append_batch(std::span<const archive_entry> entries) override;
    /// See archive_store::scan(). The visitor runs outside the store's lock on rows read in
    /// pages, so it may append (e.g. publish into a bus that archives) without deadlocking.
    std::size_t scan(time_point from, time_point to, const visitor& visit) override;
    std::size_t purge_before(time_point cutoff) override;
    std::size_t count() override;
    std::size_t count(time_point from, time_point to) override;

    /// The archive's file.
    const std::string& file() const noexcept;

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace switchyard
