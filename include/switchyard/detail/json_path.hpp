// The JSONPath subset EventBridge accepts in InputPath and InputPathsMap: `$`, dot-separated
// member names (letters, digits, `_`, `-`, `/`), array indices `[0]` and the wildcards `.*` and
// `[*]`. Parsed once when a target is configured; evaluated iteratively (no recursion) on a DOM.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "switchyard/error.hpp"

namespace switchyard::detail {

// The two dialects of the one path language. InputPath (EventBridge's): `$` first, names of
// letters, digits, '_', '-', '/' and UTF-8, indices and wildcards. Ordering keys (a FIFO
// target's `ordered_by`): a dotted path of field names, `$.` optional, any character in a
// name but '.', '[', ']' and '*' (event fields are often named freely), no arrays.
struct json_path_grammar {
    std::string_view what = "JSON path";
    std::string_view supported = "supported: $, .name with letters, digits, '_', '-', '/', [index], .* and [*]";
    bool dollar_optional = false;
    bool any_name_chars = false;
    bool members_only = false;
};
inline constexpr json_path_grammar input_path_grammar{};
inline constexpr json_path_grammar ordering_key_grammar{"ordering key",
                                                  "an ordering key is a dotted path of field names such as "
                                                  "\"$.detail.customerId\"",
                                                  true, true, true};


class json_path {
public:
    struct step {
        enum kind_t { member, index, wildcard } kind = member;
        std::string name{};
        std::size_t position = 0;
    };

    // Throws switchyard::error naming the path, the offset and the offending character.
    static json_path parse(std::string_view original, const json_path_grammar& g = input_path_grammar) {
        // An ordering key may leave out the leading "$.": read it as if it were there (offsets in
        // messages still count in the text as written).
        std::string prefixed;
        std::size_t shift = 0;
        if (g.dollar_optional && original.substr(0, 2) != "$.") {
            prefixed = "$." + std::string(original);
            shift = 2;
        }
        const std::string_view text = shift ? std::string_view(prefixed) : original;
        json_path out;
        out.text_ = std::string(original);
        auto fail = [&](std::size_t at, std::string_view why) {
            throw error(std::string(g.what) + " \"" + std::string(original) + "\" is invalid at offset " +
                        std::to_string(at >= shift ? at - shift : 0) + ": " + std::string(why) + " (" + std::string(g.supported) + ")");
        };
        auto name_char = [&](char c) {
            return g.any_name_chars ? c != '.' && c != '[' && c != ']' && c != '*' : is_name_char(c);
        };
        if (text.empty() || text[0] != '$') fail(0, "a path starts with '$'");
        std::size_t pos = 1;
        while (pos < text.size()) {
            const char c = text[pos];
            if (c == '.') {
                ++pos;
                if (pos < text.size() && text[pos] == '*') {
                    if (g.members_only) fail(pos, "wildcards are not allowed here");
                    out.steps_.push_back({step::wildcard, {}, 0});
                    out.definite_ = false;
                    ++pos;
                    continue;
                }
                const std::size_t start = pos;
                while (pos < text.size() && name_char(text[pos])) ++pos;
                if (pos == start) fail(pos, "expected a member name after '.'");
                out.steps_.push_back({step::member, std::string(text.substr(start, pos - start)), 0});
            } else if (c == '[') {
                if (g.members_only) fail(pos, "arrays are not on a dotted path of field names");
                ++pos;
                if (pos < text.size() && text[pos] == '*') {
                    ++pos;
                    out.steps_.push_back({step::wildcard, {}, 0});
                    out.definite_ = false;
                } else {
                    const std::size_t start = pos;
                    std::size_t value = 0;
                    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
                        if (pos - start >= 9) fail(pos, "array index too large");
                        value = value * 10 + static_cast<std::size_t>(text[pos] - '0');
                        ++pos;
                    }
                    if (pos == start)
                        fail(pos, pos < text.size() && (text[pos] == '\'' || text[pos] == '"')
                                      ? "bracket notation for names is not supported, use .name"
                                      : "expected an array index or '*' inside [ ]");
                    out.steps_.push_back({step::index, {}, value});
                }
                if (pos >= text.size() || text[pos] != ']') fail(pos, "expected ']'");
                ++pos;
            } else {
                fail(pos, "expected '.' or '['");
            }
        }
        return out;
    }

    const std::string& text() const noexcept { return text_; }
    const std::vector<step>& steps() const noexcept { return steps_; }
    // A definite path names at most one value; a path with a wildcard yields a list.
    bool definite() const noexcept { return definite_; }

    // True when the path starts `$.detail`, so it can be evaluated on the detail alone.
    bool under_detail() const noexcept {
        return !steps_.empty() && steps_[0].kind == step::member && steps_[0].name == "detail";
    }

    // The single value a definite path names, or null when it does not exist. `from` skips
    // leading steps (1 to evaluate a `$.detail...` path on the detail).
    template <class Json> const Json* find(const Json& root, std::size_t from = 0) const {
        const Json* at = &root;
        for (std::size_t i = from; i < steps_.size(); ++i) {
            const step& s = steps_[i];
            if (s.kind == step::member) {
                if (!at->is_object()) return nullptr;
                const auto it = at->find(s.name);
                if (it == at->end()) return nullptr;
                at = &*it;
            } else {  // index (definite paths have no wildcard)
                if (!at->is_array() || s.position >= at->size()) return nullptr;
                at = &(*at)[s.position];
            }
        }
        return at;
    }

    // Every value the path names, in document order. Iterative, one level per step, so the work
    // is bounded by the document's size.
    template <class Json> std::vector<const Json*> find_all(const Json& root, std::size_t from = 0) const {
        std::vector<const Json*> current{&root}, next;
        for (std::size_t i = from; i < steps_.size(); ++i) {
            const step& s = steps_[i];
            next.clear();
            for (const Json* at : current) {
                switch (s.kind) {
                    case step::member:
                        if (at->is_object()) {
                            const auto it = at->find(s.name);
                            if (it != at->end()) next.push_back(&*it);
                        }
                        break;
                    case step::index:
                        if (at->is_array() && s.position < at->size()) next.push_back(&(*at)[s.position]);
                        break;
                    case step::wildcard:
                        if (at->is_object() || at->is_array())
                            for (const auto& child : *at) next.push_back(&child);
                        break;
                }
            }
            std::swap(current, next);
            if (current.empty()) break;
        }
        return current;
    }

private:
    // EventBridge documents alphanumerics, '-', '_' and '/'; bytes >= 0x80 let UTF-8 names through.
    static bool is_name_char(char c) noexcept {
        const auto u = static_cast<unsigned char>(c);
        return (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || (u >= '0' && u <= '9') || u == '_' || u == '-' ||
               u == '/' || u >= 0x80;
    }

    std::string text_;
    std::vector<step> steps_;
    bool definite_ = true;
};

// The length of the valid UTF-8 sequence (RFC 3629: no overlongs, no surrogates, at most
// U+10FFFF) that starts at text[i], a multi-byte lead; 0 when the bytes there are not one.
inline std::size_t utf8_sequence_length(std::string_view text, std::size_t i) noexcept {
    const auto c = static_cast<unsigned char>(text[i]);
    std::size_t len = 0;
    unsigned lo = 0x80, hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) len = 2;
    else if (c == 0xe0) { len = 3; lo = 0xa0; }
    else if (c >= 0xe1 && c <= 0xec) len = 3;
    else if (c == 0xed) { len = 3; hi = 0x9f; }
    else if (c >= 0xee && c <= 0xef) len = 3;
    else if (c == 0xf0) { len = 4; lo = 0x90; }
    else if (c >= 0xf1 && c <= 0xf3) len = 4;
    else if (c == 0xf4) { len = 4; hi = 0x8f; }
    if (len == 0 || i + len > text.size()) return 0;
    for (std::size_t k = 1; k < len; ++k) {
        const auto b = static_cast<unsigned char>(text[i + k]);
        if (k == 1 ? (b < lo || b > hi) : (b < 0x80 || b > 0xbf)) return 0;
    }
    return len;
}

// Appends `text` to `out` as the inside of a JSON string: quotes, backslashes and control
// characters escaped, and any byte sequence that is not valid UTF-8 replaced by U+FFFD, so the
// result is valid JSON whatever the input.
inline void append_json_string_body(std::string& out, std::string_view text) {
    static constexpr char hex[] = "0123456789abcdef";
    std::size_t i = 0;
    const std::size_t n = text.size();
    while (i < n) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (c < 0x80) {
            switch (c) {
                case '"': out += "\\\""; break;
                case '\\': out += "\\\\"; break;
                case '\n': out += "\\n"; break;
                case '\r': out += "\\r"; break;
                case '\t': out += "\\t"; break;
                case '\b': out += "\\b"; break;
                case '\f': out += "\\f"; break;
                default:
                    if (c < 0x20) {
                        out += "\\u00";
                        out += hex[c >> 4];
                        out += hex[c & 0xf];
                    } else {
                        out += static_cast<char>(c);
                    }
            }
            ++i;
            continue;
        }
        if (const std::size_t len = utf8_sequence_length(text, i); len != 0) {
            out.append(text.data() + i, len);
            i += len;
        } else {
            out += "\\ufffd";
            ++i;
        }
    }
}

}  // namespace switchyard::detail
