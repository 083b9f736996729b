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
#include "switchyard/detail/json_members.hpp"
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
    auto text = [&](const char* name, small_string& out, bool required) {
        const auto it = in.find(name);
        if (it == in.end()) {
            if (required) throw error(std::string("event JSON has no \"") + name + "\" field");
            return;
        }
        if (!it->is_string())
            throw error(std::string("event field \"") + name + "\" must be a string, got " + it->type_name());
        out = it->get_ref<const std::string&>();
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
    detail_once_.call([this] { detail_json_ = make_detail_json(); });
    return detail_json_;
}

SWITCHYARD_INLINE const std::string& any_event::json() const {
    json_once_.call([this] {
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
    return detail::make_pooled<const detail::json_text_event>(std::move(meta), std::move(detail_json));
}

// Parses a whole EventBridge event (envelope and detail) from JSON text. The text is validated
// once (the same check ingest makes, so an event read back reads as it was accepted), then its
// members are read without a DOM and the detail is kept as the text it came as: this runs for
// every event read from the network, the journal and the archive.
SWITCHYARD_INLINE event_ptr parse_event(std::string_view text) {
    constexpr std::size_t max_depth = 128;
    if (const auto depth = detail::json_depth(text); depth > max_depth)
        throw error("event nests " + std::to_string(depth) + " levels deep; the limit is " + std::to_string(max_depth));
    if (auto problem = detail::check_json_object(text)) {
        if (problem->what == detail::json_problem::kind::not_an_object) throw error("an event " + problem->message);
        throw error("event " + problem->message);
    }
    while (!text.empty() && detail::json_space(text.front())) text.remove_prefix(1);

    envelope meta;
    std::string_view detail_text, traceparent, tracestate;
    bool has_id = false, has_detail_type = false, has_source = false, has_time = false;
    const auto text_field = [](std::string_view name, std::string_view value, small_string& out) {
        if (value.front() != '"')
            throw error("event field \"" + std::string(name) + "\" must be a string, got " + detail::json_type_name(value));
        detail::read_json_string_value(value, out);
    };
    detail::for_each_json_item(text, [&](std::string_view name, std::string_view value) {
        if (name == "version") text_field(name, value, meta.version);
        else if (name == "id") text_field(name, value, meta.id), has_id = true;
        else if (name == "detail-type") text_field(name, value, meta.detail_type), has_detail_type = true;
        else if (name == "source") text_field(name, value, meta.source), has_source = true;
        else if (name == "account") text_field(name, value, meta.account);
        else if (name == "time") text_field(name, value, meta.time), has_time = true;
        else if (name == "region") text_field(name, value, meta.region);
        else if (name == "resources") {
            if (value.front() != '[') throw error("event field \"resources\" must be an array of strings");
            detail::for_each_json_item(value, [&](std::string_view resource) {
                if (resource.front() != '"') throw error("event field \"resources\" must be an array of strings");
                meta.resources.push_back(detail::json_string_value(resource));
            });
        } else if (name == "replay-name") {
            if (value.front() != '"') throw error("event field \"replay-name\" must be a string");
            meta.replay_name = detail::json_string_value(value);
        } else if (name == "traceparent") {
            traceparent = value;
        } else if (name == "tracestate") {
            tracestate = value;
        } else if (name == "detail") {
            detail_text = value;
        }
    });
    const auto require = [](bool present, const char* name) {
        if (!present) throw error(std::string("event JSON has no \"") + name + "\" field");
    };
    require(has_id, "id");
    require(has_detail_type, "detail-type");
    require(has_source, "source");
    require(has_time, "time");
    if (detail_text.empty() || detail_text.front() != '{') throw error("event \"detail\" must be a JSON object");
    // An invalid traceparent is dropped rather than failing the event: the W3C spec asks a
    // receiver to start a new trace in that case, which the bus does when it publishes.
    if (!traceparent.empty() && traceparent.front() == '"')
        meta.trace = trace_context::parse(detail::json_string_value(traceparent),
                                          !tracestate.empty() && tracestate.front() == '"' ? detail::json_string_value(tracestate)
                                                                                           : std::string());
    return detail::make_pooled<const detail::json_text_event>(std::move(meta), std::string(detail_text));
}

}  // namespace switchyard
