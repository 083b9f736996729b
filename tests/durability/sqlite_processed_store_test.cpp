// sqlite_processed_store: keys survive reopening and are shared by two stores on one file (two
// processes, as far as SQLite is concerned); once_per_event on it skips a redelivered event; bad
// files are refused.
#include <doctest/doctest.h>

#include <atomic>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <switchyard/sqlite/sqlite_archive_store.hpp>
#include <switchyard/sqlite/sqlite_processed_store.hpp>
#include <switchyard/switchyard.hpp>

#include "durability/temp_dir.hpp"

using namespace switchyard;
using namespace std::chrono_literals;

TEST_CASE("sqlite_processed_store: a key is kept across reopening and seen by another store on the same file") {
    temp_dir dir;
    const auto file = dir.file("processed.db");
    {
        sqlite_processed_store store(file);
        CHECK_FALSE(store.contains(std::string_view("rule\0target\0id-1", 16)));
        store.insert(std::string_view("rule\0target\0id-1", 16));  // keys hold NULs: stored as bytes
        store.insert(std::string_view("rule\0target\0id-1", 16));  // recorded twice: kept once
        CHECK(store.contains(std::string_view("rule\0target\0id-1", 16)));
        CHECK_FALSE(store.contains(std::string_view("rule\0target\0id-2", 16)));
        CHECK(store.size() == 1);
    }
    sqlite_processed_store again(file);
    sqlite_processed_store other(file, {.synchronous = sync_level::normal});  // a second connection at once
    CHECK(again.contains(std::string_view("rule\0target\0id-1", 16)));
    other.insert("k2");
    CHECK(again.contains("k2"));
    CHECK(again.size() == 2);
    CHECK(again.purge_before(std::chrono::system_clock::now() - 1h) == 0);
    CHECK(again.purge_before(std::chrono::system_clock::now() + 1s) == 2);
    CHECK_FALSE(other.contains("k2"));
}

TEST_CASE("sqlite_processed_store: once_per_event on it handles an event once, whichever bus (process) sees it again") {
    temp_dir dir;
    const auto file = dir.file("processed.db");
    std::atomic<int> handled{0};
    auto rule_on = [&](bus& b, std::shared_ptr<processed_store> store) {
        b.add_rule({.name = "charge",
                    .pattern = R"({"source": ["cards"]})",
                    .targets = {once_per_event(json_handler("h", [&](std::string_view) { ++handled; }), std::move(store))}});
    };
    bus first{"first"}, second{"second"};
    rule_on(first, std::make_shared<sqlite_processed_store>(file));
    rule_on(second, std::make_shared<sqlite_processed_store>(file));
    const auto e = make_json_event(first.make_envelope("cards", "Charge"), R"({"n": 1})");
    REQUIRE(first.publish(e).ok());
    REQUIRE(second.publish(e).ok());  // the same event (same id), redelivered to a peer
    REQUIRE(second.publish(make_json_event(second.make_envelope("cards", "Charge"), R"({"n": 2})")).ok());
    CHECK(handled.load() == 2);
}

TEST_CASE("sqlite_processed_store: several threads insert and look up at once") {
    temp_dir dir;
    sqlite_processed_store store(dir.file("processed.db"), {.synchronous = sync_level::normal});
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&, t] {
            for (int i = 0; i < 200; ++i) {
                const auto key = "t" + std::to_string(t) + "-" + std::to_string(i);
                store.insert(key);
                CHECK(store.contains(key));
            }
        });
    for (auto& th : threads) th.join();
    CHECK(store.size() == 800);
}

TEST_CASE("sqlite_processed_store: a file that is not one is refused and left untouched") {
    temp_dir dir;
    const auto text = dir.file("notes.txt");
    std::ofstream(text) << "not a database at all, but long enough to be read as one or refused\n";
    CHECK_THROWS_WITH_AS(sqlite_processed_store{text}, doctest::Contains("notes.txt"), error);
    const auto archive = dir.file("archive.db");
    { sqlite_archive_store a(archive); }
    CHECK_THROWS_WITH_AS(sqlite_processed_store{archive}, doctest::Contains("not a switchyard processed store"), error);
    CHECK_THROWS_WITH_AS(sqlite_processed_store(dir.file("missing/dir/p.db")), doctest::Contains("check that the directory exists"), error);
}
