// The archive's compiled half: starting an archive, its pattern, and replays (compiled into
// libswitchyard, or included by archive.hpp when SWITCHYARD_HEADER_ONLY is defined).
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <utility>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "switchyard/archive.hpp"
#include "switchyard/config.hpp"
#include "switchyard/detail/time.hpp"

namespace switchyard {

namespace detail {
// The archive's pattern AND "not a replayed event", as one EventBridge pattern.
SWITCHYARD_INLINE std::string archive_pattern(std::string_view archive, const std::string& pattern) {
    nlohmann::json merged = nlohmann::json::object();
    if (!pattern.empty()) {
        merged = nlohmann::json::parse(pattern, nullptr, false);
        if (merged.is_discarded() || !merged.is_object())
            throw pattern_error(fmt::format("archive \"{}\": the event pattern is not a JSON object; write one such as "
                                            "{{\"source\": [\"com.example\"]}}, or leave it empty to archive every event",
                                            archive));
        if (merged.contains("replay-name"))
            throw pattern_error(fmt::format("archive \"{}\": the pattern must not test \"replay-name\": an archive never keeps "
                                            "replayed events, and adds that condition itself",
                                            archive),
                                "$.replay-name");
    }
    merged["replay-name"] = nlohmann::json::array({{{"exists", false}}});
    return merged.dump();
}
}  // namespace detail

SWITCHYARD_INLINE archive::archive(bus& b, archive_spec spec) : bus_(&b), spec_(std::move(spec)) {
    if (spec_.name.empty()) throw error("an archive needs a name (archive_spec::name)");
    // EventBridge's archive names: up to 48 of [.-_A-Za-z0-9]. The archive's managed rule is
    // "Events-Archive-<name>", as EventBridge names it, which names it in stats and metrics.
    detail::check_name("archive", spec_.name);
    if (spec_.name.size() > 48)
        throw error(fmt::format("archive name \"{}\" is {} characters long; at most 48 are allowed", spec_.name, spec_.name.size()));
    if (!spec_.store)
        throw error(fmt::format("archive \"{}\" has no store: give archive_spec::store a memory_archive_store or a "
                                "sqlite_archive_store",
                                spec_.name));
    if (spec_.retention < std::chrono::system_clock::duration::zero())
        throw error(fmt::format("archive \"{}\": the retention is negative; use zero to keep events forever", spec_.name));
    auto store = spec_.store;
    subscription_ = b.subscribe(detail::archive_pattern(spec_.name, spec_.pattern),
                                target{"archive-" + spec_.name, [store](const any_event& e, const delivery_info&) -> outcome {
                                           const auto time = detail::parse_rfc3339(e.meta().time);
                                           store->append(e.json(), time ? *time : e.ingestion_time());
                                           return outcome::success();
                                       }},
                                "Events-Archive-" + spec_.name);
}

SWITCHYARD_INLINE replay_handle archive::replay(replay_options options) {
    if (options.name.empty()) throw error(fmt::format("archive \"{}\": a replay needs a name (replay_options::name)", spec_.name));
    if (options.to < options.from)
        throw error(fmt::format("archive \"{}\": replay \"{}\" ends before it starts (replay_options::to < from)", spec_.name,
                                options.name));
    auto state = std::make_shared<replay_handle::shared>();
    state->name = options.name;
    state->total = spec_.store->count(options.from, options.to);
    std::thread thread([state, store = spec_.store, b = bus_, options = std::move(options)] {
        run_replay(*state, *store, *b, options);
    });
    return replay_handle(std::move(state), std::move(thread));
}

SWITCHYARD_INLINE void archive::run_replay(replay_handle::shared& state, archive_store& store, bus& b, const replay_options& options) {
    const std::size_t total = state.total.load();
    std::string failure;
    bool cancelled = false;
    try {
        store.scan(options.from, options.to, [&](const archived_event& row) {
            if (state.replayed.load() >= total) return false;  // events archived after the replay began
            if (state.cancel.load()) {
                cancelled = true;
                return false;
            }
            // One parse, which also checks the text as ingest would; the replay's name goes on
            // a copy of the envelope rather than through a JSON edit and a second parse.
            event_ptr e;
            try {
                const auto stored = parse_event(row.event_json);
                envelope meta = stored->meta();
                meta.replay_name = options.name;
                e = std::make_shared<const detail::json_text_event>(std::move(meta), stored->detail_json());
            } catch (const std::exception& ex) {
                failure = fmt::format("archived event {} is not an event: {}", row.sequence, ex.what());
                return false;
            }
            const auto result = b.publish(e, options.rules);
            if (!result.ok()) {
                failure = fmt::format("the bus refused archived event {} ({}): {}: {}", row.sequence, e->meta().id,
                                      to_string(result.error_code), result.error_message);
                return false;
            }
            state.replayed.fetch_add(1);
            return true;
        });
    } catch (const std::exception& ex) {
        failure = fmt::format("reading the archive failed: {}", ex.what());
    }
    if (!failure.empty())
        state.finish(replay_state::failed, fmt::format("replay \"{}\" failed after {} of {} events: {}", options.name,
                                                       state.replayed.load(), total, failure));
    else if (cancelled)
        state.finish(replay_state::cancelled,
                     fmt::format("replay \"{}\" was cancelled after {} of {} events", options.name, state.replayed.load(), total));
    else
        state.finish(replay_state::completed, {});
}

}  // namespace switchyard
