// JetStream's ack subject read for a delivery's count, stored time and pending messages (the
// source reads it itself since it fetches with its own pull requests: src/nats/pull.hpp).
#include <doctest/doctest.h>

#include "nats/pull.hpp"

using switchyard::nats_detail::parse_ack_subject;

TEST_CASE("ack subject: the form without a domain") {
    const auto m = parse_ack_subject("$JS.ACK.EVENTS.fraud.3.1042.977.1733090000123456789.15");
    REQUIRE(m.has_value());
    CHECK(m->delivered == 3);
    CHECK(m->stored_ns == 1733090000123456789);
    CHECK(m->pending == 15);
}

TEST_CASE("ack subject: the form with a domain and an account hash, with and without the trailing token") {
    const auto m = parse_ack_subject("$JS.ACK._.ACCHASH.EVENTS.fraud.1.7.7.1733090000000000001.0.tok");
    REQUIRE(m.has_value());
    CHECK(m->delivered == 1);
    CHECK(m->stored_ns == 1733090000000000001);
    CHECK(m->pending == 0);
    const auto n = parse_ack_subject("$JS.ACK.hub.ACCHASH.EVENTS.fraud.2.7.7.1733090000000000001.4");
    REQUIRE(n.has_value());
    CHECK(n->delivered == 2);
    CHECK(n->pending == 4);
}

TEST_CASE("ack subject: anything else is not read as one") {
    CHECK_FALSE(parse_ack_subject("").has_value());
    CHECK_FALSE(parse_ack_subject("_INBOX.abc").has_value());
    CHECK_FALSE(parse_ack_subject("$JS.ACK.EVENTS.fraud.3").has_value());                      // too few tokens
    CHECK_FALSE(parse_ack_subject("$JS.ACK.EVENTS.fraud.x.1042.977.1733090000123456789.15").has_value());  // not a number
    CHECK_FALSE(parse_ack_subject("$JS.ACK.EVENTS.fraud.3.1042.977.17330900001234-6789.15").has_value());
    CHECK_FALSE(parse_ack_subject("$JS.ACK.EVENTS.fraud.3.1042.977.1733090000123456789.").has_value());   // empty token
}
