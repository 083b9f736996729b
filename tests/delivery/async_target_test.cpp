// async_target: deliveries that end when their delivery_completion is called, from any thread.
// They count as running until then (drain, FIFO groups, queue slots), and retries, dead letters,
// settlement callbacks and once_per_event treat them like any other delivery.
#include <doctest/doctest.h>

#include <atomic>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <switchyard/durability/idempotency.hpp>

#include "test_support.hpp"

using namespace switchyard;
using namespace std::chrono_literals;
using test_types::quick;

namespace {

const char* const everything = R"({"source": [{"prefix": ""}]})";

// Completions the test ends by hand, from whichever thread it likes.
class held_completions {
public:
    void hold(const any_event& e, delivery_completion done) {
        std::lock_guard lock(mutex_);
        ids_.push_back(e.meta().id);
        held_.push_back(std::move(done));
        changed_.notify_all();
    }
    bool wait_for(std::size_t n, std::chrono::milliseconds timeout = 10s) {
        std::unique_lock lock(mutex_);
        return changed_.wait_for(lock, timeout, [&] { return held_.size() >= n; });
    }
    std::size_t size() {
        std::lock_guard lock(mutex_);
        return held_.size();
    }
    // Ends the oldest held delivery with `result`; returns its event's id.
    std::string complete_oldest(outcome result) {
        delivery_completion done;
        std::string id;
        {
            std::lock_guard lock(mutex_);
            REQUIRE_FALSE(held_.empty());
            done = std::move(held_.front());
            id = ids_.front();
            held_.pop_front();
            ids_.pop_front();
        }
        done(std::move(result));
        return id;
    }

private:
    std::mutex mutex_;
    std::condition_variable changed_;
    std::deque<delivery_completion> held_;
    std::deque<std::string> ids_;
};

event_ptr ping(bus& b, const std::string& key = "k") {
    return make_json_event(b.make_envelope("com.example", "Ping"), R"({"key": ")" + key + R"("})");
}

}  // namespace

TEST_CASE("an asynchronous delivery ends when its completion is called from another thread; until then it counts as running") {
    held_completions held;
    bus b{"async"};
    b.add_rule({.name = "r",
                .pattern = everything,
                .targets = {async_target("later", [&](const any_event& e, const delivery_info&, delivery_completion done) {
                    held.hold(e, std::move(done));
                })}});
    REQUIRE(b.publish(ping(b)).ok());  // returns with the delivery still running
    REQUIRE(held.size() == 1);
    CHECK(b.stats()[0].delivered == 0);
    CHECK_FALSE(b.drain(20ms));  // drain waits for it

    std::thread completer([&] { held.complete_oldest(outcome::success()); });
    CHECK(b.drain(10s));
    completer.join();
    CHECK(b.stats()[0].delivered == 1);
    CHECK(b.stats()[0].dead_lettered == 0);
}

TEST_CASE("asynchronous failures are retried by the target's policy and dead-lettered with the reason") {
    std::atomic<int> attempts{0};
    std::vector<dead_letter> letters;
    std::mutex m;
    std::vector<std::thread> io_threads;
    bus b{"async"};
    b.add_rule({.name = "r",
                .pattern = everything,
                .targets = {async_target("flaky",
                                         [&](const any_event&, const delivery_info& info, delivery_completion done) {
                                             attempts.fetch_add(1);
                                             CHECK(info.attempt == static_cast<unsigned>(attempts.load()));
                                             // Completed from a thread of its own, as an I/O callback would.
                                             std::lock_guard lock(m);
                                             io_threads.emplace_back([done = std::move(done)]() mutable {
                                                 done(outcome::retry("the server said 503"));
                                             });
                                         })
                                .retry(quick(2))
                                .dead_letters([&](const dead_letter& d) {
                                    std::lock_guard lock(m);
                                    letters.push_back(d);
                                })}});
    REQUIRE(b.publish(ping(b)).ok());
    REQUIRE(b.drain(10s));
    for (auto& t : io_threads) t.join();
    CHECK(attempts.load() == 3);
    REQUIRE(letters.size() == 1);
    CHECK(letters[0].reason == dead_letter_reason::retries_exhausted);
    CHECK(letters[0].error_message == "the server said 503");
    CHECK(letters[0].attempts == 3);
}

TEST_CASE("an asynchronous invoker that throws fails its attempt as a handler would; a dropped completion is a retryable failure") {
    std::vector<dead_letter> letters;
    std::mutex m;
    auto collect = [&](const dead_letter& d) {
        std::lock_guard lock(m);
        letters.push_back(d);
    };
    bus b{"async"};
    SUBCASE("a permanent_error: dead-lettered at once, the completion it held not counted twice") {
        b.add_rule({.name = "r",
                    .pattern = everything,
                    .targets = {async_target("throws", [](const any_event&, const delivery_info&, delivery_completion) {
                                    throw permanent_error("the event cannot be sent");
                                })
                                    .retry(quick(3))
                                    .dead_letters(collect)}});
        REQUIRE(b.publish(ping(b)).ok());
        REQUIRE(b.drain(10s));
        REQUIRE(letters.size() == 1);
        CHECK(letters[0].reason == dead_letter_reason::permanent_failure);
        CHECK(letters[0].error_message == "the event cannot be sent");
        CHECK(letters[0].attempts == 1);
    }
    SUBCASE("a completion called, then an exception: the completion's outcome stands") {
        b.add_rule({.name = "r",
                    .pattern = everything,
                    .targets = {async_target("completes-then-throws", [](const any_event&, const delivery_info&, delivery_completion done) {
                                    done(outcome::success());
                                    throw std::runtime_error("after the fact");
                                }).dead_letters(collect)}});
        REQUIRE(b.publish(ping(b)).ok());
        REQUIRE(b.drain(10s));
        CHECK(letters.empty());
        CHECK(b.stats()[0].delivered == 1);
    }
    SUBCASE("a completion dropped without a call: retried, then dead-lettered naming it") {
        std::atomic<int> attempts{0};
        b.add_rule({.name = "r",
                    .pattern = everything,
                    .targets = {async_target("drops", [&](const any_event&, const delivery_info&, delivery_completion) { ++attempts; })
                                    .retry(quick(1))
                                    .dead_letters(collect)}});
        REQUIRE(b.publish(ping(b)).ok());
        REQUIRE(b.drain(10s));
        CHECK(attempts.load() == 2);
        REQUIRE(letters.size() == 1);
        CHECK(letters[0].error_message.find("dropped its delivery_completion") != std::string::npos);
    }
}

TEST_CASE("a completion dropped on another thread while an unrelated exception unwinds still ends its delivery") {
    // An I/O library's handler that holds the completion and throws before calling it: the
    // handler is destroyed during the unwinding, on a thread that is not the invoker's.
    struct handler {
        delivery_completion done;
        void operator()() { throw std::runtime_error("the response could not be parsed"); }
    };
    std::unique_ptr<handler> pending;
    std::vector<dead_letter> letters;
    bus b{"async"};
    b.add_rule({.name = "r",
                .pattern = everything,
                .targets = {async_target("io", [&](const any_event&, const delivery_info&, delivery_completion done) {
                                pending = std::make_unique<handler>(handler{std::move(done)});
                            })
                                .retry(quick(0))
                                .dead_letters([&](const dead_letter& d) { letters.push_back(d); })}});
    REQUIRE(b.publish(ping(b)).ok());
    REQUIRE(pending);
    std::thread io([&] {
        try {
            auto h = std::move(pending);
            (*h)();  // throws: `h` (and the completion it holds) is destroyed while it unwinds
        } catch (const std::exception&) {
        }
    });
    io.join();
    CHECK(b.drain(10s));
    REQUIRE(letters.size() == 1);
    CHECK(letters[0].error_message.find("dropped its delivery_completion") != std::string::npos);
}

TEST_CASE("a completion dropped inside the invoker that then throws: the exception's message is reported, once") {
    std::vector<dead_letter> letters;
    bus b{"async"};
    b.add_rule({.name = "r",
                .pattern = everything,
                .targets = {async_target("drops-then-throws",
                                         [](const any_event&, const delivery_info&, delivery_completion done) {
                                             { auto gone = std::move(done); }  // dropped first...
                                             throw std::runtime_error("connection refused");  // ...then the exception
                                         })
                                .retry(quick(0))
                                .dead_letters([&](const dead_letter& d) { letters.push_back(d); })}});
    REQUIRE(b.publish(ping(b)).ok());
    REQUIRE(b.drain(10s));
    REQUIRE(letters.size() == 1);
    CHECK(letters[0].error_message == "connection refused");
}

TEST_CASE("a callback that drains without a timeout from an asynchronous delivery's end is refused, not left waiting for itself") {
    delivery_completion kept;
    bus b{"async"};
    b.add_rule({.name = "r",
                .pattern = everything,
                .targets = {async_target("keeps", [&](const any_event&, const delivery_info&, delivery_completion done) {
                    kept = std::move(done);
                })}});
    std::atomic<bool> refused{false};
    REQUIRE(b.publish(ping(b), [&](const publish_settlement&) {
                 try {
                     b.drain();
                 } catch (const error&) {
                     refused = true;
                 }
             }).ok());
    std::thread io([&] { kept(outcome::success()); });
    io.join();
    CHECK(refused.load());
    CHECK(b.drain(10s));
}

TEST_CASE("a delivery_completion ends its delivery once: a second call throws") {
    delivery_completion kept;
    bus b{"async"};
    b.add_rule({.name = "r",
                .pattern = everything,
                .targets = {async_target("keeps", [&](const any_event&, const delivery_info&, delivery_completion done) {
                    kept = std::move(done);
                })}});
    REQUIRE(b.publish(ping(b)).ok());
    REQUIRE(static_cast<bool>(kept));
    kept(outcome::success());
    CHECK_FALSE(static_cast<bool>(kept));
    CHECK_THROWS_WITH_AS(kept(outcome::success()), doctest::Contains("called twice"), error);
    CHECK(b.drain(10s));
    CHECK(b.stats()[0].delivered == 1);
}

TEST_CASE("an ordered asynchronous target starts a group's next delivery only when the previous one completed") {
    held_completions held;
    bus b{"async"};
    b.add_rule({.name = "r",
                .pattern = everything,
                .targets = {async_target("ordered",
                                         [&](const any_event& e, const delivery_info&, delivery_completion done) {
                                             held.hold(e, std::move(done));
                                         })
                                .ordered_by("$.detail.key")}});
    const auto a1 = ping(b, "a"), a2 = ping(b, "a"), b1 = ping(b, "b");
    REQUIRE(b.publish(a1).ok());
    REQUIRE(b.publish(a2).ok());
    REQUIRE(b.publish(b1).ok());
    REQUIRE(held.wait_for(2));
    CHECK(held.size() == 2);  // a1 and b1; a2 waits behind a1
    CHECK(held.complete_oldest(outcome::success()) == a1->meta().id);
    REQUIRE(held.wait_for(2));  // a2 started once a1 ended
    CHECK(held.complete_oldest(outcome::success()) == b1->meta().id);
    CHECK(held.complete_oldest(outcome::success()) == a2->meta().id);
    CHECK(b.drain(10s));
    CHECK(b.stats()[0].delivered == 3);
}

TEST_CASE("asynchronous deliveries keep their queue slots until they end; settlement and once_per_event wait for the completion") {
    held_completions held;
    bus b{"async"};
    auto processed = std::make_shared<memory_processed_store>();
    std::atomic<int> invoked{0};
    b.add_rule({.name = "r",
                .pattern = everything,
                .targets = {once_per_event(async_target("bounded",
                                                        [&](const any_event& e, const delivery_info&, delivery_completion done) {
                                                            ++invoked;
                                                            held.hold(e, std::move(done));
                                                        })
                                               .bounded({.capacity = 2, .on_full = overflow_policy::reject}),
                                           processed)}});
    std::atomic<int> settled{0};
    const auto first = ping(b);
    REQUIRE(b.publish(first, [&](const publish_settlement& s) {
                 CHECK(s.delivered == 1);
                 ++settled;
             }).ok());
    REQUIRE(b.publish(ping(b)).ok());
    CHECK_FALSE(b.publish(ping(b)).ok());  // two in flight: the third is throttled
    CHECK(settled.load() == 0);
    held.complete_oldest(outcome::success());
    CHECK(settled.load() == 1);
    held.complete_oldest(outcome::success());
    REQUIRE(b.drain(10s));
    // once_per_event remembered the first on its completion: published again, it is not invoked.
    REQUIRE(b.publish(first).ok());
    REQUIRE(b.drain(10s));
    CHECK(invoked.load() == 2);
    CHECK(held.size() == 0);
    // A failed completion is not remembered: the event runs again.
    const auto failing = ping(b);
    REQUIRE(b.publish(failing).ok());
    held.complete_oldest(outcome::fail("no"));
    REQUIRE(b.drain(10s));
    REQUIRE(b.publish(failing).ok());
    CHECK(invoked.load() == 4);
    held.complete_oldest(outcome::success());
    REQUIRE(b.drain(10s));
}

TEST_CASE("a target with both a handler and an asynchronous handler is refused") {
    bus b{"async"};
    auto t = async_target("both", [](const any_event&, const delivery_info&, delivery_completion done) { done(outcome::success()); });
    t.invoke = [](const any_event&, const delivery_info&) { return outcome::success(); };
    CHECK_THROWS_WITH_AS(b.add_rule({.name = "r", .pattern = everything, .targets = {t}}), doctest::Contains("give it one of them"), error);
}

TEST_CASE("many asynchronous deliveries completed from several threads at once: every one ends exactly once") {
    constexpr int n = 20000;
    std::mutex m;
    std::condition_variable ready;
    std::deque<std::pair<unsigned, delivery_completion>> queue;  // attempt, completion
    bool stop = false;
    bus b{"async"};
    b.add_rule({.name = "r",
                .pattern = everything,
                .targets = {async_target("io", [&](const any_event&, const delivery_info& info, delivery_completion done) {
                    std::lock_guard lock(m);
                    queue.emplace_back(info.attempt, std::move(done));
                    ready.notify_one();
                }).retry(quick(3))}});
    std::atomic<int> first_attempts{0};
    std::atomic<int> retried{0};
    auto worker = [&] {
        std::unique_lock lock(m);
        while (true) {
            ready.wait(lock, [&] { return stop || !queue.empty(); });
            if (queue.empty()) return;
            auto [attempt, done] = std::move(queue.front());
            queue.pop_front();
            lock.unlock();
            // One first attempt in seven asks for a retry, to mix retries in; retries succeed.
            if (attempt == 1 && first_attempts.fetch_add(1) % 7 == 0) {
                ++retried;
                done(outcome::retry("try again"));
            } else {
                done(outcome::success());
            }
            lock.lock();
        }
    };
    std::thread w1(worker), w2(worker), w3(worker);
    std::thread p1([&] {
        for (int i = 0; i < n / 2; ++i) CHECK(b.publish(ping(b)).ok());
    });
    for (int i = 0; i < n / 2; ++i) CHECK(b.publish(ping(b)).ok());
    p1.join();
    const bool drained = b.drain(60s);
    {
        std::lock_guard lock(m);
        stop = true;
        ready.notify_all();
    }
    w1.join();
    w2.join();
    w3.join();
    REQUIRE(drained);
    const auto s = b.stats()[0];
    CHECK(s.delivered + s.dead_lettered == static_cast<std::uint64_t>(n));
    CHECK(s.dead_lettered == 0);
    CHECK(s.delivered == static_cast<std::uint64_t>(n));
    CHECK(retried.load() > 0);
}
