// A connection to a NATS server with JetStream (switchyard::nats, on nats.c): the handle that
// nats_target and nats_source share. It reconnects by itself (forever by default), logs each
// disconnect and reconnect, counts them, and keeps the counters the bridge's metrics show:
// PubAcks in flight, acks, naks, terminations, redeliveries, the consumers' lag.
// nats.c stays out of this header.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "switchyard/observe/log.hpp"
#include "switchyard/observe/metrics.hpp"

namespace switchyard {

/// How a nats_connection connects.
struct nats_connection_options {
    std::string url = "nats://127.0.0.1:4222";  ///< the server (comma-separated for several)
    std::string name = "switchyard";           ///< the connection's name, as the server shows it
    /// The wait between reconnection attempts to the same server.
    std::chrono::milliseconds reconnect_wait{250};
    /// Reconnection attempts before giving up; -1 (the default): never give up.
    int max_reconnects = -1;
    /// How long the first connection may take before the constructor fails.
    std::chrono::milliseconds connect_timeout{2000};
    /// JetStream API requests (creating streams and consumers) and a PubAck's longest wait: a
    /// publish without its PubAck by then fails retryably (the target's retry policy retries it).
    std::chrono::milliseconds request_timeout{5000};
    /// The most PubAcks awaited at once on this connection (all its targets together). A publish
    /// past it waits for a PubAck to come back (backpressure), up to request_timeout.
    std::size_t max_pub_acks_in_flight = 256;
    /// Where disconnects, reconnects and failures are logged (default: stderr at warn and above).
    std::shared_ptr<log_sink> log{};
};

/// A JetStream stream for nats_connection::add_stream.
struct nats_stream_config {
    std::string name{};                   ///< the stream's name (no '.', '*', '>' or spaces)
    std::vector<std::string> subjects{};  ///< subjects it stores, wildcards allowed ("events.>")
    /// The window in which the server drops a message whose Nats-Msg-Id it has already stored
    /// (nats_target sets it to the event's id, so a re-publish after a crash is not stored twice).
    std::chrono::milliseconds duplicate_window{std::chrono::minutes(2)};
    bool memory_storage = false;  ///< in memory instead of on disk (lost when the server stops)
    std::chrono::milliseconds max_age{0};  ///< how long messages are kept (0: no limit)
    int replicas = 1;  ///< copies of the stream in a cluster (1 to 5; 3 survives the loss of one server)
};

/// Counters of one connection (and of the targets and sources using it).
struct nats_connection_stats {
    std::uint64_t disconnects = 0;         ///< times the connection was lost
    std::uint64_t reconnects = 0;          ///< times it came back
    std::uint64_t published = 0;           ///< messages handed to JetStream by targets
    std::uint64_t pub_acks = 0;            ///< PubAcks received (the message is stored)
    std::uint64_t pub_ack_duplicates = 0;  ///< of those, the server had the Nats-Msg-Id already
    std::uint64_t pub_ack_failures = 0;    ///< publishes that failed or got no PubAck in time
    /// "Duplicate" PubAcks without a stream sequence: the server saw the Nats-Msg-Id but has not
    /// stored the message (nats-server 2.9/2.10, after a leader change); retried, and counted
    /// in pub_ack_failures too
    std::uint64_t pub_ack_unstored_duplicates = 0;
    std::uint64_t pub_acks_in_flight = 0;  ///< publishes awaiting their PubAck now
    std::uint64_t received = 0;            ///< messages sources fetched
    std::uint64_t redeliveries = 0;        ///< of those, delivered before (JetStream's count > 1)
    std::uint64_t acks = 0;                ///< messages acknowledged by sources
    std::uint64_t naks = 0;                ///< negatively acknowledged (redelivered after a delay)
    std::uint64_t terms = 0;               ///< terminated (not redelivered; dead-lettered)
    std::uint64_t in_progress = 0;         ///< "still working" signals sent for slow messages
    std::uint64_t lag = 0;                 ///< messages the sources' consumers have not yet received (last seen)
    std::uint64_t stalls_recovered = 0;    ///< pull subscriptions made again after fetching stalled
};

/// A connection to a NATS server with JetStream, shared by targets and sources. Create it with
/// nats_connection::connect. Thread-safe.
class nats_connection {
public:
    /// Connects. Throws switchyard::error naming the URL, what nats.c said and the fix when the
    /// server cannot be reached, does not offer JetStream, or the options are invalid. A
    /// JetStream that does not answer within `request_timeout` (a cluster still electing its meta
    /// leader) is not an error: the connection is made and a warning logged.
    static std::shared_ptr<nats_connection> connect(nats_connection_options options);

    ~nats_connection();
    nats_connection(const nats_connection&) = delete;
    nats_connection& operator=(const nats_connection&) = delete;

    /// Creates the stream, or updates it to this configuration when it exists. Throws
    /// switchyard::error with the server's message when JetStream refuses.
    void add_stream(const nats_stream_config& config);

    /// Deletes a stream and its messages. Returns false when there was none.
    bool delete_stream(const std::string& name);

    /// Whether the connection is up now (false while it reconnects).
    bool connected() const;

    /// The counters (see nats_connection_stats).
    nats_connection_stats stats() const;

    /// The counters as metrics, labelled with the connection's name: switchyard_nats_* (counters,
    /// and gauges for PubAcks in flight and lag), for render_prometheus().
    metrics_snapshot metrics() const;

    /// The options it was made with.
    const nats_connection_options& options() const noexcept;

    struct state;  ///< switchyard::nats's own: the nats.c handles behind this connection
    /// For switchyard::nats's target and source.
    const std::shared_ptr<state>& internals() const noexcept { return state_; }

private:
    explicit nats_connection(std::shared_ptr<state> s) : state_(std::move(s)) {}
    std::shared_ptr<state> state_;
};

}  // namespace switchyard
