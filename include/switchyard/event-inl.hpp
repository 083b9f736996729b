// Definitions of event.hpp's compiled half: the envelope's JSON mapping, an event's JSON text,
// and parsing. Compiled into libswitchyard (src/*.cpp), or included by event.hpp when
// SWITCHYARD_HEADER_ONLY is defined.
#pragma once

#include <mutex>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "switchyard/config.hpp"
#include "switchyard/detail/json_depth.hpp"
#include "switchyard/detail/json_emit.hpp"
#include "switchyard/detail/json_string.hpp"
#include "switchyard/detail/json_object_check.hpp"
#include "switchyard/event.hpp"

namespace switchyard {

namespace detail {
// Writes the envelope's fields in EventBridge's order (which an ordered_json keeps).
template <class Json> void write_envelope(Json& out, const envelope& e) {
    out = Json::object();
    out["version"] = e.version;
    out["id"] = e.id;
    out["detail-type"] = e.detail_type;
    out["source"] = e.source;
    out["account"] = e.account;
    out["time"] = e.time;
    out["region"] = e.region;
    out["resources"] = e.resources;
    if (e.replay_name) out["replay-name"] = *e.replay_name;
    if (e.trace) {
        out["traceparent"] = e.trace->traceparent();
        if (!e.trace->tracestate.empty()) out["tracestate"] = e.trace->tracestate;
    }
}
}  // namespace detail

SWITCHYARD_INLINE void to_json(nlohmann::json& out, const envelope& e) { detail::write_envelope(out, e); }

SWITCHYARD_INLINE void from_json(const nlohmann::json& in, envelope& e) {
    if (!in.is_object()) throw error("an event must be a JSON object, got " + std::string(in.type_name()));
    auto text = [&](const char* name, std::string& out, bool required) {
        const auto it = in.find(name);
        if (it == in.end()) {
            if (required) throw error(std::string("event JSON has no \"") + name + "\" field");
            return;
        }
        if (!it->is_string())
            throw error(std::string("event field \"") + name + "\" must be a string, got " + it->type_name());
        out = it->get<std::string>();
    };
    text("version", e.version, false);
    text("id", e.id, true);
    text("detail-type", e.detail_type, true);
    text("source", e.source, true);
    text("account", e.account, false);
    text("time", e.time, true);
    text("region", e.region, false);
    e.resources.clear();
    if (const auto it = in.find("resources"); it != in.end()) {
        if (!it->is_array()) throw error("event field \"resources\" must be an array of strings");
        for (const auto& r : *it) {
            if (!r.is_string()) throw error("event field \"resources\" must be an array of strings");
            e.resources.push_back(r.get<std::string>());
        }
    }
    e.replay_name.reset();
    if (const auto it = in.find("replay-name"); it != in.end()) {
        if (!it->is_string()) throw error("event field \"replay-name\" must be a string");
        e.replay_name = it->get<std::string>();
    }
    // An invalid traceparent is dropped rather than failing the event: the W3C spec asks a
    // receiver to start a new trace in that case, which the bus does when it publishes.
    e.trace.reset();
    if (const auto it = in.find("traceparent"); it != in.end() && it->is_string()) {
        const auto state = in.find("tracestate");
        e.trace = trace_context::parse(it->get<std::string>(),
                                       state != in.end() && state->is_string() ? state->get<std::string>() : std::string());
    }
}

SWITCHYARD_INLINE const std::string& any_event::detail_json() const {
    std::call_once(detail_once_, [this] { detail_json_ = make_detail_json(); });
    return detail_json_;
}

SWITCHYARD_INLINE const std::string& any_event::json() const {
    std::call_once(json_once_, [this] {
        // EventBridge's field order, so the text reads like the events users know; written
        // directly (what write_envelope and a dump would give, without building a DOM: this
        // text is made for every journaled or forwarded event), the detail text spliced in.
        const auto& m = meta();
        const auto& detail_text = detail_json();
        std::string text;
        text.reserve(192 + m.id.size() + m.source.size() + m.detail_type.size() + detail_text.size());
        const auto field = [&](std::string_view name, std::string_view value) {
            text += name;
            detail::append_json_string(text, value);
        };
        field("{\"version\":", m.version);
        field(",\"id\":", m.id);
        field(",\"detail-type\":", m.detail_type);
        field(",\"source\":", m.source);
        field(",\"account\":", m.account);
        field(",\"time\":", m.time);
        field(",\"region\":", m.region);
        text += ",\"resources\":[";
        for (std::size_t i = 0; i < m.resources.size(); ++i) {
            if (i != 0) text += ',';
            detail::append_json_string(text, m.resources[i]);
        }
        text += ']';
        if (m.replay_name) field(",\"replay-name\":", *m.replay_name);
        if (m.trace) {
            field(",\"traceparent\":", m.trace->traceparent());
            if (!m.trace->tracestate.empty()) field(",\"tracestate\":", m.trace->tracestate);
        }
        text += ",\"detail\":";
        text += detail_text;
        text += '}';
        json_ = std::move(text);
    });
    return json_;
}

SWITCHYARD_INLINE void detail::json_text_event::emit_detail(value_sink& sink) const { emit_json_text(detail_, sink); }

SWITCHYARD_INLINE event_ptr make_json_event(envelope meta, std::string detail_json) {
    if (auto problem = detail::check_json_object(detail_json)) throw error("event detail " + problem->message);
    return std::make_shared<const detail::json_text_event>(std::move(meta), std::move(detail_json));
}

// Parses a whole EventBridge event (envelope and detail) from JSON text.
SWITCHYARD_INLINE event_ptr parse_event(std::string_view text) {
    constexpr std::size_t max_depth = 128;
    if (const auto depth = detail::json_depth(text); depth > max_depth)
        throw error("event nests " + std::to_string(depth) + " levels deep; the limit is " + std::to_string(max_depth));
    const auto parsed = nlohmann::json::parse(text, nullptr, false);
    if (parsed.is_discarded()) throw error("event is not valid JSON");
    envelope meta;
    from_json(parsed, meta);
    const auto detail = parsed.find("detail");
    if (detail == parsed.end() || !detail->is_object())
        throw error("event \"detail\" must be a JSON object");
    // The same check ingest makes, so an event read back reads as it was accepted (a duplicate
    // member would otherwise be silently dropped here by the DOM).
    if (auto problem = detail::check_json_object(text)) throw error("event " + problem->message);
    return std::make_shared<const detail::json_text_event>(std::move(meta), detail->dump());
}

}  // namespace switchyard
