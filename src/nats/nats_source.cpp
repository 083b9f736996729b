// nats_source: a thread that fetches from a durable pull consumer, and another that publishes
// each fetched message's event into the bus with a settlement callback; the callback acks, naks
// or terminates the message. The fetch thread keeps one pull request ahead of the publishing
// (the server's round trip overlaps the per-message work) within max_in_flight, and alone owns
// the consumer's inbox (pull.hpp: pull requests of our own, not nats.c's Fetch): it makes a new
// one when fetching stalls while the consumer has messages waiting. A third thread sends "in
// progress" for messages whose deliveries run long.
#include "switchyard/nats/nats_source.hpp"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "nats/internal.hpp"
#include "nats/pull.hpp"
#include "switchyard/error.hpp"

namespace switchyard {

using namespace nats_detail;
using clock_type = std::chrono::steady_clock;

namespace {

// What to do with a message once its publish has settled.
enum class verdict { ack, nak, term };

bool retryable(dead_letter_reason r) {
    switch (r) {
        case dead_letter_reason::retries_exhausted:
        case dead_letter_reason::max_age_exceeded:
        case dead_letter_reason::queue_full:
        case dead_letter_reason::shutdown: return true;
        case dead_letter_reason::permanent_failure:
        case dead_letter_reason::routing_loop: return false;
    }
    return false;
}

// The source whose dispatch_ready() runs on this thread (its publishing thread, for its whole
// life): a settlement inside a publish leaves the messages it made ready to the outer loop.
thread_local const void* dispatching = nullptr;

}  // namespace

struct nats_source::state : std::enable_shared_from_this<nats_source::state> {
    // A fetched message whose deliveries run.
    struct in_flight {
        natsMsg* msg = nullptr;
        event_ptr event;
        std::string subject;
        std::uint64_t delivered = 1;  // JetStream's count of deliveries, this one included
        clock_type::time_point last_progress;
        // A publish the bus throttled is tried again here (the publishing thread waits: backpressure)
        // until then, rather than spend one of the message's max_deliver deliveries on a nak.
        clock_type::time_point retry_until{};
        bool publish_again = false;
    };

    bus* destination;
    std::shared_ptr<nats_connection> connection;
    nats_connection::state& conn;
    nats_source_options options;
    std::string where;

    // The consumer's inbox and pull requests (pull.hpp). The fetch thread's alone once it runs
    // (the constructor subscribes before starting it, and the destructor runs after it is
    // joined): only it fetches, and only it renews the inbox (check_stall).
    std::unique_ptr<pull_inbox> inbox;

    std::mutex mutex;
    std::condition_variable changed;  // settlements (stop() waits for the running ones), stopping
    // The fetch thread's: room came free, fewer than a batch wait to be published, the bus
    // closed, stopping. Notified only when one of those holds (settlements are per message).
    std::condition_variable fetch_changed;
    // The publishing thread's: a message to publish (fresh or ready), stopping.
    std::condition_variable publish_changed;
    // The "in progress" thread's own: waking that thread at every settlement cost a fifth of the
    // source's CPU (bench_nats, consume).
    std::condition_variable progress_changed;
    bool stopping = false;
    bool progress_done = false;  // stop(): the running deliveries ended (or the bound passed)
    // The bus said it is shut down: fetch no more (a closed bus never takes the event, and each
    // fetch would spend one of the message's deliveries); what is held is naked.
    bool bus_closed = false;
    // The bus's journal failed: fetching pauses until then, the pause doubling while it fails.
    clock_type::time_point paused_until{};
    std::chrono::milliseconds journal_backoff = initial_journal_backoff;
    static constexpr std::chrono::milliseconds initial_journal_backoff{100};
    static constexpr std::chrono::milliseconds max_journal_backoff{5000};
    std::uint64_t next_id = 0;
    std::map<std::uint64_t, in_flight> running;
    // ordered_by_subject: the subjects with a message running, and those waiting behind it.
    std::unordered_map<std::string, std::deque<std::uint64_t>> waiting_by_subject;
    // Fetched and not yet publishing: those in `fresh`, those waiting behind their subject and
    // those `ready`.
    std::map<std::uint64_t, in_flight> queued;
    std::deque<std::uint64_t> fresh;  // fetched, not behind their subject: the publishing thread's, in order
    std::deque<std::uint64_t> ready;  // their subject came free: publish them
    // Messages asked for by the running pull request, or that the request a fetch left open
    // may still bring (and, once fetched, not yet in `queued`): running + queued + requested
    // never exceeds max_in_flight.
    std::size_t requested = 0;

    std::atomic<std::uint64_t> received{0}, redeliveries{0}, acks{0}, naks{0}, terms{0}, in_progress{0}, lag{0};
    // The consumer's ack floor as last read from the server (every stream sequence up to it is
    // acknowledged or terminated), with whether it was ever read: a consumer made again after
    // it was lost starts just past it. Written by the fetch thread only (creation, check_stall()).
    std::atomic<std::uint64_t> ack_floor{0};
    bool ack_floor_known = false;
    // The stream's creation time when the consumer was made or bound: the floor belongs to that
    // stream, not to one made again under the same name (whose sequences start over).
    std::int64_t stream_created = 0;

    std::thread fetcher;    // fetches into `queued`/`fresh`; owns `inbox`
    std::thread publisher;  // publishes `ready` and `fresh`
    std::thread progress;   // sends "in progress" (the publisher may be blocked in a publish)

    state(bus& b, std::shared_ptr<nats_connection> c, nats_source_options o)
        : destination(&b), connection(std::move(c)), conn(*connection->internals()), options(std::move(o)) {
        where = fmt::format("nats_source \"{}\" on stream \"{}\"", options.durable, options.stream);
    }

    ~state() {
        for (auto& [id, f] : running) natsMsg_Destroy(f.msg);
        for (auto& [id, f] : queued) natsMsg_Destroy(f.msg);
    }

    void log(log_level level, std::string_view message, std::initializer_list<log_field> fields = {}) const noexcept {
        conn.write(level, message, fields);
    }

    // ---- set-up ------------------------------------------------------------------------------

    void validate() const {
        if (options.stream.empty()) throw error("nats_source: stream is empty: name the JetStream stream to consume");
        if (options.durable.empty())
            throw error(fmt::format("nats_source on stream \"{}\": durable is empty: name the consumer (sources sharing the name "
                                    "share the work)",
                                    options.stream));
        if (options.durable.find_first_of(".*> \t\r\n") != std::string::npos)
            throw error(where + ": a durable name cannot hold '.', '*', '>' or whitespace");
        if (options.max_deliver < 1) throw error(where + ": max_deliver must be at least 1");
        if (options.max_in_flight == 0) throw error(where + ": max_in_flight must be at least 1");
        if (options.fetch_batch == 0) throw error(where + ": fetch_batch must be at least 1");
        if (options.ack_wait < std::chrono::milliseconds(300)) throw error(where + ": ack_wait must be at least 300 ms");
        if (options.fetch_wait.count() <= 0) throw error(where + ": fetch_wait must be positive");
        if (options.nak_delay.count() < 0) throw error(where + ": nak_delay must not be negative");
        if (options.start == nats_start::sequence && options.start_sequence == 0)
            throw error(where + ": start_sequence must be at least 1 (a stream's first message is 1)");
    }

    // Creates the durable consumer, or binds to it when it exists with our settings. `again`:
    // it existed and was lost (deleted by an operator, or by a server that restarted without it):
    // it starts where the lost one was (just past its last ack floor this source read), not at
    // options.start, which would hand out again everything from the first message (start all)
    // or skip what was published meanwhile (start new_only).
    void create_consumer(bool again = false) {
        jsStreamInfo* si = nullptr;
        jsErrCode code = static_cast<jsErrCode>(0);
        natsStatus s = js_GetStreamInfo(&si, conn.js, options.stream.c_str(), nullptr, &code);
        std::uint64_t stream_first = 0;
        std::int64_t created = 0;
        if (si != nullptr) {
            stream_first = si->State.FirstSeq;
            created = si->Created;
            jsStreamInfo_Destroy(si);
        }
        if (s == NATS_NOT_FOUND || code == JSStreamNotFoundErr)
            throw error(fmt::format("{}: the stream does not exist: create it first (nats_connection::add_stream, or `nats stream add`)",
                                    where));
        if (s != NATS_OK) throw error(fmt::format("{}: cannot read the stream: {}", where, describe(s, code)));

        jsConsumerConfig cc;
        jsConsumerConfig_Init(&cc);
        cc.Durable = options.durable.c_str();
        cc.AckPolicy = js_AckExplicit;
        cc.AckWait = to_ns(options.ack_wait);
        // One more than max_deliver: the source terms (and dead-letters) at the max_deliver-th
        // delivery; the server's extra one is for a max_deliver-th delivery that never settled
        // (the process died, ack_wait passed): without it the server would stop redelivering and
        // no dead letter would ever be written.
        cc.MaxDeliver = static_cast<std::int64_t>(options.max_deliver) + 1;
        cc.MaxAckPending = static_cast<std::int64_t>(options.max_in_flight);
        if (!options.filter_subject.empty()) cc.FilterSubject = options.filter_subject.c_str();
        switch (options.start) {
            case nats_start::all: cc.DeliverPolicy = js_DeliverAll; break;
            case nats_start::new_only: cc.DeliverPolicy = js_DeliverNew; break;
            case nats_start::sequence:
                cc.DeliverPolicy = js_DeliverByStartSequence;
                cc.OptStartSeq = options.start_sequence;
                break;
            case nats_start::time: {
                cc.DeliverPolicy = js_DeliverByStartTime;
                // nats.c 3.4.1 writes the fraction of a second without its leading zeros (0.005 s
                // goes out as ".5"): a fraction below 0.1 s would start the consumer up to a
                // second late and skip messages. Start at the whole second instead (earlier, never
                // later); take() drops what was stored before start_time, so the window is exact.
                std::int64_t ns = start_time_ns();
                const std::int64_t fraction = ns % 1'000'000'000;
                if (fraction > 0 && fraction < 100'000'000) ns -= fraction;
                cc.OptStartTime = ns;
                break;
            }
        }
        // A stream made again since (its sequences start over) is not the one the floor was
        // read on: the lost consumer's position means nothing there.
        if (const auto floor = ack_floor.load(std::memory_order_relaxed); again && ack_floor_known && created == stream_created) {
            cc.DeliverPolicy = js_DeliverByStartSequence;
            cc.OptStartSeq = std::max(floor + 1, stream_first);
            cc.OptStartTime = 0;
            log(log_level::warn, "nats: the consumer starts again just past its last ack floor",
                {{"stream", options.stream}, {"durable", options.durable}, {"sequence", std::to_string(cc.OptStartSeq)}});
        }
        // An existing durable is bound to as it is, if its settings are ours. nats-server 2.9
        // answers a create with other settings by changing the consumer under every process
        // that shares it: a second process with another max_deliver would quietly change the
        // first one's guarantees. Like SQS's CreateQueue with other attributes, refuse instead.
        jsConsumerInfo* ci = nullptr;
        code = static_cast<jsErrCode>(0);
        s = js_GetConsumerInfo(&ci, conn.js, options.stream.c_str(), options.durable.c_str(), nullptr, &code);
        if (s == NATS_OK && ci != nullptr) {
            const std::string differences = config_differences(*ci->Config, cc);
            if (differences.empty()) note_ack_floor(*ci);
            jsConsumerInfo_Destroy(ci);
            if (!differences.empty())
                throw error(fmt::format("{}: the durable consumer exists with other settings ({}): give this source the same "
                                        "options as the others on it, or another durable name, or delete the consumer "
                                        "(`nats consumer rm {} {}`) to make it again",
                                        where, differences, options.stream, options.durable));
            stream_created = created;
            subscribe();
            return;
        }
        if (ci != nullptr) jsConsumerInfo_Destroy(ci);
        if (s != NATS_NOT_FOUND && code != JSConsumerNotFoundErr)
            throw error(fmt::format("{}: cannot read the consumer: {}", where, describe(s, code)));
        ci = nullptr;
        code = static_cast<jsErrCode>(0);
        // Two sources may create it at once: the same settings make the second create a no-op.
        s = js_AddConsumer(&ci, conn.js, options.stream.c_str(), &cc, nullptr, &code);
        if (s == NATS_OK && ci != nullptr) note_ack_floor(*ci);
        if (ci != nullptr) jsConsumerInfo_Destroy(ci);
        if (s != NATS_OK) throw error(fmt::format("{}: JetStream refused to create the consumer: {}", where, describe(s, code)));
        stream_created = created;
        subscribe();
    }

    // A new consumer's floor is just before where it starts.
    void note_ack_floor(const jsConsumerInfo& ci) {
        ack_floor.store(ci.AckFloor.Stream, std::memory_order_relaxed);
        ack_floor_known = true;
    }

    // The settings a source relies on that differ between an existing consumer and ours, as
    // "name: theirs, ours here" pairs; empty when they agree. Where it starts is not compared: an
    // existing durable goes on where it was.
    static std::string config_differences(const jsConsumerConfig& theirs, const jsConsumerConfig& ours) {
        std::string out;
        const auto add = [&](std::string_view name, const auto& a, const auto& b) {
            if (a == b) return;
            if (!out.empty()) out += "; ";
            out += fmt::format("{}: {} there, {} here", name, a, b);
        };
        const auto text = [](const char* s) { return std::string(s == nullptr ? "" : s); };
        using namespace std::string_view_literals;
        if (theirs.AckPolicy != js_AckExplicit) add("ack policy", "not explicit"sv, "explicit"sv);
        add("ack_wait (ns)", theirs.AckWait, ours.AckWait);
        add("MaxDeliver (max_deliver + 1)", theirs.MaxDeliver, ours.MaxDeliver);
        add("MaxAckPending (max_in_flight)", theirs.MaxAckPending, ours.MaxAckPending);
        add("filter_subject", "\"" + text(theirs.FilterSubject) + "\"", "\"" + text(ours.FilterSubject) + "\"");
        if (theirs.DeliverSubject != nullptr && *theirs.DeliverSubject != '\0') add("kind", "push"sv, "pull"sv);
        return out;
    }

    std::int64_t start_time_ns() const {
        return std::chrono::duration_cast<std::chrono::nanoseconds>(options.start_time.time_since_epoch()).count();
    }

    // The inbox the consumer's messages come to, made once (a consumer made again after it was
    // lost keeps it).
    void subscribe() {
        if (!inbox) inbox = std::make_unique<pull_inbox>(conn.nc, "$JS.API.CONSUMER.MSG.NEXT." + options.stream + "." + options.durable, where);
    }

    // ---- the fetch loop ----------------------------------------------------------------------

    std::chrono::milliseconds progress_interval() const { return std::max(options.ack_wait / 3, std::chrono::milliseconds(100)); }

    // The fetch thread may start a pull request: the messages held and asked for leave room,
    // and fewer than a batch wait to be published (one request ahead of the publishing, not
    // more: a fetched message's ack_wait runs from the fetch). Called with the mutex held.
    bool may_fetch() const {
        return running.size() + queued.size() + requested < options.max_in_flight && fresh.size() + ready.size() < options.fetch_batch;
    }

    // The fetch thread: pull requests, one at a time, each for what the bound leaves; the
    // messages go to `queued` (and `fresh`) for the publishing thread, and the next request
    // starts while they are published.
    void run_fetch() {
        const auto wait = std::min(options.fetch_wait, progress_interval());
        int empty_fetches = 0;
        constexpr auto state_read_interval = std::chrono::seconds(5);
        auto last_state_read = clock_type::now();
        auto last_error_log = clock_type::time_point{};
        while (true) {
            std::size_t ask = 0;
            {
                std::unique_lock lock(mutex);
                // An open pull request (`requested` > 0) is read on whatever else holds the
                // fetching back: its deliveries come anyway, and are ours (in progress) only
                // once taken.
                fetch_changed.wait_for(lock, wait, [&] { return stopping || bus_closed || may_fetch() || requested > 0; });
                if (stopping) return;
                if (bus_closed) {
                    // Nak what waits for its turn (the running ones settle themselves), and
                    // fetch no more; the loop wakes only to nak what a settlement made ready.
                    nak_held(options.nak_delay);
                    fetch_changed.wait_for(lock, wait, [&] { return stopping; });
                    if (stopping) return;
                    continue;
                }
                const bool paused = clock_type::now() < paused_until;
                if (paused && requested == 0) {
                    fetch_changed.wait_until(lock, std::min(paused_until, clock_type::now() + wait), [&] { return stopping; });
                    if (stopping) return;
                    continue;
                }
                // A new request only when not paused and the bound leaves room.
                if (!paused && may_fetch())
                    ask = std::min(options.fetch_batch, options.max_in_flight - (running.size() + queued.size() + requested));
                if (ask == 0 && requested == 0) continue;
                requested += ask;
            }
            std::vector<natsMsg*> fetched;
            fetched.reserve(ask + 8);
            const natsStatus s = inbox->fetch(fetched, ask, wait);
            if (s == NATS_OK) {
                empty_fetches = 0;
                take(fetched);  // `requested` becomes what the open request may still bring
                // A source that never runs dry still reads the consumer's state now and then:
                // the lag it reports, and the ack floor a lost consumer would start again from.
                if (const auto now = clock_type::now(); now - last_state_read > state_read_interval) {
                    last_state_read = now;
                    check_stall(false);
                }
                continue;
            }
            {
                std::unique_lock lock(mutex);
                requested = inbox->outstanding();
                if (s != NATS_TIMEOUT) {
                    const auto now = clock_type::now();
                    if (now - last_error_log > std::chrono::seconds(5)) {
                        last_error_log = now;
                        log(log_level::warn, "nats: fetching failed; trying again",
                            {{"stream", options.stream},
                             {"durable", options.durable},
                             {"error", s == NATS_ERR ? "JetStream refused the pull request: " + inbox->failure() : describe(s)}});
                    }
                    // Let a reconnection happen rather than spin.
                    fetch_changed.wait_for(lock, std::chrono::milliseconds(100), [&] { return stopping; });
                    if (stopping) return;
                }
            }
            // Only fetches that asked for messages: reading on from an open request while
            // paused or held back says nothing about a stall.
            if (ask > 0 && ++empty_fetches >= 4) {
                empty_fetches = 0;
                last_state_read = clock_type::now();
                check_stall();
            }
        }
    }

    // The publishing thread: the messages whose subject came free first, then the fetched ones
    // in order. Settlements inside its publishes (an inline delivery) leave `ready` to this loop.
    void run_publish() {
        dispatching = this;
        const auto wait = std::min(options.fetch_wait, progress_interval());
        std::unique_lock lock(mutex);
        while (true) {
            publish_changed.wait_for(lock, wait, [&] { return stopping || (!bus_closed && (!ready.empty() || !fresh.empty())); });
            if (stopping) return;
            if (bus_closed) continue;  // the fetch thread naks what is held
            std::uint64_t id = 0;
            if (!ready.empty()) {
                id = ready.front();
                ready.pop_front();
            } else if (!fresh.empty()) {
                id = fresh.front();
                fresh.pop_front();
            } else {
                continue;
            }
            auto node = queued.extract(id);
            if (node.empty()) continue;
            running.insert(std::move(node));
            if (may_fetch()) fetch_changed.notify_one();
            lock.unlock();
            publish(id);
            lock.lock();
        }
    }

    // Reads the consumer's state: refreshes the lag and the ack floor, and makes the consumer
    // again if the server lost it. `stalled`: fetches came back empty (or failed) several times
    // in a row; if the consumer says messages wait for us, the pull subscription is stuck (nats.c
    // after a server restart, say): make it again.
    void check_stall(bool stalled = true) {
        jsConsumerInfo* ci = nullptr;
        jsErrCode code = static_cast<jsErrCode>(0);
        const natsStatus s = js_GetConsumerInfo(&ci, conn.js, options.stream.c_str(), options.durable.c_str(), nullptr, &code);
        if (s != NATS_OK) {
            if (ci != nullptr) jsConsumerInfo_Destroy(ci);
            if (s == NATS_NOT_FOUND || code == JSConsumerNotFoundErr) {
                // The server lost it (a memory store after a restart): make it again.
                log(log_level::warn, "nats: the consumer is gone; creating it again", {{"stream", options.stream}, {"durable", options.durable}});
                try {
                    create_consumer(true);
                } catch (const std::exception& ex) {
                    log(log_level::error, "nats: could not create the consumer again", {{"error", ex.what()}});
                }
            }
            return;
        }
        const std::uint64_t pending = ci->NumPending;
        const auto ack_pending = static_cast<std::size_t>(ci->NumAckPending);
        note_ack_floor(*ci);
        jsConsumerInfo_Destroy(ci);
        lag.store(pending, std::memory_order_relaxed);
        conn.lag.store(pending, std::memory_order_relaxed);
        std::size_t ours = 0;
        {
            std::lock_guard lock(mutex);
            ours = running.size() + queued.size();
        }
        if (stalled && pending > 0 && ack_pending < options.max_in_flight && ours < options.max_in_flight) {
            log(log_level::warn, "nats: fetching stalled while the consumer has messages; subscribing again",
                {{"stream", options.stream}, {"durable", options.durable}, {"pending", std::to_string(pending)}});
            try {
                inbox->renew();
                conn.stalls_recovered.fetch_add(1, std::memory_order_relaxed);
            } catch (const std::exception& ex) {
                log(log_level::error, "nats: could not subscribe again", {{"error", ex.what()}});
            }
        }
    }

    // A fetched batch: every message's metadata is read first (outside the lock; `requested`
    // counts them meanwhile), then they are registered at once (so "in progress" covers those
    // waiting for their turn to publish: JetStream's ack timer runs from the fetch) and handed to
    // the publishing thread in order, except those queued behind a message of their subject.
    void take(const std::vector<natsMsg*>& list) {
        const auto fetched = clock_type::now();
        std::vector<in_flight> taken;
        taken.reserve(list.size());
        for (natsMsg* m : list) {
            received.fetch_add(1, std::memory_order_relaxed);
            conn.received.fetch_add(1, std::memory_order_relaxed);
            std::uint64_t delivered = 1;
            std::int64_t stored_at = 0;
            if (const auto meta = parse_ack_subject(natsMsg_GetReply(m))) {
                delivered = meta->delivered;
                stored_at = meta->stored_ns;
                lag.store(meta->pending, std::memory_order_relaxed);
                conn.lag.store(meta->pending, std::memory_order_relaxed);
            }
            if (options.start == nats_start::time && stored_at != 0 && stored_at < start_time_ns()) {
                // Before the window (see create_consumer): not ours to deliver.
                ack(conn.nc, m);
                natsMsg_Destroy(m);
                continue;
            }
            if (delivered > 1) {
                redeliveries.fetch_add(1, std::memory_order_relaxed);
                conn.redeliveries.fetch_add(1, std::memory_order_relaxed);
            }
            const char* subject_c = natsMsg_GetSubject(m);
            // Parsed by the publishing thread (publish()): the fetch thread's time is the next
            // pull request's.
            taken.push_back(in_flight{m, nullptr, subject_c ? subject_c : "", delivered, fetched});
        }
        std::lock_guard lock(mutex);
        for (auto& f : taken) {
            const auto id = next_id++;
            bool behind = false;
            if (options.ordered_by_subject) {
                auto& line = waiting_by_subject[f.subject];
                line.push_back(id);
                behind = line.size() > 1;  // behind the running message of its subject
            }
            queued.emplace(id, std::move(f));
            if (!behind) fresh.push_back(id);
        }
        requested = inbox->outstanding();
        if (!fresh.empty()) publish_changed.notify_one();
    }

    // Publishes the messages whose subject came free. Called by the settlement that freed the
    // subject (so the next message need not wait for the publishing thread); on the publishing
    // thread, or a thread already doing it (an inline delivery settling inside publish), the
    // outer loop picks the message up instead of nesting.
    void dispatch_ready() {
        if (dispatching == this) return;
        const void* outer = dispatching;
        dispatching = this;
        {
            std::unique_lock lock(mutex);
            publish_ready(lock);
        }
        dispatching = outer;
    }

    void publish_ready(std::unique_lock<std::mutex>& lock) {
        while (!ready.empty() && !stopping && !bus_closed) {
            const auto id = ready.front();
            ready.pop_front();
            auto node = queued.extract(id);
            if (node.empty()) continue;
            running.insert(std::move(node));
            lock.unlock();
            publish(id);
            lock.lock();
        }
    }

    void publish(std::uint64_t id) {
        event_ptr e;
        natsMsg* m = nullptr;
        {
            std::lock_guard lock(mutex);
            auto& f = running.at(id);
            e = f.event;
            m = f.msg;
        }
        if (!e) {
            // The message is ours while it runs unpublished: only its settlement destroys it.
            try {
                e = parse_event(std::string_view(natsMsg_GetData(m), static_cast<std::size_t>(std::max(natsMsg_GetDataLength(m), 0))));
            } catch (const std::exception& ex) {
                in_flight f;
                {
                    std::lock_guard lock(mutex);
                    f = finish(running.find(id));
                }
                if (options.ordered_by_subject) dispatch_ready();  // the next of its subject, now
                unreadable(f.msg, f.subject, f.delivered, ex.what());
                return;
            }
        }
        {
            std::lock_guard lock(mutex);
            auto& f = running.at(id);
            f.event = e;
            f.retry_until = clock_type::now() + options.ack_wait / 2;
        }
        auto backoff = std::chrono::milliseconds(1);
        while (true) {
            // The callback keeps the state (and the connection) alive: a message whose deliveries
            // end after stop() is still acknowledged.
            try {
                (void)destination->publish(e, [self = shared_from_this(), id](const publish_settlement& s) { self->settled(id, s); });
            } catch (const std::exception& ex) {
                publish_settlement refused;
                refused.publish.error_code = publish_errc::bus_shut_down;
                refused.publish.error_message = ex.what();
                settled(id, refused);
                return;
            }
            // A throttled publish settles at once, inside publish(): settled() has decided.
            std::unique_lock lock(mutex);
            auto it = running.find(id);
            if (it == running.end() || !it->second.publish_again) return;
            it->second.publish_again = false;
            changed.wait_for(lock, backoff, [&] { return stopping; });
            backoff = std::min(backoff * 2, std::chrono::milliseconds(100));
        }
    }

    // ---- settling ----------------------------------------------------------------------------

    void settled(std::uint64_t id, const publish_settlement& s) {
        in_flight f;
        {
            std::lock_guard lock(mutex);
            auto it = running.find(id);
            if (it == running.end()) return;
            if (s.publish.error_code == publish_errc::throttled && !stopping && clock_type::now() < it->second.retry_until) {
                it->second.publish_again = true;  // publish() tries again after a pause
                return;
            }
            if (s.publish.error_code == publish_errc::bus_shut_down) {
                bus_closed = true;
                fetch_changed.notify_one();
                if (requested > 0) {
                    // A pull request is running: naked now, the message could be handed straight
                    // back to it (a redelivery, spending one of its deliveries). Held with those
                    // waiting instead: the fetch thread naks them all once its request returned.
                    auto node = running.extract(it);
                    queued.insert(std::move(node));
                    if (stopping) changed.notify_all();
                    return;
                }
            } else if (s.publish.error_code == publish_errc::journal_failed) {
                paused_until = clock_type::now() + journal_backoff;
                journal_backoff = std::min(journal_backoff * 2, max_journal_backoff);
            } else if (s.publish.ok()) {
                journal_backoff = initial_journal_backoff;
            }
            f = finish(it);
        }
        if (options.ordered_by_subject) dispatch_ready();  // the next of its subject, now
        std::string reason_text;
        dead_letter_reason reason = dead_letter_reason::retries_exhausted;
        verdict v = verdict::ack;
        // A refusal that says nothing about the message (the bus is shut down, its journal
        // fails, it stays throttled): nak it, and never turn that nak into a term at max_deliver
        // (shutting the bus down would otherwise burn every fetched message out of the stream).
        bool refused_for_now = false;
        const char* code_text = "DeadLetteredLocally";  // a target dead-lettered it for good
        if (!s.publish.ok()) {
            code_text = "PublishRefused";
            const auto code = s.publish.error_code;
            const bool later = code == publish_errc::throttled || code == publish_errc::journal_failed || code == publish_errc::bus_shut_down;
            v = later ? verdict::nak : verdict::term;
            refused_for_now = later;
            reason = later ? dead_letter_reason::retries_exhausted : dead_letter_reason::permanent_failure;
            reason_text = fmt::format("the bus refused the event: {}: {}", to_string(code), s.publish.error_message);
        } else if (!s.dead_letters.empty() && options.on_dead_letter == nats_local_failure::redeliver) {
            v = verdict::nak;
            for (const auto& d : s.dead_letters) {
                if (!retryable(d.reason)) {
                    v = verdict::term;
                    reason = d.reason;
                }
            }
            const auto& first = s.dead_letters.front();
            if (v == verdict::nak) reason = first.reason;
            reason_text = fmt::format("{} of {} deliveries dead-lettered; first: target \"{}\" of rule \"{}\": {} ({}: {})", s.dead_letters.size(),
                                      s.started, first.target, first.rule, to_string(first.reason), first.error_code, first.error_message);
        }
        if (v == verdict::nak && !refused_for_now && f.delivered >= static_cast<std::uint64_t>(options.max_deliver)) {
            v = verdict::term;
            code_text = "MaxDeliverReached";
            reason_text = fmt::format("delivered {} times (max_deliver); last: {}", f.delivered, reason_text);
        }
        switch (v) {
            case verdict::ack:
                ack(conn.nc, f.msg);
                acks.fetch_add(1, std::memory_order_relaxed);
                conn.acks.fetch_add(1, std::memory_order_relaxed);
                break;
            case verdict::nak:
                nak(conn.nc, f.msg, options.nak_delay);
                naks.fetch_add(1, std::memory_order_relaxed);
                conn.naks.fetch_add(1, std::memory_order_relaxed);
                break;
            case verdict::term:
                term(conn.nc, f.msg);
                terms.fetch_add(1, std::memory_order_relaxed);
                conn.terms.fetch_add(1, std::memory_order_relaxed);
                give_up(f.event, f.subject, f.delivered, reason, code_text, reason_text);
                break;
        }
        natsMsg_Destroy(f.msg);
    }

    // Takes a message that ran out of `running` (called with the mutex held): the next of its
    // subject becomes ready; stop() and the fetch thread hear of it.
    in_flight finish(std::map<std::uint64_t, in_flight>::iterator it) {
        in_flight f = std::move(it->second);
        running.erase(it);
        if (options.ordered_by_subject) {
            auto line = waiting_by_subject.find(f.subject);
            if (line != waiting_by_subject.end()) {
                line->second.pop_front();
                if (line->second.empty()) waiting_by_subject.erase(line);
                else {
                    ready.push_back(line->second.front());
                    publish_changed.notify_one();
                }
            }
        }
        if (stopping) changed.notify_all();  // stop() waits for the running ones to end
        if (bus_closed || may_fetch()) fetch_changed.notify_one();
        return f;
    }

    // Deliveries naked straight from the inbox, never taken by a fetch: received, and naked.
    void count_late_naks(std::size_t n) {
        received.fetch_add(n, std::memory_order_relaxed);
        conn.received.fetch_add(n, std::memory_order_relaxed);
        naks.fetch_add(n, std::memory_order_relaxed);
        conn.naks.fetch_add(n, std::memory_order_relaxed);
    }

    // Naks (with `delay`) the messages fetched and never published: those waiting for the
    // publishing thread, those queued behind their subject and those ready. Called with the
    // mutex held.
    void nak_held(std::chrono::milliseconds delay) {
        for (auto& [id, f] : queued) {
            nak(conn.nc, f.msg, delay);
            natsMsg_Destroy(f.msg);
            naks.fetch_add(1, std::memory_order_relaxed);
            conn.naks.fetch_add(1, std::memory_order_relaxed);
            if (auto line = waiting_by_subject.find(f.subject); line != waiting_by_subject.end()) {
                std::erase(line->second, id);
                if (line->second.empty()) waiting_by_subject.erase(line);
            }
        }
        queued.clear();
        fresh.clear();
        ready.clear();
        // And those that reached the inbox after the last fetch (a pull request's late answers).
        if (inbox) count_late_naks(inbox->nak_waiting(delay));
        changed.notify_all();
        fetch_changed.notify_one();
    }

    void unreadable(natsMsg* m, const std::string& subject, std::uint64_t delivered, const std::string& why) {
        term(conn.nc, m);
        terms.fetch_add(1, std::memory_order_relaxed);
        conn.terms.fetch_add(1, std::memory_order_relaxed);
        event_ptr placeholder;
        try {
            const std::string data(natsMsg_GetData(m), static_cast<std::size_t>(std::max(natsMsg_GetDataLength(m), 0)));
            nlohmann::json detail = {{"subject", subject}, {"data", nlohmann::json(data).dump()}};
            placeholder = make_json_event(destination->make_envelope("switchyard.nats", "UnreadableMessage"), detail.dump());
        } catch (...) {
            placeholder = make_json_event(destination->make_envelope("switchyard.nats", "UnreadableMessage"), "{}");
        }
        natsMsg_Destroy(m);
        give_up(placeholder, subject, delivered, dead_letter_reason::permanent_failure, "UnreadableMessage",
                "the message is not an event in EventBridge JSON: " + why);
    }

    void give_up(const event_ptr& e, const std::string& subject, std::uint64_t delivered, dead_letter_reason reason, const char* code,
                 const std::string& message) {
        dead_letter letter{e, "nats:" + options.stream, options.durable, code, fmt::format("{} (subject {})", message, subject),
                           static_cast<unsigned>(delivered), reason};
        if (options.dead_letters) {
            try {
                options.dead_letters(letter);
                return;
            } catch (const std::exception& ex) {
                letter.error_message += fmt::format(" (and the dead-letter sink failed: {})", ex.what());
            } catch (...) {
                letter.error_message += " (and the dead-letter sink failed)";
            }
        }
        log(log_level::error, "nats: message dead-lettered",
            {{"stream", options.stream}, {"durable", options.durable}, {"event_id", e ? e->meta().id.str() : std::string()},
             {"reason", std::string(to_string(reason))}, {"error_code", letter.error_code}, {"deliveries", std::to_string(delivered)},
             {"message", letter.error_message}});
    }

    // Runs until stop() says the running deliveries ended (or their bound passed): a message
    // whose deliveries still run after stop() is kept from redelivery until they end.
    void run_progress() {
        std::unique_lock lock(mutex);
        while (!progress_done) {
            progress_changed.wait_for(lock, progress_interval() / 4, [&] { return progress_done; });
            if (!progress_done) send_progress(lock);
        }
    }

    // "Still working" for messages held for a third of ack_wait since fetched or last signalled
    // (running, queued behind their subject, or waiting for a throttled bus).
    void send_progress(std::unique_lock<std::mutex>&) {
        const auto now = clock_type::now();
        const auto interval = progress_interval();
        for (auto& [id, f] : running) {
            if (now - f.last_progress < interval) continue;
            f.last_progress = now;
            nats_detail::in_progress(conn.nc, f.msg);
            in_progress.fetch_add(1, std::memory_order_relaxed);
            conn.in_progress.fetch_add(1, std::memory_order_relaxed);
        }
        // Those waiting behind their subject are not being worked on, but they are ours: keep them too.
        for (auto& [id, f] : queued) {
            if (now - f.last_progress < interval) continue;
            f.last_progress = now;
            nats_detail::in_progress(conn.nc, f.msg);
            in_progress.fetch_add(1, std::memory_order_relaxed);
            conn.in_progress.fetch_add(1, std::memory_order_relaxed);
        }
    }
};

nats_source::nats_source(bus& destination, std::shared_ptr<nats_connection> connection, nats_source_options options) {
    if (!connection) throw error("nats_source: the connection is null: make one with nats_connection::connect");
    state_ = std::make_shared<state>(destination, std::move(connection), std::move(options));
    state_->validate();
    state_->create_consumer();
    try {
        state_->fetcher = std::thread([s = state_.get()] { s->run_fetch(); });
        state_->publisher = std::thread([s = state_.get()] { s->run_publish(); });
        state_->progress = std::thread([s = state_.get()] { s->run_progress(); });
    } catch (...) {
        stop();
        throw;
    }
}

nats_source::~nats_source() { stop(); }

void nats_source::stop() {
    if (!state_) return;
    {
        std::lock_guard lock(state_->mutex);
        state_->stopping = true;
        state_->changed.notify_all();
        state_->fetch_changed.notify_all();
        state_->publish_changed.notify_all();
    }
    if (state_->publisher.joinable()) state_->publisher.join();
    if (state_->fetcher.joinable()) state_->fetcher.join();  // its pull request returns within fetch_wait
    if (state_->inbox) {
        // The last pull request may still be open at the server (an answer late for the fetch):
        // what it delivers now is naked, not left in an inbox nobody reads until ack_wait.
        state_->count_late_naks(state_->inbox->nak_until_closed(std::chrono::milliseconds(0), state_->options.fetch_wait));
    }
    {
        // Both are gone: nak (no delay: another consumer may take them now) what was fetched and
        // never published — only now: a pull request still running would be handed the naked
        // messages straight back — then wait, up to ack_wait, for the running deliveries to end
        // while "in progress" goes on being sent for them.
        std::unique_lock lock(state_->mutex);
        state_->nak_held(std::chrono::milliseconds(0));
        state_->changed.wait_for(lock, state_->options.ack_wait, [&] { return state_->running.empty(); });
        state_->progress_done = true;
        state_->changed.notify_all();
        state_->progress_changed.notify_all();
    }
    if (state_->progress.joinable()) state_->progress.join();
}

nats_source_stats nats_source::stats() const {
    const auto& s = *state_;
    nats_source_stats out;
    out.received = s.received.load();
    out.redeliveries = s.redeliveries.load();
    out.acks = s.acks.load();
    out.naks = s.naks.load();
    out.terms = s.terms.load();
    out.in_progress = s.in_progress.load();
    out.lag = s.lag.load();
    out.ack_floor = s.ack_floor.load();
    {
        std::lock_guard lock(state_->mutex);
        out.in_flight = state_->running.size() + state_->queued.size();
    }
    return out;
}

}  // namespace switchyard
