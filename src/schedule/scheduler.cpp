// The scheduler: a table of schedules, each with its next scheduled time and the moment it is
// due (the time plus its flexible-window offset); run_due publishes what is due, oldest first.
// One mutex guards the table; a second serialises run_due (the timer thread's, or the thread
// moving a manual clock) so a fire is never published by two threads. Publishing happens with
// neither the table's lock held nor any schedule borrowed by reference: a handler may add, remove
// or fire schedules from inside its delivery.
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
// How many missed times a schedule walks through when it wakes after a long absence; past this
// the rest are counted without being looked at one by one.
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
        std::optional<sys_seconds> refire;   // a fire whose publish a crash may have cut short
        time_point refire_due = time_point::min();  // at once, unless the bus refused it
        std::optional<sys_seconds> next;     // the next scheduled time
        time_point due{};                    // when `next` (or its retry) runs
        bool removed = false;
        std::uint64_t fires = 0, missed = 0, late = 0, failed = 0;
    };

    bus& target;
    scheduler_options options;
    schedule_clock& clock;
    std::shared_ptr<switchyard::journal> journal;

    mutable std::mutex mutex;  // the table and every entry's fields
    std::map<std::string, std::shared_ptr<entry>, std::less<>> table;
    std::mt19937_64 random;
    std::uint64_t generation = 0;  // of the armed timer: an older timer's callback does nothing
    bool stopping = false;

    std::mutex run_mutex;  // one run_due at a time
    timer_service timer;   // last: destroyed (joined) first, while everything it uses exists

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

    // Saves the schedule's progress: its expression and anchor, the last fire, and a fire under
    // way. A failure is reported, and firing goes on (a lost save can only repeat a fire).
    void save(const entry& e, std::optional<sys_seconds> firing) const {
        if (!journal) return;
        nlohmann::json j{{"expression", e.spec.expression}, {"anchor", e.anchor.time_since_epoch().count()}};
        if (e.last) j["last"] = e.last->time_since_epoch().count();
        if (firing) j["firing"] = firing->time_since_epoch().count();
        try {
            journal->save_checkpoint(checkpoint_key(e.spec.name), j.dump());
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

    // Where a new (or restarted) schedule starts: from its saved progress when the journal has
    // it, else from now (a rate from its start, or from now).
    void start(entry& e, const entry* replaced) {
        const auto now = now_seconds();
        e.anchor = e.spec.start ? *e.spec.start : now;
        std::optional<nlohmann::json> saved;
        if (replaced) {
            if (replaced->spec.expression == e.spec.expression && !e.spec.start) e.anchor = replaced->anchor;
            e.last = replaced->last;
            e.fires = replaced->fires;
            e.missed = replaced->missed;
            e.late = replaced->late;
            e.failed = replaced->failed;
        } else if (journal) {
            try {
                if (auto text = journal->load_checkpoint(checkpoint_key(e.spec.name))) saved = nlohmann::json::parse(*text);
            } catch (const std::exception& ex) {
                report(e.spec.name, fmt::format("could not read the schedule's saved progress (starting afresh): {}", ex.what()));
            }
        }
        if (saved) {
            const auto anchor = seconds_field(*saved, "anchor");
            if (anchor && !e.spec.start && saved->value("expression", "") == e.spec.expression) e.anchor = *anchor;
            e.last = seconds_field(*saved, "last");
            e.refire = seconds_field(*saved, "firing");
        }
        // Without progress, the first fire is the first time from now on (a rate's anchor itself).
        // A fire to repeat counts as done: the schedule goes on after it.
        auto from = e.last ? *e.last : std::max(now, e.anchor) - std::chrono::seconds(1);
        if (e.refire && (!e.last || *e.refire > *e.last)) from = *e.refire;
        plan(e, e.spec.enabled ? after(e, from) : std::nullopt);
    }

    // When `e` has something to run: a fire to repeat first, else its next time (or its retry).
    static std::optional<time_point> due_at(const entry& e) {
        if (e.refire) return e.refire_due;
        if (!e.spec.enabled || !e.next) return std::nullopt;
        return e.due;
    }

    void insert(schedule_spec spec, bool replace) {
        auto e = make_entry(std::move(spec));
        std::unique_lock lock(mutex);
        const auto it = table.find(e->spec.name);
        if (it != table.end() && !replace)
            throw schedule_error(fmt::format("a schedule named '{}' exists: remove it first, or use put()", e->spec.name));
        const entry* replaced = it != table.end() ? it->second.get() : nullptr;
        start(*e, replaced);
        if (replaced) it->second->removed = true;
        const auto name = e->spec.name;
        table.insert_or_assign(name, e);
        save(*e, e->refire);
        arm(lock);
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
    bool fire(entry& e, sys_seconds t, time_point now, bool count_late) {
        {
            std::lock_guard lock(mutex);
            save(e, t);
        }
        publish_result result;
        try {
            result = target.publish_deduplicated(make_fire(e, t, fire_id(options.group, e.spec.name, t)), fire_id(options.group, e.spec.name, t));
        } catch (const std::exception& ex) {
            result.error_code = publish_errc::invalid_argument;
            result.error_message = ex.what();
        }
        std::lock_guard lock(mutex);
        if (!result.ok()) {
            ++e.failed;
            report(e.spec.name, fmt::format("the fire of {} was refused by bus '{}' ({}: {}); trying again in {} ms",
                                            detail::format_rfc3339(t), target.name(), to_string(result.error_code),
                                            result.error_message, options.retry_interval.count()));
            return false;
        }
        ++e.fires;
        if (count_late && now - time_point(t) > options.misfire_threshold + e.spec.flexible_window) ++e.late;
        if (!e.last || t > *e.last) e.last = t;
        save(e, std::nullopt);
        return true;
    }

    // Whether the journal holds an unfinished event of this id (its deliveries were cut short).
    bool in_journal(const std::string& id) const {
        if (!journal) return false;
        try {
            for (const auto& entry : journal->unfinished())
                if (entry.event_json.find(id) != std::string::npos) return true;
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

    decision decide(entry& e, time_point now) {
        decision d;
        const auto threshold = options.misfire_threshold + e.spec.flexible_window;
        std::deque<sys_seconds> missed;  // the latest max_catch_up (or 1) of them
        const std::size_t keep = e.spec.on_missed == missed_fire_policy::fire_all ? e.spec.max_catch_up : 1;
        std::optional<sys_seconds> t = e.next;
        std::size_t walked = 0;
        // Times too late to count as on time: missed.
        while (t && now - time_point(*t) > threshold && walked < max_missed_walk) {
            ++d.missed;
            missed.push_back(*t);
            if (missed.size() > keep) missed.pop_front();
            t = after(e, *t);
            ++walked;
        }
        if (walked == max_missed_walk) {
            // A very long absence of a very frequent schedule: jump to now without counting further.
            t = after(e, std::chrono::floor<std::chrono::seconds>(now) - std::chrono::seconds(1));
        }
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
            case missed_fire_policy::skip:
                break;
        }
        d.fire.insert(d.fire.end(), on_time.begin(), on_time.end());
        d.next = t;
        return d;
    }

    // The entry due first at or before `now`, if any.
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

    void run_due(time_point now) {
        std::lock_guard run(run_mutex);
        for (;;) {
            std::shared_ptr<entry> e;
            sys_seconds refire{};
            bool is_refire = false;
            decision d;
            {
                std::lock_guard lock(mutex);
                if (stopping) return;
                e = first_due(now);
                if (!e) return;
                if (e->refire) {
                    refire = *e->refire;
                    is_refire = true;
                } else {
                    d = decide(*e, now);
                    e->missed += d.missed;
                }
            }
            if (is_refire) {
                // Published before a crash, perhaps. If the journal still holds it, recover()
                // delivers it; otherwise it goes again with the same id, which the bus's dedup
                // window knows when recover() already ran.
                bool ok = false;
                if (in_journal(fire_id(options.group, e->spec.name, refire))) {
                    std::lock_guard lock(mutex);
                    if (!e->last || refire > *e->last) e->last = refire;
                    e->refire.reset();
                    save(*e, std::nullopt);
                    ok = true;
                } else {
                    ok = fire(*e, refire, now, false);
                }
                std::lock_guard lock(mutex);
                if (ok)
                    e->refire.reset();
                else
                    e->refire_due = now + options.retry_interval;
                continue;
            }
            bool refused = false;
            for (std::size_t i = 0; i < d.fire.size(); ++i) {
                if (!fire(*e, d.fire[i], now, true)) {
                    // Keep the refused time (and those after it) for the retry.
                    std::lock_guard lock(mutex);
                    e->next = d.fire[i];
                    e->due = now + options.retry_interval;
                    refused = true;
                    break;
                }
            }
            if (!refused) {
                std::lock_guard lock(mutex);
                if (!e->removed) plan(*e, e->spec.enabled ? d.next : std::nullopt);
            }
        }
    }

    // The earliest moment any schedule has something to run. Precondition: `mutex` is held.
    std::optional<time_point> earliest_due() const {
        std::optional<time_point> earliest;
        for (const auto& [name, e] : table) {
            const auto due = due_at(*e);
            if (due && (!earliest || *due < *earliest)) earliest = due;
        }
        return earliest;
    }

    // ---- the timer (system clock) --------------------------------------------------------------

    // Arms the timer for the earliest due moment. Precondition: `mutex` is held.
    void arm(std::unique_lock<std::mutex>&) {
        if (clock.manual() || stopping) return;
        const auto earliest = earliest_due();
        if (!earliest) return;
        const auto wait = std::clamp<std::chrono::system_clock::duration>(*earliest - clock.now(), std::chrono::seconds(0), max_timer_wait);
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
        const auto earliest = earliest_due();
        return earliest;
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
    std::unique_lock lock(impl_->mutex);
    const auto it = impl_->table.find(name);
    if (it == impl_->table.end()) return false;
    it->second->removed = true;
    impl_->table.erase(it);
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
    std::unique_lock lock(impl_->mutex);
    auto e = impl_->find(name);
    e->spec.enabled = false;
    e->next.reset();
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

std::optional<schedule_info> scheduler::info(std::string_view name) const {
    std::lock_guard lock(impl_->mutex);
    const auto it = impl_->table.find(name);
    if (it == impl_->table.end()) return std::nullopt;
    const auto& e = *it->second;
    return schedule_info{e.spec.name, e.spec.expression, e.spec.time_zone, e.spec.enabled, e.next, e.last,
                         e.fires,     e.missed,          e.late,           e.failed};
}

std::vector<schedule_info> scheduler::list() const {
    std::vector<std::string> names;
    {
        std::lock_guard lock(impl_->mutex);
        for (const auto& [name, e] : impl_->table) names.push_back(name);
    }
    std::vector<schedule_info> out;
    for (const auto& name : names)
        if (auto i = info(name)) out.push_back(std::move(*i));
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
