// Event patterns: parse and validate a pattern's JSON text into a compiled_pattern, which the
// matcher combines with others. This is the foundation's stand-in, which accepts exact values
// only (strings, numbers, booleans, null) with EventBridge's AND/OR semantics; everything else is
// rejected with a message naming the JSON path. The full language replaces it behind this seam.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "switchyard/error.hpp"
#include "switchyard/pattern/flat_event.hpp"

namespace switchyard::pattern {

struct exact_value {
    value_kind kind;
    std::string text;
    double number = 0.0;
};

// A validated pattern: for each leaf path, the values any one of which must be present.
class compiled_pattern {
public:
    const std::map<std::string, std::vector<exact_value>>& conditions() const noexcept { return conditions_; }

private:
    friend compiled_pattern compile(std::string_view);
    std::map<std::string, std::vector<exact_value>> conditions_;
};

namespace detail {

inline void compile_object(const nlohmann::json& object, const std::string& path,
                           std::map<std::string, std::vector<exact_value>>& out, int depth) {
    if (depth > 32) throw pattern_error(path + ": pattern nesting is deeper than 32 levels", path);
    for (const auto& [key, value] : object.items()) {
        const std::string here = path.empty() ? key : path + "." + key;
        if (!key.empty() && key[0] == '$')
            throw pattern_error(here + ": keys starting with '$' are reserved (\"$or\" is not supported by this matcher)", here);
        if (value.is_object()) {
            if (value.empty()) throw pattern_error(here + ": an object in a pattern must not be empty", here);
            compile_object(value, here, out, depth + 1);
            continue;
        }
        if (!value.is_array())
            throw pattern_error(here + ": expected an array of values to match, such as [\"a\", \"b\"], got " +
                                    std::string(value.type_name()), here);
        if (value.empty()) throw pattern_error(here + ": an array of values must not be empty", here);
        auto& values = out[here];
        std::size_t index = 0;
        for (const auto& element : value) {
            const std::string at = here + "[" + std::to_string(index++) + "]";
            if (element.is_string()) values.push_back({value_kind::string, element.get<std::string>()});
            else if (element.is_number()) values.push_back({value_kind::number, element.dump(), element.get<double>()});
            else if (element.is_boolean()) values.push_back({value_kind::boolean, element.dump()});
            else if (element.is_null()) values.push_back({value_kind::null, "null"});
            else if (element.is_object() && !element.empty())
                throw pattern_error(at + ": the operator \"" + element.begin().key() +
                                        "\" is not supported: this matcher accepts exact values only", at);
            else throw pattern_error(at + ": expected a string, number, boolean or null", at);
        }
    }
}

}  // namespace detail

// Throws pattern_error naming the JSON path of the first problem (or the byte offset of a syntax
// error).
inline compiled_pattern compile(std::string_view text) {
    nlohmann::json parsed;
    try {
        parsed = nlohmann::json::parse(text);
    } catch (const nlohmann::json::parse_error& ex) {
        throw pattern_error(std::string("pattern is not valid JSON at byte ") + std::to_string(ex.byte) + ": " + ex.what(), {},
                            ex.byte);
    }
    if (!parsed.is_object()) throw pattern_error("a pattern must be a JSON object, got " + std::string(parsed.type_name()));
    if (parsed.empty()) throw pattern_error("a pattern must name at least one field");
    compiled_pattern out;
    detail::compile_object(parsed, "", out.conditions_, 1);
    return out;
}

}  // namespace switchyard::pattern
