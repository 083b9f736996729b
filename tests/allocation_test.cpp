// How many heap allocations a synchronous publish makes, counted by replacing the global
// operator new in this test program (so it has an executable of its own). An allocation per
// envelope field was a third of a publish's time; this keeps it from coming back unnoticed.
#include <doctest/doctest.h>

#include <atomic>
#include <cstddef>
#include <cstdlib>
#include <new>
#include <string>

#include <switchyard/switchyard.hpp>

namespace {
// Only the thread that asked is counted: a bus's own threads (timers) may allocate meanwhile.
thread_local bool counting = false;
thread_local std::size_t allocations = 0;

void* allocate(std::size_t size) {
    if (counting) ++allocations;
    if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
    throw std::bad_alloc();
}
}  // namespace

void* operator new(std::size_t size) { return allocate(size); }
void* operator new[](std::size_t size) { return allocate(size); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }

namespace {
struct Payment {
    std::string card;  // short: held in the string itself
    double amount = 0.0;
};
SWITCHYARD_EVENT(Payment, "PaymentAuthorized", card, amount)

// Allocations made by `publish` on this thread, averaged over `rounds` calls.
template <class Publish> double allocations_per_call(int rounds, Publish&& publish) {
    allocations = 0;
    counting = true;
    for (int i = 0; i < rounds; ++i) publish();
    counting = false;
    return static_cast<double>(allocations) / rounds;
}
}  // namespace

TEST_CASE("a synchronous typed publish to an inline handler allocates only its event") {
    // The replaced operator new is the one in use, and counts.
    CHECK(allocations_per_call(10, [] { delete new int(1); }) == 1.0);

    switchyard::bus bus{"payments"};
    std::size_t delivered = 0;
    bus.add_rule({.name = "authorized",
                  .pattern = R"({"detail-type": ["PaymentAuthorized"], "source": ["com.example.card-payments"]})",
                  .targets = {switchyard::handler<Payment>("count", [&](const switchyard::event<Payment>& e) {
                      ++delivered;
                      CHECK(e.id.size() == 36);
                  })}});
    // A source and detail-type past std::string's 15 in-place characters, as most are.
    const auto producer = bus.producer<Payment>("com.example.card-payments");
    for (int i = 0; i < 10; ++i) REQUIRE(producer.publish({"4111", 1.0}).ok());  // per-thread scratch grows once

    const double per_publish = allocations_per_call(200, [&] {
        const auto result = producer.publish({"4111", 12.5});
        CHECK(result.ok());
        CHECK(result.event_id.size() == 36);
    });
    CHECK(delivered == 210);
    MESSAGE("allocations per publish: " << per_publish);
    // Nothing per field. The event itself (one shared block holding envelope and detail) comes
    // from the block pool, which reuses the block the previous publish freed; without the pool
    // (AddressSanitizer builds) it is the one allocation.
    CHECK(per_publish == (switchyard::detail::pool_enabled() ? 0.0 : 1.0));
}

TEST_CASE("a publish to a thread pool reuses the blocks the worker freed") {
    // The event and the delivery are allocated here and freed on the worker; the block pool
    // brings them back to this thread in batches. Before the pool, this was two allocations per
    // publish, each one malloc's slow path across threads.
    if (!switchyard::detail::pool_enabled()) return;
    switchyard::thread_pool worker{1};
    switchyard::bus bus{"payments"};
    std::atomic<std::size_t> delivered{0};
    bus.add_rule({.name = "authorized",
                  .pattern = R"({"detail-type": ["PaymentAuthorized"]})",
                  .targets = {switchyard::handler<Payment>("count", [&](const switchyard::event<Payment>&) { delivered.fetch_add(1); }, worker)}});
    const auto producer = bus.producer<Payment>("com.example.card-payments");
    auto rounds = [&](int n) {
        for (int r = 0; r < n; ++r) {
            for (int i = 0; i < 500; ++i) REQUIRE(producer.publish({"4111", 12.5}).ok());
            bus.drain();
        }
    };
    rounds(20);  // the pool fills up
    const double per_publish = allocations_per_call(20, [&] { rounds(1); }) / 500;
    CHECK(delivered.load() == 40 * 500);
    MESSAGE("allocations per cross-thread publish: " << per_publish);
    // The thread pool's queue still allocates a node per 16 tasks, and a few blocks may be in
    // flight between the threads' lists; two per publish would be 2.0.
    CHECK(per_publish < 0.2);
}
