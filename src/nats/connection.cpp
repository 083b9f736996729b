// nats_connection on nats.c: connect, reconnect (logged and counted), JetStream context with an
// asynchronous PubAck handler that wakes the publish waiting for it, streams, counters.
#include "nats/internal.hpp"

#include <algorithm>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "switchyard/error.hpp"

namespace switchyard {
namespace nats_detail {

std::string describe(natsStatus s) {
    std::string text = natsStatus_GetText(s);
    natsStatus last = NATS_OK;
    if (const char* detail = nats_GetLastError(&last); detail != nullptr && *detail != '\0') {
        std::string more = detail;
        // nats.c prefixes its source position, "(conn.c:2088): ": not for users.
        if (more.front() == '(')
            if (const auto end = more.find("): "); end != std::string::npos) more.erase(0, end + 3);
        if (more != text) {
            text += ": ";
            text += more;
        }
    }
    return text;
}

std::string describe(natsStatus s, jsErrCode code) {
    std::string text = describe(s);
    if (code != 0) text += fmt::format(" (JetStream error {})", static_cast<int>(code));
    return text;
}

namespace {

void on_disconnected(natsConnection*, void* closure) {
    auto* st = static_cast<nats_connection::state*>(closure);
    if (st->closing.load(std::memory_order_acquire)) return;  // our own close, not a lost connection
    st->disconnects.fetch_add(1, std::memory_order_relaxed);
    st->write(log_level::warn, "nats: disconnected; reconnecting", {{"connection", st->options.name}, {"url", st->options.url}});
}

void on_reconnected(natsConnection*, void* closure) {
    auto* st = static_cast<nats_connection::state*>(closure);
    st->reconnects.fetch_add(1, std::memory_order_relaxed);
    st->write(log_level::info, "nats: reconnected", {{"connection", st->options.name}, {"url", st->options.url}});
}

void on_closed(natsConnection*, void* closure) {
    auto* st = static_cast<nats_connection::state*>(closure);
    std::lock_guard lock(st->closed_mutex);
    st->closed = true;
    st->closed_cv.notify_all();
}

void on_error(natsConnection*, natsSubscription*, natsStatus err, void* closure) {
    auto* st = static_cast<nats_connection::state*>(closure);
    st->write(log_level::warn, "nats: asynchronous error", {{"connection", st->options.name}, {"error", natsStatus_GetText(err)}});
}

// A PubAck (or its failure: an error from the server, or no answer within MaxWait) for an
// asynchronous publish: free its slot at once (a publish may be waiting for one), and hand the
// result to the completion thread.
void on_pub_ack(jsCtx*, natsMsg* msg, jsPubAck* pa, jsPubAckErr* pae, void* closure) {
    auto* st = static_cast<nats_connection::state*>(closure);
    std::shared_ptr<pub_waiter> w;
    {
        std::lock_guard lock(st->pending_mutex);
        if (auto it = st->waiting.find(msg); it != st->waiting.end()) {
            w = std::move(it->second);
            st->waiting.erase(it);
            st->free_slot_locked();
        }
    }
    if (w) {
        if (pa != nullptr && pa->Duplicate && pa->Sequence == 0) {
            // nats-server before its pull request 6415 (January 2025; Debian 12 has 2.9.10) marks a message id as
            // seen, with sequence 0, when its leader proposes the message, and answers every
            // copy after it "duplicate" with that 0 until the proposal is stored. When a leader
            // change drops the proposal, the message is never stored, yet each retry within the
            // stream's duplicate window is answered "duplicate, sequence 0". Such an answer is
            // no proof the event is stored: retry until a PubAck names its sequence.
            w->error = "the server answered \"duplicate\" with no stream sequence: it has seen this Nats-Msg-Id but not "
                       "stored it (still being replicated, or dropped in a leader change); retried until the server "
                       "names its sequence (give the target a retry budget longer than the stream's duplicate window)";
            st->pub_ack_unstored_duplicates.fetch_add(1, std::memory_order_relaxed);
        } else if (pa != nullptr) {
            w->ok = true;
            w->duplicate = pa->Duplicate;
        } else if (pae != nullptr) {
            if (pae->Err == NATS_TIMEOUT)
                w->error = "no PubAck came back in time (is the server restarting?)";
            else if (pae->Err == NATS_NO_RESPONDERS)
                w->error = "no stream answered: no JetStream stream stores this subject, or JetStream is not ready "
                           "(add a stream whose subjects include it: nats_connection::add_stream)";
            else
                w->error = fmt::format("{}{}{}", natsStatus_GetText(pae->Err), pae->ErrText ? ": " : "", pae->ErrText ? pae->ErrText : "");
            if (pae->ErrCode != 0) w->error += fmt::format(" (JetStream error {})", static_cast<int>(pae->ErrCode));
        } else {
            w->error = "the PubAck handler got neither an ack nor an error";
        }
        const bool ours_to_free = w->answered();  // read before the waiter goes to the completion thread
        st->complete_later(std::move(w));
        if (!ours_to_free) return;  // its publish is still in js_PublishMsgAsync: that thread frees it
    }
    natsMsg_Destroy(msg);
}

}  // namespace
}  // namespace nats_detail

using namespace nats_detail;

nats_connection::state::state(nats_connection_options o) : options(std::move(o)) {
    log = options.log ? options.log : std::make_shared<stderr_sink>(log_level::warn);
}

nats_connection::state::~state() {
    if (js != nullptr) jsCtx_Destroy(js);
    if (nc != nullptr) {
        closing.store(true, std::memory_order_release);
        natsConnection_Close(nc);
        {
            // The closed callback comes last; after it nats.c calls nothing of ours.
            std::unique_lock lock(closed_mutex);
            closed_cv.wait_for(lock, std::chrono::seconds(5), [&] { return closed; });
        }
        natsConnection_Destroy(nc);
    }
    // PubAcks that will never come now (targets hold the connection, so normally none): their
    // publishes fail retryably, then the completion thread ends.
    {
        std::lock_guard lock(pending_mutex);
        for (auto& [msg, w] : waiting) {
            w->error = "the connection closed before the PubAck came";
            complete_later(std::move(w));
        }
        waiting.clear();
    }
    {
        std::lock_guard lock(completions_mutex);
        completions_stop = true;
        completions_ready.notify_all();
    }
    if (completer.joinable()) {
        if (completer.get_id() == std::this_thread::get_id()) {
            // The completion thread dropped the last owner of the connection (a delivery it
            // ended started another, whose target was the last holder): it cannot join itself.
            // It returns as soon as this destructor does, touching nothing of ours.
            completer_orphaned() = true;
            completer.detach();
        } else {
            completer.join();
        }
    }
}

bool& nats_connection::state::completer_orphaned() noexcept {
    thread_local bool orphaned = false;
    return orphaned;
}

void nats_connection::state::start_completer() {
    std::lock_guard lock(completions_mutex);
    if (completer.joinable()) return;
    completer = std::thread([this] {
        std::deque<std::shared_ptr<pub_waiter>> batch;
        std::unique_lock lock(completions_mutex);
        while (true) {
            completer_idle = true;
            completions_ready.wait(lock, [&] { return completions_stop || !completions.empty(); });
            completer_idle = false;
            if (completions.empty()) return;  // stopping, and everything handed over is finished
            // All that came, in one take: one lock per burst of PubAcks, not two per PubAck.
            batch.swap(completions);
            lock.unlock();
            while (!batch.empty()) {
                auto next = std::move(batch.front());
                batch.pop_front();
                try {
                    next->finish();
                } catch (...) {
                    // Only an allocation can fail there; the delivery's completion, dropped,
                    // ends it as a retryable failure.
                }
                next.reset();
                if (completer_orphaned()) {
                    // `this` is gone (see ~state): it was the last owner, so nothing in the
                    // batch after this one can have a PubAck handler or target left to call.
                    return;
                }
            }
            lock.lock();
        }
    });
    completer_started.store(true, std::memory_order_release);
}

bool nats_connection::state::await_pub_ack(natsMsg* msg, std::shared_ptr<pub_waiter> w, std::chrono::steady_clock::time_point deadline) {
    if (!completer_started.load(std::memory_order_acquire)) start_completer();
    std::unique_lock lock(pending_mutex);
    // Behind those already waiting, not ahead of them: a publish arriving while they wait for
    // the bound to drain to resume_below() would otherwise take the slots they wait for.
    if (in_flight >= options.max_pub_acks_in_flight || slot_waiters != 0) {
        ++slot_waiters;
        const bool freed = slot_free.wait_until(lock, deadline, [&] { return in_flight <= resume_below(); });
        --slot_waiters;
        if (!freed) return false;
    }
    const bool fresh = waiting.emplace(msg, std::move(w)).second;
    if (!fresh) throw error("nats: two publishes awaited a PubAck for one message (internal error: please report it)");
    ++in_flight;
    return true;
}

std::shared_ptr<pub_waiter> nats_connection::state::forget_pub_ack(natsMsg* msg) {
    std::lock_guard lock(pending_mutex);
    const auto it = waiting.find(msg);
    if (it == waiting.end()) return nullptr;
    auto w = std::move(it->second);
    waiting.erase(it);
    free_slot_locked();
    return w;
}

void nats_connection::state::complete_later(std::shared_ptr<pub_waiter> w) {
    std::lock_guard lock(completions_mutex);
    completions.push_back(std::move(w));
    if (completer_idle) completions_ready.notify_one();
}

void nats_connection::state::write(log_level level, std::string_view message, std::initializer_list<log_field> fields) const noexcept {
    try {
        log_to(*log, level, message, fields);
    } catch (...) {
        // A log sink must not throw; if it does, the message is lost, nothing else.
    }
}

void nats_connection::state::free_slot_locked() noexcept {
    --in_flight;
    if (slot_waiters != 0 && in_flight <= resume_below()) slot_free.notify_one();
}

std::shared_ptr<nats_connection> nats_connection::connect(nats_connection_options options) {
    const std::string where = "nats_connection \"" + options.name + "\"";
    // nats.c's natsOptions_SetURL takes one URL as it is ("a,b" would be one unreachable
    // server): several, comma-separated, go to natsOptions_SetServers, each trimmed.
    std::vector<std::string> servers;
    for (std::size_t at = 0; at <= options.url.size();) {
        const auto comma = std::min(options.url.find(',', at), options.url.size());
        std::string one = options.url.substr(at, comma - at);
        one.erase(0, std::min(one.find_first_not_of(" \t"), one.size()));
        one.erase(one.find_last_not_of(" \t") + 1);
        if (!one.empty()) servers.push_back(std::move(one));
        at = comma + 1;
    }
    if (servers.empty())
        throw error(where + ": url is empty: give the server's URL, e.g. nats://127.0.0.1:4222 (several: comma-separated)");
    if (options.max_pub_acks_in_flight == 0 || options.max_pub_acks_in_flight > static_cast<std::size_t>(std::numeric_limits<int>::max()))
        throw error(where + ": max_pub_acks_in_flight must be at least 1 (256 is a good start)");
    if (options.request_timeout.count() <= 0) throw error(where + ": request_timeout must be positive (5 s is nats.c's default)");
    if (options.connect_timeout.count() <= 0) throw error(where + ": connect_timeout must be positive");
    if (options.reconnect_wait.count() < 0) throw error(where + ": reconnect_wait must not be negative");
    if (options.max_reconnects < -1) throw error(where + ": max_reconnects must be -1 (never give up) or a count");

    auto st = std::make_shared<state>(std::move(options));
    const auto& o = st->options;
    natsOptions* opts = nullptr;
    natsStatus s = natsOptions_Create(&opts);
    if (s == NATS_OK) {
        if (servers.size() == 1) {
            s = natsOptions_SetURL(opts, servers.front().c_str());
        } else {
            std::vector<const char*> list;
            for (const auto& server : servers) list.push_back(server.c_str());
            s = natsOptions_SetServers(opts, list.data(), static_cast<int>(list.size()));
        }
    }
    if (s == NATS_OK) s = natsOptions_SetName(opts, o.name.c_str());
    if (s == NATS_OK) s = natsOptions_SetTimeout(opts, to_ms(o.connect_timeout));
    if (s == NATS_OK) s = natsOptions_SetMaxReconnect(opts, o.max_reconnects);
    if (s == NATS_OK) s = natsOptions_SetReconnectWait(opts, to_ms(o.reconnect_wait));
    if (s == NATS_OK) s = natsOptions_SetDisconnectedCB(opts, &on_disconnected, st.get());
    if (s == NATS_OK) s = natsOptions_SetReconnectedCB(opts, &on_reconnected, st.get());
    if (s == NATS_OK) s = natsOptions_SetClosedCB(opts, &on_closed, st.get());
    if (s == NATS_OK) s = natsOptions_SetErrorHandler(opts, &on_error, st.get());
    if (s != NATS_OK) {
        natsOptions_Destroy(opts);
        throw error(fmt::format("{}: the options were refused by nats.c: {} (check url \"{}\")", where, describe(s), o.url));
    }
    s = natsConnection_Connect(&st->nc, opts);
    natsOptions_Destroy(opts);
    if (s != NATS_OK) {
        st->nc = nullptr;
        throw error(fmt::format("{}: cannot connect to {}: {} (start a server with JetStream, `nats-server -js`, or fix "
                                "nats_connection_options::url)",
                                where, o.url, describe(s)));
    }
    jsOptions jo;
    jsOptions_Init(&jo);
    jo.Wait = to_ms(o.request_timeout);
    // Our bound (max_pub_acks_in_flight, await_pub_ack) is the one that applies: nats.c frees its
    // own slot at another moment than we free ours (before or after the PubAck handler runs), so
    // with equal bounds nats.c's could refuse or stall a publish ours admitted. Twice ours.
    jo.PublishAsync.MaxPending = static_cast<std::int64_t>(o.max_pub_acks_in_flight) * 2;
    jo.PublishAsync.AckHandler = &on_pub_ack;
    jo.PublishAsync.AckHandlerClosure = st.get();
    s = natsConnection_JetStream(&st->js, st->nc, &jo);
    if (s != NATS_OK) {
        st->js = nullptr;
        throw error(fmt::format("{}: cannot make a JetStream context: {}", where, describe(s)));
    }
    jsAccountInfo* ai = nullptr;
    jsErrCode code = static_cast<jsErrCode>(0);
    s = js_GetAccountInfo(&ai, st->js, nullptr, &code);
    if (ai != nullptr) jsAccountInfo_Destroy(ai);
    // A server without JetStream says so at once: no responders, or JetStream's "not enabled".
    // Silence or "temporarily unavailable" means JetStream is there but cannot answer yet (a
    // cluster electing its meta leader leaves requests unanswered for seconds): the connection
    // stands, and the requests that need JetStream wait for it or fail with their own error.
    if (s == NATS_NO_RESPONDERS || code == JSNotEnabledErr || code == JSNotEnabledForAccountErr) {
        throw error(fmt::format("{}: the server at {} does not offer JetStream: {} (start it with JetStream enabled: "
                                "`nats-server -js`)",
                                where, o.url, describe(s, code)));
    } else if (s == NATS_TIMEOUT || code == JSClusterNotAvailErr || code == JSClusterNotLeaderErr) {
        st->write(log_level::warn,
                  "nats: JetStream did not answer at connect (a cluster without a meta leader yet? or a user not allowed "
                  "$JS.API.INFO); connected anyway",
                  {{"connection", o.name}, {"url", o.url}, {"status", describe(s, code)}});
    } else if (s != NATS_OK) {
        throw error(fmt::format("{}: JetStream's account information request to {} failed: {} (check the account's JetStream "
                                "limits and the user's permissions on $JS.API.>)",
                                where, o.url, describe(s, code)));
    }
    return std::shared_ptr<nats_connection>(new nats_connection(std::move(st)));
}

nats_connection::~nats_connection() = default;

void nats_connection::add_stream(const nats_stream_config& config) {
    const std::string where = "nats_connection::add_stream(\"" + config.name + "\")";
    if (config.name.empty() || config.name.find_first_of(".*> \t\r\n") != std::string::npos)
        throw error(where + ": a stream name must be non-empty, without '.', '*', '>' or spaces (e.g. \"EVENTS\")");
    if (config.subjects.empty()) throw error(where + ": give the subjects the stream stores, e.g. {\"events.>\"}");
    if (config.replicas < 1 || config.replicas > 5)
        throw error(fmt::format("{}: replicas is {}: it must be 1 to 5 (JetStream's range; 3 in a cluster of three or more "
                                "servers survives the loss of one, 1 on a single server)",
                                where, config.replicas));
    std::vector<const char*> subjects;
    for (const auto& s : config.subjects) subjects.push_back(s.c_str());
    jsStreamConfig cfg;
    jsStreamConfig_Init(&cfg);
    cfg.Name = config.name.c_str();
    cfg.Subjects = subjects.data();
    cfg.SubjectsLen = static_cast<int>(subjects.size());
    cfg.Storage = config.memory_storage ? js_MemoryStorage : js_FileStorage;
    cfg.Duplicates = to_ns(config.duplicate_window);
    cfg.MaxAge = to_ns(config.max_age);
    cfg.Replicas = config.replicas;
    jsStreamInfo* si = nullptr;
    jsErrCode code = static_cast<jsErrCode>(0);
    natsStatus s = js_AddStream(&si, state_->js, &cfg, nullptr, &code);
    if (si != nullptr) jsStreamInfo_Destroy(si);
    if (s == NATS_OK) return;
    // It exists: bring it to this configuration.
    code = static_cast<jsErrCode>(0);
    s = js_UpdateStream(&si, state_->js, &cfg, nullptr, &code);
    if (si != nullptr) jsStreamInfo_Destroy(si);
    if (s != NATS_OK) throw error(fmt::format("{}: JetStream refused the stream: {}", where, describe(s, code)));
}

bool nats_connection::delete_stream(const std::string& name) {
    jsErrCode code = static_cast<jsErrCode>(0);
    const natsStatus s = js_DeleteStream(state_->js, name.c_str(), nullptr, &code);
    if (s == NATS_OK) return true;
    if (s == NATS_NOT_FOUND || code == JSStreamNotFoundErr) return false;
    throw error(fmt::format("nats_connection::delete_stream(\"{}\"): {}", name, describe(s, code)));
}

bool nats_connection::connected() const { return natsConnection_Status(state_->nc) == NATS_CONN_STATUS_CONNECTED; }

const nats_connection_options& nats_connection::options() const noexcept { return state_->options; }

nats_connection_stats nats_connection::stats() const {
    const auto& s = *state_;
    nats_connection_stats out;
    out.disconnects = s.disconnects.load();
    out.reconnects = s.reconnects.load();
    out.published = s.published.load();
    out.pub_acks = s.pub_acks.load();
    out.pub_ack_duplicates = s.pub_ack_duplicates.load();
    out.pub_ack_failures = s.pub_ack_failures.load();
    out.pub_ack_unstored_duplicates = s.pub_ack_unstored_duplicates.load();
    {
        std::lock_guard lock(state_->pending_mutex);
        out.pub_acks_in_flight = state_->in_flight;
    }
    out.received = s.received.load();
    out.redeliveries = s.redeliveries.load();
    out.acks = s.acks.load();
    out.naks = s.naks.load();
    out.terms = s.terms.load();
    out.in_progress = s.in_progress.load();
    out.lag = s.lag.load();
    out.stalls_recovered = s.stalls_recovered.load();
    return out;
}

metrics_snapshot nats_connection::metrics() const {
    const auto s = stats();
    const metric_labels labels{{"connection", state_->options.name}};
    metrics_snapshot out;
    auto counter = [&](const char* name, const char* help, std::uint64_t v) {
        out.samples.push_back({name, help, metric_type::counter, labels, static_cast<double>(v), {}});
    };
    auto gauge = [&](const char* name, const char* help, std::uint64_t v) {
        out.samples.push_back({name, help, metric_type::gauge, labels, static_cast<double>(v), {}});
    };
    counter("NatsDisconnects", "Times the NATS connection was lost", s.disconnects);
    counter("NatsReconnects", "Times the NATS connection came back", s.reconnects);
    counter("NatsPublished", "Messages published to JetStream by targets", s.published);
    counter("NatsPubAcks", "PubAcks received", s.pub_acks);
    counter("NatsPubAckDuplicates", "PubAcks saying the server already had the message (same Nats-Msg-Id)", s.pub_ack_duplicates);
    counter("NatsPubAckFailures", "Publishes that failed or got no PubAck in time", s.pub_ack_failures);
    counter("NatsPubAckUnstoredDuplicates", "Duplicate PubAcks without a stream sequence (seen, not stored): retried",
            s.pub_ack_unstored_duplicates);
    gauge("NatsPubAcksInFlight", "Publishes awaiting their PubAck", s.pub_acks_in_flight);
    counter("NatsReceived", "Messages fetched by sources", s.received);
    counter("NatsRedeliveries", "Fetched messages JetStream had delivered before", s.redeliveries);
    counter("NatsAcks", "Messages acknowledged by sources", s.acks);
    counter("NatsNaks", "Messages negatively acknowledged (redelivered after a delay)", s.naks);
    counter("NatsTerms", "Messages terminated and dead-lettered", s.terms);
    counter("NatsInProgress", "In-progress signals sent for slow messages", s.in_progress);
    gauge("NatsLag", "Messages the sources' consumers have not yet received", s.lag);
    counter("NatsStallsRecovered", "Pull subscriptions made again after fetching stalled", s.stalls_recovered);
    return out;
}

}  // namespace switchyard
