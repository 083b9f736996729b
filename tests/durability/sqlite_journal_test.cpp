// sqlite_journal: the journal contract on disk, group commit under concurrent publishers, files
// it must refuse, and a commit that fails.
#include <doctest/doctest.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include <sqlite3.h>

#include <switchyard/sqlite/sqlite_archive_store.hpp>
#include <switchyard/sqlite/sqlite_journal.hpp>

#include "durability/temp_dir.hpp"

using switchyard::journal_delivery;

namespace {
const std::vector<journal_delivery> two{{"rule-a", "t1"}, {"rule-b", "t2"}};

std::string read_all(const std::string& file) {
    std::ifstream in(file, std::ios::binary);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}
}  // namespace

TEST_CASE("sqlite_journal: unfinished events survive reopening, in acceptance order, with their open deliveries") {
    temp_dir dir;
    const auto file = dir.file("journal.db");
    std::uint64_t s1 = 0, s2 = 0, s3 = 0;
    {
        switchyard::sqlite_journal journal(file, {.synchronous = switchyard::sync_level::normal});
        s1 = journal.record_accepted(R"({"n":1})", two);
        s2 = journal.record_accepted(R"({"n":2})", two);
        s3 = journal.record_accepted(R"({"n":3})", std::vector<journal_delivery>{{"rule-a", "t1"}});
        CHECK(s1 < s2);
        CHECK(s2 < s3);
        journal.record_ended(s1, "rule-a", "t1");
        journal.record_ended(s2, "rule-a", "t1");
        journal.record_ended(s2, "rule-b", "t2");
        journal.record_ended(s3, "no-such-rule", "t1");  // ignored
        // The destructor writes the buffered ends.
    }
    switchyard::sqlite_journal journal(file);
    const auto open = journal.unfinished();
    REQUIRE(open.size() == 2);
    CHECK(open[0].sequence == s1);
    CHECK(open[0].event_json == R"({"n":1})");
    CHECK(open[0].open == std::vector<journal_delivery>{{"rule-b", "t2"}});
    CHECK(open[1].sequence == s3);
    CHECK(open[1].open == std::vector<journal_delivery>{{"rule-a", "t1"}});
    CHECK(journal.record_accepted("{}", two) > s3);  // the sequence continues

    journal.record_ended(s1, "rule-b", "t2");
    CHECK(journal.unfinished().size() == 2);  // s3 and the new one; unfinished() writes ends first
}

TEST_CASE("sqlite_journal: flush() writes buffered ends where another connection sees them") {
    temp_dir dir;
    const auto file = dir.file("journal.db");
    // A long flush interval: only flush() can have written the ends when the reader looks.
    switchyard::sqlite_journal journal(file, {.synchronous = switchyard::sync_level::off, .end_flush_interval = std::chrono::hours(1)});
    const auto s = journal.record_accepted("{}", two);
    journal.record_ended(s, "rule-a", "t1");
    journal.record_ended(s, "rule-b", "t2");
    CHECK(journal.stats().ends == 0);
    journal.flush();
    CHECK(journal.stats().ends == 2);
    switchyard::sqlite_journal reader(file);
    CHECK(reader.unfinished().empty());
}

TEST_CASE("sqlite_journal: concurrent publishers share commits (group commit) and get distinct sequences") {
    temp_dir dir;
    switchyard::sqlite_journal journal(dir.file("journal.db"), {.synchronous = switchyard::sync_level::full});
    constexpr int threads = 4, per_thread = 300;
    std::vector<std::vector<std::uint64_t>> seqs(threads);
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t)
        workers.emplace_back([&, t] {
            for (int i = 0; i < per_thread; ++i) seqs[t].push_back(journal.record_accepted(R"({"x":1})", two));
        });
    for (auto& w : workers) w.join();

    std::set<std::uint64_t> all;
    for (const auto& s : seqs) {
        CHECK(std::is_sorted(s.begin(), s.end()));
        all.insert(s.begin(), s.end());
    }
    CHECK(all.size() == threads * per_thread);
    const auto stats = journal.stats();
    CHECK(stats.events == threads * per_thread);
    MESSAGE("group commit: " << stats.events << " events in " << stats.transactions << " transactions");
    CHECK(stats.transactions < stats.events);
    CHECK(journal.unfinished().size() == threads * per_thread);
}

TEST_CASE("sqlite_journal: a file that is not a switchyard journal is refused and left untouched") {
    temp_dir dir;
    SUBCASE("not SQLite at all") {
        const auto file = dir.file("payroll.csv");
        std::ofstream(file) << "name,amount\nalice,100\n";
        const auto before = read_all(file);
        CHECK_THROWS_WITH_AS(switchyard::sqlite_journal{file}, doctest::Contains("cannot be read as a switchyard journal"),
                             switchyard::error);
        CHECK(read_all(file) == before);
    }
    SUBCASE("someone else's SQLite database") {
        const auto file = dir.file("other.db");
        sqlite3* db = nullptr;
        REQUIRE(sqlite3_open(file.c_str(), &db) == SQLITE_OK);
        REQUIRE(sqlite3_exec(db, "CREATE TABLE customers (id INTEGER); INSERT INTO customers VALUES (42);", nullptr, nullptr, nullptr) ==
                SQLITE_OK);
        sqlite3_close(db);
        const auto before = read_all(file);
        CHECK_THROWS_WITH_AS(switchyard::sqlite_journal{file}, doctest::Contains("not a switchyard journal"), switchyard::error);
        CHECK(read_all(file) == before);
    }
    SUBCASE("a switchyard archive") {
        const auto file = dir.file("archive.db");
        { switchyard::sqlite_archive_store archive(file); }
        CHECK_THROWS_WITH_AS(switchyard::sqlite_journal{file}, doctest::Contains("not a switchyard journal"), switchyard::error);
    }
    SUBCASE("a directory that does not exist") {
        const auto file = dir.file("nowhere/journal.db");
        const auto expected = "cannot open the journal file '" + file + "'";
        CHECK_THROWS_WITH_AS(switchyard::sqlite_journal{file}, doctest::Contains(expected.c_str()), switchyard::error);
    }
}

TEST_CASE("sqlite_journal: a commit that fails throws, naming the file and SQLite's reason, and loses nothing accepted") {
    temp_dir dir;
    const auto file = dir.file("journal.db");
    switchyard::sqlite_journal journal(file, {.busy_timeout = std::chrono::milliseconds(50)});
    const auto kept = journal.record_accepted(R"({"kept":true})", two);

    // Another connection holds the write lock, as a stuck process or a full disk would refuse writes.
    sqlite3* other = nullptr;
    REQUIRE(sqlite3_open(file.c_str(), &other) == SQLITE_OK);
    REQUIRE(sqlite3_exec(other, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) == SQLITE_OK);
    CHECK_THROWS_WITH_AS(journal.record_accepted(R"({"refused":true})", two), doctest::Contains(file.c_str()), switchyard::error);
    CHECK_THROWS_WITH_AS(journal.record_accepted(R"({"refused":true})", two), doctest::Contains("locked"), switchyard::error);
    REQUIRE(sqlite3_exec(other, "ROLLBACK", nullptr, nullptr, nullptr) == SQLITE_OK);
    sqlite3_close(other);

    const auto open = journal.unfinished();
    REQUIRE(open.size() == 1);
    CHECK(open[0].sequence == kept);
    CHECK(open[0].event_json == R"({"kept":true})");
}
