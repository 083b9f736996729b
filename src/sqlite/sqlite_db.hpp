// Private to switchyard::sqlite: RAII wrappers over a SQLite connection and its statements, and
// the checks every switchyard database file goes through before anything writes to it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include <fmt/format.h>
#include <sqlite3.h>

#include "switchyard/error.hpp"

namespace switchyard::sqlite_detail {

// Every error names the file, what was being done, and SQLite's own message.
[[noreturn]] inline void fail(const std::string& what, const std::string& file, sqlite3* db, int rc) {
    const char* message = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    throw error(fmt::format("{} '{}': {} (SQLite error {})", what, file, message, rc));
}

class statement {
public:
    statement() = default;
    statement(sqlite3* db, const std::string& file, std::string_view sql) : db_(db), file_(&file) {
        const int rc = sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT, &stmt_, nullptr);
        if (rc != SQLITE_OK) fail(fmt::format("cannot prepare \"{}\" on", sql), file, db, rc);
    }
    statement(statement&& o) noexcept : db_(o.db_), file_(o.file_), stmt_(std::exchange(o.stmt_, nullptr)) {}
    statement& operator=(statement&& o) noexcept {
        std::swap(db_, o.db_);
        std::swap(file_, o.file_);
        std::swap(stmt_, o.stmt_);
        return *this;
    }
    statement(const statement&) = delete;
    statement& operator=(const statement&) = delete;
    ~statement() { sqlite3_finalize(stmt_); }

    statement& bind(int i, std::int64_t v) {
        check(sqlite3_bind_int64(stmt_, i, v), "bind");
        return *this;
    }
    statement& bind(int i, std::string_view v) {
        check(sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC), "bind");
        return *this;
    }
    // Returns true while there is a row.
    bool step() {
        const int rc = sqlite3_step(stmt_);
        if (rc == SQLITE_ROW) return true;
        if (rc == SQLITE_DONE) return false;
        const std::string message = sqlite3_errmsg(db_);
        sqlite3_reset(stmt_);
        throw error(fmt::format("SQLite failed on '{}': {} (SQLite error {}) running \"{}\"", *file_, message, rc, sqlite3_sql(stmt_)));
    }
    void run() {
        while (step()) {}
        reset();
    }
    void reset() noexcept {
        sqlite3_reset(stmt_);
        sqlite3_clear_bindings(stmt_);
    }
    std::int64_t int64(int col) const { return sqlite3_column_int64(stmt_, col); }
    std::string_view text(int col) const {
        const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
        return p ? std::string_view(p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col))) : std::string_view{};
    }

private:
    void check(int rc, const char* what) {
        if (rc != SQLITE_OK) fail(fmt::format("cannot {} a parameter on", what), *file_, db_, rc);
    }
    sqlite3* db_ = nullptr;
    const std::string* file_ = nullptr;
    sqlite3_stmt* stmt_ = nullptr;
};

// One connection to one switchyard database file (`kind` says which: "journal", "archive").
class database {
public:
    database(std::string file, std::string kind, std::int32_t application_id, std::int32_t schema_version, int busy_timeout_ms = 5000)
        : file_(std::move(file)), kind_(std::move(kind)) {
        const int rc = sqlite3_open_v2(file_.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
        if (rc != SQLITE_OK) {
            const std::string message = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
            sqlite3_close(db_);
            throw error(fmt::format("cannot open the {} file '{}': {} (SQLite error {}); check that the directory exists and is writable",
                                    kind_, file_, message, rc));
        }
        try {
            sqlite3_busy_timeout(db_, busy_timeout_ms);
            sqlite3_extended_result_codes(db_, 1);
            check_identity(application_id, schema_version);
        } catch (...) {
            sqlite3_close(db_);
            throw;
        }
    }
    database(const database&) = delete;
    database& operator=(const database&) = delete;
    ~database() { sqlite3_close(db_); }  // statements are members of the owner, finalized first

    sqlite3* handle() const noexcept { return db_; }
    const std::string& file() const noexcept { return file_; }
    bool created() const noexcept { return created_; }

    void exec(std::string_view sql) {
        char* message = nullptr;
        const int rc = sqlite3_exec(db_, std::string(sql).c_str(), nullptr, nullptr, &message);
        if (rc != SQLITE_OK) {
            const std::string text = message ? message : sqlite3_errstr(rc);
            sqlite3_free(message);
            throw error(fmt::format("SQLite failed on the {} file '{}': {} (SQLite error {}) running \"{}\"", kind_, file_, text, rc, sql));
        }
    }
    statement prepare(std::string_view sql) { return statement(db_, file_, sql); }

    std::int64_t scalar(std::string_view sql) {
        auto s = prepare(sql);
        const auto v = s.step() ? s.int64(0) : 0;
        s.reset();
        return v;
    }

private:
    // A file that is not SQLite, or a SQLite database that is not ours, is refused before
    // anything is written to it: a typo in a path must never overwrite someone's data.
    void check_identity(std::int32_t application_id, std::int32_t schema_version) {
        std::int64_t id = 0, tables = 0, version = 0;
        try {
            id = scalar("PRAGMA application_id");
            version = scalar("PRAGMA user_version");
            tables = scalar("SELECT count(*) FROM sqlite_master");
        } catch (const error& e) {
            if ((sqlite3_errcode(db_) & 0xff) == SQLITE_BUSY || (sqlite3_errcode(db_) & 0xff) == SQLITE_LOCKED)
                throw error(fmt::format("the {} file '{}' is in use by another process or object (SQLite: database is locked); "
                                        "one {} can be open at a time: close the other, or use another file",
                                        kind_, file_, kind_));
            throw error(fmt::format("'{}' cannot be read as a switchyard {} ({}); it is left untouched: point the {} at a new file",
                                    file_, kind_, e.what(), kind_));
        }
        if (id == 0 && tables == 0) {
            created_ = true;
            exec(fmt::format("PRAGMA application_id = {}", application_id));
            exec(fmt::format("PRAGMA user_version = {}", schema_version));
            return;
        }
        if (id != application_id)
            throw error(fmt::format("'{}' is a SQLite database but not a switchyard {} (application_id {}, expected {}); it is left "
                                    "untouched: point the {} at a new file",
                                    file_, kind_, id, application_id, kind_));
        if (version != schema_version)
            throw error(fmt::format("'{}' is a switchyard {} of schema version {}, this build reads version {}; it is left untouched",
                                    file_, kind_, version, schema_version));
    }

    std::string file_;
    std::string kind_;
    sqlite3* db_ = nullptr;
    bool created_ = false;
};

}  // namespace switchyard::sqlite_detail
