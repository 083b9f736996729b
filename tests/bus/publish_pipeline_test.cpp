// The publish pipeline and recovery, composed from the units by hand (no `bus`): all-or-nothing
// admission, the journal step, dedup after the journal, and recovery of unfinished deliveries.
#include <doctest/doctest.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "switchyard/bus/publish_pipeline.hpp"
#include "switchyard/bus/recovery.hpp"
#include "durability/failing_journal.hpp"
#include "test_support.hpp"

using namespace switchyard;
using namespace std::chrono_literals;
using test_types::bus_name;

namespace {


struct pipeline_fixture {
    explicit pipeline_fixture(bus_options o = {}) : options(with_quiet_log(std::move(o))) {}
    static bus_options with_quiet_log(bus_options o) {
        o.log = std::make_shared<null_sink>();
        return o;
    }
    bus_options options;
    detail::bus_telemetry telemetry{bus_name, options};
    detail::rule_registry rules{bus_name, 5};
    detail::delivery_engine engine{bus_name, telemetry, options.journal, 64};
    detail::publish_pipeline pipeline{bus_name, options, rules, engine, telemetry};

    publish_result put(std::string detail, std::string dedup_id = {}) {
        std::vector<publish_result> results;
        const put_events_entry e{.source = "s", .detail_type = "X", .detail = std::move(detail), .dedup_id = std::move(dedup_id)};
        pipeline.put_events(std::span<const put_events_entry>(&e, 1), results);
        return results.at(0);
    }
};

target counting(std::string id, tally& seen, queue_options q = {}) {
    return target{std::move(id),
                  [&seen](const any_event&, const delivery_info&) {
                      seen.add();
                      return outcome::success();
                  }}
        .bounded(q);
}
}  // namespace

TEST_CASE("a throttled event reaches no target and holds no slot") {
    pipeline_fixture f;
    tally seen;
    manual_executor held;  // keeps the first delivery pending
    f.rules.add({.name = "r",
                 .pattern = R"({"source": ["s"]})",
                 .targets = {counting("roomy", seen),
                             target{"tight", [](const any_event&, const delivery_info&) { return outcome::success(); }, held}.bounded(
                                 {.capacity = 1, .on_full = overflow_policy::reject})}});
    CHECK(f.put("{}").ok());
    const auto second = f.put("{}");
    CHECK(second.error_code == publish_errc::throttled);
    CHECK(seen.value() == 1);  // the roomy target did not get the throttled event either
    const auto table = f.rules.load();
    CHECK(table->find("r")->targets[0]->slots.in_use() == 0);
    CHECK(table->find("r")->targets[1]->slots.in_use() == 1);
    held.run_all();
    CHECK(f.engine.drain(10s));
}

TEST_CASE("a journal failure refuses the event and gives its slots back") {
    auto j = std::make_shared<failing_journal>();
    bus_options o;
    o.journal = j;
    pipeline_fixture f(o);
    tally seen;
    f.rules.add({.name = "r", .pattern = R"({"source": ["s"]})", .targets = {counting("t", seen)}});
    j->fail = true;
    const auto refused = f.put("{}");
    CHECK(refused.error_code == publish_errc::journal_failed);
    CHECK(refused.error_message.find("disk I/O error") != std::string::npos);
    CHECK(f.rules.load()->find("r")->targets[0]->slots.in_use() == 0);
    j->fail = false;
    CHECK(f.put("{}").ok());
    CHECK(seen.value() == 1);
}

TEST_CASE("dedup remembers only what was accepted, and ignores whitespace in content keys") {
    bus_options o;
    o.dedup = dedup_options{};
    pipeline_fixture f(o);
    tally seen;
    f.rules.add({.name = "r", .pattern = R"({"source": ["s"]})", .targets = {counting("t", seen)}});
    CHECK_FALSE(f.put(R"({"a": 1, "b": "x y"})").deduplicated);
    // Regression (hardening): the same detail laid out differently was not a duplicate.
    CHECK(f.put("{\n  \"a\":1,\"b\" : \"x y\"\n}").deduplicated);
    CHECK_FALSE(f.put(R"({"a": 1, "b": "xy"})").deduplicated);  // whitespace inside strings counts
    CHECK(seen.value() == 2);
}

TEST_CASE("recovery restarts unfinished deliveries and reports orphans") {
    auto j = std::make_shared<memory_journal>();
    const std::vector<journal_delivery> open = {{"r", "t"}, {"gone", "t"}};
    const auto e = make_json_event(envelope{}, R"({"n": 1})");
    j->record_accepted(e->json(), open);
    j->record_accepted("not json", std::vector<journal_delivery>{{"r", "t"}});
    bus_options o;
    o.journal = j;
    pipeline_fixture f(o);
    tally seen;
    bool redelivered = false;
    f.rules.add({.name = "r",
                 .pattern = R"({"source": ["s"]})",
                 .targets = {target{"t", [&](const any_event&, const delivery_info& info) {
                                        redelivered = info.redelivered;
                                        seen.add();
                                        return outcome::success();
                                    }}}});
    std::vector<std::string> reported;
    f.telemetry.set_error_handler([&](const dead_letter& l) { reported.push_back(l.error_message); });
    const auto result = detail::recover_from(*j, f.rules, f.engine, f.telemetry, envelope{});
    CHECK(result.events == 1);
    CHECK(result.deliveries == 1);
    CHECK(result.orphaned == 1);
    CHECK(result.unreadable == 1);
    CHECK(seen.value() == 1);
    CHECK(redelivered);
    REQUIRE(reported.size() == 2);
    CHECK(j->unfinished().empty());
}
