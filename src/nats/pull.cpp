// pull_inbox: JetStream pull requests ($JS.API.CONSUMER.MSG.NEXT) answered on an inbox the source
// owns; why not natsSubscription_Fetch is in pull.hpp.
#include "nats/pull.hpp"

#include <algorithm>
#include <charconv>
#include <limits>
#include <optional>
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
    for (auto& r : retired_) natsSubscription_Destroy(r.sub);
}

void pull_inbox::subscribe() {
    natsInbox* box = nullptr;
    natsStatus s = natsInbox_Create(&box);
    const std::string name = box != nullptr ? box : "";
    natsInbox_Destroy(box);
    natsSubscription* made = nullptr;
    // One reply subject per request (<inbox>.<n>): a status is matched to the request it ends.
    if (s == NATS_OK) s = natsConnection_SubscribeSync(&made, nc_, (name + ".*").c_str());
    // The consumer's MaxAckPending bounds what can arrive: no client-side limit that would drop.
    if (s == NATS_OK) s = natsSubscription_SetPendingLimits(made, -1, -1);
    if (s != NATS_OK) {
        if (made != nullptr) natsSubscription_Destroy(made);
        throw error(fmt::format("{}: cannot subscribe to an inbox for the consumer's messages: {}", where_, describe(s)));
    }
    if (sub_ != nullptr) retired_.push_back({sub_, std::chrono::steady_clock::now()});
    sub_ = made;
    inbox_ = name;
    request_open_ = false;  // the old inbox's request, if any, ends there
}

void pull_inbox::renew() { subscribe(); }

void pull_inbox::release_retired() {
    // Empty for longer than any request could still answer into it: gone.
    const auto quiet = 2 * longest_wait_ + std::chrono::seconds(1);
    const auto now = std::chrono::steady_clock::now();
    std::erase_if(retired_, [&](const retired_inbox& r) {
        int waiting = 0;
        if (now - r.since < quiet || natsSubscription_GetPending(r.sub, &waiting, nullptr) != NATS_OK || waiting > 0) return false;
        natsSubscription_Destroy(r.sub);
        return true;
    });
}

std::optional<pull_inbox::ended> pull_inbox::status_of(natsMsg* m) {
    const char* subject = natsMsg_GetSubject(m);
    if (subject == nullptr || reply_ != subject) return std::nullopt;  // an earlier request's
    const char* code = nullptr;
    if (natsMsgHeader_Get(m, "Status", &code) != NATS_OK || code == nullptr) return std::nullopt;
    const std::string_view status = code;
    if (status == "100") return std::nullopt;  // a heartbeat (not asked for)
    request_open_ = false;
    if (status == "404" || status == "408") return ended::status;  // no messages / the request expired: its normal end
    if (status == "503") return ended::no_responders;
    const char* text = nullptr;
    (void)natsMsgHeader_Get(m, "Description", &text);
    failure_ = fmt::format("{} {}", status, text != nullptr ? text : "");
    return ended::refused;
}

void pull_inbox::take_waiting(natsSubscription* from, std::vector<natsMsg*>& out, std::size_t room) {
    int waiting = 0;
    if (natsSubscription_GetPending(from, &waiting, nullptr) != NATS_OK) return;
    for (; waiting > 0 && out.size() < room; --waiting) {
        natsMsg* m = nullptr;
        // Returns at once: the message is there, and only this thread reads the inbox.
        if (natsSubscription_NextMsg(&m, from, 1000) != NATS_OK) return;
        if (is_delivery(m)) {
            if (from == sub_) count_delivery();
            out.push_back(m);
            continue;
        }
        if (from == sub_) (void)status_of(m);  // the last request's end, perhaps
        natsMsg_Destroy(m);
    }
}

std::size_t pull_inbox::nak_waiting(std::chrono::milliseconds delay) {
    std::vector<natsMsg*> left;
    for (auto& r : retired_) take_waiting(r.sub, left, std::numeric_limits<std::size_t>::max());
    take_waiting(sub_, left, std::numeric_limits<std::size_t>::max());
    for (natsMsg* m : left) {
        nak(nc_, m, delay);
        natsMsg_Destroy(m);
    }
    return left.size();
}

std::size_t pull_inbox::nak_until_closed(std::chrono::milliseconds delay, std::chrono::milliseconds bound) {
    // While the request is open, a message naked without delay could come straight back to it
    // (and spend one of its deliveries each time): held back until the request has surely ended.
    if (request_open_) delay = std::max(delay, bound);
    std::size_t naked = nak_waiting(delay);
    const auto deadline = std::chrono::steady_clock::now() + bound;
    while (request_open_) {
        const auto timeout_ms = std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
        if (timeout_ms <= 0) break;
        natsMsg* m = nullptr;
        if (natsSubscription_NextMsg(&m, sub_, timeout_ms) != NATS_OK) break;
        if (is_delivery(m)) {
            count_delivery();
            nak(nc_, m, delay);
            ++naked;
        } else {
            (void)status_of(m);
        }
        natsMsg_Destroy(m);
    }
    return naked + nak_waiting(delay);
}

natsStatus pull_inbox::request(std::size_t batch, std::chrono::milliseconds expires) {
    reply_ = fmt::format("{}.{}", inbox_, ++requests_);
    const std::string body = expires.count() > 0 ? fmt::format(R"({{"batch": {}, "expires": {}}})", batch, to_ns(expires))
                                                 : fmt::format(R"({{"batch": {}, "no_wait": true}})", batch);
    const natsStatus s = natsConnection_PublishRequest(nc_, next_subject_.c_str(), reply_.c_str(), body.data(), static_cast<int>(body.size()));
    request_open_ = s == NATS_OK;
    request_left_ = batch;
    // A request that does not wait ends at once (with a status when short of its batch).
    request_expires_ = std::chrono::steady_clock::now() + expires;
    return s;
}

void pull_inbox::count_delivery() {
    // A delivery does not say which request it answers (it carries its stream subject), but
    // with one request open at a time it is the open one's, but for a rare late answer to an
    // expired one (which at worst ends the count early: the next fetch then sends a request
    // while the server still holds the last, and both answers are read here all the same).
    if (request_open_ && request_left_ > 0 && --request_left_ == 0) request_open_ = false;  // a full batch ends it, with no status
}

pull_inbox::ended pull_inbox::collect(std::vector<natsMsg*>& out, std::size_t room, std::chrono::steady_clock::time_point deadline,
                                      bool first_only) {
    bool lingering = false;
    while (out.size() < room) {
        if (!request_open_) return ended::status;
        const auto timeout_ms = std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
        if (timeout_ms <= 0) return ended::deadline;
        natsMsg* m = nullptr;
        const natsStatus s = natsSubscription_NextMsg(&m, sub_, timeout_ms);
        if (s == NATS_TIMEOUT) return ended::deadline;
        if (s != NATS_OK) return ended::closed;
        if (is_delivery(m)) {
            count_delivery();
            out.push_back(m);
            if (first_only && !lingering) {
                // What comes within a millisecond more, then back to the caller with the request
                // still open: a trickle of events is handed on at once, and a consumer held back
                // by its MaxAckPending (whose deliveries come as acks free room) still fills most
                // of a batch per fetch.
                lingering = true;
                deadline = std::min(deadline, std::chrono::steady_clock::now() + std::chrono::milliseconds(1));
            }
            continue;
        }
        const auto end = status_of(m);
        natsMsg_Destroy(m);
        if (end) return *end;
    }
    return ended::full;
}

std::chrono::steady_clock::time_point pull_inbox::open_until() const noexcept {
    return request_open_ ? request_expires_ + std::chrono::milliseconds(20) : std::chrono::steady_clock::time_point{};
}

std::size_t pull_inbox::outstanding() const noexcept {
    return std::chrono::steady_clock::now() < open_until() ? request_left_ : 0;
}

natsStatus pull_inbox::fetch(std::vector<natsMsg*>& out, std::size_t ask, std::chrono::milliseconds wait) {
    longest_wait_ = std::max(longest_wait_, wait);
    const std::size_t limit = ask + outstanding();
    for (auto& r : retired_) take_waiting(r.sub, out, limit);
    if (!retired_.empty()) release_retired();
    take_waiting(sub_, out, limit);
    // What came since the last fetch goes on at once: waiting here for more would hold it.
    if (!out.empty()) return NATS_OK;
    if (limit == 0) return NATS_TIMEOUT;
    const auto deadline = std::chrono::steady_clock::now() + wait;
    const auto failed = [&](ended e) {
        switch (e) {
            case ended::no_responders: return NATS_NO_RESPONDERS;
            case ended::refused: return NATS_ERR;
            case ended::closed: return NATS_CONNECTION_CLOSED;
            default: return NATS_TIMEOUT;
        }
    };
    // The request a fetch left open after its first deliveries: read on until it ends (the
    // server ends it at its expiry, or when its batch is full).
    if (const auto until = open_until(); std::chrono::steady_clock::now() < until) {
        const ended e = collect(out, limit, std::min(deadline, until), true);
        if (!out.empty()) return NATS_OK;
        if (e != ended::status && e != ended::deadline) return failed(e);
        if (ask == 0 || std::chrono::steady_clock::now() >= deadline) return NATS_TIMEOUT;
    }
    if (ask == 0) return NATS_TIMEOUT;
    request_open_ = false;  // surely over at the server, whether or not its status came
    // What the consumer has now: the server answers at once, ending with a status when it has
    // fewer than asked for.
    natsStatus s = request(ask, std::chrono::milliseconds(0));
    if (s != NATS_OK) return s;
    ended e = collect(out, ask, deadline);
    if (!out.empty()) return NATS_OK;
    if (e != ended::status && e != ended::deadline) return failed(e);
    // Nothing there: a request that waits for messages until it is full or the server ends it,
    // a little before our own deadline (as nats.c does).
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return NATS_TIMEOUT;
    s = request(ask, left >= std::chrono::milliseconds(20) ? left - std::chrono::milliseconds(10) : left);
    if (s != NATS_OK) return s;
    e = collect(out, ask, deadline, true);
    return out.empty() ? failed(e) : NATS_OK;
}

}  // namespace switchyard::nats_detail
