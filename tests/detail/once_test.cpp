// once_latch (detail/once.hpp), the once-only initialisation behind an event's JSON text:
// concurrent first callers run it once and all see its result; a throw lets the next caller
// run it again. Labelled for ThreadSanitizer.
#include <doctest/doctest.h>

#include <atomic>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <switchyard/detail/once.hpp>
#include <switchyard/switchyard.hpp>

using switchyard::detail::once_latch;

TEST_CASE("once_latch: eight threads racing to the first call run it once and all see what it made") {
    for (int round = 0; round < 200; ++round) {
        once_latch latch;
        std::string made;
        std::atomic<int> runs{0};
        std::atomic<int> ready{0};
        std::vector<std::string> seen(8);
        std::vector<std::thread> threads;
        for (int t = 0; t < 8; ++t)
            threads.emplace_back([&, t] {
                ready.fetch_add(1);
                while (ready.load() < 8) {
                }
                latch.call([&] {
                    runs.fetch_add(1);
                    made = "made once";
                });
                seen[static_cast<std::size_t>(t)] = made;  // after call() returns, the result is visible
            });
        for (auto& th : threads) th.join();
        REQUIRE(runs.load() == 1);
        for (const auto& s : seen) CHECK(s == "made once");
    }
}

TEST_CASE("once_latch: a call that throws is not done; the next caller runs it again, and then no one does") {
    once_latch latch;
    int runs = 0;
    CHECK_THROWS_AS(latch.call([&] {
        ++runs;
        throw std::runtime_error("first try fails");
    }),
                    std::runtime_error);
    latch.call([&] { ++runs; });
    latch.call([&] { ++runs; });
    CHECK(runs == 2);
}

TEST_CASE("an event's JSON text, asked for by many threads at once, is made once: one string, one address") {
    switchyard::envelope meta;
    meta.id = "e-1";
    meta.detail_type = "OrderPlaced";
    meta.source = "shop";
    meta.time = "2026-12-02T00:00:00Z";
    for (int round = 0; round < 100; ++round) {
        const auto e = switchyard::make_json_event(meta, R"({"n": 1})");
        std::vector<const std::string*> seen(6);
        std::vector<std::thread> threads;
        for (std::size_t t = 0; t < seen.size(); ++t) threads.emplace_back([&, t] { seen[t] = &e->json(); });
        for (auto& th : threads) th.join();
        for (const auto* s : seen) CHECK(s == seen[0]);
        CHECK(*seen[0] == e->json());
        CHECK(nlohmann::json::parse(*seen[0])["detail"]["n"] == 1);
    }
}
