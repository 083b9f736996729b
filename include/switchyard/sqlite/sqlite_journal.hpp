// A journal in a SQLite file (switchyard::sqlite), for bus_options::journal: accepted events and
// their open deliveries survive a crash, and `bus::recover()` re-delivers them.
//
// Group commit: publishers calling record_accepted at the same time share one transaction (and,
// at sync_level::full, one fsync). The first caller to find no commit in progress becomes the
// leader and commits everything queued so far; the others wait on a condition variable for the
// leader's batch, or lead the next one. A lone publisher commits alone.
//
// Delivery ends (record_ended) are buffered and written with the next transaction: the next
// batch of accepted events, or a background flush every `end_flush_interval`, or the destructor.
// An end that a crash loses makes that delivery run again on recovery (at least once, as the
// journal contract allows); it never loses an accepted event.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "switchyard/durability/journal.hpp"
#include "switchyard/sqlite/sync_level.hpp"

namespace switchyard {

/// How a sqlite_journal writes.
struct sqlite_journal_options {
    /// See sync_level: `normal` survives a process crash (the crash test's SIGKILL), `full`
    /// survives a power cut too, at one disk flush per group commit.
    sync_level synchronous = sync_level::full;
    /// How long buffered delivery ends may wait for a transaction to carry them.
    std::chrono::milliseconds end_flush_interval{50};
    /// How long opening waits for another connection's lock on the file before it fails.
    std::chrono::milliseconds busy_timeout{5000};
    /// A cap on the file's size in bytes (0: none). A publish that would grow the journal past it
    /// fails like one on a full disk (SQLite's "database or disk is full"); ended deliveries free
    /// room again.
    std::uint64_t max_size_bytes = 0;
};

/// A journal in a SQLite file (switchyard::sqlite), for bus_options::journal: accepted events and
/// their open deliveries survive a crash, and `bus::recover()` re-delivers them.
///
/// Group commit: publishers calling record_accepted at the same time share one transaction (and,
/// at sync_level::full, one fsync); a lone publisher commits alone. Delivery ends (record_ended)
/// are buffered and written with the next transaction: the next batch of accepted events, or a
/// background flush every `end_flush_interval`, or the destructor. An end that a crash loses
/// makes that delivery run again on recovery (at least once, as the journal contract allows); it
/// never loses an accepted event.
class sqlite_journal final : public journal {
public:
    /// Opens (or creates) the journal at `file`; an existing journal continues its sequence and
    /// keeps its unfinished events. The file stays locked while the journal is open: one process
    /// (one object) owns a journal, and a second is refused with a message saying so. Throws switchyard::error naming the file and SQLite's message
    /// when it cannot be opened, is not SQLite, or is a database that is not a switchyard journal
    /// (which is then left untouched).
    explicit sqlite_journal(std::string file, sqlite_journal_options options = {});
    /// Writes buffered delivery ends and joins the background flusher.
    ~sqlite_journal() override;
    sqlite_journal(const sqlite_journal&) = delete;
    sqlite_journal& operator=(const sqlite_journal&) = delete;

    /// See journal::record_accepted(). Throws switchyard::error naming the file and SQLite's
    /// message when the batch could not be committed (a full disk, a file made read-only):
    /// nothing of that batch was recorded.
    std::uint64_t record_accepted(std::string_view event_json, std::span<const journal_delivery> deliveries) override;
    /// Queues the record for the background thread, which commits whatever has queued meanwhile
    /// in one transaction (one fsync at sync_level::full), then calls each `done` on that thread
    /// (or on a publisher's that led the commit), in the order recorded. A batch that fails fails
    /// each of its records with switchyard::error naming the file and SQLite's message.
    void record_accepted_async(std::string_view event_json, std::span<const journal_delivery> deliveries, journal_completion done) override;
    /// A put_events batch in one transaction (shared, like any record, with concurrent publishers').
    std::vector<std::uint64_t> record_accepted_batch(std::span<const journal_record> records) override;
    void record_ended(std::uint64_t sequence, std::string_view rule, std::string_view target) noexcept override;
    std::vector<journaled_event> unfinished() override;
    /// Saves `value` under `key` in the journal's file, in a transaction of its own (durable as
    /// the journal's `synchronous` level makes events). Throws switchyard::error when it cannot.
    void save_checkpoint(std::string_view key, std::string_view value) override;
    std::optional<std::string> load_checkpoint(std::string_view key) override;
    bool keeps_checkpoints() const noexcept override { return true; }

    /// Writes the buffered delivery ends now. Throws switchyard::error when it cannot.
    void flush();

    /// Transactions committed so far, and events recorded in them: their ratio is the group
    /// commit's batch size.
    struct statistics {
        std::uint64_t transactions = 0;  ///< transactions committed
        std::uint64_t events = 0;        ///< accepted events recorded in them
        std::uint64_t ends = 0;          ///< delivery ends written
    };
    /// The counts so far.
    statistics stats() const;

    /// The journal's file.
    const std::string& file() const noexcept;

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace switchyard
