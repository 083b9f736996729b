// Metric primitives: counter and gauge arithmetic, the histogram's fixed buckets (inclusive upper
// bounds, clamping, +Inf), cumulative snapshots, the catalog of EventBridge names, and concurrent
// recording while a reader snapshots. Labelled `concurrency`, so CI also runs it under TSan.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <switchyard/observe/log.hpp>
#include <switchyard/observe/metrics.hpp>
#include <switchyard/observe/prometheus.hpp>
#include <switchyard/observe/tracer.hpp>
// The whole library in the same translation unit: observe/ must not collide with anything in it.
#include <switchyard/switchyard.hpp>

namespace {

using namespace std::chrono_literals;
using switchyard::counter;
using switchyard::gauge;
using switchyard::histogram;
using switchyard::metric_type;
namespace names = switchyard::metric_names;

TEST_CASE("counter and gauge") {
    counter c;
    CHECK(c.value() == 0);
    c.add();
    c.add(41);
    CHECK(c.value() == 42);

    gauge g;
    CHECK(g.value() == 0);
    g.set(10);
    g.add(5);
    g.sub(20);
    CHECK(g.value() == -5);
}

TEST_CASE("histogram: bucket bounds are inclusive and documented") {
    CHECK(histogram::bounds_ns.front() == 1'000);            // 1 µs
    CHECK(histogram::bounds_ns.back() == 10'000'000'000);    // 10 s
    for (std::size_t i = 1; i < histogram::bounds_ns.size(); ++i) CHECK(histogram::bounds_ns[i - 1] < histogram::bounds_ns[i]);

    histogram h;
    h.record_ns(0);
    h.record_ns(1'000);  // exactly on the first bound: le="1e-06"
    h.record_ns(1'001);  // just above: the 2.5 µs bucket
    h.record(3ms);
    h.record(-5ns);  // clamped to zero
    h.record(11s);   // only +Inf
    const auto s = h.snapshot();
    REQUIRE(s.upper_bounds.size() == histogram::bounds_ns.size());
    REQUIRE(s.cumulative_counts.size() == histogram::bounds_ns.size());
    CHECK(s.upper_bounds[0] == doctest::Approx(1e-6));
    CHECK(s.upper_bounds.back() == doctest::Approx(10.0));
    CHECK(s.cumulative_counts[0] == 3);  // 0, 1000, clamped -5
    CHECK(s.cumulative_counts[1] == 4);  // + 1001
    CHECK(s.cumulative_counts[11] == 5);  // 5 ms bucket holds 3 ms
    CHECK(s.cumulative_counts[10] == 4);  // 2.5 ms does not
    CHECK(s.cumulative_counts.back() == 5);
    CHECK(s.count == 6);
    CHECK(h.count() == 6);
    CHECK(h.sum_ns() == 1'000 + 1'001 + 3'000'000 + 11'000'000'000ull);
    CHECK(s.sum == doctest::Approx(11.003002001));
    for (std::size_t i = 1; i < s.cumulative_counts.size(); ++i) CHECK(s.cumulative_counts[i - 1] <= s.cumulative_counts[i]);
}

TEST_CASE("histogram: an empty one reports zeros, not nothing") {
    const auto s = histogram{}.snapshot();
    CHECK(s.upper_bounds.size() == histogram::bounds_ns.size());
    for (const auto c : s.cumulative_counts) CHECK(c == 0);
    CHECK(s.count == 0);
    CHECK(s.sum == 0.0);
}

TEST_CASE("catalog: EventBridge's names, each once, with help and the right type") {
    const std::vector<std::string_view> counters{names::matched_events,           names::triggered_rules,
                                                 names::invocations,              names::failed_invocations,
                                                 names::invocation_attempts,      names::retry_invocation_attempts,
                                                 names::invocations_sent_to_dlq,  names::throttled_rules,
                                                 names::deduplicated_events,      names::put_events_entries,
                                                 names::put_events_failed_entries};
    const std::vector<std::string_view> histograms{names::ingestion_to_invocation_start_latency,
                                                   names::ingestion_to_invocation_success_latency, names::put_events_latency};
    for (const auto n : counters) {
        const auto* info = switchyard::find_metric(n);
        REQUIRE_MESSAGE(info, n);
        CHECK(info->type == metric_type::counter);
    }
    for (const auto n : histograms) {
        const auto* info = switchyard::find_metric(n);
        REQUIRE_MESSAGE(info, n);
        CHECK(info->type == metric_type::histogram);
    }
    CHECK(switchyard::find_metric(names::queue_depth)->type == metric_type::gauge);
    CHECK(switchyard::find_metric(names::pool_workers)->type == metric_type::gauge);
    CHECK(names::matched_events == "MatchedEvents");
    CHECK(names::invocations_sent_to_dlq == "InvocationsSentToDlq");
    CHECK(switchyard::find_metric("NoSuchMetric") == nullptr);

    std::set<std::string_view> seen;
    for (const auto& m : switchyard::metric_catalog) {
        CHECK(seen.insert(m.name).second);
        CHECK(!m.help.empty());
    }
    constexpr const switchyard::metric_info* at_compile_time = switchyard::find_metric("MatchedEvents");
    CHECK(at_compile_time != nullptr);  // (a static_assert here trips GCC 12's -fsanitize=null)
}

TEST_CASE("sample builders fill help from the catalog") {
    const auto c = switchyard::counter_sample(names::invocations, {{"bus", "b"}, {"rule", "r"}, {"target", "t"}}, 0);
    CHECK(c.name == "Invocations");
    CHECK(c.type == metric_type::counter);
    CHECK(c.help == switchyard::find_metric(names::invocations)->help);
    CHECK(c.value == 0.0);
    CHECK(c.labels.size() == 3);

    const auto g = switchyard::gauge_sample("CustomGauge", {}, 2.5);
    CHECK(g.help.empty());
    CHECK(g.value == 2.5);

    histogram h;
    h.record(2us);
    const auto hs = switchyard::histogram_sample(names::put_events_latency, {{"bus", "b"}}, h.snapshot());
    CHECK(hs.type == metric_type::histogram);
    CHECK(hs.histogram.count == 1);
}

TEST_CASE("bundles: every metric of a bus, rule and target appears, zeros included") {
    switchyard::bus_metrics bus;
    switchyard::rule_metrics rule;
    switchyard::target_metrics target;
    bus.put_events_entries.add(3);
    target.failed_invocations.add();
    target.failed_attempts.add(2);
    target.ingestion_to_invocation_start_latency.record(5us);
    switchyard::metrics_snapshot s;
    bus.collect(s, {{"bus", "b"}});
    rule.collect(s, {{"bus", "b"}, {"rule", "r"}});
    target.collect(s, {{"bus", "b"}, {"rule", "r"}, {"target", "t"}}, /*delivered=*/4);

    std::set<std::string> reported;
    for (const auto& smp : s.samples) {
        CHECK(reported.insert(smp.name).second);
        const auto* info = switchyard::find_metric(smp.name);
        REQUIRE_MESSAGE(info, smp.name);
        CHECK(info->type == smp.type);
        CHECK(smp.help == info->help);
        if (smp.name == names::put_events_entries) CHECK(smp.value == 3);
        else if (smp.name == names::invocations) CHECK(smp.value == 5);  // 4 delivered + 1 failed for good
        else if (smp.name == names::failed_invocations) CHECK(smp.value == 1);
        else if (smp.name == names::invocation_attempts) CHECK(smp.value == 6);  // 4 successful + 2 failed attempts
        else if (smp.name == names::ingestion_to_invocation_start_latency) CHECK(smp.histogram.count == 1);
        else if (smp.type == metric_type::histogram) CHECK(smp.histogram.count == 0);
        else CHECK(smp.value == 0);
    }
    // Every counter and histogram of the catalog; the gauges come from queues and pools.
    for (const auto& m : switchyard::metric_catalog) CHECK_MESSAGE(reported.count(std::string(m.name)) == (m.type != metric_type::gauge), m.name);
}

TEST_CASE("concurrent recording: nothing lost, every snapshot consistent") {
    constexpr int threads = 4;
    constexpr int per_thread = 20'000;
    counter c;
    gauge g;
    histogram h;
    std::atomic<int> running{threads};
    std::vector<std::thread> writers;
    for (int t = 0; t < threads; ++t)
        writers.emplace_back([&, t] {
            for (int i = 0; i < per_thread; ++i) {
                c.add();
                g.add();
                h.record_ns(static_cast<std::uint64_t>((i * 7919 + t) % 20'000'000'000LL));
                g.sub();
            }
            running.fetch_sub(1);
        });

    // Snapshots taken while writers run must still be well-formed.
    std::uint64_t last_count = 0;
    int snapshots = 0;
    while (running.load() > 0 || snapshots == 0) {
        const auto s = h.snapshot();
        for (std::size_t i = 1; i < s.cumulative_counts.size(); ++i) REQUIRE(s.cumulative_counts[i - 1] <= s.cumulative_counts[i]);
        REQUIRE(s.cumulative_counts.back() <= s.count);
        REQUIRE(s.count >= last_count);
        last_count = s.count;
        ++snapshots;
    }
    for (auto& w : writers) w.join();

    CHECK(c.value() == threads * per_thread);
    CHECK(g.value() == 0);
    CHECK(h.count() == threads * per_thread);
    CHECK(h.snapshot().count == threads * per_thread);
}

}  // namespace

TEST_CASE("metrics_snapshot::find looks a sample up by name and a subset of its labels") {
    switchyard::metrics_snapshot s;
    s.samples.push_back(switchyard::counter_sample("Invocations", {{"bus", "b"}, {"rule", "r"}, {"target", "t1"}}, 3));
    s.samples.push_back(switchyard::counter_sample("Invocations", {{"bus", "b"}, {"rule", "r"}, {"target", "t2"}}, 5));
    s.samples.push_back(switchyard::gauge_sample("QueueDepth", {{"bus", "b"}, {"rule", "r"}, {"target", "t2"}}, 1));
    REQUIRE(s.find("Invocations", {{"target", "t2"}, {"rule", "r"}}) != nullptr);
    CHECK(s.find("Invocations", {{"target", "t2"}, {"rule", "r"}})->value == 5);
    CHECK(s.find("Invocations")->value == 3);  // no labels: the first of that name
    CHECK(s.find("Invocations", {{"target", "t3"}}) == nullptr);
    CHECK(s.find("Invocations", {{"target", "t1"}, {"bus", "other"}}) == nullptr);  // every pair must match
    CHECK(s.find("NoSuchMetric") == nullptr);
}
