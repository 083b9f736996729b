#include <doctest/doctest.h>

#include <set>

#include "test_support.hpp"

using namespace switchyard;
using test_types::CreditCardTransaction;

TEST_CASE("event ids are random version 4 UUIDs") {
    std::set<std::string> seen;
    for (int i = 0; i < 1000; ++i) {
        const auto id = detail::make_uuid_v4();
        REQUIRE(id.size() == 36);
        CHECK(id[8] == '-');
        CHECK(id[13] == '-');
        CHECK(id[14] == '4');
        CHECK(std::string("89ab").find(id[19]) != std::string::npos);
        for (std::size_t pos = 0; pos < id.size(); ++pos) {
            if (pos == 8 || pos == 13 || pos == 18 || pos == 23)
                CHECK(id[pos] == '-');
            else
                CHECK(std::string("0123456789abcdef").find(id[pos]) != std::string::npos);
        }
        seen.insert(id);
    }
    CHECK(seen.size() == 1000);
}

TEST_CASE("RFC 3339 timestamps") {
    using namespace std::chrono;
    const auto tp = sys_days{year{2026} / 11 / 29} + hours{20} + minutes{0} + seconds{41};
    CHECK(detail::format_rfc3339(tp) == "2026-11-29T20:00:41Z");

    SUBCASE("parse accepts offsets and fractions and normalises to UTC") {
        auto parsed = detail::parse_rfc3339("2026-11-29T21:30:41.250+01:30");
        REQUIRE(parsed);
        CHECK(detail::format_rfc3339(*parsed) == "2026-11-29T20:00:41Z");
        CHECK(detail::parse_rfc3339("2026-11-29t20:00:41z"));
    }
    SUBCASE("parse rejects malformed and impossible times") {
        CHECK_FALSE(detail::parse_rfc3339(""));
        CHECK_FALSE(detail::parse_rfc3339("2026-11-29"));
        CHECK_FALSE(detail::parse_rfc3339("2026-11-29 20:00:41Z"));
        CHECK_FALSE(detail::parse_rfc3339("2026-02-30T20:00:41Z"));
        CHECK_FALSE(detail::parse_rfc3339("2026-11-29T24:00:00Z"));
        CHECK_FALSE(detail::parse_rfc3339("2026-11-29T20:00:41"));
        CHECK_FALSE(detail::parse_rfc3339("2026-11-29T20:00:41Zjunk"));
    }
}

TEST_CASE("the envelope round-trips through EventBridge JSON") {
    event<nlohmann::json> e;
    e.id = "6a107b75-677f-4cbd-8c22-af58be6521cc";
    e.detail_type = "CREDIT_CARD_TRANSACTION";
    e.source = "com.example.transaction";
    e.account = "111122223333";
    e.time = "2026-11-29T00:00:00Z";
    e.region = "eu-west-1";
    e.resources = {"arn:aws:example:1"};
    e.replay_name = "replay-1";
    e.detail = {{"transactionId", "t1"}, {"total", 4.22}};

    const nlohmann::json j = e;
    CHECK(j["detail-type"] == "CREDIT_CARD_TRANSACTION");
    CHECK(j["replay-name"] == "replay-1");
    CHECK(j["version"] == "0");
    const auto back = j.get<event<nlohmann::json>>();
    CHECK(back == e);

    SUBCASE("replay-name is omitted when absent") {
        e.replay_name.reset();
        const nlohmann::json k = e;
        CHECK_FALSE(k.contains("replay-name"));
    }
    SUBCASE("a missing required field is named in the error") {
        nlohmann::json broken = j;
        broken.erase("source");
        CHECK_THROWS_WITH_AS(broken.get<event<nlohmann::json>>(), doctest::Contains("\"source\""), switchyard::error);
    }
    SUBCASE("a mistyped field is named in the error") {
        nlohmann::json broken = j;
        broken["resources"] = "not-a-list";
        CHECK_THROWS_WITH_AS(broken.get<event<nlohmann::json>>(), doctest::Contains("resources"), switchyard::error);
    }
}

TEST_CASE("parse_event reads generated transactions and json() reproduces them") {
    const std::string text =
        R"({"version":"0","id":"8712b8bc-076f-4787-b9d1-79e06c0fd4f5","detail-type":"CREDIT_CARD_TRANSACTION",)"
        R"("source":"com.example.transaction","account":"111122223333","time":"2026-11-29T00:00:00Z",)"
        R"("region":"eu-west-1","resources":[],"detail":{"transactionId":"t00000000","customerId":"c099913",)"
        R"("total":112.01,"card":{"brand":"VISA","last4":"0034"},"tags":["promo"]}})";
    const auto e = parse_event(text);
    CHECK(e->meta().id == "8712b8bc-076f-4787-b9d1-79e06c0fd4f5");
    CHECK(e->meta().region == "eu-west-1");
    CHECK(nlohmann::json::parse(e->json()) == nlohmann::json::parse(text));

    const auto typed = event_cast<CreditCardTransaction>(*e);
    CHECK(typed.detail.customerId == "c099913");
    CHECK(typed.detail.card.brand == "VISA");
    CHECK(typed.detail.tags == std::vector<std::string>{"promo"});

    CHECK_THROWS_AS(parse_event("{not json"), switchyard::error);
    CHECK_THROWS_WITH_AS(parse_event(R"({"id":"x","detail-type":"a","source":"b","time":"t","detail":[1]})"),
                         doctest::Contains("detail"), switchyard::error);
}

TEST_CASE("parse_event keeps the detail as it came and reads the envelope as nlohmann would") {
    // Escaped names and values, whitespace everywhere, members in any order, unknown members.
    const std::string text = " \n{ \"detail\" : { \"z\" : 1 , \"a\" : [ {\"k\":\"}\\\"]\"} ] } ,\n"
                             " \"\\u0069d\":\"id-\\u00e9\", \"detail-type\":\"Order \\\"Placed\\\"\", \"unknown\":{\"x\":[1,{}]},"
                             " \"source\":\"shop\", \"time\":\"2026-12-02T00:00:00Z\", \"resources\" : [ \"arn:a\" , \"arn:\\/b\" ],"
                             " \"replay-name\":\"r1\", \"region\":\"eu-west-1\", \"account\":\"1\", \"version\":\"0\","
                             " \"traceparent\":\"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\", \"tracestate\":\"k=v\" } ";
    const auto e = parse_event(text);
    CHECK(e->detail_json() == R"({ "z" : 1 , "a" : [ {"k":"}\"]"} ] })");
    CHECK(e->meta().id == "id-\xc3\xa9");
    CHECK(e->meta().detail_type == "Order \"Placed\"");
    CHECK(e->meta().source == "shop");
    CHECK(e->meta().time == "2026-12-02T00:00:00Z");
    CHECK(e->meta().resources == std::vector<std::string>{"arn:a", "arn:/b"});
    CHECK(e->meta().replay_name == std::optional<std::string>("r1"));
    CHECK(e->meta().region == "eu-west-1");
    CHECK(e->meta().account == "1");
    REQUIRE(e->meta().trace.has_value());
    CHECK(e->meta().trace->traceparent() == "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
    CHECK(e->meta().trace->tracestate == "k=v");

    // The envelope read without a DOM is the one nlohmann's from_json reads.
    const auto dom = nlohmann::json::parse(text);
    envelope expected;
    from_json(dom, expected);
    CHECK(e->meta() == expected);
    CHECK(nlohmann::json::parse(e->detail_json()) == dom["detail"]);
    auto known = dom;
    known.erase("unknown");  // not an envelope field: not kept
    CHECK(nlohmann::json::parse(e->json()) == known);

    SUBCASE("each wrong input names its problem") {
        const std::string base = R"("id":"x","detail-type":"a","source":"b","time":"t")";
        CHECK_THROWS_WITH_AS(parse_event("[1]"), doctest::Contains("must be a JSON object, got array"), switchyard::error);
        CHECK_THROWS_WITH_AS(parse_event("{" + base + R"(,"detail":{"a":1,"a":2}})"), doctest::Contains("\"a\" twice"),
                             switchyard::error);
        CHECK_THROWS_WITH_AS(parse_event("{" + base + R"(,"id":"y","detail":{}})"), doctest::Contains("\"id\" twice"),
                             switchyard::error);
        CHECK_THROWS_WITH_AS(parse_event("{" + base + R"(,"detail":{"a":1})"), doctest::Contains("not valid JSON"), switchyard::error);
        CHECK_THROWS_WITH_AS(parse_event(R"({"id":7,"detail-type":"a","source":"b","time":"t","detail":{}})"),
                             doctest::Contains("\"id\" must be a string, got number"), switchyard::error);
        CHECK_THROWS_WITH_AS(parse_event(R"({"id":"x","detail-type":"a","source":"b","detail":{}})"),
                             doctest::Contains("no \"time\" field"), switchyard::error);
        CHECK_THROWS_WITH_AS(parse_event("{" + base + "}"), doctest::Contains("\"detail\" must be a JSON object"), switchyard::error);
        CHECK_THROWS_WITH_AS(parse_event("{" + base + R"(,"detail":"{}"})"), doctest::Contains("\"detail\" must be a JSON object"),
                             switchyard::error);
        CHECK_THROWS_WITH_AS(parse_event("{" + base + R"(,"resources":["a",1],"detail":{}})"),
                             doctest::Contains("\"resources\" must be an array of strings"), switchyard::error);
        CHECK_THROWS_WITH_AS(parse_event("{" + base + R"(,"resources":"a","detail":{}})"),
                             doctest::Contains("\"resources\" must be an array of strings"), switchyard::error);
        CHECK_THROWS_WITH_AS(parse_event("{" + base + R"(,"replay-name":null,"detail":{}})"),
                             doctest::Contains("\"replay-name\" must be a string"), switchyard::error);
        // A traceparent that is not one is dropped, as the W3C spec asks of a receiver.
        CHECK_FALSE(parse_event("{" + base + R"(,"traceparent":5,"detail":{}})")->meta().trace.has_value());
        CHECK_FALSE(parse_event("{" + base + R"(,"traceparent":"nonsense","detail":{}})")->meta().trace.has_value());
    }
}

TEST_CASE("a typed event produces its JSON only when asked, and the same text every time") {
    event<CreditCardTransaction> value;
    value.id = "id-1";
    value.detail_type = "CREDIT_CARD_TRANSACTION";
    value.source = "com.example.transaction";
    value.time = "2026-11-29T00:00:00Z";
    value.detail = {"t1", "c1", 2500.0, {"VISA", "0034"}, {"promo"}};
    const auto e = make_event(value);

    REQUIRE(e->as<CreditCardTransaction>() != nullptr);
    CHECK(e->as<test_types::Refund>() == nullptr);
    CHECK(&e->json() == &e->json());
    const auto parsed = nlohmann::json::parse(e->json());
    CHECK(parsed["detail"]["card"]["last4"] == "0034");
    CHECK(parsed["detail"]["total"] == 2500.0);
    CHECK(parsed.get<event<CreditCardTransaction>>() == value);
}
