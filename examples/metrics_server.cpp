// Serving switchyard's metrics to Prometheus: a bus processes some transactions, and an HTTP
// server on 127.0.0.1 exposes bus.metrics() at /metrics in the text exposition format.
// Run it:  ./metrics_server          serves on an ephemeral port, scrapes itself once, exits 0
//          ./metrics_server 9464     serves on 127.0.0.1:9464 until interrupted
// (cpp-httplib is an example-only dependency: Debian's libcpp-httplib-dev.)
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include <httplib.h>

#include <switchyard/observe/pool_metrics.hpp>
#include <switchyard/observe/prometheus.hpp>
#include <switchyard/switchyard.hpp>

struct CreditCardTransaction {
    std::string transactionId;
    double total = 0.0;
};
SWITCHYARD_EVENT(CreditCardTransaction, "CREDIT_CARD_TRANSACTION", transactionId, total)

int main(int argc, char** argv) {
    switchyard::thread_pool workers{2};
    // The declines below are expected: keep them out of the log (they still count as failures).
    switchyard::bus bus{"payments", switchyard::bus_options{.log = std::make_shared<switchyard::null_sink>()}};
    bus.set_error_handler([](const switchyard::delivery_failure&) {});
    bus.add_rule({.name = "all",
                  .pattern = R"({"detail-type": ["CREDIT_CARD_TRANSACTION"]})",
                  .targets = {switchyard::handler<CreditCardTransaction>(
                                  "processor",
                                  [](const switchyard::event<CreditCardTransaction>& e) {
                                      if (e.detail.total > 9000) throw switchyard::permanent_error("declined");
                                  },
                                  workers)
                                  .retry(switchyard::retry_policy::none())}});
    auto producer = bus.producer<CreditCardTransaction>("com.example.transaction");
    for (int i = 0; i < 100; ++i) {
        std::string id = "t";  // built with append: GCC 12 -O3 misreports "literal" + string (-Wrestrict)
        id.append(std::to_string(i));
        if (const auto result = producer.publish({std::move(id), i * 100.0}); !result)
            std::fprintf(stderr, "publish refused: %s\n", result.error_message.c_str());
    }
    bus.drain();

    httplib::Server server;
    server.Get("/metrics", [&](const httplib::Request&, httplib::Response& response) {
        auto snapshot = bus.metrics();
        switchyard::collect_pool_metrics(snapshot, "workers", workers);  // PoolWorkers, PoolQueuedTasks
        response.set_content(switchyard::render_prometheus(snapshot), std::string(switchyard::prometheus_content_type));
    });

    if (argc > 1) {
        const int port = std::atoi(argv[1]);
        std::printf("serving http://127.0.0.1:%d/metrics\n", port);
        return server.listen("127.0.0.1", port) ? 0 : 1;
    }

    const int port = server.bind_to_any_port("127.0.0.1");
    if (port <= 0) return 1;
    std::thread serving([&] { server.listen_after_bind(); });
    // bind_to_any_port already listens: a connection waits in the backlog until accepted.
    httplib::Client client("127.0.0.1", port);
    const auto response = client.Get("/metrics");
    server.stop();
    serving.join();
    if (!response || response->status != 200) {
        std::fprintf(stderr, "scrape failed\n");
        return 1;
    }
    std::printf("%s", response->body.c_str());
    const bool ok = response->body.find("switchyard_invocations_total{bus=\"payments\",rule=\"all\",target=\"processor\"} 100") !=
                    std::string::npos;
    return ok ? 0 : 1;
}
