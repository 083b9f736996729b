// bench_nats: the NATS JetStream bridge (switchyard::nats) beside raw nats.c in the same run,
// against a nats-server this program starts itself (tests/nats/nats_server.hpp: `nats-server -js
// -a 127.0.0.1 -p <free port> -sd <temporary store>`, killed and its store removed at the end).
//
//   publish   raw: js_PublishMsgAsync of N messages (the bridge's event JSON, a Nats-Msg-Id
//             header each) with jsOptions.PublishAsync.MaxPending = K, then
//             js_PublishAsyncComplete.   bridge: a bus, one rule -> nats_target (inline: its
//             deliveries are asynchronous, each ends with its PubAck) with
//             max_pub_acks_in_flight = K; N events published, then bus::drain().
//             K = 16, 64, 256 (the knob).
//   consume   a stream pre-filled with N events' JSON (as nats_target writes them).
//             raw: a durable pull consumer (AckExplicit, MaxAckPending 256), Fetch of 64,
//             natsMsg_Ack of each.   bridge: nats_source (max_in_flight 256, fetch_batch 64)
//             into a bus whose one rule delivers to an inline handler that counts; timed until
//             the source has acked all N.
//   e2e       latency at a fixed rate (RATE events/s for SECONDS s): bridge = producer bus ->
//             nats_target -> stream -> nats_source -> consumer bus -> inline
//             handler; raw = js_PublishAsync -> stream -> pull consumer, Fetch of 64. The send
//             time travels in the message; measured at the handler (at the fetch for raw).
//
// Every measurement runs ROUNDS times, raw and bridge alternating; prints each round (stderr)
// and the medians (stdout), with the median of the per-round ratios.
//
//   bench_nats [EVENTS=20000] [ROUNDS=5] [RATE=2000] [SECONDS=3] [ONLY]
//
// ONLY (for profiling one side): run only the measurements whose name contains it, among
// raw-publish, bridge-publish, raw-consume, bridge-consume, raw-e2e, bridge-e2e; the others print 0.
#include <nats/nats.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <switchyard/nats/connection.hpp>
#include <switchyard/nats/nats_source.hpp>
#include <switchyard/nats/nats_target.hpp>
#include <switchyard/switchyard.hpp>

#include "nats/nats_server.hpp"

namespace {

using clock_type = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr const char* everything = R"({"source": [{"prefix": ""}]})";

double seconds_since(clock_type::time_point start) { return std::chrono::duration<double>(clock_type::now() - start).count(); }
std::int64_t now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(clock_type::now().time_since_epoch()).count();
}

[[noreturn]] void fail(const std::string& what) {
    std::fprintf(stderr, "bench_nats: %s\n", what.c_str());
    std::exit(1);
}

void check(natsStatus s, const char* what, jsErrCode code = static_cast<jsErrCode>(0)) {
    if (s == NATS_OK) return;
    fail(std::string(what) + ": " + natsStatus_GetText(s) + (code != 0 ? " (JetStream error " + std::to_string(code) + ")" : ""));
}

// Polls `condition` (state kept by other threads, with nothing to wait on) every 100 µs until it
// holds or `timeout` passes.
template <class F>
bool wait_for(F condition, std::chrono::milliseconds timeout = 60s) {
    const auto until = clock_type::now() + timeout;
    while (!condition()) {
        if (clock_type::now() > until) return false;
        std::this_thread::sleep_for(100us);
    }
    return true;
}

double median(std::vector<double> v) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

// The events both sides carry: an order's detail, so the JSON is the size nats_target writes.
switchyard::event_ptr make_order(const switchyard::bus& b, std::size_t i) {
    return switchyard::make_json_event(b.make_envelope("com.example.orders", "OrderPlaced"),
                                       R"({"orderId":"o-)" + std::to_string(1000000 + i) + R"(","customerId":"c-)" +
                                           std::to_string(10000 + i % 5000) +
                                           R"(","total":125.5,"currency":"EUR","items":3,"channel":"online"})");
}

//--- raw nats.c ---------------------------------------------------------------------------------

struct raw_acks {
    std::atomic<std::uint64_t> ok{0}, failed{0};
};

void on_raw_ack(jsCtx*, natsMsg* msg, jsPubAck* pa, jsPubAckErr*, void* closure) {
    auto* acks = static_cast<raw_acks*>(closure);
    (pa != nullptr ? acks->ok : acks->failed).fetch_add(1, std::memory_order_relaxed);
    natsMsg_Destroy(msg);
}

// A plain nats.c connection and JetStream context; with `acks`, asynchronous publishes with at
// most `max_pending` PubAcks awaited.
class raw_client {
public:
    explicit raw_client(const std::string& url, std::int64_t max_pending = 256, raw_acks* acks = nullptr) {
        natsOptions* opts = nullptr;
        check(natsOptions_Create(&opts), "natsOptions_Create");
        check(natsOptions_SetURL(opts, url.c_str()), "natsOptions_SetURL");
        check(natsConnection_Connect(&nc_, opts), "natsConnection_Connect");
        natsOptions_Destroy(opts);
        jsOptions jo;
        jsOptions_Init(&jo);
        jo.PublishAsync.MaxPending = max_pending;
        // At MaxPending a publish waits for a PubAck; nats.c's default 200 ms fails it on a busy
        // shared machine.
        jo.PublishAsync.StallWait = 30'000;
        if (acks != nullptr) {
            jo.PublishAsync.AckHandler = &on_raw_ack;
            jo.PublishAsync.AckHandlerClosure = acks;
        }
        check(natsConnection_JetStream(&js_, nc_, &jo), "natsConnection_JetStream");
    }
    ~raw_client() {
        jsCtx_Destroy(js_);
        natsConnection_Destroy(nc_);
    }
    raw_client(const raw_client&) = delete;
    raw_client& operator=(const raw_client&) = delete;

    jsCtx* js() const { return js_; }

    std::uint64_t stream_messages(const char* stream) const {
        jsStreamInfo* si = nullptr;
        jsErrCode code = static_cast<jsErrCode>(0);
        check(js_GetStreamInfo(&si, js_, stream, nullptr, &code), "js_GetStreamInfo", code);
        const std::uint64_t n = si->State.Msgs;
        jsStreamInfo_Destroy(si);
        return n;
    }

    // The bridge's consumer configuration (nats_source's defaults): explicit acks, AckWait 30 s,
    // MaxDeliver 6, MaxAckPending 256; then a pull subscription bound to it.
    natsSubscription* pull_consumer(const char* stream, const std::string& durable) const {
        jsConsumerConfig cc;
        jsConsumerConfig_Init(&cc);
        cc.Durable = durable.c_str();
        cc.AckPolicy = js_AckExplicit;
        cc.AckWait = 30'000'000'000LL;
        cc.MaxDeliver = 6;
        cc.MaxAckPending = 256;
        jsConsumerInfo* ci = nullptr;
        jsErrCode code = static_cast<jsErrCode>(0);
        check(js_AddConsumer(&ci, js_, stream, &cc, nullptr, &code), "js_AddConsumer", code);
        jsConsumerInfo_Destroy(ci);
        jsSubOptions so;
        jsSubOptions_Init(&so);
        so.Stream = stream;
        so.Consumer = durable.c_str();
        so.ManualAck = true;
        natsSubscription* sub = nullptr;
        check(js_PullSubscribe(&sub, js_, nullptr, durable.c_str(), nullptr, &so, &code), "js_PullSubscribe", code);
        return sub;
    }

    void delete_consumer(const char* stream, const std::string& durable) const {
        jsErrCode code = static_cast<jsErrCode>(0);
        check(js_DeleteConsumer(js_, stream, durable.c_str(), nullptr, &code), "js_DeleteConsumer", code);
    }

private:
    natsConnection* nc_ = nullptr;
    jsCtx* js_ = nullptr;
};

// The bridge's connection options. Errors only in the log: nats.c reports closing a connection
// to the disconnected callback, which the connection logs as a warning at every teardown here.
switchyard::nats_connection_options bridge_options(const nats_server& server, const char* name) {
    switchyard::nats_connection_options o;
    o.url = server.url();
    o.name = name;
    o.log = std::make_shared<switchyard::stderr_sink>(switchyard::log_level::error);
    return o;
}

// A fresh file-storage stream (nats_target's users' usual kind) named `name` on `subjects`.
void fresh_stream(switchyard::nats_connection& c, const std::string& name, const std::string& subjects) {
    c.delete_stream(name);
    c.add_stream({.name = name, .subjects = {subjects}});
}

// A UUID-shaped Nats-Msg-Id (the length of an event's id), distinct per message and per run.
std::string msg_id(std::uint32_t run, std::size_t i) {
    char buf[48];
    std::snprintf(buf, sizeof buf, "%08" PRIx32 "-0000-4000-8000-%012zx", run, i);
    return buf;
}

//--- publish ------------------------------------------------------------------------------------

double raw_publish(const nats_server& server, switchyard::nats_connection& admin, const std::vector<std::string>& payloads,
                   std::size_t in_flight, std::uint32_t run) {
    fresh_stream(admin, "PUB", "pub.>");
    raw_acks acks;
    raw_client client(server.url(), static_cast<std::int64_t>(in_flight), &acks);
    std::vector<std::string> ids;
    ids.reserve(payloads.size());
    for (std::size_t i = 0; i < payloads.size(); ++i) ids.push_back(msg_id(run, i));

    const auto start = clock_type::now();
    for (std::size_t i = 0; i < payloads.size(); ++i) {
        natsMsg* msg = nullptr;
        check(natsMsg_Create(&msg, "pub.OrderPlaced", nullptr, payloads[i].data(), static_cast<int>(payloads[i].size())), "natsMsg_Create");
        check(natsMsgHeader_Set(msg, "Nats-Msg-Id", ids[i].c_str()), "natsMsgHeader_Set");
        check(js_PublishMsgAsync(client.js(), &msg, nullptr), "js_PublishMsgAsync");
    }
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MaxWait = 60'000;
    check(js_PublishAsyncComplete(client.js(), &po), "js_PublishAsyncComplete");
    const double rate = static_cast<double>(payloads.size()) / seconds_since(start);

    if (acks.ok != payloads.size() || acks.failed != 0 || client.stream_messages("PUB") != payloads.size())
        fail("raw publish: " + std::to_string(acks.ok.load()) + " PubAcks, " + std::to_string(acks.failed.load()) + " failures");
    return rate;
}

double bridge_publish(const nats_server& server, switchyard::nats_connection& admin, std::size_t events, std::size_t in_flight) {
    fresh_stream(admin, "PUB", "pub.>");
    auto o = bridge_options(server, "bench-publish");
    o.max_pub_acks_in_flight = in_flight;
    auto c = switchyard::nats_connection::connect(o);
    switchyard::bus bus{"producer"};
    bus.add_rule({.name = "to-nats", .pattern = everything, .targets = {switchyard::nats_target("jetstream", c, {.subject = "pub.{detail-type}"})}});
    std::vector<switchyard::event_ptr> batch;
    batch.reserve(events);
    for (std::size_t i = 0; i < events; ++i) batch.push_back(make_order(bus, i));

    const auto start = clock_type::now();
    for (auto& e : batch)
        if (const auto r = bus.publish(std::move(e)); !r.ok()) fail("bridge publish refused: " + r.error_message);
    bus.drain();
    // A delivery ends with its PubAck (counted just before it ends); the wait only guards.
    wait_for([&] { return c->stats().pub_acks >= events; }, 10s);
    const double rate = static_cast<double>(events) / seconds_since(start);

    const auto st = c->stats();
    raw_client reader(server.url());
    if (st.pub_acks != events || st.pub_ack_failures != 0 || reader.stream_messages("PUB") != events)
        fail("bridge publish: " + std::to_string(st.pub_acks) + " PubAcks, " + std::to_string(st.pub_ack_failures) + " failures");
    return rate;
}

//--- consume ------------------------------------------------------------------------------------

double raw_consume(const nats_server& server, std::size_t events, const std::string& durable) {
    raw_client client(server.url());
    const auto start = clock_type::now();
    natsSubscription* sub = client.pull_consumer("CON", durable);
    std::size_t acked = 0;
    const auto until = start + 60s;
    while (acked < events) {
        if (clock_type::now() > until) fail("raw consume: only " + std::to_string(acked) + " messages in 60 s");
        natsMsgList list{nullptr, 0};
        jsErrCode code = static_cast<jsErrCode>(0);
        const natsStatus s = natsSubscription_Fetch(&list, sub, 64, 500, &code);
        if (s != NATS_OK && s != NATS_TIMEOUT) check(s, "natsSubscription_Fetch", code);
        for (int i = 0; i < list.Count; ++i) {
            check(natsMsg_Ack(list.Msgs[i], nullptr), "natsMsg_Ack");
            ++acked;
        }
        natsMsgList_Destroy(&list);
    }
    const double rate = static_cast<double>(events) / seconds_since(start);
    natsSubscription_Destroy(sub);
    client.delete_consumer("CON", durable);
    return rate;
}

double bridge_consume(const nats_server& server, std::size_t events, const std::string& durable) {
    auto o = bridge_options(server, "bench-consume");
    auto c = switchyard::nats_connection::connect(o);
    std::atomic<std::uint64_t> handled{0};
    switchyard::bus bus{"consumer"};
    bus.add_rule({.name = "count",
                  .pattern = everything,
                  .targets = {switchyard::json_handler("count", [&](std::string_view) { handled.fetch_add(1, std::memory_order_relaxed); })}});
    switchyard::nats_source_options so;
    so.stream = "CON";
    so.durable = durable;  // the defaults otherwise: max_in_flight 256, fetch_batch 64, fetch_wait 500 ms

    const auto start = clock_type::now();
    switchyard::nats_source source(bus, c, so);
    // The handler's counter first (an atomic: polling it takes no lock the source needs), then
    // the acks, which follow each delivery at once.
    if (!wait_for([&] { return handled.load(std::memory_order_relaxed) >= events; }) ||
        !wait_for([&] { return source.stats().acks >= events; }))
        fail("bridge consume: only " + std::to_string(source.stats().acks) + " acks in 60 s");
    const double rate = static_cast<double>(events) / seconds_since(start);

    source.stop();
    const auto st = source.stats();
    if (handled != events || st.acks != events || st.naks != 0 || st.terms != 0 || st.redeliveries != 0)
        fail("bridge consume: handled " + std::to_string(handled.load()) + ", acks " + std::to_string(st.acks));
    raw_client(server.url()).delete_consumer("CON", durable);
    return rate;
}

//--- end-to-end latency -------------------------------------------------------------------------

struct latency {
    double p50 = 0, p99 = 0, max = 0;  // µs
};

latency summarize(std::vector<std::int64_t> ns) {
    std::sort(ns.begin(), ns.end());
    auto at = [&](double q) {
        const auto k = static_cast<std::size_t>(std::ceil(q * static_cast<double>(ns.size())));
        return static_cast<double>(ns[std::min(ns.size() - 1, k == 0 ? 0 : k - 1)]) / 1000.0;
    };
    return {at(0.50), at(0.99), static_cast<double>(ns.back()) / 1000.0};
}

// The send time, written into the detail as "sent_ns":<steady-clock ns>.
std::int64_t sent_ns_of(std::string_view json) {
    constexpr std::string_view key = "\"sent_ns\":";
    const auto at = json.find(key);
    if (at == std::string_view::npos) fail("e2e: a message without sent_ns");
    return std::strtoll(json.data() + at + key.size(), nullptr, 10);
}

std::string tick_detail(std::size_t i, std::int64_t sent) {
    return R"({"orderId":"o-)" + std::to_string(1000000 + i) + R"(","sent_ns":)" + std::to_string(sent) +
           R"(,"total":125.5,"currency":"EUR","items":3,"channel":"online"})";
}

// Paces `count` sends at `rate` per second from now, calling send(i) at each one's due time.
template <class F>
void paced(std::size_t count, double rate, F send) {
    const auto start = clock_type::now();
    const auto interval = std::chrono::duration<double>(1.0 / rate);
    for (std::size_t i = 0; i < count; ++i) {
        std::this_thread::sleep_until(start + std::chrono::duration_cast<clock_type::duration>(interval * static_cast<double>(i)));
        send(i);
    }
}

latency raw_e2e(const nats_server& server, switchyard::nats_connection& admin, std::size_t count, double rate, const std::string& durable) {
    fresh_stream(admin, "E2E", "e2e.>");
    raw_acks acks;
    raw_client producer(server.url(), 256, &acks);
    raw_client consumer(server.url());
    natsSubscription* sub = consumer.pull_consumer("E2E", durable);
    std::vector<std::int64_t> lat(count, -1);  // written by the reader, read after it is joined
    std::atomic<std::size_t> got{0};
    std::atomic<bool> give_up{false};
    std::thread reader([&] {
        while (got.load() < count && !give_up) {
            natsMsgList list{nullptr, 0};
            jsErrCode code = static_cast<jsErrCode>(0);
            const natsStatus s = natsSubscription_Fetch(&list, sub, 64, 500, &code);
            if (s != NATS_OK && s != NATS_TIMEOUT) check(s, "natsSubscription_Fetch", code);
            for (int i = 0; i < list.Count; ++i) {
                natsMsg* m = list.Msgs[i];
                const std::string_view data(natsMsg_GetData(m), static_cast<std::size_t>(natsMsg_GetDataLength(m)));
                const auto n = static_cast<std::size_t>(std::strtoull(data.data() + data.find("o-") + 2, nullptr, 10) - 1000000);
                lat.at(n) = now_ns() - sent_ns_of(data);
                natsMsg_Ack(m, nullptr);
                got.fetch_add(1);
            }
            natsMsgList_Destroy(&list);
        }
    });
    switchyard::bus shape{"shape"};  // only for the envelope, so the raw message is event-sized
    const std::string envelope_json = make_order(shape, 0)->json();
    const std::string pad(envelope_json.size() > 110 ? envelope_json.size() - 110 : 0, 'x');
    paced(count, rate, [&](std::size_t i) {
        const std::string body = tick_detail(i, now_ns()) + pad;
        check(js_PublishAsync(producer.js(), "e2e.Tick", body.data(), static_cast<int>(body.size()), nullptr), "js_PublishAsync");
    });
    check(js_PublishAsyncComplete(producer.js(), nullptr), "js_PublishAsyncComplete");
    const bool all = wait_for([&] { return got.load() >= count; }, 30s);
    give_up = true;
    reader.join();
    if (!all || std::any_of(lat.begin(), lat.end(), [](std::int64_t v) { return v < 0; }))
        fail("raw e2e: not every message arrived within 30 s");
    natsSubscription_Destroy(sub);
    return summarize(std::move(lat));
}

latency bridge_e2e(const nats_server& server, switchyard::nats_connection& admin, std::size_t count, double rate, const std::string& durable) {
    fresh_stream(admin, "E2E", "e2e.>");
    auto pc = switchyard::nats_connection::connect(bridge_options(server, "bench-e2e-producer"));
    auto cc = switchyard::nats_connection::connect(bridge_options(server, "bench-e2e-consumer"));

    std::vector<std::atomic<std::int64_t>> lat(count);
    for (auto& v : lat) v.store(-1);
    std::atomic<std::size_t> got{0};
    switchyard::bus consumer_bus{"consumer"};
    consumer_bus.add_rule({.name = "measure",
                           .pattern = everything,
                           .targets = {switchyard::json_handler("measure", [&](std::string_view json) {
                               const auto t = now_ns();
                               const auto at = json.find("\"o-");
                               const auto n = static_cast<std::size_t>(std::strtoull(json.data() + at + 3, nullptr, 10) - 1000000);
                               lat.at(n).store(t - sent_ns_of(json));
                               got.fetch_add(1);
                           })}});
    switchyard::nats_source_options so;
    so.stream = "E2E";
    so.durable = durable;
    switchyard::nats_source source(consumer_bus, cc, so);

    switchyard::bus producer_bus{"producer"};
    producer_bus.add_rule({.name = "to-nats",
                           .pattern = everything,
                           .targets = {switchyard::nats_target("jetstream", pc, {.subject = "e2e.{detail-type}"})}});
    paced(count, rate, [&](std::size_t i) {
        auto e = switchyard::make_json_event(producer_bus.make_envelope("com.example.orders", "Tick"), tick_detail(i, now_ns()));
        if (const auto r = producer_bus.publish(std::move(e)); !r.ok()) fail("e2e publish refused: " + r.error_message);
    });
    producer_bus.drain();
    if (!wait_for([&] { return got.load() >= count && source.stats().acks >= count; }, 30s))
        fail("bridge e2e: only " + std::to_string(got.load()) + " of " + std::to_string(count) + " arrived within 30 s");
    source.stop();
    std::vector<std::int64_t> out;
    out.reserve(count);
    for (const auto& v : lat) out.push_back(v.load());
    if (std::any_of(out.begin(), out.end(), [](std::int64_t v) { return v < 0; })) fail("bridge e2e: an event arrived twice, another never");
    return summarize(std::move(out));
}

}  // namespace

int main(int argc, char** argv) {
    const std::size_t events = argc > 1 ? std::stoul(argv[1]) : 20000;
    const int rounds = argc > 2 ? std::stoi(argv[2]) : 5;
    const double rate = argc > 3 ? std::stod(argv[3]) : 2000;
    const double seconds = argc > 4 ? std::stod(argv[4]) : 3;
    const auto e2e_count = static_cast<std::size_t>(rate * seconds);
    const std::vector<std::size_t> in_flights = {16, 64, 256};
    const std::string only = argc > 5 ? argv[5] : "";
    const auto wants = [&](const char* name) { return std::string_view(name).find(only) != std::string_view::npos; };
    const auto ratio = [](double bridge, double raw) { return raw > 0 ? bridge / raw : 0.0; };

    nats_server server;
    auto admin = switchyard::nats_connection::connect(bridge_options(server, "bench-admin"));

    // The raw publisher's payloads: events' JSON, exactly what nats_target sends.
    switchyard::bus shape{"producer"};
    std::vector<std::string> payloads;
    payloads.reserve(events);
    for (std::size_t i = 0; i < events; ++i) payloads.push_back(make_order(shape, i)->json());
    std::size_t bytes = 0;
    for (const auto& p : payloads) bytes += p.size();
    const auto mean_bytes = bytes / std::max<std::size_t>(events, 1);

    // The consume direction's stream, filled once (raw async publish of the events' JSON with
    // their ids as Nats-Msg-Id); each round's consumers are new durables reading it from the start.
    fresh_stream(*admin, "CON", "con.>");
    {
        raw_acks acks;
        raw_client filler(server.url(), 256, &acks);
        for (std::size_t i = 0; i < events; ++i) {
            natsMsg* msg = nullptr;
            check(natsMsg_Create(&msg, "con.OrderPlaced", nullptr, payloads[i].data(), static_cast<int>(payloads[i].size())), "natsMsg_Create");
            check(natsMsgHeader_Set(msg, "Nats-Msg-Id", msg_id(0xC0C0, i).c_str()), "natsMsgHeader_Set");
            check(js_PublishMsgAsync(filler.js(), &msg, nullptr), "js_PublishMsgAsync");
        }
        check(js_PublishAsyncComplete(filler.js(), nullptr), "js_PublishAsyncComplete");
        if (filler.stream_messages("CON") != events) fail("could not fill the consume stream");
    }

    std::vector<std::vector<double>> pub_raw(in_flights.size()), pub_bridge(in_flights.size()), pub_ratio(in_flights.size());
    std::vector<double> con_raw, con_bridge, con_ratio;
    std::vector<double> raw_p50, raw_p99, raw_max, br_p50, br_p99, br_max;
    std::uint32_t run = 1;
    for (int r = 0; r < rounds; ++r) {
        for (std::size_t k = 0; k < in_flights.size(); ++k) {
            const double raw = wants("raw-publish") ? raw_publish(server, *admin, payloads, in_flights[k], run++) : 0;
            const double bridge = wants("bridge-publish") ? bridge_publish(server, *admin, events, in_flights[k]) : 0;
            pub_raw[k].push_back(raw);
            pub_bridge[k].push_back(bridge);
            pub_ratio[k].push_back(ratio(bridge, raw));
            std::fprintf(stderr, "  round %d publish in-flight %-4zu raw %10.0f msg/s   bridge %10.0f events/s   ratio %.3f\n", r + 1,
                         in_flights[k], raw, bridge, ratio(bridge, raw));
        }
        {
            const std::string tag = std::to_string(r + 1);
            const double raw = wants("raw-consume") ? raw_consume(server, events, "raw-" + tag) : 0;
            const double bridge = wants("bridge-consume") ? bridge_consume(server, events, "bridge-" + tag) : 0;
            con_raw.push_back(raw);
            con_bridge.push_back(bridge);
            con_ratio.push_back(ratio(bridge, raw));
            std::fprintf(stderr, "  round %d consume                raw %10.0f msg/s   bridge %10.0f events/s   ratio %.3f\n", r + 1, raw,
                         bridge, ratio(bridge, raw));
        }
        if (e2e_count > 0) {
            const std::string tag = std::to_string(r + 1);
            const auto raw = wants("raw-e2e") ? raw_e2e(server, *admin, e2e_count, rate, "raw-e2e-" + tag) : latency{};
            const auto bridge = wants("bridge-e2e") ? bridge_e2e(server, *admin, e2e_count, rate, "bridge-e2e-" + tag) : latency{};
            raw_p50.push_back(raw.p50);
            raw_p99.push_back(raw.p99);
            raw_max.push_back(raw.max);
            br_p50.push_back(bridge.p50);
            br_p99.push_back(bridge.p99);
            br_max.push_back(bridge.max);
            std::fprintf(stderr,
                         "  round %d e2e latency (µs)        raw p50 %7.0f p99 %7.0f max %7.0f   bridge p50 %7.0f p99 %7.0f max %7.0f\n",
                         r + 1, raw.p50, raw.p99, raw.max, bridge.p50, bridge.p99, bridge.max);
        }
    }

    std::printf("\nbench_nats: %zu events of %zu bytes (mean event JSON), %d rounds, medians\n\n", events, mean_bytes, rounds);
    std::printf("%-26s %14s %16s %8s %10s\n", "direction", "raw msg/s", "bridge events/s", "ratio", "per round");
    for (std::size_t k = 0; k < in_flights.size(); ++k) {
        const std::string name = "publish, " + std::to_string(in_flights[k]) + " in flight";
        std::printf("%-26s %14.0f %16.0f %8.3f %10.3f\n", name.c_str(), median(pub_raw[k]), median(pub_bridge[k]),
                    ratio(median(pub_bridge[k]), median(pub_raw[k])), median(pub_ratio[k]));
    }
    std::printf("%-26s %14.0f %16.0f %8.3f %10.3f\n", "consume (fetch 64)", median(con_raw), median(con_bridge),
                ratio(median(con_bridge), median(con_raw)), median(con_ratio));
    if (e2e_count > 0) {
        std::printf("\nend-to-end latency, %zu events at %.0f/s (µs)    %8s %8s %8s\n", e2e_count, rate, "p50", "p99", "max");
        std::printf("%-46s %8.0f %8.0f %8.0f\n", "raw: js_PublishAsync -> pull Fetch(64)", median(raw_p50), median(raw_p99), median(raw_max));
        std::printf("%-46s %8.0f %8.0f %8.0f\n", "bridge: bus -> nats_target -> nats_source -> bus", median(br_p50), median(br_p99),
                    median(br_max));
    }
    return 0;
}
