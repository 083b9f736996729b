// Scrapes a bus's metrics over a real socket (cpp-httplib on 127.0.0.1, an ephemeral port) and
// checks the text with the strict 0.0.4 parser, and that the counts match what happened.
#include <doctest/doctest.h>

#include <thread>

#include <httplib.h>

#include <switchyard/observe/prometheus.hpp>

#include "observe/prometheus_parser.hpp"
#include "test_support.hpp"

using namespace switchyard;
using test_types::Refund;

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

    httplib::Server server;
    server.Get("/metrics", [&](const httplib::Request&, httplib::Response& r) {
        r.set_content(render_prometheus(b.metrics()), std::string(prometheus_content_type));
    });
    const int port = server.bind_to_any_port("127.0.0.1");
    REQUIRE(port > 0);
    std::thread serving([&] { server.listen_after_bind(); });
    // bind_to_any_port already listens: a connection waits in the backlog until accepted.
    httplib::Client client("127.0.0.1", port);
    const auto response = client.Get("/metrics");
    server.stop();
    serving.join();

    REQUIRE(response);
    CHECK(response->status == 200);
    CHECK(response->get_header_value("Content-Type").find("version=0.0.4") != std::string::npos);
    const std::string& text = response->body;
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
