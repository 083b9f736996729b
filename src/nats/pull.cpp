// pull_inbox: JetStream pull requests ($JS.API.CONSUMER.MSG.NEXT) answered on an inbox the source
// owns; why not natsSubscription_Fetch is in pull.hpp.
#include "nats/pull.hpp"

#include <algorithm>
#include <charconv>
#include <limits>
#include <utility>

#include <fmt/format.h>

#include "nats/internal.hpp"
#include "switchyard/error.hpp"

namespace switchyard::nats_detail {
namespace {

constexpr std::string_view ack_prefix = "$JS.ACK.";

// A delivery carries its ack subject as reply; a status (404 no messages, 408 request expired,
// 409 a conflict, 503 no responders) has none.
bool is_delivery(natsMsg* m) {
    const char* reply = natsMsg_GetReply(m);
    return reply != nullptr && std::string_view(reply).starts_with(ack_prefix);
}

template <typename Int>
bool parse_number(std::string_view text, Int& out) {
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    return ec == std::errc() && end == text.data() + text.size();
}

void answer(natsConnection* nc, natsMsg* m, std::string_view body) {
    const char* reply = natsMsg_GetReply(m);
    if (reply == nullptr || *reply == '\0') return;
    (void)natsConnection_Publish(nc, reply, body.data(), static_cast<int>(body.size()));
}

}  // namespace

std::optional<delivery_metadata> parse_ack_subject(std::string_view reply) {
    if (!reply.starts_with(ack_prefix)) return std::nullopt;
    reply.remove_prefix(ack_prefix.size());
    std::vector<std::string_view> tokens;
    for (std::size_t at = 0; at <= reply.size();) {
        const auto dot = std::min(reply.find('.', at), reply.size());
        tokens.push_back(reply.substr(at, dot - at));
        at = dot + 1;
    }
    // <stream>.<consumer>.<delivered>.<sseq>.<cseq>.<tm>.<pending>, or, from servers that know
    // domains, <domain>.<account hash> before them (and sometimes a random token after).
    std::size_t first = 0;
    if (tokens.size() == 7) first = 0;
    else if (tokens.size() >= 9) first = 2;
    else return std::nullopt;
    delivery_metadata meta;
    if (!parse_number(tokens[first + 2], meta.delivered) || !parse_number(tokens[first + 5], meta.stored_ns) ||
        !parse_number(tokens[first + 6], meta.pending))
        return std::nullopt;
    return meta;
}

void ack(natsConnection* nc, natsMsg* m) { answer(nc, m, "+ACK"); }

void nak(natsConnection* nc, natsMsg* m, std::chrono::milliseconds delay) {
    if (delay.count() <= 0) return answer(nc, m, "-NAK");
    answer(nc, m, fmt::format(R"(-NAK {{"delay": {}}})", to_ns(delay)));
}

void term(natsConnection* nc, natsMsg* m) { answer(nc, m, "+TERM"); }

void in_progress(natsConnection* nc, natsMsg* m) { answer(nc, m, "+WPI"); }

pull_inbox::pull_inbox(natsConnection* nc, std::string next_subject, std::string where)
    : nc_(nc), next_subject_(std::move(next_subject)), where_(std::move(where)) {
    subscribe();
}

pull_inbox::~pull_inbox() {
    if (sub_ != nullptr) natsSubscription_Destroy(sub_);
    for (auto* s : retired_) natsSubscription_Destroy(s);
}

void pull_inbox::subscribe() {
    natsInbox* box = nullptr;
    natsStatus s = natsInbox_Create(&box);
    natsSubscription* made = nullptr;
    if (s == NATS_OK) s = natsConnection_SubscribeSync(&made, nc_, box);
    // The consumer's MaxAckPending bounds what can arrive: no client-side limit that would drop.
    if (s == NATS_OK) s = natsSubscription_SetPendingLimits(made, -1, -1);
    const std::string name = box != nullptr ? box : "";
    natsInbox_Destroy(box);
    if (s != NATS_OK) {
        if (made != nullptr) natsSubscription_Destroy(made);
        throw error(fmt::format("{}: cannot subscribe to an inbox for the consumer's messages: {}", where_, describe(s)));
    }
    if (sub_ != nullptr) retired_.push_back(sub_);
    sub_ = made;
    inbox_ = name;
}

void pull_inbox::renew() { subscribe(); }

void pull_inbox::take_waiting(natsSubscription* from, std::vector<natsMsg*>& out, std::size_t room) {
    int waiting = 0;
    if (natsSubscription_GetPending(from, &waiting, nullptr) != NATS_OK) return;
    for (; waiting > 0 && out.size() < room; --waiting) {
        natsMsg* m = nullptr;
        // Returns at once: the message is there, and only this thread reads the inbox.
        if (natsSubscription_NextMsg(&m, from, 1000) != NATS_OK) return;
        if (is_delivery(m)) out.push_back(m);
        else natsMsg_Destroy(m);  // an earlier request's end: nothing to do
    }
}

std::size_t pull_inbox::nak_waiting(std::chrono::milliseconds delay) {
    std::vector<natsMsg*> left;
    for (auto* r : retired_) take_waiting(r, left, std::numeric_limits<std::size_t>::max());
    take_waiting(sub_, left, std::numeric_limits<std::size_t>::max());
    for (natsMsg* m : left) {
        nak(nc_, m, delay);
        natsMsg_Destroy(m);
    }
    return left.size();
}

natsStatus pull_inbox::request(std::size_t batch, std::chrono::milliseconds expires) {
    const std::string body = expires.count() > 0 ? fmt::format(R"({{"batch": {}, "expires": {}}})", batch, to_ns(expires))
                                                 : fmt::format(R"({{"batch": {}, "no_wait": true}})", batch);
    return natsConnection_PublishRequest(nc_, next_subject_.c_str(), inbox_.c_str(), body.data(), static_cast<int>(body.size()));
}

pull_inbox::ended pull_inbox::collect(std::vector<natsMsg*>& out, std::size_t room, std::chrono::steady_clock::time_point deadline) {
    while (out.size() < room) {
        const auto timeout_ms = std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
        if (timeout_ms <= 0) return ended::deadline;
        natsMsg* m = nullptr;
        const natsStatus s = natsSubscription_NextMsg(&m, sub_, timeout_ms);
        if (s == NATS_TIMEOUT) return ended::deadline;
        if (s != NATS_OK) return ended::closed;
        if (is_delivery(m)) {
            out.push_back(m);
            continue;
        }
        const bool no_responders = natsMsg_IsNoResponders(m);
        natsMsg_Destroy(m);
        return no_responders ? ended::no_responders : ended::status;
    }
    return ended::full;
}

natsStatus pull_inbox::fetch(std::vector<natsMsg*>& out, std::size_t room, std::chrono::milliseconds wait) {
    for (auto* r : retired_) take_waiting(r, out, room);
    take_waiting(sub_, out, room);
    if (out.size() >= room) return NATS_OK;
    const auto deadline = std::chrono::steady_clock::now() + wait;
    const auto failed = [&](ended e) { return e == ended::no_responders ? NATS_NO_RESPONDERS : e == ended::closed ? NATS_CONNECTION_CLOSED : NATS_TIMEOUT; };
    // What the consumer has now: the server answers at once, ending with a status when it has
    // fewer than asked for.
    natsStatus s = request(room - out.size(), std::chrono::milliseconds(0));
    if (s != NATS_OK) return out.empty() ? s : NATS_OK;
    ended e = collect(out, room, deadline);
    if (!out.empty()) return NATS_OK;
    if (e == ended::no_responders || e == ended::closed) return failed(e);
    // Nothing there: a request that waits for messages until it is full or the server ends it,
    // a little before our own deadline (as nats.c does), so that it is over when we return but
    // for a rare late answer, which the next fetch takes (or nak_waiting).
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return NATS_TIMEOUT;
    s = request(room, left >= std::chrono::milliseconds(20) ? left - std::chrono::milliseconds(10) : left);
    if (s != NATS_OK) return s;
    e = collect(out, room, deadline);
    return out.empty() ? failed(e) : NATS_OK;
}

}  // namespace switchyard::nats_detail
