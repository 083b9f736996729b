// bench_service: a realistic service end to end. Typed credit-card transactions (the shape of the
// project's transaction generator: ids, an amount, a currency, a card and a merchant with their
// countries, a channel) go through one bus to four rules, as in the credit-card example:
//   fraud        large or cross-border transactions     -> a handler on a thread_pool
//   ledger       every transaction, FIFO per customer   -> a handler on a thread_pool (ordered_by)
//   notify       every transaction, transformed         -> a JSON handler on a thread_pool (input_transformer)
//   analytics    every transaction                      -> a handler on a thread_pool
// Configurations, each with one publishing thread using publish_batch (256 per call):
//   direct       the four handlers called directly on the publishing thread: the work itself
//   bus          the bus, no durability
//   journal      the bus with a SQLite journal at NORMAL
//   journal+archive   the same plus an archive of every event in a SQLite archive store (NORMAL)
//   journal, async / journal+archive, async   the same two, published with publish_async (one
//                     event per call, callbacks counted) instead of publish_batch
// Prints events/s per configuration (median of ROUNDS rounds) and its ratio to `direct`.
//
//   bench_service [EVENTS=200000] [ROUNDS=3] [WORKERS=2] [ONLY]   (ONLY: run `direct` and the named
//   configuration alone, e.g. `bus`, for profiling one of them)
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <unistd.h>

#include <switchyard/switchyard.hpp>
#if __has_include(<switchyard/sqlite/sqlite_journal.hpp>) && defined(SWITCHYARD_BENCH_HAS_SQLITE)
#include <switchyard/sqlite/sqlite_archive_store.hpp>
#include <switchyard/sqlite/sqlite_journal.hpp>
#define SERVICE_BENCH_DURABLE 1
#endif

namespace shop {

struct Card {
    std::string brand;
    std::string country;
};
SWITCHYARD_FIELDS(Card, brand, country)

struct Merchant {
    std::string id;
    std::string category;
    std::string country;
};
SWITCHYARD_FIELDS(Merchant, id, category, country)

struct Transaction {
    std::string transactionId;
    std::string customerId;
    double total = 0;
    std::string currency;
    Card card;
    Merchant merchant;
    std::string channel;
};
SWITCHYARD_EVENT(Transaction, "CREDIT_CARD_TRANSACTION", transactionId, customerId, total, currency, card, merchant, channel)

}  // namespace shop

namespace {

using shop::Transaction;
using clock_type = std::chrono::steady_clock;

// Deterministic transactions in the generator's proportions: 12 countries, 15 % cross-border,
// log-normal amounts, 100,000 customers.
std::vector<Transaction> make_transactions(std::size_t n) {
    static const char* countries[] = {"DE", "FR", "NL", "GB", "US", "ES", "IT", "PL", "SE", "JP", "BR", "IN"};
    static const char* currencies[] = {"EUR", "EUR", "EUR", "GBP", "USD", "EUR", "EUR", "PLN", "SEK", "JPY", "BRL", "INR"};
    static const char* brands[] = {"VISA", "MASTERCARD", "AMEX", "DISCOVER"};
    static const char* channels[] = {"online", "pos", "contactless", "atm", "moto"};
    std::mt19937_64 rng(1);
    std::lognormal_distribution<double> amount(3.5, 1.2);
    std::vector<Transaction> out;
    out.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
        const auto c = rng() % 12;
        const auto mc = rng() % 100 < 85 ? c : rng() % 12;
        out.push_back({"t" + std::to_string(10000000 + i), "c" + std::to_string(100000 + rng() % 100000),
                       std::round(amount(rng) * 100) / 100, currencies[c], {brands[rng() % 4], countries[c]},
                       {"m" + std::to_string(rng() % 20000), std::to_string(5000 + rng() % 1000), countries[mc]},
                       channels[rng() % 5]});
    }
    return out;
}

// What each handler does: a little real work, so the bus is compared with work, not with nothing.
struct counters {
    std::atomic<std::uint64_t> fraud{0}, ledger{0}, notify{0}, analytics{0};
    std::atomic<std::uint64_t> out_of_order{0};
};
bool suspicious(const Transaction& t) { return t.total > 1000 || t.card.country != t.merchant.country; }

double seconds_since(clock_type::time_point start) { return std::chrono::duration<double>(clock_type::now() - start).count(); }

double run_direct(const std::vector<Transaction>& txs, counters& c) {
    const auto start = clock_type::now();
    std::string notification;
    for (const auto& t : txs) {
        if (suspicious(t)) c.fraud.fetch_add(1, std::memory_order_relaxed);
        c.ledger.fetch_add(1, std::memory_order_relaxed);
        notification = "{\"customer\":\"" + t.customerId + "\",\"amount\":" + std::to_string(t.total) + "}";
        c.notify.fetch_add(notification.size() > 0 ? 1 : 0, std::memory_order_relaxed);
        c.analytics.fetch_add(1, std::memory_order_relaxed);
    }
    return static_cast<double>(txs.size()) / seconds_since(start);
}

enum class durability { none, journal, journal_and_archive };

double run_bus(const std::vector<Transaction>& txs, counters& c, unsigned workers, durability d, const std::filesystem::path& dir,
               bool async = false) {
    switchyard::thread_pool pool{workers};
    switchyard::bus_options options;
#ifdef SERVICE_BENCH_DURABLE
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    if (d != durability::none) {
        switchyard::sqlite_journal_options jo;
        jo.synchronous = switchyard::sync_level::normal;
        options.journal = std::make_shared<switchyard::sqlite_journal>((dir / "journal.db").string(), jo);
    }
#else
    (void)dir;
    if (d != durability::none) return 0;
#endif
    switchyard::bus bus{"payments", options};
    bus.add_rule({.name = "fraud",
                  .pattern = R"({"detail-type": ["CREDIT_CARD_TRANSACTION"], "detail": {"$or": [{"total": [{"numeric": [">", 1000]}]},
                                 {"merchant": {"country": [{"anything-but": "DE"}]}}]}})",
                  .targets = {switchyard::handler<Transaction>(
                      "fraud-review",
                      [&c](const switchyard::event<Transaction>& e) {
                          if (suspicious(e.detail)) c.fraud.fetch_add(1, std::memory_order_relaxed);
                      },
                      pool)}});
    auto last_seen = std::make_shared<std::vector<std::atomic<std::uint64_t>>>(200000);
    bus.add_rule({.name = "ledger",
                  .pattern = R"({"detail-type": ["CREDIT_CARD_TRANSACTION"]})",
                  .targets = {switchyard::handler<Transaction>(
                                  "ledger",
                                  [&c, last_seen](const switchyard::event<Transaction>& e) {
                                      // Per customer, transaction ids must arrive in publishing order.
                                      const auto customer = std::stoul(e.detail.customerId.substr(1));
                                      const auto id = std::stoull(e.detail.transactionId.substr(1));
                                      auto& seen = (*last_seen)[customer];
                                      if (seen.exchange(id, std::memory_order_relaxed) > id)
                                          c.out_of_order.fetch_add(1, std::memory_order_relaxed);
                                      c.ledger.fetch_add(1, std::memory_order_relaxed);
                                  },
                                  pool)
                                  .ordered_by("$.detail.customerId")}});
    bus.add_rule({.name = "notify",
                  .pattern = R"({"detail-type": ["CREDIT_CARD_TRANSACTION"]})",
                  .targets = {switchyard::json_handler("notify",
                                                       [&c](std::string_view text, const switchyard::delivery_info&) {
                                                           c.notify.fetch_add(text.empty() ? 0 : 1, std::memory_order_relaxed);
                                                       },
                                                       pool)
                                  .with_input(switchyard::input_transformer{
                                      {{"customer", "$.detail.customerId"}, {"amount", "$.detail.total"}},
                                      R"({"customer": <customer>, "amount": <amount>})"})}});
    bus.add_rule({.name = "analytics",
                  .pattern = R"({"source": ["com.example.transaction"]})",
                  .targets = {switchyard::handler<Transaction>(
                      "analytics", [&c](const switchyard::event<Transaction>&) { c.analytics.fetch_add(1, std::memory_order_relaxed); },
                      pool)}});
#ifdef SERVICE_BENCH_DURABLE
    std::optional<switchyard::archive> archive;
    if (d == durability::journal_and_archive)
        archive.emplace(bus, switchyard::archive_spec{.name = "all-transactions",
                                                      .store = std::make_shared<switchyard::sqlite_archive_store>(
                                                          (dir / "archive.db").string())});
#endif

    auto producer = bus.producer<Transaction>("com.example.transaction");
    const auto start = clock_type::now();
    if (async) {
        std::atomic<std::uint64_t> refused{0};
        const switchyard::publish_callback count_refusals = [&](const switchyard::publish_result& r) {
            if (!r.ok()) refused.fetch_add(1, std::memory_order_relaxed);
        };
        for (const auto& t : txs) producer.publish_async(t, count_refusals);
        bus.drain();
        if (refused.load() != 0) {
            std::fprintf(stderr, "publish_async refused %llu events\n", static_cast<unsigned long long>(refused.load()));
            std::exit(1);
        }
        return static_cast<double>(txs.size()) / seconds_since(start);
    }
    constexpr std::size_t batch = 256;
    for (std::size_t i = 0; i < txs.size(); i += batch) {
        const std::size_t end = std::min(txs.size(), i + batch);
        const auto results = producer.publish_batch(std::vector<Transaction>(txs.begin() + static_cast<std::ptrdiff_t>(i),
                                                                             txs.begin() + static_cast<std::ptrdiff_t>(end)));
        if (!results.ok()) {
            for (const auto& r : results.entries)
                if (!r) std::fprintf(stderr, "publish failed: %s\n", r.error_message.c_str());
            std::exit(1);
        }
    }
    bus.drain();
    return static_cast<double>(txs.size()) / seconds_since(start);
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

}  // namespace

int main(int argc, char** argv) {
    const std::size_t events = argc > 1 ? std::stoul(argv[1]) : 200000;
    const int rounds = argc > 2 ? std::stoi(argv[2]) : 3;
    const unsigned workers = argc > 3 ? static_cast<unsigned>(std::stoul(argv[3])) : 2;
    const std::string only = argc > 4 ? argv[4] : "";
    const auto txs = make_transactions(events);
    const auto dir = std::filesystem::temp_directory_path() / ("switchyard-bench-service-" + std::to_string(::getpid()));

    struct config {
        const char* name;
        std::function<double(counters&)> run;
    };
    const std::vector<config> configs = {
        {"direct", [&](counters& c) { return run_direct(txs, c); }},
        {"bus", [&](counters& c) { return run_bus(txs, c, workers, durability::none, dir); }},
#ifdef SERVICE_BENCH_DURABLE
        {"journal (NORMAL)", [&](counters& c) { return run_bus(txs, c, workers, durability::journal, dir); }},
        {"journal+archive", [&](counters& c) { return run_bus(txs, c, workers, durability::journal_and_archive, dir); }},
        {"journal, async", [&](counters& c) { return run_bus(txs, c, workers, durability::journal, dir, true); }},
        {"journal+archive, async", [&](counters& c) { return run_bus(txs, c, workers, durability::journal_and_archive, dir, true); }},
#endif
    };
    if (!only.empty() && std::none_of(configs.begin(), configs.end(), [&](const config& c) { return only == c.name; })) {
        std::fprintf(stderr, "bench_service: no configuration named \"%s\"; the configurations are:", only.c_str());
        for (const auto& c : configs) std::fprintf(stderr, " \"%s\"", c.name);
        std::fprintf(stderr, "\n");
        return 2;
    }
    std::vector<std::vector<double>> rates(configs.size());
    for (int r = 0; r < rounds; ++r)
        for (std::size_t k = 0; k < configs.size(); ++k) {
            if (k != 0 && !only.empty() && only != configs[k].name) continue;
            counters c;
            rates[k].push_back(configs[k].run(c));
            // Every configuration must have done the same work.
            const bool complete = c.ledger == events && c.notify == events && c.analytics == events && c.out_of_order == 0;
            if (!complete) {
                std::fprintf(stderr, "%s: incomplete (ledger %llu, notify %llu, analytics %llu, out of order %llu)\n",
                             configs[k].name, static_cast<unsigned long long>(c.ledger.load()),
                             static_cast<unsigned long long>(c.notify.load()), static_cast<unsigned long long>(c.analytics.load()),
                             static_cast<unsigned long long>(c.out_of_order.load()));
                return 1;
            }
            std::fprintf(stderr, "  round %d %-22s %12.0f events/s (fraud %llu)\n", r + 1, configs[k].name, rates[k].back(),
                         static_cast<unsigned long long>(c.fraud.load()));
        }
    std::filesystem::remove_all(dir);
    const double direct = median(rates[0]);
    std::printf("%-22s %14s %10s   (%zu events, %u workers, median of %d)\n", "configuration", "events/s", "vs direct", events,
                workers, rounds);
    for (std::size_t k = 0; k < configs.size(); ++k)
        if (!rates[k].empty()) std::printf("%-22s %14.0f %10.4f\n", configs[k].name, median(rates[k]), median(rates[k]) / direct);
    return 0;
}
