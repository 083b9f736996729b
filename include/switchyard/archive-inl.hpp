// The archive's compiled half: starting an archive, its pattern, and replays (compiled into
// libswitchyard, or included by archive.hpp when SWITCHYARD_HEADER_ONLY is defined).
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "switchyard/archive.hpp"
#include "switchyard/config.hpp"
#include "switchyard/delivery/completion.hpp"
#include "switchyard/detail/time.hpp"

namespace switchyard {

namespace detail {

// The archive's writer: the archive's deliveries (an asynchronous target, on the publishing
// thread) only queue their event; this thread appends whatever has queued to the store in one
// batch (sqlite_archive_store: one transaction) and only then ends those deliveries, so a
// journaled bus's recovery archives again what a crash cut short. After stop(), a delivery still
// arriving (its rule was removed while it ran) writes on its own thread.
class archive_writer : public std::enable_shared_from_this<archive_writer> {
public:
    archive_writer(std::shared_ptr<archive_store> store, std::string archive_name)
        : store_(std::move(store)), name_(std::move(archive_name)), thread_([this] { run(); }) {}
    ~archive_writer() { stop(); }
    archive_writer(const archive_writer&) = delete;
    archive_writer& operator=(const archive_writer&) = delete;

    void add(const any_event& e, delivery_completion done) {
        const auto time = parse_rfc3339(e.meta().time);
        // The event outlives its delivery's completion (the engine holds it): a view suffices.
        entry item{e.json(), time ? *time : e.ingestion_time(), std::move(done)};
        std::unique_lock lock(mutex_);
        if (stopped_) {
            lock.unlock();
            std::vector<entry> alone;
            alone.push_back(std::move(item));
            write(alone);
            return;
        }
        queue_.push_back(std::move(item));
        if (idle_) ready_.notify_one();  // only when it sleeps: a wake-up per event costs a syscall
    }

    // Writes what is queued, then the thread ends (joined here).
    void stop() {
        {
            std::lock_guard lock(mutex_);
            if (stopped_) return;
            stopped_ = true;
        }
        ready_.notify_one();
        if (!thread_.joinable()) return;
        if (thread_.get_id() != std::this_thread::get_id()) {
            thread_.join();
            return;
        }
        // Stopped from its own thread (a completion's code closed the archive): it cannot join
        // itself. It keeps itself alive until run() returns, which is next.
        self_ = shared_from_this();
        thread_.detach();
    }

private:
    struct entry {
        std::string_view json;
        archive_store::time_point time;
        delivery_completion done;
    };

    void run() {
        std::vector<entry> batch;
        std::unique_lock lock(mutex_);
        while (true) {
            idle_ = true;
            ready_.wait(lock, [&] { return stopped_ || !queue_.empty(); });
            idle_ = false;
            if (queue_.empty()) {  // stopped, and everything written
                // Set when stopped from this thread: the last owner may be this; it goes last.
                const auto keep = std::move(self_);
                lock.unlock();
                return;
            }
            batch.swap(queue_);
            lock.unlock();
            write(batch);
            batch.clear();
            lock.lock();
        }
    }

    // One append_batch; then every delivery in it ends: delivered, or to be retried by the
    // target's retry policy when the store failed.
    void write(std::vector<entry>& batch) noexcept {
        std::string failure;
        try {
            std::vector<archive_entry> rows;
            rows.reserve(batch.size());
            for (const auto& e : batch) rows.push_back({e.json, e.time});
            store_->append_batch(rows);
        } catch (const std::exception& ex) {
            failure = fmt::format("archive \"{}\" could not write {} event(s) to its store: {}", name_, batch.size(), ex.what());
        } catch (...) {
            failure = fmt::format("archive \"{}\" could not write {} event(s) to its store", name_, batch.size());
        }
        for (auto& e : batch) {
            try {
                e.done(failure.empty() ? outcome::success() : outcome::retry(failure));
            } catch (...) {
                // Only a second call throws, and there is none; a completion left uncalled ends
                // its delivery as a retryable failure when it is destroyed.
            }
        }
    }

    std::shared_ptr<archive_store> store_;
    std::string name_;
    std::mutex mutex_;
    std::condition_variable ready_;
    std::vector<entry> queue_;
    bool stopped_ = false;
    bool idle_ = false;
    std::shared_ptr<archive_writer> self_;  // see stop()
    std::thread thread_;  // last: started once everything above exists
};

// The archive's pattern AND "not a replayed event", as one EventBridge pattern.
SWITCHYARD_INLINE std::string archive_pattern(std::string_view archive, const std::string& pattern) {
    nlohmann::json merged = nlohmann::json::object();
    if (!pattern.empty()) {
        merged = nlohmann::json::parse(pattern, nullptr, false);
        if (merged.is_discarded() || !merged.is_object())
            throw pattern_error(fmt::format("archive \"{}\": the event pattern is not a JSON object; write one such as "
                                            "{{\"source\": [\"com.example\"]}}, or leave it empty to archive every event",
                                            archive));
        if (merged.contains("replay-name"))
            throw pattern_error(fmt::format("archive \"{}\": the pattern must not test \"replay-name\": an archive never keeps "
                                            "replayed events, and adds that condition itself",
                                            archive),
                                "$.replay-name");
    }
    merged["replay-name"] = nlohmann::json::array({{{"exists", false}}});
    return merged.dump();
}
}  // namespace detail

SWITCHYARD_INLINE archive::archive(bus& b, archive_spec spec) : bus_(&b), spec_(std::move(spec)) {
    if (spec_.name.empty()) throw error("an archive needs a name (archive_spec::name)");
    // EventBridge's archive names: up to 48 of [.-_A-Za-z0-9]. The archive's managed rule is
    // "Events-Archive-<name>", as EventBridge names it, which names it in stats and metrics.
    detail::check_name("archive", spec_.name);
    if (spec_.name.size() > 48)
        throw error(fmt::format("archive name \"{}\" is {} characters long; at most 48 are allowed", spec_.name, spec_.name.size()));
    if (!spec_.store)
        throw error(fmt::format("archive \"{}\" has no store: give archive_spec::store a memory_archive_store or a "
                                "sqlite_archive_store",
                                spec_.name));
    if (spec_.retention < std::chrono::system_clock::duration::zero())
        throw error(fmt::format("archive \"{}\": the retention is negative; use zero to keep events forever", spec_.name));
    // A rule, not a subscription: its deliveries are journaled like any rule's, so a crash
    // between accepting an event and archiving it is repaired by bus::recover().
    auto pattern = detail::archive_pattern(spec_.name, spec_.pattern);
    auto writer = std::make_shared<detail::archive_writer>(spec_.store, spec_.name);
    std::string rule = "Events-Archive-" + spec_.name;
    b.add_rule({.name = rule,
                .pattern = std::move(pattern),
                .targets = {async_target("archive-" + spec_.name, [writer](const any_event& e, const delivery_info&, delivery_completion done) {
                                writer->add(e, std::move(done));
                            }).retry(spec_.retries)}});
    rule_ = std::move(rule);
    writer_ = std::move(writer);
}

SWITCHYARD_INLINE archive::~archive() { close(); }

SWITCHYARD_INLINE archive::archive(archive&& other) noexcept
    : bus_(other.bus_), spec_(std::move(other.spec_)), rule_(std::move(other.rule_)), writer_(std::move(other.writer_)) {}

SWITCHYARD_INLINE archive& archive::operator=(archive&& other) noexcept {
    if (this != &other) {
        close();
        bus_ = other.bus_;
        spec_ = std::move(other.spec_);
        rule_ = std::move(other.rule_);
        writer_ = std::move(other.writer_);
    }
    return *this;
}

SWITCHYARD_INLINE void archive::close() noexcept {
    if (!writer_) return;
    try {
        bus_->remove_rule(rule_);  // no event published from now on is archived
    } catch (...) {
        // remove_rule does not throw for a rule that exists; nothing to undo otherwise.
    }
    writer_->stop();  // what was queued is in the store
    writer_.reset();
}

SWITCHYARD_INLINE replay_handle archive::replay(replay_options options) {
    if (options.name.empty()) throw error(fmt::format("archive \"{}\": a replay needs a name (replay_options::name)", spec_.name));
    if (options.to < options.from)
        throw error(fmt::format("archive \"{}\": replay \"{}\" ends before it starts (replay_options::to < from)", spec_.name,
                                options.name));
    auto state = std::make_shared<replay_handle::shared>();
    state->name = options.name;
    state->total = spec_.store->count(options.from, options.to);
    std::thread thread([state, store = spec_.store, b = bus_, options = std::move(options)] {
        run_replay(*state, *store, *b, options);
    });
    return replay_handle(std::move(state), std::move(thread));
}

SWITCHYARD_INLINE void archive::run_replay(replay_handle::shared& state, archive_store& store, bus& b, const replay_options& options) {
    const std::size_t total = state.total.load();
    std::string failure;
    bool cancelled = false;
    try {
        store.scan(options.from, options.to, [&](const archived_event& row) {
            if (state.replayed.load() >= total) return false;  // events archived after the replay began
            if (state.cancel.load()) {
                cancelled = true;
                return false;
            }
            // One parse, which also checks the text as ingest would; the replay's name goes on
            // a copy of the envelope rather than through a JSON edit and a second parse.
            event_ptr e;
            try {
                const auto stored = parse_event(row.event_json);
                envelope meta = stored->meta();
                meta.replay_name = options.name;
                e = detail::make_pooled<const detail::json_text_event>(std::move(meta), stored->detail_json());
            } catch (const std::exception& ex) {
                failure = fmt::format("archived event {} is not an event: {}", row.sequence, ex.what());
                return false;
            }
            const auto result = b.publish(e, options.rules);
            if (!result.ok()) {
                failure = fmt::format("the bus refused archived event {} ({}): {}: {}", row.sequence, e->meta().id,
                                      to_string(result.error_code), result.error_message);
                return false;
            }
            state.replayed.fetch_add(1);
            return true;
        });
    } catch (const std::exception& ex) {
        failure = fmt::format("reading the archive failed: {}", ex.what());
    }
    if (!failure.empty())
        state.finish(replay_state::failed, fmt::format("replay \"{}\" failed after {} of {} events: {}", options.name,
                                                       state.replayed.load(), total, failure));
    else if (cancelled)
        state.finish(replay_state::cancelled,
                     fmt::format("replay \"{}\" was cancelled after {} of {} events", options.name, state.replayed.load(), total));
    else
        state.finish(replay_state::completed, {});
}

}  // namespace switchyard
