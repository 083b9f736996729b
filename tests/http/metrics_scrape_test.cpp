// Scrapes a bus's metrics over a real socket (switchyard::http's server on 127.0.0.1, a free
// port; libcurl as the client) and checks the text with the strict 0.0.4 parser, and that the
// counts match what happened.
#include <doctest/doctest.h>

#include <string>

#include <curl/curl.h>

#include <switchyard/http/ingress.hpp>
#include <switchyard/observe/prometheus.hpp>

#include "observe/prometheus_parser.hpp"
#include "test_support.hpp"

using namespace switchyard;
using test_types::Refund;

namespace {
struct response {
    long status = 0;
    std::string content_type;
    std::string body;
};

response get(const std::string& url) {
    response out;
    CURL* curl = curl_easy_init();
    REQUIRE(curl != nullptr);
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, +[](char* data, size_t, size_t n, void* body) {
        static_cast<std::string*>(body)->append(data, n);
        return n;
    });
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &out.body);
    if (curl_easy_perform(curl) == CURLE_OK) {
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &out.status);
        char* type = nullptr;
        curl_easy_getinfo(curl, CURLINFO_CONTENT_TYPE, &type);
        if (type) out.content_type = type;
    }
    curl_easy_cleanup(curl);
    return out;
}
}  // namespace

TEST_CASE("GET /metrics over HTTP returns valid exposition text with the bus's counts") {
    bus b{"payments", bus_options{.latency_sample_every = 1}};  // time every event: exact histogram counts
    b.set_error_handler([](const delivery_failure&) {});
    b.add_rule({.name = "refunds",
                .pattern = R"({"detail-type": ["REFUND"]})",
                .targets = {handler<Refund>("ok", [](const auto&) {}),
                            handler<Refund>("fails", [](const auto&) -> void { throw permanent_error("no"); })}});
    auto p = b.producer<Refund>("s");
    for (int i = 0; i < 7; ++i) CHECK(p.publish({"t", 1}).ok());
    CHECK(b.put_events({{.source = "s", .detail_type = "REFUND", .detail = "not json"}}).failed_entry_count == 1);
    REQUIRE(b.drain(std::chrono::seconds(30)));

    // The server's default /metrics: every bus added, rendered.
    http_ingress server;
    server.add_bus(b);
    server.start();
    const auto scraped = get("http://127.0.0.1:" + std::to_string(server.port()) + "/metrics");
    CHECK(server.stop());

    CHECK(scraped.status == 200);
    CHECK(scraped.content_type.find("version=0.0.4") != std::string::npos);
    const std::string& text = scraped.body;
    CHECK_NOTHROW(prometheus_test::parse_exposition(text));
    auto has = [&](const std::string& line) {
        CAPTURE(line);
        CHECK(text.find(line + "\n") != std::string::npos);
    };
    has(R"(switchyard_matched_events_total{bus="payments"} 7)");
    has(R"(switchyard_put_events_entries_total{bus="payments"} 8)");
    has(R"(switchyard_put_events_failed_entries_total{bus="payments"} 1)");
    has(R"(switchyard_triggered_rules_total{bus="payments",rule="refunds"} 7)");
    has(R"(switchyard_invocations_total{bus="payments",rule="refunds",target="ok"} 7)");
    has(R"(switchyard_failed_invocations_total{bus="payments",rule="refunds",target="fails"} 7)");
    has(R"(switchyard_invocations_sent_to_dlq_total{bus="payments",rule="refunds",target="fails"} 0)");  // no sink: zero, not omitted
    has(R"(switchyard_deduplicated_events_total{bus="payments"} 0)");
    has(R"(switchyard_queue_depth{bus="payments",rule="refunds",target="ok"} 0)");
    has(R"(switchyard_ingestion_to_invocation_start_latency_seconds_count{bus="payments",rule="refunds",target="ok"} 7)");
}

TEST_CASE("with metrics off every metric reads zero") {
    bus b{"quiet", bus_options{.metrics = false}};
    b.add_rule({.name = "r", .pattern = R"({"detail-type": ["REFUND"]})", .targets = {handler<Refund>("t", [](const auto&) {})}});
    CHECK(b.producer<Refund>("s").publish({"t", 1}).ok());
    REQUIRE(b.drain(std::chrono::seconds(30)));
    const auto text = render_prometheus(b.metrics());
    CHECK(text.find(R"(switchyard_invocations_total{bus="quiet",rule="r",target="t"} 0)") != std::string::npos);
    CHECK(b.stats()[0].delivered == 1);  // the accounting itself is always on
}

TEST_CASE("sampled latency histograms are weighted estimates; counters stay exact") {
    bus b{"payments", bus_options{.latency_sample_every = 4}};
    b.add_rule({.name = "refunds", .pattern = R"({"detail-type": ["REFUND"]})", .targets = {handler<Refund>("ok", [](const auto&) {})}});
    auto p = b.producer<Refund>("s");
    constexpr int events = 4000;
    for (int i = 0; i < events; ++i) REQUIRE(p.publish({"t", 1}).ok());
    REQUIRE(b.drain(std::chrono::seconds(30)));
    std::uint64_t put_count = 0, start_count = 0;
    for (const auto& s : b.metrics().samples) {
        if (s.name == "PutEventsEntries") CHECK(s.value == events);
        if (s.name == "Invocations") CHECK(s.value == events);
        if (s.name == "InvocationAttempts") CHECK(s.value == events);
        if (s.name == "PutEventsLatency") put_count = s.histogram.count;
        if (s.name == "IngestionToInvocationStartLatency") start_count = s.histogram.count;
    }
    // Each timed event stands for 4: the count is a multiple of 4 near the number of events
    // (a binomial with mean 4000 and standard deviation about 110; these bounds are 9 sigma).
    for (const auto count : {put_count, start_count}) {
        CAPTURE(count);
        CHECK(count % 4 == 0);
        CHECK(count > 3000);
        CHECK(count < 5000);
    }
}
