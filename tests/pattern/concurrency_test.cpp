// Readers never lock: many threads match against matcher snapshots while a writer derives new
// snapshots with `with`/`without`. Run under ThreadSanitizer in CI (label "concurrency").
#include <doctest/doctest.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <switchyard/pattern/matcher.hpp>

namespace sp = switchyard::pattern;

TEST_CASE("matching from many threads while a writer adds and removes rules") {
    // Rule 0 always matches the event; rules 1..64 come and go. Rules 100..119 are numeric
    // ranges on one field (enough for the lazily built interval tree, which every new snapshot
    // builds afresh, raced for by the readers); 100..104 match.
    sp::matcher base = sp::matcher{}.with(0, sp::compile(R"({"a": ["x"]})"));
    for (int k = 0; k < 20; ++k)
        base = base.with(static_cast<sp::rule_id>(100 + k), sp::compile(R"({"n": [{"numeric": [">", )" + std::to_string(k) + "]}]}"));
    auto current = std::make_shared<const sp::matcher>(base);
    std::mutex handoff;  // guards only the pointer swap, never a match
    std::atomic<bool> stop{false};
    std::atomic<long> matched{0};
    std::atomic<bool> bad{false};

    const std::string event = R"({"a": "x", "n": 5, "s": "hello.png", "arr": [{"k": "v", "n": 1}, {"k": "w", "n": 2}]})";
    std::vector<std::thread> readers;
    for (int t = 0; t < 3; ++t)
        readers.emplace_back([&] {
            sp::flat_event scratch;
            std::vector<sp::rule_id> out;
            while (!stop.load(std::memory_order_relaxed)) {
                std::shared_ptr<const sp::matcher> snapshot;
                {
                    std::lock_guard lock(handoff);
                    snapshot = current;
                }
                for (int k = 0; k < 20; ++k) {
                    out.clear();
                    if (!snapshot->match_json(event, scratch, out) || out.empty() || out.front() != 0) bad = true;
                    int ranges = 0;
                    for (const auto id : out) {
                        if (id >= 100 && id <= 104) ++ranges;
                        else if (id > 64) bad = true;
                    }
                    if (ranges != 5) bad = true;
                    ++matched;
                }
            }
        });

    const char* shapes[] = {
        R"({"a": ["x"], "n": [{"numeric": [">", 1]}]})",
        R"({"s": [{"wildcard": "*.png"}]})",
        R"({"arr": {"k": ["v"], "n": [1]}})",
        R"({"s": [{"prefix": "he"}], "$or": [{"a": ["y"]}, {"n": [5]}]})",
        R"({"z": [{"exists": false}]})",
    };
    sp::matcher writer = *current;
    for (int round = 0; round < 400; ++round) {
        const auto id = static_cast<sp::rule_id>(1 + round % 64);
        writer = round % 3 == 2 ? writer.without(id) : writer.with(id, sp::compile(shapes[round % 5]));
        auto next = std::make_shared<const sp::matcher>(writer);
        std::lock_guard lock(handoff);
        current = std::move(next);
    }
    // Let readers see the final snapshot at least once before stopping.
    const long seen = matched.load();
    while (matched.load() < seen + 100) std::this_thread::yield();
    stop = true;
    for (auto& r : readers) r.join();
    CHECK_FALSE(bad.load());
    CHECK(matched.load() > 0);
}
