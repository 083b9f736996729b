// nats_connection and nats_target against a real nats-server: what is stored (subject, whole
// event, Nats-Msg-Id), PubAcks, the server's dedup of a re-publish, retries and dead letters,
// backpressure, and a journaled bus forwarding after a crash.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <switchyard/executor/manual_executor.hpp>
#include <switchyard/executor/thread_pool.hpp>
#include <switchyard/nats/nats_target.hpp>
#include <switchyard/sqlite/sqlite_journal.hpp>
#include <switchyard/switchyard.hpp>

#include "nats/nats_server.hpp"
#include "nats/nats_test_support.hpp"

using namespace switchyard;
using namespace std::chrono_literals;

namespace {

constexpr const char* everything = R"({"source": [{"prefix": ""}]})";

void add_events_stream(nats_connection& c, std::string name = "EVENTS", std::vector<std::string> subjects = {"events.>"}) {
    c.add_stream({.name = std::move(name), .subjects = std::move(subjects)});
}

event_ptr order(bus& b, int n, const std::string& customer = "c-1") {
    return make_json_event(b.make_envelope("com.example.orders", "Order Placed"),
                           R"({"n": )" + std::to_string(n) + R"(, "customer": ")" + customer + R"("})");
}

}  // namespace

TEST_CASE("connecting: an unreachable server and bad options are refused with the fix") {
    CHECK_THROWS_WITH_AS(connect_to("nats://127.0.0.1:1"), doctest::Contains("nats-server -js"), error);
    nats_connection_options o;
    o.url = "";
    CHECK_THROWS_WITH_AS(nats_connection::connect(o), doctest::Contains("url is empty"), error);
    o.url = "nats://127.0.0.1:1";
    o.max_pub_acks_in_flight = 0;
    CHECK_THROWS_WITH_AS(nats_connection::connect(o), doctest::Contains("max_pub_acks_in_flight"), error);
    CHECK_THROWS_WITH_AS(nats_target("t", nullptr, {}), doctest::Contains("connection is null"), error);
}

TEST_CASE("connecting to a NATS server without JetStream is refused, naming -js") {
    nats_server plain(false);
    CHECK_THROWS_WITH_AS(connect_to(plain.url()), doctest::Contains("does not offer JetStream"), error);
    CHECK_THROWS_WITH_AS(connect_to(plain.url()), doctest::Contains("nats-server -js"), error);
}

TEST_CASE("closing a connection is not logged or counted as a disconnect; a lost server is") {
    nats_server server;
    auto log = std::make_shared<recording_sink>();
    auto c = connect_to(server.url(), log);
    CHECK(c->connected());
    c.reset();  // a clean close
    CHECK(log->count("disconnected") == 0);

    auto log2 = std::make_shared<recording_sink>();
    auto c2 = connect_to(server.url(), log2);
    server.restart();  // SIGKILL, then the same port: a real disconnect, then a reconnect
    CHECK(eventually([&] { return c2->stats().reconnects >= 1; }));
    CHECK(c2->stats().disconnects >= 1);
    CHECK(log2->count("disconnected") >= 1);
}

TEST_CASE("a bus and its connection destroyed right after their last PubAck, again and again: no crash, no hang") {
    // Whichever thread drops the last owner of the connection (the completion thread, when it
    // ended the last delivery and started none after it) must be able to: nothing joins itself.
    nats_server server;
    {
        auto admin = connect_to(server.url());
        add_events_stream(*admin);
    }
    for (int round = 0; round < 30; ++round) {
        auto c = connect_to(server.url());
        {
            bus b{"orders"};
            b.add_rule({.name = "to-nats",
                        .pattern = everything,
                        .targets = {nats_target("jetstream", c, {.subject = "events.{partition}", .partition_key = "$.detail.n", .partitions = 2})}});
            for (int i = 0; i < 8; ++i) REQUIRE(b.publish(order(b, i % 2)).ok());
            c.reset();  // the target holds the connection now; ~bus drains, then drops it
        }
    }
    auto check = connect_to(server.url());
    CHECK(stream_count(*check, "EVENTS") == 30 * 8);
}

TEST_CASE("nats_target stores the whole event on its subject with Nats-Msg-Id = the event's id; a delivery ends with its PubAck") {
    nats_server server;
    auto c = connect_to(server.url());
    CHECK(c->connected());
    add_events_stream(*c);
    CHECK_THROWS_WITH_AS(nats_target("t", c, {.subject = "events.{nope}"}), doctest::Contains("unknown placeholder"), error);

    bus b{"orders"};
    b.add_rule({.name = "to-nats", .pattern = everything, .targets = {nats_target("jetstream", c, {.subject = "events.{detail-type}"})}});
    const auto caller = trace_context::parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "");
    REQUIRE(caller);
    auto e = make_json_event(b.make_envelope("com.example.orders", "Order Placed"), R"({"n": 1})");
    const auto r = b.put_events({{.source = "com.example.orders", .detail_type = "Order Placed", .detail = R"({"n": 1})",
                                  .traceparent = caller->traceparent()}});
    REQUIRE(r.ok());
    // The delivery ends with its PubAck: once drained, the message is stored.
    REQUIRE(b.drain(10s));
    CHECK(stream_count(*c, "EVENTS") == 1);
    const auto m = stored(*c, "EVENTS", 1);
    REQUIRE(m);
    CHECK(m->subject == "events.Order%20Placed");
    CHECK(m->msg_id == r.entries[0].event_id);
    const auto back = parse_event(m->data);
    CHECK(back->meta().id == r.entries[0].event_id);
    CHECK(back->meta().source == "com.example.orders");
    CHECK(nlohmann::json::parse(back->detail_json()) == nlohmann::json{{"n", 1}});
    REQUIRE(back->meta().trace);
    CHECK(back->meta().trace->trace == caller->trace);  // the trace context crossed with the event
    CHECK(m->traceparent == back->meta().trace->traceparent());
    const auto st = c->stats();
    CHECK(st.published == 1);
    CHECK(st.pub_acks == 1);
    CHECK(st.pub_acks_in_flight == 0);
    CHECK(st.pub_ack_failures == 0);
    const auto snapshot = c->metrics();
    REQUIRE(snapshot.find("NatsPubAcks") != nullptr);
    CHECK(snapshot.find("NatsPubAcks")->value == 1);
}

TEST_CASE("the server drops a re-publish of the same event (Nats-Msg-Id) and the target counts it as delivered") {
    nats_server server;
    auto c = connect_to(server.url());
    add_events_stream(*c);
    bus b{"orders"};
    b.add_rule({.name = "to-nats", .pattern = everything, .targets = {nats_target("jetstream", c, {})}});
    const auto e = order(b, 1);
    REQUIRE(b.publish(e).ok());
    REQUIRE(b.publish(e).ok());  // the same event again: a producer's retry, a recovery
    REQUIRE(b.publish(order(b, 2)).ok());
    REQUIRE(b.drain(10s));  // the publishes return at once; the deliveries end with their PubAcks
    const auto st = c->stats();
    CHECK(st.pub_acks == 3);
    CHECK(st.pub_ack_duplicates == 1);
    CHECK(stream_count(*c, "EVENTS") == 2);
    CHECK(b.stats()[0].delivered == 3);
    CHECK(b.stats()[0].dead_lettered == 0);
}

TEST_CASE("a \"duplicate\" PubAck without a stream sequence (nats-server 2.9 after a leader change) is retried, not taken as "
          "stored") {
    // nats-server 2.9 answers a copy of a message whose proposal a leader change dropped with
    // {"seq": 0, "duplicate": true} for the whole duplicate window, though it never stored it.
    // A leader change cannot be timed to drop one proposal, so a plain NATS subscriber on the
    // subject (no stream stores it) answers each copy the way such a server does: first that
    // answer, then the one of a server that has the message at sequence 7.
    nats_server server;
    auto c = connect_to(server.url());
    struct responder_state {
        natsConnection* nc = nullptr;
        std::atomic<int> copies{0};
    } responder;
    REQUIRE(natsConnection_ConnectTo(&responder.nc, server.url().c_str()) == NATS_OK);
    natsSubscription* sub = nullptr;
    const auto answer = [](natsConnection*, natsSubscription*, natsMsg* m, void* closure) {
        auto& r = *static_cast<responder_state*>(closure);
        const char* body = r.copies.fetch_add(1) == 0 ? R"({"stream": "EVENTS", "seq": 0, "duplicate": true})"
                                                      : R"({"stream": "EVENTS", "seq": 7, "duplicate": true})";
        natsConnection_PublishString(r.nc, natsMsg_GetReply(m), body);
        natsMsg_Destroy(m);
    };
    REQUIRE(natsConnection_Subscribe(&sub, responder.nc, "events.>", answer, &responder) == NATS_OK);
    REQUIRE(natsConnection_Flush(responder.nc) == NATS_OK);
    struct closer {
        natsSubscription* s;
        natsConnection* nc;
        ~closer() {
            natsSubscription_Destroy(s);
            natsConnection_Destroy(nc);
        }
    } close_responder{sub, responder.nc};

    bus b{"orders", quiet_bus()};
    std::vector<dead_letter> letters;
    b.add_rule({.name = "to-nats",
                .pattern = everything,
                .targets = {nats_target("jetstream", c, {})
                                .retry({.max_retry_attempts = 3, .base_delay = 1ms, .max_delay = 2ms})
                                .dead_letters([&](const dead_letter& d) { letters.push_back(d); })}});
    REQUIRE(b.publish(order(b, 1)).ok());
    REQUIRE(b.drain(10s));
    CHECK(responder.copies.load() == 2);  // was 1: the sequence-0 answer ended the delivery as stored
    CHECK(letters.empty());
    CHECK(b.stats()[0].delivered == 1);
    const auto st = c->stats();
    CHECK(st.pub_ack_unstored_duplicates == 1);
    CHECK(st.pub_ack_failures == 1);
    CHECK(st.pub_acks == 1);
    CHECK(st.pub_ack_duplicates == 1);
    const auto snapshot = c->metrics();
    REQUIRE(snapshot.find("NatsPubAckUnstoredDuplicates") != nullptr);
    CHECK(snapshot.find("NatsPubAckUnstoredDuplicates")->value == 1);
}

TEST_CASE("a subject no stream stores fails retryably: retried by the target's policy, then dead-lettered with why") {
    nats_server server;
    auto c = connect_to(server.url());
    add_events_stream(*c);
    bus b{"orders", quiet_bus()};
    std::vector<dead_letter> letters;
    b.add_rule({.name = "to-nats",
                .pattern = everything,
                .targets = {nats_target("jetstream", c, {.subject = "elsewhere.{detail-type}"})
                                .retry({.max_retry_attempts = 2, .base_delay = 1ms, .max_delay = 2ms})
                                .dead_letters([&](const dead_letter& d) { letters.push_back(d); })}});
    REQUIRE(b.publish(order(b, 1)).ok());
    b.drain();
    REQUIRE(letters.size() == 1);
    CHECK(letters[0].reason == dead_letter_reason::retries_exhausted);
    CHECK(letters[0].attempts == 3);
    CHECK(letters[0].error_message.find("no stream") != std::string::npos);
    CHECK(c->stats().pub_ack_failures == 3);
    CHECK(stream_count(*c, "EVENTS") == 0);
}

TEST_CASE("many deliveries at once: PubAcks in flight stay within the bound, and every event is stored once") {
    nats_server server;
    nats_connection_options o;
    o.url = server.url();
    o.max_pub_acks_in_flight = 4;
    o.log = std::make_shared<recording_sink>();
    auto c = nats_connection::connect(o);
    add_events_stream(*c);
    thread_pool pool(16);
    bus b{"orders"};
    b.add_rule({.name = "to-nats", .pattern = everything, .targets = {nats_target("jetstream", c, {}, pool)}});
    std::atomic<bool> done{false};
    std::atomic<std::uint64_t> peak{0};
    std::thread watch([&] {
        while (!done.load()) {
            const auto now = c->stats().pub_acks_in_flight;
            if (now > peak.load()) peak.store(now);
            std::this_thread::yield();
        }
    });
    constexpr int n = 2000;
    for (int i = 0; i < n; ++i) REQUIRE(b.publish(order(b, i)).ok());
    b.drain();
    done.store(true);
    watch.join();
    const auto st = c->stats();
    CHECK(st.pub_acks == n);
    CHECK(st.pub_ack_failures == 0);
    CHECK(peak.load() <= 4);
    CHECK(peak.load() >= 2);  // 16 workers did publish concurrently
    CHECK(stream_count(*c, "EVENTS") == n);
    MESSAGE("peak PubAcks in flight: " << peak.load());
}

TEST_CASE("a server that stops reading while publishes queue behind a blocked write: PubAck timeouts free no message in use; "
          "every event stored once it reads again") {
    // Regression: nats.c's MaxWait timer ended the PubAck wait of a message whose publish was
    // still blocked on the connection's lock (behind a write to the stopped server), and the
    // message was freed under it (a crash in natsMsgHeader_encodedLen; ASan: heap-use-after-free).
    nats_server server;
    auto admin = connect_to(server.url(), nullptr, "admin");  // the stream and its count, with the usual timeout
    add_events_stream(*admin);
    nats_connection_options o;
    o.url = server.url();
    o.name = "publisher";
    o.request_timeout = 300ms;  // the PubAck timeout: a tenth of the pause
    o.max_pub_acks_in_flight = 64;
    o.log = std::make_shared<recording_sink>();
    auto c = nats_connection::connect(o);
    thread_pool pool(8);
    bus b{"orders", quiet_bus()};
    std::atomic<int> dead{0};
    b.add_rule({.name = "to-nats",
                .pattern = everything,
                .targets = {nats_target("jetstream", c, {}, pool)
                                .retry({.max_retry_attempts = 185, .base_delay = 10ms, .max_delay = 200ms})
                                .dead_letters([&](const dead_letter&) { dead.fetch_add(1); })}});
    // Events large enough to fill the sockets' buffers within the pause.
    const std::string padding(64 * 1024, 'x');
    constexpr int n = 400;
    {
        server.pause();
        struct resume_at_exit {  // a failed REQUIRE must not leave the bus draining into a stopped server
            nats_server& s;
            ~resume_at_exit() { s.resume(); }
        } resume{server};
        for (int i = 0; i < n; ++i)
            REQUIRE(b.publish(make_json_event(b.make_envelope("com.example.orders", "Order Placed"),
                                              R"({"n": )" + std::to_string(i) + R"(, "padding": ")" + padding + R"("})"))
                        .ok());
        // The pause is the fault itself (there is no event to wait for): long enough for PubAcks
        // of publishes still blocked in the write to time out several times over.
        std::this_thread::sleep_for(3s);
    }
    REQUIRE(b.drain(60s));
    const auto st = c->stats();
    CHECK(dead.load() == 0);
    // The case this is about happened: timeouts came while their publish calls were blocked.
    CHECK(c->internals()->answered_while_publishing.load() > 0);
    CHECK(stream_count(*admin, "EVENTS") == n);
    MESSAGE("PubAck failures " << st.pub_ack_failures << ", duplicates " << st.pub_ack_duplicates << ", answered while publishing "
                               << c->internals()->answered_while_publishing.load());
}

TEST_CASE("a journaled bus forwards after recover() what it accepted before a crash; the server drops what had arrived") {
    nats_server server;
    auto c = connect_to(server.url());
    add_events_stream(*c);
    temp_dir dir;
    const auto file = dir.file("journal.db");
    constexpr int n = 50, arrived = 20;
    std::vector<std::string> ids;
    {
        // The process before the crash: it accepted n events (journaled), and the first `arrived`
        // of them reached the server, but it died before recording their ends.
        sqlite_journal j(file);
        bus before{"orders"};
        for (int i = 0; i < n; ++i) {
            auto e = order(before, i);
            ids.push_back(e->meta().id);
            const std::vector<journal_delivery> open{{"to-nats", "jetstream"}};
            (void)j.record_accepted(e->json(), open);
            if (i < arrived) {
                bus direct{"direct"};
                direct.add_rule({.name = "x", .pattern = everything, .targets = {nats_target("x", c, {})}});
                REQUIRE(direct.publish(e).ok());
            }
        }
    }
    REQUIRE(stream_count(*c, "EVENTS") == arrived);
    const auto acks_before = c->stats().pub_acks;
    {
        auto j = std::make_shared<sqlite_journal>(file);
        bus after{"orders", {.journal = j}};
        after.add_rule({.name = "to-nats", .pattern = everything, .targets = {nats_target("jetstream", c, {})}});
        const auto rec = after.recover();
        CHECK(rec.events == n);
        CHECK(rec.deliveries == n);
        after.drain();
        CHECK(after.stats()[0].delivered == n);
        j->flush();
        CHECK(j->unfinished().empty());
    }
    // Nothing lost, nothing stored twice: the server dropped the `arrived` copies.
    CHECK(stream_count(*c, "EVENTS") == n);
    const auto st = c->stats();
    CHECK(st.pub_acks - acks_before == n);
    CHECK(st.pub_ack_duplicates == arrived);
    std::set<std::string> stored_ids;
    for (std::uint64_t seq = 1; seq <= n; ++seq) {
        const auto m = stored(*c, "EVENTS", seq);
        REQUIRE(m);
        stored_ids.insert(m->msg_id);
    }
    CHECK(stored_ids == std::set<std::string>(ids.begin(), ids.end()));
}

TEST_CASE("a server killed and restarted on the same store: the connection comes back, disconnects are logged and counted") {
    nats_server server;
    auto log = std::make_shared<recording_sink>();
    auto c = connect_to(server.url(), log);
    add_events_stream(*c);
    bus b{"orders"};
    b.add_rule({.name = "to-nats",
                .pattern = everything,
                .targets = {nats_target("jetstream", c, {}).retry({.max_retry_attempts = 50, .base_delay = 20ms, .max_delay = 200ms})}});
    REQUIRE(b.publish(order(b, 1)).ok());
    server.kill();
    REQUIRE(eventually([&] { return !c->connected(); }));
    CHECK(eventually([&] { return log->count("disconnected") >= 1; }));
    server.start();
    REQUIRE(eventually([&] { return c->connected(); }));
    REQUIRE(b.publish(order(b, 2)).ok());
    b.drain();
    CHECK(stream_count(*c, "EVENTS") == 2);  // the message stored before the kill survived it
    const auto st = c->stats();
    CHECK(st.disconnects >= 1);
    // Counted on nats.c's callback thread, which may run after the publish that followed.
    CHECK(eventually([&] { return c->stats().reconnects >= 1; }));
    CHECK(b.stats()[0].dead_lettered == 0);
}
