#include <doctest/doctest.h>

#include <atomic>
#include <thread>

#include "test_support.hpp"

using namespace switchyard;
using test_types::CreditCardTransaction;

namespace {

class fraud_desk final : public subscriber<CreditCardTransaction> {
public:
    void on_event(const event<CreditCardTransaction>& e) override { seen.push_back(e.detail.transactionId); }
    std::vector<std::string> seen;
};

}  // namespace

TEST_CASE("a subscriber receives events of its type until its subscription ends") {
    fraud_desk desk;
    bus b{"payments"};
    auto p = b.producer<CreditCardTransaction>("s");
    {
        auto sub = b.subscribe(desk);
        CHECK(sub.active());
        REQUIRE(b.list_rules().size() == 1);
        CHECK(b.list_rules()[0].managed);
        CHECK(p.publish({"t1", "c", 1, {}, {}}).ok());
        CHECK(b.producer<test_types::Refund>("s").publish({"t1", 1}).ok());  // another type: not delivered
    }
    CHECK(p.publish({"t2", "c", 1, {}, {}}).ok());
    b.drain();
    CHECK(desk.seen == std::vector<std::string>{"t1"});
    CHECK(b.list_rules().empty());
}

TEST_CASE("subscriptions move, and a moved-from handle ends nothing") {
    tally hits;
    bus b{"payments"};
    subscription outer;
    {
        auto inner = b.subscribe(R"({"source": ["s"]})", json_handler("h", [&](std::string_view) { hits.add(); }));
        outer = std::move(inner);
    }
    CHECK(b.put_events({{.source = "s", .detail_type = "X", .detail = "{}"}}).failed_entry_count == 0);
    outer.unsubscribe();
    CHECK_FALSE(outer.active());
    CHECK(b.put_events({{.source = "s", .detail_type = "X", .detail = "{}"}}).failed_entry_count == 0);
    b.drain();
    CHECK(hits.value() == 1);
}

TEST_CASE("a handler is never called after its subscription is destroyed, even with deliveries queued") {
    // Deliveries queue on a pool while the subscription ends from another thread. Once the
    // destructor returns, the handler must not run again (Boost.Signals2's slot-after-disconnect bug).
    thread_pool workers{4};
    bus b{"payments"};
    for (int round = 0; round < 50; ++round) {
        std::atomic<bool> ended{false};
        std::atomic<int> calls_after_end{0};
        std::atomic<int> calls{0};
        auto sub = std::make_unique<subscription>(b.subscribe(
            R"({"source": ["s"]})", json_handler("h",
                                                 [&](std::string_view) {
                                                     if (ended.load()) ++calls_after_end;
                                                     ++calls;
                                                 },
                                                 workers)));
        for (int i = 0; i < 200; ++i) CHECK(b.put_events({{.source = "s", .detail_type = "X", .detail = "{}"}}).failed_entry_count == 0);
        sub.reset();
        ended = true;
        REQUIRE(b.drain(std::chrono::seconds(30)));
        CHECK(calls_after_end.load() == 0);
    }
    std::uint64_t discarded = 0;
    for (const auto& s : b.stats()) discarded += s.discarded;
    CHECK(b.stats().empty());  // every subscription's rule is gone
    (void)discarded;
}

TEST_CASE("a handler may end its own subscription without deadlocking") {
    bus b{"payments"};
    thread_pool workers{1};
    tally calls;
    subscription sub;
    sub = b.subscribe(R"({"source": ["s"]})", json_handler("h",
                                                          [&](std::string_view) {
                                                              calls.add();
                                                              sub.unsubscribe();
                                                          },
                                                          workers));
    CHECK(b.put_events({{.source = "s", .detail_type = "X", .detail = "{}"}}).failed_entry_count == 0);
    REQUIRE(calls.wait_for(1));
    REQUIRE(b.drain(std::chrono::seconds(30)));
    CHECK(b.put_events({{.source = "s", .detail_type = "X", .detail = "{}"}}).failed_entry_count == 0);
    REQUIRE(b.drain(std::chrono::seconds(30)));
    CHECK(calls.value() == 1);
}

TEST_CASE("a subscription that outlives its bus ends harmlessly") {
    subscription sub;
    {
        bus b{"payments"};
        sub = b.subscribe(R"({"source": ["s"]})", json_handler("h", [](std::string_view) {}));
    }
    CHECK_FALSE(sub.active());
    sub.unsubscribe();
}
