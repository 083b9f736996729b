// Per-key FIFO on its own: the sequencer's bookkeeping and the strand over real executors.
#include <doctest/doctest.h>

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "switchyard/executor/keyed_strand.hpp"
#include "switchyard/executor/inline_executor.hpp"
#include "switchyard/executor/manual_executor.hpp"
#include "switchyard/executor/thread_pool.hpp"
#include "test_support.hpp"

using namespace switchyard;

TEST_CASE("a sequencer hands out one head per key, in arrival order") {
    keyed_sequencer<int> order;
    CHECK(order.arrive("a", 1) == 1);  // the key's head: the caller runs it
    CHECK_FALSE(order.arrive("a", 2));  // waits behind 1
    CHECK_FALSE(order.arrive("a", 3));
    CHECK(order.arrive("b", 10) == 10);  // another key runs in parallel
    CHECK(order.active_keys() == 2);
    CHECK(order.depart("a") == 2);
    CHECK(order.depart("a") == 3);
    CHECK_FALSE(order.depart("a"));  // the key is done and forgotten
    CHECK_FALSE(order.depart("b"));
    CHECK(order.active_keys() == 0);
}

TEST_CASE("a strand runs each key's tasks one at a time, in order, keys in parallel") {
    thread_pool pool{4};
    keyed_strand strand{pool};
    std::mutex mutex;
    std::map<std::string, std::vector<int>> seen;
    std::map<std::string, int> running;
    bool overlapped = false;
    tally done;
    constexpr int per_key = 200;
    for (int i = 0; i < per_key; ++i)
        for (const char* key : {"k1", "k2", "k3"})
            strand.execute(key, [&, key = std::string(key), i] {
                {
                    std::lock_guard lock(mutex);
                    if (++running[key] > 1) overlapped = true;
                    seen[key].push_back(i);
                }
                std::lock_guard lock(mutex);
                --running[key];
                done.add();
            });
    REQUIRE(done.wait_for(3 * per_key));
    CHECK_FALSE(overlapped);
    for (const auto& [key, order] : seen) {
        REQUIRE(order.size() == per_key);
        for (int i = 0; i < per_key; ++i) CHECK(order[static_cast<std::size_t>(i)] == i);
    }
}

TEST_CASE("a key's next task waits until the head has run") {
    manual_executor manual;
    keyed_strand strand{manual};
    std::vector<int> ran;
    strand.execute("k", [&] { ran.push_back(1); });
    strand.execute("k", [&] { ran.push_back(2); });
    strand.execute("other", [&] { ran.push_back(9); });
    CHECK(manual.run_one());  // k's head
    CHECK(ran == std::vector<int>{1});
    manual.run_all();
    CHECK(ran.size() == 3);
    CHECK(ran.back() != 1);
    CHECK(strand.active_keys() == 0);
}

TEST_CASE("a long queue behind one key does not nest calls on an inline executor") {
    // The head queues 100,000 tasks behind itself; each one's end starts the next, which on an
    // inline executor would nest one call per task (and overflow the stack) without the
    // strand's trampoline.
    keyed_strand strand{inline_executor::instance()};
    int count = 0;
    constexpr int n = 100'000;
    strand.execute("k", [&] {
        for (int i = 0; i < n; ++i) strand.execute("k", [&] { ++count; });
        CHECK(count == 0);  // queued behind the running head, not run inside it
    });
    CHECK(count == n);
    CHECK(strand.active_keys() == 0);
}
