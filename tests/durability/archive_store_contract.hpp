// What every archive_store must do, as a function the tests of each store call.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <switchyard/durability/archive_store.hpp>

namespace archive_store_contract {

inline std::chrono::system_clock::time_point at(int seconds) {
    return std::chrono::system_clock::time_point(std::chrono::seconds(1'800'000'000 + seconds));
}

inline std::string row(int n) { return nlohmann::json{{"n", n}}.dump(); }

inline int n_of(std::string_view json) { return nlohmann::json::parse(json).at("n").get<int>(); }

inline void run(switchyard::archive_store& store) {
    // Times deliberately out of order: a scan follows the order of appending, not of time.
    const int times[] = {10, 5, 20, 15, 30, 25, 40};
    std::uint64_t last = 0;
    for (int i = 0; i < 7; ++i) {
        const auto seq = store.append(row(i), at(times[i]));
        CHECK(seq > last);
        last = seq;
    }
    CHECK(store.count() == 7);
    CHECK(store.count(at(10), at(30)) == 4);  // 10, 20, 15, 25 (30 is outside [from, to))

    std::vector<int> seen;
    std::uint64_t previous = 0;
    const auto visited = store.scan(at(10), at(30), [&](const switchyard::archived_event& e) {
        CHECK(e.sequence > previous);
        previous = e.sequence;
        CHECK(e.time >= at(10));
        CHECK(e.time < at(30));
        seen.push_back(n_of(e.event_json));
        return true;
    });
    CHECK(visited == 4);
    CHECK(seen == std::vector<int>{0, 2, 3, 5});

    // The visitor stops a scan early.
    seen.clear();
    CHECK(store.scan(at(0), at(100), [&](const switchyard::archived_event& e) {
        seen.push_back(n_of(e.event_json));
        return seen.size() < 2;
    }) == 2);
    CHECK(seen == std::vector<int>{0, 1});

    // An empty window visits nothing.
    CHECK(store.scan(at(50), at(60), [](const switchyard::archived_event&) { return true; }) == 0);

    // Purging removes exactly the events older than the cutoff.
    CHECK(store.purge_before(at(20)) == 3);  // 10, 5, 15
    CHECK(store.count() == 4);
    seen.clear();
    store.scan(at(0), at(100), [&](const switchyard::archived_event& e) {
        seen.push_back(n_of(e.event_json));
        return true;
    });
    CHECK(seen == std::vector<int>{2, 4, 5, 6});

    // Sequences keep growing after a purge.
    CHECK(store.append(row(7), at(1)) > last);
}

}  // namespace archive_store_contract
