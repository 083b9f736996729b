// Gauges for the executor pools an application runs (PoolWorkers, PoolQueuedTasks), added to a
// metrics snapshot so one /metrics page shows the bus and the workers that serve it. Pools know
// nothing of metrics (executor/ is a lower layer), so the application names each pool here.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "switchyard/executor/elastic_pool.hpp"
#include "switchyard/executor/thread_pool.hpp"
#include "switchyard/observe/metrics.hpp"

namespace switchyard {

/// The number of worker threads (the PoolWorkers gauge).
inline std::size_t pool_workers(const thread_pool& pool) { return pool.size(); }
/// The number of worker threads running now (the PoolWorkers gauge).
inline std::size_t pool_workers(const elastic_pool& pool) { return pool.workers(); }

/// Appends the pool's gauges, labelled pool="<name>", to `out` (e.g. the bus's snapshot).
/// Works for thread_pool, elastic_pool, and any pool for which pool_workers(pool) and
/// pool.backlog() exist.
template <class Pool> void collect_pool_metrics(metrics_snapshot& out, std::string_view name, const Pool& pool) {
    const metric_labels labels{{"pool", std::string(name)}};
    out.samples.push_back(gauge_sample(metric_names::pool_workers, labels, static_cast<double>(pool_workers(pool))));
    out.samples.push_back(gauge_sample(metric_names::pool_queued_tasks, labels, static_cast<double>(pool.backlog())));
}

}  // namespace switchyard
