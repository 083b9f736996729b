#include <doctest/doctest.h>

#include "test_support.hpp"

using namespace switchyard;
using namespace std::chrono_literals;
using test_types::CreditCardTransaction;

namespace {
struct Alert {
    std::string customer;
    double amount = 0.0;
};
SWITCHYARD_FIELDS(Alert, customer, amount)
}  // namespace

TEST_CASE("one event fans out to targets receiving the whole event, a path and a template") {
    std::vector<std::string> whole, path, templated;
    bus b{"payments"};
    b.add_rule({.name = "fan-out",
                .pattern = R"({"detail-type": ["CREDIT_CARD_TRANSACTION"]})",
                .targets = {json_handler("whole", [&](std::string_view j) { whole.emplace_back(j); }),
                            json_handler("path", [&](std::string_view j) { path.emplace_back(j); }).with_input(input_path{"$.detail.card"}),
                            json_handler("template", [&](std::string_view j) { templated.emplace_back(j); })
                                .with_input(input_transformer{{{"who", "$.detail.customerId"}, {"total", "$.detail.total"}},
                                                              R"({"text": "customer <who> spent <total>", "total": <total>, "rule": <aws.events.rule-name>})"})}});
    const auto r = b.producer<CreditCardTransaction>("s").publish({"t1", "c\"7", 12.5, {"VISA", "0034"}, {}});
    REQUIRE(b.drain(30s));
    REQUIRE(whole.size() == 1);
    CHECK(nlohmann::json::parse(whole[0])["id"] == r.event_id);
    REQUIRE(path.size() == 1);
    CHECK(nlohmann::json::parse(path[0]) == nlohmann::json{{"brand", "VISA"}, {"last4", "0034"}});
    REQUIRE(templated.size() == 1);
    const auto t = nlohmann::json::parse(templated[0]);  // valid JSON although the id holds a quote
    CHECK(t["text"] == "customer c\"7 spent 12.5");
    CHECK(t["total"] == 12.5);
    CHECK(t["rule"] == "fan-out");
}

TEST_CASE("a typed handler receives the transformed payload as its detail") {
    std::vector<event<Alert>> alerts;
    bus b{"payments"};
    b.add_rule({.name = "alerts",
                .pattern = R"({"detail-type": ["CREDIT_CARD_TRANSACTION"]})",
                .targets = {handler<Alert>("alert", [&](const event<Alert>& e) { alerts.push_back(e); })
                                .with_input(input_transformer{{{"c", "$.detail.customerId"}, {"a", "$.detail.total"}},
                                                              R"({"customer": <c>, "amount": <a>})"})}});
    const auto r = b.producer<CreditCardTransaction>("s").publish({"t1", "c7", 99.5, {}, {}});
    REQUIRE(b.drain(30s));
    REQUIRE(alerts.size() == 1);
    CHECK(alerts[0].detail.customer == "c7");
    CHECK(alerts[0].detail.amount == 99.5);
    CHECK(alerts[0].id == r.event_id);
}

TEST_CASE("a payload that does not fit the typed handler is dead-lettered as a permanent failure") {
    std::vector<dead_letter> letters;
    bus b{"payments"};
    b.add_rule({.name = "alerts",
                .pattern = R"({"detail-type": ["CREDIT_CARD_TRANSACTION"]})",
                .targets = {handler<Alert>("alert", [](const auto&) {})
                                .with_input(constant_input{R"({"customer": 5})"})
                                .retry({.max_retry_attempts = 5})
                                .dead_letters([&](const dead_letter& l) { letters.push_back(l); })}});
    CHECK(b.producer<CreditCardTransaction>("s").publish({}).ok());
    REQUIRE(b.drain(30s));
    REQUIRE(letters.size() == 1);
    CHECK(letters[0].reason == dead_letter_reason::permanent_failure);
    CHECK(letters[0].attempts == 1);
    CHECK(letters[0].error_message.find("does not fit") != std::string::npos);
}

TEST_CASE("an invalid input specification is refused when the rule is added, naming the target") {
    bus b{"payments"};
    CHECK_THROWS_WITH_AS(b.add_rule({.name = "r",
                                     .pattern = R"({"source": ["s"]})",
                                     .targets = {json_handler("t", [](std::string_view) {})
                                                     .with_input(input_transformer{{{"v", "$.detail.x"}}, R"({"a": <v>)"})}}),
                         doctest::Contains("target \"t\" of rule \"r\""), error);
    CHECK(b.list_rules().empty());
}

TEST_CASE("target setters work on a named target as on a temporary, and the bus uses what they set") {
    std::vector<std::string> seen;
    std::vector<dead_letter> letters;
    auto t = json_handler("named", [&](std::string_view payload) -> outcome {
        seen.emplace_back(payload);
        return outcome::fail("rejected");
    });
    // Chained on an lvalue: each setter returns the same target.
    target& same = t.with_input(input_path{"$.detail"}).retry(retry_policy::none()).ordered_by("$.detail.customerId");
    CHECK(&same == &t);
    t.bounded({.capacity = 8}).dead_letters([&](const dead_letter& l) { letters.push_back(l); });
    CHECK(t.retries.max_retry_attempts == 0);
    CHECK(t.ordering_key == "$.detail.customerId");
    CHECK(t.queue.capacity == 8);

    bus b{"payments"};
    b.add_rule({.name = "r", .pattern = R"({"source": ["s"]})", .targets = {t}});
    CHECK(b.put_events({{.source = "s", .detail_type = "X", .detail = R"({"customerId": "c1"})"}}).failed_entry_count == 0);
    REQUIRE(b.drain(30s));
    REQUIRE(seen.size() == 1);  // the input path applied: the detail alone
    CHECK(nlohmann::json::parse(seen[0]) == nlohmann::json{{"customerId", "c1"}});
    REQUIRE(letters.size() == 1);
    CHECK(letters[0].attempts == 1);  // retry_policy::none() applied
}
