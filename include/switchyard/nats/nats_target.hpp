// A JetStream target (switchyard::nats): each delivery publishes the whole event (EventBridge
// JSON, its trace context included) to a subject built from the event, with the header
// Nats-Msg-Id set to the event's id, and ends only when the server's PubAck says the message is
// stored. A publish that fails or gets no PubAck in time fails retryably, so the target's retry
// policy and dead letters apply as for any target; the same id on a retry (or on a redelivery
// after bus::recover()) lets the server drop the copy it already has, within its stream's
// duplicate window.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "switchyard/executor/executor.hpp"
#include "switchyard/executor/inline_executor.hpp"
#include "switchyard/nats/connection.hpp"
#include "switchyard/target.hpp"

namespace switchyard {

/// Where and how a nats_target publishes.
struct nats_target_options {
    /// The subject, with placeholders taken from the event: {detail-type}, {source}, {account},
    /// {region}, {id} and {partition}. A placeholder's value becomes one subject token: bytes
    /// other than letters, digits, '-' and '_' are written %XX (so "Order Placed" becomes
    /// "Order%20Placed" and "com.example" becomes "com%2Eexample"; distinct values never share
    /// a token); an empty value becomes "_". E.g. "events.{detail-type}".
    std::string subject = "events.{detail-type}";
    /// With {partition} in the subject: the path of the ordering key ("$.detail.customerId").
    /// Events with the same key get the same partition, hence the same subject, and the target's
    /// deliveries are ordered by that key (target::ordered_by), so they are published in order.
    std::string partition_key{};
    /// With {partition}: how many partitions (the subject's token is 0 to partitions - 1).
    std::size_t partitions = 16;
};

/// A target that publishes each delivery to JetStream (see the file comment) over `connection`.
/// Its deliveries are asynchronous (async_target): `executor` (inline by default: the publishing
/// thread) starts the publish and is free again at once; the delivery ends on the connection's
/// completion thread when the PubAck comes. So publish() returns before the message is stored:
/// bus::drain(), a settlement callback (bus::publish(event, on_settled)) or the journal say when
/// it is. PubAcks in flight are bounded by nats_connection_options::max_pub_acks_in_flight (past
/// it, starting a publish waits: backpressure) and by the target's queue capacity (target::
/// bounded). An ordered target (a partition_key) starts a key's next publish when the previous
/// one's PubAck came, so each key's events are stored in order. Throws switchyard::error naming the problem and
/// the fix for a bad subject template (unknown placeholder, empty token, wildcard), {partition}
/// without a partition_key, or a partition_key that is not a valid path.
target nats_target(std::string id, std::shared_ptr<nats_connection> connection, nats_target_options options,
                   any_executor executor = inline_executor::instance());

}  // namespace switchyard
