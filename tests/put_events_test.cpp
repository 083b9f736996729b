#include <doctest/doctest.h>

#include "test_support.hpp"

using namespace switchyard;

namespace {

struct fixture {
    std::vector<std::string> received;
    bus b{"orders"};
    fixture() {
        b.add_rule({.name = "orders",
                    .pattern = R"({"source": ["com.example.orders"]})",
                    .targets = {json_handler("collect", [this](std::string_view json) {
                        received.push_back(nlohmann::json::parse(json)["detail"]["n"].dump());
                    })}});
    }
};

put_events_entry good(int n) {
    return {.source = "com.example.orders", .detail_type = "OrderPlaced", .detail = "{\"n\": " + std::to_string(n) + "}"};
}

}  // namespace

TEST_CASE("a bad entry in a batch of 10 fails alone; the nine others are delivered") {
    fixture f;
    std::vector<put_events_entry> batch;
    for (int i = 0; i < 10; ++i) batch.push_back(good(i));
    batch[4].detail = R"({"n": 4,)";  // truncated JSON

    const auto result = f.b.put_events(batch);
    f.b.drain();
    CHECK(result.failed_entry_count == 1);
    REQUIRE(result.entries.size() == 10);
    for (int i = 0; i < 10; ++i) {
        CAPTURE(i);
        if (i == 4) {
            CHECK(result.entries[i].error_code == switchyard::publish_errc::malformed_detail);
            CHECK_FALSE(result.entries[i].error_message.empty());
            CHECK(result.entries[i].event_id.empty());
        } else {
            CHECK(result.entries[i].ok());
            CHECK(result.entries[i].event_id.size() == 36);
        }
    }
    CHECK(f.received == std::vector<std::string>{"0", "1", "2", "3", "5", "6", "7", "8", "9"});
}

TEST_CASE("each kind of bad entry gets its own code and a message naming the field") {
    fixture f;
    struct bad_case {
        put_events_entry entry;
        std::string code;
        std::string mentions;
    };
    const std::vector<bad_case> cases = {
        {{.source = "", .detail_type = "X", .detail = "{}"}, "InvalidArgument", "Source"},
        {{.source = "s", .detail_type = "", .detail = "{}"}, "InvalidArgument", "DetailType"},
        {{.source = "s", .detail_type = "X", .detail = ""}, "InvalidArgument", "Detail"},
        {{.source = "s", .detail_type = "X", .detail = "not json"}, "MalformedDetail", "not valid JSON"},
        {{.source = "s", .detail_type = "X", .detail = "[1, 2]"}, "MalformedDetail", "JSON object"},
        {{.source = "s", .detail_type = "X", .detail = "\"text\""}, "MalformedDetail", "JSON object"},
        {{.source = "s", .detail_type = "X", .detail = "{}", .time = "yesterday"}, "InvalidArgument", "RFC 3339"},
        {{.source = "s", .detail_type = "X", .detail = "{}", .resources = {""}}, "InvalidArgument", "Resources"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.entry.detail);
        const auto r = f.b.put_events({c.entry});
        CHECK(r.failed_entry_count == 1);
        CHECK(to_string(r.entries[0].error_code) == c.code);  // EventBridge's names at the edge
        CHECK(r.entries[0].error_message.find(c.mentions) != std::string::npos);
    }
}

TEST_CASE("an entry over the size limit fails with the sizes in the message") {
    bus b{"orders", bus_options{.max_event_size = 64}};
    const auto r = b.put_events({{.source = "s", .detail_type = "X", .detail = "{\"pad\": \"" + std::string(100, 'x') + "\"}"},
                                 {.source = "s", .detail_type = "X", .detail = "{}"}});
    CHECK(r.failed_entry_count == 1);
    CHECK(r.entries[0].error_code == switchyard::publish_errc::invalid_argument);
    CHECK(r.entries[0].error_message.find("limit is 64 bytes") != std::string::npos);
    CHECK(r.entries[1].ok());
}

TEST_CASE("a batch larger than the limit is an API error") {
    bus b{"orders", bus_options{.max_batch_entries = 2}};
    std::vector<put_events_entry> batch(3, put_events_entry{.source = "s", .detail_type = "X", .detail = "{}"});
    CHECK_THROWS_WITH_AS((void)b.put_events(batch), doctest::Contains("at most 2"), error);
}

TEST_CASE("Time and Resources are carried into the envelope") {
    std::vector<std::string> events;
    bus b{"orders"};
    b.add_rule({.name = "all",
                .pattern = R"({"source": ["s"]})",
                .targets = {json_handler("collect", [&](std::string_view json) { events.emplace_back(json); })}});
    const auto r = b.put_events({{.source = "s",
                                  .detail_type = "X",
                                  .detail = R"({"a": 1})",
                                  .resources = {"arn:aws:example:r1"},
                                  .time = "2026-11-29T21:00:00+01:00"}});
    REQUIRE(r.failed_entry_count == 0);
    b.drain();
    REQUIRE(events.size() == 1);
    const auto j = nlohmann::json::parse(events[0]);
    CHECK(j["time"] == "2026-11-29T20:00:00Z");
    CHECK(j["resources"] == nlohmann::json::array({"arn:aws:example:r1"}));
    CHECK(j["id"] == r.entries[0].event_id);
    CHECK(j["detail"]["a"] == 1);
}

TEST_CASE("a detail nested deeper than the limit fails alone instead of risking the stack") {
    bus b{"orders"};
    std::string deep;
    for (int i = 0; i < 60000; ++i) deep += "{\"a\":";
    deep += "1";
    for (int i = 0; i < 60000; ++i) deep += "}";
    const auto r = b.put_events({{.source = "s", .detail_type = "X", .detail = deep},
                                 {.source = "s", .detail_type = "X", .detail = R"({"a": [[{"b": 1}]]})"}});
    CHECK(r.failed_entry_count == 1);
    CHECK(r.entries[0].error_code == switchyard::publish_errc::invalid_argument);
    CHECK(r.entries[0].error_message.find("60000 levels deep") != std::string::npos);
    CHECK(r.entries[1].ok());
    CHECK_THROWS_WITH_AS(parse_event(R"({"id":"x","detail-type":"a","source":"b","time":"t","detail":)" + deep + "}"),
                         doctest::Contains("levels deep"), error);
    CHECK(detail::json_depth(R"({"s": "{[{[", "a": [1, {"b": []}]})") == 4);  // strings do not count
}
