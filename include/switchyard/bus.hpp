// The bus: rules route published events to targets. Publishers read an immutable snapshot of
// the rule table and never wait for a reconfiguration; writers build the next snapshot under a
// lock and swap it in atomically. Every accepted delivery is counted until it ends, so `drain`
// knows when everything accepted has been delivered.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "switchyard/detail/snapshot.hpp"
#include "switchyard/error.hpp"
#include "switchyard/event.hpp"
#include "switchyard/flatten.hpp"
#include "switchyard/pattern/matcher.hpp"
#include "switchyard/pattern/pattern.hpp"
#include "switchyard/rule.hpp"
#include "switchyard/target.hpp"

namespace switchyard {

struct bus_options {
    std::string account = "000000000000";
    std::string region = "local";
    std::size_t max_targets_per_rule = 5;  // EventBridge's limit
    std::size_t max_event_size = 1024 * 1024;  // bytes, measured as EventBridge measures an entry
    std::size_t max_batch_entries = 10;  // put_events entries per call, EventBridge's limit
};

// One entry of `bus::put_events`, shaped like EventBridge's PutEventsRequestEntry.
struct put_events_entry {
    std::string source{};
    std::string detail_type{};
    std::string detail{};  // JSON object text
    std::vector<std::string> resources{};
    std::string time{};  // optional RFC 3339 timestamp; empty means now
};

// The outcome of one published event: its id, or an EventBridge error code and a message.
struct publish_result {
    std::string event_id;
    std::string error_code;  // empty on success; InvalidArgument, MalformedDetail, ...
    std::string error_message;

    bool ok() const noexcept { return error_code.empty(); }
    explicit operator bool() const noexcept { return ok(); }
};

struct put_events_result {
    std::size_t failed_entry_count = 0;
    std::vector<publish_result> entries;  // one per entry, in order
};

// A delivery that did not succeed, as the bus reports it to its error handler.
struct delivery_failure {
    event_ptr event;
    std::string rule;
    std::string target;
    std::string error_code;  // "HandlerFailed" for an exception from the handler
    std::string message;
    unsigned attempts = 1;
};

using error_handler = std::function<void(const delivery_failure&)>;

// Per-target delivery counts. At a quiescent moment accepted = delivered + failed + discarded.
struct target_stats {
    std::string rule;
    std::string target;
    std::uint64_t accepted = 0;
    std::uint64_t delivered = 0;
    std::uint64_t failed = 0;
    std::uint64_t discarded = 0;  // queued for a subscription that ended before they ran
};

class bus;
template <event_type T> class producer;

namespace detail {

struct target_state {
    target_state(target spec_in, std::string rule_in) : spec(std::move(spec_in)), rule(std::move(rule_in)) {}

    target spec;
    std::string rule;
    std::atomic<std::uint64_t> accepted{0}, delivered{0}, failed{0}, discarded{0};

    // A subscription's end must wait for calls already running, and stop any later ones.
    std::mutex gate;
    std::condition_variable idle;
    bool open = true;
    unsigned running = 0;
};

struct rule_entry {
    pattern::rule_id id = 0;
    std::string name;
    std::string pattern;
    rule_state state = rule_state::enabled;
    std::string description;
    std::vector<std::shared_ptr<target_state>> targets;
    bool managed = false;
};

// One immutable snapshot of the rules.
struct rule_table {
    pattern::matcher matcher;
    std::vector<std::shared_ptr<const rule_entry>> by_id;  // indexed by rule id; null when removed
    std::map<std::string, pattern::rule_id, std::less<>> by_name;
};

inline thread_local const target_state* running_target = nullptr;

class bus_core {
public:
    bus_core(std::string name, bus_options options) : name_(std::move(name)), options_(std::move(options)) {
        check_name("event bus", name_);
        if (options_.max_targets_per_rule == 0) throw error("bus_options::max_targets_per_rule must be at least 1");
        if (options_.max_batch_entries == 0) throw error("bus_options::max_batch_entries must be at least 1");
    }

    bus_core(const bus_core&) = delete;
    bus_core& operator=(const bus_core&) = delete;

    ~bus_core() {
        // A worker that ended the last delivery may still be inside finish(); wait it out (a few
        // instructions) so the mutex and condition it touches outlive it.
        while (finishing_.load(std::memory_order_acquire) != 0) std::this_thread::yield();
    }

    const std::string& name() const noexcept { return name_; }
    const bus_options& options() const noexcept { return options_; }

    // ---- configuration (writers serialise on config_mutex_) ----------------------------------

    void add_rule(rule_spec spec, bool managed = false) {
        check_name("rule", spec.name);
        if (spec.targets.size() > options_.max_targets_per_rule)
            throw error(fmt::format("rule \"{}\" has {} targets; a rule may have at most {} (bus_options::max_targets_per_rule)",
                                    spec.name, spec.targets.size(), options_.max_targets_per_rule));
        for (std::size_t i = 0; i < spec.targets.size(); ++i) {
            check_name("target", spec.targets[i].id);
            if (!spec.targets[i].invoke)
                throw error(fmt::format("target \"{}\" of rule \"{}\" has no handler", spec.targets[i].id, spec.name));
            for (std::size_t j = 0; j < i; ++j)
                if (spec.targets[j].id == spec.targets[i].id)
                    throw error(fmt::format("rule \"{}\" has two targets with id \"{}\": target ids must be unique within a rule",
                                            spec.name, spec.targets[i].id));
        }
        pattern::compiled_pattern compiled = [&] {
            try {
                return pattern::compile(spec.pattern);
            } catch (const pattern_error& e) {
                throw pattern_error(fmt::format("rule \"{}\": invalid event pattern: {}", spec.name, e.what()), e.path(), e.offset());
            }
        }();

        std::lock_guard lock(config_mutex_);
        const auto current = table_.load();
        if (current->by_name.count(spec.name))
            throw error(fmt::format("bus \"{}\" already has a rule named \"{}\": remove it first or choose another name", name_, spec.name));
        auto entry = std::make_shared<rule_entry>();
        entry->id = next_rule_id_++;
        entry->name = spec.name;
        entry->pattern = std::move(spec.pattern);
        entry->state = spec.state;
        entry->description = std::move(spec.description);
        entry->managed = managed;
        for (auto& t : spec.targets) entry->targets.push_back(std::make_shared<target_state>(std::move(t), spec.name));

        auto next = std::make_shared<rule_table>(*current);
        next->matcher = current->matcher.with(entry->id, compiled);
        if (next->by_id.size() <= entry->id) next->by_id.resize(entry->id + 1);
        next->by_name.emplace(entry->name, entry->id);
        next->by_id[entry->id] = std::move(entry);
        table_.store(std::move(next));
    }

    // Returns the removed rule's targets (a subscription waits for them), or nothing.
    std::optional<std::vector<std::shared_ptr<target_state>>> remove_rule(std::string_view name) {
        std::lock_guard lock(config_mutex_);
        const auto current = table_.load();
        const auto it = current->by_name.find(name);
        if (it == current->by_name.end()) return std::nullopt;
        const auto id = it->second;
        auto targets = current->by_id[id]->targets;
        auto next = std::make_shared<rule_table>(*current);
        next->matcher = current->matcher.without(id);
        next->by_name.erase(std::string(name));
        next->by_id[id] = nullptr;
        table_.store(std::move(next));
        return targets;
    }

    void set_state(std::string_view name, rule_state state) {
        std::lock_guard lock(config_mutex_);
        const auto current = table_.load();
        const auto it = current->by_name.find(name);
        if (it == current->by_name.end())
            throw error(fmt::format("bus \"{}\" has no rule named \"{}\"", name_, name));
        auto entry = std::make_shared<rule_entry>(*current->by_id[it->second]);
        entry->state = state;
        auto next = std::make_shared<rule_table>(*current);
        next->by_id[entry->id] = std::move(entry);
        table_.store(std::move(next));
    }

    std::vector<rule_info> list_rules() const {
        const auto table = table_.load();
        std::vector<rule_info> out;
        for (const auto& [name, id] : table->by_name) {
            const auto& entry = *table->by_id[id];
            rule_info info{entry.name, entry.pattern, entry.state, entry.description, {}, entry.managed};
            for (const auto& t : entry.targets) info.target_ids.push_back(t->spec.id);
            out.push_back(std::move(info));
        }
        return out;
    }

    std::vector<target_stats> stats() const {
        const auto table = table_.load();
        std::vector<target_stats> out;
        for (const auto& [name, id] : table->by_name)
            for (const auto& t : table->by_id[id]->targets)
                out.push_back({t->rule, t->spec.id, t->accepted.load(), t->delivered.load(), t->failed.load(), t->discarded.load()});
        return out;
    }

    void set_error_handler(error_handler handler) {
        std::lock_guard lock(error_mutex_);
        on_error_ = std::make_shared<const error_handler>(std::move(handler));
    }

    // ---- publishing ---------------------------------------------------------------------------

    // Routes an accepted event to every target of every enabled rule it matches.
    void dispatch(const event_ptr& e) {
        const auto table = table_.load();
        scratch_guard scratch;
        match(table->matcher, *e, scratch->fields, scratch->ids);
        for (const auto id : scratch->ids) {
            const auto& entry = table->by_id[id];
            if (!entry || entry->state != rule_state::enabled) continue;
            for (const auto& t : entry->targets) deliver(e, t);
        }
    }

    publish_result put(const put_events_entry& entry) {
        publish_result result;
        auto fail = [&](const char* code, std::string message) {
            result.error_code = code;
            result.error_message = std::move(message);
            return result;
        };
        if (entry.source.empty())
            return fail("InvalidArgument", "Source is empty: every entry needs a source such as \"com.example.orders\"");
        if (entry.detail_type.empty())
            return fail("InvalidArgument", "DetailType is empty: every entry needs a detail-type such as \"OrderPlaced\"");
        if (entry.detail.empty())
            return fail("InvalidArgument", "Detail is empty: send a JSON object, \"{}\" at least");
        const std::size_t size = entry_size(entry);
        if (size > options_.max_event_size)
            return fail("InvalidArgument", fmt::format("entry is {} bytes; the limit is {} bytes (bus_options::max_event_size)",
                                                       size, options_.max_event_size));
        const auto parsed = nlohmann::json::parse(entry.detail, nullptr, false);
        if (parsed.is_discarded())
            return fail("MalformedDetail", "Detail is not valid JSON: send a JSON object such as {\"orderId\": \"42\"}");
        if (!parsed.is_object())
            return fail("MalformedDetail", fmt::format("Detail must be a JSON object, got {}", parsed.type_name()));
        envelope meta = make_envelope(entry.source, entry.detail_type);
        if (!entry.time.empty()) {
            const auto when = detail::parse_rfc3339(entry.time);
            if (!when)
                return fail("InvalidArgument", fmt::format("Time \"{}\" is not an RFC 3339 timestamp such as 2026-11-29T20:00:41Z", entry.time));
            meta.time = detail::format_rfc3339(*when);
        }
        for (const auto& r : entry.resources) {
            if (r.empty()) return fail("InvalidArgument", "Resources must not contain an empty string");
        }
        meta.resources = entry.resources;
        result.event_id = meta.id;
        dispatch(std::make_shared<const detail::json_text_event>(std::move(meta), entry.detail));
        return result;
    }

    envelope make_envelope(std::string source, std::string detail_type) const {
        envelope meta;
        meta.id = make_uuid_v4();
        meta.detail_type = std::move(detail_type);
        meta.source = std::move(source);
        meta.account = options_.account;
        meta.time = format_rfc3339(std::chrono::system_clock::now());
        meta.region = options_.region;
        return meta;
    }

    // ---- completion ---------------------------------------------------------------------------

    bool drain(std::optional<std::chrono::nanoseconds> timeout) {
        std::unique_lock lock(drain_mutex_);
        auto idle = [this] { return pending_.load(std::memory_order_acquire) == 0; };
        if (!timeout) {
            drained_.wait(lock, idle);
            return true;
        }
        return drained_.wait_for(lock, *timeout, idle);
    }

    std::uint64_t pending() const noexcept { return pending_.load(std::memory_order_acquire); }

    // Closes a target so that none of its handler calls start any more, and waits for the calls
    // already running (except one on this very thread, when a handler ends its own subscription).
    static void close_target(target_state& t) {
        std::unique_lock lock(t.gate);
        t.open = false;
        const unsigned self = running_target == &t ? 1u : 0u;
        t.idle.wait(lock, [&] { return t.running <= self; });
    }

private:
    struct match_scratch {
        pattern::flat_event fields;
        std::vector<pattern::rule_id> ids;
    };

    // A handler on an inline executor may publish again from inside dispatch, so scratch space
    // is a per-thread stack rather than a single per-thread buffer.
    class scratch_guard {
    public:
        scratch_guard() {
            auto& stack = pool();
            if (depth() == stack.size()) stack.push_back(std::make_unique<match_scratch>());
            current_ = stack[depth()++].get();
            current_->ids.clear();
        }
        ~scratch_guard() { --depth(); }
        scratch_guard(const scratch_guard&) = delete;
        scratch_guard& operator=(const scratch_guard&) = delete;
        match_scratch* operator->() const noexcept { return current_; }

    private:
        static std::vector<std::unique_ptr<match_scratch>>& pool() {
            thread_local std::vector<std::unique_ptr<match_scratch>> stack;
            return stack;
        }
        static std::size_t& depth() {
            thread_local std::size_t level = 0;
            return level;
        }
        match_scratch* current_;
    };

    static std::size_t entry_size(const put_events_entry& entry) {
        std::size_t size = entry.source.size() + entry.detail_type.size() + entry.detail.size();
        if (!entry.time.empty()) size += 14;  // EventBridge counts a given Time as 14 bytes
        for (const auto& r : entry.resources) size += r.size();
        return size;
    }

    void deliver(const event_ptr& e, const std::shared_ptr<target_state>& t) {
        t->accepted.fetch_add(1, std::memory_order_relaxed);
        pending_.fetch_add(1, std::memory_order_acq_rel);
        try {
            t->spec.executor.execute([this, e, t] { run(*e, e, *t); });
        } catch (const std::exception& ex) {
            // The executor refused the task: nothing will run it, so it ends here, reported.
            fail(e, *t, "ExecutorRejected", ex.what());
            finish();
        }
    }

    void run(const any_event& e, const event_ptr& shared, target_state& t) {
        {
            std::lock_guard lock(t.gate);
            if (!t.open) {
                t.discarded.fetch_add(1, std::memory_order_relaxed);
                finish();
                return;
            }
            ++t.running;
        }
        const target_state* outer = running_target;
        running_target = &t;
        try {
            t.spec.invoke(e, delivery_info{t.rule, t.spec.id, 1});
            t.delivered.fetch_add(1, std::memory_order_relaxed);
        } catch (const std::exception& ex) {
            fail(shared, t, "HandlerFailed", ex.what());
        } catch (...) {
            fail(shared, t, "HandlerFailed", "the handler threw a non-standard exception");
        }
        running_target = outer;
        {
            std::lock_guard lock(t.gate);
            --t.running;
            t.idle.notify_all();
        }
        finish();
    }

    void fail(const event_ptr& e, target_state& t, const char* code, std::string message) noexcept {
        t.failed.fetch_add(1, std::memory_order_relaxed);
        std::shared_ptr<const error_handler> handler;
        {
            std::lock_guard lock(error_mutex_);
            handler = on_error_;
        }
        delivery_failure failure{e, t.rule, t.spec.id, code, std::move(message), 1};
        try {
            if (handler && *handler) {
                (*handler)(failure);
                return;
            }
        } catch (...) {
            // An error handler that throws must not take the worker down; fall through to stderr.
        }
        std::fprintf(stderr, "switchyard: bus \"%s\" rule \"%s\" target \"%s\" event %s: %s: %s\n", name_.c_str(),
                     failure.rule.c_str(), failure.target.c_str(), e->meta().id.c_str(), failure.error_code.c_str(),
                     failure.message.c_str());
    }

    // Ends one delivery. The last one wakes drainers; notifying under the lock means a drainer
    // cannot return (and the bus be destroyed) while this thread still touches the condition.
    // `finishing_` covers the gap between the decrement and the lock: the destructor waits it out.
    void finish() noexcept {
        finishing_.fetch_add(1, std::memory_order_acq_rel);
        if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
            std::lock_guard lock(drain_mutex_);
            drained_.notify_all();
        }
        finishing_.fetch_sub(1, std::memory_order_release);
    }

    std::string name_;
    bus_options options_;
    snapshot<rule_table> table_{std::make_shared<const rule_table>()};
    std::mutex config_mutex_;
    pattern::rule_id next_rule_id_ = 0;
    std::uint64_t next_subscription_ = 0;

    std::mutex error_mutex_;
    std::shared_ptr<const error_handler> on_error_;

    std::atomic<std::uint64_t> pending_{0};
    std::atomic<std::uint32_t> finishing_{0};
    std::mutex drain_mutex_;
    std::condition_variable drained_;

    friend class switchyard::bus;
};

}  // namespace detail

// Ends a subscription when destroyed: its handler is not called again once the destructor (or
// `unsubscribe`) has returned.
class subscription {
public:
    subscription() = default;
    subscription(subscription&& other) noexcept = default;
    subscription& operator=(subscription&& other) noexcept {
        if (this != &other) {
            unsubscribe();
            core_ = std::move(other.core_);
            rule_ = std::move(other.rule_);
        }
        return *this;
    }
    subscription(const subscription&) = delete;
    subscription& operator=(const subscription&) = delete;
    ~subscription() { unsubscribe(); }

    // The managed rule behind this subscription, as `bus::list_rules` shows it.
    const std::string& rule_name() const noexcept { return rule_; }
    bool active() const noexcept { return !core_.expired(); }

    void unsubscribe() {
        if (auto core = core_.lock()) {
            if (auto targets = core->remove_rule(rule_))
                for (const auto& t : *targets) detail::bus_core::close_target(*t);
        }
        core_.reset();
    }

private:
    friend class bus;
    subscription(std::weak_ptr<detail::bus_core> core, std::string rule) : core_(std::move(core)), rule_(std::move(rule)) {}

    std::weak_ptr<detail::bus_core> core_;
    std::string rule_;
};

class bus {
public:
    explicit bus(std::string name, bus_options options = {})
        : core_(std::make_shared<detail::bus_core>(std::move(name), std::move(options))) {}

    bus(const bus&) = delete;
    bus& operator=(const bus&) = delete;

    // Delivers everything accepted before returning. Executors must outlive the bus.
    ~bus() { core_->drain(std::nullopt); }

    const std::string& name() const noexcept { return core_->name(); }

    // Adds a rule. Throws switchyard::error (pattern_error for the pattern) naming the problem.
    void add_rule(rule_spec spec) { core_->add_rule(std::move(spec)); }

    // Removes a rule: no event published after this returns matches it. Events it already
    // matched are still delivered. Returns false when there was no such rule.
    bool remove_rule(std::string_view name) { return core_->remove_rule(name).has_value(); }

    void enable_rule(std::string_view name) { core_->set_state(name, rule_state::enabled); }
    void disable_rule(std::string_view name) { core_->set_state(name, rule_state::disabled); }

    // Every rule, sorted by name.
    std::vector<rule_info> list_rules() const { return core_->list_rules(); }

    // A producer of T events with the given source. It must not outlive the bus.
    template <event_type T> switchyard::producer<T> producer(std::string source);

    // Publishes a typed event; returns its id (typed events never fail validation).
    template <event_type T> publish_result publish(std::string source, T detail);

    // Publishes an already-built event as it is (id, time and all), e.g. one read from JSON.
    publish_result publish(event_ptr e) {
        if (!e) throw error("bus::publish: the event pointer is null");
        publish_result result{e->meta().id, {}, {}};
        core_->dispatch(e);
        return result;
    }

    // EventBridge's PutEvents: each entry is validated and published alone; a bad entry fails with
    // an error code and message while the others go on. Throws switchyard::error when the batch
    // has more entries than bus_options::max_batch_entries.
    put_events_result put_events(std::span<const put_events_entry> entries) {
        if (entries.size() > core_->options().max_batch_entries)
            throw error(fmt::format("put_events got {} entries; at most {} are allowed per call (bus_options::max_batch_entries)",
                                    entries.size(), core_->options().max_batch_entries));
        put_events_result result;
        result.entries.reserve(entries.size());
        for (const auto& entry : entries) {
            result.entries.push_back(core_->put(entry));
            if (!result.entries.back().ok()) ++result.failed_entry_count;
        }
        return result;
    }
    put_events_result put_events(std::initializer_list<put_events_entry> entries) {
        return put_events(std::span<const put_events_entry>(entries.begin(), entries.size()));
    }

    // Attaches a target to a pattern for as long as the returned handle lives.
    [[nodiscard]] subscription subscribe(std::string pattern, target t) {
        std::string name;
        {
            std::lock_guard lock(core_->config_mutex_);
            name = fmt::format("subscription-{}", core_->next_subscription_++);
        }
        core_->add_rule(rule_spec{name, std::move(pattern), {std::move(t)}, rule_state::enabled, "subscription"}, true);
        return subscription(core_, std::move(name));
    }

    // Attaches a subscriber to every event of its type (matched by detail-type), or to `pattern`.
    template <event_type T>
    [[nodiscard]] subscription subscribe(subscriber<T>& s, any_executor executor = inline_executor::instance(),
                                         std::optional<std::string> pattern = std::nullopt) {
        std::string p = pattern ? std::move(*pattern)
                                : nlohmann::json{{"detail-type", {std::string(detail_type_of<T>())}}}.dump();
        return subscribe(std::move(p), handler<T>("subscriber", [&s](const event<T>& e) { s.on_event(e); }, std::move(executor)));
    }

    // Called for every delivery that fails. The default writes one line to stderr.
    void set_error_handler(error_handler handler) { core_->set_error_handler(std::move(handler)); }

    // Waits until every accepted delivery has ended. Returns false if `timeout` passed first.
    bool drain(std::chrono::nanoseconds timeout) { return core_->drain(timeout); }
    void drain() { core_->drain(std::nullopt); }

    // Deliveries accepted and not yet ended.
    std::uint64_t pending() const noexcept { return core_->pending(); }

    std::vector<target_stats> stats() const { return core_->stats(); }

    // The envelope a new event published now from `source` would carry (fresh id and time).
    envelope make_envelope(std::string source, std::string detail_type) const {
        return core_->make_envelope(std::move(source), std::move(detail_type));
    }

private:
    template <event_type T> friend class switchyard::producer;
    std::shared_ptr<detail::bus_core> core_;
};

}  // namespace switchyard

#include "switchyard/producer.hpp"
