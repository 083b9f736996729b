// The dedup window: duplicates inside the window are caught and outside it are not (time is
// injected, nothing sleeps), the count bound evicts the oldest keys, concurrent publishers of one
// key see exactly one first sighting, and content keys are stable and tell events apart.
// Labelled `concurrency`, so CI also runs it under ThreadSanitizer.
#include <doctest/doctest.h>

#include <atomic>
#include <barrier>
#include <chrono>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include <switchyard/detail/sha256.hpp>
#include <switchyard/dedup.hpp>

namespace {

using namespace std::chrono_literals;
using switchyard::dedup_options;
using switchyard::dedup_window;

const dedup_window::clock::time_point t0{std::chrono::hours(1000)};

std::string hex(const switchyard::detail::sha256::digest& d) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    for (const auto b : d) {
        out += digits[b >> 4];
        out += digits[b & 0xf];
    }
    return out;
}

}  // namespace

TEST_CASE("SHA-256 matches FIPS 180-4 test vectors") {
    using switchyard::detail::sha256;
    CHECK(hex(sha256{}.update("abc").finish()) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    CHECK(hex(sha256{}.finish()) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    CHECK(hex(sha256{}.update("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq").finish()) ==
          "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    // One million 'a's, fed in uneven pieces to exercise the block buffering.
    sha256 h;
    const std::string piece(997, 'a');
    std::size_t fed = 0;
    while (fed + piece.size() <= 1'000'000) {
        h.update(piece);
        fed += piece.size();
    }
    h.update(std::string(1'000'000 - fed, 'a'));
    CHECK(hex(h.finish()) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST_CASE("a duplicate inside the window is caught; outside it is not") {
    dedup_window w(dedup_options{.window = 5min, .max_entries = 100, .shards = 4});
    CHECK(w.first_seen("order-1", t0));
    CHECK_FALSE(w.first_seen("order-1", t0));
    CHECK_FALSE(w.first_seen("order-1", t0 + 4min + 59s));
    CHECK(w.first_seen("order-2", t0 + 1min));
    // The window is [first, first + window): at exactly five minutes the key is new again.
    CHECK(w.first_seen("order-1", t0 + 5min));
    CHECK_FALSE(w.first_seen("order-1", t0 + 9min));
    CHECK(w.first_seen("order-1", t0 + 10min + 1ms));

    const auto s = w.statistics();
    CHECK(s.duplicates == 3);
    CHECK(s.evictions_by_count == 0);
    CHECK(s.expirations >= 1);
}

TEST_CASE("a duplicate does not extend the window") {
    dedup_window w(dedup_options{.window = 10s, .max_entries = 10, .shards = 1});
    CHECK(w.first_seen("k", t0));
    for (int i = 1; i < 10; ++i) CHECK_FALSE(w.first_seen("k", t0 + std::chrono::seconds(i)));
    CHECK(w.first_seen("k", t0 + 10s));
}

TEST_CASE("expired keys are forgotten and counted") {
    dedup_window w(dedup_options{.window = 1s, .max_entries = 1000, .shards = 8});
    for (int i = 0; i < 100; ++i) CHECK(w.first_seen(fmt::format("k{}", i), t0));
    CHECK(w.statistics().entries == 100);
    // Expiry is lazy, per shard: a call to each shard after the window sweeps it. Enough
    // distinct keys reach every shard.
    for (int i = 0; i < 200; ++i) CHECK(w.first_seen(fmt::format("later{}", i), t0 + 2s));
    const auto s = w.statistics();
    CHECK(s.expirations == 100);
    CHECK(s.entries == 200);
}

TEST_CASE("the count bound evicts the oldest keys first") {
    dedup_window w(dedup_options{.window = 1h, .max_entries = 3, .shards = 1});
    CHECK(w.first_seen("a", t0));
    CHECK(w.first_seen("b", t0 + 1s));
    CHECK(w.first_seen("c", t0 + 2s));
    CHECK(w.statistics().evictions_by_count == 0);
    CHECK(w.first_seen("d", t0 + 3s));  // full: "a" goes
    auto s = w.statistics();
    CHECK(s.entries == 3);
    CHECK(s.evictions_by_count == 1);
    CHECK_FALSE(w.first_seen("b", t0 + 4s));
    CHECK_FALSE(w.first_seen("c", t0 + 4s));
    CHECK_FALSE(w.first_seen("d", t0 + 4s));
    // The documented cost: "a" was evicted early, so its late duplicate gets through.
    CHECK(w.first_seen("a", t0 + 5s));
    s = w.statistics();
    CHECK(s.evictions_by_count == 2);  // and "b" made room for it
    CHECK(s.entries == 3);
}

TEST_CASE("memory stays bounded under a flood of unique keys") {
    dedup_window w(dedup_options{.window = 1h, .max_entries = 1000, .shards = 16});
    CHECK(w.options().shards == 16);
    for (int i = 0; i < 20'000; ++i) CHECK(w.first_seen(fmt::format("flood-{}", i), t0 + std::chrono::milliseconds(i)));
    const auto s = w.statistics();
    CHECK(s.entries <= 1000);
    CHECK(s.entries + s.evictions_by_count == 20'000);
}

TEST_CASE("options are validated and shards rounded") {
    CHECK_THROWS_AS(dedup_window(dedup_options{.window = 0ms, .max_entries = 1, .shards = 1}), switchyard::error);
    CHECK_THROWS_AS(dedup_window(dedup_options{.window = 1ms, .max_entries = 0, .shards = 1}), switchyard::error);
    CHECK_THROWS_AS(dedup_window(dedup_options{.window = 1ms, .max_entries = 1, .shards = 0}), switchyard::error);
    CHECK(dedup_window(dedup_options{.window = 1s, .max_entries = 100, .shards = 12}).options().shards == 8);
    CHECK(dedup_window(dedup_options{.window = 1s, .max_entries = 5, .shards = 16}).options().shards == 4);
    CHECK(dedup_window(dedup_options{.window = 1s, .max_entries = 1, .shards = 16}).options().shards == 1);
    dedup_window defaults;
    CHECK(defaults.options().window == std::chrono::minutes(5));
    CHECK(defaults.options().max_entries == 1'000'000);
    CHECK(defaults.first_seen("x"));  // the real clock
    CHECK_FALSE(defaults.first_seen("x"));
}

TEST_CASE("a clock that steps back does not lose or invent duplicates") {
    // Publishers read the clock before taking the shard lock, so `now` can arrive out of order.
    dedup_window w(dedup_options{.window = 10s, .max_entries = 100, .shards = 1});
    CHECK(w.first_seen("late", t0 + 5s));
    CHECK(w.first_seen("early", t0));        // queued behind "late" though it expires first
    CHECK_FALSE(w.first_seen("early", t0 + 9s));
    CHECK(w.first_seen("early", t0 + 11s));  // expired, though "late" still blocks the queue front
    CHECK_FALSE(w.first_seen("late", t0 + 14s));
    CHECK_FALSE(w.first_seen("early", t0 + 14s));
    CHECK(w.first_seen("late", t0 + 15s));
    CHECK(w.first_seen("early", t0 + 21s));
    CHECK(w.statistics().entries == 2);
}

TEST_CASE("forget undoes a first sighting, so a retried publish is delivered") {
    dedup_window w(dedup_options{.window = 10s, .max_entries = 2, .shards = 1});
    CHECK(w.first_seen("retry-me", t0));
    CHECK(w.forget("retry-me"));
    CHECK_FALSE(w.forget("retry-me"));
    CHECK_FALSE(w.forget("never-seen"));
    CHECK(w.first_seen("retry-me", t0 + 1s));  // the retry is new
    CHECK_FALSE(w.first_seen("retry-me", t0 + 2s));
    CHECK(w.first_seen("retry-me", t0 + 11s));  // its window started at the retry

    // A forgotten key's node leaves with its queue slot, by expiry or by eviction.
    CHECK(w.forget("retry-me"));
    CHECK(w.first_seen("a", t0 + 12s));
    CHECK(w.first_seen("b", t0 + 13s));  // full: the forgotten key goes first
    CHECK_FALSE(w.first_seen("a", t0 + 14s));
    CHECK(w.statistics().entries == 2);
    CHECK(w.first_seen("c", t0 + 30s));  // everything expired
    CHECK(w.statistics().entries == 1);
}

TEST_CASE("content keys are stable and tell apart events that differ in any field") {
    const auto key = dedup_window::content_key("com.example", "OrderPlaced", R"({"id":1})");
    // Stable across runs and builds: SHA-256 over length-prefixed fields, first 128 bits.
    CHECK(key == "c:d081b4c29157e9624008f417786abf32");
    CHECK(key == dedup_window::content_key("com.example", "OrderPlaced", R"({"id":1})"));
    // Layout is not content (hardening): whitespace between tokens does not change the key,
    // whitespace inside a string does.
    CHECK(key == dedup_window::content_key("com.example", "OrderPlaced", "{ \"id\" :\n\t1 }"));
    CHECK(dedup_window::content_key("s", "t", R"({"a":"x y"})") != dedup_window::content_key("s", "t", R"({"a":"xy"})"));

    std::set<std::string> keys{key};
    for (const auto& k : {dedup_window::content_key("com.example2", "OrderPlaced", R"({"id":1})"),
                          dedup_window::content_key("com.example", "OrderPlaced2", R"({"id":1})"),
                          dedup_window::content_key("com.example", "OrderPlaced", R"({"id":2})"),
                          // Moving bytes between fields changes the key (length prefixes).
                          dedup_window::content_key("com.exampleO", "rderPlaced", R"({"id":1})"),
                          dedup_window::content_key("", "", ""),
                          dedup_window::content_key("", "", "{}"),
                          dedup_window::content_key("", "{}", ""),
                          dedup_window::content_key("{}", "", "")})
        CHECK(keys.insert(k).second);

    // Producer ids live in their own namespace.
    CHECK(dedup_window::id_key("abc") == "id:abc");
    CHECK(dedup_window::id_key(key) != key);

    dedup_window w;
    CHECK(w.first_seen(key, t0));
    CHECK_FALSE(w.first_seen(dedup_window::content_key("com.example", "OrderPlaced", R"({"id":1})"), t0 + 1s));
    CHECK(w.first_seen(dedup_window::content_key("com.example", "OrderPlaced", R"({"id":2})"), t0 + 1s));
}

TEST_CASE("keys are compared exactly, including embedded NULs") {
    dedup_window w(dedup_options{.window = 1h, .max_entries = 100, .shards = 1});
    CHECK(w.first_seen(std::string_view("a\0b", 3), t0));
    CHECK(w.first_seen(std::string_view("a\0c", 3), t0));
    CHECK(w.first_seen("a", t0));
    CHECK_FALSE(w.first_seen(std::string_view("a\0b", 3), t0));
    CHECK(w.first_seen("", t0));
    CHECK_FALSE(w.first_seen("", t0));
}

TEST_CASE("concurrent publishers of one key: exactly one first sighting") {
    constexpr int threads = 4;
    constexpr int keys = 300;
    dedup_window w(dedup_options{.window = 1h, .max_entries = 100'000, .shards = 4});
    std::atomic<int> firsts[keys] = {};
    std::barrier start(threads);
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t) {
        workers.emplace_back([&] {
            for (int k = 0; k < keys; ++k) {
                start.arrive_and_wait();  // every thread offers key k at once
                if (w.first_seen(fmt::format("key-{}", k))) firsts[k].fetch_add(1, std::memory_order_relaxed);
            }
        });
    }
    for (auto& worker : workers) worker.join();
    for (int k = 0; k < keys; ++k) {
        CAPTURE(k);
        CHECK(firsts[k].load() == 1);
    }
    const auto s = w.statistics();
    CHECK(s.entries == keys);
    CHECK(s.duplicates == static_cast<std::uint64_t>(keys * (threads - 1)));
}

TEST_CASE("concurrent publishers of distinct keys, with eviction, keep the accounting exact") {
    constexpr int threads = 4;
    constexpr int per_thread = 5000;
    dedup_window w(dedup_options{.window = 1h, .max_entries = 2048, .shards = 8});
    std::atomic<int> firsts{0};
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t) {
        workers.emplace_back([&, t] {
            for (int i = 0; i < per_thread; ++i) {
                if (w.first_seen(fmt::format("t{}-{}", t, i))) firsts.fetch_add(1);
                if (i % 7 == 0) (void)w.statistics();  // readers alongside writers
            }
        });
    }
    for (auto& worker : workers) worker.join();
    CHECK(firsts.load() == threads * per_thread);
    const auto s = w.statistics();
    CHECK(s.entries <= 2048);
    CHECK(s.entries + s.evictions_by_count == static_cast<std::uint64_t>(threads * per_thread));
    CHECK(s.duplicates == 0);
}
