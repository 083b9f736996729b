// Reading JSON text that validate_json_object has already accepted, without building a DOM: the
// members of an object, the elements of an array, each value as its own text (a string with its
// quotes, an object with its brackets). For readers that take a few fields and keep the rest as
// text (parse_event keeps an event's detail exactly as it came). No checks of its own: on text
// the validator refused the results are unspecified, though never a read outside the text.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <type_traits>

#include <nlohmann/json.hpp>

namespace switchyard::detail {

inline bool json_space(char c) noexcept { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

// Where the value that starts at text[from] ends (one past its last byte).
inline std::size_t json_value_end(std::string_view text, std::size_t from) noexcept {
    const std::size_t n = text.size();
    const auto string_end = [&](std::size_t i) {  // i: just past the opening quote
        while (i < n) {
            if (text[i] == '\\') i += 2;
            else if (text[i] == '"') return i + 1;
            else ++i;
        }
        return n;
    };
    if (from >= n) return n;
    const char first = text[from];
    if (first == '"') return string_end(from + 1);
    if (first == '{' || first == '[') {
        int depth = 0;
        for (std::size_t i = from; i < n;) {
            const char c = text[i];
            if (c == '"') {
                i = string_end(i + 1);
                continue;
            }
            if (c == '{' || c == '[') ++depth;
            else if ((c == '}' || c == ']') && --depth == 0) return i + 1;
            ++i;
        }
        return n;
    }
    std::size_t i = from;
    while (i < n && text[i] != ',' && text[i] != '}' && text[i] != ']' && !json_space(text[i])) ++i;
    return i;
}

// A string value's content, `token` being the string with its quotes, into `out` (an envelope
// field, say) without a std::string on the way when the string has no escapes: every event read
// back (the network, the journal, the archive) reads its envelope this way. Escapes are rare in
// the fields read this way, so they go through nlohmann rather than a decoder of our own.
template <class Text> void read_json_string_value(std::string_view token, Text& out) {
    const auto body = token.substr(1, token.size() >= 2 ? token.size() - 2 : 0);
    if (body.find('\\') == std::string_view::npos)
        out = body;
    else
        out = nlohmann::json::parse(token).get<std::string>();
}

// The same, as a std::string.
inline std::string json_string_value(std::string_view token) {
    std::string out;
    read_json_string_value(token, out);
    return out;
}

// What a value is, as nlohmann's type_name() says it, from its first byte.
inline const char* json_type_name(std::string_view value) noexcept {
    switch (value.empty() ? '\0' : value.front()) {
        case '"': return "string";
        case '{': return "object";
        case '[': return "array";
        case 't':
        case 'f': return "boolean";
        case 'n': return "null";
        default: return "number";
    }
}

// Calls f(value) for each element of the array `array` (its text, brackets included), or
// f(name, value) for each member of the object `object`; names are decoded, values are text.
template <class F> void for_each_json_item(std::string_view container, F&& f) {
    const std::size_t n = container.size();
    const bool object = !container.empty() && container.front() == '{';
    std::size_t i = 1;
    std::string decoded_name;
    while (true) {
        while (i < n && (json_space(container[i]) || container[i] == ',')) ++i;
        if (i >= n || container[i] == '}' || container[i] == ']') return;
        std::string_view name;
        if (object) {
            const std::size_t name_end = json_value_end(container, i);
            const auto token = container.substr(i, name_end - i);
            if (token.find('\\') == std::string_view::npos) {
                name = token.substr(1, token.size() >= 2 ? token.size() - 2 : 0);
            } else {
                decoded_name = json_string_value(token);
                name = decoded_name;
            }
            i = name_end;
            while (i < n && (json_space(container[i]) || container[i] == ':')) ++i;
        }
        const std::size_t value_end = json_value_end(container, i);
        const auto value = container.substr(i, value_end - i);
        if constexpr (std::is_invocable_v<F&, std::string_view, std::string_view>) f(name, value);
        else f(value);
        i = value_end;
    }
}

}  // namespace switchyard::detail
