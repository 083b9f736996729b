// PoolWorkers and PoolQueuedTasks: gauges of the executor pools, rendered with the bus's metrics.
#include <doctest/doctest.h>

#include <switchyard/observe/pool_metrics.hpp>
#include <switchyard/observe/prometheus.hpp>

#include "observe/prometheus_parser.hpp"
#include "test_support.hpp"

using namespace switchyard;

TEST_CASE("pool gauges show an elastic pool's workers and backlog, and render as valid exposition text") {
    elastic_pool pool{{.min_workers = 0, .max_workers = 1}};
    metrics_snapshot idle;
    collect_pool_metrics(idle, "elastic", pool);
    REQUIRE(idle.samples.size() == 2);
    CHECK(idle.samples[0].name == "PoolWorkers");
    CHECK(idle.samples[0].value == 0);  // scaled to zero: reported as zero, not omitted
    CHECK(idle.samples[1].name == "PoolQueuedTasks");
    CHECK(idle.samples[1].value == 0);

    gate hold;
    tally started, finished;
    pool.execute([&] {
        started.add();
        hold.wait();
        finished.add();
    });
    REQUIRE(started.wait_for(1));
    for (int i = 0; i < 3; ++i) pool.execute([&] { finished.add(); });

    bus b{"payments"};
    auto busy = b.metrics();
    collect_pool_metrics(busy, "elastic", pool);
    thread_pool fixed{2};
    collect_pool_metrics(busy, "fixed", fixed);
    const auto text = render_prometheus(busy);
    CHECK_NOTHROW(prometheus_test::parse_exposition(text));
    CHECK(text.find("switchyard_pool_workers{pool=\"elastic\"} 1\n") != std::string::npos);
    CHECK(text.find("switchyard_pool_queued_tasks{pool=\"elastic\"} 3\n") != std::string::npos);
    CHECK(text.find("switchyard_pool_workers{pool=\"fixed\"} 2\n") != std::string::npos);
    CHECK(text.find("switchyard_pool_queued_tasks{pool=\"fixed\"} 0\n") != std::string::npos);

    hold.open();
    REQUIRE(finished.wait_for(4));
    metrics_snapshot after;
    collect_pool_metrics(after, "elastic", pool);
    CHECK(after.samples[1].value == 0);
}
