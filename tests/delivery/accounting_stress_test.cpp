// The accounting invariant under load: several publisher threads, targets that fail at random
// (retryably and permanently), with and without FIFO keys, one with a small rejecting queue.
// After draining, for every target: accepted = delivered + dead-lettered, nothing pending, every
// accepted event ended exactly once, no unaccepted event was seen, and FIFO order held per key.
// SWITCHYARD_STRESS_EVENTS sets the event count (default 1,000,000; CI's sanitizer runs use less).
#include <doctest/doctest.h>

#include <array>
#include <atomic>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include "test_support.hpp"

using namespace switchyard;
using namespace std::chrono_literals;

namespace {

struct Payment {
    std::uint32_t seq = 0;      // unique across the run: publisher * per_thread + i
    std::string customer;       // FIFO key: one of 16 per publisher
    std::uint32_t position = 0; // position within the publisher's stream
};
SWITCHYARD_EVENT(Payment, "PAYMENT", seq, customer, position)

std::size_t event_count() {
    if (const char* text = std::getenv("SWITCHYARD_STRESS_EVENTS")) return std::strtoull(text, nullptr, 10);
    return 1'000'000;
}

// Deterministic "random" failures from (seq, attempt, salt).
std::uint64_t mix(std::uint64_t x) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    return x ^ (x >> 33);
}

outcome flaky(const event<Payment>& e, const delivery_info& info, std::uint64_t salt) {
    const auto roll = mix(e.detail.seq * 1000003ull + info.attempt * 7919ull + salt) % 100;
    if (roll < 2) throw permanent_error("permanently declined");
    if (roll < 12) throw std::runtime_error("temporarily unavailable");
    if (roll < 14) return outcome::retry("busy");
    return outcome::success();
}

struct ledger {
    explicit ledger(std::size_t n) : ended(std::make_unique<std::atomic<std::uint8_t>[]>(n)) {
        for (std::size_t i = 0; i < n; ++i) ended[i].store(0, std::memory_order_relaxed);
    }
    void end(std::uint32_t seq) { ended[seq].fetch_add(1, std::memory_order_relaxed); }
    std::unique_ptr<std::atomic<std::uint8_t>[]> ended;
};

}  // namespace

TEST_CASE("every accepted event is delivered or dead-lettered exactly once per target, FIFO holds per key") {
    constexpr std::size_t publishers = 4;
    const std::size_t total = event_count() / publishers * publishers;
    const std::size_t per_thread = total / publishers;
    MESSAGE("stress: " << total << " events from " << publishers << " publishers");

    thread_pool workers{3};
    const retry_policy fast_retries{.max_retry_attempts = 3, .base_delay = 0ms, .max_delay = 0ms};

    std::array<ledger, 3> ledgers{ledger(total), ledger(total), ledger(total)};
    std::vector<std::uint8_t> accepted(total, 0);  // written by each publisher for its own range

    // FIFO check: per key, the positions in the order their deliveries ended.
    std::mutex fifo_mutex;
    std::map<std::string, std::vector<std::uint32_t>> fifo_order;
    auto record_fifo = [&](const event<Payment>& e) {
        std::lock_guard lock(fifo_mutex);
        fifo_order[e.detail.customer].push_back(e.detail.position);
    };
    auto seq_of = [](const dead_letter& l) { return l.event->as<Payment>()->detail.seq; };

    bus b{"stress"};
    b.add_rule({.name = "payments",
                .pattern = R"({"detail-type": ["PAYMENT"]})",
                .targets = {
                    handler<Payment>("unordered",
                                     [&](const event<Payment>& e, const delivery_info& info) {
                                         auto r = flaky(e, info, 1);
                                         if (r.ok()) ledgers[0].end(e.detail.seq);
                                         return r;
                                     },
                                     workers)
                        .retry(fast_retries)
                        .dead_letters([&](const dead_letter& l) { ledgers[0].end(seq_of(l)); }),
                    handler<Payment>("fifo",
                                     [&](const event<Payment>& e, const delivery_info& info) {
                                         auto r = flaky(e, info, 2);
                                         if (r.ok()) {
                                             record_fifo(e);
                                             ledgers[1].end(e.detail.seq);
                                         }
                                         return r;
                                     },
                                     workers)
                        .ordered_by("$.detail.customer")
                        .retry(fast_retries)
                        .dead_letters([&](const dead_letter& l) {
                            record_fifo(*l.event->as<Payment>());
                            ledgers[1].end(seq_of(l));
                        }),
                    handler<Payment>("small-queue",
                                     [&](const event<Payment>& e, const delivery_info& info) {
                                         auto r = flaky(e, info, 3);
                                         if (r.ok()) ledgers[2].end(e.detail.seq);
                                         return r;
                                     },
                                     workers)
                        .bounded({.capacity = 256, .on_full = overflow_policy::reject})
                        .retry(fast_retries)
                        .dead_letters([&](const dead_letter& l) { ledgers[2].end(seq_of(l)); }),
                }});

    std::vector<std::thread> threads;
    std::atomic<std::size_t> throttled{0};
    for (std::size_t p = 0; p < publishers; ++p)
        threads.emplace_back([&, p] {
            auto producer = b.producer<Payment>("com.example.stress");
            for (std::size_t i = 0; i < per_thread; ++i) {
                const auto seq = static_cast<std::uint32_t>(p * per_thread + i);
                const auto result =
                    producer.publish({seq, "p" + std::to_string(p) + "-c" + std::to_string(i % 16), static_cast<std::uint32_t>(i)});
                if (result) accepted[seq] = 1;
                else if (result.error_code == switchyard::publish_errc::throttled) ++throttled;
                else FAIL("unexpected publish error: " << result.error_message);
            }
        });
    for (auto& t : threads) t.join();
    REQUIRE(b.drain(300s));

    std::size_t accepted_count = 0;
    for (auto a : accepted) accepted_count += a;
    CHECK(accepted_count + throttled.load() == total);
    MESSAGE("accepted " << accepted_count << ", throttled " << throttled.load());

    const auto stats = b.stats();
    REQUIRE(stats.size() == 3);
    for (std::size_t t = 0; t < 3; ++t) {
        CAPTURE(stats[t].target);
        CHECK(stats[t].pending == 0);
        CHECK(stats[t].discarded == 0);
        CHECK(stats[t].accepted == accepted_count);
        CHECK(stats[t].accepted == stats[t].delivered + stats[t].dead_lettered + stats[t].discarded + stats[t].pending);
        CHECK(stats[t].retried > 0);
        CHECK(stats[t].dead_lettered > 0);
        std::size_t wrong = 0;
        for (std::size_t seq = 0; seq < total; ++seq)
            if (ledgers[t].ended[seq].load() != accepted[seq]) ++wrong;
        CHECK(wrong == 0);  // each accepted event ended exactly once; no unaccepted one was seen
        MESSAGE(stats[t].target << ": delivered " << stats[t].delivered << ", dead-lettered " << stats[t].dead_lettered
                                << ", retries " << stats[t].retried);
    }

    std::size_t out_of_order = 0;
    for (const auto& [customer, positions] : fifo_order)
        if (!std::is_sorted(positions.begin(), positions.end())) ++out_of_order;
    CHECK(out_of_order == 0);
    CHECK(fifo_order.size() == publishers * 16);
}
