// Live reconfiguration: several threads publish at full speed while another adds, replaces,
// enables, disables and removes rules and targets. Checks the two promises:
//  1. after remove_rule returns, the rule matches no event published afterwards;
//  2. events a rule already matched are still delivered (every accepted delivery ends).
// Runs under ThreadSanitizer in CI.
#include <doctest/doctest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <thread>

#include "test_support.hpp"

using namespace switchyard;
using namespace std::chrono_literals;

namespace {
struct Ticket {
    std::uint64_t ticket = 0;  // taken just before publish starts
};
SWITCHYARD_EVENT(Ticket, "TICKET", ticket)
}  // namespace

TEST_CASE("rules change under full-speed publishing: removed rules stop matching, matched events are delivered") {
    thread_pool workers{2};
    bus b{"live"};
    std::atomic<std::uint64_t> tickets{0};
    std::atomic<bool> stop{false};

    std::mutex m;
    std::map<std::string, std::vector<std::uint64_t>> delivered;  // rule -> tickets it delivered
    std::map<std::string, std::uint64_t> removed_at;               // rule -> ticket tally read after remove returned
    auto target_for = [&](const std::string& rule, const char* id) {
        return handler<Ticket>(id,
                               [&, rule](const event<Ticket>& e) {
                                   std::lock_guard lock(m);
                                   delivered[rule].push_back(e.detail.ticket);
                               },
                               workers);
    };

    std::vector<std::thread> publishers;
    tally published;  // lets each round wait until publishing is actually under way
    for (int p = 0; p < 3; ++p)
        publishers.emplace_back([&] {
            auto producer = b.producer<Ticket>("com.example.live");
            while (!stop.load(std::memory_order_relaxed)) {
                const auto ticket = tickets.fetch_add(1) + 1;
                const auto r = producer.publish({ticket});
                REQUIRE(r.ok());
                published.add();
            }
        });

    const char* const pattern = R"({"detail-type": ["TICKET"]})";
    for (int round = 0; round < 60; ++round) {
        // Regression: on a loaded machine all 60 rounds once ran before any publisher had
        // published, so nothing was exercised. Each round waits for fresh publishes first.
        REQUIRE(published.wait_for(published.value() + 1, 30s));
        const std::string name = "rule-" + std::to_string(round);
        b.add_rule({.name = name, .pattern = pattern, .targets = {target_for(name, "a")}});
        b.disable_rule(name);
        b.enable_rule(name);
        b.put_rule({.name = name, .pattern = pattern, .targets = {target_for(name, "b")}});
        b.put_targets(name, {target_for(name, "c")});
        b.remove_targets(name, {"b"});
        REQUIRE(b.remove_rule(name));
        const auto after = tickets.load();
        std::lock_guard lock(m);
        removed_at[name] = after;
    }
    stop = true;
    for (auto& t : publishers) t.join();
    REQUIRE(b.drain(120s));

    CHECK(published.value() >= 60);
    std::size_t late = 0;
    for (const auto& [rule, list] : delivered)
        for (const auto ticket : list)
            if (ticket > removed_at.at(rule)) ++late;  // its publish began after remove_rule returned
    CHECK(late == 0);
    CHECK(b.pending() == 0);
    CHECK(b.list_rules().empty());
}
