// Serving switchyard's metrics to Prometheus: a bus processes some transactions, and
// switchyard::http's server on 127.0.0.1 exposes bus.metrics() at /metrics in the text exposition
// format (beside /health, and PutEvents for producers outside the process).
// Run it:  ./metrics_server          serves on a free port, scrapes itself once (libcurl), exits 0
//          ./metrics_server 9464     serves on 127.0.0.1:9464 until interrupted
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <curl/curl.h>
#include <unistd.h>

#include <switchyard/http/ingress.hpp>
#include <switchyard/observe/pool_metrics.hpp>
#include <switchyard/observe/prometheus.hpp>
#include <switchyard/switchyard.hpp>

namespace {
volatile std::sig_atomic_t interrupted = 0;

// GET url into `body`; the HTTP status, or 0 when the request failed.
long get(const std::string& url, std::string& body) {
    CURL* curl = curl_easy_init();
    if (!curl) return 0;
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, +[](char* data, size_t, size_t n, void* out) {
        static_cast<std::string*>(out)->append(data, n);
        return n;
    });
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
    long status = 0;
    if (curl_easy_perform(curl) == CURLE_OK) curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(curl);
    return status;
}
}  // namespace

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

    switchyard::ingress_options options;
    options.metrics = [&] {
        auto snapshot = bus.metrics();
        switchyard::collect_pool_metrics(snapshot, "workers", workers);  // PoolWorkers, PoolQueuedTasks
        return switchyard::render_prometheus(snapshot);
    };
    if (argc > 1) options.port = static_cast<std::uint16_t>(std::atoi(argv[1]));
    switchyard::http_ingress server{options};
    server.add_bus(bus);
    server.start();

    if (argc > 1) {
        std::printf("serving http://127.0.0.1:%u/metrics (and /health); Ctrl-C stops\n", static_cast<unsigned>(server.port()));
        std::signal(SIGINT, [](int) { interrupted = 1; });
        while (!interrupted) pause();
        return server.stop() ? 0 : 1;
    }

    std::string body;
    const auto status = get("http://127.0.0.1:" + std::to_string(server.port()) + "/metrics", body);
    server.stop();
    if (status != 200) {
        std::fprintf(stderr, "scrape failed (HTTP %ld)\n", status);
        return 1;
    }
    std::printf("%s", body.c_str());
    const bool ok = body.find("switchyard_invocations_total{bus=\"payments\",rule=\"all\",target=\"processor\"} 100") !=
                    std::string::npos;
    return ok ? 0 : 1;
}
