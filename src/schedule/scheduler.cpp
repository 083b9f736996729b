// The scheduler: a table of schedules, each with its next scheduled time and the moment it is
// due (the time plus its flexible-window offset); run_due publishes what is due, oldest first.
// `mutex` guards the table and is never held while calling out (the bus, the journal, the error
// handler), so a handler may add, put, remove, disable or fire schedules, and read them, from
// inside a delivery. `run_mutex` serialises run_due (the timer thread's, or the thread moving a
// manual clock) so a fire is never published by two threads; `journal_mutex` keeps a schedule's
// checkpoints in order with its removal.
#include "switchyard/schedule/scheduler.hpp"

#include <algorithm>
#include <cstdio>
#include <deque>
#include <map>
#include <mutex>
#include <random>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "switchyard/bus.hpp"
#include "switchyard/delivery/timer_service.hpp"
#include "switchyard/detail/json_object_check.hpp"
#include "switchyard/detail/sha256.hpp"
#include "switchyard/detail/time.hpp"
#include "switchyard/detail/uuid.hpp"
#include "switchyard/durability/journal.hpp"

namespace switchyard {

namespace {

using std::chrono::sys_seconds;
using time_point = std::chrono::system_clock::time_point;

// The longest a timer waits before looking at the wall clock again: a clock set forward (or a
// machine that slept) is noticed within this, not at the old due time.
constexpr auto max_timer_wait = std::chrono::seconds(30);
// How many missed times of a cron() a schedule walks through, one by one, when it wakes after a
// long absence; the count of missed fires stops there (a rate's are counted arithmetically).
constexpr std::size_t max_missed_walk = 1'000'000;

bool valid_name(std::string_view name) {
    if (name.empty() || name.size() > 64) return false;
    return std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
    });
}

// The event id of a scheduled fire: a name-based UUID (RFC 9562 version 8, from SHA-256) of the
// group, the schedule and the scheduled time, so the same fire always has the same id.
std::string fire_id(std::string_view group, std::string_view name, sys_seconds t) {
    detail::sha256 h;
    h.update(group).update("/").update(name).update("@").update(std::to_string(t.time_since_epoch().count()));
    auto d = h.finish();
    d[6] = static_cast<std::uint8_t>((d[6] & 0x0F) | 0x80);  // version 8
    d[8] = static_cast<std::uint8_t>((d[8] & 0x3F) | 0x80);  // variant 10xx
    std::string out;
    out.reserve(36);
    for (std::size_t i = 0; i < 16; ++i) {
        if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
        out += fmt::format("{:02x}", d[i]);
    }
    return out;
}

std::optional<sys_seconds> seconds_field(const nlohmann::json& j, const char* key) {
    const auto it = j.find(key);
    if (it == j.end() || !it->is_number_integer()) return std::nullopt;
    return sys_seconds(std::chrono::seconds(it->get<std::int64_t>()));
}

}  // namespace

struct scheduler::impl {
    // One schedule. Shared so a fire in progress keeps it alive after a remove() or put().
    struct entry {
        schedule_spec spec;
        schedule_expression expression;
        time_zone zone;
        sys_seconds anchor{};
        std::optional<sys_seconds> last;     // the last scheduled time fired
        std::optional<sys_seconds> firing;   // the time being published now
        std::optional<sys_seconds> refire;   // a fire whose publish a crash may have cut short
        time_point refire_due{};             // when it runs (at once, unless the bus refused it)
        std::optional<sys_seconds> next;     // the next scheduled time
        time_point due{};                    // when `next` (or its retry) runs
        bool retrying = false;               // `next` was refused: it fires when retried, however late
        bool removed = false;
        std::uint64_t fires = 0, missed = 0, late = 0, failed = 0;
    };

    // Messages for the error handler, gathered under `mutex` and delivered after it is released.
    using reports = std::vector<std::pair<std::string, std::string>>;

    bus& target;
    scheduler_options options;
    schedule_clock& clock;
    std::shared_ptr<switchyard::journal> journal;

    mutable std::mutex mutex;  // the table and every entry's fields
    std::map<std::string, std::shared_ptr<entry>, std::less<>> table;
    std::mt19937_64 random;
    std::uint64_t generation = 0;  // of the armed timer: an older timer's callback does nothing
    bool stopping = false;

    std::mutex run_mutex;      // one run_due at a time
    std::mutex journal_mutex;  // a schedule's checkpoint writes, in order with its removal
    timer_service timer;       // last: destroyed (joined) first, while everything it uses exists

    impl(bus& b, scheduler_options o)
        : target(b),
          options(std::move(o)),
          clock(options.clock ? *options.clock : system_schedule_clock::instance()),
          journal(options.journal ? options.journal : b.options().journal),
          random(options.seed != 0 ? options.seed : std::random_device{}()) {
        if (!valid_name(options.group))
            throw schedule_error(fmt::format("scheduler group \"{}\" is not valid: use 1-64 letters, digits, '.', '-' or '_'",
                                             options.group));
        if (options.misfire_threshold < std::chrono::seconds(0))
            throw schedule_error("scheduler_options::misfire_threshold is negative: use zero or more seconds");
        if (options.retry_interval <= std::chrono::milliseconds(0))
            throw schedule_error("scheduler_options::retry_interval must be positive");
        if (journal && !journal->keeps_checkpoints()) {
            report("", "the journal keeps no checkpoints (journal::keeps_checkpoints): schedules keep their progress in "
                       "memory only, and a restart starts them afresh");
            journal.reset();
        }
    }

    // ---- progress ------------------------------------------------------------------------------

    std::string checkpoint_key(std::string_view name) const { return fmt::format("schedule/{}/{}", options.group, name); }

    void report(std::string_view name, std::string_view message) const {
        try {
            if (options.on_error)
                options.on_error(name, message);
            else
                std::fprintf(stderr, "switchyard scheduler %s: schedule '%.*s': %.*s\n", options.group.c_str(),
                             static_cast<int>(name.size()), name.data(), static_cast<int>(message.size()), message.data());
        } catch (...) {
            // The handler's own failure has nowhere better to go; the scheduler goes on.
        }
    }
    void report(const reports& r) const {
        for (const auto& [name, message] : r) report(name, message);
    }

    // The checkpoint of `e`: its expression and anchor, the last fire, and a fire under way.
    // Precondition: `mutex` is held.
    static std::string progress_of(const entry& e, std::optional<sys_seconds> firing) {
        nlohmann::json j{{"expression", e.spec.expression}, {"anchor", e.anchor.time_since_epoch().count()}};
        if (e.last) j["last"] = e.last->time_since_epoch().count();
        if (firing) j["firing"] = firing->time_since_epoch().count();
        return j.dump();
    }

    // Saves the progress of `e` (unless it was removed meanwhile), without holding `mutex`
    // during the write. A failure is reported, and firing goes on: a lost save can only repeat a
    // fire.
    void save(const entry& e, std::optional<sys_seconds> firing) {
        if (!journal) return;
        std::lock_guard order(journal_mutex);
        std::string progress;
        {
            std::lock_guard lock(mutex);
            if (e.removed) return;
            progress = progress_of(e, firing);
        }
        try {
            journal->save_checkpoint(checkpoint_key(e.spec.name), progress);
        } catch (const std::exception& ex) {
            report(e.spec.name, fmt::format("could not save the schedule's progress: {}", ex.what()));
        }
    }

    // ---- times ---------------------------------------------------------------------------------

    // The first scheduled time strictly after `t` within the schedule's start and end.
    std::optional<sys_seconds> after(const entry& e, sys_seconds t) const {
        if (e.spec.start && t < *e.spec.start - std::chrono::seconds(1)) t = *e.spec.start - std::chrono::seconds(1);
        auto n = e.expression.next_after(t, e.zone, e.anchor);
        if (n && e.spec.end && *n > *e.spec.end) return std::nullopt;
        return n;
    }

    // Sets `next` and `due` for the scheduled time `t` (the flexible window draws its offset).
    void plan(entry& e, std::optional<sys_seconds> t) {
        e.next = t;
        e.retrying = false;
        if (!t) return;
        e.due = *t;
        if (e.spec.flexible_window > std::chrono::minutes(0)) {
            const auto span = std::chrono::duration_cast<std::chrono::seconds>(e.spec.flexible_window).count();
            e.due += std::chrono::seconds(std::uniform_int_distribution<std::int64_t>(0, span - 1)(random));
        }
    }

    sys_seconds now_seconds() const { return std::chrono::floor<std::chrono::seconds>(clock.now()); }

    // ---- the table -----------------------------------------------------------------------------

    std::shared_ptr<entry> make_entry(schedule_spec spec) const {
        if (!valid_name(spec.name))
            throw schedule_error(fmt::format("schedule name \"{}\" is not valid: use 1-64 letters, digits, '.', '-' or '_'", spec.name));
        auto e = std::make_shared<entry>();
        try {
            e->expression = schedule_expression::parse(spec.expression);
            e->zone = time_zone::locate(spec.time_zone);
        } catch (const schedule_error& ex) {
            throw schedule_error(fmt::format("schedule '{}': {}", spec.name, ex.what()));
        }
        if (spec.start && spec.end && *spec.end < *spec.start)
            throw schedule_error(fmt::format("schedule '{}': its end is before its start", spec.name));
        if (spec.source.empty() || spec.detail_type.empty())
            throw schedule_error(fmt::format("schedule '{}': source and detail_type must not be empty (the defaults are "
                                             "\"aws.events\" and \"Scheduled Event\")",
                                             spec.name));
        if (const auto problem = detail::check_json_object(spec.detail))
            throw schedule_error(fmt::format("schedule '{}': detail {}", spec.name, problem->message));
        if (spec.on_missed == missed_fire_policy::fire_all && spec.max_catch_up == 0)
            throw schedule_error(fmt::format("schedule '{}': max_catch_up is 0 with missed_fire_policy::fire_all: use at "
                                             "least 1, or missed_fire_policy::skip",
                                             spec.name));
        e->spec = std::move(spec);
        return e;
    }

    // Where a new, replaced or restarted schedule starts. Precondition: `mutex` is held.
    //  - replacing one with the same expression that was enabled: from its last fire (or the
    //    fire under way), keeping its counts;
    //  - restarting with saved progress of the same expression: from the last fire (the fires
    //    missed while down go to the policy), repeating a fire a crash may have cut short; with
    //    progress but no fire yet, from the time it was first added;
    //  - otherwise (new, another expression, or one that was disabled): from now on.
    void start(entry& e, const entry* replaced, const std::optional<nlohmann::json>& saved) {
        const auto now = now_seconds();
        e.anchor = e.spec.start ? *e.spec.start : now;
        std::optional<sys_seconds> from;
        if (replaced) {
            e.fires = replaced->fires, e.missed = replaced->missed, e.late = replaced->late, e.failed = replaced->failed;
            e.last = replaced->last;
            if (replaced->firing && (!e.last || *replaced->firing > *e.last)) e.last = replaced->firing;
            e.refire = replaced->refire;
            e.refire_due = replaced->refire_due;
            if (replaced->spec.expression == e.spec.expression && replaced->spec.enabled) {
                if (!e.spec.start) e.anchor = replaced->anchor;
                if (e.last) from = *e.last;
            }
        } else if (saved) {
            const bool same = saved->value("expression", "") == e.spec.expression;
            const auto anchor = seconds_field(*saved, "anchor");
            if (anchor && same && !e.spec.start) e.anchor = *anchor;
            e.last = seconds_field(*saved, "last");
            e.refire = seconds_field(*saved, "firing");
            e.refire_due = now;
            if (same) from = e.last ? *e.last : std::min(e.anchor, now) - std::chrono::seconds(1);
        }
        if (e.refire && (!e.last || *e.refire > *e.last) && (!from || *e.refire > *from)) from = *e.refire;
        // From now on: the first time strictly after now (a rate's anchor itself when that is now).
        if (!from) from = std::max(now, e.anchor) - std::chrono::seconds(1);
        if (from && e.last && *e.last > *from) from = *e.last;
        plan(e, e.spec.enabled ? after(e, *from) : std::nullopt);
    }

    // When `e` has something to run: a fire to repeat first, else its next time (or its retry).
    static std::optional<time_point> due_at(const entry& e) {
        if (e.removed || !e.spec.enabled) return std::nullopt;
        if (e.refire) return e.refire_due;
        if (!e.next) return std::nullopt;
        return e.due;
    }

    void insert(schedule_spec spec, bool replace) {
        auto e = make_entry(std::move(spec));
        // Saved progress is read before the table is locked: reading a journal may take a while.
        std::optional<nlohmann::json> saved;
        reports problems;
        if (journal) {
            try {
                if (auto text = journal->load_checkpoint(checkpoint_key(e->spec.name)); text && !text->empty() && *text != "{}")
                    saved = nlohmann::json::parse(*text);
            } catch (const std::exception& ex) {
                problems.emplace_back(e->spec.name,
                                      fmt::format("could not read the schedule's saved progress (starting afresh): {}", ex.what()));
            }
        }
        std::optional<sys_seconds> refire;  // read under the lock: the timer thread may fire it at once
        {
            std::unique_lock lock(mutex);
            const auto it = table.find(e->spec.name);
            if (it != table.end() && !replace)
                throw schedule_error(fmt::format("a schedule named '{}' exists: remove it first, or use put()", e->spec.name));
            const entry* replaced = it != table.end() ? it->second.get() : nullptr;
            start(*e, replaced, replaced ? std::nullopt : saved);
            if (replaced) it->second->removed = true;
            table.insert_or_assign(e->spec.name, e);
            refire = e->refire;
            arm(lock);
        }
        report(problems);
        save(*e, refire);
    }

    std::shared_ptr<entry> find(std::string_view name) const {
        const auto it = table.find(name);
        if (it == table.end()) throw schedule_error(fmt::format("there is no schedule named '{}'", name));
        return it->second;
    }

    // ---- firing --------------------------------------------------------------------------------

    event_ptr make_fire(const entry& e, sys_seconds t, std::string id) const {
        envelope meta;
        meta.id = std::move(id);
        meta.source = e.spec.source;
        meta.detail_type = e.spec.detail_type;
        meta.account = target.options().account;
        meta.region = target.options().region;
        meta.time = detail::format_rfc3339(t);
        meta.resources = {fmt::format("arn:aws:scheduler:{}:{}:schedule/{}/{}", meta.region, meta.account, options.group, e.spec.name)};
        return make_json_event(std::move(meta), e.spec.detail);
    }

    // Publishes the fire of `t`, with its progress saved before and after. False when the bus
    // refused it (the caller retries later).
    bool fire(entry& e, sys_seconds t, bool count_late) {
        {
            std::lock_guard lock(mutex);
            e.firing = t;
        }
        save(e, t);
        const auto id = fire_id(options.group, e.spec.name, t);
        publish_result result;
        try {
            result = target.publish_deduplicated(make_fire(e, t, id), id);
        } catch (const std::exception& ex) {
            result.error_code = publish_errc::invalid_argument;
            result.error_message = ex.what();
        }
        const auto published = clock.now();
        {
            std::lock_guard lock(mutex);
            e.firing.reset();
            if (result.ok()) {
                ++e.fires;
                if (count_late && published - time_point(t) > options.misfire_threshold + e.spec.flexible_window) ++e.late;
                if (!e.last || t > *e.last) e.last = t;
            } else {
                ++e.failed;
            }
        }
        if (!result.ok()) {
            report(e.spec.name, fmt::format("the fire of {} was refused by bus '{}' ({}: {}); trying again in {} ms",
                                            detail::format_rfc3339(t), target.name(), to_string(result.error_code),
                                            result.error_message, options.retry_interval.count()));
            return false;
        }
        save(e, std::nullopt);
        return true;
    }

    // Whether the journal holds an unfinished event of this id (its deliveries were cut short).
    bool in_journal(const std::string& id) const {
        if (!journal) return false;
        try {
            for (const auto& entry : journal->unfinished()) {
                if (entry.event_json.find(id) == std::string::npos) continue;  // cheap filter before parsing
                const auto parsed = nlohmann::json::parse(entry.event_json, nullptr, false);
                if (parsed.is_object() && parsed.value("id", "") == id) return true;
            }
        } catch (const std::exception& ex) {
            report("", fmt::format("could not read the journal: {}", ex.what()));
        }
        return false;
    }

    // What one schedule does at `now`: the times it fires, in order, and how many it misses.
    struct decision {
        std::vector<sys_seconds> fire;
        std::uint64_t missed = 0;
        std::optional<sys_seconds> next;
    };

    // Precondition: `mutex` is held.
    decision decide(entry& e, time_point now) {
        decision d;
        const auto threshold = options.misfire_threshold + e.spec.flexible_window;
        std::optional<sys_seconds> t = e.next;
        // A time the bus refused fires when retried, however late: it is not missed.
        std::vector<sys_seconds> retried;
        if (e.retrying && t) {
            retried.push_back(*t);
            t = after(e, *t);
        }
        const auto too_late = [&](sys_seconds at) { return now - time_point(at) > threshold; };
        std::deque<sys_seconds> missed;  // the latest max_catch_up (or 1) of them
        const std::size_t keep = e.spec.on_missed == missed_fire_policy::fire_all ? e.spec.max_catch_up : 1;
        // A rate's missed times are evenly spaced: skip all but the last `keep` without visiting them.
        if (t && e.expression.kind() == schedule_kind::rate && too_late(*t) && !e.spec.end) {
            const auto period = e.expression.period();
            const auto last_missed = std::chrono::ceil<std::chrono::seconds>(now - threshold) - std::chrono::seconds(1);
            const auto count = (last_missed - *t) / period + 1;  // times t, t + period, ... <= last_missed
            if (count > static_cast<std::int64_t>(keep)) {
                const auto skipped = count - static_cast<std::int64_t>(keep);
                d.missed += static_cast<std::uint64_t>(skipped);
                t = *t + skipped * period;
            }
        }
        std::size_t walked = 0;
        while (t && too_late(*t) && walked < max_missed_walk) {
            ++d.missed;
            missed.push_back(*t);
            if (missed.size() > keep) missed.pop_front();
            t = after(e, *t);
            ++walked;
        }
        if (walked == max_missed_walk) t = after(e, std::chrono::floor<std::chrono::seconds>(now - threshold));
        // Times due and on time.
        std::vector<sys_seconds> on_time;
        while (t && time_point(*t) <= now) {
            on_time.push_back(*t);
            t = after(e, *t);
        }
        switch (e.spec.on_missed) {
            case missed_fire_policy::fire_once:
                if (on_time.empty() && !missed.empty()) {
                    d.fire.push_back(missed.back());
                    --d.missed;
                }
                break;
            case missed_fire_policy::fire_all:
                d.fire.assign(missed.begin(), missed.end());
                d.missed -= missed.size();
                break;
            case missed_fire_policy::skip: break;
        }
        d.fire.insert(d.fire.begin(), retried.begin(), retried.end());
        d.fire.insert(d.fire.end(), on_time.begin(), on_time.end());
        d.next = t;
        return d;
    }

    // The entry due first at or before `now`, if any. Precondition: `mutex` is held.
    std::shared_ptr<entry> first_due(time_point now) const {
        std::shared_ptr<entry> best;
        std::optional<time_point> best_due;
        for (const auto& [name, e] : table) {
            const auto due = due_at(*e);
            if (!due || *due > now) continue;
            if (!best_due || *due < *best_due) best = e, best_due = due;
        }
        return best;
    }

    // Whether `e` may still fire: not removed, enabled, the scheduler not stopping.
    bool live(const entry& e) const {
        std::lock_guard lock(mutex);
        return !stopping && !e.removed && e.spec.enabled;
    }

    void run_due(time_point now) {
        std::lock_guard run(run_mutex);
        for (;;) {
            std::shared_ptr<entry> e;
            std::optional<sys_seconds> refire;
            decision d;
            {
                std::lock_guard lock(mutex);
                if (stopping) return;
                e = first_due(now);
                if (!e) return;
                if (e->refire) {
                    refire = e->refire;
                } else {
                    d = decide(*e, now);
                    e->missed += d.missed;
                    // Planned now, so a fire that removes, replaces or re-plans the schedule wins.
                    plan(*e, d.next);
                }
            }
            if (refire) {
                // Published before a crash, perhaps. If the journal still holds it, recover()
                // delivers it; otherwise it goes again with the same id, which the bus's dedup
                // window knows when recover() already ran.
                bool ok = true;
                if (in_journal(fire_id(options.group, e->spec.name, *refire))) {
                    {
                        std::lock_guard lock(mutex);
                        if (!e->last || *refire > *e->last) e->last = refire;
                    }
                    save(*e, std::nullopt);
                } else {
                    ok = fire(*e, *refire, false);
                }
                std::lock_guard lock(mutex);
                if (ok)
                    e->refire.reset();
                else
                    e->refire_due = now + options.retry_interval;
                continue;
            }
            for (const auto t : d.fire) {
                if (!live(*e)) break;  // removed, disabled or replaced by an earlier fire's handler
                if (!fire(*e, t, true)) {
                    // Keep the refused time for the retry; the times after it follow it then.
                    std::lock_guard lock(mutex);
                    if (!e->removed && e->spec.enabled) {
                        e->next = t;
                        e->retrying = true;
                        e->due = now + options.retry_interval;
                    }
                    break;
                }
            }
        }
    }

    // ---- the timer (system clock) --------------------------------------------------------------

    // The earliest moment any schedule has something to run. Precondition: `mutex` is held.
    std::optional<time_point> earliest_due() const {
        std::optional<time_point> earliest;
        for (const auto& [name, e] : table) {
            const auto due = due_at(*e);
            if (due && (!earliest || *due < *earliest)) earliest = due;
        }
        return earliest;
    }

    // Arms the timer for the earliest due moment. Precondition: `mutex` is held.
    void arm(std::unique_lock<std::mutex>&) {
        if (clock.manual() || stopping) return;
        const auto earliest = earliest_due();
        if (!earliest) return;
        const auto now = clock.now();
        const auto wait = std::min<std::chrono::system_clock::duration>(std::max(*earliest, now) - now, max_timer_wait);
        const auto armed = ++generation;
        (void)timer.schedule(timer_service::clock::now() + wait, [this, armed](bool cancelled) {
            if (cancelled) return;
            {
                std::lock_guard lock(mutex);
                if (stopping || armed != generation) return;
            }
            run_due(clock.now());
            std::unique_lock lock(mutex);
            arm(lock);
        });
    }

    std::optional<time_point> next_due() const {
        std::lock_guard lock(mutex);
        return earliest_due();
    }
};

scheduler::scheduler(bus& target, scheduler_options options) : impl_(std::make_unique<impl>(target, std::move(options))) {
    if (impl_->clock.manual()) impl_->clock.attach(*this);
}

scheduler::~scheduler() {
    if (impl_->clock.manual()) impl_->clock.detach(*this);
    {
        std::lock_guard lock(impl_->mutex);
        impl_->stopping = true;
    }
    impl_->timer.close();
    // impl's timer is destroyed first and joins its thread, so a fire under way ends before the
    // table goes.
}

void scheduler::add(schedule_spec spec) { impl_->insert(std::move(spec), false); }
void scheduler::put(schedule_spec spec) { impl_->insert(std::move(spec), true); }

bool scheduler::remove(std::string_view name) {
    std::lock_guard order(impl_->journal_mutex);  // no checkpoint of it is written after this
    {
        std::lock_guard lock(impl_->mutex);
        const auto it = impl_->table.find(name);
        if (it == impl_->table.end()) return false;
        it->second->removed = true;
        impl_->table.erase(it);
    }
    if (impl_->journal) {
        try {
            impl_->journal->save_checkpoint(impl_->checkpoint_key(name), "{}");
        } catch (const std::exception& ex) {
            impl_->report(name, fmt::format("could not clear the schedule's saved progress: {}", ex.what()));
        }
    }
    return true;
}

void scheduler::enable(std::string_view name) {
    std::unique_lock lock(impl_->mutex);
    auto e = impl_->find(name);
    if (e->spec.enabled) return;
    e->spec.enabled = true;
    // From now on: the times passed while disabled are not missed.
    impl_->plan(*e, impl_->after(*e, impl_->now_seconds()));
    impl_->arm(lock);
}

void scheduler::disable(std::string_view name) {
    std::lock_guard lock(impl_->mutex);
    auto e = impl_->find(name);
    e->spec.enabled = false;
    e->next.reset();
    e->retrying = false;
}

publish_result scheduler::fire_now(std::string_view name) {
    std::shared_ptr<impl::entry> e;
    {
        std::lock_guard lock(impl_->mutex);
        e = impl_->find(name);
    }
    const auto now = impl_->now_seconds();
    auto result = impl_->target.publish(impl_->make_fire(*e, now, detail::make_uuid_v4()));
    std::lock_guard lock(impl_->mutex);
    if (result.ok())
        ++e->fires;
    else
        ++e->failed;
    return result;
}

namespace {
template <class Entry> schedule_info info_of(const Entry& e) {
    return schedule_info{e.spec.name, e.spec.expression, e.spec.time_zone, e.spec.enabled, e.next, e.last,
                         e.fires,     e.missed,          e.late,           e.failed};
}
}  // namespace

std::optional<schedule_info> scheduler::info(std::string_view name) const {
    std::lock_guard lock(impl_->mutex);
    const auto it = impl_->table.find(name);
    if (it == impl_->table.end()) return std::nullopt;
    return info_of(*it->second);
}

std::vector<schedule_info> scheduler::list() const {
    std::lock_guard lock(impl_->mutex);  // one consistent view; the table is sorted by name
    std::vector<schedule_info> out;
    out.reserve(impl_->table.size());
    for (const auto& [name, e] : impl_->table) out.push_back(info_of(*e));
    return out;
}

metrics_snapshot scheduler::metrics() const {
    metrics_snapshot snapshot;
    for (const auto& i : list()) {
        const metric_labels labels{{"group", impl_->options.group}, {"schedule", i.name}};
        auto add = [&](const char* name, std::uint64_t v) {
            metric_sample s;
            s.name = name;
            s.type = metric_type::counter;
            s.labels = labels;
            s.value = static_cast<double>(v);
            snapshot.samples.push_back(std::move(s));
        };
        add("ScheduleFires", i.fires);
        add("ScheduleMissedFires", i.missed_fires);
        add("ScheduleLateFires", i.late_fires);
        add("ScheduleFailedFires", i.failed_fires);
    }
    return snapshot;
}

std::optional<std::chrono::system_clock::time_point> scheduler::next_due() { return impl_->next_due(); }
void scheduler::run_due(std::chrono::system_clock::time_point now) { impl_->run_due(now); }

}  // namespace switchyard
