// nats_source against a real nats-server: a round trip through JetStream, ack only on
// settlement, nak and redelivery, term + dead letter after max_deliver (other keys flowing),
// "in progress" for slow handlers, start positions, two sources sharing a durable, per-key order
// through partitioned subjects, and a server killed and restarted while events flow.
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>
#include <switchyard/executor/manual_executor.hpp>
#include <switchyard/executor/thread_pool.hpp>
#include <switchyard/nats/nats_source.hpp>
#include <switchyard/nats/nats_target.hpp>
#include <switchyard/switchyard.hpp>

#include "nats/nats_server.hpp"
#include "nats/nats_test_support.hpp"

using namespace switchyard;
using namespace std::chrono_literals;

namespace {

constexpr const char* everything = R"({"source": [{"prefix": ""}]})";

event_ptr order(bus& b, int n, const std::string& customer = "c-1") {
    return make_json_event(b.make_envelope("com.example.orders", "OrderPlaced"),
                           R"({"n": )" + std::to_string(n) + R"(, "customer": ")" + customer + R"("})");
}

// A bus that publishes everything to JetStream on events.{detail-type}.
struct producer_side {
    explicit producer_side(std::shared_ptr<nats_connection> c, nats_target_options o = {}) : conn(std::move(c)) {
        b.add_rule({.name = "to-nats", .pattern = everything, .targets = {nats_target("jetstream", conn, std::move(o))}});
    }
    // Publishes and returns once the event is stored (its delivery ended with the PubAck): the
    // tests below reason about what the stream holds when.
    std::string publish(int n, const std::string& customer = "c-1") {
        const auto id = publish_in_flight(n, customer);
        REQUIRE(b.drain(30s));
        return id;
    }
    // Publishes and returns at once, the PubAck still to come (nats_target is asynchronous).
    std::string publish_in_flight(int n, const std::string& customer = "c-1") {
        auto e = order(b, n, customer);
        const auto r = b.publish(e);
        REQUIRE(r.ok());
        return e->meta().id;
    }
    void stored() { REQUIRE(b.drain(30s)); }
    std::shared_ptr<nats_connection> conn;
    bus b{"producer"};
};

nats_source_options source_options(std::string durable) {
    nats_source_options o;
    o.stream = "EVENTS";
    o.durable = std::move(durable);
    o.fetch_wait = 100ms;
    o.nak_delay = 20ms;
    return o;
}

// The consumer's ack floor (the last stream sequence acknowledged or terminated in order) and counts.
struct consumer_floor {
    std::uint64_t ack_floor = 0;
    std::int64_t ack_pending = -1;
    std::uint64_t pending = 0;
    std::uint64_t delivered = 0;  // deliveries the server made (the consumer sequence)
    std::int64_t waiting = -1;    // pull requests open at the server
};
consumer_floor floor_of(nats_connection& c, const std::string& durable) {
    jsConsumerInfo* ci = nullptr;
    consumer_floor out;
    if (js_GetConsumerInfo(&ci, c.internals()->js, "EVENTS", durable.c_str(), nullptr, nullptr) != NATS_OK) return out;
    out.ack_floor = ci->AckFloor.Stream;
    out.ack_pending = ci->NumAckPending;
    out.pending = ci->NumPending;
    out.delivered = ci->Delivered.Consumer;
    out.waiting = ci->NumWaiting;
    jsConsumerInfo_Destroy(ci);
    return out;
}

}  // namespace

TEST_CASE("nats_source: bad options and a missing stream are refused with the fix") {
    nats_server server;
    auto c = connect_to(server.url());
    bus b{"consumer"};
    CHECK_THROWS_WITH_AS(nats_source(b, c, source_options("d")), doctest::Contains("stream does not exist"), error);
    c->add_stream({.name = "EVENTS", .subjects = {"events.>"}});
    CHECK_THROWS_WITH_AS(nats_source(b, c, source_options("")), doctest::Contains("durable is empty"), error);
    CHECK_THROWS_WITH_AS(nats_source(b, c, source_options("a.b")), doctest::Contains("cannot hold '.'"), error);
    auto o = source_options("d");
    o.max_deliver = 0;
    CHECK_THROWS_WITH_AS(nats_source(b, c, o), doctest::Contains("max_deliver"), error);
    CHECK_THROWS_WITH_AS(nats_source(b, nullptr, source_options("d")), doctest::Contains("connection is null"), error);
}

TEST_CASE("nats_source: a second source on a durable with other settings is refused, and the consumer is left as it was") {
    nats_server server;
    auto c = connect_to(server.url());
    c->add_stream({.name = "EVENTS", .subjects = {"events.>"}});
    bus b{"consumer"};
    auto o = source_options("shared");
    o.max_deliver = 3;
    nats_source first(b, c, o);
    // The same settings (another start position does not count: a durable goes on where it was).
    auto same = o;
    same.start = nats_start::new_only;
    CHECK_NOTHROW(nats_source(b, c, same));

    auto other = o;
    other.max_deliver = 7;
    other.ack_wait = 5s;
    CHECK_THROWS_WITH_AS(nats_source(b, c, other),
                         doctest::Contains("exists with other settings (ack_wait (ns): 30000000000 there, 5000000000 here; "
                                           "MaxDeliver (max_deliver + 1): 4 there, 8 here)"),
                         error);
    auto filtered = o;
    filtered.filter_subject = "events.OrderPlaced";
    CHECK_THROWS_WITH_AS(nats_source(b, c, filtered), doctest::Contains(R"(filter_subject: "" there, "events.OrderPlaced" here)"), error);

    jsConsumerInfo* ci = nullptr;
    REQUIRE(js_GetConsumerInfo(&ci, c->internals()->js, "EVENTS", "shared", nullptr, nullptr) == NATS_OK);
    CHECK(ci->Config->MaxDeliver == 4);
    CHECK(ci->Config->AckWait == 30'000'000'000);
    jsConsumerInfo_Destroy(ci);
}

TEST_CASE("nats_source: events cross JetStream into a bus whole (id, envelope, trace), each acked once delivered") {
    nats_server server;
    auto c = connect_to(server.url());
    c->add_stream({.name = "EVENTS", .subjects = {"events.>"}});
    producer_side producer(c);
    constexpr int n = 300;
    std::set<std::string> sent;
    for (int i = 0; i < n; ++i) sent.insert(producer.publish(i));

    received_log got;
    std::atomic<int> traced{0};
    bus consumer_bus{"consumer"};
    auto sub = consumer_bus.subscribe(everything, json_handler("h", [&](std::string_view json) {
                                          got.add(json);
                                          if (nlohmann::json::parse(json).contains("traceparent")) traced.fetch_add(1);
                                      }));
    nats_source source(consumer_bus, c, source_options("round-trip"));
    REQUIRE(got.wait_distinct(n));
    std::set<std::string> ids;
    for (const auto& [id, count] : got.by_id()) ids.insert(id);
    CHECK(ids == sent);
    CHECK(got.total() == n);  // nothing twice
    REQUIRE(eventually([&] { return source.stats().acks == n; }));
    CHECK(eventually([&] { return consumer(*c, "EVENTS", "round-trip").ack_pending == 0; }));
    const auto st = source.stats();
    CHECK(st.received == n);
    CHECK(st.naks == 0);
    CHECK(st.terms == 0);
    CHECK(st.redeliveries == 0);
    CHECK(st.in_flight == 0);
    CHECK(traced.load() == 0);  // no tracer anywhere: no trace context was invented
}

TEST_CASE("nats_source: a message is acked only once every delivery it started has ended") {
    nats_server server;
    auto c = connect_to(server.url());
    c->add_stream({.name = "EVENTS", .subjects = {"events.>"}});
    producer_side producer(c);
    producer.publish(1);

    std::atomic<int> fast{0}, slow{0};
    manual_executor later;
    bus consumer_bus{"consumer"};
    consumer_bus.add_rule({.name = "r",
                           .pattern = everything,
                           .targets = {json_handler("fast", [&](std::string_view) { fast.fetch_add(1); }),
                                       json_handler("slow", [&](std::string_view) { slow.fetch_add(1); }, later)}});
    nats_source source(consumer_bus, c, source_options("acks"));
    REQUIRE(eventually([&] { return fast.load() == 1 && later.size() == 1; }));
    // One delivery ended, the other waits in `later`: not acked.
    CHECK(source.stats().acks == 0);
    CHECK(consumer(*c, "EVENTS", "acks").ack_pending == 1);
    later.run_all();
    CHECK(slow.load() == 1);
    // The settlement may reach the source on another thread after run_all() returns.
    CHECK(eventually([&] { return source.stats().acks == 1; }));
    CHECK(eventually([&] { return consumer(*c, "EVENTS", "acks").ack_pending == 0; }));
}

TEST_CASE("nats_source: a poison message gets exactly max_deliver attempts, then a dead letter; other keys keep flowing") {
    nats_server server;
    auto c = connect_to(server.url());
    c->add_stream({.name = "EVENTS", .subjects = {"events.>"}});
    producer_side producer(c);
    constexpr int n = 100;
    std::string poison_id;
    for (int i = 0; i < n; ++i) {
        const auto id = producer.publish(i, i == 10 ? "poison" : "c-" + std::to_string(i % 5));
        if (i == 10) poison_id = id;
    }

    received_log got;
    std::atomic<int> poison_attempts{0};
    bus consumer_bus{"consumer", quiet_bus()};
    consumer_bus.set_error_handler([](const dead_letter&) {});  // the local dead letters of each attempt
    consumer_bus.add_rule({.name = "r",
                           .pattern = everything,
                           .targets = {json_handler("h",
                                                    [&](std::string_view json) {
                                                        if (json.find("\"poison\"") != std::string_view::npos) {
                                                            poison_attempts.fetch_add(1);
                                                            throw std::runtime_error("cannot handle this one");
                                                        }
                                                        got.add(json);
                                                    })
                                           .retry(retry_policy::none())}});
    std::mutex m;
    std::vector<dead_letter> letters;
    auto o = source_options("poison");
    o.max_deliver = 3;
    o.dead_letters = [&](const dead_letter& d) {
        std::lock_guard lock(m);
        letters.push_back(d);
    };
    nats_source source(consumer_bus, c, o);
    REQUIRE(got.wait_distinct(n - 1));
    REQUIRE(eventually([&] { return source.stats().terms == 1; }));
    CHECK(poison_attempts.load() == 3);
    {
        std::lock_guard lock(m);
        REQUIRE(letters.size() == 1);
        CHECK(letters[0].event->meta().id == poison_id);
        CHECK(letters[0].attempts == 3);
        CHECK(letters[0].reason == dead_letter_reason::retries_exhausted);
        CHECK(letters[0].error_code == "MaxDeliverReached");
        CHECK(letters[0].error_message.find("cannot handle this one") != std::string::npos);
        CHECK(letters[0].error_message.find("max_deliver") != std::string::npos);
    }
    // The acks and naks are counted when the settlements reach the source: wait for them.
    CHECK(eventually([&] { return source.stats().acks == n - 1; }));
    CHECK(eventually([&] { return source.stats().naks == 2; }));
    const auto st = source.stats();
    CHECK(st.naks == 2);
    CHECK(st.acks == n - 1);
    CHECK(st.redeliveries == 2);
    // The server allows one delivery more than max_deliver (for a last delivery that never settles).
    {
        jsConsumerInfo* ci = nullptr;
        REQUIRE(js_GetConsumerInfo(&ci, c->internals()->js, "EVENTS", "poison", nullptr, nullptr) == NATS_OK);
        CHECK(ci->Config->MaxDeliver == 4);
        jsConsumerInfo_Destroy(ci);
    }
    CHECK(got.total() == n - 1);
    CHECK(eventually([&] { return consumer(*c, "EVENTS", "poison").ack_pending == 0; }));
    // And it stays dead: nothing is redelivered after the term.
    CHECK_FALSE(eventually([&] { return poison_attempts.load() > 3; }, 500ms));
}

TEST_CASE("nats_source: a throttled publish is tried again (backpressure), then naked and redelivered: nothing lost") {
    nats_server server;
    auto c = connect_to(server.url());
    c->add_stream({.name = "EVENTS", .subjects = {"events.>"}});
    producer_side producer(c);
    received_log got;  // before the pool and the bus: their deliveries write into it
    thread_pool pool(1);
    bus consumer_bus{"consumer"};
    auto o = source_options("throttled");
    int work_ms = 2;
    SUBCASE("short waits: tried again in place, no nak") {}
    SUBCASE("long waits: past ack_wait / 2 the message is naked and comes back") {
        // Each delivery takes longer than ack_wait / 2: a throttled publish waits past it. The
        // running message's "in progress" signals (every ack_wait / 3) keep it from being
        // redelivered while it runs; with ack_wait 1 s a loaded machine (ctest -j2, sanitizers)
        // could delay them past it, and the redelivered copy ran twice.
        work_ms = 1100;
        o.ack_wait = 2000ms;
        o.max_deliver = 1000;
    }
    const int n = work_ms == 2 ? 40 : 5;
    for (int i = 0; i < n; ++i) producer.publish(i);
    consumer_bus.add_rule({.name = "r",
                           .pattern = everything,
                           .targets = {json_handler(
                                           "slowish",
                                           [&](std::string_view json) {
                                               std::this_thread::sleep_for(std::chrono::milliseconds(work_ms));  // the work
                                               got.add(json);
                                           },
                                           pool)
                                           .bounded({.capacity = work_ms == 2 ? 2u : 1u, .on_full = overflow_policy::reject})}});
    nats_source source(consumer_bus, c, o);
    REQUIRE(got.wait_distinct(static_cast<std::size_t>(n), 60s));
    CHECK(eventually([&] { return source.stats().acks == static_cast<std::uint64_t>(n); }));
    CHECK(source.stats().terms == 0);
    if (work_ms == 2) CHECK(source.stats().naks == 0);
    else CHECK(source.stats().naks > 0);
    MESSAGE("naks " << source.stats().naks << ", received " << source.stats().received << ", redeliveries " << source.stats().redeliveries
                     << ", in progress " << source.stats().in_progress << ", delivered " << got.total() << " for " << n << " events");
    CHECK(got.total() == static_cast<std::size_t>(n));  // a nak'd message was never delivered: no duplicates
}

TEST_CASE("nats_source: a slow handler's message is kept from redelivery with in-progress signals") {
    nats_server server;
    auto c = connect_to(server.url());
    c->add_stream({.name = "EVENTS", .subjects = {"events.>"}});
    producer_side producer(c);
    producer.publish(1);

    std::atomic<int> calls{0};
    thread_pool pool(1);
    bus consumer_bus{"consumer"};
    consumer_bus.add_rule({.name = "r",
                           .pattern = everything,
                           .targets = {json_handler(
                               "slow",
                               [&](std::string_view) {
                                   calls.fetch_add(1);
                                   std::this_thread::sleep_for(2500ms);  // the slow work: 2.5 times ack_wait
                               },
                               pool)}});
    auto o = source_options("slow");
    o.ack_wait = 1000ms;
    nats_source source(consumer_bus, c, o);
    REQUIRE(eventually([&] { return source.stats().acks == 1; }, 10s));
    CHECK(calls.load() == 1);
    CHECK(source.stats().redeliveries == 0);
    CHECK(source.stats().in_progress >= 2);
}

TEST_CASE("nats_source: a new consumer starts at the first message, new ones only, a sequence, or a time") {
    nats_server server;
    auto c = connect_to(server.url());
    c->add_stream({.name = "EVENTS", .subjects = {"events.>"}});
    producer_side producer(c);
    std::vector<std::string> first, second;
    // The first batch just after a whole second, so that `between` has a fraction of a second
    // below 0.1 s: nats.c 3.4.1 sends such a start time wrong (0.005 s as ".5"), which the
    // source works around; the first batch, stored in [whole second, between), must not come.
    std::this_thread::sleep_until(std::chrono::ceil<std::chrono::seconds>(std::chrono::system_clock::now()));
    for (int i = 0; i < 5; ++i) first.push_back(producer.publish(i));
    const auto between = std::chrono::system_clock::now() + 1ms;
    std::this_thread::sleep_until(between + 20ms);  // the server's clock and ours: keep the batches apart in time
    for (int i = 5; i < 10; ++i) second.push_back(producer.publish(i));

    auto consume = [&](const std::string& durable, nats_start start, std::uint64_t seq, std::chrono::system_clock::time_point t,
                       std::size_t expect, const std::function<void()>& then = {}) {
        received_log got;
        bus b{"consumer"};
        auto sub = b.subscribe(everything, json_handler("h", [&](std::string_view json) { got.add(json); }));
        auto o = source_options(durable);
        o.start = start;
        o.start_sequence = seq;
        o.start_time = t;
        nats_source source(b, c, o);
        if (then) then();
        CHECK(got.wait_distinct(expect));
        CHECK_FALSE(got.wait_distinct(expect + 1, 300ms));  // and no more
        std::set<std::string> ids;
        for (const auto& [id, count] : got.by_id()) ids.insert(id);
        std::string which;
        for (const auto& id : ids) {
            for (std::size_t i = 0; i < first.size(); ++i) if (first[i] == id) which += " first[" + std::to_string(i) + "]";
            for (std::size_t i = 0; i < second.size(); ++i) if (second[i] == id) which += " second[" + std::to_string(i) + "]";
        }
        INFO(durable << " received:" << which);
        CHECK(ids.size() == expect);
        return ids;
    };
    SUBCASE("all") { CHECK(consume("all", nats_start::all, 1, {}, 10).size() == 10); }
    SUBCASE("sequence") {
        const auto ids = consume("seq", nats_start::sequence, 8, {}, 3);
        CHECK(ids == std::set<std::string>(second.begin() + 2, second.end()));
    }
    SUBCASE("time") {
        const auto ids = consume("time", nats_start::time, 1, between, 5);
        CHECK(ids == std::set<std::string>(second.begin(), second.end()));
    }
    SUBCASE("new only") {
        std::string later_id;
        const auto ids = consume("new", nats_start::new_only, 1, {}, 1, [&] { later_id = producer.publish(99); });
        CHECK(ids == std::set<std::string>{later_id});
    }
}

TEST_CASE("nats_source: two sources on one durable share the work; each message is processed once") {
    nats_server server;
    auto c = connect_to(server.url());
    c->add_stream({.name = "EVENTS", .subjects = {"events.>"}});
    producer_side producer(c);
    constexpr int n = 400;

    received_log all;
    std::atomic<int> a_count{0}, b_count{0};
    bus bus_a{"a"}, bus_b{"b"};
    auto sub_a = bus_a.subscribe(everything, json_handler("h", [&](std::string_view json) {
                                     std::this_thread::sleep_for(500us);
                                     a_count.fetch_add(1);
                                     all.add(json);
                                 }));
    auto sub_b = bus_b.subscribe(everything, json_handler("h", [&](std::string_view json) {
                                     std::this_thread::sleep_for(500us);
                                     b_count.fetch_add(1);
                                     all.add(json);
                                 }));
    auto o = source_options("shared");
    o.fetch_batch = 8;
    o.max_in_flight = 16;
    auto ca = connect_to(server.url(), nullptr, "a");
    auto cb = connect_to(server.url(), nullptr, "b");
    nats_source source_a(bus_a, ca, o);
    nats_source source_b(bus_b, cb, o);
    // Published once both sources exist: neither can drain the work before the other pulls.
    for (int i = 0; i < n; ++i) producer.publish_in_flight(i);
    REQUIRE(all.wait_distinct(n));
    CHECK(all.total() == n);
    CHECK(a_count.load() > 0);
    CHECK(b_count.load() > 0);
    MESSAGE("source a processed " << a_count.load() << ", source b " << b_count.load());
}

// nats.c 3.4.1's natsSubscription_Fetch writes past its array when a pull request starts with
// more than half a batch of messages already waiting in the subscription (late deliveries for
// an earlier request that timed out): heap corruption, seen in CI under the server-kill test.
// Pull requests that expire as fast as their messages arrive make such late deliveries common.
TEST_CASE("nats_source: pull requests that expire as their messages arrive: late deliveries are taken, nothing lost") {
    nats_server server;
    auto c = connect_to(server.url());
    c->add_stream({.name = "EVENTS", .subjects = {"events.>"}});
    producer_side producer(c);
    int n = 5000;
    if (const char* env = std::getenv("SWITCHYARD_NATS_EVENTS")) n = std::max(n, std::atoi(env));
    for (int i = 0; i < n; ++i) producer.publish_in_flight(i);
    producer.stored();

    received_log got;
    bus consumer_bus{"consumer"};
    auto sub = consumer_bus.subscribe(everything, json_handler("h", [&](std::string_view json) { got.add(json); }));
    auto o = source_options("expiring");
    o.fetch_wait = 1ms;  // each request expires about when its messages come
    o.fetch_batch = 64;
    o.max_in_flight = 512;
    auto cc = connect_to(server.url(), nullptr, "consumer");
    nats_source source(consumer_bus, cc, o);
    CHECK(got.wait_distinct_progressing(static_cast<std::size_t>(n), 15s, 150s));
    CHECK(got.by_id().size() == static_cast<std::size_t>(n));
    REQUIRE(eventually([&] { return source.stats().acks >= static_cast<std::uint64_t>(n); }));
    MESSAGE("received " << source.stats().received << " for " << n << ", redeliveries " << source.stats().redeliveries);
}

// A pull request that waits for messages is not held until its batch is full or it expires:
// a trickle of events (one here) is handed on about as soon as it arrives. (It was held, and a
// stream of 2,000 events/s crossed the bridge in 16 ms at the median instead of 1.)
TEST_CASE("nats_source: a trickle of events is handed on at once, not when a batch fills or the pull request expires") {
    nats_server server;
    auto c = connect_to(server.url());
    c->add_stream({.name = "EVENTS", .subjects = {"events.>"}});
    producer_side producer(c);
    received_log got;
    bus consumer_bus{"consumer"};
    auto sub = consumer_bus.subscribe(everything, json_handler("h", [&](std::string_view json) { got.add(json); }));
    auto o = source_options("trickle");
    o.fetch_wait = 4s;  // a pull request waits up to 4 s
    nats_source source(consumer_bus, c, o);
    // The source's request is waiting at the server once the consumer says so.
    REQUIRE(eventually([&] { return floor_of(*c, "trickle").waiting >= 1; }, 20s));
    for (int i = 0; i < 3; ++i) {
        producer.publish(i);
        // Well before the request's expiry (and its batch of 64 is far from full).
        CHECK(got.wait_distinct(static_cast<std::size_t>(i + 1), 2s));
    }
    CHECK(got.total() == 3);
}

// A pull request JetStream refuses (here: a batch above the consumer's MaxRequestBatch, a setting
// the source does not compare) is a fetch error, logged with JetStream's reason and retried after
// the error pause, not an empty fetch retried at once and never reported.
TEST_CASE("nats_source: a pull request JetStream refuses is a fetch error, logged with JetStream's reason") {
    nats_server server;
    auto log = std::make_shared<recording_sink>();
    auto c = connect_to(server.url(), log);
    c->add_stream({.name = "EVENTS", .subjects = {"events.>"}});
    auto o = source_options("small-batches");
    {
        // The durable as another tool made it: every setting the source compares agrees, and
        // MaxRequestBatch is 4.
        jsConsumerConfig cc;
        jsConsumerConfig_Init(&cc);
        cc.Durable = "small-batches";
        cc.AckPolicy = js_AckExplicit;
        cc.AckWait = static_cast<std::int64_t>(o.ack_wait.count()) * 1'000'000;
        cc.MaxDeliver = static_cast<std::int64_t>(o.max_deliver) + 1;
        cc.MaxAckPending = static_cast<std::int64_t>(o.max_in_flight);
        cc.MaxRequestBatch = 4;
        jsConsumerInfo* ci = nullptr;
        REQUIRE(js_AddConsumer(&ci, c->internals()->js, "EVENTS", &cc, nullptr, nullptr) == NATS_OK);
        jsConsumerInfo_Destroy(ci);
    }
    bus consumer_bus{"consumer"};
    auto sub = consumer_bus.subscribe(everything, json_handler("h", [](std::string_view) {}));
    nats_source source(consumer_bus, c, o);  // asks for fetch_batch = 64
    CHECK(eventually([&] { return log->count("JetStream refused the pull request: 409") > 0; }));
    CHECK(log->count("MaxRequestBatch") > 0);
}

TEST_CASE("per-key order: partitioned subjects and a source ordered by subject keep each key's events in order") {
    nats_server server;
    auto c = connect_to(server.url());
    c->add_stream({.name = "EVENTS", .subjects = {"events.>"}});
    producer_side producer(c, {.subject = "events.{partition}", .partition_key = "$.detail.customer", .partitions = 4});
    constexpr int keys = 8, per_key = 50;
    for (int i = 0; i < per_key; ++i)
        for (int k = 0; k < keys; ++k) producer.publish_in_flight(i, "k" + std::to_string(k));
    // Many in flight at once: each key's are stored in order all the same (the target is
    // ordered by the key, so a key's next publish starts when the previous one's PubAck came).
    producer.stored();

    received_log got;
    thread_pool pool(4);
    bus consumer_bus{"consumer"};
    std::mt19937 random(12345);
    std::mutex random_mutex;
    consumer_bus.add_rule({.name = "r",
                           .pattern = everything,
                           .targets = {json_handler(
                               "h",
                               [&](std::string_view json) {
                                   int us = 0;
                                   {
                                       std::lock_guard lock(random_mutex);
                                       us = static_cast<int>(random() % 300);
                                   }
                                   std::this_thread::sleep_for(std::chrono::microseconds(us));  // uneven work
                                   got.add(json);
                               },
                               pool)}});
    auto o = source_options("ordered");
    o.ordered_by_subject = true;
    nats_source source(consumer_bus, c, o);
    REQUIRE(got.wait_distinct(keys * per_key));
    int out_of_order = 0;
    for (const auto& [key, seq] : got.by_key()) {
        CHECK(seq.size() == per_key);
        for (std::size_t i = 1; i < seq.size(); ++i) out_of_order += seq[i] < seq[i - 1];
    }
    CHECK(out_of_order == 0);
}

TEST_CASE("a server killed and restarted on its store while events flow both ways: 0 lost, duplicates counted, no stall") {
    nats_server server;
    auto c = connect_to(server.url(), nullptr, "producer");
    c->add_stream({.name = "EVENTS", .subjects = {"events.>"}});
    thread_pool pool(8);
    bus producer_bus{"producer", quiet_bus()};
    producer_bus.set_error_handler([](const dead_letter&) {});
    std::atomic<int> producer_dead{0};
    producer_bus.add_rule({.name = "to-nats",
                           .pattern = everything,
                           .targets = {nats_target("jetstream", c, {}, pool)
                                           .retry({.max_retry_attempts = 185, .base_delay = 20ms, .max_delay = 200ms})
                                           .dead_letters([&](const dead_letter&) { producer_dead.fetch_add(1); })}});
    received_log got;
    bus consumer_bus{"consumer"};
    auto sub = consumer_bus.subscribe(everything, json_handler("h", [&](std::string_view json) { got.add(json); }));
    auto cc = connect_to(server.url(), nullptr, "consumer");
    auto o = source_options("restarts");
    o.ack_wait = 2s;
    nats_source source(consumer_bus, cc, o);

    int n = 3000;
    if (const char* env = std::getenv("SWITCHYARD_NATS_EVENTS")) n = std::atoi(env);
    const int per_ms = std::max(1, n / 3000);
    const auto seed = static_cast<unsigned>(std::random_device{}());
    std::mt19937 random(seed);
    std::uniform_int_distribution<int> pause_ms(200, 700);
    constexpr int kills = 3;
    MESSAGE("seed " << seed << ", " << n << " events published over ~3 s, " << kills << " server kills");
    std::set<std::string> sent;
    std::atomic<bool> publishing{true};
    // A failing REQUIRE on this thread would call std::terminate: note it, and check it on the test's thread.
    std::atomic<int> refused{0};
    std::thread publisher([&] {
        for (int i = 0; i < n; ++i) {
            auto e = order(producer_bus, i);
            if (!producer_bus.publish(e).ok()) {
                refused.fetch_add(1);
                continue;
            }
            sent.insert(e->meta().id);
            // Pacing, about 3 s of publishing whatever n is: the kills land while events flow.
            if ((i + 1) % per_ms == 0) std::this_thread::sleep_for(1ms);
        }
        publishing.store(false);
    });
    for (int k = 0; k < kills && publishing.load(); ++k) {
        std::this_thread::sleep_for(std::chrono::milliseconds(pause_ms(random)));  // a random moment
        server.restart();  // SIGKILL, then the same port and store
    }
    publisher.join();
    CHECK(refused.load() == 0);
    REQUIRE(producer_bus.drain(60s));
    CHECK(producer_dead.load() == 0);
    // Arriving without a pause of 15 s (no stall), within 150 s (a sanitizer build of 100,000).
    const bool all_arrived = got.wait_distinct_progressing(sent.size(), 15s, 150s);
    CHECK(all_arrived);
    int lost = 0, duplicates = 0;
    const auto by_id = got.by_id();
    for (const auto& id : sent) {
        const auto it = by_id.find(id);
        if (it == by_id.end()) ++lost;
        else duplicates += it->second - 1;
    }
    CHECK(lost == 0);
    CHECK(by_id.size() == sent.size());  // nothing that was never sent
    const auto cs = c->stats();
    const auto ss = source.stats();
    MESSAGE("lost " << lost << ", duplicates delivered " << duplicates << ", stored " << stream_count(*c, "EVENTS") << " for "
                    << sent.size() << " sent, PubAck duplicates " << cs.pub_ack_duplicates
                    << ", PubAck failures " << cs.pub_ack_failures << ", disconnects " << cs.disconnects << ", redeliveries "
                    << ss.redeliveries << ", stalls recovered " << cc->stats().stalls_recovered);
    CHECK(cs.disconnects >= 1);
}

TEST_CASE("replay from a time: a source starting at T gives what the archive's replay gives for [T, now)") {
    nats_server server;
    auto c = connect_to(server.url());
    c->add_stream({.name = "EVENTS", .subjects = {"events.>"}});
    // One bus both archives and forwards to JetStream: the same events, in the same order.
    auto store = std::make_shared<memory_archive_store>();
    std::vector<std::string> replayed;
    bus orders{"orders"};
    switchyard::archive archive(orders, {.name = "all", .store = store});
    orders.add_rule({.name = "to-nats",
                     .pattern = R"({"source": ["com.example.orders"], "replay-name": [{"exists": false}]})",
                     .targets = {nats_target("jetstream", c, {})}});
    orders.add_rule({.name = "replayed",
                     .pattern = R"({"replay-name": ["window"]})",
                     .targets = {json_handler("capture", [&](std::string_view json) {
                         replayed.push_back(nlohmann::json::parse(json)["id"].get<std::string>());
                     })}});
    auto publish = [&](int n) {
        const auto r = orders.publish(order(orders, n));
        REQUIRE(r.ok());
    };
    for (int i = 0; i < 5; ++i) publish(i);
    // The window starts on a whole second (an event's `time` has seconds only), after the first batch.
    const auto t = std::chrono::ceil<std::chrono::seconds>(std::chrono::system_clock::now()) ;
    std::this_thread::sleep_until(t + 20ms);
    for (int i = 5; i < 12; ++i) publish(i);
    REQUIRE(orders.drain(30s));  // archived (on the archive's thread) and stored in JetStream

    auto replay = archive.replay({.name = "window", .from = t, .to = std::chrono::system_clock::now() + 1h, .rules = {"replayed"}});
    REQUIRE(replay.wait(10s));
    REQUIRE(replayed.size() == 7);

    received_log got;
    std::mutex m;
    std::vector<std::string> from_stream;
    bus consumer_bus{"consumer"};
    auto sub = consumer_bus.subscribe(everything, json_handler("h", [&](std::string_view json) {
                                          std::lock_guard lock(m);
                                          from_stream.push_back(nlohmann::json::parse(json)["id"].get<std::string>());
                                          got.add(json);
                                      }));
    auto o = source_options("replay");
    o.start = nats_start::time;
    o.start_time = t;
    o.ordered_by_subject = true;  // one subject: stream order
    nats_source source(consumer_bus, c, o);
    REQUIRE(got.wait_distinct(7));
    CHECK_FALSE(got.wait_distinct(8, 300ms));
    std::lock_guard lock(m);
    CHECK(from_stream == replayed);  // the same events, in the same order
}

TEST_CASE("nats_source: a consumer deleted under it is created again where it was, and consumption goes on") {
    nats_server server;
    auto c = connect_to(server.url());
    c->add_stream({.name = "EVENTS", .subjects = {"events.>"}});
    producer_side producer(c);
    received_log got;
    bus consumer_bus{"consumer"};
    auto sub = consumer_bus.subscribe(everything, json_handler("h", [&](std::string_view json) { got.add(json); }));
    auto o = source_options("fragile");
    o.start = nats_start::all;  // made again from here, it would hand out the first ten again
    nats_source source(consumer_bus, c, o);
    for (int i = 0; i < 10; ++i) producer.publish(i);
    REQUIRE(got.wait_distinct(10));
    // The source reads the consumer's ack floor when its fetches come back empty (and every
    // few seconds while they do not).
    REQUIRE(eventually([&] { return source.stats().ack_floor == 10; }, 20s));
    // Someone deletes the durable consumer (an operator, a server that lost it), and events are
    // published before the source notices.
    REQUIRE(js_DeleteConsumer(c->internals()->js, "EVENTS", "fragile", nullptr, nullptr) == NATS_OK);
    for (int i = 10; i < 20; ++i) producer.publish(i);
    CHECK(got.wait_distinct(20));
    CHECK(got.total() == 20);  // nothing handed out twice, nothing published meanwhile skipped
}


TEST_CASE("nats_source: a bus shut down under a running source burns nothing: naks, no term, no dead letter, no more fetching") {
    nats_server server;
    auto c = connect_to(server.url());
    c->add_stream({.name = "EVENTS", .subjects = {"events.>"}});
    producer_side producer(c);
    constexpr int n = 20;
    std::atomic<int> letters{0};
    auto o = source_options("closed");
    o.max_deliver = 2;  // a nak'd message's next delivery is its last: a term there would burn it
    o.dead_letters = [&](const dead_letter&) { letters.fetch_add(1); };
    {
        bus consumer_bus{"consumer", quiet_bus()};
        auto sub = consumer_bus.subscribe(everything, json_handler("h", [](std::string_view) {}));
        nats_source source(consumer_bus, c, o);
        REQUIRE(consumer_bus.shutdown(5s));  // the wrong order (stop the source first), on purpose
        for (int i = 0; i < n; ++i) producer.publish(i);
        // The source fetches, finds the bus shut down, naks what it took and fetches no more:
        // once its last pull request is over, it has taken (and naked) every delivery the
        // server made, late answers to that request included.
        REQUIRE(eventually([&] { return source.stats().received >= 1; }));
        CHECK(eventually([&] {
            const auto st = source.stats();
            const auto f = floor_of(*c, "closed");
            return f.waiting == 0 && st.received == f.delivered && st.naks == st.received && st.in_flight == 0;
        }));
        const auto received = source.stats().received;
        std::this_thread::sleep_for(600ms);  // far past nak_delay (20 ms): a source still fetching takes them again
        const auto st = source.stats();
        CHECK(st.received == received);
        CHECK(st.redeliveries == 0);
        CHECK(st.terms == 0);
        CHECK(st.acks == 0);
        CHECK(letters.load() == 0);
        // The server holds every message still: none acknowledged or terminated (the ack floor
        // has not moved), all of them pending or awaiting their redelivery.
        const auto f = floor_of(*c, "closed");
        MESSAGE("received " << received << ", ack floor " << f.ack_floor << ", ack pending " << f.ack_pending << ", pending " << f.pending);
        CHECK(f.ack_floor == 0);
        CHECK(f.pending + static_cast<std::uint64_t>(std::max<std::int64_t>(f.ack_pending, 0)) == n);
        source.stop();
    }
    // A source on a live bus gets every one of them.
    received_log got;
    bus live{"live"};
    auto sub = live.subscribe(everything, json_handler("h", [&](std::string_view json) { got.add(json); }));
    nats_source again(live, c, o);
    CHECK(got.wait_distinct(n));
    CHECK(eventually([&] { return again.stats().acks == n; }));
    CHECK(again.stats().terms == 0);
    CHECK(letters.load() == 0);
    CHECK(eventually([&] { return floor_of(*c, "closed").ack_floor == n; }));
}

TEST_CASE("nats_source: stop() naks at once the messages queued behind their subject, and waits for the running one") {
    nats_server server;
    auto c = connect_to(server.url());
    c->add_stream({.name = "EVENTS", .subjects = {"events.>"}});
    producer_side producer(c);
    constexpr int n = 5;  // one subject: one runs, four wait behind it
    for (int i = 0; i < n; ++i) producer.publish(i);
    manual_executor later;
    bus consumer_bus{"consumer"};
    consumer_bus.add_rule({.name = "r", .pattern = everything, .targets = {json_handler("h", [](std::string_view) {}, later)}});
    auto o = source_options("stopping");
    o.ordered_by_subject = true;
    o.nak_delay = 30s;  // stop()'s naks have no delay: a peer gets the messages at once
    auto source = std::make_unique<nats_source>(consumer_bus, c, o);
    REQUIRE(eventually([&] { return later.size() == 1 && source->stats().in_flight == n; }));
    std::thread stopper([&] { source->stop(); });
    CHECK(eventually([&] { return source->stats().naks == n - 1; }));
    // stop() waits for the running message (its delivery waits in `later`).
    CHECK(source->stats().in_flight == 1);
    CHECK(source->stats().acks == 0);
    later.run_all();
    stopper.join();
    CHECK(source->stats().acks == 1);
    CHECK(source->stats().in_flight == 0);

    received_log got;
    bus peer{"peer"};
    auto sub = peer.subscribe(everything, json_handler("h", [&](std::string_view json) { got.add(json); }));
    nats_source again(peer, c, source_options("stopping"));
    CHECK(got.wait_distinct(n - 1, 10s));  // well before nak_delay or ack_wait (30 s)
    CHECK_FALSE(got.wait_distinct(n, 300ms));  // the acknowledged one does not come again
}
