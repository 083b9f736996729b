// Input transformation: each input kind, EventBridge's documented examples, value-position vs
// string-position quoting, reserved variables, paths with indices and wildcards, missing paths,
// and templates and paths rejected at compile time with a message.
#include <doctest/doctest.h>

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <switchyard/detail/time.hpp>
#include <switchyard/transform.hpp>

// A typed event of its own (not test_support.hpp), so this test needs only transform.hpp.
namespace transform_types {
struct Card {
    std::string brand;
    std::string last4;
};
SWITCHYARD_FIELDS(Card, brand, last4)

struct CreditCardTransaction {
    std::string transactionId;
    std::string customerId;
    double total = 0.0;
    Card card;
    std::vector<std::string> tags;
};
SWITCHYARD_EVENT(CreditCardTransaction, "CREDIT_CARD_TRANSACTION", transactionId, customerId, total, card, tags)
}  // namespace transform_types

namespace {

using switchyard::compiled_input;
using switchyard::input_transformer;
using json = nlohmann::json;

// EventBridge's EC2 example event, with a few extra fields to reach into.
const char* const ec2_detail = R"({
  "instance-id": "i-0123456789",
  "state": "RUNNING",
  "items": [{"sku": "A-1", "qty": 2}, {"sku": "B-2", "qty": 1}],
  "matrix": [[1, 2], [3, 4]],
  "order_no": 42,
  "nothing": null,
  "nested": {"z": 1, "a": [true, false]}
})";

// Built with make_json_event, which keeps the detail text as given (parse_event re-serialises it
// with sorted keys), so member order can be checked.
switchyard::event_ptr make_ec2_event(const std::string& detail = ec2_detail) {
    switchyard::envelope meta;
    meta.id = "7bf73129-1428-4cd3-a780-95db273d1602";
    meta.detail_type = "EC2 Instance State-change Notification";
    meta.source = "aws.ec2";
    meta.account = "123456789012";
    meta.time = "2015-11-11T21:29:54Z";
    meta.region = "us-east-1";
    meta.resources = {"arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111"};
    return switchyard::make_json_event(std::move(meta), detail);
}

std::string render(const input_transformer& t, const switchyard::any_event& e, std::string_view rule = "example") {
    const auto compiled = compiled_input::compile(t);
    std::string out = compiled.render(e, rule);
    if (compiled.is_json()) {
        INFO("output: " << out);
        CHECK(json::accept(out));
    }
    return out;
}

template <class F> std::string error_of(F&& f) {
    try {
        f();
    } catch (const switchyard::error& e) {
        return e.what();
    }
    return "(no error)";
}

bool contains(const std::string& text, std::string_view part) { return text.find(part) != std::string::npos; }

const std::map<std::string, std::string> ec2_paths{
    {"instance", "$.detail.instance-id"}, {"state", "$.detail.state"}, {"timestamp", "$.time"}};

}  // namespace

TEST_CASE("the default input is the whole event") {
    const auto e = make_ec2_event();
    const compiled_input fallback;
    CHECK(fallback.is_whole_event());
    CHECK(fallback.is_json());
    CHECK(fallback.render(*e, "r") == e->json());
    const auto compiled = compiled_input::compile(switchyard::whole_event{});
    CHECK(compiled.render(*e, "r") == e->json());
}

TEST_CASE("a constant input is sent as given, and must be JSON") {
    const auto e = make_ec2_event();
    const auto compiled = compiled_input::compile(switchyard::constant_input{R"({"fixed": [1, "two"]})"});
    CHECK(compiled.is_json());
    CHECK_FALSE(compiled.is_whole_event());
    CHECK(compiled.render(*e, "r") == R"({"fixed": [1, "two"]})");
    CHECK(compiled_input::compile(switchyard::constant_input{R"("just a string")"}).render(*e, "r") == R"("just a string")");

    const auto message = error_of([] { compiled_input::compile(switchyard::constant_input{"hello"}); });
    CHECK(contains(message, "constant input is not valid JSON"));
    CHECK(contains(error_of([] { compiled_input::compile(switchyard::constant_input{""}); }), "not valid JSON"));
    CHECK(contains(error_of([] { compiled_input::compile(switchyard::constant_input{"{\"a\":1"}); }), "not valid JSON"));
}

TEST_CASE("an input path sends the value at the path") {
    const auto e = make_ec2_event();
    auto at = [&](const std::string& path) {
        const auto out = compiled_input::compile(switchyard::input_path{path}).render(*e, "r");
        INFO(path << " -> " << out);
        CHECK(json::accept(out));
        return out;
    };
    CHECK(at("$.detail") == e->detail_json());
    CHECK(at("$") == e->json());
    CHECK(at("$.detail.state") == R"("RUNNING")");
    CHECK(at("$.detail.instance-id") == R"("i-0123456789")");
    CHECK(at("$.detail.items[1].sku") == R"("B-2")");
    CHECK(at("$.detail.matrix[1][0]") == "3");
    CHECK(at("$.detail.items[0]") == R"({"sku":"A-1","qty":2})");  // member order kept
    CHECK(at("$.detail-type") == R"("EC2 Instance State-change Notification")");
    CHECK(at("$.resources[0]") == R"("arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111")");
    CHECK(at("$.detail.items[*].sku") == R"(["A-1","B-2"])");
    CHECK(at("$.detail.nested.*") == R"([1,[true,false]])");  // document order, not sorted
    // A path naming nothing: null (a wildcard: an empty list).
    CHECK(at("$.detail.absent") == "null");
    CHECK(at("$.detail.items[7]") == "null");
    CHECK(at("$.detail.state.deeper") == "null");
    CHECK(at("$.detail.absent[*]") == "[]");
}

TEST_CASE("EventBridge's documented template examples") {
    const auto e = make_ec2_event();
    auto transform = [&](std::string templ) { return render({ec2_paths, std::move(templ)}, *e); };

    // Simple string.
    CHECK(transform(R"("instance <instance> is in <state>")") == R"("instance i-0123456789 is in RUNNING")");
    // String with escaped quotes.
    CHECK(transform(R"("instance \"<instance>\" is in <state>")") == R"("instance \"i-0123456789\" is in RUNNING")");
    // Simple JSON.
    CHECK(json::parse(transform(R"({"instance" : <instance>, "state": <state>})")) ==
          json::parse(R"({"instance": "i-0123456789", "state": "RUNNING"})"));
    // JSON with strings and variables.
    CHECK(json::parse(transform(
              R"({"instance" : <instance>, "state": "<state>", "instanceStatus": "instance \"<instance>\" is in <state>"})")) ==
          json::parse(R"({"instance": "i-0123456789", "state": "RUNNING",
                          "instanceStatus": "instance \"i-0123456789\" is in RUNNING"})"));
    // JSON with a mix of variables and static information.
    CHECK(json::parse(transform(R"({"instance" : <instance>, "state": [ 9, <state>, true ], "Transformed" : "Yes"})")) ==
          json::parse(R"({"instance": "i-0123456789", "state": [9, "RUNNING", true], "Transformed": "Yes"})"));
    // Reserved variables in a string.
    CHECK(transform(R"("<aws.events.rule-name> triggered")") == R"("example triggered")");
    // The CloudWatch Logs example: EventBridge emits `"timestamp" : 2015-11-11T21:29:54Z` (not
    // JSON); here a value-position string is always quoted.
    CHECK(json::parse(transform(R"({"timestamp" : <timestamp>, "message": "instance \"<instance>\" is in <state>"})")) ==
          json::parse(R"({"timestamp": "2015-11-11T21:29:54Z", "message": "instance \"i-0123456789\" is in RUNNING"})"));
}

TEST_CASE("a template that is not JSON-shaped is a plain-text template") {
    const auto e = make_ec2_event();
    const auto compiled = compiled_input::compile(input_transformer{{{"id", "$.detail.order_no"}}, "Order <id> placed"});
    CHECK_FALSE(compiled.is_json());
    CHECK(compiled.render(*e, "r") == "Order 42 placed");

    // The API reference's example, unquoted.
    CHECK(render({ec2_paths, "<instance> is in state <state>"}, *e) == "i-0123456789 is in state RUNNING");
    // Text is not escaped in plain text; objects and missing values render as compact JSON / nothing.
    CHECK(render({{{"items", "$.detail.items[0]"}, {"gone", "$.detail.gone"}}, R"(a "quote" <items> [<gone>])"}, *e) ==
          R"(a "quote" {"sku":"A-1","qty":2} [])");
    // A '<' that is not a placeholder is just text.
    CHECK(render({ec2_paths, "1 < 2 and <state> > x"}, *e) == "1 < 2 and RUNNING > x");

    // JSON-shaped single values stay JSON.
    CHECK(compiled_input::compile(input_transformer{ec2_paths, "<state>"}).is_json());
    CHECK(render({ec2_paths, "<state>"}, *e) == R"("RUNNING")");
    CHECK(render({ec2_paths, " 42 "}, *e) == " 42 ");
    CHECK(compiled_input::compile(input_transformer{ec2_paths, "true story <state>"}).is_json() == false);
}

TEST_CASE("value position inserts JSON, string position splices escaped text") {
    struct sample {
        const char* name;
        json value;
        std::string text;  // what a string position receives
    };
    const std::vector<sample> samples{
        {"plain string", "hello", "hello"},
        {"quotes", "say \"hi\"", "say \"hi\""},
        {"backslashes", R"(C:\path\n)", R"(C:\path\n)"},
        {"newline and tab", "line1\nline2\tend", "line1\nline2\tend"},
        {"control characters", std::string("a\x01\x1f" "b"), std::string("a\x01\x1f" "b")},
        {"unicode", "Zürich \xe2\x82\xac \xf0\x9f\x9a\x80", "Zürich \xe2\x82\xac \xf0\x9f\x9a\x80"},
        {"angle brackets", "<state>", "<state>"},
        {"integer", 42, "42"},
        {"negative float", -1.5, "-1.5"},
        {"true", true, "true"},
        {"null", nullptr, "null"},
        {"object", json::parse(R"({"a": "x\"y", "b": [1]})"), R"({"a":"x\"y","b":[1]})"},
        {"array", json::parse(R"([1, "two", null])"), R"([1,"two",null])"},
        {"empty string", "", ""},
    };
    for (const auto& s : samples) {
        CAPTURE(s.name);
        const json detail = {{"v", s.value}};
        const auto e = make_ec2_event(detail.dump());
        const std::map<std::string, std::string> paths{{"v", "$.detail.v"}};

        const auto as_value = json::parse(render({paths, R"({"out": <v>})"}, *e));
        CHECK(as_value["out"] == s.value);

        const auto in_string = json::parse(render({paths, R"({"out": "[<v>]"})"}, *e));
        CHECK(in_string["out"] == "[" + s.text + "]");

        // Twice in one string, and at the top level.
        CHECK(json::parse(render({paths, R"("<v><v>")"}, *e)) == s.text + s.text);
        CHECK(json::parse(render({paths, "<v>"}, *e)) == s.value);
    }
}

TEST_CASE("reserved variables") {
    const auto e = make_ec2_event();
    const auto out = json::parse(render({{},
                                         R"({"rule": <aws.events.rule-name>, "event": <aws.events.event>,
                                             "full": <aws.events.event.json>, "at": <aws.events.event.ingestion-time>,
                                             "text": "<aws.events.rule-name>|<aws.events.event>"})"},
                                        *e, "large-\"orders\""));
    CHECK(out["rule"] == "large-\"orders\"");

    json envelope = json::parse(e->json());
    envelope.erase("detail");
    CHECK(out["event"] == envelope);
    CHECK_FALSE(out["event"].contains("detail"));
    CHECK(out["full"] == json::parse(e->json()));
    CHECK(out["text"] == "large-\"orders\"|" + envelope.dump());

    const auto at = switchyard::detail::parse_rfc3339(out["at"].get<std::string>());
    REQUIRE(at.has_value());
    CHECK(std::chrono::floor<std::chrono::seconds>(*at) == std::chrono::floor<std::chrono::seconds>(e->ingestion_time()));

    // A reserved name cannot be redefined, and the rule ARN does not exist here.
    CHECK(contains(error_of([] { compiled_input::compile(input_transformer{{{"aws.events.rule-name", "$.id"}}, "<x>"}); }),
                   "reserved"));
    CHECK(contains(error_of([] { compiled_input::compile(input_transformer{{{"AWS.mine", "$.id"}}, "1"}); }), "reserved"));
    CHECK(contains(error_of([] { compiled_input::compile(input_transformer{{}, "<aws.events.rule-arn>"}); }), "no ARN"));
}

TEST_CASE("wildcards and array indices in templates") {
    const auto e = make_ec2_event();
    const std::map<std::string, std::string> paths{{"skus", "$.detail.items[*].sku"},
                                                   {"first", "$.detail.items[0].sku"},
                                                   {"cell", "$.detail.matrix[0][1]"},
                                                   {"row", "$.detail.matrix[1]"},
                                                   {"all", "$.detail.nested.a.*"},
                                                   {"none", "$.detail.items[*].missing"}};
    const auto out = json::parse(render(
        {paths, R"({"skus": <skus>, "first": <first>, "cell": <cell>, "row": <row>, "all": <all>, "none": <none>, "s": "<skus>"})"},
        *e));
    CHECK(out["skus"] == json::parse(R"(["A-1", "B-2"])"));
    CHECK(out["first"] == "A-1");
    CHECK(out["cell"] == 2);
    CHECK(out["row"] == json::parse("[3, 4]"));
    CHECK(out["all"] == json::parse("[true, false]"));
    CHECK(out["none"] == json::array());
    CHECK(out["s"] == R"(["A-1","B-2"])");
}

TEST_CASE("a path that names nothing: null in a value position, nothing in text") {
    const auto e = make_ec2_event();
    const std::map<std::string, std::string> paths{
        {"gone", "$.detail.gone"}, {"past_end", "$.detail.items[9]"}, {"through", "$.detail.state.x"},
        {"null", "$.detail.nothing"}, {"not_array", "$.detail.state[0]"}};
    const auto out = json::parse(render(
        {paths, R"({"a": <gone>, "b": <past_end>, "c": <through>, "d": <null>, "e": <not_array>, "s": "[<gone>|<null>]"})"},
        *e));
    CHECK(out == json::parse(R"({"a": null, "b": null, "c": null, "d": null, "e": null, "s": "[|null]"})"));
    CHECK(render({paths, "x<gone>y"}, *e) == "xy");
    CHECK(render({paths, "<gone>"}, *e) == "null");
}

TEST_CASE("typed events transform like JSON events") {
    using transform_types::CreditCardTransaction;
    switchyard::event<CreditCardTransaction> typed;
    typed.id = "1";
    typed.source = "com.example";
    typed.detail_type = "CREDIT_CARD_TRANSACTION";
    typed.time = "2026-11-29T20:00:00Z";
    typed.detail = {"t-1", "c-\"9\"", 2500.5, {"visa", "4242"}, {"vip", "eu"}};
    const auto e = switchyard::make_event(typed);
    const auto out = json::parse(render({{{"brand", "$.detail.card.brand"}, {"customer", "$.detail.customerId"},
                                          {"tags", "$.detail.tags"}, {"total", "$.detail.total"}},
                                         R"({"b": <brand>, "c": "<customer>", "t": <tags>, "n": <total>})"},
                                        *e));
    CHECK(out == json::parse(R"({"b": "visa", "c": "c-\"9\"", "t": ["vip", "eu"], "n": 2500.5})"));

    // A typed value that cannot become JSON (a string that is not UTF-8) is a permanent failure.
    typed.detail.customerId = "\xff\xfe";
    const auto bad = switchyard::make_event(typed);
    const auto compiled = compiled_input::compile(input_transformer{{{"c", "$.detail.customerId"}}, R"({"c": <c>})"});
    CHECK_THROWS_AS(compiled.render(*bad, "r"), switchyard::permanent_error);
}

TEST_CASE("invalid templates are rejected when compiled, with a message") {
    const std::map<std::string, std::string> paths{{"x", "$.detail.x"}};
    auto message = [&](std::string templ) {
        return error_of([&] { compiled_input::compile(input_transformer{paths, std::move(templ)}); });
    };
    CHECK(contains(message(R"({"a": <x>)"), "unterminated object"));
    CHECK(contains(message(R"({<x>: 1})"), "cannot be used as an object key"));
    CHECK(contains(message(R"({"<x>": 1})"), "object key"));
    CHECK(contains(message(R"("abc)"), "unterminated string"));
    CHECK(contains(message(R"([1,])"), "expected a JSON value"));
    CHECK(contains(message(R"({"a": <>})"), "does not start a <variable>"));
    CHECK(contains(message(R"({"a": <x> <x>})"), "expected ',' or '}'"));
    CHECK(contains(message(R"({"a": 01})"), "expected ',' or '}'"));
    CHECK(contains(message("{\"a\": \"tab\there\"}"), "control character"));
    CHECK(contains(message(R"({"a": "\q"})"), "invalid escape"));
    CHECK(contains(message(R"({"a": "\u12"})"), "four hex digits"));
    CHECK(contains(message(std::string(200, '[') + std::string(200, ']')), "nested more than 128"));
    CHECK(contains(message("{\"a\": \"\xff\"}"), "UTF-8"));
    CHECK(contains(message(R"({"a": <nope>})"), "<nope> at offset 6, but no input path defines \"nope\""));
    CHECK(contains(message("plain <nope> text"), "no input path defines"));
    CHECK(contains(message(R"("a" "b")"), "unexpected text after the JSON value"));
    CHECK(contains(message(""), "empty"));
    CHECK(contains(message(std::string(8193, ' ')), "8192"));
    // The offset is reported.
    CHECK(contains(message(R"({"a": tru})"), "at offset 6"));
}

TEST_CASE("variable names, paths and limits are validated") {
    auto message = [](std::map<std::string, std::string> paths) {
        return error_of([&] { compiled_input::compile(input_transformer{std::move(paths), "1"}); });
    };
    CHECK(contains(message({{"has space", "$.a"}}), "has a character other than"));
    CHECK(contains(message({{"", "$.a"}}), "cannot be empty"));
    for (const char* bad : {"detail", "$..x", "$.a['b']", "$.a[-1]", "$.a[", "$.a.", "$ .a", "$.a b", "$.a[1", "$.a[99999999999]",
                            "$[x]", "", "$.a\"b"}) {
        CAPTURE(bad);
        const auto m = message({{"v", bad}});
        CHECK(contains(m, "variable \"v\""));
        CHECK(contains(m, "JSON path"));
    }
    CHECK(contains(message({{"v", "$.a['b']"}}), "bracket notation"));
    CHECK(contains(error_of([] { compiled_input::compile(switchyard::input_path{"detail"}); }), "starts with '$'"));

    // Exactly 100 variables is fine; 101 is not.
    std::map<std::string, std::string> many;
    for (int i = 0; i < 100; ++i) many[fmt::format("v{}", i)] = fmt::format("$.detail.v{}", i);
    CHECK_NOTHROW(compiled_input::compile(input_transformer{many, "<v0>"}));
    many["v100"] = "$.detail";
    CHECK(contains(message(many), "limit"));

    // Paths EventBridge documents: dashes, underscores, slashes, digits.
    CHECK_NOTHROW(compiled_input::compile(input_transformer{
        {{"a", "$.detail.instance-id"}, {"b", "$.detail.order_no"}, {"c", "$.detail.a/b"}, {"d", "$.detail.x1[0][2].y"},
         {"e", "$.*"}, {"f", "$.detail[*]"}},
        R"([<a>, <b>, <c>, <d>, <e>, <f>])"}));
}

TEST_CASE("compiled inputs share their program and render the same from copies") {
    const auto e = make_ec2_event();
    const auto original = compiled_input::compile(input_transformer{ec2_paths, R"({"i": <instance>})"});
    const compiled_input copy = original;  // NOLINT(performance-unnecessary-copy-initialization)
    CHECK(copy.render(*e, "r") == original.render(*e, "r"));
    CHECK(copy.render(*e, "r") == R"({"i": "i-0123456789"})");
}

namespace transform_types {
struct Shipment {
    std::string instance;
    int count = 0;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Shipment, instance, count)
}  // namespace transform_types

TEST_CASE("payload_as gives typed targets the transformed payload, or a permanent error") {
    using transform_types::Shipment;
    const auto e = make_ec2_event();
    const auto input = compiled_input::compile(input_transformer{ec2_paths, R"({"instance": <instance>, "count": 3})"});
    const auto payload = input.render(*e, "r");
    const auto shipment = switchyard::payload_as<Shipment>(payload, input.is_json(), "ship");
    CHECK(shipment.instance == "i-0123456789");
    CHECK(shipment.count == 3);
    CHECK(switchyard::payload_as<json>(payload, true, "t")["count"] == 3);
    CHECK(switchyard::payload_as<std::string>(payload, true, "t") == payload);

    // Wrong shape: a permanent failure that names the target.
    const auto wrong = compiled_input::compile(input_transformer{ec2_paths, R"({"instance": 7})"}).render(*e, "r");
    std::string message;
    try {
        (void)switchyard::payload_as<Shipment>(wrong, true, "ship");
    } catch (const switchyard::permanent_error& ex) {
        message = ex.what();
    }
    CHECK(contains(message, "target \"ship\""));
    CHECK(contains(message, "does not fit"));

    // Plain text goes only to std::string handlers.
    const auto text = compiled_input::compile(input_transformer{ec2_paths, "state: <state>"});
    CHECK(switchyard::payload_as<std::string>(text.render(*e, "r"), text.is_json(), "t") == "state: RUNNING");
    CHECK_THROWS_AS((void)switchyard::payload_as<Shipment>(text.render(*e, "r"), text.is_json(), "t"),
                    switchyard::permanent_error);
}
