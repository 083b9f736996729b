// The archive_store contract, checked on memory_archive_store; sqlite_archive_store_test runs the
// same checks through durability/archive_store_contract.hpp on the SQLite store.
#include <doctest/doctest.h>

#include "durability/archive_store_contract.hpp"

TEST_CASE("memory_archive_store: keeps the archive_store contract") {
    switchyard::memory_archive_store store;
    archive_store_contract::run(store);
}

TEST_CASE("memory_archive_store: a row that is not a JSON object is refused, naming the fix") {
    switchyard::memory_archive_store store;
    CHECK_THROWS_WITH_AS(store.append("not json", {}), doctest::Contains("not a JSON object"), switchyard::error);
    CHECK_THROWS_WITH_AS(store.append("[1,2]", {}), doctest::Contains("any_event::json()"), switchyard::error);
    CHECK(store.count() == 0);
}
