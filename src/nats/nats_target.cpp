// nats_target: one asynchronous JetStream publish per delivery (js_PublishMsgAsync, Nats-Msg-Id
// = the event's id), and the delivery waits for its own PubAck, which the connection's PubAck
// handler hands over. The connection bounds the PubAcks awaited at once.
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

    outcome deliver(const any_event& e) {
        auto& st = *connection_->internals();
        const std::string subject = subject_.render(e);
        const std::string& body = e.json();
        const auto timeout = st.options.request_timeout;
        if (!st.acquire_slot(std::chrono::steady_clock::now() + timeout)) {
            st.pub_ack_failures.fetch_add(1, std::memory_order_relaxed);
            return outcome::retry(fmt::format("nats_target \"{}\": {} PubAcks were awaited for {} ms "
                                              "(nats_connection_options::max_pub_acks_in_flight): the server is slow or away",
                                              id_, st.options.max_pub_acks_in_flight, timeout.count()));
        }
        struct slot_guard {
            nats_connection::state& st;
            ~slot_guard() { st.release_slot(); }
        } slot{st};

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
            return outcome::retry(fmt::format("nats_target \"{}\": could not build the message for {}: {}", id_, subject, describe(s)));
        }
        jsPubOptions po;
        jsPubOptions_Init(&po);
        po.MsgId = e.meta().id.c_str();  // the server drops a second copy within its duplicate window
        po.MaxWait = to_ms(timeout);
        auto waiter = std::make_shared<pub_waiter>();
        natsMsg* const key = msg;
        {
            std::lock_guard lock(st.pending_mutex);
            st.waiting.emplace(key, waiter);
        }
        s = js_PublishMsgAsync(st.js, &msg, &po);
        if (s != NATS_OK) {
            {
                std::lock_guard lock(st.pending_mutex);
                st.waiting.erase(key);
            }
            natsMsg_Destroy(msg);  // still ours when the call failed
            st.pub_ack_failures.fetch_add(1, std::memory_order_relaxed);
            return outcome::retry(fmt::format("nats_target \"{}\": publishing to {} failed: {}", id_, subject, describe(s)));
        }
        st.published.fetch_add(1, std::memory_order_relaxed);
        // nats.c reports a timeout itself after MaxWait; the margin only guards against a lost callback.
        std::unique_lock lock(waiter->mutex);
        if (!waiter->done_cv.wait_for(lock, timeout + std::chrono::seconds(5), [&] { return waiter->done; })) {
            lock.unlock();
            std::lock_guard pending(st.pending_mutex);
            st.waiting.erase(key);
            st.pub_ack_failures.fetch_add(1, std::memory_order_relaxed);
            return outcome::retry(fmt::format("nats_target \"{}\": no PubAck for the message to {} within {} ms", id_, subject,
                                              timeout.count()));
        }
        if (!waiter->ok) {
            st.pub_ack_failures.fetch_add(1, std::memory_order_relaxed);
            return outcome::retry(fmt::format("nats_target \"{}\": publishing to {}: {}", id_, subject, waiter->error));
        }
        st.pub_acks.fetch_add(1, std::memory_order_relaxed);
        if (waiter->duplicate) st.pub_ack_duplicates.fetch_add(1, std::memory_order_relaxed);
        return outcome::success();
    }

private:
    const std::string id_;
    const std::shared_ptr<nats_connection> connection_;
    const subject_template subject_;
};

}  // namespace

target nats_target(std::string id, std::shared_ptr<nats_connection> connection, nats_target_options options, any_executor executor) {
    if (!connection) throw error("nats_target \"" + id + "\": the connection is null: make one with nats_connection::connect");
    auto state = std::make_shared<nats_target_state>(id, std::move(connection), options);
    target t{std::move(id), [state = std::move(state)](const any_event& e, const delivery_info&) { return state->deliver(e); },
             std::move(executor)};
    // The whole event is what crosses: an input specification would lose its envelope and id.
    t.forwards_whole_event = true;
    // One key, one subject: published in the order the bus accepted them.
    if (!options.partition_key.empty()) t.ordering_key = options.partition_key;
    return t;
}

}  // namespace switchyard
