#include <doctest/doctest.h>

#include <atomic>
#include <set>
#include <stdexcept>
#include <vector>
#include <thread>

#include "test_support.hpp"

using namespace switchyard;

static_assert(executor<thread_pool>);
static_assert(executor<inline_executor>);

TEST_CASE("inline_executor runs the task on the calling thread, at once") {
    std::thread::id ran_on;
    inline_executor{}.execute([&] { ran_on = std::this_thread::get_id(); });
    CHECK(ran_on == std::this_thread::get_id());
}

TEST_CASE("thread_pool runs every task on its own threads") {
    std::mutex mutex;
    std::set<std::thread::id> threads;
    tally done;
    {
        thread_pool pool{3};
        CHECK(pool.size() == 3);
        for (int i = 0; i < 300; ++i)
            pool.execute([&] {
                {
                    std::lock_guard lock(mutex);
                    threads.insert(std::this_thread::get_id());
                }
                done.add();
            });
        CHECK(done.wait_for(300));
    }
    CHECK(threads.count(std::this_thread::get_id()) == 0);
    CHECK(threads.size() <= 3);
}

TEST_CASE("thread_pool's destructor runs what was queued, then joins") {
    std::atomic<int> done{0};
    {
        thread_pool pool{1};
        for (int i = 0; i < 1000; ++i) pool.execute([&] { ++done; });
    }
    CHECK(done.load() == 1000);
}

TEST_CASE("an exception escaping a task reaches the pool's error handler and the worker goes on") {
    tally errors, done;
    std::string message;
    {
        thread_pool pool{1, [&](std::exception_ptr e) {
                             try {
                                 std::rethrow_exception(e);
                             } catch (const std::exception& ex) {
                                 message = ex.what();
                             }
                             errors.add();
                         }};
        pool.execute([] { throw std::runtime_error("boom"); });
        pool.execute([&] { done.add(); });
        CHECK(done.wait_for(1));
    }
    CHECK(errors.value() == 1);
    CHECK(message == "boom");
}

TEST_CASE("a one-worker thread_pool runs tasks in order, counts each as backlog until it starts, and survives a throw") {
    // What a change to how workers take tasks (in batches, say) must keep: the order tasks were
    // queued in, backlog() counting every task not yet started, and the tasks after one that throws.
    tally errors, started, done;
    gate release;
    std::vector<int> order;
    std::vector<std::size_t> backlog_seen;
    {
        thread_pool pool{1, [&](std::exception_ptr) { errors.add(); }};
        pool.execute([&] {
            started.add();
            release.wait();
        });
        REQUIRE(started.wait_for(1));
        for (int i = 0; i < 100; ++i)
            pool.execute([&, i] {
                order.push_back(i);
                backlog_seen.push_back(pool.backlog());
                if (i == 50) throw std::runtime_error("task 50 fails");
                done.add();
            });
        CHECK(pool.backlog() == 100);
        release.open();
        CHECK(done.wait_for(99));
    }
    CHECK(errors.value() == 1);
    REQUIRE(order.size() == 100);
    for (int i = 0; i < 100; ++i) {
        CHECK(order[static_cast<std::size_t>(i)] == i);
        CHECK(backlog_seen[static_cast<std::size_t>(i)] == static_cast<std::size_t>(99 - i));  // the ones behind it
    }
}

TEST_CASE("thread_pool rejects zero threads with a message") {
    CHECK_THROWS_WITH_AS(thread_pool(0), doctest::Contains("at least one thread"), error);
}

TEST_CASE("any_executor holds executors by reference or by shared ownership") {
    std::atomic<int> done{0};
    auto pool = std::make_shared<thread_pool>(1);
    any_executor owned(pool);
    pool.reset();  // the holder keeps it alive
    tally c;
    owned.execute([&] { c.add(); });
    CHECK(c.wait_for(1));
    inline_executor direct;
    any_executor ref(direct);
    ref.execute([&] { ++done; });
    CHECK(done.load() == 1);
}
