// sqlite_archive_store: the archive_store contract on disk, persistence, and files it must refuse.
#include <doctest/doctest.h>

#include <fstream>
#include <sstream>

#include <switchyard/sqlite/sqlite_archive_store.hpp>
#include <switchyard/sqlite/sqlite_journal.hpp>

#include "durability/archive_store_contract.hpp"
#include "durability/temp_dir.hpp"

using archive_store_contract::at;
using archive_store_contract::row;

TEST_CASE("sqlite_archive_store: keeps the archive_store contract") {
    temp_dir dir;
    switchyard::sqlite_archive_store store(dir.file("archive.db"));
    archive_store_contract::run(store);
}

TEST_CASE("sqlite_archive_store: events survive reopening, and sequences continue") {
    temp_dir dir;
    std::uint64_t last = 0;
    {
        switchyard::sqlite_archive_store store(dir.file("archive.db"));
        for (int i = 0; i < 1200; ++i) last = store.append(row(i), at(i));  // more than one scan page
    }
    switchyard::sqlite_archive_store store(dir.file("archive.db"));
    CHECK(store.count() == 1200);
    int expected = 0;
    bool in_order = true;
    store.scan(at(0), at(2000), [&](const switchyard::archived_event& e) {
        in_order = in_order && archive_store_contract::n_of(e.event_json) == expected++;
        return true;
    });
    CHECK(in_order);
    CHECK(expected == 1200);
    CHECK(store.append(row(9999), at(0)) > last);
}

TEST_CASE("sqlite_archive_store: a row that is not a JSON object is refused, naming the fix") {
    temp_dir dir;
    switchyard::sqlite_archive_store store(dir.file("archive.db"));
    CHECK_THROWS_WITH_AS(store.append("{truncated", at(0)), doctest::Contains("not a JSON object"), switchyard::error);
    CHECK(store.count() == 0);
}

TEST_CASE("sqlite_archive_store: a file that is not a switchyard archive is refused and left untouched") {
    temp_dir dir;
    SUBCASE("not SQLite at all") {
        const auto file = dir.file("notes.txt");
        std::ofstream(file) << "my precious notes, not a database\n";
        const auto before = read_all(file);
        CHECK_THROWS_WITH_AS(switchyard::sqlite_archive_store{file}, doctest::Contains("cannot be read as a switchyard archive"),
                             switchyard::error);
        CHECK(read_all(file) == before);
    }
    SUBCASE("a switchyard journal") {
        const auto file = dir.file("journal.db");
        { switchyard::sqlite_journal journal(file); }
        CHECK_THROWS_WITH_AS(switchyard::sqlite_archive_store{file}, doctest::Contains("not a switchyard archive"), switchyard::error);
        CHECK_NOTHROW(switchyard::sqlite_journal{file});
    }
    SUBCASE("a directory that does not exist") {
        const auto file = dir.file("missing/archive.db");
        CHECK_THROWS_WITH_AS(switchyard::sqlite_archive_store{file}, doctest::Contains(file.c_str()), switchyard::error);
    }
}
