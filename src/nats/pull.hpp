// A JetStream pull consumer fetched with plain NATS requests on an inbox this source owns, not
// with nats.c's natsSubscription_Fetch. Why: nats.c 3.4.1's Fetch first takes the messages
// already waiting in its subscription (late deliveries for an earlier request that timed out),
// then asks for the rest and waits until its count equals what it asked for; with more than half
// a batch waiting, the count passes that number, never equals it, and the messages that follow
// are written past the end of its array (heap corruption, seen under a restarting server and on a
// loaded machine). And a pull subscription made again after a stall dropped the late deliveries
// waiting in it. Here every delivery that reaches the inbox is taken, whichever request it
// answers, into a growing vector. Not installed.
#pragma once

#include <nats/nats.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace switchyard::nats_detail {

// What JetStream's ack subject says of a delivery ($JS.ACK.<stream>.<consumer>.<delivered>.
// <stream seq>.<consumer seq>.<time ns>.<pending>, or the form with a domain and an account
// hash before the stream).
struct delivery_metadata {
    std::uint64_t delivered = 1;  // deliveries of this message, this one included
    std::int64_t stored_ns = 0;   // when the stream stored it, ns since the epoch
    std::uint64_t pending = 0;    // messages the consumer has not yet delivered
};
std::optional<delivery_metadata> parse_ack_subject(std::string_view reply);

// The acknowledgements JetStream reads on a delivery's ack subject (what natsMsg_Ack and its
// siblings send; those refuse a message that did not come through nats.c's own JetStream
// subscription). Best effort like theirs: a lost one is a redelivery after ack_wait.
void ack(natsConnection* nc, natsMsg* m);
void nak(natsConnection* nc, natsMsg* m, std::chrono::milliseconds delay);
void term(natsConnection* nc, natsMsg* m);
void in_progress(natsConnection* nc, natsMsg* m);

// One consumer's inbox and its pull requests. Used by one thread (the source's fetch thread).
class pull_inbox {
public:
    // Subscribes to a new inbox; `next_subject` is the consumer's
    // $JS.API.CONSUMER.MSG.NEXT.<stream>.<durable>. Throws switchyard::error when it cannot.
    pull_inbox(natsConnection* nc, std::string next_subject, std::string where);
    ~pull_inbox();
    pull_inbox(const pull_inbox&) = delete;
    pull_inbox& operator=(const pull_inbox&) = delete;

    // Appends deliveries to `out`, at most `ask` plus what the open request may still bring
    // (outstanding()): first those already in the inbox (handed back at once, whatever request
    // they answer); else, while a request is open, what it brings within `wait`; else, when
    // `ask` > 0, what the consumer has now (a request for `ask` that does not wait), and only
    // when that is nothing, what comes within `wait` (a request for `ask` the server ends a
    // little earlier). A request that waits is left open a millisecond after its first delivery
    // came (waiting for a whole batch would hold a trickle of events for up to `wait`); the next
    // fetch reads on from it instead of sending another, so one request at most is ever open.
    // NATS_OK when it appended any, NATS_TIMEOUT when none came, NATS_NO_RESPONDERS when no
    // server answered, NATS_ERR when JetStream refused the request (failure() says how).
    natsStatus fetch(std::vector<natsMsg*>& out, std::size_t ask, std::chrono::milliseconds wait);

    // Deliveries the open request may still bring: the caller counts them as asked for (they
    // arrive whether or not it fetches again). 0 once it has ended, or surely expired.
    std::size_t outstanding() const noexcept;

    // What JetStream answered to the last refused request ("409 Exceeded MaxWaiting", ...).
    const std::string& failure() const noexcept { return failure_; }

    // A new inbox (after a stall); the old one is still read for its late deliveries, and
    // released once it has been empty for a while.
    void renew();

    // Naks (with `delay`) every delivery waiting in the inboxes, taken by no fetch: the source
    // stops, or its bus closed. Returns how many.
    std::size_t nak_waiting(std::chrono::milliseconds delay);

    // Once fetching has stopped: waits, up to `bound`, for the last request's end (its status),
    // naking (with `delay`) what it still delivers, then what waits. Returns how many it naked.
    std::size_t nak_until_closed(std::chrono::milliseconds delay, std::chrono::milliseconds bound);

private:
    enum class ended { full, status, refused, no_responders, deadline, closed };
    struct retired_inbox {
        natsSubscription* sub;
        std::chrono::steady_clock::time_point since;
    };
    void subscribe();
    void take_waiting(natsSubscription* from, std::vector<natsMsg*>& out, std::size_t room);
    natsStatus request(std::size_t batch, std::chrono::milliseconds expires);
    // Reads the running request's answers into `out` until `room` is full, it ends, or
    // `deadline`; `first_only`: returns a millisecond after its first delivery came (with what
    // came meanwhile), leaving it open.
    ended collect(std::vector<natsMsg*>& out, std::size_t room, std::chrono::steady_clock::time_point deadline,
                  bool first_only = false);
    // A delivery read from the inbox: counted against the open request's batch (a full batch
    // ends it).
    void count_delivery();
    // A status for the running request ends it (how: the result); one for an earlier request,
    // or a heartbeat, is dropped (nullopt).
    std::optional<ended> status_of(natsMsg* m);
    void release_retired();

    natsConnection* nc_;
    std::string next_subject_;
    std::string where_;
    std::string inbox_;          // requests are answered on <inbox_>.<n>
    std::string reply_;          // the running (or last) request's reply subject
    std::uint64_t requests_ = 0;
    bool request_open_ = false;  // the last request has not been seen to end
    std::size_t request_left_ = 0;                     // deliveries the running request may still bring
    std::chrono::steady_clock::time_point request_expires_{};  // when the server ends the running request
    // When the running request has surely ended at the server, status or not: its expiry as sent
    // plus a margin for the server's clock starting later (the request's transit).
    std::chrono::steady_clock::time_point open_until() const noexcept;
    std::chrono::milliseconds longest_wait_{0};
    std::string failure_;
    natsSubscription* sub_ = nullptr;
    std::vector<retired_inbox> retired_;
};

}  // namespace switchyard::nats_detail
