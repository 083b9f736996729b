// sqlite_archive_store: one table of archived events keyed by sequence, indexed by event time
// (microseconds since the Unix epoch, UTC).
#include "switchyard/sqlite/sqlite_archive_store.hpp"

#include <mutex>
#include <vector>

#include "sqlite_db.hpp"

namespace switchyard {

namespace {
constexpr std::int32_t archive_application_id = 0x53594152;  // "SYAR"
constexpr std::int32_t archive_schema_version = 1;
constexpr std::int64_t scan_page = 512;

std::int64_t to_micros(archive_store::time_point t) {
    return std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
}
archive_store::time_point from_micros(std::int64_t us) {
    return archive_store::time_point(std::chrono::duration_cast<archive_store::time_point::duration>(std::chrono::microseconds(us)));
}
}  // namespace

struct sqlite_archive_store::impl {
    std::mutex mutex;
    sqlite_detail::database db;
    sqlite_detail::statement begin, commit, rollback, insert, page, purge, count_all, count_window;

    impl(std::string file, const sqlite_archive_options& options)
        : db(std::move(file), "archive", archive_application_id, archive_schema_version) {
        db.exec("PRAGMA journal_mode = WAL");
        db.exec(fmt::format("PRAGMA synchronous = {}", to_string(options.synchronous)));
        db.exec("CREATE TABLE IF NOT EXISTS events (seq INTEGER PRIMARY KEY, time_us INTEGER NOT NULL, json TEXT NOT NULL)");
        db.exec("CREATE INDEX IF NOT EXISTS events_by_time ON events (time_us)");
        begin = db.prepare("BEGIN IMMEDIATE");
        commit = db.prepare("COMMIT");
        rollback = db.prepare("ROLLBACK");
        insert = db.prepare("INSERT INTO events (time_us, json) VALUES (?1, ?2)");
        // Pages in sequence order: rows of the window after the last sequence seen.
        page = db.prepare("SELECT seq, time_us, json FROM events WHERE time_us >= ?1 AND time_us < ?2 AND seq > ?3 ORDER BY seq LIMIT ?4");
        purge = db.prepare("DELETE FROM events WHERE time_us < ?1");
        count_all = db.prepare("SELECT count(*) FROM events");
        count_window = db.prepare("SELECT count(*) FROM events WHERE time_us >= ?1 AND time_us < ?2");
    }
};

sqlite_archive_store::sqlite_archive_store(std::string file, sqlite_archive_options options)
    : impl_(std::make_unique<impl>(std::move(file), options)) {}

sqlite_archive_store::~sqlite_archive_store() = default;

const std::string& sqlite_archive_store::file() const noexcept { return impl_->db.file(); }

std::uint64_t sqlite_archive_store::append(std::string_view event_json, time_point event_time) {
    detail::check_archive_json("sqlite_archive_store", event_json);
    std::lock_guard lock(impl_->mutex);
    impl_->insert.bind(1, to_micros(event_time)).bind(2, event_json).run();
    return static_cast<std::uint64_t>(sqlite3_last_insert_rowid(impl_->db.handle()));
}

void sqlite_archive_store::append_batch(std::span<const archive_entry> entries) {
    for (const auto& e : entries) detail::check_archive_json("sqlite_archive_store", e.event_json);
    if (entries.empty()) return;
    auto& s = *impl_;
    std::lock_guard lock(s.mutex);
    s.begin.run();
    try {
        for (const auto& e : entries) s.insert.bind(1, to_micros(e.time)).bind(2, e.event_json).run();
        s.commit.run();
    } catch (...) {
        s.insert.reset();
        try {
            s.rollback.run();
        } catch (...) {  // the first error is the one to report
        }
        throw;
    }
}

std::size_t sqlite_archive_store::scan(time_point from, time_point to, const visitor& visit) {
    struct row {
        std::int64_t seq, time;
        std::string json;
    };
    std::size_t visited = 0;
    std::int64_t after = 0;
    std::vector<row> rows;
    for (;;) {
        rows.clear();
        {
            std::lock_guard lock(impl_->mutex);
            auto& s = impl_->page;
            s.bind(1, to_micros(from)).bind(2, to_micros(to)).bind(3, after).bind(4, scan_page);
            try {
                while (s.step()) rows.push_back(row{s.int64(0), s.int64(1), std::string(s.text(2))});
            } catch (...) {
                s.reset();
                throw;
            }
            s.reset();
        }
        if (rows.empty()) return visited;
        for (const auto& r : rows) {
            ++visited;
            if (!visit(archived_event{static_cast<std::uint64_t>(r.seq), from_micros(r.time), r.json})) return visited;
        }
        after = rows.back().seq;
    }
}

std::size_t sqlite_archive_store::purge_before(time_point cutoff) {
    std::lock_guard lock(impl_->mutex);
    impl_->purge.bind(1, to_micros(cutoff)).run();
    return static_cast<std::size_t>(sqlite3_changes(impl_->db.handle()));
}

std::size_t sqlite_archive_store::count() {
    std::lock_guard lock(impl_->mutex);
    auto& s = impl_->count_all;
    const auto n = s.step() ? s.int64(0) : 0;
    s.reset();
    return static_cast<std::size_t>(n);
}

std::size_t sqlite_archive_store::count(time_point from, time_point to) {
    std::lock_guard lock(impl_->mutex);
    auto& s = impl_->count_window;
    s.bind(1, to_micros(from)).bind(2, to_micros(to));
    const auto n = s.step() ? s.int64(0) : 0;
    s.reset();
    return static_cast<std::size_t>(n);
}

}  // namespace switchyard
