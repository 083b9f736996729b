// Nightly settlement: a cron schedule in America/New_York fires at 23:00 local time every day and
// triggers a handler that sums the day's credit-card transactions. An injected clock runs a
// simulated week (across the 2026 spring-forward, when New York moves from UTC-5 to UTC-4) in
// well under a second; each fire is printed with its local time and offset.
// Run it: ./nightly_settlement   (exits 0 when all seven nights settled the expected totals)
#include <chrono>
#include <cstdio>
#include <map>
#include <string>
#include <string_view>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <switchyard/detail/time.hpp>
#include <switchyard/schedule/scheduler.hpp>
#include <switchyard/switchyard.hpp>

namespace payments {
struct CreditCardTransaction {
    std::string transactionId;
    std::string customerId;
    double total = 0.0;
};
SWITCHYARD_EVENT(CreditCardTransaction, "CREDIT_CARD_TRANSACTION", transactionId, customerId, total)
}  // namespace payments

int main() {
    using namespace std::chrono;
    using payments::CreditCardTransaction;

    const auto new_york = switchyard::time_zone::locate("America/New_York");
    // Thursday 2026-03-05, 00:00 in New York (05:00 UTC); the clock runs only when told.
    switchyard::manual_clock clock{sys_days{2026y / March / 5} + hours(5)};

    switchyard::bus bus{"payments"};

    // The ledger: each transaction's total under the New York date it happened on.
    std::map<std::string, std::pair<int, double>> ledger;
    auto local_date = [&](system_clock::time_point t) {
        const year_month_day date{floor<days>(new_york.to_local(floor<seconds>(t)))};
        return fmt::format("{:04}-{:02}-{:02}", static_cast<int>(date.year()), static_cast<unsigned>(date.month()),
                           static_cast<unsigned>(date.day()));
    };
    bus.add_rule({.name = "ledger",
                  .pattern = R"({"detail-type": ["CREDIT_CARD_TRANSACTION"]})",
                  .targets = {switchyard::handler<CreditCardTransaction>("book", [&](const switchyard::event<CreditCardTransaction>& e) {
                      auto& [count, total] = ledger[local_date(clock.now())];
                      ++count;
                      total += e.detail.total;
                  })}});

    // The settlement: on each fire, the day that is ending.
    int nights = 0;
    bool totals_ok = true;
    bus.add_rule({.name = "settlement",
                  .pattern = R"({"source": ["aws.events"], "detail-type": ["Scheduled Event"]})",
                  .targets = {switchyard::json_handler("settle", [&](std::string_view text) {
                      const auto fire = nlohmann::json::parse(text);
                      const auto scheduled = floor<seconds>(*switchyard::detail::parse_rfc3339(fire.at("time").get<std::string>()));
                      const auto day = local_date(scheduled);
                      const auto [count, total] = ledger[day];
                      std::printf("%s  settled %s: %d transactions, $%.2f\n", new_york.format(scheduled).c_str(), day.c_str(), count,
                                  total);
                      // One transaction each local hour from 00:30 to 22:30, worth $1 + the hour: 23 of
                      // them for $276, except on 2026-03-08, whose 02:xx never happened ($3 less).
                      const bool short_day = day == "2026-03-08";
                      totals_ok = totals_ok && count == (short_day ? 22 : 23) && total == (short_day ? 273.0 : 276.0);
                      ++nights;
                  })}});

    switchyard::scheduler scheduler{bus, {.clock = &clock}};
    scheduler.add({.name = "nightly-settlement", .expression = "cron(0 23 * * ? *)", .time_zone = "America/New_York"});

    auto sales = bus.producer<CreditCardTransaction>("com.example.pos");
    int id = 0;
    const auto start = steady_clock::now();
    for (int hour = 0; hour < 7 * 24; ++hour) {
        clock.advance(minutes(30));
        // Local hour of the day, so totals do not depend on the day's length in UTC.
        const auto local_hour = (new_york.to_local(floor<seconds>(clock.now())).time_since_epoch() % days(1)) / hours(1);
        if (local_hour < 23)
            (void)sales.publish({fmt::format("tx-{}", ++id), "customer-1", 1.0 + static_cast<double>(local_hour)});
        clock.advance(minutes(30));
    }
    const auto took = duration_cast<milliseconds>(steady_clock::now() - start);
    bus.drain();

    const auto info = *scheduler.info("nightly-settlement");
    std::printf("a simulated week in %lld ms: %llu fires, %llu missed, %llu late\n", static_cast<long long>(took.count()),
                static_cast<unsigned long long>(info.fires), static_cast<unsigned long long>(info.missed_fires),
                static_cast<unsigned long long>(info.late_fires));
    return nights == 7 && totals_ok && info.missed_fires == 0 ? 0 : 1;
}
