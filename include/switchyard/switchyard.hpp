// The umbrella header: every public header of switchyard's core, each once. The engine
// (include/switchyard/bus/) is not public: it lives in libswitchyard (or is pulled in by bus.hpp
// under SWITCHYARD_HEADER_ONLY). Components (switchyard/sqlite/...) have their own headers.
#pragma once

#include "switchyard/archive.hpp"
#include "switchyard/bus.hpp"
#include "switchyard/bus_options.hpp"
#include "switchyard/config.hpp"
#include "switchyard/dedup.hpp"
#include "switchyard/delivery/dead_letter.hpp"
#include "switchyard/delivery/ordering_key.hpp"
#include "switchyard/delivery/outcome.hpp"
#include "switchyard/delivery/retry_policy.hpp"
#include "switchyard/delivery/timer_service.hpp"
#include "switchyard/durability/archive_store.hpp"
#include "switchyard/durability/idempotency.hpp"
#include "switchyard/durability/journal.hpp"
#include "switchyard/error.hpp"
#include "switchyard/event.hpp"
#include "switchyard/executor/elastic_pool.hpp"
#include "switchyard/executor/executor.hpp"
#include "switchyard/executor/inline_executor.hpp"
#include "switchyard/executor/keyed_strand.hpp"
#include "switchyard/executor/manual_executor.hpp"
#include "switchyard/executor/thread_pool.hpp"
#include "switchyard/fields.hpp"
#include "switchyard/observe/log.hpp"
#include "switchyard/observe/metrics.hpp"
#include "switchyard/observe/pool_metrics.hpp"
#include "switchyard/observe/prometheus.hpp"
#include "switchyard/observe/tracer.hpp"
#include "switchyard/pattern/explain.hpp"
#include "switchyard/pattern/flatten.hpp"
#include "switchyard/pattern/matcher.hpp"
#include "switchyard/pattern/pattern.hpp"
#include "switchyard/producer.hpp"
#include "switchyard/publish.hpp"
#include "switchyard/rule.hpp"
#include "switchyard/target.hpp"
#include "switchyard/trace_context.hpp"
#include "switchyard/transform.hpp"
#include "switchyard/transform/input_spec.hpp"
#include "switchyard/version.hpp"

/// @namespace switchyard
/// switchyard's public API: the bus, typed events and producers, rules and targets, executors,
/// and the observability (log, metrics, tracing) and durability (journal, archive) hooks.
/// Names in switchyard::detail are the engine's internals, not API.
