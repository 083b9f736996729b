// Schedules that publish into a bus: EventBridge's scheduled rules and EventBridge Scheduler,
// in-process. Each fire publishes the event EventBridge's scheduled rules produce ("Scheduled
// Event" from "aws.events", the schedule in `resources`, the scheduled time in `time`) or the
// detail you give; with a journal, each schedule's progress is durable and the fires missed while
// the process was down are handled by the schedule's policy after a restart.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "switchyard/observe/metrics.hpp"
#include "switchyard/publish.hpp"
#include "switchyard/schedule/clock.hpp"
#include "switchyard/schedule/expression.hpp"

namespace switchyard {

class bus;
class journal;

/// What a schedule does with fires that are late by more than the scheduler's misfire threshold
/// (the process was down, or the machine slept): they are "missed".
enum class missed_fire_policy : std::uint8_t {
    fire_once,  ///< fire the latest missed time once, count the others as missed (the default)
    fire_all,   ///< fire every missed time, oldest first, at most `max_catch_up` of the latest ones
    skip,       ///< fire none of them; the next fire is the next one on time
};

/// One schedule (EventBridge Scheduler's CreateSchedule, in-process).
struct schedule_spec {
    /// 1-64 characters of letters, digits, '.', '-' and '_'; unique in its scheduler.
    std::string name{};
    /// rate(...), cron(...) or at(...), as EventBridge writes them (see schedule_expression).
    std::string expression{};
    /// The IANA zone cron() and at() are evaluated in.
    std::string time_zone = "UTC";
    /// No fire before this instant; a rate counts its period from here (default: when the schedule
    /// is first added, so a rate fires at once, as EventBridge Scheduler does without StartDate).
    std::optional<std::chrono::sys_seconds> start{};
    /// No fire after this instant.
    std::optional<std::chrono::sys_seconds> end{};
    /// When not zero, each fire happens at a random moment within this window after its
    /// scheduled time (EventBridge Scheduler's FlexibleTimeWindow); the event's time is still the
    /// scheduled time.
    std::chrono::minutes flexible_window{0};
    /// What happens to fires missed while the scheduler was not running (see missed_fire_policy).
    missed_fire_policy on_missed = missed_fire_policy::fire_once;
    /// fire_all's bound on how many missed fires are caught up.
    std::size_t max_catch_up = 100;
    /// The published event's source, detail-type and detail (JSON object text).
    std::string source = "aws.events";
    std::string detail_type = "Scheduled Event";  ///< see `source`
    std::string detail = "{}";                    ///< see `source`
    /// A disabled schedule does not fire; enabling it again fires from then on (the times passed
    /// while disabled are not missed fires).
    bool enabled = true;
};

/// Why a scheduler could not fire (handed to scheduler_options::on_error).
using schedule_error_handler = std::function<void(std::string_view schedule, std::string_view message)>;

/// How a scheduler runs.
struct scheduler_options {
    /// The schedule group: it names the schedules' resources
    /// (arn:aws:scheduler:REGION:ACCOUNT:schedule/GROUP/NAME), their event ids and checkpoints, so
    /// two schedulers on one journal need different groups.
    std::string group = "default";
    /// Where each schedule's progress is kept. Null: the bus's journal (bus_options::journal), and
    /// without one, memory only (a restart starts every schedule afresh).
    std::shared_ptr<switchyard::journal> journal{};
    /// The clock (not owned; it must outlive the scheduler). Null: the system clock.
    schedule_clock* clock = nullptr;
    /// A fire published later than this after its time (flexible window included) is a late fire;
    /// one found later than this when the scheduler starts or wakes is a missed fire, handled by
    /// its schedule's missed_fire_policy.
    std::chrono::seconds misfire_threshold{60};
    /// How long a fire the bus refused (throttled, shut down, journal failure) waits before it is
    /// tried again.
    std::chrono::milliseconds retry_interval{1000};
    /// Told when a fire could not be published or its progress saved. Default: one line on stderr.
    schedule_error_handler on_error{};
    /// Seeds the flexible windows' random moments (0: from the OS), so tests can repeat them.
    std::uint64_t seed = 0;
};

/// One schedule's state and counts.
struct schedule_info {
    std::string name{};                                ///< the schedule's name
    std::string expression{};                          ///< its expression
    std::string time_zone{};                           ///< its zone
    bool enabled = false;                              ///< whether it fires
    std::optional<std::chrono::sys_seconds> next_fire{};  ///< its next scheduled time, if any
    std::optional<std::chrono::sys_seconds> last_fire{};  ///< the last scheduled time it fired
    std::uint64_t fires = 0;         ///< events published (fire_now included)
    std::uint64_t missed_fires = 0;  ///< scheduled times not fired, by its missed_fire_policy
    std::uint64_t late_fires = 0;    ///< fires published later than the misfire threshold
    std::uint64_t failed_fires = 0;  ///< publish attempts the bus refused (each retried)
};

/// Runs schedules against a bus: one thread waits for the next fire (none on a manual_clock),
/// started by the first schedule and joined by the destructor. The bus (and a given clock) must
/// outlive the scheduler.
///
/// Each fire publishes an event whose id derives from the group, the schedule and the scheduled
/// time, with that id as its dedup key: with bus_options::dedup on, a fire published twice is
/// delivered once. With a journal, a schedule's progress is saved before and after each fire, so
/// a restart neither loses a fire nor repeats one, except for a crash in the moment between a
/// fire's deliveries ending and their ends and its progress being saved: that fire is delivered
/// again, with the same id (at least once, as EventBridge Scheduler). Handlers may call the
/// scheduler from a fire's delivery and from on_error; moving a manual_clock from a fire throws.
class scheduler final : private detail::clock_listener {
public:
    /// A scheduler for `target`. Throws switchyard::error for an invalid group or threshold.
    explicit scheduler(bus& target, scheduler_options options = {});
    /// Stops firing and joins the timer thread; a fire under way finishes first.
    ~scheduler();
    scheduler(const scheduler&) = delete;
    scheduler& operator=(const scheduler&) = delete;

    /// Adds a schedule. With a journal that holds this schedule's progress (a restart), it goes
    /// on from its last fire, handling the fires missed meanwhile by its policy. Throws
    /// schedule_error naming the field at fault (name, expression, zone, dates, detail), or when a
    /// schedule of that name exists.
    void add(schedule_spec spec);
    /// Adds the schedule or replaces the one of the same name (which keeps its progress when the
    /// expression is unchanged).
    void put(schedule_spec spec);
    /// Removes a schedule (its saved progress too); false when there was none.
    bool remove(std::string_view name);
    /// Starts or stops a schedule firing; throws schedule_error when there is no such schedule.
    void enable(std::string_view name);
    /// @copydoc enable
    void disable(std::string_view name);

    /// Publishes the schedule's event now, outside its schedule (for tests and operators): the
    /// event's time is now and its id is fresh; the schedule's next fire does not change. Throws
    /// schedule_error when there is no such schedule.
    publish_result fire_now(std::string_view name);

    /// One schedule's state, or nullopt.
    std::optional<schedule_info> info(std::string_view name) const;
    /// Every schedule, sorted by name.
    std::vector<schedule_info> list() const;

    /// Per schedule: ScheduleFires, ScheduleMissedFires, ScheduleLateFires and
    /// ScheduleFailedFires (counters), labelled {group, schedule}; render with
    /// render_prometheus().
    metrics_snapshot metrics() const;

private:
    std::optional<std::chrono::system_clock::time_point> next_due() override;
    void run_due(std::chrono::system_clock::time_point now) override;

    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace switchyard
