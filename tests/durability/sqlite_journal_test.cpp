// sqlite_journal: the journal contract on disk, group commit under concurrent publishers, files
// it must refuse, and a commit that fails.
#include <doctest/doctest.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "test_support.hpp"

#include <sqlite3.h>

#include <switchyard/sqlite/sqlite_archive_store.hpp>
#include <switchyard/sqlite/sqlite_journal.hpp>
#include <switchyard/switchyard.hpp>

#include "durability/temp_dir.hpp"

using switchyard::journal_delivery;

namespace {
const std::vector<journal_delivery> two{{"rule-a", "t1"}, {"rule-b", "t2"}};
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

TEST_CASE("sqlite_journal: flush() writes buffered ends at once") {
    temp_dir dir;
    const auto file = dir.file("journal.db");
    // A long flush interval: only flush() can have written the ends.
    switchyard::sqlite_journal journal(file, {.synchronous = switchyard::sync_level::off, .end_flush_interval = std::chrono::hours(1)});
    const auto s = journal.record_accepted("{}", two);
    journal.record_ended(s, "rule-a", "t1");
    journal.record_ended(s, "rule-b", "t2");
    CHECK(journal.stats().ends == 0);
    journal.flush();
    CHECK(journal.stats().ends == 2);
    CHECK(journal.unfinished().empty());
}

TEST_CASE("sqlite_journal: a second journal on a file in use is refused, saying so") {
    temp_dir dir;
    const auto file = dir.file("journal.db");
    switchyard::sqlite_journal first(file, {.busy_timeout = std::chrono::milliseconds(20)});
    first.record_accepted("{}", two);
    CHECK_THROWS_WITH_AS(switchyard::sqlite_journal(file, {.busy_timeout = std::chrono::milliseconds(20)}),
                         doctest::Contains("is in use by another process"), switchyard::error);
    CHECK(first.unfinished().size() == 1);
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

TEST_CASE("sqlite_journal: a full disk fails the publish, naming the file and SQLite's reason, and loses nothing accepted") {
    temp_dir dir;
    const auto file = dir.file("journal.db");
    // max_size_bytes makes the disk "full" at 64 KiB, as a real full disk would.
    switchyard::sqlite_journal journal(file, {.max_size_bytes = 64 * 1024});
    const std::string big = R"({"padding":")" + std::string(3000, 'x') + "\"}";
    std::vector<std::uint64_t> kept;
    std::string failure;
    for (int i = 0; i < 100 && failure.empty(); ++i) {
        try {
            kept.push_back(journal.record_accepted(big, two));
        } catch (const switchyard::error& e) {
            failure = e.what();
        }
    }
    REQUIRE_MESSAGE(!failure.empty(), "100 events of 3 KB fit in a 64 KiB journal");
    CHECK(failure.find(file) != std::string::npos);
    CHECK(failure.find("full") != std::string::npos);
    CHECK(kept.size() > 5);

    auto open = journal.unfinished();
    REQUIRE(open.size() == kept.size());
    for (std::size_t i = 0; i < kept.size(); ++i) CHECK(open[i].sequence == kept[i]);

    // Ending deliveries frees room: publishing works again.
    for (const auto s : kept) {
        journal.record_ended(s, "rule-a", "t1");
        journal.record_ended(s, "rule-b", "t2");
    }
    journal.flush();
    CHECK(journal.unfinished().empty());
    CHECK_NOTHROW(journal.record_accepted(big, two));
}

TEST_CASE("a bus on a full sqlite_journal refuses the publish (JournalFailed) and keeps everything it accepted") {
    temp_dir dir;
    const auto file = dir.file("journal.db");
    const std::string padding(3000, 'x');
    std::set<std::string> accepted;
    auto journal = std::make_shared<switchyard::sqlite_journal>(file, switchyard::sqlite_journal_options{.max_size_bytes = 64 * 1024});
    switchyard::manual_executor later;  // deliveries stay open until the test runs them
    switchyard::bus bus{"payments", {.journal = journal}};
    tally delivered;
    bus.add_rule({.name = "all", .pattern = R"({"source": ["com.example"]})",
                  .targets = {switchyard::json_handler("t", [&](std::string_view) { delivered.add(); }, later)}});
    switchyard::publish_result refused;
    for (int i = 0; i < 100; ++i) {
        auto r = bus.put_events({{.source = "com.example", .detail_type = "BIG", .detail = nlohmann::json{{"p", padding}}.dump()}});
        if (!r.entries[0].ok()) {
            refused = r.entries[0];
            break;
        }
        accepted.insert(r.entries[0].event_id);
    }
    REQUIRE(!refused.ok());
    CHECK(refused.error_code == switchyard::publish_errc::journal_failed);
    CHECK(refused.error_message.find(file) != std::string::npos);
    CHECK(refused.error_message.find("full") != std::string::npos);

    // What a crash now would recover: every accepted event, and not the refused one.
    std::set<std::string> journaled;
    for (const auto& e : journal->unfinished()) journaled.insert(nlohmann::json::parse(e.event_json).at("id").get<std::string>());
    CHECK(journaled == accepted);
    CHECK(later.size() == accepted.size());  // the refused event started no delivery

    later.run_all();
    bus.drain();
    CHECK(delivered.value() == static_cast<int>(accepted.size()));
    CHECK(journal->unfinished().empty());
}

TEST_CASE("sqlite_journal: a put_events batch is one transaction, and survives reopening in order") {
    temp_dir dir;
    const auto file = dir.file("journal.db");
    std::vector<std::uint64_t> sequences;
    {
        switchyard::sqlite_journal journal(file, {.synchronous = switchyard::sync_level::normal});
        const std::vector<std::string> texts{R"({"n":1})", R"({"n":2})", R"({"n":3})"};
        const std::vector<switchyard::journal_record> records{
            {texts[0], two}, {texts[1], {}}, {texts[2], two}};  // the second starts no delivery
        const auto before = journal.stats();
        sequences = journal.record_accepted_batch(records);
        const auto after = journal.stats();
        REQUIRE(sequences.size() == 3);
        CHECK(sequences[0] < sequences[1]);
        CHECK(sequences[1] < sequences[2]);
        CHECK(after.transactions - before.transactions == 1);
        CHECK(after.events - before.events == 2);
    }
    switchyard::sqlite_journal journal(file);
    const auto open = journal.unfinished();
    REQUIRE(open.size() == 2);
    CHECK(open[0].sequence == sequences[0]);
    CHECK(open[1].sequence == sequences[2]);
    CHECK(open[1].event_json == R"({"n":3})");
}

TEST_CASE("a journaled bus with sqlite_journal records a put_events batch at once") {
    temp_dir dir;
    auto journal = std::make_shared<switchyard::sqlite_journal>(dir.file("journal.db"),
                                                                 switchyard::sqlite_journal_options{.synchronous = switchyard::sync_level::normal});
    switchyard::bus b{"payments", {.journal = journal}};
    tally seen;
    b.add_rule({.name = "all", .pattern = R"({"source": ["s"]})", .targets = {switchyard::json_handler("t", [&](std::string_view) { seen.add(); })}});
    std::vector<switchyard::put_events_entry> batch;
    for (int i = 0; i < 10; ++i) batch.push_back({.source = "s", .detail_type = "X", .detail = R"({"i":)" + std::to_string(i) + "}"});
    const auto before = journal->stats();
    const auto result = b.put_events(batch);
    const auto after = journal->stats();
    CHECK(result.failed_entry_count == 0);
    CHECK(after.events - before.events == 10);
    // One transaction for the ten events; the background flusher may add one for delivery ends.
    CHECK(after.transactions - before.transactions <= 2);
    b.drain();
    CHECK(seen.value() == 10);
    CHECK(journal->unfinished().empty());
}

TEST_CASE("sqlite_journal: on a full journal, delivery ends are committed on their own, so publishing recovers") {
    // Regression: ends rode only in transactions that also inserted, which kept failing while
    // the journal was full, so the room they free was never freed.
    temp_dir dir;
    switchyard::sqlite_journal journal(dir.file("journal.db"),
                                       {.end_flush_interval = std::chrono::hours(1), .max_size_bytes = 64 * 1024});  // no background flush
    const std::string big = R"({"padding":")" + std::string(3000, 'x') + "\"}";
    std::vector<std::uint64_t> kept;
    bool full = false;
    for (int i = 0; i < 100 && !full; ++i) {
        try {
            kept.push_back(journal.record_accepted(big, two));
        } catch (const switchyard::error&) {
            full = true;
        }
    }
    REQUIRE(full);
    for (const auto s : kept) {
        journal.record_ended(s, "rule-a", "t1");
        journal.record_ended(s, "rule-b", "t2");
    }
    // The insert still fails with the ends in its transaction, but the ends are committed alone...
    bool refused = false;
    try {
        journal.record_accepted(big, two);
    } catch (const switchyard::error&) {
        refused = true;
    }
    // ...so the next publish finds room (had the first one found room already, fine too).
    CHECK_NOTHROW(journal.record_accepted(big, two));
    CHECK(journal.unfinished().size() == (refused ? 1u : 2u));
}

TEST_CASE("a journal that would not survive a crash is refused") {
    // Regression (hardening): "" and ":memory:" opened without complaint, so a "durable" bus
    // lost everything at a crash.
    for (const char* file : {"", ":memory:", "file::memory:?cache=shared"})
        CHECK_THROWS_WITH_AS(switchyard::sqlite_journal{std::string(file)}, doctest::Contains("needs a file path"), switchyard::error);
}

TEST_CASE("sqlite_journal: checkpoints survive reopening, the last value under each key") {
    temp_dir dir;
    const auto file = dir.file("journal.db");
    {
        switchyard::sqlite_journal journal(file);
        CHECK_FALSE(journal.load_checkpoint("schedule/default/a").has_value());
        journal.save_checkpoint("schedule/default/a", R"({"last":1})");
        journal.save_checkpoint("schedule/default/a", R"({"last":2})");
        journal.save_checkpoint("schedule/default/b", "");
        (void)journal.record_accepted("{}", two);  // events and checkpoints share the file
    }
    switchyard::sqlite_journal journal(file);
    CHECK(journal.load_checkpoint("schedule/default/a") == R"({"last":2})");
    CHECK(journal.load_checkpoint("schedule/default/b") == "");
    CHECK_FALSE(journal.load_checkpoint("schedule/default/c").has_value());
    CHECK(journal.unfinished().size() == 1);
}
