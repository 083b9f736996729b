// Hardening regressions through the public API: each case is an attack or a careless use that
// used to crash, hang, corrupt or lose an accepted event.
#include <doctest/doctest.h>

#include <atomic>
#include <memory>
#include <optional>
#include <string>

#include "test_support.hpp"

using namespace switchyard;
using namespace std::chrono_literals;
using test_types::CreditCardTransaction;

namespace {
CreditCardTransaction tx(std::string id) { return {.transactionId = std::move(id), .customerId = "c1", .total = 5.0, .card = {}, .tags = {}}; }

bus_options quiet() {
    bus_options o;
    o.log = std::make_shared<null_sink>();
    return o;
}
}  // namespace

TEST_CASE("dead-lettering into the same bus stops instead of overflowing the stack") {
    bus b{"payments", quiet()};
    tally handled;
    std::vector<std::string> failures;
    b.set_error_handler([&](const delivery_failure& f) { failures.push_back(f.error_message); });
    // Every event fails, including the dead letters, whose dead letters go to the same bus.
    b.add_rule({.name = "all",
                .pattern = R"({"detail-type": [{"exists": true}]})",
                .targets = {json_handler("fails", [&](std::string_view) {
                                handled.add();
                                return outcome::fail("declined");
                            }).dead_letters(b.as_dead_letter_sink())}});
    CHECK(b.put_events({{.source = "s", .detail_type = "X", .detail = "{}"}}).failed_entry_count == 0);
    b.drain();
    // The original, then one dead letter per hop up to max_hops (8); the next one is refused.
    CHECK(handled.value() == 9);
    REQUIRE(failures.size() == 1);
    CHECK(failures[0].find("max_hops") != std::string::npos);
}

TEST_CASE("a handler that publishes to its own bus inline is stopped as a routing loop") {
    bus b{"payments", quiet()};
    std::vector<dead_letter_reason> reasons;
    b.set_error_handler([&](const delivery_failure& f) { reasons.push_back(f.reason); });
    auto producer = b.producer<CreditCardTransaction>("com.example");
    std::atomic<int> calls{0};
    b.add_rule({.name = "echo",
                .pattern = R"({"detail-type": ["CREDIT_CARD_TRANSACTION"]})",
                .targets = {handler<CreditCardTransaction>("echo", [&](const event<CreditCardTransaction>& e) {
                    ++calls;
                    (void)producer.publish(e.detail);  // and again, and again...
                })}});
    CHECK(producer.publish(tx("t1")).ok());
    b.drain();
    CHECK(calls == 64);  // bus_options::max_nested_deliveries
    REQUIRE(reasons.size() == 1);
    CHECK(reasons[0] == dead_letter_reason::routing_loop);
    const auto stats = b.stats().at(0);
    CHECK(stats.accepted == stats.delivered + stats.dead_lettered);
}

TEST_CASE("drain() from inside a pool handler throws a clear error instead of hanging") {
    thread_pool pool{1};
    bus b{"payments", quiet()};
    std::optional<std::string> message;
    tally done;
    b.add_rule({.name = "r",
                .pattern = R"({"source": ["s"]})",
                .targets = {json_handler(
                    "t",
                    [&](std::string_view) {
                        try {
                            b.drain();
                        } catch (const error& e) {
                            message = e.what();
                        }
                        done.add();
                    },
                    pool)}});
    (void)b.put_events({{.source = "s", .detail_type = "X", .detail = "{}"}});
    REQUIRE(done.wait_for(1));
    b.drain();
    REQUIRE(message);
    CHECK(message->find("would wait for itself forever") != std::string::npos);
}

TEST_CASE("a pool destroyed before the bus that uses it is reported, not used") {
    bus b{"payments", quiet()};
    std::vector<std::string> failures;
    b.set_error_handler([&](const delivery_failure& f) { failures.push_back(f.error_code + ": " + f.error_message); });
    {
        auto pool = std::make_unique<thread_pool>(1);
        b.add_rule({.name = "r",
                    .pattern = R"({"source": ["s"]})",
                    .targets = {json_handler("t", [](std::string_view) {}, *pool)}});
    }  // the pool dies first: a misuse
    CHECK(b.put_events({{.source = "s", .detail_type = "X", .detail = "{}"}}).failed_entry_count == 0);
    b.drain();
    REQUIRE(failures.size() == 1);
    CHECK(failures[0].find("ExecutorRejected: the executor this target runs on was destroyed") == 0);
}

TEST_CASE("details that a rule and a handler would read differently are refused at the door") {
    // Regression (hardening): {"amount":5,"amount":1000000} passed an amount < 100 rule while the
    // typed handler saw 1,000,000; a NUL after valid JSON was accepted, then unreadable.
    bus b{"payments", quiet()};
    tally seen;
    b.add_rule({.name = "small",
                .pattern = R"({"detail": {"amount": [{"numeric": ["<", 100]}]}})",
                .targets = {json_handler("t", [&](std::string_view) { seen.add(); })}});
    const auto r = b.put_events({{.source = "s", .detail_type = "X", .detail = R"({"amount":5,"amount":1000000})"},
                                 {.source = "s", .detail_type = "X", .detail = std::string("{\"amount\":5}\0,\"x\":1", 19)},
                                 {.source = "s", .detail_type = "X", .detail = "\xEF\xBB\xBF{\"amount\":5}"},
                                 {.source = "s", .detail_type = "X", .detail = R"({"amount":5})"}});
    CHECK(r.failed_entry_count == 3);
    for (int i = 0; i < 3; ++i) CHECK(r.entries[static_cast<std::size_t>(i)].error_code == publish_errc::malformed_detail);
    b.drain();
    CHECK(seen.value() == 1);
}

TEST_CASE("a producer that outlives its bus is told so") {
    std::optional<producer<CreditCardTransaction>> p;
    {
        bus b{"payments", quiet()};
        p.emplace(b.producer<CreditCardTransaction>("com.example"));
    }
    const auto r = p->publish(tx("t1"));
    CHECK(r.error_code == publish_errc::bus_shut_down);
    CHECK(r.error_message.find("must not outlive its bus") != std::string::npos);
}

TEST_CASE("the dead letter of an event that crossed too many buses still reaches its sink") {
    // Regression (review): dead letters counted the failed event's hops, so the routing-loop
    // dead letter of an event at max_hops was refused by the dead-letter bus.
    bus letters{"letters", quiet()};
    tally received;
    letters.add_rule({.name = "all", .pattern = R"({"detail-type": ["DeadLetter"]})", .targets = {json_handler("t", [&](std::string_view) {
                                                                                                      received.add();
                                                                                                  })}});
    bus looping{"looping", quiet()};
    std::vector<std::string> failures;
    looping.set_error_handler([&](const delivery_failure& f) { failures.push_back(f.error_message); });
    looping.add_rule({.name = "self", .pattern = R"({"source": ["s"]})", .targets = {bus_target("again", looping).dead_letters(letters.as_dead_letter_sink())}});
    CHECK(looping.put_events({{.source = "s", .detail_type = "X", .detail = "{}"}}).failed_entry_count == 0);
    looping.drain();
    letters.drain();
    CHECK(failures.empty());
    CHECK(received.value() == 1);
}

TEST_CASE("max_nested_deliveries of zero is refused") {
    bus_options o = quiet();
    o.max_nested_deliveries = 0;
    CHECK_THROWS_WITH_AS(bus("payments", o), doctest::Contains("max_nested_deliveries"), error);
}
