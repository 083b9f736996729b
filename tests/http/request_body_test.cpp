// The ingress's body reader and reply writer (src/http/request_body.hpp) on their own, without a
// server: what each PutEvents and TestEventPattern member becomes, what refuses a whole request,
// and a reply that is valid JSON whatever the messages hold.
#include <doctest/doctest.h>

#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "http/request_body.hpp"

using namespace switchyard;
using namespace switchyard::http_detail;

namespace {

std::vector<put_events_request_entry> entries_of(std::string_view body, std::size_t max_entries = 10) {
    auto read = read_put_events(body, max_entries);
    if (const auto* refused = std::get_if<ingress_reply>(&read)) FAIL("refused: " << refused->body);
    return std::get<std::vector<put_events_request_entry>>(std::move(read));
}

// The refusal's __type, "" when the body was read.
std::string refusal_of(std::string_view body, std::size_t max_entries = 10) {
    const auto read = read_put_events(body, max_entries);
    const auto* refused = std::get_if<ingress_reply>(&read);
    if (refused == nullptr) return "";
    CHECK(refused->status == 400);
    return nlohmann::json::parse(refused->body).at("__type").get<std::string>();
}

}  // namespace

TEST_SUITE("http ingress: request bodies") {

TEST_CASE("every PutEventsRequestEntry member is read, escapes decoded, in request order") {
    const auto entries = entries_of(R"({"Entries": [
        {"Source": "com.example", "DetailType": "Order Placed", "Detail": "{\"id\": \"caf\u00e9\", \"q\": \"a\\\"b\"}",
         "Resources": ["arn:a", "arn:b"], "Time": 1700000000.75, "EventBusName": "orders",
         "TraceHeader": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
        {"Source": "second", "Time": "2026-01-02T03:04:05Z", "TraceHeader": "Root=1-5759e988-bd862e3fe1be46a994272793"}
    ]})");
    REQUIRE(entries.size() == 2);
    const auto& first = entries[0];
    CHECK(first.entry.source == "com.example");
    CHECK(first.entry.detail_type == "Order Placed");
    CHECK(first.entry.detail == "{\"id\": \"caf\xc3\xa9\", \"q\": \"a\\\"b\"}");
    CHECK(first.entry.resources == std::vector<std::string>{"arn:a", "arn:b"});
    CHECK(first.entry.time == "2023-11-14T22:13:20Z");  // epoch seconds, truncated to the second
    CHECK(first.event_bus_name == "orders");
    CHECK(first.entry.traceparent == "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
    CHECK_FALSE(first.time_out_of_range);
    const auto& second = entries[1];
    CHECK(second.entry.source == "second");
    CHECK(second.entry.time == "2026-01-02T03:04:05Z");  // text is passed on for the bus to check
    CHECK(second.entry.traceparent.empty());               // an X-Ray header is not a traceparent
    CHECK(second.entry.detail.empty());
}

TEST_CASE("null members count as absent; unknown members are ignored; a member named twice counts once, the later") {
    const auto entries = entries_of(R"({"Extra": {"deep": [1, 2]}, "Entries": [
        {"Source": null, "DetailType": "t", "Detail": null, "Resources": null, "Time": null, "EventBusName": null,
         "Unknown": [true, null, {"x": 1}]},
        {"Source": "first", "Source": "second", "Resources": ["a"], "Resources": ["b", "c"], "Time": 1e15, "Time": 0}
    ]})");
    REQUIRE(entries.size() == 2);
    CHECK(entries[0].entry.source.empty());
    CHECK(entries[0].entry.detail_type == "t");
    CHECK(entries[0].entry.resources.empty());
    CHECK(entries[0].entry.time.empty());
    CHECK(entries[1].entry.source == "second");
    CHECK(entries[1].entry.resources == std::vector<std::string>{"b", "c"});
    CHECK(entries[1].entry.time == "1970-01-01T00:00:00Z");
    CHECK_FALSE(entries[1].time_out_of_range);  // the later, valid Time replaced the earlier one
}

// Regressions from review: a later valid duplicate makes an earlier wrong-typed one irrelevant;
// integers beyond 64 bits are numbers (read as doubles), not a reason to refuse the request; a
// byte-order mark is skipped.
TEST_CASE("a member named twice is read from its later value, even when the earlier has the wrong type") {
    const auto entries = entries_of(R"({"Entries": [{"Source": 1, "Source": "s", "Time": {}, "Time": 60, "Resources": 7, "Resources": ["r"]}]})");
    REQUIRE(entries.size() == 1);
    CHECK(entries[0].entry.source == "s");
    CHECK(entries[0].entry.time == "1970-01-01T00:01:00Z");
    CHECK(entries[0].entry.resources == std::vector<std::string>{"r"});
    CHECK(refusal_of(R"({"Entries": [{"Source": "s", "Source": 1}]})") == "SerializationException");
}

TEST_CASE("integers beyond 64 bits: a huge Time fails its entry alone, and one in an ignored member is ignored") {
    const auto entries = entries_of(R"({"Ignored": 123456789012345678901234567890, "Entries": [
        {"Source": "a", "Time": 18446744073709551616}, {"Source": "b", "Extra": -99999999999999999999999}]})");
    REQUIRE(entries.size() == 2);
    CHECK(entries[0].time_out_of_range);
    CHECK(entries[1].entry.source == "b");
    CHECK_FALSE(entries[1].time_out_of_range);
    CHECK(refusal_of(R"({"Entries": [{"Source": "a", "Time": 1e400}]})") == "SerializationException");  // not a double
    CHECK(refusal_of(R"({"Entries": [{"Source": "a", "Time": 01}]})") == "SerializationException");     // not JSON
}

TEST_CASE("a UTF-8 byte-order mark before the body is skipped") {
    const auto entries = entries_of("\xEF\xBB\xBF{\"Entries\": [{\"Source\": \"a\"}]}");
    REQUIRE(entries.size() == 1);
    CHECK(entries[0].entry.source == "a");
}

TEST_CASE("a body larger than the kept parser's size is read by a parser of its own, alike") {
    std::string big = R"({"Entries": [{"Source": "big", "Detail": ")" + std::string(200 * 1024, 'x') + R"("}, {"Source": "next"}]})";
    const auto entries = entries_of(big);
    REQUIRE(entries.size() == 2);
    CHECK(entries[0].entry.detail.size() == 200 * 1024);
    CHECK(entries[1].entry.source == "next");
    CHECK(entries_of(R"({"Entries": [{"Source": "small"}]})").at(0).entry.source == "small");  // the kept parser still works
}

TEST_CASE("a Time outside the bus's years fails its entry alone; integers and fractions are epoch seconds") {
    const auto entries = entries_of(R"({"Entries": [{"Time": 1e15}, {"Time": -1e12}, {"Time": 86400}, {"Time": 18446744073709551615}]})");
    REQUIRE(entries.size() == 4);
    CHECK(entries[0].time_out_of_range);
    CHECK(entries[1].time_out_of_range);
    CHECK_FALSE(entries[2].time_out_of_range);
    CHECK(entries[2].entry.time == "1970-01-02T00:00:00Z");
    CHECK(entries[3].time_out_of_range);  // a uint64 is read as a number too, and is out of range
}

TEST_CASE("the whole request is refused for a body that is not a JSON object, or a member of the wrong type") {
    CHECK(refusal_of("") == "SerializationException");
    CHECK(refusal_of("{\"Entries\": [") == "SerializationException");
    CHECK(refusal_of("[1]") == "SerializationException");
    CHECK(refusal_of("\"Entries\"") == "SerializationException");
    CHECK(refusal_of(R"({"Entries": [{"Source": "s"}]} trailing)") == "SerializationException");
    CHECK(refusal_of("{\"Entries\": [{\"Source\": \"\xff\"}]}") == "SerializationException");          // not UTF-8
    CHECK(refusal_of("{\"Entries\": [{\"Source\": \"a\x01\"}]}") == "SerializationException");         // raw control
    CHECK(refusal_of(R"({"Entries": [{"Source": "\ud800"}]})") == "SerializationException");          // lone surrogate
    CHECK(refusal_of(R"({"Entries": {}})") == "SerializationException");
    CHECK(refusal_of(R"({"Entries": [1]})") == "SerializationException");
    for (const char* member : {"Source", "DetailType", "Detail", "EventBusName", "TraceHeader"}) {
        CAPTURE(member);
        const auto body = std::string(R"({"Entries": [{")") + member + R"(": 1}]})";
        const auto read = read_put_events(body, 10);
        REQUIRE(std::holds_alternative<ingress_reply>(read));
        const auto message = nlohmann::json::parse(std::get<ingress_reply>(read).body).at("message").get<std::string>();
        CHECK(message == std::string("Entries[0].") + member + " must be a string.");
    }
    CHECK(refusal_of(R"({"Entries": [{"Resources": "arn"}]})") == "SerializationException");
    CHECK(refusal_of(R"({"Entries": [{"Resources": ["a", 2]}]})") == "SerializationException");
    CHECK(refusal_of(R"({"Entries": [{"Time": true}]})") == "SerializationException");
    CHECK(refusal_of(R"({"Entries": [{"Time": [1]}]})") == "SerializationException");
}

TEST_CASE("nesting: a PutEvents body is shallow, so 32 levels are read and deeper bodies refused") {
    auto nested = [](int depth) {
        std::string inner = std::string(static_cast<std::size_t>(depth - 1), '[') + std::string(static_cast<std::size_t>(depth - 1), ']');
        return R"({"Entries": [{"Source": "s"}], "x": )" + (depth > 1 ? inner : std::string("0")) + "}";
    };
    CHECK(refusal_of(nested(31)).empty());  // the object and 30 arrays: 31 levels
    CHECK(refusal_of(nested(32)).empty());
    CHECK(refusal_of(nested(33)) == "SerializationException");
    CHECK(refusal_of(std::string(100000, '[') + std::string(100000, ']')) == "SerializationException");
}

TEST_CASE("Entries missing, null, empty or longer than the limit is a ValidationException") {
    CHECK(refusal_of("{}") == "ValidationException");
    CHECK(refusal_of(R"({"Entries": null})") == "ValidationException");
    CHECK(refusal_of(R"({"Entries": []})") == "ValidationException");
    CHECK(refusal_of(R"({"Entries": [{}, {}, {}]})", 2) == "ValidationException");
    CHECK(refusal_of(R"({"Entries": [{}, {}]})", 2).empty());
}

TEST_CASE("TestEventPattern: EventPattern and Event are read as strings") {
    const auto read = read_test_event_pattern(R"({"EventPattern": "{\"source\": [\"a\"]}", "Event": "{}", "Other": 1})");
    REQUIRE(std::holds_alternative<test_event_pattern_request>(read));
    CHECK(std::get<test_event_pattern_request>(read).pattern == R"({"source": ["a"]})");
    CHECK(std::get<test_event_pattern_request>(read).event == "{}");
    const auto absent = read_test_event_pattern(R"({"Event": null})");
    REQUIRE(std::holds_alternative<test_event_pattern_request>(absent));
    CHECK(std::get<test_event_pattern_request>(absent).pattern.empty());
    for (const char* bad : {R"({"EventPattern": {}})", R"({"Event": 1})", "[]", "{"}) {
        CAPTURE(bad);
        const auto refused = read_test_event_pattern(bad);
        REQUIRE(std::holds_alternative<ingress_reply>(refused));
        CHECK(std::get<ingress_reply>(refused).status == 400);
    }
}

TEST_CASE("the PutEvents reply is valid JSON in request order, whatever the messages hold") {
    const std::vector<put_events_reply_entry> results = {
        {"11111111-2222-4333-8444-555555555555", "", ""},
        {"", "MalformedDetail", "Detail is not valid JSON (near \"\xff\x01\"): send \\ a JSON object"},
        {"66666666-7777-4888-8999-aaaaaaaaaaaa", "", ""},
    };
    const auto text = write_put_events_reply(results);
    const auto reply = nlohmann::json::parse(text);  // throws, failing the test, if not valid JSON
    CHECK(reply.at("FailedEntryCount") == 1);
    REQUIRE(reply.at("Entries").size() == 3);
    CHECK(reply["Entries"][0] == nlohmann::json{{"EventId", "11111111-2222-4333-8444-555555555555"}});
    CHECK(reply["Entries"][1]["ErrorCode"] == "MalformedDetail");
    CHECK(reply["Entries"][1]["ErrorMessage"].get<std::string>().find("\\ a JSON object") != std::string::npos);
    CHECK(reply["Entries"][2]["EventId"] == "66666666-7777-4888-8999-aaaaaaaaaaaa");
    CHECK(nlohmann::json::parse(json_quoted("a\"b\n\xff")) == "a\"b\n\xef\xbf\xbd");
    // Quoted twice (a message quoting a client's bytes, then the message in a reply): the
    // replacement stays U+FFFD, not the six characters of an escape.
    const auto inner = json_quoted("bad \xC0\xAF \xED\xA0\x80 \xF4\x90\x80\x80 ok \xC3\xA9");
    CHECK(nlohmann::json::parse(json_quoted(inner)) == inner);
    CHECK(nlohmann::json::parse(inner) == "bad \xEF\xBF\xBD\xEF\xBF\xBD \xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD \xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD ok \xC3\xA9");
    CHECK(inner.find("\\ufffd") == std::string::npos);
}

}  // TEST_SUITE
