// nats_target: one asynchronous JetStream publish per delivery (js_PublishMsgAsync, Nats-Msg-Id
// = the event's id), an asynchronous delivery (async_target) that ends when its PubAck comes:
// no thread waits for it. The connection bounds the PubAcks awaited at once.
#include "switchyard/nats/nats_target.hpp"

#include <chrono>
#include <memory>
#include <string>
#include <utility>

#include <fmt/format.h>

#include "nats/internal.hpp"
#include "nats/subject.hpp"
#include "switchyard/error.hpp"

namespace switchyard {
namespace {

using namespace nats_detail;

class nats_target_state {
public:
    nats_target_state(std::string id, std::shared_ptr<nats_connection> connection, const nats_target_options& o)
        : id_(std::move(id)),
          connection_(std::move(connection)),
          subject_(o.subject, o.partition_key, o.partitions, "nats_target \"" + id_ + "\"") {}

    // Starts the publish and returns: the delivery ends on the connection's completion thread
    // when the PubAck (or its failure) comes.
    void deliver(const any_event& e, delivery_completion done) {
        auto& st = *connection_->internals();
        std::string subject = subject_.render(e);
        const std::string& body = e.json();
        const auto timeout = st.options.request_timeout;
        natsMsg* msg = nullptr;
        natsStatus s = natsMsg_Create(&msg, subject.c_str(), nullptr, body.data(), static_cast<int>(body.size()));
        if (s == NATS_OK && e.meta().trace) {
            // Beside the one in the event's JSON, for NATS-side tools that read headers.
            const std::string parent = e.meta().trace->traceparent();
            s = natsMsgHeader_Set(msg, "traceparent", parent.c_str());
        }
        if (s != NATS_OK) {
            natsMsg_Destroy(msg);
            st.pub_ack_failures.fetch_add(1, std::memory_order_relaxed);
            return done(outcome::retry(fmt::format("nats_target \"{}\": could not build the message for {}: {}", id_, subject, describe(s))));
        }
        jsPubOptions po;
        jsPubOptions_Init(&po);
        po.MsgId = e.meta().id.c_str();  // the server drops a second copy within its duplicate window
        po.MaxWait = to_ms(timeout);     // nats.c reports a missing PubAck itself after this
        std::shared_ptr<pub_waiter> waiter;
        bool slot = false;
        try {
            // `this` lives while the delivery is pending: the bus holds the target until then.
            waiter = std::make_shared<delivery_waiter>(*this, std::move(subject), std::move(done));
            // Waits only for a slot among max_pub_acks_in_flight (backpressure on whoever
            // starts the delivery).
            slot = st.await_pub_ack(msg, waiter, std::chrono::steady_clock::now() + timeout);
        } catch (...) {
            natsMsg_Destroy(msg);
            throw;  // the bus fails the attempt with the exception (done, dropped meanwhile, waits for that)
        }
        if (!slot) {
            natsMsg_Destroy(msg);
            st.pub_ack_failures.fetch_add(1, std::memory_order_relaxed);
            auto& w = static_cast<delivery_waiter&>(*waiter);
            return w.done(outcome::retry(fmt::format("nats_target \"{}\": {} PubAcks were awaited for {} ms "
                                                     "(nats_connection_options::max_pub_acks_in_flight): the server is slow or away",
                                                     id_, st.options.max_pub_acks_in_flight, timeout.count())));
        }
        natsMsg* const key = msg;
        s = js_PublishMsgAsync(st.js, &msg, &po);
        if (s != NATS_OK) {
            // Forgotten before the message is freed: a new message at the same address must
            // not find this waiter.
            auto w = st.forget_pub_ack(key);
            natsMsg_Destroy(msg);  // still ours when the call failed
            if (w) {
                w->error = describe(s);
                w->finish();
            }
            return;
        }
        if (waiter->publish_returned()) {  // its PubAck (or timeout) came during the call
            natsMsg_Destroy(key);
            st.answered_while_publishing.fetch_add(1, std::memory_order_relaxed);
        }
        st.published.fetch_add(1, std::memory_order_relaxed);
    }

private:
    // One delivery's wait for its PubAck.
    struct delivery_waiter final : pub_waiter {
        delivery_waiter(nats_target_state& t, std::string s, delivery_completion d)
            : target(t), subject(std::move(s)), done(std::move(d)) {}
        void finish() override { target.finish(*this, subject, std::move(done)); }
        nats_target_state& target;
        std::string subject;
        delivery_completion done;
    };

    // Ends the delivery with what the PubAck said (on the connection's completion thread).
    void finish(const pub_waiter& w, const std::string& subject, delivery_completion done) {
        auto& st = *connection_->internals();
        if (!w.ok) {
            st.pub_ack_failures.fetch_add(1, std::memory_order_relaxed);
            return done(outcome::retry(fmt::format("nats_target \"{}\": publishing to {}: {}", id_, subject, w.error)));
        }
        st.pub_acks.fetch_add(1, std::memory_order_relaxed);
        if (w.duplicate) st.pub_ack_duplicates.fetch_add(1, std::memory_order_relaxed);
        done(outcome::success());
    }

    const std::string id_;
    const std::shared_ptr<nats_connection> connection_;
    const subject_template subject_;
};

}  // namespace

target nats_target(std::string id, std::shared_ptr<nats_connection> connection, nats_target_options options, any_executor executor) {
    if (!connection) throw error("nats_target \"" + id + "\": the connection is null: make one with nats_connection::connect");
    auto state = std::make_shared<nats_target_state>(id, std::move(connection), options);
    target t = async_target(
        std::move(id),
        [state = std::move(state)](const any_event& e, const delivery_info&, delivery_completion done) { state->deliver(e, std::move(done)); },
        std::move(executor));
    // The whole event is what crosses: an input specification would lose its envelope and id.
    t.forwards_whole_event = true;
    // One key, one subject: published in the order the bus accepted them.
    if (!options.partition_key.empty()) t.ordering_key = options.partition_key;
    return t;
}

}  // namespace switchyard
