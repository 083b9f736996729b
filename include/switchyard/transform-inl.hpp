// The transform engine: transform.hpp's compiled half (compiled into libswitchyard, or included
// by transform.hpp when SWITCHYARD_HEADER_ONLY is defined).
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "switchyard/config.hpp"
#include "switchyard/detail/input_template.hpp"
#include "switchyard/detail/json_members.hpp"
#include "switchyard/detail/json_path.hpp"
#include "switchyard/detail/time.hpp"
#include "switchyard/error.hpp"
#include "switchyard/event.hpp"
#include "switchyard/transform.hpp"

namespace switchyard {

namespace detail {

struct transform_variable {
    enum source_t { path, rule_name, event_envelope, event_json, ingestion_time } source = path;
    std::string name{};
    std::optional<json_path> selector{};
};

struct transform_program {
    enum kind_t { whole, constant, single_path, json_template, text_template } kind = whole;
    std::string constant_text{};
    std::optional<json_path> selector{};       // single_path
    std::vector<transform_variable> variables{};  // those the template uses, each once
    std::vector<template_segment> segments{};
    bool needs_dom = false;     // some variable reads a path of the event
    bool detail_only = true;    // ... and every such path starts `$.detail`: parse only the detail
    bool all_definite = true;   // ... and every such path names one value: read them from the text, no DOM
    std::size_t literal_size = 0;
};

inline bool starts_with_aws_dot(std::string_view name) {
    if (name.size() < 4) return false;
    auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
    return lower(name[0]) == 'a' && lower(name[1]) == 'w' && lower(name[2]) == 's' && name[3] == '.';
}

inline std::string dump_json(const nlohmann::ordered_json& value) {
    // `replace` cannot throw: the DOM came from the parser, but a typed event's strings need not be UTF-8.
    return value.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

// The text of the value that `path` (a definite path: members and indexes) names in `text`,
// validated JSON, from its step `skip` on; nullopt when there is none. It reads the text in place
// instead of building a DOM (a transformer reading two fields of a transaction parsed the whole
// detail for each delivery: a tenth of bench_service). An event never has a member twice (events
// with one are refused when made), so the first match is the value a DOM would hold.
inline std::optional<std::string_view> find_json_text(std::string_view text, const json_path& path, std::size_t skip) {
    auto trim = [](std::string_view t) {
        while (!t.empty() && json_space(t.front())) t.remove_prefix(1);
        while (!t.empty() && json_space(t.back())) t.remove_suffix(1);
        return t;
    };
    std::string_view at = trim(text);
    const auto& steps = path.steps();
    for (std::size_t i = skip; i < steps.size(); ++i) {
        const auto& s = steps[i];
        std::optional<std::string_view> found;
        if (s.kind == json_path::step::member) {
            if (at.empty() || at.front() != '{') return std::nullopt;
            for_each_json_item(at, [&](std::string_view name, std::string_view value) {
                if (!found && name == s.name) found = value;
            });
        } else if (s.kind == json_path::step::index) {
            if (at.empty() || at.front() != '[') return std::nullopt;
            std::size_t k = 0;
            for_each_json_item(at, [&](std::string_view value) {
                if (k++ == s.position) found = value;
            });  // reads past the element too: for_each_json_item has no early exit
        } else {
            return std::nullopt;  // a wildcard: not a definite path, read through the DOM
        }
        if (!found) return std::nullopt;
        at = *found;
    }
    return at;
}

}  // namespace detail

SWITCHYARD_INLINE bool compiled_input::is_json() const noexcept {
    return program_->kind != detail::transform_program::text_template;
}

SWITCHYARD_INLINE bool compiled_input::is_whole_event() const noexcept {
    return program_->kind == detail::transform_program::whole;
}

SWITCHYARD_INLINE compiled_input::program compiled_input::build(const whole_event&) { return {}; }

SWITCHYARD_INLINE compiled_input compiled_input::compile(const input_spec& spec) {
    auto program = std::visit([](const auto& s) { return build(s); }, spec);
    return compiled_input(std::make_shared<const detail::transform_program>(std::move(program)));
}

SWITCHYARD_INLINE std::string compiled_input::render(const any_event& e, std::string_view rule_name) const {
    try {
        return render_unchecked(e, rule_name);
    } catch (const nlohmann::json::exception& ex) {
        throw permanent_error("event " + e.meta().id + " cannot be transformed for rule \"" + std::string(rule_name) +
                              "\": " + ex.what());
    }
}

SWITCHYARD_INLINE const std::shared_ptr<const compiled_input::program>& compiled_input::whole_event_program() {
    static const auto shared = std::make_shared<const program>();
    return shared;
}

SWITCHYARD_INLINE compiled_input::program compiled_input::build(const constant_input& c) {
    if (!nlohmann::json::accept(c.json))
        throw error("constant input is not valid JSON: \"" + c.json.substr(0, 80) +
                    (c.json.size() > 80 ? "...\"" : "\"") + " (a constant target input must be JSON text; "
                    "quote a string, e.g. \"\\\"hello\\\"\")");
    program p;
    p.kind = program::constant;
    p.constant_text = c.json;
    return p;
}

SWITCHYARD_INLINE compiled_input::program compiled_input::build(const input_path& ip) {
    program p;
    p.kind = program::single_path;
    p.selector = detail::json_path::parse(ip.path);
    return p;
}

SWITCHYARD_INLINE compiled_input::program compiled_input::build(const input_transformer& t) {
    if (t.input_paths.size() > max_variables)
        throw error("input transformer defines " + std::to_string(t.input_paths.size()) +
                    " variables; EventBridge's limit, enforced here too, is " + std::to_string(max_variables));
    if (t.input_template.empty()) throw error("input template is empty");
    if (t.input_template.size() > max_template_size)
        throw error("input template is " + std::to_string(t.input_template.size()) +
                    " bytes; EventBridge's limit, enforced here too, is " + std::to_string(max_template_size));
    std::map<std::string, detail::json_path, std::less<>> paths;
    for (const auto& [name, path] : t.input_paths) {
        if (name.empty()) throw error("input transformer variable names cannot be empty");
        for (const char c : name)
            if (!detail::template_compiler::is_name_char(c))
                throw error("input transformer variable \"" + name +
                            "\" has a character other than letters, digits, '_', '-' and '.'");
        if (detail::starts_with_aws_dot(name))
            throw error("input transformer variable \"" + name + "\" is reserved: names starting with \"aws.\" "
                        "belong to EventBridge's predefined variables");
        try {
            paths.emplace(name, detail::json_path::parse(path));
        } catch (const error& e) {
            throw error("input transformer variable \"" + name + "\": " + e.what());
        }
    }

    program p;
    std::map<std::string, std::size_t, std::less<>> index;
    const detail::placeholder_resolver resolve = [&](std::string_view name, std::size_t offset) -> std::size_t {
        if (const auto it = index.find(name); it != index.end()) return it->second;
        variable v;
        v.name = std::string(name);
        if (const auto it = paths.find(name); it != paths.end()) {
            v.source = variable::path;
            v.selector = it->second;
            p.needs_dom = true;
            p.detail_only = p.detail_only && it->second.under_detail();
            p.all_definite = p.all_definite && it->second.definite();
        } else if (name == "aws.events.rule-name") {
            v.source = variable::rule_name;
        } else if (name == "aws.events.event") {
            v.source = variable::event_envelope;
        } else if (name == "aws.events.event.json") {
            v.source = variable::event_json;
        } else if (name == "aws.events.event.ingestion-time") {
            v.source = variable::ingestion_time;
        } else if (name == "aws.events.rule-arn") {
            throw error("input template uses <aws.events.rule-arn> at offset " + std::to_string(offset) +
                        ", but switchyard rules have no ARN; use <aws.events.rule-name>");
        } else {
            throw error("input template uses <" + std::string(name) + "> at offset " + std::to_string(offset) +
                        ", but no input path defines \"" + std::string(name) +
                        "\" and it is not a reserved variable (aws.events.rule-name, aws.events.event, "
                        "aws.events.event.json, aws.events.event.ingestion-time)");
        }
        p.variables.push_back(std::move(v));
        index.emplace(std::string(name), p.variables.size() - 1);
        return p.variables.size() - 1;
    };
    auto compiled = detail::template_compiler::compile(t.input_template, resolve);
    p.kind = compiled.is_json ? program::json_template : program::text_template;
    p.segments = std::move(compiled.segments);
    for (const auto& s : p.segments) p.literal_size += s.literal_text.size();

    if (compiled.is_json) {
        // The structure is checked above; this catches what it does not (invalid UTF-8 in the
        // template's own text) by rendering every placeholder as null / empty text. Each real
        // value is valid JSON / escaped text, so if this parses every rendering does.
        std::string probe;
        for (const auto& s : p.segments) {
            if (s.kind == detail::template_segment::literal) probe += s.literal_text;
            else if (s.kind == detail::template_segment::value) probe += "null";
        }
        if (!nlohmann::json::accept(probe))
            throw error("input template is not valid JSON (check that its text is UTF-8)");
    }
    return p;
}

SWITCHYARD_INLINE std::string compiled_input::render_unchecked(const any_event& e, std::string_view rule_name) const {
    const program& p = *program_;
    switch (p.kind) {
        case program::whole: return e.json();
        case program::constant: return p.constant_text;
        case program::single_path: return render_path(e, *p.selector);
        case program::json_template:
        case program::text_template: break;
    }

    // Paths are read from the detail alone when that is all they read (the envelope is most of a
    // small event's text). When each names one value they are read from the text in place;
    // otherwise one parse per render.
    const std::size_t skip = p.needs_dom && p.detail_only ? 1 : 0;
    const std::string_view text = !p.needs_dom ? std::string_view() : p.detail_only ? std::string_view(e.detail_json()) : std::string_view(e.json());
    json dom;
    if (p.needs_dom && !p.all_definite) dom = json::parse(text);

    std::vector<resolved> values(p.variables.size());
    auto resolve = [&](std::size_t i) -> resolved& {
        resolved& r = values[i];
        if (r.done) return r;
        r.done = true;
        const variable& v = p.variables[i];
        auto quoted = [](std::string_view text) {
            std::string out = "\"";
            detail::append_json_string_body(out, text);
            out += '"';
            return out;
        };
        switch (v.source) {
            case variable::path: {
                if (p.all_definite) {
                    const auto found = detail::find_json_text(text, *v.selector, skip);
                    if (!found) {
                        r.missing = true;
                        r.as_json = "null";
                    } else if (!found->empty() && found->front() == '"') {  // empty only in text that is not JSON: parse throws
                        r.as_text = detail::json_string_value(*found);
                        r.as_json = quoted(r.as_text);
                    } else {
                        r.as_json = detail::dump_json(json::parse(*found));  // as a DOM would write it (1.50 is 1.5)
                        r.as_text = r.as_json;
                    }
                } else if (v.selector->definite()) {
                    const json* found = v.selector->find(dom, skip);
                    if (found == nullptr) {
                        r.missing = true;
                        r.as_json = "null";
                    } else if (found->is_string()) {
                        r.as_text = found->get_ref<const std::string&>();
                        r.as_json = quoted(r.as_text);
                    } else {
                        r.as_json = detail::dump_json(*found);
                        r.as_text = r.as_json;
                    }
                } else {
                    json list = json::array();
                    for (const json* found : v.selector->find_all(dom, skip)) list.push_back(*found);
                    r.as_json = detail::dump_json(list);
                    r.as_text = r.as_json;
                }
                break;
            }
            case variable::rule_name:
                r.as_text = std::string(rule_name);
                r.as_json = quoted(r.as_text);
                break;
            case variable::ingestion_time:
                r.as_text = detail::format_rfc3339(e.ingestion_time());
                r.as_json = quoted(r.as_text);
                break;
            case variable::event_envelope: {
                const nlohmann::json head = e.meta();
                r.as_json = head.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
                r.as_text = r.as_json;
                break;
            }
            case variable::event_json:
                r.as_json = e.json();
                r.as_text = r.as_json;
                break;
        }
        return r;
    };

    std::string out;
    out.reserve(p.literal_size + 16 * p.variables.size());
    for (const auto& s : p.segments) {
        switch (s.kind) {
            case detail::template_segment::literal: out += s.literal_text; break;
            case detail::template_segment::value: out += resolve(s.variable).as_json; break;
            case detail::template_segment::spliced:
                detail::append_json_string_body(out, resolve(s.variable).as_text);
                break;
            case detail::template_segment::text: out += resolve(s.variable).as_text; break;
        }
    }
    return out;
}

SWITCHYARD_INLINE std::string compiled_input::render_path(const any_event& e, const detail::json_path& path) {
    const auto& steps = path.steps();
    // The two common paths need no parse at all.
    if (steps.empty()) return e.json();
    if (steps.size() == 1 && steps[0].kind == detail::json_path::step::member && steps[0].name == "detail")
        return e.detail_json();
    const bool detail_only = path.under_detail();
    const std::size_t skip = detail_only ? 1 : 0;
    const std::string_view text = detail_only ? std::string_view(e.detail_json()) : std::string_view(e.json());
    if (path.definite()) {
        const auto found = detail::find_json_text(text, path, skip);
        return found ? detail::dump_json(json::parse(*found)) : std::string("null");
    }
    const json dom = json::parse(text);
    json list = json::array();
    for (const json* found : path.find_all(dom, skip)) list.push_back(*found);
    return detail::dump_json(list);
}

}  // namespace switchyard
