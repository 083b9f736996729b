// The servers the HTTP benchmarks drive with wrk (benchmarks/http/run_wrk.sh):
//   http_bench_server baseline THREADS   a minimal Boost.Beast server answering every request 200
//                                        with a PutEvents-shaped body: the ceiling on this machine
//   http_bench_server ingress THREADS    switchyard's http_ingress in front of a bus with one rule
//                                        and an inline handler that counts the events
// Each prints "PORT <n>" once listening, serves until its standard input closes, then prints
// what it served ("events <n>" for the ingress) and exits.
#include <atomic>
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <switchyard/http/ingress.hpp>
#include <switchyard/switchyard.hpp>

#include "sink_server.hpp"

namespace {

int run_baseline(unsigned threads) {
    bench_http::sink_server server{threads};
    std::printf("PORT %u\n", static_cast<unsigned>(server.port()));
    std::fflush(stdout);
    for (std::string line; std::getline(std::cin, line);) {
    }
    return 0;
}

int run_ingress(unsigned threads) {
    std::atomic<std::uint64_t> events{0};
    switchyard::bus bus{"default"};  // metrics on, as by default
    bus.add_rule({.name = "all",
                  .pattern = R"({"source": [{"prefix": ""}]})",
                  .targets = {switchyard::target{"count", [&](const switchyard::any_event&, const switchyard::delivery_info&) {
                                                     events.fetch_add(1, std::memory_order_relaxed);
                                                     return switchyard::outcome::success();
                                                 }}}});
    switchyard::http_ingress ingress{{.threads = threads}};
    ingress.add_bus(bus);
    ingress.start();
    std::printf("PORT %u\n", static_cast<unsigned>(ingress.port()));
    std::fflush(stdout);
    for (std::string line; std::getline(std::cin, line);) {
    }
    ingress.stop();
    bus.drain();
    std::printf("events %llu\n", static_cast<unsigned long long>(events.load()));
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    const std::string mode = argc > 1 ? argv[1] : "";
    const unsigned threads = argc > 2 ? static_cast<unsigned>(std::stoul(argv[2])) : 1;
    if (mode == "baseline") return run_baseline(threads);
    if (mode == "ingress") return run_ingress(threads);
    std::fprintf(stderr, "usage: http_bench_server baseline|ingress [THREADS]\n");
    return 2;
}
