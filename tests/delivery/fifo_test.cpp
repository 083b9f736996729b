#include <doctest/doctest.h>

#include <map>
#include <mutex>

#include "test_support.hpp"

using namespace switchyard;
using namespace std::chrono_literals;
using test_types::CreditCardTransaction;

namespace {
const char* const all = R"({"detail-type": ["CREDIT_CARD_TRANSACTION"]})";
CreditCardTransaction tx(std::string customer, int n) {
    return {"t" + std::to_string(n), std::move(customer), static_cast<double>(n), {}, {}};
}
}  // namespace

TEST_CASE("events with the same key are delivered one at a time, in publish order") {
    thread_pool workers{4};
    std::mutex m;
    std::map<std::string, std::vector<double>> seen;
    std::map<std::string, int> running;
    bool overlapped = false;
    bus b{"payments"};
    b.add_rule({.name = "r",
                .pattern = all,
                .targets = {handler<CreditCardTransaction>("ordered",
                                                           [&](const event<CreditCardTransaction>& e) {
                                                               {
                                                                   std::lock_guard lock(m);
                                                                   if (running[e.detail.customerId]++ > 0) overlapped = true;
                                                               }
                                                               std::this_thread::yield();
                                                               std::lock_guard lock(m);
                                                               --running[e.detail.customerId];
                                                               seen[e.detail.customerId].push_back(e.detail.total);
                                                           },
                                                           workers)
                                .ordered_by("$.detail.customerId")}});
    auto p = b.producer<CreditCardTransaction>("s");
    for (int i = 0; i < 3000; ++i) CHECK(p.publish(tx("c" + std::to_string(i % 7), i)).ok());
    REQUIRE(b.drain(60s));
    CHECK_FALSE(overlapped);
    REQUIRE(seen.size() == 7);
    for (const auto& group : seen) {
        // Not a structured binding: Clang 14 cannot capture one in CAPTURE's lambda.
        const auto& customer = group.first;
        const auto& totals = group.second;
        CAPTURE(customer);
        CHECK(totals.size() > 400);
        CHECK(std::is_sorted(totals.begin(), totals.end()));
    }
}

TEST_CASE("a failing event holds back its own group only, until it succeeds") {
    manual_executor exec;
    std::vector<std::string> order;
    int failures_left = 2;
    bus b{"payments"};
    b.add_rule({.name = "r",
                .pattern = all,
                .targets = {handler<CreditCardTransaction>("ordered",
                                                           [&](const event<CreditCardTransaction>& e) {
                                                               if (e.detail.transactionId == "t0" && failures_left-- > 0)
                                                                   throw std::runtime_error("declined, try again");
                                                               order.push_back(e.detail.transactionId);
                                                           },
                                                           exec)
                                .ordered_by("$.detail.customerId")
                                .retry({.max_retry_attempts = 5, .base_delay = 0ms, .max_delay = 0ms})}});
    auto p = b.producer<CreditCardTransaction>("s");
    CHECK(p.publish(tx("alice", 0)).ok());  // fails twice
    CHECK(p.publish(tx("alice", 1)).ok());
    CHECK(p.publish(tx("bob", 2)).ok());
    CHECK(p.publish(tx("bob", 3)).ok());
    // Only each group's head is queued: alice's t0 and bob's t2.
    CHECK(exec.size() == 2);
    // Run until everything is delivered; retries come back through the timer thread.
    while (!b.drain(0ms)) {
        if (!exec.run_one()) std::this_thread::yield();
    }
    // bob flowed while alice waited; alice's t1 came only after t0 finally succeeded.
    const auto pos = [&](const std::string& id) { return std::find(order.begin(), order.end(), id) - order.begin(); };
    REQUIRE(order.size() == 4);
    CHECK(pos("t0") < pos("t1"));
    CHECK(pos("t2") < pos("t3"));
    CHECK(pos("t2") < pos("t0"));
    CHECK(b.stats()[0].retried == 2);
}

TEST_CASE("a dead-lettered event releases its group") {
    manual_executor exec;
    std::vector<std::string> order, dead;
    bus b{"payments"};
    b.add_rule({.name = "r",
                .pattern = all,
                .targets = {handler<CreditCardTransaction>("ordered",
                                                           [&](const event<CreditCardTransaction>& e) {
                                                               if (e.detail.transactionId == "t0") throw permanent_error("fraud");
                                                               order.push_back(e.detail.transactionId);
                                                           },
                                                           exec)
                                .ordered_by("$.detail.customerId")
                                .dead_letters([&](const dead_letter& l) { dead.push_back(l.event->as<CreditCardTransaction>()->detail.transactionId); })}});
    auto p = b.producer<CreditCardTransaction>("s");
    CHECK(p.publish(tx("alice", 0)).ok());
    CHECK(p.publish(tx("alice", 1)).ok());
    exec.run_all();
    REQUIRE(b.drain(1s));
    CHECK(dead == std::vector<std::string>{"t0"});
    CHECK(order == std::vector<std::string>{"t1"});
}

TEST_CASE("ordering keys can name envelope fields, and events without the field share one group") {
    thread_pool workers{2};
    std::mutex m;
    std::vector<std::string> order;
    bus b{"payments"};
    b.add_rule({.name = "r",
                .pattern = R"({"source": ["s"]})",
                .targets = {json_handler("by-source",
                                         [&](std::string_view json) {
                                             std::lock_guard lock(m);
                                             order.push_back(nlohmann::json::parse(json)["detail"]["n"].dump());
                                         },
                                         workers)
                                .ordered_by("$.detail.missing")}});
    for (int i = 0; i < 200; ++i) CHECK(b.put_events({{.source = "s", .detail_type = "X", .detail = "{\"n\": " + std::to_string(i) + "}"}}).failed_entry_count == 0);
    REQUIRE(b.drain(30s));
    REQUIRE(order.size() == 200);
    for (int i = 0; i < 200; ++i) CHECK(order[i] == std::to_string(i));
}

TEST_CASE("invalid ordering keys are rejected when the rule is added") {
    bus b{"payments"};
    auto add = [&](const char* key) {
        b.add_rule({.name = "r", .pattern = all, .targets = {json_handler("t", [](std::string_view) {}).ordered_by(key)}});
    };
    CHECK_THROWS_WITH_AS(add("$."), doctest::Contains("empty"), error);
    CHECK_THROWS_WITH_AS(add("$.detail..x"), doctest::Contains("dotted path"), error);
    CHECK_THROWS_WITH_AS(add("$.detail.items[0]"), doctest::Contains("dotted path"), error);
}

TEST_CASE("ordering keys are parsed by the JSON path parser in its ordering-key dialect") {
    // Names keep every character but '.', '[', ']' and '*', with or without the leading "$.".
    const auto e = parse_event(R"({"id": "1", "detail-type": "X", "source": "s", "time": "2026-01-01T00:00:00Z",
                                   "detail": {"customer id": {"a:b": "v", "\u00e9": 7}, "$": "dollar"}})");
    CHECK(detail::key_path("$.detail.customer id.a:b").read(*e) == std::optional<std::string>("v"));
    CHECK(detail::key_path("detail.customer id.\u00e9").read(*e) == std::optional<std::string>("7"));  // not "7.0"
    CHECK(detail::key_path("detail.$").read(*e) == std::optional<std::string>("dollar"));
    // Errors name the dialect, the offset in the key as written, and the fix.
    CHECK_THROWS_WITH_AS(detail::key_path("detail.items[0]"), doctest::Contains("offset 12: arrays are not on a dotted path"), error);
    CHECK_THROWS_WITH_AS(detail::key_path("$.detail.*"), doctest::Contains("offset 9: wildcards are not allowed"), error);
    CHECK_THROWS_WITH_AS(detail::key_path("$.detail."), doctest::Contains("ordering key \"$.detail.\" is invalid"), error);
    CHECK_THROWS_WITH_AS(detail::key_path(""), doctest::Contains("empty"), error);
}

TEST_CASE("the ordering key reader follows nested paths through typed and JSON details") {
    const detail::key_path nested("$.detail.card.last4"), top("$.source"), whole("detail.card");
    event<CreditCardTransaction> typed;
    typed.source = "src";
    typed.detail = {"t1", "c1", 5, {"VISA", "0034"}, {"a"}};
    const auto from_typed = make_event(typed);
    const auto from_json = parse_event(nlohmann::json(typed).dump());
    for (const auto& e : {from_typed, from_json}) {
        CHECK(nested.read(*e) == std::optional<std::string>("0034"));
        CHECK(top.read(*e) == std::optional<std::string>("src"));
        CHECK(nlohmann::json::parse(*whole.read(*e)) == nlohmann::json{{"brand", "VISA"}, {"last4", "0034"}});
        CHECK_FALSE(detail::key_path("$.detail.nope").read(*e));
        CHECK_FALSE(detail::key_path("$.detail.tags.x").read(*e));
    }
}
