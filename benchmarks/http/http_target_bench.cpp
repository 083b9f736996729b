// HTTP target deliveries per second against a local sink (a minimal Beast server answering 200),
// beside a bare libcurl loop POSTing the same bodies to the same sink in the same run:
//   http_target_bench [events=20000] [rounds=3]
// Rows: libcurl alone (one thread, one reused connection); http_target on the inline executor
// (one publisher, one connection); http_target on thread_pool{4} (four connections). Each figure
// is the median of the rounds; the ratio is against the libcurl loop.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <curl/curl.h>

#include <switchyard/http/http_target.hpp>
#include <switchyard/switchyard.hpp>

#include "sink_server.hpp"

namespace {

struct Payment {
    std::string transactionId;
    std::string customerId;
    double total = 0.0;
};
SWITCHYARD_EVENT(Payment, "CREDIT_CARD_TRANSACTION", transactionId, customerId, total)

using seconds_d = std::chrono::duration<double>;

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

// The baseline: one easy handle, keep-alive, the body an event of the same size.
double curl_loop(const std::string& url, int events, const std::string& body) {
    CURL* curl = curl_easy_init();
    curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, +[](char*, size_t, size_t n, void*) { return n; });
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < events; ++i) {
        if (curl_easy_perform(curl) != CURLE_OK) std::abort();
    }
    const seconds_d took = std::chrono::steady_clock::now() - start;
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    return events / took.count();
}

// Events through a bus whose one rule sends each to the sink with an http_target.
double through_bus(const std::string& url, int events, switchyard::any_executor executor) {
    std::atomic<int> failed{0};
    switchyard::bus bus{"bench"};
    bus.add_rule({.name = "to-sink",
                  .pattern = R"({"detail-type": ["CREDIT_CARD_TRANSACTION"]})",
                  .targets = {switchyard::http_target("sink", {.url = url}, std::move(executor))
                                  .dead_letters([&](const switchyard::dead_letter&) { ++failed; })}});
    auto producer = bus.producer<Payment>("com.example.pos");
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < events; ++i)
        if (!producer.publish({"tx-" + std::to_string(i), "c-42", 125.5})) std::abort();
    bus.drain();
    const seconds_d took = std::chrono::steady_clock::now() - start;
    if (failed != 0) {
        std::fprintf(stderr, "%d deliveries failed\n", failed.load());
        std::abort();
    }
    return events / took.count();
}

}  // namespace

int main(int argc, char** argv) {
    const int events = argc > 1 ? std::atoi(argv[1]) : 20000;
    const int rounds = argc > 2 ? std::atoi(argv[2]) : 3;
    bench_http::sink_server sink{1};
    const auto url = "http://127.0.0.1:" + std::to_string(sink.port()) + "/";
    // An event as the target sends it (the whole event's JSON), for the baseline's body.
    const auto sample = switchyard::make_event(switchyard::event<Payment>{
        {.version = "0", .id = "7f0c2d4e-0000-4000-8000-000000000001", .detail_type = "CREDIT_CARD_TRANSACTION",
         .source = "com.example.pos", .account = "000000000000", .time = "2026-12-01T12:00:00Z", .region = "local",
         .resources = {}, .replay_name = {}, .trace = {}},
        {"tx-1", "c-42", 125.5}});
    const std::string body = sample->json();

    std::vector<double> curl_rate, inline_rate, pool_rate;
    switchyard::thread_pool pool{4};
    for (int r = 0; r < rounds; ++r) {
        curl_rate.push_back(curl_loop(url, events, body));
        inline_rate.push_back(through_bus(url, events, switchyard::inline_executor::instance()));
        pool_rate.push_back(through_bus(url, events, pool));
    }
    const double base = median(curl_rate);
    std::printf("%-44s %12s %8s\n", "sender", "requests/s", "ratio");
    std::printf("%-44s %12.0f %8.2f\n", "libcurl loop, one connection (baseline)", base, 1.0);
    std::printf("%-44s %12.0f %8.2f\n", "http_target, inline executor", median(inline_rate), median(inline_rate) / base);
    std::printf("%-44s %12.0f %8.2f\n", "http_target, thread_pool{4}", median(pool_rate), median(pool_rate) / base);
    return 0;
}
