// A processed_store in a SQLite file (switchyard::sqlite), for once_per_event across processes
// and restarts: every process handling a durable consumer's messages opens the same file, so a
// message redelivered to a peer after a crash (its handler ran, its ack never went out) is
// recognised there and not handled again.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "switchyard/durability/idempotency.hpp"
#include "switchyard/sqlite/sync_level.hpp"

namespace switchyard {

/// How a sqlite_processed_store writes.
struct sqlite_processed_options {
    /// See sync_level. FULL (the default) keeps a recorded key through a power failure; NORMAL
    /// through a crash of the process only.
    sync_level synchronous = sync_level::full;
    /// How long a writer waits for another process's transaction on the same file.
    std::chrono::milliseconds busy_timeout{5000};
};

/// Keys of deliveries that completed, in a SQLite file (WAL mode; several processes may share
/// it). Thread-safe. A key is recorded after its handler succeeded, so a crash between the two
/// still runs the handler again; only a store written in the handler's own transaction closes
/// that window (see processed_store).
class sqlite_processed_store final : public processed_store {
public:
    /// Opens (or creates) the store at `file`. Throws switchyard::error naming the file when it
    /// cannot be opened, is not SQLite, or is a database that is not a switchyard processed store
    /// (which is then left untouched).
    explicit sqlite_processed_store(std::string file, sqlite_processed_options options = {});
    ~sqlite_processed_store() override;
    sqlite_processed_store(const sqlite_processed_store&) = delete;
    sqlite_processed_store& operator=(const sqlite_processed_store&) = delete;

    bool contains(std::string_view key) override;
    void insert(std::string_view key) override;

    /// Forgets the keys recorded before `cutoff`; returns how many. Keys only need to outlive the
    /// window in which their message can come again (the stream's retention, a replay's window).
    std::size_t purge_before(std::chrono::system_clock::time_point cutoff);
    /// How many keys it holds.
    std::size_t size();
    /// The store's file.
    const std::string& file() const noexcept;

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace switchyard
