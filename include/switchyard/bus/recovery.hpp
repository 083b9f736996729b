// Recovery from the journal: every delivery that was accepted before a crash and had not ended
// starts again on the rule and target of the same names. One whose rule or target is gone, or
// whose event cannot be read, is reported and ended in the journal, never silently dropped.
// With deduplication on, each recovered event's id is remembered as an idempotency key, so a
// producer that publishes the event again with its id as dedup id (a scheduler repeating a fire
// the crash cut short) is caught.
#pragma once

#include <memory>
#include <string>
#include <utility>

#include <fmt/format.h>

#include "switchyard/bus/delivery_engine.hpp"
#include "switchyard/bus/ingest.hpp"
#include "switchyard/bus/rule_registry.hpp"
#include "switchyard/bus/telemetry.hpp"
#include "switchyard/bus_options.hpp"
#include "switchyard/dedup.hpp"
#include "switchyard/durability/journal.hpp"
#include "switchyard/event.hpp"

namespace switchyard::detail {

inline recovery_result recover_from(journal& source, const rule_registry& rules, delivery_engine& engine, bus_telemetry& telemetry,
                                    const envelope& unreadable_envelope, dedup_window* dedup = nullptr) {
    auto report = [&](event_ptr e, const journal_delivery& d, std::string message) noexcept {
        bus_telemetry::guarded([&] {
            if (!e) e = std::make_shared<const json_text_event>(unreadable_envelope, "{}");
            telemetry.report(dead_letter{std::move(e), d.rule, d.target, "RecoveryFailed", std::move(message), 0,
                                         dead_letter_reason::permanent_failure});
        });
    };
    recovery_result out;
    for (const auto& entry : source.unfinished()) {
        event_ptr e;
        try {
            e = parse_event(entry.event_json);
        } catch (const std::exception& ex) {
            ++out.unreadable;
            for (const auto& d : entry.open) {
                report(nullptr, d, fmt::format("journal entry {} cannot be read: {}", entry.sequence, ex.what()));
                source.record_ended(entry.sequence, d.rule, d.target);
            }
            continue;
        }
        ++out.events;
        if (dedup) (void)dedup->first_seen(dedup_window::id_key(e->meta().id));
        const auto trace = telemetry.trace_of_built(*e);
        telemetry.published(*e, trace);
        const auto table = rules.load();
        for (const auto& d : entry.open) {
            const target_ptr* found = nullptr;
            const rule_entry* rule = table->find(d.rule);
            if (rule)
                for (const auto& t : rule->targets)
                    if (t->spec.id == d.target && !t->closable) found = &t;
            if (!found) {
                ++out.orphaned;
                const auto missing = rule ? fmt::format("rule \"{}\" has no target \"{}\"", d.rule, d.target)
                                          : fmt::format("there is no rule \"{}\"", d.rule);
                report(e, d, fmt::format("{}, so the delivery journaled before the crash cannot run "
                                         "(add the rule and its targets before recover())",
                                         missing));
                source.record_ended(entry.sequence, d.rule, d.target);
                continue;
            }
            // Recovered deliveries were accepted before the crash: they take a slot even when the
            // queue is full, rather than be refused a second time.
            (*found)->slots.force_reserve();
            ++out.deliveries;
            engine.start(e, *found, trace.span, entry.sequence, true);
        }
    }
    return out;
}

}  // namespace switchyard::detail
