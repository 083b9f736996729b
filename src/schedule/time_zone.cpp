// IANA time zones through Howard Hinnant's date/tz, which reads the system's tzdata (USE_OS_TZDB):
// GCC 12's <chrono> has the calendar but not the time-zone database.
#include <chrono>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <string_view>

#include <date/tz.h>
#include <fmt/format.h>

#include "switchyard/schedule/expression.hpp"

namespace switchyard {

namespace {

const date::time_zone* database_zone(const void* zone) { return static_cast<const date::time_zone*>(zone); }

// date/tz 3.0.1 reads a TZif file's transitions but not the POSIX rule at its end that continues
// them, and Debian's files list transitions only up to 2037: every later instant would get
// standard time. Daylight saving rules name a weekday of a month ("the second Sunday in March"),
// so an instant after 2037 is looked up in the latest year up to 2037 with the same calendar
// (leap or not, same weekday on January 1): today's rules carry on, as the POSIX rule says.
std::chrono::sys_seconds in_listed_years(std::chrono::sys_seconds t) {
    using namespace std::chrono;
    constexpr year last_listed{2037};
    const year y = year_month_day{floor<days>(t)}.year();
    if (y <= last_listed) return t;
    const sys_days new_year{y / January / 1};
    const weekday first_weekday{new_year};
    // Every (leap, weekday) pair occurs within any 28 consecutive years, so this ends by 2010.
    for (year candidate = last_listed;; --candidate) {
        const sys_days candidate_new_year{candidate / January / 1};
        if (candidate.is_leap() == y.is_leap() && weekday{candidate_new_year} == first_weekday)
            return t - (new_year - candidate_new_year);
    }
}

}  // namespace

time_zone time_zone::locate(std::string_view name) {
    // The default stands for UTC without a database lookup, so UTC works even without tzdata.
    if (name == "UTC") return {};
    const date::time_zone* found = nullptr;
    try {
        if (!name.empty()) found = date::locate_zone(name);
    } catch (const std::runtime_error&) {
        // date/tz throws for names it does not know (and when the database cannot be read).
    }
    if (found == nullptr)
        throw schedule_error(fmt::format("unknown time zone '{}': use an IANA name such as America/New_York, "
                                         "Europe/London or UTC",
                                         name));
    time_zone zone;
    zone.zone_ = found;
    zone.name_ = std::string(name);
    return zone;
}

std::chrono::seconds time_zone::utc_offset(std::chrono::sys_seconds t) const {
    if (zone_ == nullptr) return std::chrono::seconds{0};
    return database_zone(zone_)->get_info(in_listed_years(t)).offset;
}

std::chrono::local_seconds time_zone::to_local(std::chrono::sys_seconds t) const {
    return std::chrono::local_seconds{t.time_since_epoch() + utc_offset(t)};
}

std::string time_zone::format(std::chrono::sys_seconds t) const {
    using namespace std::chrono;
    const auto offset = utc_offset(t);
    const auto local = sys_seconds{t.time_since_epoch() + offset};
    const auto day_start = floor<days>(local);
    const year_month_day ymd{day_start};
    const hh_mm_ss<seconds> hms{local - day_start};
    // Offsets are whole minutes in every zone since 1972; older local mean times keep their
    // seconds only in the local time, as RFC 3339 has no place for them in the offset.
    const auto offset_minutes = duration_cast<minutes>(offset).count();
    const auto magnitude = std::abs(offset_minutes);
    return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}{}{:02}:{:02}", static_cast<int>(ymd.year()),
                       static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()), hms.hours().count(),
                       hms.minutes().count(), hms.seconds().count(), offset_minutes < 0 ? '-' : '+', magnitude / 60,
                       magnitude % 60);
}

}  // namespace switchyard
