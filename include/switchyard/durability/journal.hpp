// The journal: how a bus makes accepted events survive a crash. The bus records each accepted
// event, with the deliveries it starts, before `publish` returns success, and records each
// delivery's end; after a crash `bus::recover()` re-delivers what had not ended (at least once).
// `memory_journal` keeps the records in memory (tests, and users who need the accounting without
// durability); switchyard::sqlite's `sqlite_journal` keeps them on disk.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace switchyard {

// One delivery an accepted event starts: the target `target` of rule `rule`.
struct journal_delivery {
    std::string rule;
    std::string target;
    friend bool operator==(const journal_delivery&, const journal_delivery&) = default;
};

// An accepted event whose deliveries have not all ended.
struct journaled_event {
    std::uint64_t sequence = 0;      // the journal's order of acceptance (ascending)
    std::string event_json;          // the whole event, EventBridge JSON (any_event::json())
    std::vector<journal_delivery> open;  // the deliveries that had not ended, in recorded order
};

class journal {
public:
    virtual ~journal() = default;

    // Records an accepted event and the deliveries it starts. Returns only once the record is
    // as durable as the journal promises, with the event's sequence number. Throws (any
    // std::exception) when it cannot record: the bus then refuses the publish (JournalFailed)
    // and starts none of its deliveries. Called concurrently from publishing threads.
    virtual std::uint64_t record_accepted(std::string_view event_json, std::span<const journal_delivery> deliveries) = 0;

    // Records that one delivery of event `sequence` ended (delivered or dead-lettered). Need not
    // be durable at once: a delivery whose end is lost is delivered again after a crash. Must
    // not throw. Called concurrently from worker threads.
    virtual void record_ended(std::uint64_t sequence, std::string_view rule, std::string_view target) noexcept = 0;

    // Every event with deliveries not yet ended, in acceptance order. Called by bus::recover()
    // before the bus publishes anything.
    virtual std::vector<journaled_event> unfinished() = 0;
};

// The journal's contract without the disk: what a crash would keep is what this object keeps.
class memory_journal final : public journal {
public:
    std::uint64_t record_accepted(std::string_view event_json, std::span<const journal_delivery> deliveries) override {
        std::lock_guard lock(mutex_);
        const auto sequence = ++last_;
        auto& entry = open_[sequence];
        entry.sequence = sequence;
        entry.event_json = std::string(event_json);
        entry.open.assign(deliveries.begin(), deliveries.end());
        if (entry.open.empty()) open_.erase(sequence);
        return sequence;
    }

    void record_ended(std::uint64_t sequence, std::string_view rule, std::string_view target) noexcept override {
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

    std::vector<journaled_event> unfinished() override {
        std::lock_guard lock(mutex_);
        std::vector<journaled_event> out;
        out.reserve(open_.size());
        for (const auto& [sequence, entry] : open_) out.push_back(entry);
        return out;
    }

private:
    std::mutex mutex_;
    std::uint64_t last_ = 0;
    std::map<std::uint64_t, journaled_event> open_;
};

}  // namespace switchyard
