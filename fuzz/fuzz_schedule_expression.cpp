// libFuzzer target: schedule expressions. Any text either parses or is refused with a
// schedule_error; an expression that parses yields fire times, in several zones, that are
// strictly after the time asked about and strictly increasing, cron's on whole minutes and a
// rate's a whole number of periods from its anchor. The one-second timeout (scripts/fuzz.sh)
// also catches a cron search that walks too far.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "switchyard/schedule/expression.hpp"

#include "fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace std::chrono;
    using switchyard_fuzz::check;
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    std::optional<switchyard::schedule_expression> e;
    try {
        e = switchyard::schedule_expression::parse(text);
    } catch (const switchyard::schedule_error&) {
        return 0;  // the documented refusal
    }
    check(e->text() == text, "text() is not the expression as given", text);
    static const switchyard::time_zone zones[] = {switchyard::time_zone{}, switchyard::time_zone::locate("America/New_York"),
                                                  switchyard::time_zone::locate("Australia/Lord_Howe")};
    // Around a spring-forward, a fall-back, and far ahead.
    static const sys_seconds starts[] = {sys_days{2026y / March / 8} + hours(6), sys_days{2026y / October / 31},
                                         sys_days{2150y / January / 1}};
    for (const auto& zone : zones) {
        for (const auto start : starts) {
            const auto anchor = start - hours(25);
            auto after = start;
            for (int i = 0; i < 4; ++i) {
                const auto next = e->next_after(after, zone, anchor);
                if (!next) break;
                const auto detail = fmt::format("{} in {}: after {} came {}", text, zone.name(), after.time_since_epoch().count(),
                                                next->time_since_epoch().count());
                check(*next > after, "a fire time is not after the time asked about", detail);
                if (e->kind() == switchyard::schedule_kind::cron)
                    check(zone.to_local(*next).time_since_epoch() % minutes(1) == seconds(0), "a cron fire is not on a whole minute", detail);
                if (e->kind() == switchyard::schedule_kind::rate)
                    check((*next - anchor) % e->period() == seconds(0), "a rate fire is not whole periods from its anchor", detail);
                after = *next;
            }
        }
    }
    return 0;
}
