// pull_inbox (src/nats/pull.hpp), the source's own JetStream pull requests, against a real
// nats-server: a request that waits is left open once its first delivery came, the next fetch
// reads on from it without asking for more, and outstanding() says what it may still bring (the
// source counts that as asked for, and reads it even while it asks for nothing new).
#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <switchyard/nats/connection.hpp>

#include "nats/internal.hpp"
#include "nats/nats_server.hpp"
#include "nats/nats_test_support.hpp"
#include "nats/pull.hpp"

using namespace std::chrono_literals;
using switchyard::nats_detail::pull_inbox;

namespace {

void publish_one(switchyard::nats_connection& c, int n) {
    const std::string body = std::to_string(n);
    jsPubAck* pa = nullptr;
    REQUIRE(js_Publish(&pa, c.internals()->js, "events.x", body.data(), static_cast<int>(body.size()), nullptr, nullptr) == NATS_OK);
    jsPubAck_Destroy(pa);
}

void ack_all(switchyard::nats_connection& c, std::vector<natsMsg*>& got) {
    for (natsMsg* m : got) {
        switchyard::nats_detail::ack(c.internals()->nc, m);
        natsMsg_Destroy(m);
    }
    got.clear();
}

}  // namespace

TEST_CASE("pull_inbox: a waiting request is left open after its first delivery and read on without asking again") {
    nats_server server;
    auto c = connect_to(server.url());
    c->add_stream({.name = "EVENTS", .subjects = {"events.>"}});
    {
        jsConsumerConfig cc;
        jsConsumerConfig_Init(&cc);
        cc.Durable = "pulled";
        cc.AckPolicy = js_AckExplicit;
        jsConsumerInfo* ci = nullptr;
        REQUIRE(js_AddConsumer(&ci, c->internals()->js, "EVENTS", &cc, nullptr, nullptr) == NATS_OK);
        jsConsumerInfo_Destroy(ci);
    }
    pull_inbox inbox(c->internals()->nc, "$JS.API.CONSUMER.MSG.NEXT.EVENTS.pulled", "test");
    std::vector<natsMsg*> got;

    // A message published while a request waits (up to 3 s, for a batch of 4) is handed back at once, not when the batch of 4
    // is full or the request expires; the request stays open for the other 3.
    std::thread later([&] {
        REQUIRE(eventually([&] { return consumer(*c, "EVENTS", "pulled").waiting >= 1; }, 5s));
        publish_one(*c, 1);
    });
    const auto started = std::chrono::steady_clock::now();
    CHECK(inbox.fetch(got, 4, 3s) == NATS_OK);
    later.join();
    CHECK(std::chrono::steady_clock::now() - started < 2500ms);
    CHECK(got.size() == 1);
    CHECK(inbox.outstanding() == 3);
    CHECK(consumer(*c, "EVENTS", "pulled").waiting >= 1);  // still open at the server
    ack_all(*c, got);

    // Two more arrive on the open request; a fetch that asks for nothing new reads them.
    publish_one(*c, 2);
    publish_one(*c, 3);
    REQUIRE(eventually([&] {
        if (inbox.fetch(got, 0, 200ms) != NATS_OK && got.size() < 2) return false;
        return got.size() >= 2;
    }, 5s));
    CHECK(got.size() == 2);
    CHECK(inbox.outstanding() == 1);
    ack_all(*c, got);

    // The last one fills the batch: the request is over without a status (none comes for a full
    // batch), and nothing is outstanding.
    publish_one(*c, 4);
    REQUIRE(eventually([&] { return inbox.fetch(got, 0, 200ms) == NATS_OK || !got.empty(); }, 5s));
    CHECK(got.size() == 1);
    CHECK(inbox.outstanding() == 0);
    ack_all(*c, got);
    // Nothing asked for, nothing open: a fetch returns at once.
    const auto idle = std::chrono::steady_clock::now();
    CHECK(inbox.fetch(got, 0, 2s) == NATS_TIMEOUT);
    CHECK(std::chrono::steady_clock::now() - idle < 1s);
    CHECK(eventually([&] { return consumer(*c, "EVENTS", "pulled").ack_pending == 0; }, 5s));  // acks are sent, not awaited
}
