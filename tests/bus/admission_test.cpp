// Admission alone: slot counters and plans that give their slots back by themselves.
#include <doctest/doctest.h>

#include <chrono>
#include <thread>
#include <vector>

#include "switchyard/bus/admission.hpp"

using namespace std::chrono_literals;
using switchyard::detail::admission_plan;
using switchyard::detail::slot_counter;

namespace {
struct fake_target {
    int id;
};
using plan = admission_plan<fake_target>;
}  // namespace

TEST_CASE("a slot counter admits up to its capacity") {
    slot_counter slots(2);
    CHECK(slots.try_reserve());
    CHECK(slots.try_reserve());
    CHECK_FALSE(slots.try_reserve());
    CHECK(slots.in_use() == 2);
    slots.release();
    CHECK(slots.try_reserve());
    slots.force_reserve();  // past the capacity, for deliveries accepted before
    CHECK(slots.in_use() == 3);
}

TEST_CASE("a blocked reservation times out, and a release wakes it") {
    slot_counter slots(1);
    REQUIRE(slots.try_reserve());
    CHECK_FALSE(slots.reserve_until(std::chrono::steady_clock::now() + 20ms));
    std::thread releaser([&] { slots.release(); });
    CHECK(slots.reserve_until(std::chrono::steady_clock::now() + 10s));
    releaser.join();
    CHECK(slots.in_use() == 1);
}

TEST_CASE("a plan gives back what it reserved when it is dropped") {
    slot_counter a(1), b(1);
    fake_target ta{1}, tb{2};
    std::vector<plan::step> storage;
    {
        plan p(storage);
        p.add(&ta, &a);
        p.add(&tb, &b);
        for (auto& s : p.steps()) s.reserved = s.slots->try_reserve();
        CHECK(a.in_use() == 1);
        CHECK(b.in_use() == 1);
    }
    CHECK(a.in_use() == 0);
    CHECK(b.in_use() == 0);
}

TEST_CASE("a plan that hands its slots over keeps them reserved") {
    slot_counter a(1);
    fake_target ta{1};
    std::vector<plan::step> storage;
    {
        plan p(storage);
        p.add(&ta, &a);
        p.steps()[0].reserved = a.try_reserve();
        p.hand_over();
    }
    CHECK(a.in_use() == 1);
}

TEST_CASE("a kept plan survives the reuse of its storage and a move") {
    slot_counter a(2), b(2);
    fake_target ta{1}, tb{2};
    std::vector<plan::step> storage;
    std::vector<plan> kept;
    {
        plan p(storage);
        p.add(&ta, &a);
        p.steps()[0].reserved = a.try_reserve();
        p.keep();
        kept.push_back(std::move(p));
    }
    {
        plan q(storage);  // the storage is reused by the next event
        q.add(&tb, &b);
        q.steps()[0].reserved = b.try_reserve();
        q.keep();
        kept.push_back(std::move(q));  // may reallocate: each plan must follow its own steps
    }
    REQUIRE(kept.size() == 2);
    CHECK(kept[0].steps().at(0).target->id == 1);
    CHECK(kept[1].steps().at(0).target->id == 2);
    CHECK(a.in_use() == 1);
    CHECK(b.in_use() == 1);
    kept.clear();
    CHECK(a.in_use() == 0);
    CHECK(b.in_use() == 0);
}

TEST_CASE("reset gives the slots back and forgets the steps") {
    slot_counter a(1);
    fake_target ta{1};
    std::vector<plan::step> storage;
    plan p(storage);
    p.add(&ta, &a);
    p.steps()[0].reserved = a.try_reserve();
    p.reset();
    CHECK(p.empty());
    CHECK(a.in_use() == 0);
}
