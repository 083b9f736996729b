// EventBridge's schedule expressions: rate(), cron() and at(), parsed strictly with messages that
// name the field at fault, and the next fire time after an instant in an IANA time zone.
#include <algorithm>
#include <array>
#include <bitset>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "switchyard/schedule/expression.hpp"

namespace switchyard {

// A cron expression as sets of allowed values, with the day rules that depend on the month kept
// apart: they are turned into days only once the year and month are known.
struct schedule_expression::cron_fields {
    std::bitset<60> minutes;
    std::bitset<24> hours;

    bool any_day_of_month = false;      // '?'
    std::bitset<32> days_of_month;      // bit d: day d (1-31)
    bool last_day_of_month = false;     // L
    bool last_weekday_of_month = false; // LW
    std::bitset<32> nearest_weekday;    // bit n: nW, the weekday nearest day n

    std::bitset<13> months;  // bit m: month m (1-12)

    bool any_day_of_week = false;                // '?'
    std::bitset<8> days_of_week;                 // bit d: weekday d (1-7, Sunday = 1)
    std::bitset<8> last_in_month;                // bit d: dL, the month's last weekday d
    std::array<std::bitset<8>, 6> nth_in_month;  // [n] bit d: d#n, the month's nth weekday d (n 1-5)

    std::bitset<230> years;  // bit y - 1970
};

namespace {

using std::chrono::local_seconds;
using std::chrono::sys_seconds;
using cron_fields = schedule_expression::cron_fields;

constexpr int first_year = 1970;
constexpr int last_year = 2199;

constexpr std::string_view forms =
    "use rate(value unit), cron(minutes hours day-of-month month day-of-week year) or at(yyyy-mm-ddThh:mm:ss)";

constexpr std::array<std::string_view, 12> month_names = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                                          "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
constexpr std::array<std::string_view, 7> weekday_names = {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"};

enum class field_id { minutes, hours, day_of_month, month, day_of_week, year };

struct field_spec {
    std::string_view name;
    int min;
    int max;
    std::string_view allowed;  // the values and wildcards EventBridge documents for the field
};

constexpr std::array<field_spec, 6> specs = {{
    {"minutes", 0, 59, "0-59 and , - * /"},
    {"hours", 0, 23, "0-23 and , - * /"},
    {"day-of-month", 1, 31, "1-31 and , - * ? / L W"},
    {"month", 1, 12, "1-12 or JAN-DEC and , - * /"},
    {"day-of-week", 1, 7, "1-7 or SUN-SAT (SUN = 1) and , - * ? L #"},
    {"year", first_year, last_year, "1970-2199 and , - * /"},
}};

// Throws for one field of one expression: "cron(0 25 * * ? *): hours: 25 is out of range (...)".
class field_parser {
public:
    field_parser(std::string_view text, field_id id) : text_(text), id_(id), spec_(specs[static_cast<int>(id)]) {}

    [[noreturn]] void fail(const std::string& problem) const {
        throw schedule_error(fmt::format("{}: {}: {}", text_, spec_.name, problem));
    }
    [[noreturn]] void fail_allowed(const std::string& problem) const {
        fail(fmt::format("{} (allowed {})", problem, spec_.allowed));
    }

    const field_spec& spec() const noexcept { return spec_; }
    field_id id() const noexcept { return id_; }

    // A number, or a month or weekday name where the field has them; checked against the range.
    int value(std::string_view token) const {
        if (token.empty()) fail_allowed("a value is missing");
        int parsed = 0;
        if (std::isdigit(static_cast<unsigned char>(token[0])) != 0) {
            for (const char c : token) {
                if (std::isdigit(static_cast<unsigned char>(c)) == 0)
                    fail_allowed(fmt::format("'{}' is not a number", token));
                parsed = parsed * 10 + (c - '0');
                if (parsed > 100000) fail_allowed(fmt::format("{} is out of range", token));
            }
        } else if (const auto named = name_value(token)) {
            return *named;
        } else {
            fail_allowed(fmt::format("'{}' is not a value", token));
        }
        if (parsed < spec_.min || parsed > spec_.max)
            fail(fmt::format("{} is out of range (allowed {}-{})", token, spec_.min, spec_.max));
        return parsed;
    }

private:
    std::optional<int> name_value(std::string_view token) const {
        auto find = [&](const auto& names) -> std::optional<int> {
            for (std::size_t i = 0; i < names.size(); ++i) {
                const auto name = names[i];
                if (token.size() != name.size()) continue;
                bool same = true;
                for (std::size_t c = 0; c < name.size(); ++c)
                    same = same && std::toupper(static_cast<unsigned char>(token[c])) == name[c];
                if (same) return static_cast<int>(i) + 1;
            }
            return std::nullopt;
        };
        if (id_ == field_id::month) return find(month_names);
        if (id_ == field_id::day_of_week) return find(weekday_names);
        return std::nullopt;
    }

    std::string_view text_;
    field_id id_;
    const field_spec& spec_;
};

std::vector<std::string_view> split(std::string_view text, char separator) {
    std::vector<std::string_view> parts;
    std::size_t start = 0;
    while (true) {
        const auto end = text.find(separator, start);
        parts.push_back(text.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
        if (end == std::string_view::npos) return parts;
        start = end + 1;
    }
}

bool equals_ignoring_case(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (std::toupper(static_cast<unsigned char>(a[i])) != std::toupper(static_cast<unsigned char>(b[i])))
            return false;
    return true;
}

// `*`, `a`, `a-b`, each optionally `/step`: calls set(v) for every value in it.
template <class Set>
void parse_range(const field_parser& p, std::string_view item, Set set) {
    const auto& spec = p.spec();
    std::string_view base = item;
    int step = 1;
    bool stepped = false;
    if (const auto slash = item.find('/'); slash != std::string_view::npos) {
        if (p.id() == field_id::day_of_week)
            p.fail_allowed(fmt::format("'{}': increments (/) are not allowed here", item));
        base = item.substr(0, slash);
        const auto step_text = item.substr(slash + 1);
        if (step_text.empty() || step_text.find_first_not_of("0123456789") != std::string_view::npos ||
            step_text.size() > 4)
            p.fail(fmt::format("'{}': the increment after / must be a number (allowed 1-{})", item,
                               spec.max - spec.min));
        step = std::stoi(std::string(step_text));
        if (step < 1 || step > spec.max - spec.min)
            p.fail(fmt::format("'{}': increment {} is out of range (allowed 1-{})", item, step, spec.max - spec.min));
        stepped = true;
    }
    int low = spec.min;
    int high = spec.max;
    if (base != "*") {
        if (const auto dash = base.find('-'); dash != std::string_view::npos) {
            low = p.value(base.substr(0, dash));
            high = p.value(base.substr(dash + 1));
            if (low > high)
                p.fail_allowed(fmt::format("range '{}' runs backwards: write the lower value first", base));
        } else {
            low = p.value(base);
            // `a/b` runs from a to the end of the field; a plain `a` is just a.
            high = stepped ? spec.max : low;
        }
    }
    for (int v = low; v <= high; v += step) set(v);
}

template <std::size_t N>
std::bitset<N> parse_plain(std::string_view text, field_id id, std::string_view field) {
    const field_parser p(text, id);
    std::bitset<N> bits;
    const int offset = id == field_id::year ? first_year : 0;
    for (const auto item : split(field, ',')) {
        if (item.empty()) p.fail_allowed(fmt::format("'{}' has an empty list item", field));
        if (item == "?") p.fail_allowed("'?' is allowed only in day-of-month and day-of-week");
        if (item.find_first_of("LW#") != std::string_view::npos && id != field_id::month)
            p.fail_allowed(fmt::format("'{}': L, W and # are allowed only in the day fields", item));
        parse_range(p, item, [&](int v) { bits.set(static_cast<std::size_t>(v - offset)); });
    }
    return bits;
}

void parse_day_of_month(std::string_view text, std::string_view field, cron_fields& f) {
    const field_parser p(text, field_id::day_of_month);
    if (field == "?") {
        f.any_day_of_month = true;
        return;
    }
    for (const auto item : split(field, ',')) {
        if (item.empty()) p.fail_allowed(fmt::format("'{}' has an empty list item", field));
        if (item == "?") p.fail_allowed("'?' must be the whole field");
        if (equals_ignoring_case(item, "L")) {
            f.last_day_of_month = true;
        } else if (equals_ignoring_case(item, "LW")) {
            f.last_weekday_of_month = true;
        } else if (item.size() > 1 && (item[0] == 'L' || item[0] == 'l')) {
            // Quartz's L-n (n days before the last) is not among EventBridge's documented forms.
            p.fail_allowed(fmt::format("'{}' is not supported: use L (last day) or LW (last weekday)", item));
        } else if (item.size() > 1 && (item.back() == 'W' || item.back() == 'w')) {
            const auto day = item.substr(0, item.size() - 1);
            if (day.find_first_not_of("0123456789") != std::string_view::npos)
                p.fail_allowed(fmt::format("'{}': W follows a single day, as in 15W", item));
            f.nearest_weekday.set(static_cast<std::size_t>(p.value(day)));
        } else if (item.find_first_of("LlWw#") != std::string_view::npos) {
            p.fail_allowed(fmt::format("'{}' is not a day-of-month", item));
        } else {
            parse_range(p, item, [&](int v) { f.days_of_month.set(static_cast<std::size_t>(v)); });
        }
    }
}

void parse_day_of_week(std::string_view text, std::string_view field, cron_fields& f) {
    const field_parser p(text, field_id::day_of_week);
    if (field == "?") {
        f.any_day_of_week = true;
        return;
    }
    for (const auto item : split(field, ',')) {
        if (item.empty()) p.fail_allowed(fmt::format("'{}' has an empty list item", field));
        if (item == "?") p.fail_allowed("'?' must be the whole field");
        if (const auto hash = item.find('#'); hash != std::string_view::npos) {
            const int day = p.value(item.substr(0, hash));
            const auto nth = item.substr(hash + 1);
            if (nth.size() != 1 || nth[0] < '1' || nth[0] > '5')
                p.fail(fmt::format("'{}': the week after # must be 1-5 (as in 2#1, the first Monday)", item));
            f.nth_in_month[static_cast<std::size_t>(nth[0] - '0')].set(static_cast<std::size_t>(day));
        } else if (equals_ignoring_case(item, "L")) {
            // EventBridge: L alone is the last day of the week, Saturday (as in Quartz).
            f.days_of_week.set(7);
        } else if (item.size() > 1 && (item.back() == 'L' || item.back() == 'l')) {
            const auto day = item.substr(0, item.size() - 1);
            if (day.find('-') != std::string_view::npos || day.find('*') != std::string_view::npos)
                p.fail_allowed(fmt::format("'{}': L follows a single weekday, as in 6L (the last Friday)", item));
            f.last_in_month.set(static_cast<std::size_t>(p.value(day)));
        } else if (item.find_first_of("LlWw") != std::string_view::npos && item.size() == 1) {
            p.fail_allowed(fmt::format("'{}' is not a day-of-week", item));
        } else {
            parse_range(p, item, [&](int v) { f.days_of_week.set(static_cast<std::size_t>(v)); });
        }
    }
}

std::shared_ptr<const cron_fields> parse_cron(std::string_view text, std::string_view body) {
    std::vector<std::string_view> fields;
    std::size_t pos = 0;
    while (pos < body.size()) {
        const auto start = body.find_first_not_of(" \t", pos);
        if (start == std::string_view::npos) break;
        const auto end = body.find_first_of(" \t", start);
        fields.push_back(body.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
        pos = end == std::string_view::npos ? body.size() : end;
    }
    if (fields.size() != 6)
        throw schedule_error(fmt::format("{}: {} field{}, but six are required: minutes hours day-of-month month "
                                         "day-of-week year, as in cron(0 10 * * ? *)",
                                         text, fields.size(), fields.size() == 1 ? "" : "s"));
    auto f = std::make_shared<cron_fields>();
    f->minutes = parse_plain<60>(text, field_id::minutes, fields[0]);
    f->hours = parse_plain<24>(text, field_id::hours, fields[1]);
    parse_day_of_month(text, fields[2], *f);
    f->months = parse_plain<13>(text, field_id::month, fields[3]);
    parse_day_of_week(text, fields[4], *f);
    f->years = parse_plain<230>(text, field_id::year, fields[5]);
    if (f->any_day_of_month == f->any_day_of_week)
        throw schedule_error(fmt::format(
            "{}: day-of-month and day-of-week: exactly one of them must be '?' ({}), as in cron(0 10 * * ? *) or "
            "cron(0 10 ? * MON-FRI *)",
            text, f->any_day_of_month ? "both are" : "EventBridge cannot use both"));
    return f;
}

std::chrono::seconds parse_rate(std::string_view text, std::string_view body) {
    constexpr std::string_view units = "allowed minute, minutes, hour, hours, day, days";
    const auto digits = body.find_first_not_of("0123456789");
    const auto value_text = body.substr(0, digits == std::string_view::npos ? body.size() : digits);
    if (body.empty())
        throw schedule_error(fmt::format("{}: the value and unit are missing: write rate(value unit), as in "
                                         "rate(5 minutes)",
                                         text));
    if (value_text.empty() || (digits != std::string_view::npos && body[digits] != ' ')) {
        const auto token = body.substr(0, body.find(' '));
        throw schedule_error(fmt::format("{}: value: '{}' is not a positive integer (allowed 1 or more, digits only)",
                                         text, token));
    }
    constexpr long long max_value = 1'000'000'000;
    long long value = 0;
    for (const char c : value_text) {
        value = value * 10 + (c - '0');
        if (value > max_value)
            throw schedule_error(fmt::format("{}: value: {} is too large (allowed 1-{})", text, value_text, max_value));
    }
    if (value == 0)
        throw schedule_error(fmt::format("{}: value: {} is not a positive integer (allowed 1 or more)", text,
                                         value_text));
    const auto unit_start = body.find_first_not_of(' ', value_text.size());
    if (unit_start == std::string_view::npos)
        throw schedule_error(fmt::format("{}: unit: missing ({}), as in rate(5 minutes)", text, units));
    const auto unit = body.substr(unit_start);
    struct unit_spec {
        std::string_view singular;
        std::string_view plural;
        long long seconds;
    };
    constexpr std::array<unit_spec, 3> known = {{{"minute", "minutes", 60}, {"hour", "hours", 3600},
                                                 {"day", "days", 86400}}};
    for (const auto& u : known) {
        if (unit == u.singular && value != 1)
            throw schedule_error(
                fmt::format("{}: unit: use '{}' for a value other than 1, as in rate({} {})", text, u.plural, value,
                            u.plural));
        if (unit == u.plural && value == 1)
            throw schedule_error(
                fmt::format("{}: unit: use '{}' for a value of 1, as in rate(1 {})", text, u.singular, u.singular));
        if (unit == u.singular || unit == u.plural) return std::chrono::seconds{value * u.seconds};
    }
    throw schedule_error(fmt::format("{}: unit: '{}' is not a unit ({})", text, unit, units));
}

local_seconds parse_at(std::string_view text, std::string_view body) {
    using namespace std::chrono;
    constexpr std::string_view shape = "yyyy-mm-ddThh:mm:ss";
    bool well_formed = body.size() == shape.size();
    for (std::size_t i = 0; well_formed && i < shape.size(); ++i) {
        const char want = shape[i];
        const bool digit = std::isdigit(static_cast<unsigned char>(body[i])) != 0;
        well_formed = (want == '-' || want == ':' || want == 'T') ? body[i] == want : digit;
    }
    if (!well_formed)
        throw schedule_error(fmt::format("{}: '{}' is not a local date and time: write at(yyyy-mm-ddThh:mm:ss), as "
                                         "in at(2026-03-09T12:00:00)",
                                         text, body));
    auto number = [&](std::size_t at, std::size_t count) {
        int v = 0;
        for (std::size_t i = at; i < at + count; ++i) v = v * 10 + (body[i] - '0');
        return v;
    };
    const int y = number(0, 4);
    const int mo = number(5, 2);
    const int d = number(8, 2);
    const int h = number(11, 2);
    const int mi = number(14, 2);
    const int s = number(17, 2);
    if (mo < 1 || mo > 12)
        throw schedule_error(fmt::format("{}: month {} is out of range (allowed 01-12)", text, body.substr(5, 2)));
    const year_month_day ymd{year{y}, month{static_cast<unsigned>(mo)}, day{static_cast<unsigned>(d)}};
    if (!ymd.ok()) {
        const unsigned last = static_cast<unsigned>(year_month_day_last{year{y}, month_day_last{month{
                                                        static_cast<unsigned>(mo)}}}.day());
        throw schedule_error(fmt::format("{}: day {} is out of range ({}-{:02} has days 01-{:02})", text,
                                         body.substr(8, 2), y, mo, last));
    }
    if (h > 23 || mi > 59 || s > 59)
        throw schedule_error(fmt::format("{}: time {} is out of range (allowed 00:00:00-23:59:59)", text,
                                         body.substr(11)));
    return local_days{ymd} + hours{h} + minutes{mi} + seconds{s};
}

// The instant a local time names in `zone`: the earliest of a repeated time; for a time a
// spring-forward skips, nothing, or with `shift_gap` the time read on the clock before the gap,
// which moves it forward by the gap (02:30 becomes 03:30).
std::optional<sys_seconds> instant_of(const time_zone& zone, local_seconds local, bool shift_gap) {
    using std::chrono::days;
    const sys_seconds as_utc{local.time_since_epoch()};
    // The offsets a day either side: no zone changes its offset twice within two days.
    const auto offset_before = zone.utc_offset(as_utc - days{1});
    const auto offset_after = zone.utc_offset(as_utc + days{1});
    const sys_seconds on_old_clock = as_utc - offset_before;
    if (offset_before == offset_after) return on_old_clock;
    const sys_seconds on_new_clock = as_utc - offset_after;
    const bool old_reads = zone.utc_offset(on_old_clock) == offset_before;
    const bool new_reads = zone.utc_offset(on_new_clock) == offset_after;
    if (old_reads && new_reads) return std::min(on_old_clock, on_new_clock);
    if (new_reads) return on_new_clock;
    if (old_reads || shift_gap) return on_old_clock;
    return std::nullopt;
}

// Days of month `m` of year `y` the day fields allow, as bits 1-31.
std::uint32_t matching_days(const cron_fields& f, int y, unsigned m) {
    using namespace std::chrono;
    const year_month ym{year{y}, month{m}};
    const unsigned last = static_cast<unsigned>((ym / std::chrono::last).day());
    // Weekdays as EventBridge numbers them: Sunday = 1 ... Saturday = 7.
    const unsigned first_weekday = weekday{sys_days{ym / 1}}.c_encoding() + 1;
    auto weekday_of = [&](unsigned d) { return (first_weekday - 1 + d - 1) % 7 + 1; };
    std::uint32_t days = 0;
    auto set = [&](unsigned d) { days |= std::uint32_t{1} << d; };
    if (f.any_day_of_week) {
        for (unsigned d = 1; d <= last; ++d)
            if (f.days_of_month[d]) set(d);
        if (f.last_day_of_month) set(last);
        if (f.last_weekday_of_month) {
            const unsigned w = weekday_of(last);
            set(w == 7 ? last - 1 : w == 1 ? last - 2 : last);
        }
        for (unsigned n = 1; n <= last; ++n) {
            if (!f.nearest_weekday[n]) continue;
            // The weekday nearest day n without leaving the month: 1W on a Saturday is Monday
            // the 3rd; the last day on a Sunday gives the Friday before.
            const unsigned w = weekday_of(n);
            if (w == 7) set(n == 1 ? 3 : n - 1);
            else if (w == 1) set(n == last ? n - 2 : n + 1);
            else set(n);
        }
        return days;
    }
    for (unsigned d = 1; d <= last; ++d)
        if (f.days_of_week[weekday_of(d)]) set(d);
    for (unsigned w = 1; w <= 7; ++w) {
        if (f.last_in_month[w]) set(last - (weekday_of(last) + 7 - w) % 7);
        const unsigned first = 1 + (w + 7 - first_weekday) % 7;
        for (unsigned n = 1; n <= 5; ++n)
            if (f.nth_in_month[n][w] && first + (n - 1) * 7 <= last) set(first + (n - 1) * 7);
    }
    return days;
}

// Walks the local calendar from the first whole minute after `after`, field by field, so a
// schedule that fires once a year (or never again) costs a few hundred steps, not a minute each.
std::optional<sys_seconds> next_cron(const cron_fields& f, sys_seconds after, const time_zone& zone) {
    using namespace std::chrono;
    auto start = floor<minutes>(zone.to_local(after)) + minutes{1};
    const auto epoch = local_days{year{first_year} / January / 1};
    if (start < epoch) start = epoch;
    const auto start_day = floor<days>(start);
    const year_month_day ymd{start_day};
    const hh_mm_ss<minutes> hm{floor<minutes>(start - start_day)};
    const int sy = static_cast<int>(ymd.year());
    const unsigned smo = static_cast<unsigned>(ymd.month());
    const unsigned sd = static_cast<unsigned>(ymd.day());
    const int sh = static_cast<int>(hm.hours().count());
    const int smi = static_cast<int>(hm.minutes().count());
    for (int y = sy; y <= last_year; ++y) {
        if (!f.years[static_cast<std::size_t>(y - first_year)]) continue;
        for (unsigned mo = y == sy ? smo : 1; mo <= 12; ++mo) {
            if (!f.months[mo]) continue;
            const bool first_month = y == sy && mo == smo;
            const auto days_allowed = matching_days(f, y, mo);
            for (unsigned d = first_month ? sd : 1; d <= 31; ++d) {
                if ((days_allowed >> d & 1U) == 0) continue;
                const bool first_day = first_month && d == sd;
                const auto day_start = local_days{year{y} / month{mo} / day{d}};
                for (int h = first_day ? sh : 0; h < 24; ++h) {
                    if (!f.hours[static_cast<std::size_t>(h)]) continue;
                    const bool first_hour = first_day && h == sh;
                    for (int mi = first_hour ? smi : 0; mi < 60; ++mi) {
                        if (!f.minutes[static_cast<std::size_t>(mi)]) continue;
                        // Local time only grows with the instant once a repeated time counts
                        // at its first occurrence, so the first candidate past `after` is the
                        // answer; a repeated time already past (second occurrence) is skipped.
                        const auto instant = instant_of(zone, day_start + hours{h} + minutes{mi}, false);
                        if (instant && *instant > after) return instant;
                    }
                }
            }
        }
    }
    return std::nullopt;
}

}  // namespace

schedule_expression schedule_expression::parse(std::string_view text) {
    schedule_expression e;
    e.text_ = std::string(text);
    auto body_of = [&](std::string_view prefix) -> std::optional<std::string_view> {
        if (text.size() < prefix.size() + 1 || text.substr(0, prefix.size()) != prefix || text.back() != ')')
            return std::nullopt;
        return text.substr(prefix.size(), text.size() - prefix.size() - 1);
    };
    if (const auto body = body_of("rate(")) {
        e.kind_ = schedule_kind::rate;
        e.period_ = parse_rate(text, *body);
    } else if (const auto body = body_of("cron(")) {
        e.kind_ = schedule_kind::cron;
        e.cron_ = parse_cron(text, *body);
    } else if (const auto body = body_of("at(")) {
        e.kind_ = schedule_kind::at;
        e.at_ = parse_at(text, *body);
    } else {
        throw schedule_error(fmt::format("'{}' is not a schedule expression: {}", text, forms));
    }
    return e;
}

std::optional<std::chrono::sys_seconds> schedule_expression::next_after(std::chrono::sys_seconds after,
                                                                        const time_zone& zone,
                                                                        std::chrono::sys_seconds anchor) const {
    switch (kind_) {
    case schedule_kind::rate: {
        if (period_.count() <= 0) return std::nullopt;
        if (after < anchor) return anchor;
        const auto periods = (after - anchor) / period_ + 1;
        return anchor + periods * period_;
    }
    case schedule_kind::at: {
        const auto instant = instant_of(zone, at_, true);
        if (instant && *instant > after) return instant;
        return std::nullopt;
    }
    case schedule_kind::cron:
        if (!cron_) return std::nullopt;
        return next_cron(*cron_, after, zone);
    }
    return std::nullopt;
}

}  // namespace switchyard
