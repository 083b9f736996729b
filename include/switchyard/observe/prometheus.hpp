// Renders a metrics snapshot in the Prometheus text exposition format, version 0.0.4 (the body of
// a `/metrics` response with Content-Type `text/plain; version=0.0.4; charset=utf-8`), so any
// Prometheus-compatible scraper reads switchyard's metrics without a client library.
//
// Name mapping: `switchyard_` + the snake_case form of the metric's name (a word boundary before
// each capital that follows a lower-case letter or digit, or that starts a word after an acronym;
// any character outside [a-zA-Z0-9_:] becomes `_`), then the unit or type suffix Prometheus
// expects: counters end in `_total`, histograms (recorded in seconds) in `_seconds`, gauges have
// none. So MatchedEvents -> switchyard_matched_events_total, InvocationsSentToDlq ->
// switchyard_invocations_sent_to_dlq_total, PutEventsLatency -> switchyard_put_events_latency_seconds
// (with _bucket, _sum and _count series), QueueDepth -> switchyard_queue_depth.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "switchyard/config.hpp"
#include "switchyard/observe/metrics.hpp"

namespace switchyard {

/// The Content-Type of a `/metrics` response whose body render_prometheus() wrote.
inline constexpr std::string_view prometheus_content_type = "text/plain; version=0.0.4; charset=utf-8";

/// The exposition name of a metric: `switchyard_` + the snake_case form of `name`, then
/// `_total` for counters and `_seconds` for histograms (MatchedEvents ->
/// switchyard_matched_events_total, PutEventsLatency -> switchyard_put_events_latency_seconds,
/// QueueDepth -> switchyard_queue_depth).
SWITCHYARD_API std::string prometheus_name(std::string_view name, metric_type type);

/// A sample value as Prometheus (Go's ParseFloat) reads it, whatever the C locale: shortest
/// round-trip decimal, and +Inf, -Inf, NaN spelled its way.
SWITCHYARD_API std::string prometheus_value(double v);

/// Renders every sample in the Prometheus text exposition format 0.0.4, grouped into one family
/// per exposition name (in the order each family first appears), each family preceded by its
/// `# HELP` and `# TYPE` lines. Throws switchyard::error when two samples of one family disagree
/// on their type, or a histogram's bounds and counts differ in length. Duplicate label sets are
/// the caller's to avoid.
SWITCHYARD_API std::string render_prometheus(const metrics_snapshot& snapshot);

}  // namespace switchyard

#ifdef SWITCHYARD_HEADER_ONLY
#include "switchyard/observe/prometheus-inl.hpp"
#endif
