// Tracing through the bus: the span tree a recording tracer sees for real deliveries, and how the
// W3C context travels (caller -> envelope -> handlers -> other buses -> JSON and back).
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>

#include "test_support.hpp"

using namespace switchyard;
using namespace test_types;
using namespace std::chrono_literals;

namespace {
constexpr const char* all_transactions = R"({"detail-type": ["CREDIT_CARD_TRANSACTION"]})";
const retry_policy quick_retry{.max_retry_attempts = 2, .base_delay = 1ms, .max_delay = 1ms};

std::vector<span_record> of_target(const std::vector<span_record>& spans, const std::string& target) {
    std::vector<span_record> out;
    for (const auto& s : spans)
        if (s.target == target) out.push_back(s);
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.attempt < b.attempt; });
    return out;
}
}  // namespace

TEST_CASE("one event retried once and delivered to two targets: a publish span with three attempt spans") {
    auto spans = std::make_shared<recording_tracer>();
    thread_pool workers{2};
    bus b{"payments", {.tracer = spans}};
    std::atomic<int> audit_calls{0};
    tally done;
    std::optional<trace_context> seen_in_handler;
    b.add_rule({.name = "all",
                .pattern = all_transactions,
                .targets = {handler<CreditCardTransaction>("audit",
                                                           [&](const auto&) {
                                                               if (audit_calls++ == 0) throw std::runtime_error("ledger busy");
                                                               done.add();
                                                           },
                                                           workers)
                                .retry(quick_retry),
                            handler<CreditCardTransaction>("fraud",
                                                           [&](const auto&) {
                                                               seen_in_handler = current_trace();
                                                               done.add();
                                                           },
                                                           workers)}});
    const auto caller = trace_context::parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "vendor=abc");
    REQUIRE(caller);
    const auto r = b.producer<CreditCardTransaction>("com.example.tx").publish({"t1", "c1", 10.0, {}, {}}, {.trace = caller});
    REQUIRE(r.ok());
    REQUIRE(done.wait_for(2));
    REQUIRE(b.drain(10s));

    // The publish span: a child of the caller's span, in the caller's trace, with the match.
    const auto roots = spans->children_of(caller->span);
    REQUIRE(roots.size() == 1);
    const auto& publish = roots[0];
    CHECK(publish.name == "publish");
    CHECK(publish.event_id == r.event_id);
    CHECK(publish.context.trace == caller->trace);
    CHECK(publish.context.tracestate == "vendor=abc");
    REQUIRE(publish.events.size() == 2);  // "publish" and one "match"
    CHECK(publish.events[1].name == "match");
    CHECK(publish.events[1].attribute("rule") == "all");

    // Three attempt spans, all children of the publish span: audit twice, fraud once.
    const auto attempts = spans->children_of(publish.context.span);
    REQUIRE(attempts.size() == 3);
    for (const auto& a : attempts) {
        CHECK(a.name == "deliver");
        CHECK(a.ended);
        CHECK(a.context.trace == caller->trace);
        CHECK(a.rule == "all");
        CHECK(a.event_id == r.event_id);
        CHECK(spans->children_of(a.context.span).empty());
    }
    const auto audit = of_target(attempts, "audit");
    REQUIRE(audit.size() == 2);
    CHECK(audit[0].attempt == 1);
    CHECK(audit[0].result == deliver_result::retryable_failure);
    CHECK(audit[0].error == "ledger busy");
    REQUIRE(audit[0].events.size() == 1);
    CHECK(audit[0].events[0].name == "retry");
    CHECK(audit[0].events[0].attribute("next_attempt") == "2");
    CHECK(audit[1].attempt == 2);
    CHECK(audit[1].result == deliver_result::success);
    CHECK(audit[0].context.span != audit[1].context.span);
    const auto fraud = of_target(attempts, "fraud");
    REQUIRE(fraud.size() == 1);
    CHECK(fraud[0].result == deliver_result::success);

    // The handler saw its own attempt span, and nothing else has a parent outside the tree.
    REQUIRE(seen_in_handler);
    CHECK(seen_in_handler->span == fraud[0].context.span);
    CHECK(spans->size() == 4);
}

TEST_CASE("the envelope carries the publish span; JSON keeps it; a dead letter is a moment of the last attempt") {
    auto spans = std::make_shared<recording_tracer>();
    bus b{"payments", {.tracer = spans}};
    std::vector<std::string> json;
    b.add_rule({.name = "all",
                .pattern = all_transactions,
                .targets = {json_handler("raw", [&](std::string_view text) { json.emplace_back(text); }),
                            handler<CreditCardTransaction>("broken", [](const auto&) -> outcome { return outcome::fail("bad card"); })
                                .dead_letters([](const dead_letter&) {})}});
    const auto r = b.producer<CreditCardTransaction>("com.example.tx").publish({"t2", "c2", 5.0, {}, {}});
    REQUIRE(r.ok());
    b.drain();

    const auto roots = spans->roots();  // no caller context: the publish started a new trace
    REQUIRE(roots.size() == 1);
    const auto publish = roots[0];
    REQUIRE(json.size() == 1);
    const auto parsed = parse_event(json[0]);
    REQUIRE(parsed->meta().trace);
    CHECK(*parsed->meta().trace == publish.context);
    CHECK(json[0].find("\"traceparent\":\"" + publish.context.traceparent() + "\"") != std::string::npos);

    const auto broken = of_target(spans->children_of(publish.context.span), "broken");
    REQUIRE(broken.size() == 1);
    CHECK(broken[0].result == deliver_result::permanent_failure);
    REQUIRE(broken[0].events.size() == 1);
    CHECK(broken[0].events[0].name == "dead_letter");
    CHECK(broken[0].events[0].attribute("reason") == "permanent-failure");
    CHECK(broken[0].events[0].attribute("message") == "bad card");

    // Published again from its JSON (as a replay or a bridge would), the event joins its trace.
    bus other{"audit", {.tracer = spans}};
    other.add_rule({.name = "all", .pattern = all_transactions, .targets = {handler<CreditCardTransaction>("t", [](const auto&) {})}});
    REQUIRE(other.publish(parsed).ok());
    other.drain();
    const auto again = spans->children_of(publish.context.span);
    const auto republished = std::find_if(again.begin(), again.end(), [](const auto& s) { return s.bus == "audit"; });
    REQUIRE(republished != again.end());
    CHECK(republished->name == "publish");
    CHECK(republished->context.trace == publish.context.trace);
}

TEST_CASE("context crosses a bus target, and a handler's own publish joins the handler's trace") {
    auto spans = std::make_shared<recording_tracer>();
    bus downstream{"ledger", {.tracer = spans}};
    bus upstream{"payments", {.tracer = spans}};
    tally refunds;
    downstream.add_rule({.name = "all",
                         .pattern = all_transactions,
                         .targets = {handler<CreditCardTransaction>("book", [&](const auto&) {
                             CHECK(downstream.producer<Refund>("com.example.ledger").publish({"t3", 1.0}).ok());
                         })}});
    downstream.add_rule({.name = "refunds",
                         .pattern = R"({"detail-type": ["REFUND"]})",
                         .targets = {handler<Refund>("count", [&](const auto&) { refunds.add(); })}});
    upstream.add_rule({.name = "forward", .pattern = all_transactions, .targets = {bus_target("to-ledger", downstream)}});
    REQUIRE(upstream.producer<CreditCardTransaction>("com.example.tx").publish({"t3", "c3", 1.0, {}, {}}).ok());
    upstream.drain();
    downstream.drain();
    REQUIRE(refunds.value() == 1);

    // payments/publish -> payments/deliver(to-ledger) -> ledger/publish -> ledger/deliver(book)
    //   -> ledger/publish (Refund) -> ledger/deliver(count): one trace, one chain.
    const auto roots = spans->roots();
    REQUIRE(roots.size() == 1);
    std::vector<std::string> chain;
    auto at = roots[0];
    for (;;) {
        chain.push_back(at.bus + "/" + at.name + (at.target.empty() ? "" : "(" + at.target + ")"));
        CHECK(at.context.trace == roots[0].context.trace);
        const auto next = spans->children_of(at.context.span);
        if (next.empty()) break;
        REQUIRE(next.size() == 1);
        at = next[0];
    }
    CHECK(chain == std::vector<std::string>{"payments/publish", "payments/deliver(to-ledger)", "ledger/publish", "ledger/deliver(book)",
                                            "ledger/publish", "ledger/deliver(count)"});
}

TEST_CASE("without a tracer nothing is traced unless the caller passes a context, which is then carried") {
    bus b{"payments"};
    std::optional<trace_context> in_handler;
    std::vector<std::optional<trace_context>> envelopes;
    b.add_rule({.name = "all",
                .pattern = all_transactions,
                .targets = {handler<CreditCardTransaction>("t", [&](const event<CreditCardTransaction>& e) {
                    in_handler = current_trace();
                    envelopes.push_back(e.trace);
                })}});
    auto producer = b.producer<CreditCardTransaction>("com.example.tx");
    REQUIRE(producer.publish({}).ok());
    CHECK_FALSE(in_handler);
    REQUIRE(envelopes.size() == 1);
    CHECK_FALSE(envelopes[0]);

    const auto caller = trace_context::start();
    REQUIRE(producer.publish({}, {.trace = caller}).ok());
    REQUIRE(envelopes.size() == 2);
    REQUIRE(envelopes[1]);
    CHECK(envelopes[1]->trace == caller.trace);
    CHECK(envelopes[1]->span != caller.span);
    REQUIRE(in_handler);
    CHECK(in_handler->trace == caller.trace);

    // put_events takes the W3C headers; an invalid traceparent neither fails the entry nor traces.
    const std::string detail = R"({"transactionId":"t","customerId":"c","total":1,"card":{"brand":"v","last4":"1"},"tags":[]})";
    const auto result = b.put_events({{.source = "s", .detail_type = "CREDIT_CARD_TRANSACTION", .detail = detail,
                                       .traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
                                      {.source = "s", .detail_type = "CREDIT_CARD_TRANSACTION", .detail = detail, .traceparent = "garbage"}});
    CHECK(result.failed_entry_count == 0);
    REQUIRE(envelopes.size() == 4);
    REQUIRE(envelopes[2]);
    CHECK(envelopes[2]->trace_id_hex() == "4bf92f3577b34da6a3ce929d0e0e4736");
    CHECK_FALSE(envelopes[3]);
}

TEST_CASE("an invalid caller context (all-zero ids) is ignored: the publish starts a valid trace") {
    auto spans = std::make_shared<recording_tracer>();
    bus b{"payments", {.tracer = spans}};
    b.add_rule({.name = "all", .pattern = all_transactions, .targets = {handler<CreditCardTransaction>("t", [](const auto&) {})}});
    REQUIRE(b.producer<CreditCardTransaction>("com.example.tx").publish({}, {.trace = trace_context{}}).ok());
    const auto roots = spans->roots();
    REQUIRE(roots.size() == 1);
    CHECK(roots[0].context.valid());
    CHECK(trace_context::parse(roots[0].context.traceparent()));
}
