// sqlite_processed_store: one table of keys (with when each was recorded, for purging).
#include "switchyard/sqlite/sqlite_processed_store.hpp"

#include <mutex>

#include "sqlite_db.hpp"

namespace switchyard {

namespace {
constexpr std::int32_t processed_application_id = 0x53595053;  // "SYPS"
constexpr std::int32_t processed_schema_version = 1;

std::int64_t micros_since_epoch(std::chrono::system_clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
}
}  // namespace

struct sqlite_processed_store::impl {
    std::mutex mutex;
    sqlite_detail::database db;
    sqlite_detail::statement find, insert, purge, count;

    impl(std::string file, const sqlite_processed_options& options)
        : db(std::move(file), "processed store", processed_application_id, processed_schema_version,
             static_cast<int>(options.busy_timeout.count())) {
        db.exec("PRAGMA journal_mode = WAL");
        db.exec(fmt::format("PRAGMA synchronous = {}", to_string(options.synchronous)));
        db.exec("CREATE TABLE IF NOT EXISTS processed (key BLOB PRIMARY KEY, recorded_us INTEGER NOT NULL) WITHOUT ROWID");
        db.exec("CREATE INDEX IF NOT EXISTS processed_by_time ON processed (recorded_us)");
        find = db.prepare("SELECT 1 FROM processed WHERE key = ?1");
        // A key recorded twice (two processes racing on one redelivered message) stays recorded once.
        insert = db.prepare("INSERT OR IGNORE INTO processed (key, recorded_us) VALUES (?1, ?2)");
        purge = db.prepare("DELETE FROM processed WHERE recorded_us < ?1");
        count = db.prepare("SELECT count(*) FROM processed");
    }
};

sqlite_processed_store::sqlite_processed_store(std::string file, sqlite_processed_options options)
    : impl_(std::make_unique<impl>(std::move(file), options)) {}

sqlite_processed_store::~sqlite_processed_store() = default;

const std::string& sqlite_processed_store::file() const noexcept { return impl_->db.file(); }

bool sqlite_processed_store::contains(std::string_view key) {
    std::lock_guard lock(impl_->mutex);
    auto& s = impl_->find;
    s.bind(1, key);
    bool found = false;
    try {
        found = s.step();
    } catch (...) {
        s.reset();
        throw;
    }
    s.reset();
    return found;
}

void sqlite_processed_store::insert(std::string_view key) {
    std::lock_guard lock(impl_->mutex);
    impl_->insert.bind(1, key).bind(2, micros_since_epoch(std::chrono::system_clock::now())).run();
}

std::size_t sqlite_processed_store::purge_before(std::chrono::system_clock::time_point cutoff) {
    std::lock_guard lock(impl_->mutex);
    impl_->purge.bind(1, micros_since_epoch(cutoff)).run();
    return static_cast<std::size_t>(sqlite3_changes(impl_->db.handle()));
}

std::size_t sqlite_processed_store::size() {
    std::lock_guard lock(impl_->mutex);
    auto& s = impl_->count;
    std::size_t n = 0;
    try {
        if (s.step()) n = static_cast<std::size_t>(s.int64(0));
    } catch (...) {
        s.reset();
        throw;
    }
    s.reset();
    return n;
}

}  // namespace switchyard
