// Schedule expressions as EventBridge writes them (rate(), cron(), at()) and the IANA time zones
// they are evaluated in. Vocabulary only: parsing and the fire-time arithmetic are compiled into
// the switchyard::schedule component, which reads the system's tz database through Howard
// Hinnant's date/tz (GCC 12's <chrono> has no time-zone database).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "switchyard/error.hpp"

namespace switchyard {

/// A schedule expression, time zone or schedule that cannot be accepted; the message names the
/// field at fault and what is allowed there.
class schedule_error : public error {
public:
    using error::error;
};

/// An IANA time zone ("America/New_York", "Europe/London", "UTC") from the system's tz database
/// (Debian's tzdata). Cheap to copy: it refers to the database's entry, which lives as long as the
/// process.
class time_zone {
public:
    /// UTC.
    time_zone() = default;

    /// The zone named `name`; throws schedule_error naming it when the tz database has no such
    /// zone (names are case-sensitive, e.g. "America/New_York").
    static time_zone locate(std::string_view name);

    /// The zone's IANA name ("UTC" for the default).
    const std::string& name() const noexcept { return name_; }

    /// The zone's offset from UTC at instant `t` (negative west of Greenwich).
    std::chrono::seconds utc_offset(std::chrono::sys_seconds t) const;

    /// The local time in this zone at instant `t`.
    std::chrono::local_seconds to_local(std::chrono::sys_seconds t) const;

    /// `t` as RFC 3339 with this zone's offset at that instant, e.g. "2026-03-09T12:00:00-04:00"
    /// ("Z" is never used: UTC prints "+00:00").
    std::string format(std::chrono::sys_seconds t) const;

    /// Same zone.
    friend bool operator==(const time_zone& a, const time_zone& b) noexcept { return a.name_ == b.name_; }

private:
    const void* zone_ = nullptr;  // the tz database's date::time_zone; null means UTC
    std::string name_ = "UTC";
};

/// Which of EventBridge's three forms an expression has.
enum class schedule_kind : std::uint8_t {
    rate,  ///< rate(value unit): a fixed period
    cron,  ///< cron(minutes hours day-of-month month day-of-week year)
    at,    ///< at(yyyy-mm-ddThh:mm:ss): one time
};

/// A parsed schedule expression, exactly as EventBridge writes them:
///  - `rate(value unit)`: value a positive integer, unit minute/minutes, hour/hours or day/days
///    (the singular only for 1);
///  - `cron(minutes hours day-of-month month day-of-week year)` with `, - * / ? L W #`, month
///    (JAN-DEC) and weekday (SUN-SAT, Sunday = 1) names, exactly one of the two day fields `?`,
///    years 1970-2199;
///  - `at(yyyy-mm-ddThh:mm:ss)`: one local time.
///
/// Time zones and daylight saving, as EventBridge Scheduler documents them: cron and at() are
/// evaluated in the schedule's zone. A local time that a spring-forward skips does not exist, so a
/// cron fire there is skipped (an at() moves forward by the gap: 02:30 on a day that jumps from
/// 02:00 to 03:00 fires at 03:30); a local time that a fall-back repeats fires once, at its first
/// occurrence. A rate is a fixed duration
/// (a day is 24 hours) counted from its anchor, whatever the zone.
class schedule_expression {
public:
    /// Parses `text`; throws schedule_error naming the field at fault and what it allows (for
    /// example "cron(0 25 * * ? *): hours: 25 is out of range (allowed 0-23)").
    static schedule_expression parse(std::string_view text);

    /// rate, cron or at.
    schedule_kind kind() const noexcept { return kind_; }

    /// The expression as given.
    const std::string& text() const noexcept { return text_; }

    /// A rate's period (zero for cron and at).
    std::chrono::seconds period() const noexcept { return period_; }

    /// The first fire time strictly after `after`, evaluated in `zone`, or nullopt when there is
    /// none (an at() already past; a cron whose years have run out). A rate fires at
    /// `anchor + k * period` for k >= 0 (the anchor is the schedule's start). Seconds of `after`
    /// count: cron fires are on whole minutes, so after 10:00:30 the next `cron(* * * * ? *)` fire
    /// is 10:01:00.
    std::optional<std::chrono::sys_seconds> next_after(std::chrono::sys_seconds after, const time_zone& zone = {},
                                                       std::chrono::sys_seconds anchor = {}) const;

    /// Same text.
    friend bool operator==(const schedule_expression& a, const schedule_expression& b) noexcept {
        return a.text_ == b.text_;
    }

    struct cron_fields;  ///< the parsed cron fields (defined in the component)

private:
    schedule_kind kind_ = schedule_kind::rate;
    std::string text_;
    std::chrono::seconds period_{0};
    std::chrono::local_seconds at_{};
    std::shared_ptr<const cron_fields> cron_;
};

}  // namespace switchyard
