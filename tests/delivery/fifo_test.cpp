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

namespace {
struct Payment {
    std::string customerId;
    std::map<std::string, std::string> labels;
    nlohmann::json extra;
    std::vector<test_types::Card> cards;
};
SWITCHYARD_EVENT(Payment, "PAYMENT", customerId, labels, extra, cards)

// Keeps what the bus logs.
struct recording_log final : log_sink {
    void write(log_level level, std::string_view message, std::span<const log_field> fields) override {
        std::lock_guard lock(m);
        std::string line = std::string(to_string(level)) + " " + std::string(message);
        for (const auto& f : fields) line += " " + std::string(f.key) + "=" + f.value;
        lines.push_back(std::move(line));
    }
    std::vector<std::string> snapshot() {
        std::lock_guard lock(m);
        return lines;
    }
    std::mutex m;
    std::vector<std::string> lines;
};
}  // namespace

TEST_CASE("a typed handler's ordering key is checked against its type when the rule is added") {
    bus b{"payments"};
    auto add = [&](std::string key) {
        b.put_rule({.name = "r", .pattern = all, .targets = {handler<CreditCardTransaction>("t", [](const auto&) {}).ordered_by(std::move(key))}});
    };
    // A typo names the type, the field, and the fields there are.
    CHECK_THROWS_WITH_AS(add("$.detail.customerID"),
                         doctest::Contains("target \"t\" of rule \"r\": ordering key \"$.detail.customerID\": the detail of "
                                           "CREDIT_CARD_TRANSACTION has no field \"customerID\" (its fields: transactionId, "
                                           "customerId, total, card, tags)"),
                         error);
    CHECK_THROWS_WITH_AS(add("detail.card.number"), doctest::Contains("field \"card\" of CREDIT_CARD_TRANSACTION has no field \"number\""),
                         error);
    CHECK_THROWS_WITH_AS(add("$.detail.customerId.first"),
                         doctest::Contains("field \"customerId\" of CREDIT_CARD_TRANSACTION is a string, so the path cannot go on"), error);
    CHECK_THROWS_WITH_AS(add("$.detail.total.cents"), doctest::Contains("is a number"), error);
    CHECK(b.list_rules().empty());  // nothing of a refused rule is left behind
    // Fields that exist, nested fields, an array field's (not on the path), envelope fields.
    CHECK_NOTHROW(add("$.detail.customerId"));
    CHECK_NOTHROW(add("detail.card.last4"));
    CHECK_NOTHROW(add("$.detail.card"));
    CHECK_NOTHROW(add("$.detail.tags"));
    CHECK_NOTHROW(add("$.source"));
    // What a default value leaves open is taken on trust: an optional, a map, a JSON value.
    bus p{"p"};
    auto add_payment = [&](std::string key) {
        p.put_rule({.name = "r", .pattern = all, .targets = {handler<Payment>("t", [](const auto&) {}).ordered_by(std::move(key))}});
    };
    CHECK_NOTHROW(add_payment("$.detail.labels.region"));
    CHECK_NOTHROW(add_payment("$.detail.extra.anything.deeper"));
    CHECK_THROWS_WITH_AS(add_payment("$.detail.customer"), doctest::Contains("PAYMENT has no field \"customer\""), error);
    // The reader never looks inside arrays, so a path into one could never be found.
    CHECK_THROWS_WITH_AS(add_payment("$.detail.cards.last4"), doctest::Contains("field \"cards\" of PAYMENT is an array"), error);
    CHECK_NOTHROW(add_payment("$.detail.cards"));
    // With an input specification the handler receives the transformed payload, not the event's
    // detail, while the key is read from the event: the key is not checked against the handler's
    // type (here the payload is a CreditCardTransaction, the event's detail may be anything).
    CHECK_NOTHROW(b.put_rule({.name = "r2",
                              .pattern = all,
                              .targets = {handler<CreditCardTransaction>("t", [](const auto&) {})
                                              .with_input(input_path{"$.detail"})
                                              .ordered_by("$.detail.someOtherField")}}));
}

TEST_CASE("an ordering key no event can have is refused for JSON handlers too") {
    bus b{"payments"};
    auto add = [&](const char* key) {
        b.put_rule({.name = "r", .pattern = all, .targets = {json_handler("t", [](std::string_view) {}).ordered_by(key)}});
    };
    CHECK_THROWS_WITH_AS(add("$.detial.customerId"), doctest::Contains("starts at \"detial\", which no event has"), error);
    CHECK_THROWS_WITH_AS(add("$.detail"), doctest::Contains("names the whole detail"), error);
    CHECK_THROWS_WITH_AS(add("$.source.name"), doctest::Contains("goes inside \"source\", which is a string"), error);
    for (const char* ok : {"$.source", "detail-type", "$.id", "account", "region", "time", "version", "replay-name", "$.detail.anything"})
        CHECK_NOTHROW(add(ok));
}

TEST_CASE("events without the ordering key are counted per target, and the first is logged once") {
    auto log = std::make_shared<recording_log>();
    bus b{"payments", bus_options{}.with_log(log)};
    tally delivered;
    b.add_rule({.name = "r",
                .pattern = R"({"source": ["s"]})",
                .targets = {json_handler("t", [&](std::string_view) { delivered.add(); }).ordered_by("$.detail.customerId")}});
    for (int i = 0; i < 5; ++i)
        CHECK(b.put_events({{.source = "s", .detail_type = "X", .detail = R"({"customer": "c1"})"}}).failed_entry_count == 0);
    CHECK(b.put_events({{.source = "s", .detail_type = "X", .detail = R"({"customerId": "c1"})"}}).failed_entry_count == 0);
    REQUIRE(delivered.wait_for(6));
    REQUIRE(b.drain(10s));
    const auto stats = b.stats();
    REQUIRE(stats.size() == 1);
    CHECK(stats[0].missing_ordering_key == 5);
    CHECK(stats[0].delivered == 6);
    const auto snapshot = b.metrics();  // find() points into it
    const auto* missing = snapshot.find(metric_names::ordering_key_missing, {{"rule", "r"}, {"target", "t"}});
    REQUIRE(missing != nullptr);
    CHECK(missing->value == 5);
    int warnings = 0;
    for (const auto& line : log->snapshot())
        if (line.find("no value at the target's ordering key") != std::string::npos) {
            ++warnings;
            CHECK(line.rfind("warn ", 0) == 0);
            CHECK(line.find("ordering_key=$.detail.customerId") != std::string::npos);
            CHECK(line.find("target=t") != std::string::npos);
        }
    CHECK(warnings == 1);
}

namespace {
// Read through its own from_json only (no SWITCHYARD_FIELDS, no to_json).
struct Loose {
    std::string customerId;
};
void from_json(const nlohmann::json& json, Loose& out) { json.at("customerId").get_to(out.customerId); }
}  // namespace

TEST_CASE("a type read only through its own from_json is not checked, and resources get their own message") {
    bus b{"payments"};
    // handler<T> compiles for it (it needs no way to write T), and its key is taken on trust.
    CHECK_NOTHROW(b.add_rule({.name = "r", .pattern = all, .targets = {handler<Loose>("t", [](const auto&) {}).ordered_by("$.detail.other")}}));
    CHECK_NOTHROW(b.add_rule({.name = "r1",
                              .pattern = all,
                              .targets = {handler<nlohmann::json>("t", [](const auto&) {}).ordered_by("$.detail.anything")}}));
    CHECK_THROWS_WITH_AS(b.add_rule({.name = "r2",
                                     .pattern = all,
                                     .targets = {json_handler("t", [](std::string_view) {}).ordered_by("$.resources")}}),
                         doctest::Contains("names the envelope's resources, a list"), error);
}
