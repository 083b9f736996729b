// sqlite_journal: one row per accepted event with its open deliveries; an ended delivery leaves
// the row's list, and the row goes with its last open delivery. Only one thread at a time (the
// leader) touches the connection; everyone else hands it work under the mutex.
#include "switchyard/sqlite/sqlite_journal.hpp"

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "sqlite_db.hpp"
#include "switchyard/detail/json_string.hpp"

namespace switchyard {

namespace {
constexpr std::int32_t journal_application_id = 0x53594a4e;  // "SYJN"
constexpr std::int32_t journal_schema_version = 1;
}  // namespace

struct sqlite_journal::impl {
    // Views of the caller's: a synchronous caller waits for the commit, and an asynchronous
    // one's event and deliveries stay valid until its completion has run (journal's contract).
    struct accepted {
        std::uint64_t sequence;
        std::string_view json;
        std::span<const journal_delivery> deliveries;
    };
    struct ended {
        std::uint64_t sequence;
        std::string rule, target;
    };
    // Events waiting for one commit; every publisher whose event is in it waits for `done`, and
    // the asynchronous ones' completions are called once it is.
    struct batch {
        std::vector<accepted> events;
        std::vector<std::pair<std::uint64_t, journal_completion>> completions;
        std::uint64_t number = 0;  // batches are committed, and completed, in this order
        bool done = false;
        std::exception_ptr error;
    };

    sqlite_journal_options options;
    sqlite_detail::database db;
    sqlite_detail::statement begin, commit_tx, rollback, insert_event, read_open, update_open, delete_event, save_floor, read_unfinished,
        put_checkpoint, get_checkpoint;
    static constexpr std::uint64_t floor_block = 65536;
    std::uint64_t floor = 0;  // sequence_floor as committed; the leader's alone
    // The open deliveries of the events this object committed, by sequence (the leader's alone):
    // an end then needs no read of its row, and the row's last end deletes it outright. Events
    // from before the journal was opened are read from their row.
    std::unordered_map<std::uint64_t, std::vector<journal_delivery>> open_rows;

    mutable std::mutex mutex;
    std::condition_variable changed;  // a batch finished, or leadership was released
    std::condition_variable wake_flusher;
    std::uint64_t batches_made = 0;
    std::shared_ptr<batch> collecting = new_batch();
    // Committed (or failed) batches whose completions are still to run, in commit order; run by
    // one thread at a time (`completing`), and every batch up to `completed_through` has run.
    std::deque<std::shared_ptr<batch>> finished;
    bool completing = false;
    std::uint64_t completed_through = 0;
    std::vector<ended> ends;
    bool leading = false;
    bool stopping = false;
    bool flusher_waiting = false;  // the flusher sleeps: an asynchronous record wakes it (only then: a wake costs a syscall)
    std::uint64_t last_sequence = 0;
    statistics counts;
    std::thread flusher;  // declared last: started once everything above exists

    impl(std::string file, sqlite_journal_options opts)
        : options(opts),
          db(std::move(file), "journal", journal_application_id, journal_schema_version, static_cast<int>(opts.busy_timeout.count())) {
        // Exclusive: one process owns a journal (two recovering the same events would deliver
        // them twice each), and a transaction then takes no file locks of its own.
        db.exec("PRAGMA locking_mode = EXCLUSIVE");
        db.exec("PRAGMA journal_mode = WAL");
        db.exec(fmt::format("PRAGMA synchronous = {}", to_string(options.synchronous)));
        if (options.max_size_bytes) {
            const auto page = db.scalar("PRAGMA page_size");
            db.exec(fmt::format("PRAGMA max_page_count = {}", std::max<std::uint64_t>(1, options.max_size_bytes / static_cast<std::uint64_t>(page))));
        }
        // One row per unfinished event, its open deliveries beside it (a JSON array of [rule,
        // target] pairs): a commit then touches the table's last pages only, the fewest a
        // transaction can write.
        db.exec("CREATE TABLE IF NOT EXISTS events (seq INTEGER PRIMARY KEY, json TEXT NOT NULL, open TEXT NOT NULL)");
        db.exec("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL)");
        db.exec("INSERT OR IGNORE INTO meta (key, value) VALUES ('sequence_floor', 0)");
        // Components' progress (a scheduler's last fires), in the same file as the events.
        db.exec("CREATE TABLE IF NOT EXISTS checkpoints (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
        begin = db.prepare("BEGIN IMMEDIATE");
        commit_tx = db.prepare("COMMIT");
        rollback = db.prepare("ROLLBACK");
        insert_event = db.prepare("INSERT INTO events (seq, json, open) VALUES (?1, ?2, ?3)");
        read_open = db.prepare("SELECT open FROM events WHERE seq = ?1");
        update_open = db.prepare("UPDATE events SET open = ?2 WHERE seq = ?1");
        delete_event = db.prepare("DELETE FROM events WHERE seq BETWEEN ?1 AND ?2");
        save_floor = db.prepare("UPDATE meta SET value = ?1 WHERE key = 'sequence_floor'");
        read_unfinished = db.prepare("SELECT seq, json, open FROM events ORDER BY seq");
        put_checkpoint = db.prepare("INSERT OR REPLACE INTO checkpoints (key, value) VALUES (?1, ?2)");
        get_checkpoint = db.prepare("SELECT value FROM checkpoints WHERE key = ?1");
        floor = static_cast<std::uint64_t>(db.scalar("SELECT value FROM meta WHERE key = 'sequence_floor'"));
        last_sequence = std::max(floor, static_cast<std::uint64_t>(db.scalar("SELECT coalesce(max(seq), 0) FROM events")));
        flusher = std::thread([this] { flush_loop(); });
    }

    ~impl() {
        {
            std::lock_guard lock(mutex);
            stopping = true;
        }
        wake_flusher.notify_all();
        flusher.join();
        try {
            std::unique_lock lock(mutex);
            changed.wait(lock, [&] { return !leading; });
            if (!ends.empty() || !collecting->events.empty()) lead(lock);
        } catch (const std::exception& e) {
            std::fprintf(stderr, "switchyard: sqlite_journal could not write buffered delivery ends on close: %s\n", e.what());
        }
    }

    // [[rule, target], ...]
    std::shared_ptr<batch> new_batch() {
        auto b = std::make_shared<batch>();
        b->number = ++batches_made;
        return b;
    }

    // The thread running completions (run_completions): a completion that publishes again only
    // queues its own batch's, and a synchronous publish there does not wait for them.
    static bool& on_completer() noexcept {
        thread_local bool running = false;
        return running;
    }

    // Runs the finished batches' completions, batch after batch in commit order, on one thread at
    // a time, outside the mutex (a completion starts deliveries, whose ends come back here), so a
    // thread's asynchronous publishes start their deliveries in the order it made them whichever
    // thread led each commit.
    void run_completions(std::unique_lock<std::mutex>& lock) {
        if (completing) return;  // the thread doing it takes this batch too, in turn
        completing = true;
        on_completer() = true;
        while (!finished.empty()) {
            auto next = std::move(finished.front());
            finished.pop_front();
            if (!next->completions.empty()) {
                lock.unlock();
                for (auto& [sequence, done_callback] : next->completions) {
                    try {
                        done_callback(next->error ? 0 : sequence, next->error);
                    } catch (...) {
                        // A completion must not throw (the bus's does not); one that does loses only itself.
                    }
                }
                next->completions.clear();
                lock.lock();
            }
            completed_through = next->number;
            changed.notify_all();
        }
        on_completer() = false;
        completing = false;
    }

    static std::string encode(std::span<const journal_delivery> open) {
        std::string out = "[";
        for (const auto& d : open) {
            if (out.size() > 1) out += ',';
            out += '[';
            detail::append_json_string(out, d.rule);
            out += ',';
            detail::append_json_string(out, d.target);
            out += ']';
        }
        out += ']';
        return out;
    }
    static std::vector<journal_delivery> decode(std::string_view text) {
        std::vector<journal_delivery> out;
        const auto pairs = nlohmann::json::parse(text);
        for (const auto& p : pairs) out.push_back({p.at(0).get<std::string>(), p.at(1).get<std::string>()});
        return out;
    }

    // Writes one batch in one transaction. Called by the leader only, without the mutex.
    // The sequence survives reopening as max(largest seq in events, sequence_floor): the floor is
    // raised (by a block, so rarely) before a transaction deletes an event above it.
    void write(const std::vector<accepted>& events, const std::vector<ended>& done) {
        begin.run();
        try {
            std::uint64_t highest = 0;
            for (const auto& e : events) {
                insert_event.bind(1, static_cast<std::int64_t>(e.sequence)).bind(2, e.json).bind(3, encode(e.deliveries)).run();
                highest = std::max(highest, e.sequence);
            }
            std::uint64_t deleted = 0;
            // What this transaction changes in open_rows, applied once it commits.
            std::unordered_map<std::uint64_t, std::vector<journal_delivery>> changed;
            // Rows whose last delivery ended: deleted below a run of consecutive sequences at a
            // time (events end roughly in order: one statement for most of a batch).
            std::vector<std::uint64_t> finished;
            for (const auto& d : done) {
                std::vector<journal_delivery> open;
                bool found = false;
                if (const auto c = changed.find(d.sequence); c != changed.end()) {
                    found = !c->second.empty();
                    open = c->second;
                } else if (const auto o = open_rows.find(d.sequence); o != open_rows.end()) {
                    found = true;
                    open = o->second;
                } else {
                    auto& q = read_open;
                    q.bind(1, static_cast<std::int64_t>(d.sequence));
                    try {
                        if (q.step()) {
                            found = true;
                            open = decode(q.text(0));
                        }
                    } catch (...) {
                        q.reset();
                        throw;
                    }
                    q.reset();
                }
                if (!found) continue;
                const auto it = std::find_if(open.begin(), open.end(), [&](const journal_delivery& o) { return o.rule == d.rule && o.target == d.target; });
                if (it == open.end()) continue;
                open.erase(it);
                if (open.empty()) {
                    finished.push_back(d.sequence);
                    deleted = std::max(deleted, d.sequence);
                } else {
                    update_open.bind(1, static_cast<std::int64_t>(d.sequence)).bind(2, encode(open)).run();
                }
                changed[d.sequence] = std::move(open);
            }
            std::sort(finished.begin(), finished.end());
            for (std::size_t first = 0; first < finished.size();) {
                std::size_t last = first;
                while (last + 1 < finished.size() && finished[last + 1] == finished[last] + 1) ++last;
                delete_event.bind(1, static_cast<std::int64_t>(finished[first])).bind(2, static_cast<std::int64_t>(finished[last])).run();
                first = last + 1;
            }
            std::uint64_t new_floor = floor;
            if (deleted > floor) {
                new_floor = std::max(deleted, highest) + floor_block;
                save_floor.bind(1, static_cast<std::int64_t>(new_floor)).run();
            }
            commit_tx.run();
            floor = new_floor;
            try {
                for (const auto& e : events) open_rows.emplace(e.sequence, std::vector<journal_delivery>(e.deliveries.begin(), e.deliveries.end()));
                for (auto& [sequence, open] : changed) {
                    if (open.empty()) open_rows.erase(sequence);
                    else open_rows[sequence] = std::move(open);
                }
            } catch (...) {
                // Out of memory after the commit: forget the cache (ends then read their rows);
                // the batch itself is committed.
                open_rows.clear();
            }
        } catch (...) {
            for (auto* st : {&insert_event, &read_open, &update_open, &delete_event, &save_floor}) st->reset();
            try {
                rollback.run();
            } catch (...) {  // the first error is the one to report
            }
            throw;
        }
    }

    // Commits everything queued (events and ends) as the leader. Precondition: the mutex is held
    // and nobody leads. Returns the batch's error, if any; failed ends are queued again.
    std::exception_ptr lead(std::unique_lock<std::mutex>& lock) {
        leading = true;
        auto b = std::exchange(collecting, new_batch());
        auto done = std::move(ends);
        ends.clear();
        lock.unlock();
        std::exception_ptr failure;
        std::size_t ends_alone = 0;  // ends committed on their own after the batch failed
        try {
            write(b->events, done);
        } catch (const std::exception& e) {
            failure = std::make_exception_ptr(error(fmt::format("sqlite_journal could not commit {} event(s): {}", b->events.size(), e.what())));
            // The ends free room (their rows are deleted): on a full disk they must not wait for
            // a transaction that also inserts, or the journal would stay full for good.
            if (!done.empty() && !b->events.empty()) {
                try {
                    write({}, done);
                    ends_alone = done.size();
                    done.clear();
                } catch (const std::exception&) {
                    // Still failing: the ends are queued again below.
                }
            }
        }
        lock.lock();
        leading = false;
        // Records made asynchronously meanwhile are committed by the flusher when no publisher
        // leads them.
        if (!collecting->completions.empty() && flusher_waiting) {
            flusher_waiting = false;
            wake_flusher.notify_one();
        }
        if (failure) {
            ends.insert(ends.begin(), std::make_move_iterator(done.begin()), std::make_move_iterator(done.end()));
            if (ends_alone != 0) {
                ++counts.transactions;
                counts.ends += ends_alone;
            }
        } else {
            ++counts.transactions;
            counts.events += b->events.size();
            counts.ends += done.size();
        }
        b->done = true;
        b->error = failure;
        finished.push_back(b);
        changed.notify_all();
        run_completions(lock);
        return failure;
    }

    // Waits until `b` is committed, leading a commit whenever nobody else does; rethrows the
    // batch's error. Precondition: the mutex is held (through `lock`).
    void wait_committed(const batch& b, std::unique_lock<std::mutex>& lock) {
        while (!b.done) {
            if (!leading)
                lead(lock);
            else
                changed.wait(lock);
        }
        if (b.error) std::rethrow_exception(b.error);
        // Its deliveries start when this returns: after those of the asynchronous records
        // committed before it or with it (this thread's made before it among them), whose
        // completions run batch by batch. Not on the thread running completions (a handler
        // publishing from inside one): it would wait for itself.
        if (!on_completer()) changed.wait(lock, [&] { return completed_through >= b.number; });
    }

    // Runs `work` on the connection as the leader, so no commit is under way on it (reads, and
    // checkpoints: each its own statement, SQLite's implicit transaction).
    template <class Work> auto as_leader(Work&& work) -> decltype(work()) {
        std::unique_lock lock(mutex);
        changed.wait(lock, [&] { return !leading; });
        leading = true;
        lock.unlock();
        struct release {
            impl& s;
            ~release() {
                std::lock_guard relock(s.mutex);
                s.leading = false;
                // Asynchronous records queued meanwhile: the flusher, asleep, would wait for its timer.
                if (!s.collecting->completions.empty() && s.flusher_waiting) {
                    s.flusher_waiting = false;
                    s.wake_flusher.notify_one();
                }
                s.changed.notify_all();
            }
        } released{*this};
        return work();
    }

    // Commits the asynchronous records (as soon as no publisher leads) and, every
    // end_flush_interval, the buffered delivery ends.
    void flush_loop() {
        std::unique_lock lock(mutex);
        while (!stopping) {
            flusher_waiting = true;
            wake_flusher.wait_for(lock, options.end_flush_interval,
                                  [&] { return stopping || (!leading && !collecting->completions.empty()); });
            flusher_waiting = false;
            if (stopping || leading || (ends.empty() && collecting->events.empty())) continue;
            lead(lock);  // an error fails the batch's records and leaves the ends queued for the next try
        }
    }
};

namespace {
// A journal must be a file: SQLite's "" (a temporary database) and ":memory:" would open without
// complaint and make a "durable" bus lose everything at a crash.
std::string durable_file(std::string file) {
    const std::string_view name = file;
    if (name.empty() || name == ":memory:" || name.starts_with("file::memory:") || name.find("mode=memory") != std::string_view::npos)
        throw error(fmt::format("sqlite_journal needs a file path, got \"{}\": an in-memory or temporary SQLite database "
                                "does not survive a crash (use memory_journal for a journal that need not)",
                                file));
    return file;
}
}  // namespace

sqlite_journal::sqlite_journal(std::string file, sqlite_journal_options options)
    : impl_(std::make_unique<impl>(durable_file(std::move(file)), options)) {}

sqlite_journal::~sqlite_journal() = default;

const std::string& sqlite_journal::file() const noexcept { return impl_->db.file(); }

std::uint64_t sqlite_journal::record_accepted(std::string_view event_json, std::span<const journal_delivery> deliveries) {
    auto& s = *impl_;
    std::unique_lock lock(s.mutex);
    const auto sequence = ++s.last_sequence;
    // An event with no deliveries can never be unfinished: nothing to make durable.
    if (deliveries.empty()) return sequence;
    auto b = s.collecting;
    b->events.push_back(impl::accepted{sequence, event_json, deliveries});
    s.wait_committed(*b, lock);
    return sequence;
}

void sqlite_journal::record_accepted_async(std::string_view event_json, std::span<const journal_delivery> deliveries,
                                           journal_completion done) {
    auto& s = *impl_;
    std::unique_lock lock(s.mutex);
    const auto sequence = ++s.last_sequence;
    if (deliveries.empty()) {
        lock.unlock();
        done(sequence, nullptr);  // nothing to make durable, as in record_accepted
        return;
    }
    auto& b = *s.collecting;
    // Room first (growing geometrically): an event must not be queued without its completion,
    // nor the reverse.
    const auto make_room = [](auto& v) {
        if (v.size() == v.capacity()) v.reserve(std::max<std::size_t>(64, 2 * v.capacity()));
    };
    make_room(b.events);
    make_room(b.completions);
    b.events.push_back(impl::accepted{sequence, event_json, deliveries});
    b.completions.emplace_back(sequence, std::move(done));
    // The flusher commits it (and whatever comes while the disk is busy with the batch before):
    // woken once, not once per record.
    if (!s.leading && s.flusher_waiting) {
        s.flusher_waiting = false;
        s.wake_flusher.notify_one();
    }
}

std::vector<std::uint64_t> sqlite_journal::record_accepted_batch(std::span<const journal_record> records) {
    auto& s = *impl_;
    std::unique_lock lock(s.mutex);
    std::vector<std::uint64_t> sequences;
    sequences.reserve(records.size());
    // All of them join the same collecting batch, so one transaction commits them all or none.
    auto b = s.collecting;
    bool added = false;
    for (const auto& r : records) {
        const auto sequence = ++s.last_sequence;
        sequences.push_back(sequence);
        if (r.deliveries.empty()) continue;  // nothing to make durable, as in record_accepted
        b->events.push_back(impl::accepted{sequence, r.event_json, r.deliveries});
        added = true;
    }
    if (!added) return sequences;
    s.wait_committed(*b, lock);
    return sequences;
}

void sqlite_journal::record_ended(std::uint64_t sequence, std::string_view rule, std::string_view target) noexcept {
    try {
        std::lock_guard lock(impl_->mutex);
        impl_->ends.push_back(impl::ended{sequence, std::string(rule), std::string(target)});
    } catch (...) {
        // Out of memory: the end is lost, so the delivery runs again after a crash (allowed).
    }
}

void sqlite_journal::flush() {
    auto& s = *impl_;
    std::unique_lock lock(s.mutex);
    s.changed.wait(lock, [&] { return !s.leading; });
    if (const auto failure = s.lead(lock)) std::rethrow_exception(failure);
}

std::vector<journaled_event> sqlite_journal::unfinished() {
    flush();
    auto& s = *impl_;
    return s.as_leader([&] {
        std::vector<journaled_event> out;
        auto& q = s.read_unfinished;
        try {
            while (q.step())
                out.push_back(journaled_event{static_cast<std::uint64_t>(q.int64(0)), std::string(q.text(1)), impl::decode(q.text(2))});
        } catch (...) {
            q.reset();
            throw;
        }
        q.reset();
        return out;
    });
}

void sqlite_journal::save_checkpoint(std::string_view key, std::string_view value) {
    auto& s = *impl_;
    s.as_leader([&] {
        try {
            s.put_checkpoint.bind(1, key).bind(2, value).run();
        } catch (const std::exception& e) {
            s.put_checkpoint.reset();
            throw error(fmt::format("sqlite_journal could not save checkpoint '{}' in {}: {}", key, s.db.file(), e.what()));
        }
    });
}

std::optional<std::string> sqlite_journal::load_checkpoint(std::string_view key) {
    auto& s = *impl_;
    return s.as_leader([&]() -> std::optional<std::string> {
        auto& q = s.get_checkpoint;
        std::optional<std::string> out;
        try {
            q.bind(1, key);
            if (q.step()) out = std::string(q.text(0));
        } catch (...) {
            q.reset();
            throw;
        }
        q.reset();
        return out;
    });
}

sqlite_journal::statistics sqlite_journal::stats() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->counts;
}

}  // namespace switchyard
