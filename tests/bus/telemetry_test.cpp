// The telemetry facade alone: hooks that throw are contained in one place.
#include <doctest/doctest.h>

#include "test_support.hpp"

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "switchyard/bus/telemetry.hpp"

using namespace switchyard;
using detail::bus_telemetry;
using test_types::bus_name;

namespace {
class throwing_tracer : public tracer {
public:
    int calls = 0;
    void on_publish(const trace_context&, const publish_info&) override {
        ++calls;
        throw std::runtime_error("tracer down");
    }
};
class recording_sink : public log_sink {
public:
    std::vector<std::string> messages;
    void write(log_level, std::string_view message, std::span<const log_field>) override { messages.emplace_back(message); }
};
}  // namespace

TEST_CASE("a tracer that throws changes nothing") {
    auto t = std::make_shared<throwing_tracer>();
    bus_options options;
    options.tracer = t;
    bus_telemetry telemetry(bus_name, options);
    auto e = make_json_event(envelope{}, "{}");
    const auto trace = telemetry.trace_for_new(std::nullopt);
    REQUIRE(trace.span);  // a tracer is set: a new trace starts
    telemetry.published(*e, trace);  // must not throw
    CHECK(t->calls == 1);
}

TEST_CASE("a dead letter reaches the error handler and the log, even when the handler throws") {
    auto sink = std::make_shared<recording_sink>();
    bus_options options;
    options.log = sink;
    bus_telemetry telemetry(bus_name, options);
    int handled = 0;
    telemetry.set_error_handler([&](const dead_letter&) {
        ++handled;
        throw std::runtime_error("handler down");
    });
    const dead_letter letter{make_json_event(envelope{}, "{}"), "r", "t", "HandlerFailed", "boom", 1, dead_letter_reason::retries_exhausted};
    telemetry.report(letter);
    CHECK(handled == 1);
    REQUIRE(sink->messages.size() == 1);
    CHECK(sink->messages[0] == "delivery failed (and the error handler threw)");
}

TEST_CASE("metrics count only when on") {
    bus_options on, off;
    off.metrics = false;
    bus_telemetry counting(bus_name, on), silent(bus_name, off);
    counting.record_put(false, std::chrono::steady_clock::now(), 1);
    silent.record_put(false, std::chrono::steady_clock::now(), 1);
    CHECK(counting.counters().put_events_failed_entries.value() == 1);
    CHECK(silent.counters().put_events_failed_entries.value() == 0);
    CHECK(silent.latency_weight() == 0);
    CHECK(bus_telemetry::guarded([] { throw 42; }) == false);
}
