#include <doctest/doctest.h>

#include <atomic>
#include <thread>

#include "test_support.hpp"

using namespace switchyard;
using test_types::CreditCardTransaction;
using test_types::Refund;

namespace {
const char* const all_transactions = R"({"detail-type": ["CREDIT_CARD_TRANSACTION"]})";
}

TEST_CASE("a typed producer's event reaches a typed handler with its envelope filled in") {
    std::vector<event<CreditCardTransaction>> seen;
    bus b{"payments", bus_options{.account = "111122223333", .region = "eu-west-1"}};
    b.add_rule({.name = "all",
                .pattern = all_transactions,
                .targets = {handler<CreditCardTransaction>("collect", [&](const event<CreditCardTransaction>& e) { seen.push_back(e); })}});
    const auto result = b.producer<CreditCardTransaction>("com.example.transaction").publish({"t1", "67890", 2500.0, {}, {}});
    REQUIRE(result.ok());
    b.drain();
    REQUIRE(seen.size() == 1);
    CHECK(seen[0].id == result.event_id);
    CHECK(seen[0].source == "com.example.transaction");
    CHECK(seen[0].detail_type == "CREDIT_CARD_TRANSACTION");
    CHECK(seen[0].account == "111122223333");
    CHECK(seen[0].region == "eu-west-1");
    CHECK(detail::parse_rfc3339(seen[0].time));
    CHECK(seen[0].detail.total == 2500.0);
}

TEST_CASE("publish_options::time sets a typed event's time, and a time an event cannot hold is refused") {
    std::vector<std::string> times;
    bus b{"payments"};
    b.add_rule({.name = "all",
                .pattern = R"({"time": [{"prefix": "2026-01-02"}]})",
                .targets = {handler<CreditCardTransaction>("collect", [&](const event<CreditCardTransaction>& e) { times.push_back(e.time); })}});
    auto producer = b.producer<CreditCardTransaction>("com.example.transaction");
    const auto at = detail::parse_rfc3339("2026-01-02T03:04:05Z");
    REQUIRE(at);
    CHECK(producer.publish({"t1", "c", 1.0, {}, {}}, {.time = *at}).ok());
    CHECK(producer.publish({"t2", "c", 1.0, {}, {}}).ok());  // now: does not match the rule
    const auto refused = producer.publish({"t3", "c", 1.0, {}, {}}, {.time = std::chrono::system_clock::time_point::min()});
    CHECK(refused.error_code == publish_errc::invalid_argument);
    CHECK(refused.error_message.find("publish_options::time") != std::string::npos);
    REQUIRE(b.drain(std::chrono::seconds(30)));
    CHECK(times == std::vector<std::string>{"2026-01-02T03:04:05Z"});
}

TEST_CASE("exact-value patterns: OR within a field, AND across fields, nested paths") {
    tally by_customer, by_source;
    bus b{"payments"};
    b.add_rule({.name = "customer",
                .pattern = R"({"source": ["a", "b"], "detail": {"customerId": ["67890"]}})",
                .targets = {handler<CreditCardTransaction>("t", [&](const auto&) { by_customer.add(); })}});
    b.add_rule({.name = "source-only",
                .pattern = R"({"source": ["b"]})",
                .targets = {handler<CreditCardTransaction>("t", [&](const auto&) { by_source.add(); })}});
    CHECK(b.producer<CreditCardTransaction>("a").publish({"t1", "67890", 1, {}, {}}).ok());  // customer
    CHECK(b.producer<CreditCardTransaction>("b").publish({"t2", "67890", 1, {}, {}}).ok());  // both
    CHECK(b.producer<CreditCardTransaction>("b").publish({"t3", "11111", 1, {}, {}}).ok());  // source-only
    CHECK(b.producer<CreditCardTransaction>("c").publish({"t4", "67890", 1, {}, {}}).ok());  // neither
    b.drain();
    CHECK(by_customer.value() == 2);
    CHECK(by_source.value() == 2);
}

TEST_CASE("patterns outside the exact-value subset are rejected with the path") {
    bus b{"payments"};
    auto add = [&](const char* pattern) {
        b.add_rule({.name = "r", .pattern = pattern, .targets = {json_handler("t", [](std::string_view) {})}});
    };
    CHECK_THROWS_WITH_AS(add("{nope"), doctest::Contains("not valid JSON"), pattern_error);
    CHECK_THROWS_WITH_AS(add(R"({"detail": {"total": "1000"}})"), doctest::Contains("detail.total"), pattern_error);
    CHECK_THROWS_WITH_AS(add(R"({"source": []})"), doctest::Contains("source"), pattern_error);
    CHECK_THROWS_WITH_AS(add("[]"), doctest::Contains("JSON object"), pattern_error);
    CHECK(b.list_rules().empty());
}

TEST_CASE("rule configuration errors name the problem") {
    bus b{"payments", bus_options{.max_targets_per_rule = 2}};
    auto t = [](const char* id) { return json_handler(id, [](std::string_view) {}); };
    CHECK_THROWS_WITH_AS(b.add_rule({.name = "bad!name", .pattern = all_transactions}), doctest::Contains("'!'"), error);
    CHECK_THROWS_WITH_AS(b.add_rule({.name = std::string(65, 'x'), .pattern = all_transactions}), doctest::Contains("64"), error);
    CHECK_THROWS_WITH_AS(b.add_rule({.name = "r", .pattern = all_transactions, .targets = {t("a"), t("b"), t("c")}}),
                         doctest::Contains("at most 2"), error);
    CHECK_THROWS_WITH_AS(b.add_rule({.name = "r", .pattern = all_transactions, .targets = {t("a"), t("a")}}),
                         doctest::Contains("unique"), error);
    b.add_rule({.name = "r", .pattern = all_transactions, .targets = {t("a")}});
    CHECK_THROWS_WITH_AS(b.add_rule({.name = "r", .pattern = all_transactions}), doctest::Contains("already has a rule"), error);
    CHECK_THROWS_WITH_AS(b.enable_rule("missing"), doctest::Contains("no rule named \"missing\""), error);
    CHECK_THROWS_AS(bus("bad name", {}), error);
}

TEST_CASE("rule lifecycle: list, disable, enable, remove") {
    tally hits;
    bus b{"payments"};
    b.add_rule({.name = "b-rule", .pattern = all_transactions, .description = "second"});
    b.add_rule({.name = "a-rule",
                .pattern = all_transactions,
                .targets = {handler<CreditCardTransaction>("count", [&](const auto&) { hits.add(); })}});
    auto rules = b.list_rules();
    REQUIRE(rules.size() == 2);
    CHECK(rules[0].name == "a-rule");
    CHECK(rules[0].target_ids == std::vector<std::string>{"count"});
    CHECK(rules[1].description == "second");

    auto p = b.producer<CreditCardTransaction>("s");
    CHECK(p.publish({}).ok());
    b.disable_rule("a-rule");
    CHECK(b.list_rules()[0].state == rule_state::disabled);
    CHECK(p.publish({}).ok());
    b.enable_rule("a-rule");
    CHECK(p.publish({}).ok());
    CHECK(b.remove_rule("a-rule"));
    CHECK_FALSE(b.remove_rule("a-rule"));
    CHECK(p.publish({}).ok());
    b.drain();
    CHECK(hits.value() == 2);
    CHECK(b.list_rules().size() == 1);
}

TEST_CASE("rules change while another thread publishes") {
    thread_pool workers{2};
    tally delivered, published;
    bus b{"payments"};
    std::atomic<bool> stop{false};
    std::thread publisher([&] {
        auto p = b.producer<CreditCardTransaction>("s");
        while (!stop.load()) {
            CHECK(p.publish({}).ok());
            published.add();
        }
    });
    // Reconfigure only once publishing is under way (the rounds can outrun the thread's start).
    REQUIRE(published.wait_for(1));
    for (int round = 0; round < 200; ++round) {
        const std::string name = "rule-" + std::to_string(round % 3);
        b.add_rule({.name = name,
                    .pattern = all_transactions,
                    .targets = {handler<CreditCardTransaction>("count", [&](const auto&) { delivered.add(); }, workers)}});
        b.disable_rule(name);
        b.enable_rule(name);
        CHECK(b.remove_rule(name));
    }
    // After the last remove, no new event matches: deliveries stop growing once in-flight ones end.
    stop = true;
    publisher.join();
    REQUIRE(b.drain(std::chrono::seconds(30)));
    const int settled = delivered.value();
    CHECK(b.producer<CreditCardTransaction>("s").publish({}).ok());
    REQUIRE(b.drain(std::chrono::seconds(30)));
    CHECK(delivered.value() == settled);
    CHECK(published.value() > 0);
    CHECK(b.list_rules().empty());
}

TEST_CASE("drain waits for deliveries on a thread pool, with and without a timeout") {
    thread_pool workers{3};
    std::atomic<int> done{0};
    bus b{"payments"};
    b.add_rule({.name = "all",
                .pattern = all_transactions,
                .targets = {handler<CreditCardTransaction>("slowish",
                                                           [&](const auto&) {
                                                               std::this_thread::yield();
                                                               ++done;
                                                           },
                                                           workers)}});
    auto p = b.producer<CreditCardTransaction>("s");
    for (int i = 0; i < 500; ++i) CHECK(p.publish({}).ok());
    CHECK(b.drain(std::chrono::seconds(30)));
    CHECK(done.load() == 500);
    CHECK(b.pending() == 0);
}

TEST_CASE("drain with a timeout returns false while a delivery is still running") {
    thread_pool workers{1};
    std::mutex gate;
    std::unique_lock hold(gate);
    bus b{"payments"};
    b.add_rule({.name = "all",
                .pattern = all_transactions,
                .targets = {handler<CreditCardTransaction>("blocked", [&](const auto&) { std::lock_guard wait(gate); }, workers)}});
    CHECK(b.producer<CreditCardTransaction>("s").publish({}).ok());
    CHECK_FALSE(b.drain(std::chrono::milliseconds(20)));
    CHECK(b.pending() == 1);
    hold.unlock();
    CHECK(b.drain(std::chrono::seconds(30)));
}

TEST_CASE("the destructor drains everything accepted") {
    std::atomic<int> done{0};
    thread_pool workers{2};
    {
        bus b{"payments"};
        b.add_rule({.name = "all",
                    .pattern = all_transactions,
                    .targets = {handler<CreditCardTransaction>("count", [&](const auto&) { ++done; }, workers)}});
        auto p = b.producer<CreditCardTransaction>("s");
        for (int i = 0; i < 100; ++i) CHECK(p.publish({}).ok());
    }
    CHECK(done.load() == 100);
}

TEST_CASE("a throwing handler is reported to the error handler, never swallowed") {
    std::vector<delivery_failure> failures;
    std::atomic<int> other{0};
    bus b{"payments"};
    b.set_error_handler([&](const delivery_failure& f) { failures.push_back(f); });
    b.add_rule({.name = "all",
                .pattern = all_transactions,
                .targets = {handler<CreditCardTransaction>("fails", [](const auto&) -> void { throw std::runtime_error("card declined"); })
                                .retry(retry_policy::none()),
                            handler<CreditCardTransaction>("works", [&](const auto&) { ++other; })}});
    const auto r = b.producer<CreditCardTransaction>("s").publish({});
    b.drain();
    REQUIRE(failures.size() == 1);
    CHECK(failures[0].rule == "all");
    CHECK(failures[0].target == "fails");
    CHECK(failures[0].error_message == "card declined");
    CHECK(failures[0].error_code == "HandlerFailed");
    CHECK(failures[0].event->meta().id == r.event_id);
    CHECK(other.load() == 1);

    const auto stats = b.stats();
    REQUIRE(stats.size() == 2);
    CHECK(stats[0].accepted == 1);
    CHECK(stats[0].dead_lettered == 1);
    CHECK(stats[0].pending == 0);
    CHECK(failures[0].reason == dead_letter_reason::retries_exhausted);
    CHECK(failures[0].attempts == 1);
    CHECK(stats[1].delivered == 1);
}

TEST_CASE("a detail that does not fit the handler's type is a reported failure") {
    std::vector<delivery_failure> failures;
    bus b{"payments"};
    b.set_error_handler([&](const delivery_failure& f) { failures.push_back(f); });
    b.add_rule({.name = "refunds",
                .pattern = R"({"detail-type": ["REFUND"]})",
                .targets = {handler<Refund>("typed", [](const auto&) {})}});
    const auto r = b.put_events({{.source = "s", .detail_type = "REFUND", .detail = R"({"transactionId": 42})"}});
    REQUIRE(r.failed_entry_count == 0);
    b.drain();
    REQUIRE(failures.size() == 1);
    CHECK(failures[0].error_message.find("does not fit") != std::string::npos);
    CHECK(failures[0].reason == dead_letter_reason::permanent_failure);  // never retried
    CHECK(failures[0].attempts == 1);
}

TEST_CASE("json events reach typed handlers and typed events reach JSON handlers") {
    std::vector<std::string> texts;
    std::vector<double> amounts;
    bus b{"payments"};
    b.add_rule({.name = "refunds",
                .pattern = R"({"detail-type": ["REFUND"]})",
                .targets = {handler<Refund>("typed", [&](const event<Refund>& e) { amounts.push_back(e.detail.amount); }),
                            json_handler("raw", [&](std::string_view json) { texts.emplace_back(json); })}});
    CHECK(b.put_events({{.source = "s", .detail_type = "REFUND", .detail = R"({"transactionId": "t1", "amount": 9.5})"}}).failed_entry_count == 0);
    CHECK(b.producer<Refund>("s").publish({"t2", 3.25}).ok());
    b.drain();
    CHECK(amounts == std::vector<double>{9.5, 3.25});
    REQUIRE(texts.size() == 2);
    CHECK(nlohmann::json::parse(texts[1])["detail"]["amount"] == 3.25);
    CHECK(nlohmann::json::parse(texts[0])["detail"]["transactionId"] == "t1");
}

TEST_CASE("a handler may publish again from inside a delivery on the inline executor") {
    tally refunds;
    bus b{"payments"};
    b.add_rule({.name = "refund-large",
                .pattern = all_transactions,
                .targets = {handler<CreditCardTransaction>("refund", [&](const event<CreditCardTransaction>& e) {
                    CHECK(b.producer<Refund>("s").publish({e.detail.transactionId, e.detail.total}).ok());
                })}});
    b.add_rule({.name = "refunds",
                .pattern = R"({"detail-type": ["REFUND"]})",
                .targets = {handler<Refund>("count", [&](const auto&) { refunds.add(); })}});
    CHECK(b.producer<CreditCardTransaction>("s").publish({"t1", "c", 5, {}, {}}).ok());
    b.drain();
    CHECK(refunds.value() == 1);
}
