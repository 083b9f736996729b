// Publish-path benchmarks: a synchronous publish to one handler on the inline executor, against
// a direct std::function call measured in the same run.
#include <benchmark/benchmark.h>

#include <functional>

#include <switchyard/switchyard.hpp>

namespace {

struct Tick {
    std::string symbol;
    double price = 0.0;
};
SWITCHYARD_EVENT(Tick, "TICK", symbol, price)

void direct_std_function(benchmark::State& state) {
    double sum = 0.0;
    std::function<void(const Tick&)> f = [&](const Tick& t) { sum += t.price; };
    const Tick tick{"ACME", 1.5};
    for (auto _ : state) {
        f(tick);
        benchmark::DoNotOptimize(sum);
    }
}
BENCHMARK(direct_std_function);

void sync_publish_one_handler(benchmark::State& state) {
    double sum = 0.0;
    switchyard::bus bus{"bench"};
    bus.add_rule({.name = "ticks",
                  .pattern = R"({"detail-type": ["TICK"]})",
                  .targets = {switchyard::handler<Tick>("sum", [&](const switchyard::event<Tick>& e) { sum += e.detail.price; })}});
    auto producer = bus.producer<Tick>("com.example.market");
    for (auto _ : state) {
        producer.publish({"ACME", 1.5});
        benchmark::DoNotOptimize(sum);
    }
}
BENCHMARK(sync_publish_one_handler);

}  // namespace

BENCHMARK_MAIN();
