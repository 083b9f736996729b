// EventBridge's archive and replay, on any archive_store: an archive subscribes to a bus and keeps
// every event matching its pattern; a replay publishes the archived events of a time window back
// into the bus with `replay-name` set, in their original order, optionally to named rules only.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "switchyard/bus.hpp"
#include "switchyard/config.hpp"
#include "switchyard/delivery/retry_policy.hpp"
#include "switchyard/durability/archive_store.hpp"
#include "switchyard/error.hpp"

namespace switchyard {

/// What an archive keeps, for how long, and where.
struct archive_spec {
    std::string name;  ///< the archive's name (required)
    /// An EventBridge event pattern; only matching events are archived. Empty: every event.
    std::string pattern{};
    /// How long archived events are kept, by their `time`; purge_expired() removes older ones.
    /// Zero: forever.
    std::chrono::system_clock::duration retention{0};
    std::shared_ptr<archive_store> store{};  ///< where the events go (required)
    /// How a batch the store failed to write is tried again (its events then go to the bus's
    /// error handler as dead letters). Default: EventBridge's, 185 retries over 24 hours.
    retry_policy retries = retry_policy::eventbridge_defaults();
};

/// What archive::replay() publishes again.
struct replay_options {
    std::string name;  ///< becomes the replayed events' `replay-name` (required)
    /// The start of the window on the events' `time`: [from, to).
    std::chrono::system_clock::time_point from{};
    std::chrono::system_clock::time_point to{};  ///< the end of the window (excluded)
    /// Deliver only to the rules of these names; empty: to every rule that matches.
    std::vector<std::string> rules{};
};

/// Where a replay is.
enum class replay_state {
    running,    ///< still publishing
    completed,  ///< every event in the window was published
    cancelled,  ///< cancelled before the end
    failed,     ///< stopped by an error (replay_handle::message() says which)
};

/// The state's name: "running", "completed", "cancelled" or "failed".
constexpr const char* to_string(replay_state s) noexcept {
    switch (s) {
        case replay_state::running: return "running";
        case replay_state::completed: return "completed";
        case replay_state::cancelled: return "cancelled";
        case replay_state::failed: return "failed";
    }
    return "unknown";
}

/// How far a replay has got.
struct replay_progress {
    std::size_t replayed = 0;  ///< events published so far
    std::size_t total = 0;     ///< events in the window when the replay started
};

/// A running (or finished) replay. It owns the thread that publishes; destroying the handle
/// cancels a replay still running and joins the thread. The bus must outlive the handle.
class replay_handle {
public:
    /// Takes over the replay (and its thread).
    replay_handle(replay_handle&&) noexcept = default;
    /// Cancels and joins this handle's replay, then takes over `other`'s.
    replay_handle& operator=(replay_handle&& other) noexcept {
        if (this != &other) {
            stop();
            state_ = std::move(other.state_);
            thread_ = std::move(other.thread_);
        }
        return *this;
    }
    replay_handle(const replay_handle&) = delete;
    replay_handle& operator=(const replay_handle&) = delete;
    ~replay_handle() { stop(); }

    /// The replay's name (replay_options::name).
    const std::string& name() const noexcept { return state_->name; }

    /// How far it has got.
    replay_progress progress() const noexcept { return {state_->replayed.load(), state_->total.load()}; }

    /// Running, or how it finished.
    replay_state state() const {
        std::lock_guard lock(state_->mutex);
        return state_->state;
    }
    /// Why the replay failed (or was cancelled); empty while running or when it completed.
    std::string message() const {
        std::lock_guard lock(state_->mutex);
        return state_->message;
    }

    /// Asks the replay to stop before its next event; wait() then reports `cancelled` (or
    /// `completed`, when it had already published everything).
    void cancel() noexcept { state_->cancel.store(true); }

    /// Waits until the replay has finished. Returns false when `timeout` passed first.
    bool wait(std::chrono::nanoseconds timeout) {
        std::unique_lock lock(state_->mutex);
        return state_->finished.wait_for(lock, timeout, [&] { return state_->state != replay_state::running; });
    }
    /// Waits until the replay has finished.
    void wait() {
        std::unique_lock lock(state_->mutex);
        state_->finished.wait(lock, [&] { return state_->state != replay_state::running; });
    }

private:
    friend class archive;
    struct shared {
        std::string name;
        std::atomic<std::size_t> replayed{0};
        std::atomic<std::size_t> total{0};
        std::atomic<bool> cancel{false};
        mutable std::mutex mutex;
        std::condition_variable finished;
        replay_state state = replay_state::running;
        std::string message;

        void finish(replay_state s, std::string why) {
            {
                std::lock_guard lock(mutex);
                state = s;
                message = std::move(why);
            }
            finished.notify_all();
        }
    };
    replay_handle(std::shared_ptr<shared> state, std::thread thread) : state_(std::move(state)), thread_(std::move(thread)) {}

    void stop() noexcept {
        if (state_) state_->cancel.store(true);
        if (thread_.joinable()) thread_.join();
    }

    std::shared_ptr<shared> state_;
    std::thread thread_;
};

namespace detail {
class archive_writer;
// The archive's pattern AND "not a replayed event", as one EventBridge pattern.
SWITCHYARD_API std::string archive_pattern(std::string_view archive, const std::string& pattern);
}  // namespace detail

/// EventBridge's archive and replay, on any archive_store: an archive subscribes to a bus and
/// keeps every event matching its pattern; a replay publishes the archived events of a time
/// window back into the bus with `replay-name` set, in their original order, optionally to named
/// rules only.
class archive {
public:
    /// Starts archiving: every event published into `b` from now on that matches the pattern
    /// (replayed events excepted) is appended to the store. The archive is a rule of the bus,
    /// "Events-Archive-<name>", with one asynchronous target: the publishing thread only queues
    /// the event; the archive's own thread appends what has queued in one batch (one transaction
    /// for sqlite_archive_store) and then ends those deliveries, so `bus.drain()` returns once
    /// they are in the store, a store that fails is retried by the target's retry policy, and on
    /// a journaled bus an accepted event a crash kept out of the archive is archived by
    /// `bus.recover()` (construct the archive before recovering, as any rule). Throws
    /// switchyard::error (pattern_error for the pattern) naming the problem. The bus must outlive
    /// the archive.
    SWITCHYARD_API archive(bus& b, archive_spec spec);
    /// Stops archiving (close()).
    SWITCHYARD_API ~archive();
    /// The moved-from archive archives nothing.
    SWITCHYARD_API archive(archive&& other) noexcept;
    /// Closes this archive, then takes `other`'s place.
    SWITCHYARD_API archive& operator=(archive&& other) noexcept;
    archive(const archive&) = delete;
    archive& operator=(const archive&) = delete;

    /// The archive's name.
    const std::string& name() const noexcept { return spec_.name; }
    /// Where its events are kept.
    const std::shared_ptr<archive_store>& store() const noexcept { return spec_.store; }

    /// Stops archiving (also done by the destructor): removes the rule, then returns once every
    /// event queued for the store is in it.
    SWITCHYARD_API void close() noexcept;

    /// Removes events older than the retention (by their `time`); returns how many. Nothing
    /// with a retention of zero.
    std::size_t purge_expired(std::chrono::system_clock::time_point now = std::chrono::system_clock::now()) {
        if (spec_.retention == std::chrono::system_clock::duration::zero()) return 0;
        return spec_.store->purge_before(now - spec_.retention);
    }

    /// Starts replaying the window on its own thread; see replay_handle.
    [[nodiscard]] SWITCHYARD_API replay_handle replay(replay_options options);

private:
    static void run_replay(replay_handle::shared& state, archive_store& store, bus& b, const replay_options& options);

    bus* bus_;
    archive_spec spec_;
    std::string rule_;                               // "Events-Archive-<name>"
    std::shared_ptr<detail::archive_writer> writer_;  // null once closed
};

}  // namespace switchyard

#ifdef SWITCHYARD_HEADER_ONLY
#include "switchyard/archive-inl.hpp"
#endif
