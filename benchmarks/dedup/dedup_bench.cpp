// Dedup window throughput: first_seen for unique keys (the common case: every event new, the
// window full and evicting) and for duplicates, on 1 and 2 threads; and the cost of a content key
// (SHA-256) for a typical event. Publish throughput with and without dedup belongs to the bus
// benchmarks once the window is wired in.
#include <benchmark/benchmark.h>

#include <cstddef>
#include <string>
#include <vector>

#include <fmt/format.h>

#include <switchyard/dedup.hpp>

namespace {

// One window shared by every thread of a run, created by thread 0 before the others start
// (Google Benchmark runs the threads' set-up in lock step).
switchyard::dedup_window* shared_window = nullptr;

std::vector<std::string> make_keys(std::size_t count, int thread) {
    std::vector<std::string> keys;
    keys.reserve(count);
    // The shape of a real producer id: a UUID-sized string.
    for (std::size_t i = 0; i < count; ++i)
        keys.push_back(fmt::format("id:3f1c2b9e-7d4a-4c2f-9b1e-{}-{}", thread, 1'000'000'000 + i));
    return keys;
}

void unique_keys(benchmark::State& state) {
    if (state.thread_index() == 0)
        shared_window = new switchyard::dedup_window(switchyard::dedup_options{
            .window = std::chrono::minutes(5), .max_entries = static_cast<std::size_t>(state.range(0)), .shards = 16});
    // Twice max_entries keys per thread: the window fills, then evicts, as in a steady state.
    const auto keys = make_keys(2 * static_cast<std::size_t>(state.range(0)), state.thread_index());
    std::size_t i = 0;
    for (auto _ : state) {
        benchmark::DoNotOptimize(shared_window->first_seen(keys[i]));
        if (++i == keys.size()) i = 0;
    }
    state.SetItemsProcessed(state.iterations());
    if (state.thread_index() == 0) {
        const auto s = shared_window->statistics();
        state.counters["entries"] = static_cast<double>(s.entries);
        state.counters["evictions"] = static_cast<double>(s.evictions_by_count);
        delete shared_window;
        shared_window = nullptr;
    }
}
// max_entries 100,000 (the table stays in cache) and 1,000,000 (the default; cache misses dominate).
BENCHMARK(unique_keys)->Arg(100'000)->Arg(1'000'000)->Threads(1)->Threads(2)->UseRealTime();

void duplicate_keys(benchmark::State& state) {
    if (state.thread_index() == 0) {
        shared_window = new switchyard::dedup_window();
        for (const auto& k : make_keys(4096, 0)) shared_window->first_seen(k);
    }
    const auto keys = make_keys(4096, 0);  // all already seen
    std::size_t i = 0;
    for (auto _ : state) {
        benchmark::DoNotOptimize(shared_window->first_seen(keys[i]));
        if (++i == keys.size()) i = 0;
    }
    state.SetItemsProcessed(state.iterations());
    if (state.thread_index() == 0) {
        delete shared_window;
        shared_window = nullptr;
    }
}
BENCHMARK(duplicate_keys)->Threads(1)->Threads(2)->UseRealTime();

void content_key(benchmark::State& state) {
    const std::string detail(static_cast<std::size_t>(state.range(0)), 'x');
    for (auto _ : state)
        benchmark::DoNotOptimize(switchyard::dedup_window::content_key("com.example.orders", "OrderPlaced", detail));
    state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(content_key)->Arg(256)->Arg(4096);

}  // namespace

BENCHMARK_MAIN();
