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

    // One parse per render, only when a path is read, and of the detail alone when that is
    // all the paths read (the envelope is most of a small event's text).
    json dom;
    if (p.needs_dom) dom = json::parse(p.detail_only ? e.detail_json() : e.json());
    const std::size_t skip = p.needs_dom && p.detail_only ? 1 : 0;

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
                if (v.selector->definite()) {
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
    const json dom = json::parse(detail_only ? e.detail_json() : e.json());
    if (path.definite()) {
        const json* found = path.find(dom, skip);
        return found == nullptr ? std::string("null") : detail::dump_json(*found);
    }
    json list = json::array();
    for (const json* found : path.find_all(dom, skip)) list.push_back(*found);
    return detail::dump_json(list);
}

}  // namespace switchyard
