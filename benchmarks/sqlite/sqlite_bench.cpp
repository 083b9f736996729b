// switchyard::sqlite throughput, against SQLite's own batched insert rate measured in the same run:
//   raw_batched_insert/<sync>/<rows per transaction>   the same event JSON rows into a WAL table
//   journaled_publish/<sync>/<publisher threads>       bus::publish with a sqlite_journal (group
//                                                      commit) and one inline handler, so each
//                                                      event is recorded accepted and ended
//   journaled_put_events_batch/<sync>                  one publisher, put_events of 10 entries:
//                                                      one journal transaction per batch
//   journaled_publish_batch/<sync>                     one publisher, producer::publish_batch of
//                                                      all 2,000 typed events: 256 per transaction
//   archive_publish/<archive>/<journal>                publishing with and without an archive
//                                                      (and a NORMAL journal with publish_async)
//   replay                                             replaying from sqlite_archive_store
// Sync levels: 0 off, 1 normal, 2 full. Files go to $SWITCHYARD_BENCH_DIR (default: the current
// directory), so they land on a real disk rather than a tmpfs where fsync is free.
#include <benchmark/benchmark.h>

#include <sqlite3.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include <switchyard/archive.hpp>
#include <switchyard/sqlite/sqlite_archive_store.hpp>
#include <switchyard/sqlite/sqlite_journal.hpp>
#include <switchyard/switchyard.hpp>

namespace {

struct CreditCardTransaction {
    std::string transactionId;
    std::string customerId;
    double total = 0.0;
};
SWITCHYARD_EVENT(CreditCardTransaction, "CREDIT_CARD_TRANSACTION", transactionId, customerId, total)

constexpr int events_per_iteration = 2000;

std::string bench_file(const char* name) {
    const char* dir = std::getenv("SWITCHYARD_BENCH_DIR");
    auto path = std::filesystem::path(dir ? dir : ".") / fmt::format("switchyard-bench-{}-{}.db", name, ::getpid());
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path.string() + suffix);
    return path.string();
}
void remove_file(const std::string& file) {
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(file + suffix);
}

switchyard::sync_level level(std::int64_t arg) {
    return arg == 0 ? switchyard::sync_level::off : arg == 1 ? switchyard::sync_level::normal : switchyard::sync_level::full;
}

// The JSON row a journal stores for one published event.
std::string sample_event_json() {
    switchyard::bus bus{"payments"};
    switchyard::event<CreditCardTransaction> e;
    static_cast<switchyard::envelope&>(e) = bus.make_envelope("com.example.transaction", "CREDIT_CARD_TRANSACTION");
    e.detail = {"tx-0000012345", "customer-67890", 2500.0};
    return switchyard::make_event(std::move(e))->json();
}

void check(int rc, sqlite3* db) {
    if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) throw std::runtime_error(sqlite3_errmsg(db));
}

void raw_batched_insert(benchmark::State& state) {
    const auto file = bench_file("raw");
    const auto rows_per_tx = state.range(1);
    sqlite3* db = nullptr;
    check(sqlite3_open(file.c_str(), &db), db);
    check(sqlite3_exec(db, "PRAGMA journal_mode = WAL", nullptr, nullptr, nullptr), db);
    check(sqlite3_exec(db, fmt::format("PRAGMA synchronous = {}", switchyard::to_string(level(state.range(0)))).c_str(), nullptr, nullptr,
                       nullptr),
          db);
    check(sqlite3_exec(db, "CREATE TABLE events (seq INTEGER PRIMARY KEY, json TEXT NOT NULL)", nullptr, nullptr, nullptr), db);
    sqlite3_stmt* insert = nullptr;
    check(sqlite3_prepare_v2(db, "INSERT INTO events (json) VALUES (?1)", -1, &insert, nullptr), db);
    const auto json = sample_event_json();
    for (auto _ : state) {
        for (int done = 0; done < events_per_iteration;) {
            check(sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr), db);
            for (std::int64_t i = 0; i < rows_per_tx && done < events_per_iteration; ++i, ++done) {
                sqlite3_bind_text(insert, 1, json.data(), static_cast<int>(json.size()), SQLITE_STATIC);
                check(sqlite3_step(insert), db);
                sqlite3_reset(insert);
            }
            check(sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr), db);
        }
    }
    state.SetItemsProcessed(state.iterations() * events_per_iteration);
    sqlite3_finalize(insert);
    sqlite3_close(db);
    remove_file(file);
}
BENCHMARK(raw_batched_insert)->ArgNames({"sync", "rows_per_tx"})->ArgsProduct({{0, 1, 2}, {1, 100}})->UseRealTime()->Unit(benchmark::kMillisecond);

// Publishers (state.range(1) threads) through a bus journaled at state.range(0)'s level. With
// `async`, publish_async: each publisher keeps its events in flight (no wait for the disk per
// event), the journal commits whatever queued meanwhile in one transaction and fsync, and an
// iteration ends once every event has been answered and delivered (drain).
void run_journaled_publish(benchmark::State& state, const char* name, bool async) {
    const auto file = bench_file(name);
    const int threads = static_cast<int>(state.range(1));
    {
        auto journal = std::make_shared<switchyard::sqlite_journal>(file, switchyard::sqlite_journal_options{.synchronous = level(state.range(0))});
        switchyard::bus bus{"payments", {.journal = journal}};
        std::atomic<long> handled{0}, refused{0};
        bus.add_rule({.name = "all",
                      .pattern = R"({"detail-type": ["CREDIT_CARD_TRANSACTION"]})",
                      .targets = {switchyard::handler<CreditCardTransaction>("count", [&](const auto&) { handled.fetch_add(1, std::memory_order_relaxed); })}});
        const switchyard::publish_callback count_refusals = [&](const switchyard::publish_result& r) {
            if (!r.ok()) refused.fetch_add(1, std::memory_order_relaxed);
        };
        for (auto _ : state) {
            std::vector<std::thread> publishers;
            for (int t = 0; t < threads; ++t)
                publishers.emplace_back([&, t] {
                    auto producer = bus.producer<CreditCardTransaction>("com.example.transaction");
                    for (int i = t; i < events_per_iteration; i += threads) {
                        if (async) producer.publish_async({"tx-0000012345", "customer-67890", 2500.0}, count_refusals);
                        else if (!producer.publish({"tx-0000012345", "customer-67890", 2500.0})) std::abort();
                    }
                });
            for (auto& p : publishers) p.join();
            if (async) bus.drain();
        }
        bus.drain();
        if (refused.load() != 0) state.SkipWithError("a publish was refused");
        const auto stats = journal->stats();
        state.counters["events_per_commit"] = stats.transactions ? static_cast<double>(stats.events) / static_cast<double>(stats.transactions) : 0;
    }
    state.SetItemsProcessed(state.iterations() * events_per_iteration);
    remove_file(file);
}

void journaled_publish(benchmark::State& state) { run_journaled_publish(state, "journal", false); }
BENCHMARK(journaled_publish)->ArgNames({"sync", "threads"})->ArgsProduct({{0, 1, 2}, {1, 4}})->UseRealTime()->Unit(benchmark::kMillisecond);

void journaled_publish_async(benchmark::State& state) { run_journaled_publish(state, "journal-async", true); }
BENCHMARK(journaled_publish_async)->ArgNames({"sync", "threads"})->ArgsProduct({{1, 2}, {1, 4}})->UseRealTime()->Unit(benchmark::kMillisecond);

// One publisher batching: put_events of 10 entries (EventBridge's batch limit), each batch one
// journal transaction.
void journaled_put_events_batch(benchmark::State& state) {
    const auto file = bench_file("journal-batch");
    {
        auto journal = std::make_shared<switchyard::sqlite_journal>(file, switchyard::sqlite_journal_options{.synchronous = level(state.range(0))});
        switchyard::bus bus{"payments", {.journal = journal}};
        std::atomic<long> handled{0};
        bus.add_rule({.name = "all",
                      .pattern = R"({"detail-type": ["CREDIT_CARD_TRANSACTION"]})",
                      .targets = {switchyard::json_handler("count", [&](std::string_view) { handled.fetch_add(1, std::memory_order_relaxed); })}});
        std::vector<switchyard::put_events_entry> batch(10, switchyard::put_events_entry{
                                                               .source = "com.example.transaction",
                                                               .detail_type = "CREDIT_CARD_TRANSACTION",
                                                               .detail = R"({"transactionId":"tx-0000012345","customerId":"customer-67890","total":2500.0})"});
        for (auto _ : state)
            for (int i = 0; i < events_per_iteration; i += 10)
                if (bus.put_events(batch).failed_entry_count != 0) std::abort();
        bus.drain();
        const auto stats = journal->stats();
        state.counters["events_per_commit"] = stats.transactions ? static_cast<double>(stats.events) / static_cast<double>(stats.transactions) : 0;
    }
    state.SetItemsProcessed(state.iterations() * events_per_iteration);
    remove_file(file);
}
BENCHMARK(journaled_put_events_batch)->ArgNames({"sync"})->Arg(0)->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);

// One publisher, typed: producer::publish_batch of the iteration's events at once (the bus
// records them 256 per journal call).
void journaled_publish_batch(benchmark::State& state) {
    const auto file = bench_file("journal-typed-batch");
    {
        auto journal = std::make_shared<switchyard::sqlite_journal>(file, switchyard::sqlite_journal_options{.synchronous = level(state.range(0))});
        switchyard::bus bus{"payments", switchyard::bus_options{}.with_journal(journal)};
        std::atomic<long> handled{0};
        bus.add_rule({.name = "all",
                      .pattern = R"({"detail-type": ["CREDIT_CARD_TRANSACTION"]})",
                      .targets = {switchyard::handler<CreditCardTransaction>("count", [&](const auto&) { handled.fetch_add(1, std::memory_order_relaxed); })}});
        auto producer = bus.producer<CreditCardTransaction>("com.example.transaction");
        const std::vector<CreditCardTransaction> batch(events_per_iteration, CreditCardTransaction{"tx-0000012345", "customer-67890", 2500.0});
        for (auto _ : state)
            if (!producer.publish_batch(batch).ok()) std::abort();
        bus.drain();
        const auto stats = journal->stats();
        state.counters["events_per_commit"] = stats.transactions ? static_cast<double>(stats.events) / static_cast<double>(stats.transactions) : 0;
    }
    state.SetItemsProcessed(state.iterations() * events_per_iteration);
    remove_file(file);
}
BENCHMARK(journaled_publish_batch)->ArgNames({"sync"})->Arg(0)->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);

// The same publish path with the journal in memory: what the bus costs without SQLite.
void memory_journaled_publish(benchmark::State& state) {
    const int threads = static_cast<int>(state.range(0));
    auto journal = std::make_shared<switchyard::memory_journal>();
    switchyard::bus bus{"payments", {.journal = journal}};
    std::atomic<long> handled{0};
    bus.add_rule({.name = "all",
                  .pattern = R"({"detail-type": ["CREDIT_CARD_TRANSACTION"]})",
                  .targets = {switchyard::handler<CreditCardTransaction>("count", [&](const auto&) { handled.fetch_add(1, std::memory_order_relaxed); })}});
    for (auto _ : state) {
        std::vector<std::thread> publishers;
        for (int t = 0; t < threads; ++t)
            publishers.emplace_back([&, t] {
                auto producer = bus.producer<CreditCardTransaction>("com.example.transaction");
                for (int i = t; i < events_per_iteration; i += threads)
                    if (!producer.publish({"tx-0000012345", "customer-67890", 2500.0})) std::abort();
            });
        for (auto& p : publishers) p.join();
    }
    state.SetItemsProcessed(state.iterations() * events_per_iteration);
}
BENCHMARK(memory_journaled_publish)->ArgNames({"threads"})->Arg(1)->Arg(4)->UseRealTime()->Unit(benchmark::kMillisecond);

// Publishing into a bus whose archive (sync NORMAL) keeps every event (arg 1), beside the same
// bus without one (arg 0); with a journal at NORMAL (second arg 1) or none. An iteration ends once
// everything is delivered and archived (drain): the archive writes batches on its own thread.
void archive_publish(benchmark::State& state) {
    const auto file = bench_file("archive");
    const auto journal_file = bench_file("archive-journal");
    const bool archived = state.range(0) != 0;
    const bool journaled = state.range(1) != 0;
    {
        std::shared_ptr<switchyard::journal> journal;
        if (journaled)
            journal = std::make_shared<switchyard::sqlite_journal>(journal_file,
                                                                   switchyard::sqlite_journal_options{.synchronous = switchyard::sync_level::normal});
        switchyard::bus bus{"payments", {.journal = journal}};
        std::atomic<long> handled{0};
        bus.add_rule({.name = "all",
                      .pattern = R"({"detail-type": ["CREDIT_CARD_TRANSACTION"]})",
                      .targets = {switchyard::handler<CreditCardTransaction>("count", [&](const auto&) { handled.fetch_add(1, std::memory_order_relaxed); })}});
        auto store = std::make_shared<switchyard::sqlite_archive_store>(file);
        std::optional<switchyard::archive> archive;
        if (archived) archive.emplace(bus, switchyard::archive_spec{.name = "all", .store = store});
        auto producer = bus.producer<CreditCardTransaction>("com.example.transaction");
        const switchyard::publish_callback ignore = [](const switchyard::publish_result& r) {
            if (!r.ok()) std::abort();
        };
        for (auto _ : state) {
            for (int i = 0; i < events_per_iteration; ++i) {
                if (journaled) producer.publish_async({"tx-0000012345", "customer-67890", 2500.0}, ignore);
                else if (!producer.publish({"tx-0000012345", "customer-67890", 2500.0})) std::abort();
            }
            bus.drain();
        }
        state.SetLabel(fmt::format("{}{}", archived ? "archive" : "no archive", journaled ? ", journal NORMAL, publish_async" : ""));
    }
    state.SetItemsProcessed(state.iterations() * events_per_iteration);
    remove_file(file);
    remove_file(journal_file);
}
BENCHMARK(archive_publish)->ArgNames({"archive", "journal"})->ArgsProduct({{0, 1}, {0, 1}})->UseRealTime()->Unit(benchmark::kMillisecond);

// Replaying archived events into a bus with one typed handler.
void replay(benchmark::State& state) {
    const auto file = bench_file("replay");
    {
        switchyard::bus bus{"payments"};
        auto store = std::make_shared<switchyard::sqlite_archive_store>(file);
        switchyard::archive archive(bus, {.name = "all", .store = store});
        auto producer = bus.producer<CreditCardTransaction>("com.example.transaction");
        for (int i = 0; i < events_per_iteration; ++i)
            if (!producer.publish({"tx-0000012345", "customer-67890", 2500.0})) state.SkipWithError("publish refused");
        std::atomic<long> handled{0};
        bus.add_rule({.name = "replays",
                      .pattern = R"({"replay-name": [{"exists": true}]})",
                      .targets = {switchyard::handler<CreditCardTransaction>("count", [&](const auto&) { handled.fetch_add(1, std::memory_order_relaxed); })}});
        const auto now = std::chrono::system_clock::now();
        for (auto _ : state) {
            auto r = archive.replay({.name = "bench", .from = now - std::chrono::hours(1), .to = now + std::chrono::hours(1)});
            r.wait();
            if (r.state() != switchyard::replay_state::completed || r.progress().replayed != events_per_iteration) std::abort();
        }
    }
    state.SetItemsProcessed(state.iterations() * events_per_iteration);
    remove_file(file);
}
BENCHMARK(replay)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
