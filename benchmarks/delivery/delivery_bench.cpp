// Delivery-path benchmarks, each against a baseline measured in the same run:
//  - synchronous publish to one handler (inline executor) vs a direct std::function call;
//  - cross-thread publish -> handler throughput vs a bare moodycamel queue hand-off and a
//    mutex + condition variable queue, one producer and one consumer thread each;
//  - latency from publish to handler start (p50/p99, as counters);
//  - elastic pool scale-up from zero to its maximum under a burst.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#if SWITCHYARD_HAVE_CONCURRENTQUEUE
#include <concurrentqueue/concurrentqueue.h>
#endif

#include <switchyard/switchyard.hpp>

namespace {

struct Tick {
    std::string symbol;
    double price = 0.0;
    std::int64_t sent_ns = 0;
};
SWITCHYARD_EVENT(Tick, "TICK", symbol, price, sent_ns)

const char* const tick_rule = R"({"detail-type": ["TICK"]})";

std::int64_t now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// ---- synchronous -----------------------------------------------------------------------------

void baseline_std_function_call(benchmark::State& state) {
    double sum = 0.0;
    std::function<void(const Tick&)> f = [&](const Tick& t) { sum += t.price; };
    const Tick tick{"ACME", 1.5, 0};
    for (auto _ : state) {
        f(tick);
        benchmark::DoNotOptimize(sum);
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(baseline_std_function_call);

// Arg 1: metrics on (the default: latencies timed for 1 publish in 16); 0: bus_options::metrics
// off, to show what they cost; 2: metrics on and every latency timed (latency_sample_every = 1).
void sync_publish_one_handler(benchmark::State& state) {
    double sum = 0.0;
    switchyard::bus bus{"bench", switchyard::bus_options{.metrics = state.range(0) != 0,
                                                         .latency_sample_every = state.range(0) == 2 ? 1u : 16u}};
    bus.add_rule({.name = "ticks",
                  .pattern = tick_rule,
                  .targets = {switchyard::handler<Tick>("sum", [&](const switchyard::event<Tick>& e) { sum += e.detail.price; })}});
    auto producer = bus.producer<Tick>("com.example.market");
    for (auto _ : state) {
        if (!producer.publish({"ACME", 1.5, 0})) state.SkipWithError("publish refused");
        benchmark::DoNotOptimize(sum);
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(sync_publish_one_handler)->ArgName("metrics")->Arg(1)->Arg(0)->Arg(2);

// Publish through the dedup window: by a content hash (serialises the typed detail and hashes
// it) and by a producer-supplied id. Every event is new, so each one is inserted and delivered.
void sync_publish_with_dedup(benchmark::State& state) {
    const bool by_id = state.range(0) == 1;
    double sum = 0.0;
    switchyard::bus bus{"bench", switchyard::bus_options{.dedup = switchyard::dedup_options{}}};
    bus.add_rule({.name = "ticks",
                  .pattern = tick_rule,
                  .targets = {switchyard::handler<Tick>("sum", [&](const switchyard::event<Tick>& e) { sum += e.detail.price; })}});
    auto producer = bus.producer<Tick>("com.example.market");
    std::int64_t n = 0;
    for (auto _ : state) {
        ++n;
        const auto result = by_id ? producer.publish({"ACME", 1.5, n}, {.dedup_id = std::to_string(n)})
                                  : producer.publish({"ACME", 1.5, n});
        if (!result) state.SkipWithError("publish refused");
        benchmark::DoNotOptimize(sum);
    }
    state.SetItemsProcessed(state.iterations());
    state.SetLabel(by_id ? "dedup by id" : "dedup by content hash");
}
BENCHMARK(sync_publish_with_dedup)->Arg(0)->Arg(1);

// ---- cross-thread throughput -----------------------------------------------------------------

constexpr std::int64_t batch = 100'000;

#if SWITCHYARD_HAVE_CONCURRENTQUEUE
void baseline_moodycamel_handoff(benchmark::State& state) {
    for (auto _ : state) {
        moodycamel::ConcurrentQueue<Tick> queue;
        moodycamel::ProducerToken token(queue);
        std::atomic<std::int64_t> consumed{0};
        std::thread consumer([&] {
            Tick t;
            double sum = 0;
            while (consumed.load(std::memory_order_relaxed) < batch)
                if (queue.try_dequeue_from_producer(token, t)) {
                    sum += t.price;
                    consumed.fetch_add(1, std::memory_order_relaxed);
                }
            benchmark::DoNotOptimize(sum);
        });
        for (std::int64_t i = 0; i < batch; ++i) queue.enqueue(token, Tick{"ACME", 1.5, 0});
        consumer.join();
    }
    state.SetItemsProcessed(state.iterations() * batch);
}
BENCHMARK(baseline_moodycamel_handoff)->Unit(benchmark::kMillisecond)->UseRealTime();
#endif

void baseline_mutex_condvar_handoff(benchmark::State& state) {
    for (auto _ : state) {
        std::mutex m;
        std::condition_variable cv;
        std::deque<Tick> queue;
        std::thread consumer([&] {
            double sum = 0;
            for (std::int64_t got = 0; got < batch;) {
                std::unique_lock lock(m);
                cv.wait(lock, [&] { return !queue.empty(); });
                sum += queue.front().price;
                queue.pop_front();
                ++got;
            }
            benchmark::DoNotOptimize(sum);
        });
        for (std::int64_t i = 0; i < batch; ++i) {
            {
                std::lock_guard lock(m);
                queue.push_back(Tick{"ACME", 1.5, 0});
            }
            cv.notify_one();
        }
        consumer.join();
    }
    state.SetItemsProcessed(state.iterations() * batch);
}
BENCHMARK(baseline_mutex_condvar_handoff)->Unit(benchmark::kMillisecond)->UseRealTime();

// One publisher thread publishing `batch` events per iteration; each event goes to
// state.range(1) handlers (one rule) on `workers`. Items are events published.
void publish_across_threads(benchmark::State& state, switchyard::any_executor workers) {
    const auto targets = static_cast<int>(state.range(1));
    std::atomic<double> sum{0};
    switchyard::bus bus{"bench"};
    std::vector<switchyard::target> handlers;
    for (int t = 0; t < targets; ++t)
        handlers.push_back(switchyard::handler<Tick>("sum-" + std::to_string(t), [&](const switchyard::event<Tick>& e) {
            sum.store(sum.load(std::memory_order_relaxed) + e.detail.price, std::memory_order_relaxed);
        }, workers));
    bus.add_rule({.name = "ticks", .pattern = tick_rule, .targets = std::move(handlers)});
    auto producer = bus.producer<Tick>("com.example.market");
    for (auto _ : state) {
        for (std::int64_t i = 0; i < batch; ++i)
            if (!producer.publish({"ACME", 1.5, 0})) state.SkipWithError("publish refused");
        bus.drain();
    }
    state.SetItemsProcessed(state.iterations() * batch);
}

// The handlers on a thread_pool of state.range(0) workers.
void cross_thread_publish_thread_pool(benchmark::State& state) {
    switchyard::thread_pool workers{static_cast<std::size_t>(state.range(0))};
    publish_across_threads(state, workers);
}
BENCHMARK(cross_thread_publish_thread_pool)
    ->ArgNames({"workers", "targets"})
    ->Args({1, 1})
    ->Args({2, 1})
    ->Args({4, 1})
    ->Args({1, 4})
    ->Args({2, 4})
    ->Args({4, 4})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// The same with an elastic_pool of at most state.range(0) workers, starting from none
// (min_workers 0): what growing with the backlog costs against the fixed pool above.
void cross_thread_publish_elastic_pool(benchmark::State& state) {
    switchyard::elastic_pool workers{
        {.min_workers = 0, .max_workers = static_cast<std::size_t>(state.range(0)), .idle_timeout = std::chrono::seconds(10)}};
    publish_across_threads(state, workers);
}
BENCHMARK(cross_thread_publish_elastic_pool)
    ->ArgNames({"max_workers", "targets"})
    ->Args({1, 1})
    ->Args({2, 1})
    ->Args({4, 1})
    ->Args({1, 4})
    ->Args({4, 4})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// ---- latency ---------------------------------------------------------------------------------

void publish_to_handler_latency(benchmark::State& state) {
    switchyard::thread_pool workers{1};
    std::vector<std::int64_t> samples;
    samples.reserve(1 << 20);
    std::mutex m;
    switchyard::bus bus{"bench"};
    bus.add_rule({.name = "ticks",
                  .pattern = tick_rule,
                  .targets = {switchyard::handler<Tick>("latency", [&](const switchyard::event<Tick>& e) {
                      const auto started = now_ns();
                      std::lock_guard lock(m);
                      samples.push_back(started - e.detail.sent_ns);
                  }, workers)}});
    auto producer = bus.producer<Tick>("com.example.market");
    for (auto _ : state) {
        if (!producer.publish({"ACME", 1.5, now_ns()})) state.SkipWithError("publish refused");
        bus.drain();  // one in flight at a time: latency, not queueing delay
    }
    std::sort(samples.begin(), samples.end());
    if (!samples.empty()) {
        state.counters["p50_ns"] = static_cast<double>(samples[samples.size() / 2]);
        state.counters["p99_ns"] = static_cast<double>(samples[samples.size() * 99 / 100]);
    }
}
BENCHMARK(publish_to_handler_latency)->Iterations(20000);

// ---- elastic pool ----------------------------------------------------------------------------

void elastic_pool_scale_up_from_zero(benchmark::State& state) {
    const auto max_workers = static_cast<std::size_t>(state.range(0));
    for (auto _ : state) {
        switchyard::elastic_pool pool{{.min_workers = 0, .max_workers = max_workers, .idle_timeout = std::chrono::seconds(10)}};
        std::mutex m;
        std::condition_variable cv;
        bool release = false;
        const auto start = std::chrono::steady_clock::now();
        for (std::size_t i = 0; i < max_workers * 4; ++i)
            pool.execute([&] {
                std::unique_lock lock(m);
                cv.wait(lock, [&] { return release; });
            });
        pool.wait_for_workers(max_workers, std::chrono::seconds(10));
        state.SetIterationTime(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
        {
            std::lock_guard lock(m);
            release = true;
        }
        cv.notify_all();
    }
}
BENCHMARK(elastic_pool_scale_up_from_zero)->Arg(4)->Arg(16)->UseManualTime()->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
