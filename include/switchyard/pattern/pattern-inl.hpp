// The pattern parser: pattern.hpp's compiled half (compiled into libswitchyard, or included by
// pattern.hpp when SWITCHYARD_HEADER_ONLY is defined).
#pragma once

#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "switchyard/config.hpp"
#include "switchyard/error.hpp"
#include "switchyard/pattern/detail/atom_extra.hpp"
#include "switchyard/pattern/pattern.hpp"

namespace switchyard::pattern {

namespace detail {

using json = nlohmann::json;

[[noreturn]] inline void fail(const std::string& path, const std::string& what) {
    throw pattern_error((path.empty() ? std::string("pattern") : path) + ": " + what, path);
}

// A key as a path shows it: control characters (a NUL would cut the message short when read as
// a C string) make it a quoted JSON string with escapes.
inline std::string printable_key(const std::string& key) {
    for (const char c : key)
        if (static_cast<unsigned char>(c) < 0x20) return json(key).dump();
    return key;
}
inline std::string join(const std::string& path, const std::string& key) {
    return path.empty() ? printable_key(key) : path + "." + printable_key(key);
}
inline std::string at(const std::string& path, std::size_t i) { return path + "[" + std::to_string(i) + "]"; }

inline const std::string& text_of(const json& v, const std::string& path, const char* expected) {
    if (!v.is_string()) fail(path, std::string("expected ") + expected + ", got " + v.type_name());
    const auto& s = v.get_ref<const std::string&>();
    if (s.size() > max_string_bytes)
        fail(path, "string is longer than " + std::to_string(max_string_bytes) + " bytes");
    return s;
}

inline double number_of(const json& v, const std::string& path) {
    if (!v.is_number()) fail(path, std::string("expected a number, got ") + v.type_name());
    const double d = v.get<double>();
    if (!std::isfinite(d)) fail(path, "number is outside the range of a double");
    return d;
}

inline detail::wildcard_program wildcard_of(const std::string& text, const std::string& path) {
    detail::wildcard_program program;
    std::string why;
    if (!detail::parse_wildcard(text, program, why)) fail(path, why);
    if (program.stars > max_wildcard_stars)
        fail(path, "a wildcard may have at most " + std::to_string(max_wildcard_stars) + " '*' characters");
    return program;
}

// {"equals-ignore-case": "..."} as the argument of prefix, suffix or wildcard.
inline const json* ignore_case_argument(const json& v) {
    if (v.is_object() && v.size() == 1 && v.begin().key() == "equals-ignore-case") return &v.begin().value();
    return nullptr;
}

inline atom make_atom(atom_kind kind, std::string text = {}, bool flag = false) {
    atom a;
    a.kind = kind;
    a.text = std::move(text);
    a.flag = flag;
    return a;
}

inline numeric_range numeric_of(const json& v, const std::string& path) {
    if (!v.is_array() || (v.size() != 2 && v.size() != 4))
        fail(path, "expected [\"<op>\", number] or [\">\" or \">=\", number, \"<\" or \"<=\", number]");
    auto op_of = [&](std::size_t i) -> std::string {
        const std::string here = at(path, i);
        const std::string& op = text_of(v[i], here, "a comparison operator (\"=\", \"<\", \"<=\", \">\", \">=\")");
        if (op != "=" && op != "<" && op != "<=" && op != ">" && op != ">=")
            fail(here, "unknown comparison operator \"" + op + "\"; expected one of \"=\", \"<\", \"<=\", \">\", \">=\"");
        return op;
    };
    numeric_range r;
    const std::string op = op_of(0);
    const double value = number_of(v[1], at(path, 1));
    auto apply = [&](const std::string& o, double x) {
        if (o == "=") r = {x, x, true, true};
        else if (o == ">") { r.low = x; r.low_inclusive = false; }
        else if (o == ">=") { r.low = x; r.low_inclusive = true; }
        else if (o == "<") { r.high = x; r.high_inclusive = false; }
        else { r.high = x; r.high_inclusive = true; }
    };
    apply(op, value);
    if (v.size() == 4) {
        const std::string op2 = op_of(2);
        const double value2 = number_of(v[3], at(path, 3));
        const bool first_lower = op[0] == '>';
        const bool second_upper = op2[0] == '<';
        if (op == "=" || op2 == "=") fail(path, "\"=\" cannot be part of a range");
        if (!first_lower && !second_upper) fail(path, "lower bound must come first");
        if (!first_lower) fail(path, "lower bound must come first");
        if (!second_upper) fail(path, "expected an upper bound (\"<\" or \"<=\") after the lower bound");
        apply(op2, value2);
        if (r.low > r.high || (r.low == r.high && !(r.low_inclusive && r.high_inclusive)))
            fail(path, "the range is empty: its lower bound is not below its upper bound");
    }
    return r;
}

inline atom anything_but_of(const json& v, const std::string& path) {
    auto extra = std::make_shared<atom_extra>();
    auto strings_of = [&](const json& x, const std::string& here, bool fold) {
        if (x.is_array()) {
            if (x.empty()) fail(here, "expected at least one value");
            if (x.size() > max_values) fail(here, "at most " + std::to_string(max_values) + " values are allowed");
            for (std::size_t i = 0; i < x.size(); ++i) {
                const auto& s = text_of(x[i], at(here, i), "a string");
                extra->strings.push_back(fold ? detail::fold_case(s) : s);
            }
        } else {
            const auto& s = text_of(x, here, "a string or an array of strings");
            extra->strings.push_back(fold ? detail::fold_case(s) : s);
        }
    };
    if (v.is_object()) {
        if (v.size() != 1)
            fail(path, "expected an object with exactly one of \"prefix\", \"suffix\", \"equals-ignore-case\", \"wildcard\"");
        const std::string& key = v.begin().key();
        const json& arg = v.begin().value();
        const std::string here = join(path, key);
        if (key == "prefix") { extra->but = but_kind::prefix; strings_of(arg, here, false); }
        else if (key == "suffix") { extra->but = but_kind::suffix; strings_of(arg, here, false); }
        else if (key == "equals-ignore-case") { extra->but = but_kind::equals_ignore_case; strings_of(arg, here, true); }
        else if (key == "wildcard") {
            extra->but = but_kind::wildcard;
            strings_of(arg, here, false);
            for (std::size_t i = 0; i < extra->strings.size(); ++i)
                extra->wildcards.push_back(wildcard_of(extra->strings[i], arg.is_array() ? at(here, i) : here));
        } else {
            fail(here, "unknown anything-but operator; expected \"prefix\", \"suffix\", \"equals-ignore-case\" or \"wildcard\"");
        }
    } else if (v.is_string()) {
        extra->but = but_kind::strings;
        extra->strings.push_back(text_of(v, path, "a string"));
    } else if (v.is_number()) {
        extra->but = but_kind::numbers;
        extra->numbers.push_back(number_of(v, path));
    } else if (v.is_array()) {
        if (v.empty()) fail(path, "expected at least one value");
        if (v.size() > max_values) fail(path, "at most " + std::to_string(max_values) + " values are allowed");
        const bool strings = v[0].is_string();
        extra->but = strings ? but_kind::strings : but_kind::numbers;
        for (std::size_t i = 0; i < v.size(); ++i) {
            const std::string here = at(path, i);
            if (v[i].is_string() != strings || (!v[i].is_string() && !v[i].is_number()))
                fail(here, v[i].is_string() || v[i].is_number()
                               ? "a list of anything-but values must be all strings or all numbers, not a mix"
                               : std::string("expected a string or a number, got ") + v[i].type_name());
            if (strings) extra->strings.push_back(text_of(v[i], here, "a string"));
            else extra->numbers.push_back(number_of(v[i], here));
        }
    } else {
        fail(path, std::string("expected a string, a number, a list of strings or of numbers, or an object with "
                               "\"prefix\", \"suffix\", \"equals-ignore-case\" or \"wildcard\"; got ") +
                       v.type_name());
    }
    atom a = make_atom(atom_kind::anything_but);
    a.extra = std::move(extra);
    return a;
}

// One element of a field's list of values. Sets `absent` for {"exists": false}.
inline atom atom_of(const json& v, const std::string& path, bool& absent, bool inside_all_of) {
    switch (v.type()) {
        case json::value_t::string: return make_atom(atom_kind::string, text_of(v, path, "a string"));
        case json::value_t::number_integer:
        case json::value_t::number_unsigned:
        case json::value_t::number_float: {
            atom a = make_atom(atom_kind::number);
            a.number = number_of(v, path);
            return a;
        }
        case json::value_t::boolean: return make_atom(atom_kind::boolean, {}, v.get<bool>());
        case json::value_t::null: return make_atom(atom_kind::null);
        case json::value_t::object: break;
        default: fail(path, std::string("expected a string, number, boolean, null or an operator object, got ") + v.type_name());
    }
    if (v.size() != 1)
        fail(path, v.empty() ? "an operator object must not be empty"
                             : "an operator object must have exactly one key, e.g. {\"prefix\": \"abc\"}");
    const std::string& op = v.begin().key();
    const json& arg = v.begin().value();
    const std::string here = join(path, op);
    if (op == "prefix" || op == "suffix") {
        const atom_kind kind = op == "prefix" ? atom_kind::prefix : atom_kind::suffix;
        if (const json* ci = ignore_case_argument(arg))
            return make_atom(kind, detail::fold_case(text_of(*ci, join(here, "equals-ignore-case"), "a string")), true);
        return make_atom(kind, text_of(arg, here, "a string or {\"equals-ignore-case\": string}"));
    }
    if (op == "equals-ignore-case")
        return make_atom(atom_kind::equals_ignore_case, detail::fold_case(text_of(arg, here, "a string")));
    if (op == "wildcard") {
        const json* ci = ignore_case_argument(arg);
        const std::string where = ci ? join(here, "equals-ignore-case") : here;
        std::string text = text_of(ci ? *ci : arg, where, "a string or {\"equals-ignore-case\": string}");
        if (ci) text = detail::fold_case(text);
        auto extra = std::make_shared<atom_extra>();
        extra->wildcards.push_back(wildcard_of(text, where));
        atom a = make_atom(atom_kind::wildcard, std::move(text), ci != nullptr);
        a.extra = std::move(extra);
        return a;
    }
    if (op == "anything-but") return anything_but_of(arg, here);
    if (op == "numeric") {
        auto extra = std::make_shared<atom_extra>();
        extra->range = numeric_of(arg, here);
        atom a = make_atom(atom_kind::numeric);
        a.extra = std::move(extra);
        return a;
    }
    if (op == "exists") {
        if (!arg.is_boolean()) fail(here, std::string("expected true or false, got ") + arg.type_name());
        if (!arg.get<bool>()) {
            if (inside_all_of) fail(here, "{\"exists\": false} cannot be part of \"all-of\"");
            absent = true;
        }
        return make_atom(atom_kind::exists, {}, true);
    }
    if (op == "cidr") {
        auto extra = std::make_shared<atom_extra>();
        const auto& text = text_of(arg, here, "a CIDR block such as \"10.0.0.0/24\" or \"2001:db8::/32\"");
        if (!detail::parse_cidr(text, extra->cidr))
            fail(here, "\"" + text + "\" is not a CIDR block such as \"10.0.0.0/24\" or \"2001:db8::/32\"");
        atom a = make_atom(atom_kind::cidr, text);
        a.extra = std::move(extra);
        return a;
    }
    if (op == "regexp") {
        auto extra = std::make_shared<atom_extra>();
        const auto& text = text_of(arg, here, "a regular expression (I-Regexp, RFC 9485)");
        std::string why;
        extra->regexp = detail::regexp_program::compile(text, why);
        if (!extra->regexp) fail(here, "invalid regular expression: " + why);
        atom a = make_atom(atom_kind::regexp, text);
        a.extra = std::move(extra);
        return a;
    }
    if (op == "all-of") {
        if (inside_all_of) fail(here, "\"all-of\" cannot be nested");
        if (!arg.is_array() || arg.size() < 2)
            fail(here, "expected an array of at least two conditions that must all hold on the same value");
        if (arg.size() > max_values) fail(here, "at most " + std::to_string(max_values) + " conditions are allowed");
        auto extra = std::make_shared<atom_extra>();
        for (std::size_t i = 0; i < arg.size(); ++i) {
            bool ignored = false;
            extra->parts.push_back(atom_of(arg[i], at(here, i), ignored, true));
        }
        atom a = make_atom(atom_kind::all_of);
        a.extra = std::move(extra);
        return a;
    }
    fail(here, "unknown operator \"" + op +
                   "\"; expected one of prefix, suffix, equals-ignore-case, wildcard, anything-but, numeric, "
                   "exists, cidr, regexp, all-of");
}

inline condition condition_of(const json& values, std::vector<std::string> path, const std::string& where) {
    if (values.empty()) fail(where, "the list of values must not be empty");
    if (values.size() > max_values)
        fail(where, "at most " + std::to_string(max_values) + " values are allowed for one field");
    condition c;
    c.path = std::move(path);
    for (std::size_t i = 0; i < values.size(); ++i) {
        bool absent = false;
        c.atoms.push_back(atom_of(values[i], at(where, i), absent, false));
        if (absent) {
            if (values.size() > 1)
                fail(at(where, i), "{\"exists\": false} cannot be combined with other values for the same field");
            c.absent = true;
            c.atoms.clear();
        }
    }
    return c;
}

// Every combination of one branch from `a` and one from `b`.
inline std::vector<branch> product(const std::vector<branch>& a, const std::vector<branch>& b, const std::string& where) {
    if (a.size() * b.size() > max_branches)
        fail(where, "\"$or\" expands to more than " + std::to_string(max_branches) + " alternatives");
    std::vector<branch> out;
    out.reserve(a.size() * b.size());
    for (const auto& x : a)
        for (const auto& y : b) {
            branch both = x;
            both.insert(both.end(), y.begin(), y.end());
            if (both.size() > max_conditions)
                fail(where, "one alternative may test at most " + std::to_string(max_conditions) + " fields");
            out.push_back(std::move(both));
        }
    return out;
}

inline std::vector<branch> object_of(const json& object, const std::vector<std::string>& path, const std::string& where,
                                     int depth) {
    if (depth > max_depth) fail(where, "objects are nested more than " + std::to_string(max_depth) + " deep");
    std::vector<branch> out{branch{}};
    for (const auto& [key, value] : object.items()) {
        const std::string here = join(where, key);
        if (!key.empty() && key[0] == '$') {
            if (key != "$or")
                fail(here, "keys starting with '$' are reserved; the only one allowed is \"$or\"");
            if (!value.is_array() || value.size() < 2) fail(here, "\"$or\" must be an array of at least two objects");
            std::vector<branch> alternatives;
            for (std::size_t i = 0; i < value.size(); ++i) {
                const std::string element = at(here, i);
                if (!value[i].is_object() || value[i].empty())
                    fail(element, "each alternative of \"$or\" must be a non-empty object");
                auto sub = object_of(value[i], path, element, depth + 1);
                if (alternatives.size() + sub.size() > max_branches)
                    fail(here, "\"$or\" expands to more than " + std::to_string(max_branches) + " alternatives");
                for (auto& b : sub) alternatives.push_back(std::move(b));
            }
            out = product(out, alternatives, here);
            continue;
        }
        std::vector<std::string> sub_path = path;
        sub_path.push_back(key);
        if (value.is_object()) {
            if (value.empty()) fail(here, "an object in a pattern must not be empty");
            out = product(out, object_of(value, sub_path, here, depth + 1), here);
        } else if (value.is_array()) {
            out = product(out, {branch{condition_of(value, std::move(sub_path), here)}}, here);
        } else {
            fail(here, std::string("expected an array of values to match, such as [\"a\", \"b\"], or an object; got ") +
                           value.type_name());
        }
    }
    return out;
}

}  // namespace detail

namespace detail {

// Follows nlohmann's parse events to know the JSON path being parsed, so that what the parser
// itself would not name (a duplicate key, which it would silently overwrite, and a number out of
// the double range, which it throws as out_of_range) is reported at its path.
class path_tracker {
public:
    // The parser callback: refuses a key repeated in one object.
    bool operator()(int, json::parse_event_t event, json& parsed) {
        switch (event) {
            case json::parse_event_t::object_start: frames_.push_back({false, {}, 0, {}}); break;
            case json::parse_event_t::array_start: frames_.push_back({true, {}, 0, {}}); break;
            case json::parse_event_t::key: {
                auto& f = frames_.back();
                f.key = parsed.get<std::string>();
                for (const auto& k : f.keys)
                    if (k == f.key)
                        fail(here(), "the key \"" + f.key +
                                         "\" appears twice in one object; a JSON parser keeps only one of them, so "
                                         "merge their values into one list (or one object)");
                f.keys.push_back(f.key);
                break;
            }
            case json::parse_event_t::object_end:
            case json::parse_event_t::array_end:
                frames_.pop_back();
                element_done();
                break;
            case json::parse_event_t::value: element_done(); break;
        }
        return true;
    }

    // The path of the value being parsed now.
    std::string here() const {
        std::string path;
        for (const auto& f : frames_) path = f.array ? at(path, f.count) : join(path, f.key);
        return path;
    }

private:
    struct frame {
        bool array;
        std::string key;  // objects: the current key
        std::size_t count;  // arrays: elements done
        std::vector<std::string> keys;  // objects: keys seen (objects in patterns are small)
    };
    void element_done() {
        if (!frames_.empty() && frames_.back().array) ++frames_.back().count;
    }
    std::vector<frame> frames_;
};

}  // namespace detail

SWITCHYARD_INLINE compiled_pattern::compiled_pattern() : data_(std::make_shared<const detail::pattern_data>()) {}

SWITCHYARD_INLINE compiled_pattern compile(std::string_view text) {
    detail::json parsed;
    detail::path_tracker tracker;
    try {
        parsed = detail::json::parse(text, std::ref(tracker));
    } catch (const detail::json::parse_error& ex) {
        const std::size_t offset = ex.byte > 0 ? ex.byte - 1 : 0;
        throw pattern_error("pattern is not valid JSON at byte " + std::to_string(offset) + ": " + ex.what(), {}, offset);
    } catch (const detail::json::out_of_range&) {
        // nlohmann reads a number beyond the double range as an error of its own (406).
        detail::fail(tracker.here(), "number is outside the range of a double (about ±1.8e308); write a smaller number");
    }
    if (!parsed.is_object()) throw pattern_error("a pattern must be a JSON object, got " + std::string(parsed.type_name()));
    if (parsed.empty()) throw pattern_error("a pattern must name at least one field");
    auto data = std::make_shared<detail::pattern_data>();
    data->branches = detail::object_of(parsed, {}, "", 1);
    compiled_pattern out;
    out.data_ = std::move(data);
    return out;
}

}  // namespace switchyard::pattern
