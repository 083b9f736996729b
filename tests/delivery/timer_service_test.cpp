#include <doctest/doctest.h>

#include <mutex>
#include <set>
#include <thread>

#include "test_support.hpp"

using namespace switchyard;
using namespace std::chrono_literals;

TEST_CASE("timers fire in due order, on one thread") {
    std::mutex m;
    std::vector<int> fired;
    std::set<std::thread::id> threads;
    tally done;
    timer_service timers;
    const auto now = timer_service::clock::now();
    for (int i : {5, 1, 4, 2, 3})
        REQUIRE(timers.schedule(now + std::chrono::milliseconds(i * 3), [&, i](bool cancelled) {
            CHECK_FALSE(cancelled);
            std::lock_guard lock(m);
            fired.push_back(i);
            threads.insert(std::this_thread::get_id());
            done.add();
        }));
    REQUIRE(done.wait_for(5));
    CHECK(fired == std::vector<int>{1, 2, 3, 4, 5});
    CHECK(threads.size() == 1);
}

TEST_CASE("a thousand pending timers cost entries, not threads, and cancel_all hands them back") {
    timer_service timers;
    int cancelled = 0;
    for (int i = 0; i < 1000; ++i)
        REQUIRE(timers.schedule(timer_service::clock::now() + 1h, [&](bool was_cancelled) { cancelled += was_cancelled ? 1 : 0; }));
    CHECK(timers.pending() == 1000);
    timers.cancel_all();
    CHECK(cancelled == 1000);
    CHECK(timers.pending() == 0);
}

TEST_CASE("the destructor cancels what is still pending") {
    int cancelled = 0;
    {
        timer_service timers;
        REQUIRE(timers.schedule(timer_service::clock::now() + 1h, [&](bool was_cancelled) { cancelled += was_cancelled ? 1 : 0; }));
    }
    CHECK(cancelled == 1);
}

TEST_CASE("after close, pending timers are cancelled and new ones refused, with the callback kept") {
    timer_service timers;
    int cancelled = 0;
    REQUIRE(timers.schedule(timer_service::clock::now() + 1h, [&](bool was_cancelled) { cancelled += was_cancelled ? 1 : 0; }));
    timers.close();
    CHECK(cancelled == 1);
    timer_service::callback late = [&](bool) { cancelled += 10; };
    CHECK_FALSE(timers.schedule(timer_service::clock::now(), std::move(late)));
    REQUIRE(late);  // refused: still the caller's
    late(true);
    CHECK(cancelled == 11);
}
