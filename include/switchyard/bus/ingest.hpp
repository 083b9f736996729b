// Ingest: pure functions that check one PutEvents entry and build its envelope. A bad entry is
// a value (a code and a message naming the problem and the fix), never an exception, so one bad
// entry fails alone and the rest of its batch goes on.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include <fmt/format.h>

#include "switchyard/detail/json_depth.hpp"
#include "switchyard/detail/json_object_check.hpp"
#include "switchyard/detail/time.hpp"
#include "switchyard/detail/uuid.hpp"
#include "switchyard/event.hpp"
#include "switchyard/publish.hpp"

namespace switchyard::detail {

struct ingest_limits {
    std::size_t max_event_size = 1024 * 1024;
    std::size_t max_detail_depth = 100;
};

struct ingest_failure {
    publish_errc code;
    std::string message;
};

// An entry's size as EventBridge measures it.
inline std::size_t entry_size(const put_events_entry& entry) noexcept {
    std::size_t size = entry.source.size() + entry.detail_type.size() + entry.detail.size();
    if (!entry.time.empty()) size += 14;  // EventBridge counts a given Time as 14 bytes
    for (const auto& r : entry.resources) size += r.size();
    return size;
}

// A fresh envelope: a new id and the time `now`. Every field fits a small_string's own storage
// in the usual case, so this allocates nothing.
inline envelope make_envelope(std::string_view account, std::string_view region, std::string_view source, std::string_view detail_type,
                              std::chrono::system_clock::time_point now) {
    envelope meta;
    char id[uuid_length];
    write_uuid_v4(id);
    meta.id = std::string_view(id, uuid_length);
    meta.detail_type = detail_type;
    meta.source = source;
    meta.account = account;
    meta.time = format_rfc3339_cached(now);
    meta.region = region;
    return meta;
}

// Checks every field of `entry`; nothing when it may be published.
inline std::optional<ingest_failure> check_entry(const put_events_entry& entry, const ingest_limits& limits) {
    auto fail = [](publish_errc code, std::string message) { return std::optional<ingest_failure>(ingest_failure{code, std::move(message)}); };
    if (entry.source.empty())
        return fail(publish_errc::invalid_argument, "Source is empty: every entry needs a source such as \"com.example.orders\"");
    if (entry.detail_type.empty())
        return fail(publish_errc::invalid_argument, "DetailType is empty: every entry needs a detail-type such as \"OrderPlaced\"");
    if (entry.detail.empty()) return fail(publish_errc::invalid_argument, "Detail is empty: send a JSON object, \"{}\" at least");
    if (const std::size_t size = entry_size(entry); size > limits.max_event_size)
        return fail(publish_errc::invalid_argument,
                    fmt::format("entry is {} bytes; the limit is {} bytes (bus_options::max_event_size)", size, limits.max_event_size));
    if (const auto depth = json_depth(entry.detail); depth > limits.max_detail_depth)
        return fail(publish_errc::invalid_argument, fmt::format("Detail nests {} levels deep; the limit is {} (bus_options::max_detail_depth)",
                                                                depth, limits.max_detail_depth));
    if (auto problem = check_json_object(entry.detail)) return fail(publish_errc::malformed_detail, "Detail " + problem->message);
    if (!entry.time.empty() && !parse_rfc3339(entry.time))
        return fail(publish_errc::invalid_argument,
                    fmt::format("Time \"{}\" is not an RFC 3339 timestamp between the years 1678 and 2261, such as "
                                "2026-11-29T20:00:41Z",
                                entry.time));
    for (const auto& r : entry.resources)
        if (r.empty()) return fail(publish_errc::invalid_argument, "Resources must not contain an empty string");
    return std::nullopt;
}

// The envelope of a checked entry (its Time when given, else now).
inline envelope envelope_of(const put_events_entry& entry, const std::string& account, const std::string& region) {
    envelope meta = make_envelope(account, region, entry.source, entry.detail_type, std::chrono::system_clock::now());
    if (!entry.time.empty()) meta.time = format_rfc3339(*parse_rfc3339(entry.time));
    meta.resources = entry.resources;
    return meta;
}

}  // namespace switchyard::detail
