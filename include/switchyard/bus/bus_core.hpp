// The bus's engine, composed of its units: telemetry, the rule registry, the publish pipeline
// and the delivery engine. The public `bus`, its producers, subscriptions and bus targets all
// hold it through the same kind of handle: a weak_ptr, locked for each call, so a handle that
// outlives its bus is told so instead of touching freed memory.
#pragma once

#include <atomic>
#include <string>
#include <utility>

#include <fmt/format.h>

#include "switchyard/bus/delivery_engine.hpp"
#include "switchyard/bus/publish_pipeline.hpp"
#include "switchyard/bus/recovery.hpp"
#include "switchyard/bus/rule_registry.hpp"
#include "switchyard/bus/telemetry.hpp"
#include "switchyard/bus_options.hpp"

namespace switchyard::detail {

class bus_core {
public:
    bus_core(std::string name, bus_options options)
        : name_(std::move(name)),
          options_(std::move(options)),
          telemetry(name_, options_),
          rules(name_, options_.max_targets_per_rule),
          pipeline(name_, options_, rules, engine, telemetry),
          engine(name_, telemetry, options_.journal, options_.max_nested_deliveries) {
        check_name("event bus", name_);
        if (options_.max_batch_entries == 0) throw error("bus_options::max_batch_entries must be at least 1");
        if (options_.max_nested_deliveries == 0)
            throw error("bus_options::max_nested_deliveries must be at least 1 (64 lets handlers publish inline; a loop stops there)");
    }
    bus_core(const bus_core&) = delete;
    bus_core& operator=(const bus_core&) = delete;

    const std::string& name() const noexcept { return name_; }
    const bus_options& options() const noexcept { return options_; }

    recovery_result recover() {
        if (!options_.journal) throw error(fmt::format("bus \"{}\" has no journal to recover from (set bus_options::journal)", name_));
        if (recovered_.exchange(true))
            throw error(fmt::format("bus \"{}\" has already recovered: a second recover() would start deliveries that are "
                                    "still running again (call it once, after adding the rules and before publishing)",
                                    name_));
        const delivery_engine::publish_token token(engine);  // a concurrent drain or shutdown waits for the recovery
        if (engine.closed())
            throw error(fmt::format("bus \"{}\" has been shut down: recover() would dead-letter what it recovers "
                                    "(recover before shutting down)",
                                    name_));
        return recover_from(*options_.journal, rules, engine, telemetry,
                            pipeline.make_envelope("switchyard.journal", "Unreadable", std::chrono::system_clock::now()),
                            pipeline.dedup());
    }

private:
    std::string name_;
    bus_options options_;
    std::atomic<bool> recovered_{false};

public:
    bus_telemetry telemetry;
    rule_registry rules;
    publish_pipeline pipeline;
    // Declared last: destroyed first, joining the retry timer while everything it calls exists.
    delivery_engine engine;
};

}  // namespace switchyard::detail
