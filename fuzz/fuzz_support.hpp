// Helpers shared by switchyard's libFuzzer targets: splitting an input into parts, a strict
// JSON validity check, and an invariant check that stops the fuzzer with a message.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace switchyard_fuzz {

// abort() (not an exception) so a violated invariant is reported by libFuzzer as a crash with
// the input saved, whatever the code under test does with exceptions.
[[noreturn]] inline void fail(const char* what, std::string_view detail = {}) {
    std::fprintf(stderr, "switchyard fuzz invariant violated: %s\n", what);
    if (!detail.empty())
        std::fprintf(stderr, "  %.*s\n", static_cast<int>(std::min<std::size_t>(detail.size(), 2000)), detail.data());
    std::abort();
}

inline void check(bool ok, const char* what, std::string_view detail = {}) {
    if (!ok) fail(what, detail);
}

// Splits `text` at every `separator` (an input without one is a single part).
inline std::vector<std::string_view> split(std::string_view text, char separator) {
    std::vector<std::string_view> parts;
    for (;;) {
        const auto at = text.find(separator);
        if (at == std::string_view::npos) {
            parts.push_back(text);
            return parts;
        }
        parts.push_back(text.substr(0, at));
        text.remove_prefix(at + 1);
    }
}

// nlohmann's parser stops at a NUL byte as if the input ended there, so `accept` alone would
// call "{}\0garbage" valid. A raw NUL can never appear in JSON text (control characters in
// strings must be escaped), so reject it first.
inline bool strictly_json(std::string_view text) {
    return text.find('\0') == std::string_view::npos && nlohmann::json::accept(text);
}

// Whether some object in `text` (valid JSON) names a member twice. nlohmann's DOM keeps the last
// one silently; the bus refuses such a detail (rules and handlers could read different values),
// so an oracle must know.
inline bool has_duplicate_member(std::string_view text) {
    struct keys_sax : nlohmann::json_sax<nlohmann::json> {
        std::vector<std::vector<std::string>> objects;  // member names seen, per open object
        bool duplicate = false;
        bool null() override { return true; }
        bool boolean(bool) override { return true; }
        bool number_integer(number_integer_t) override { return true; }
        bool number_unsigned(number_unsigned_t) override { return true; }
        bool number_float(number_float_t, const string_t&) override { return true; }
        bool string(string_t&) override { return true; }
        bool binary(binary_t&) override { return true; }
        bool start_object(std::size_t) override {
            objects.emplace_back();
            return true;
        }
        bool key(string_t& k) override {
            auto& seen = objects.back();
            if (std::find(seen.begin(), seen.end(), k) != seen.end()) duplicate = true;
            seen.push_back(k);
            return !duplicate;
        }
        bool end_object() override {
            objects.pop_back();
            return true;
        }
        bool start_array(std::size_t) override { return true; }
        bool end_array() override { return true; }
        bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override { return false; }
    } sax;
    (void)nlohmann::json::sax_parse(text.begin(), text.end(), &sax);
    return sax.duplicate;
}

// The nesting depth of a DOM (1 for a scalar or an empty container's level).
inline std::size_t depth_of(const nlohmann::json& v) {
    std::size_t deepest = 0;
    if (v.is_structured())
        for (const auto& child : v) deepest = std::max(deepest, depth_of(child));
    return (v.is_structured() ? 1 : 0) + deepest;
}

}  // namespace switchyard_fuzz
