// The Prometheus text exposition (0.0.4): name mapping, value formatting, escaping, grouping into
// families, and histograms — every rendering checked by a strict parser of the 0.0.4 grammar
// written here (promtool is not available to the tests), which itself is checked to reject
// malformed input.
#include <doctest/doctest.h>

#include <clocale>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include <switchyard/error.hpp>
#include <switchyard/observe/metrics.hpp>
#include <switchyard/observe/prometheus.hpp>

namespace {

using namespace std::chrono_literals;
using switchyard::metric_type;
using switchyard::metrics_snapshot;
using switchyard::render_prometheus;
namespace names = switchyard::metric_names;

}  // namespace

#include "observe/prometheus_parser.hpp"

namespace {
using namespace prometheus_test;

TEST_CASE("the test's parser rejects what 0.0.4 does not allow") {
    const auto ok = "# HELP a_total x\n# TYPE a_total counter\na_total{bus=\"b\"} 1\n";
    CHECK_NOTHROW(parse_exposition(ok));
    const std::vector<std::string> bad{
        "# TYPE a_total counter\na_total 1",                                       // no final line feed
        "a_total 1\n",                                                              // no TYPE
        "# TYPE a_total counter\n# TYPE a_total counter\na_total 1\n",              // two TYPEs
        "# TYPE a_total counter\na_total 1\n# HELP a_total late\n",                 // HELP after samples
        "# TYPE 1a gauge\n1a 1\n",                                                  // bad name
        "# TYPE a gauge\na{1b=\"x\"} 1\n",                                          // bad label name
        "# TYPE a gauge\na{b=x} 1\n",                                               // unquoted value
        "# TYPE a gauge\na{b=\"x\\t\"} 1\n",                                        // bad escape
        "# TYPE a gauge\na{b=\"x\",b=\"y\"} 1\n",                                   // label twice
        "# TYPE a gauge\na 1,5\n",                                                  // comma decimal
        "# TYPE a gauge\na inf\n",                                                  // Go spells it Inf
        "# TYPE a gauge\na  1\n",                                                   // two spaces
        "# TYPE a gauge\na 1\na 2\n",                                               // duplicate series
        "# TYPE a gauge\n# TYPE b gauge\na 1\nb 1\na{x=\"1\"} 1\n",                 // split family
        "# TYPE a gauge\n\na 1\n",                                                  // empty line
        "# TYPE a counter\na -1\n",                                                 // negative counter
        "# TYPE a gauge\n# random comment\na 1\n",                                  // stray comment
        "# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n",  // not cumulative
        "# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_sum 1\nh_count 1\n",           // no +Inf
        "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 1\n",        // +Inf != count
        "# TYPE h histogram\nh_bucket{le=\"2\"} 1\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n",
    };
    for (const auto& text : bad) CHECK_THROWS_AS_MESSAGE(parse_exposition(text), std::runtime_error, text);
}

// ---- the renderer -------------------------------------------------------------------------------

TEST_CASE("names: switchyard_ prefix, snake_case, _total for counters, _seconds for histograms") {
    using switchyard::prometheus_name;
    CHECK(prometheus_name(names::matched_events, metric_type::counter) == "switchyard_matched_events_total");
    CHECK(prometheus_name(names::invocations_sent_to_dlq, metric_type::counter) == "switchyard_invocations_sent_to_dlq_total");
    CHECK(prometheus_name(names::put_events_failed_entries, metric_type::counter) == "switchyard_put_events_failed_entries_total");
    CHECK(prometheus_name(names::ingestion_to_invocation_start_latency, metric_type::histogram) ==
          "switchyard_ingestion_to_invocation_start_latency_seconds");
    CHECK(prometheus_name(names::put_events_latency, metric_type::histogram) == "switchyard_put_events_latency_seconds");
    CHECK(prometheus_name(names::queue_depth, metric_type::gauge) == "switchyard_queue_depth");
    CHECK(prometheus_name("HTTPRequests", metric_type::counter) == "switchyard_http_requests_total");
    CHECK(prometheus_name("already_snake_total", metric_type::counter) == "switchyard_already_snake_total");
    CHECK(prometheus_name("switchyard_x", metric_type::gauge) == "switchyard_x");
    CHECK(prometheus_name("odd name-1", metric_type::gauge) == "switchyard_odd_name_1");
    CHECK(prometheus_name("9lives", metric_type::gauge) == "switchyard_9lives");
    for (const auto& m : switchyard::metric_catalog) CHECK(valid_metric_name(prometheus_name(m.name, m.type)));
}

TEST_CASE("values: what Go's ParseFloat reads, whatever the locale") {
    using switchyard::prometheus_value;
    CHECK(prometheus_value(0) == "0");
    CHECK(prometheus_value(42) == "42");
    CHECK(prometheus_value(0.5) == "0.5");
    CHECK(prometheus_value(1e-6) == "1e-06");
    CHECK(prometheus_value(std::numeric_limits<double>::infinity()) == "+Inf");
    CHECK(prometheus_value(-std::numeric_limits<double>::infinity()) == "-Inf");
    CHECK(prometheus_value(std::numeric_limits<double>::quiet_NaN()) == "NaN");
    // A locale with a decimal comma, if the machine has one, must change nothing.
    const std::string previous = std::setlocale(LC_ALL, nullptr);
    for (const char* locale : {"de_DE.UTF-8", "fr_FR.UTF-8", "de_DE"})
        if (std::setlocale(LC_ALL, locale)) break;
    CHECK(prometheus_value(2.5) == "2.5");
    CHECK(prometheus_value(1234567.125) == "1234567.125");
    std::setlocale(LC_ALL, previous.c_str());
    for (const double v : {0.0, 1.0, 2.5, 1e-6, 1e20, 123456789.0, 0.1, 10.0})
        CHECK(parse_value(prometheus_value(v), 0) == v);
}

TEST_CASE("a small snapshot renders exactly") {
    metrics_snapshot s;
    s.samples.push_back(switchyard::counter_sample(names::matched_events, {{"bus", "payments"}}, 3));
    s.samples.push_back(switchyard::gauge_sample(names::queue_depth, {{"bus", "payments"}, {"rule", "r"}, {"target", "t"}}, 0));
    s.samples.push_back({"Bare", "Has \\ and\nnewline", metric_type::gauge, {}, 1.5, {}});
    switchyard::histogram_data h{{0.001, 0.01}, {1, 2}, 0.0125, 3};
    s.samples.push_back(switchyard::histogram_sample(names::put_events_latency, {{"bus", "payments"}}, h));
    const std::string expected =
        "# HELP switchyard_matched_events_total Events that matched at least one rule.\n"
        "# TYPE switchyard_matched_events_total counter\n"
        "switchyard_matched_events_total{bus=\"payments\"} 3\n"
        "# HELP switchyard_queue_depth Deliveries accepted by a target and not yet ended.\n"
        "# TYPE switchyard_queue_depth gauge\n"
        "switchyard_queue_depth{bus=\"payments\",rule=\"r\",target=\"t\"} 0\n"
        "# HELP switchyard_bare Has \\\\ and\\nnewline\n"
        "# TYPE switchyard_bare gauge\n"
        "switchyard_bare 1.5\n"
        "# HELP switchyard_put_events_latency_seconds Time a put_events or publish call took, in seconds.\n"
        "# TYPE switchyard_put_events_latency_seconds histogram\n"
        "switchyard_put_events_latency_seconds_bucket{bus=\"payments\",le=\"0.001\"} 1\n"
        "switchyard_put_events_latency_seconds_bucket{bus=\"payments\",le=\"0.01\"} 2\n"
        "switchyard_put_events_latency_seconds_bucket{bus=\"payments\",le=\"+Inf\"} 3\n"
        "switchyard_put_events_latency_seconds_sum{bus=\"payments\"} 0.0125\n"
        "switchyard_put_events_latency_seconds_count{bus=\"payments\"} 3\n";
    const auto text = render_prometheus(s);
    CHECK(text == expected);
    const auto parsed = parse_exposition(text);
    CHECK(parsed.family("switchyard_bare").help == "Has \\ and\nnewline");
    CHECK(render_prometheus(metrics_snapshot{}).empty());
}

// Every metric the bus will report, for two buses, two rules and two targets, all zero but one.
metrics_snapshot full_snapshot() {
    metrics_snapshot s;
    switchyard::histogram latency;
    latency.record(700ns);
    latency.record(3ms);
    latency.record(42s);
    for (const char* bus : {"payments", "orders"}) {
        for (const auto& m : switchyard::metric_catalog) {
            const bool per_target = m.name != names::put_events_entries && m.name != names::put_events_failed_entries &&
                                    m.name != names::put_events_latency && m.name != names::matched_events &&
                                    m.name != names::deduplicated_events && m.name != names::pool_workers &&
                                    m.name != names::pool_queued_tasks;
            std::vector<switchyard::metric_labels> label_sets;
            if (per_target) {
                for (const char* rule : {"r1", "r2"})
                    for (const char* target : {"t1", "t2"}) label_sets.push_back({{"bus", bus}, {"rule", rule}, {"target", target}});
            } else if (m.name == names::pool_workers || m.name == names::pool_queued_tasks) {
                label_sets.push_back({{"bus", bus}, {"pool", "workers"}});
            } else {
                label_sets.push_back({{"bus", bus}});
            }
            for (auto& labels : label_sets) {
                switch (m.type) {
                    case metric_type::counter:
                        s.samples.push_back(switchyard::counter_sample(m.name, std::move(labels), m.name == names::invocations ? 7 : 0));
                        break;
                    case metric_type::gauge: s.samples.push_back(switchyard::gauge_sample(m.name, std::move(labels), 0)); break;
                    case metric_type::histogram:
                        s.samples.push_back(switchyard::histogram_sample(m.name, std::move(labels), latency.snapshot()));
                        break;
                }
            }
        }
    }
    return s;
}

TEST_CASE("the full catalog parses, zeros included, one family per name") {
    const auto snapshot = full_snapshot();
    const auto parsed = parse_exposition(render_prometheus(snapshot));
    CHECK(parsed.order.size() == switchyard::metric_catalog.size());
    for (const auto& m : switchyard::metric_catalog) {
        const auto& f = parsed.family(switchyard::prometheus_name(m.name, m.type));
        CHECK(f.has_help);
        CHECK(f.help == m.help);
        CHECK(f.type == (m.type == metric_type::counter ? "counter" : m.type == metric_type::gauge ? "gauge" : "histogram"));
        CHECK(!f.samples.empty());
    }
    CHECK(parsed.value("switchyard_throttled_rules_total", "switchyard_throttled_rules_total",
                       {{"bus", "orders"}, {"rule", "r2"}, {"target", "t1"}}) == 0);
    CHECK(parsed.value("switchyard_invocations_total", "switchyard_invocations_total",
                       {{"bus", "payments"}, {"rule", "r1"}, {"target", "t2"}}) == 7);
    const std::string h = "switchyard_put_events_latency_seconds";
    CHECK(parsed.value(h, h + "_bucket", {{"bus", "orders"}, {"le", "1e-06"}}) == 1);
    CHECK(parsed.value(h, h + "_bucket", {{"bus", "orders"}, {"le", "0.005"}}) == 2);
    CHECK(parsed.value(h, h + "_bucket", {{"bus", "orders"}, {"le", "10"}}) == 2);
    CHECK(parsed.value(h, h + "_bucket", {{"bus", "orders"}, {"le", "+Inf"}}) == 3);
    CHECK(parsed.value(h, h + "_count", {{"bus", "orders"}}) == 3);
    CHECK(parsed.value(h, h + "_sum", {{"bus", "orders"}}) == doctest::Approx(42.0030007));
    // One bucket line per bound, plus +Inf, per series.
    std::size_t buckets = 0;
    for (const auto& smp : parsed.family(h).samples) buckets += smp.name == h + "_bucket";
    CHECK(buckets == 2 * (switchyard::histogram::bounds_ns.size() + 1));
}

TEST_CASE("the bundles of two buses render as one family per metric") {
    switchyard::bus_metrics bus_a, bus_b;
    switchyard::rule_metrics rule;
    switchyard::target_metrics t1, t2;
    bus_a.put_events_latency.record(20us);
    t2.ingestion_to_invocation_success_latency.record(2s);
    metrics_snapshot s;
    bus_a.collect(s, {{"bus", "a"}});
    rule.collect(s, {{"bus", "a"}, {"rule", "r"}});
    t1.collect(s, {{"bus", "a"}, {"rule", "r"}, {"target", "t1"}}, 0);
    t2.collect(s, {{"bus", "a"}, {"rule", "r"}, {"target", "t2"}}, 2);
    bus_b.collect(s, {{"bus", "b"}});
    const auto parsed = parse_exposition(render_prometheus(s));
    CHECK(parsed.order.size() == switchyard::metric_catalog.size() - 4);  // all but the four gauges
    CHECK(parsed.family("switchyard_put_events_entries_total").samples.size() == 2);
    CHECK(parsed.value("switchyard_invocations_total", "switchyard_invocations_total",
                       {{"bus", "a"}, {"rule", "r"}, {"target", "t2"}}) == 2);
    const std::string h = "switchyard_ingestion_to_invocation_success_latency_seconds";
    CHECK(parsed.value(h, h + "_bucket", {{"bus", "a"}, {"rule", "r"}, {"target", "t2"}, {"le", "1"}}) == 0);
    CHECK(parsed.value(h, h + "_bucket", {{"bus", "a"}, {"rule", "r"}, {"target", "t2"}, {"le", "2.5"}}) == 1);
    CHECK(parsed.value(h, h + "_count", {{"bus", "a"}, {"rule", "r"}, {"target", "t1"}}) == 0);
}

TEST_CASE("samples of one family are grouped, whatever order the snapshot has") {
    metrics_snapshot s;
    s.samples.push_back(switchyard::counter_sample(names::invocations, {{"bus", "a"}}, 1));
    s.samples.push_back(switchyard::counter_sample(names::matched_events, {{"bus", "a"}}, 2));
    s.samples.push_back(switchyard::counter_sample(names::invocations, {{"bus", "b"}}, 3));
    const auto parsed = parse_exposition(render_prometheus(s));
    REQUIRE(parsed.order.size() == 2);
    CHECK(parsed.order[0] == "switchyard_invocations_total");
    CHECK(parsed.family("switchyard_invocations_total").samples.size() == 2);
    CHECK(parsed.value("switchyard_invocations_total", "switchyard_invocations_total", {{"bus", "b"}}) == 3);
}

TEST_CASE("label values are escaped and read back unchanged") {
    const std::string nasty = "back\\slash \"quoted\"\nnew line, comma} brace=equals ünïcode";
    metrics_snapshot s;
    s.samples.push_back(switchyard::counter_sample(names::invocations, {{"bus", nasty}, {"rule", ""}, {"target", "t"}}, 1));
    const auto text = render_prometheus(s);
    CHECK(text.find("bus=\"back\\\\slash \\\"quoted\\\"\\nnew line, comma} brace=equals ünïcode\"") != std::string::npos);
    const auto parsed = parse_exposition(text);
    CHECK(parsed.value("switchyard_invocations_total", "switchyard_invocations_total", {{"bus", nasty}, {"rule", ""}, {"target", "t"}}) ==
          1);
}

TEST_CASE("a histogram with no observations still has every bucket, at zero") {
    metrics_snapshot s;
    s.samples.push_back(switchyard::histogram_sample(names::ingestion_to_invocation_success_latency, {{"bus", "b"}},
                                                     switchyard::histogram{}.snapshot()));
    const auto parsed = parse_exposition(render_prometheus(s));
    const auto& f = parsed.family("switchyard_ingestion_to_invocation_success_latency_seconds");
    CHECK(f.samples.size() == switchyard::histogram::bounds_ns.size() + 3);
    for (const auto& smp : f.samples) CHECK(smp.value == 0);
}

TEST_CASE("a snapshot the renderer cannot express is an error, not bad text") {
    metrics_snapshot conflict;
    conflict.samples.push_back(switchyard::counter_sample("Thing", {}, 1));
    conflict.samples.push_back({"thing_total", "", metric_type::gauge, {}, 1, {}});
    conflict.samples.push_back({"Thing", "", metric_type::gauge, {}, 1, {}});
    CHECK_THROWS_AS(render_prometheus(conflict), switchyard::error);

    metrics_snapshot reserved;
    reserved.samples.push_back(switchyard::histogram_sample(names::put_events_latency, {{"le", "x"}}, {}));
    CHECK_THROWS_AS(render_prometheus(reserved), switchyard::error);
    reserved.samples[0].labels = {{"bus", "b"}, {"Le", "x"}};  // would be exposed as le too
    CHECK_THROWS_AS(render_prometheus(reserved), switchyard::error);

    metrics_snapshot ragged;
    ragged.samples.push_back({"H", "", metric_type::histogram, {}, 0, {{1.0, 2.0}, {1}, 0, 1}});
    CHECK_THROWS_AS(render_prometheus(ragged), switchyard::error);
}

}  // namespace
