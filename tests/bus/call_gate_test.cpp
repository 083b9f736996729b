// The call gate alone: close-and-wait, and a call that closes its own gate.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "switchyard/bus/call_gate.hpp"
#include "test_support.hpp"

using switchyard::detail::call_gate;

TEST_CASE("a closed gate lets no call in") {
    call_gate g;
    g.close_and_wait();
    call_gate::scope call(g);
    CHECK_FALSE(call.entered());
    CHECK_FALSE(g.is_open());
}

TEST_CASE("closing waits for a call running on another thread") {
    call_gate g;
    gate inside, release;
    std::atomic<bool> left{false};
    std::thread worker([&] {
        call_gate::scope call(g);
        REQUIRE(call.entered());
        inside.open();
        release.wait();
        left = true;
    });
    inside.wait();
    std::thread closer([&] {
        g.close_and_wait();
        CHECK(left.load());  // close_and_wait returned only after the call left
    });
    release.open();
    closer.join();
    worker.join();
}

TEST_CASE("a call that closes its own gate does not wait for itself") {
    call_gate g;
    {
        call_gate::scope outer(g);
        REQUIRE(outer.entered());
        call_gate::scope nested(g);  // an inline delivery inside the handler
        REQUIRE(nested.entered());
        g.close_and_wait();  // would deadlock if it waited for the calls on this thread
        call_gate::scope later(g);
        CHECK_FALSE(later.entered());
    }
}
