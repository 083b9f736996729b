// The journal: how a bus makes accepted events survive a crash. The bus records each accepted
// event, with the deliveries it starts, before `publish` returns success, and records each
// delivery's end; after a crash `bus::recover()` re-delivers what had not ended (at least once).
// `memory_journal` keeps the records in memory (tests, and users who need the accounting without
// durability); switchyard::sqlite's `sqlite_journal` keeps them on disk.
#pragma once

#include <cstdint>
#include <exception>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "switchyard/config.hpp"
#include "switchyard/error.hpp"

namespace switchyard {

/// One delivery an accepted event starts: the target `target` of rule `rule`.
struct journal_delivery {
    std::string rule;    ///< the rule's name
    std::string target;  ///< the target's id
    /// Same rule, same target.
    friend bool operator==(const journal_delivery&, const journal_delivery&) = default;
};

/// One accepted event to record, as record_accepted_batch takes them.
struct journal_record {
    std::string_view event_json;                   ///< the whole event, EventBridge JSON
    std::span<const journal_delivery> deliveries;  ///< the deliveries it starts
};

/// What record_accepted_async calls once the record is durable (`failure` null, `sequence` the
/// event's) or could not be made (`failure` says why; nothing of the event was recorded).
using journal_completion = std::function<void(std::uint64_t sequence, std::exception_ptr failure)>;

/// An accepted event whose deliveries have not all ended.
struct journaled_event {
    std::uint64_t sequence = 0;          ///< the journal's order of acceptance (ascending)
    std::string event_json;              ///< the whole event, EventBridge JSON (any_event::json())
    std::vector<journal_delivery> open;  ///< the deliveries that had not ended, in recorded order
};

/// How a bus makes accepted events survive a crash. The bus records each accepted event, with
/// the deliveries it starts, before `publish` returns success, and records each delivery's end;
/// after a crash `bus::recover()` re-delivers what had not ended (at least once).
/// memory_journal keeps the records in memory (tests, and users who need the accounting without
/// durability); switchyard::sqlite's sqlite_journal keeps them on disk.
class journal {
public:
    virtual ~journal() = default;

    /// Records an accepted event and the deliveries it starts. Returns only once the record is
    /// as durable as the journal promises, with the event's sequence number. Throws (any
    /// std::exception) when it cannot record: the bus then refuses the publish (JournalFailed)
    /// and starts none of its deliveries. Called concurrently from publishing threads.
    virtual std::uint64_t record_accepted(std::string_view event_json, std::span<const journal_delivery> deliveries) = 0;

    /// Records an accepted event without waiting for the disk: `done` is called exactly once, when
    /// the record is as durable as record_accepted's would be (or failed), from any thread, possibly
    /// inside this call. `event_json` and `deliveries` stay valid until then. A journal that can
    /// should commit the records that arrive meanwhile together (one transaction, one fsync): it is
    /// how one thread keeps hundreds of events in flight (bus::publish_async). The default records
    /// synchronously and calls `done` before it returns.
    virtual void record_accepted_async(std::string_view event_json, std::span<const journal_delivery> deliveries, journal_completion done) {
        std::uint64_t sequence = 0;
        try {
            sequence = record_accepted(event_json, deliveries);
        } catch (...) {
            done(0, std::current_exception());
            return;
        }
        done(sequence, nullptr);
    }

    /// Records several accepted events (a put_events batch) all or none, in order; returns their
    /// sequence numbers. A journal that can should make this one write (one transaction, one
    /// fsync): it is how a single publisher batches. The default records them one by one and, if
    /// one fails, ends the deliveries of those already recorded before it rethrows, so none of
    /// them is re-delivered by a recovery.
    virtual std::vector<std::uint64_t> record_accepted_batch(std::span<const journal_record> records) {
        std::vector<std::uint64_t> sequences;
        sequences.reserve(records.size());
        try {
            for (const auto& r : records) sequences.push_back(record_accepted(r.event_json, r.deliveries));
        } catch (...) {
            for (std::size_t i = 0; i < sequences.size(); ++i)
                for (const auto& d : records[i].deliveries) record_ended(sequences[i], d.rule, d.target);
            throw;
        }
        return sequences;
    }

    /// Records that one delivery of event `sequence` ended (delivered or dead-lettered). Need not
    /// be durable at once: a delivery whose end is lost is delivered again after a crash. Must
    /// not throw. Called concurrently from worker threads.
    virtual void record_ended(std::uint64_t sequence, std::string_view rule, std::string_view target) noexcept = 0;

    /// Every event with deliveries not yet ended, in acceptance order. Called by bus::recover()
    /// before the bus publishes anything.
    virtual std::vector<journaled_event> unfinished() = 0;

    /// Saves a small named value beside the events, replacing the one saved under `key` before;
    /// returns once it is as durable as the journal's events. Components that must pick up where
    /// they stopped keep their progress here (a scheduler: each schedule's last fire). Throws when
    /// it cannot save. The default throws: a journal written before checkpoints existed has none.
    virtual void save_checkpoint(std::string_view key, std::string_view value) {
        (void)key;
        (void)value;
        throw error("this journal keeps no checkpoints: override journal::save_checkpoint and load_checkpoint "
                    "(memory_journal and sqlite_journal do)");
    }

    /// Whether this journal keeps checkpoints (save_checkpoint and load_checkpoint work). A
    /// scheduler on a journal without them keeps its progress in memory only, and says so once.
    virtual bool keeps_checkpoints() const noexcept { return false; }

    /// The value last saved under `key`, or nullopt when there is none.
    virtual std::optional<std::string> load_checkpoint(std::string_view key) {
        (void)key;
        throw error("this journal keeps no checkpoints: override journal::save_checkpoint and load_checkpoint "
                    "(memory_journal and sqlite_journal do)");
    }
};

/// The journal's contract without the disk: what a crash would keep is what this object keeps.
class SWITCHYARD_API memory_journal final : public journal {
public:
    std::uint64_t record_accepted(std::string_view event_json, std::span<const journal_delivery> deliveries) override;

    std::vector<std::uint64_t> record_accepted_batch(std::span<const journal_record> records) override;

    /// How many record_accepted_batch calls it took (a test's view of batching).
    std::uint64_t batches() const;

    void record_ended(std::uint64_t sequence, std::string_view rule, std::string_view target) noexcept override;

    std::vector<journaled_event> unfinished() override;

    void save_checkpoint(std::string_view key, std::string_view value) override;
    std::optional<std::string> load_checkpoint(std::string_view key) override;
    bool keeps_checkpoints() const noexcept override { return true; }

private:
    std::uint64_t record(std::string_view event_json, std::span<const journal_delivery> deliveries);

    mutable std::mutex mutex_;
    std::uint64_t batches_ = 0;
    std::uint64_t last_ = 0;
    std::map<std::uint64_t, journaled_event> open_;
    std::map<std::string, std::string, std::less<>> checkpoints_;
};

}  // namespace switchyard

#ifdef SWITCHYARD_HEADER_ONLY
#include "switchyard/durability/journal-inl.hpp"
#endif
