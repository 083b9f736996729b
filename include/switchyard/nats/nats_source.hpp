// A JetStream source (switchyard::nats): pulls messages from a durable pull consumer and
// publishes each (an event in EventBridge JSON, as nats_target writes them) into a bus. A
// message is acknowledged only once every delivery its event started has ended
// (bus::publish with a settlement_callback); a publish the bus refuses for now (throttled, shut
// down, journal failing) and, by default, a delivery dead-lettered for a reason a retry could
// change are negatively acknowledged with a delay, so JetStream redelivers them; at the
// consumer's max_deliver-th delivery the message is terminated instead and dead-lettered with its
// reason and delivery count. While its deliveries run, a message is kept from being redelivered
// elsewhere with "in progress" signals. Sources with the same durable name, in one process or
// several, share the consumer's messages (scale-out).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "switchyard/bus.hpp"
#include "switchyard/delivery/dead_letter.hpp"
#include "switchyard/nats/connection.hpp"

namespace switchyard {

/// Where a new consumer starts in its stream (an existing durable consumer goes on where it was).
enum class nats_start {
    all,       ///< the stream's first message
    new_only,  ///< messages stored after the consumer is created
    sequence,  ///< nats_source_options::start_sequence
    time,      ///< the first message stored at or after nats_source_options::start_time
};

/// What a source does with a message whose event was dead-lettered by one of the bus's targets.
enum class nats_local_failure {
    /// Retryable dead letters (retries-exhausted, max-age-exceeded, queue-full, shutdown): nak with
    /// delay (JetStream redelivers; every delivery of the event runs again) until max_deliver, then
    /// terminate and dead-letter. Permanent ones (permanent-failure, routing-loop): terminate and
    /// dead-letter at once.
    redeliver,
    /// Acknowledge: the target's own dead letters hold the failure.
    acknowledge,
};

/// What a nats_source consumes, and how.
struct nats_source_options {
    std::string stream{};          ///< the stream to consume (it must exist: nats_connection::add_stream)
    std::string durable{};         ///< the durable consumer's name; sources sharing it share the work
    std::string filter_subject{};  ///< only these subjects of the stream (empty: all)
    nats_start start = nats_start::all;                        ///< where a new consumer starts
    std::uint64_t start_sequence = 1;                          ///< with nats_start::sequence
    std::chrono::system_clock::time_point start_time{};        ///< with nats_start::time
    /// Deliveries of one message before it is terminated and dead-lettered. The consumer's
    /// MaxDeliver is one more, so that a last delivery that never settles (the process died) is
    /// redelivered once more and dead-lettered rather than left undelivered. A nak for a refusal
    /// of the bus (throttled, journal failed, shut down) is never turned into a term.
    int max_deliver = 5;
    /// How long the server waits for an ack before redelivering (the consumer's AckWait); the
    /// source sends "in progress" every third of it while the message's deliveries run.
    std::chrono::milliseconds ack_wait{std::chrono::seconds(30)};
    std::chrono::milliseconds nak_delay{std::chrono::seconds(1)};  ///< the delay of a retryable nak
    /// Messages whose deliveries run at once (also the consumer's MaxAckPending).
    std::size_t max_in_flight = 256;
    std::size_t fetch_batch = 64;                   ///< messages asked for per pull request
    std::chrono::milliseconds fetch_wait{500};      ///< how long a pull request waits for messages
    nats_local_failure on_dead_letter = nats_local_failure::redeliver;  ///< see nats_local_failure
    /// Terminated messages: unreadable ones (not an event; reason permanent-failure, code
    /// UnreadableMessage), those the bus refused for good (code PublishRefused), those whose
    /// event a target dead-lettered for good (code DeadLetteredLocally), and those given up at
    /// max_deliver (code MaxDeliverReached). `attempts` is JetStream's count of deliveries so far.
    /// Without a sink they are written to the connection's log at error level.
    dead_letter_sink dead_letters{};
    /// The same subject's messages one at a time, in stream order, within this source (a
    /// message's deliveries end before the next of its subject starts). Across processes a
    /// durable consumer hands consecutive messages to whoever asks: per-key order across
    /// processes needs max_in_flight = 1 (see docs/nats.md).
    bool ordered_by_subject = false;
};

/// Counters of one source.
struct nats_source_stats {
    std::uint64_t received = 0;      ///< messages fetched
    std::uint64_t redeliveries = 0;  ///< of those, delivered before
    std::uint64_t acks = 0;          ///< acknowledged
    std::uint64_t naks = 0;          ///< negatively acknowledged (redelivered after nak_delay)
    std::uint64_t terms = 0;         ///< terminated and dead-lettered
    std::uint64_t in_progress = 0;   ///< "in progress" signals sent
    std::uint64_t in_flight = 0;     ///< messages whose deliveries run now
    std::uint64_t lag = 0;           ///< messages the consumer has not yet handed out (last seen)
    /// The consumer's ack floor, last seen: every stream sequence up to it is acknowledged or
    /// terminated. A consumer lost under the source (deleted, or gone with a server restart) is
    /// made again starting just past it.
    std::uint64_t ack_floor = 0;
};

/// Pulls from a JetStream consumer into a bus (see the file comment) on threads of its own (one
/// fetches, keeping one pull request ahead; one publishes; one sends "in progress"), from
/// construction until stop() or
/// destruction; the bus must outlive the source. Stop (or destroy) the source before shutting its
/// bus down: a source that finds its bus shut down naks what it holds and fetches no more (the
/// messages stay in the stream, never dead-lettered), but a stopped source leaves them cleanly
/// to its peers. Creates the
/// durable consumer when it does not exist (options.start says where it begins) and binds to it
/// when it does. Throws switchyard::error naming the problem and the fix when the stream does not
/// exist, the options are invalid (empty durable, a durable with '.', max_deliver < 1...) or the
/// consumer cannot be created.
class nats_source {
public:
    /// Creates or binds to the consumer and starts pulling into `destination` (see the class).
    nats_source(bus& destination, std::shared_ptr<nats_connection> connection, nats_source_options options);
    /// stop().
    ~nats_source();
    nats_source(const nats_source&) = delete;
    nats_source& operator=(const nats_source&) = delete;

    /// Stops pulling and joins the source's threads. Messages fetched and never published
    /// (queued behind their subject) are naked at once, without delay. Messages whose deliveries
    /// still run are kept with "in progress" until they end, up to ack_wait (stop() waits that
    /// long at most), and are acknowledged when they end; those never acknowledged (the process
    /// dies) are redelivered after ack_wait. Calling it again does nothing.
    void stop();

    /// The counters.
    nats_source_stats stats() const;

    struct state;  ///< switchyard::nats's own

private:
    std::shared_ptr<state> state_;
};

}  // namespace switchyard
