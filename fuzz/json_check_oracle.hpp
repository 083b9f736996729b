// The test-only oracle for switchyard::detail::check_json_object: the implementation it had before
// the hand-written validator (detail/json_validate-inl.hpp), nlohmann/json's SAX parser with the
// same callbacks, kept verbatim. The unit test (tests/detail/json_validate_test.cpp), the fuzz
// target fuzz_put_events and the benchmark (json_check/...) compare the two: same acceptance,
// same problem kind.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "switchyard/detail/json_object_check.hpp"

namespace switchyard_oracle {

using switchyard::detail::json_problem;

namespace oracle_detail {

// Rejects duplicate member names (the pattern matcher and nlohmann would otherwise each read a
// different one of the two: a filter bypass) and numbers beyond a double's range.
class sax {
public:
    using json = nlohmann::json;

    bool null() { return value(); }
    bool boolean(bool) { return value(); }
    bool number_integer(json::number_integer_t) { return value(); }
    bool number_unsigned(json::number_unsigned_t) { return value(); }
    bool number_float(json::number_float_t, const std::string&) { return value(); }
    bool string(std::string&) { return value(); }
    bool binary(json::binary_t&) { return value(); }
    bool start_object(std::size_t) {
        if (depth_ == 0) top_is_object_ = true;
        element();
        push(true);
        return true;
    }
    bool key(std::string& name) {
        auto& level = levels_[depth_ - 1];
        if (!level.seen_set.empty() || level.seen.size() >= 16) {
            if (level.seen_set.empty()) level.seen_set.insert(level.seen.begin(), level.seen.end());
            const auto [at, inserted] = level.seen_set.insert(name);
            if (!inserted) return duplicate(name);
            level.last = &*at;  // a set's elements stay where they are
        } else {
            for (const auto& k : level.seen)
                if (k == name) return duplicate(name);
            level.seen.push_back(name);
            level.last = nullptr;  // seen.back()
        }
        return true;
    }
    bool end_object() {
        --depth_;
        return true;
    }
    bool start_array(std::size_t) {
        element();
        push(false);
        return true;
    }
    bool end_array() { return end_object(); }
    bool parse_error(std::size_t position, const std::string& token, const nlohmann::detail::exception& ex) {
        if (problem) return false;
        if (ex.id == 406) {
            problem = json_problem{json_problem::kind::number_out_of_range,
                                   fmt::format("has a number outside the range of a double ({}) at byte {}: send it as a string, "
                                               "or within ±1.8e308",
                                               token, position)};
        } else {
            problem = json_problem{json_problem::kind::malformed,
                                   fmt::format("is not valid JSON (at byte {}, near \"{}\"): send a JSON object such as "
                                               "{{\"orderId\": \"42\"}}",
                                               position, token.substr(0, 32))};
        }
        return false;
    }

    bool top_is_object_ = false;
    bool any_value_ = false;
    std::optional<json_problem> problem;

private:
    // One open object or array. Levels are reused as the parser goes in and out, so a document
    // costs allocations for its deepest path and its member names only; the path an error
    // names is rebuilt from them when there is an error, not kept up to date on every token.
    struct level {
        bool object = false;
        std::vector<std::string> seen;  // an object's first 16 member names, in order
        std::unordered_set<std::string> seen_set;  // all of them, once there are more
        const std::string* last = nullptr;  // the latest name when it is in seen_set, else seen.back()
        std::size_t elements = 0;  // an array's elements so far
    };
    void push(bool object) {
        if (depth_ == levels_.size()) levels_.emplace_back();
        auto& level = levels_[depth_++];
        level.object = object;
        level.seen.clear();
        level.seen_set.clear();
        level.last = nullptr;
        level.elements = 0;
    }
    bool value() {
        any_value_ = true;
        element();
        return true;
    }
    void element() {
        if (depth_ != 0 && !levels_[depth_ - 1].object) ++levels_[depth_ - 1].elements;
    }
    // The path of the innermost open object, as `.name[2].other`.
    std::string path() const {
        std::string out;
        for (std::size_t d = 0; d + 1 < depth_; ++d) {
            const auto& level = levels_[d];
            if (level.object) {
                out += '.';
                out += printable(level.last ? *level.last : level.seen.back());
            } else {
                out += '[';
                out += std::to_string(level.elements - 1);
                out += ']';
            }
        }
        return out;
    }
    // A member name as a path shows it: control characters (a NUL would cut the message short)
    // make it a quoted JSON string.
    static std::string printable(const std::string& name) {
        for (const char c : name)
            if (static_cast<unsigned char>(c) < 0x20) return nlohmann::json(name).dump();
        return name;
    }
    bool duplicate(const std::string& name) {
        const auto shown = printable(name);
        problem = json_problem{json_problem::kind::duplicate_member,
                               fmt::format("has the member {} twice in one object (at ${}.{}): rules and handlers could "
                                           "read different values, so send each member once",
                                           shown.front() == '"' ? shown : "\"" + shown + "\"", path(), shown)};
        return false;
    }
    std::vector<level> levels_;
    std::size_t depth_ = 0;
};

}  // namespace oracle_detail

// Nothing when `text` is one well-formed JSON object with unique member names and numbers a
// double can hold; otherwise what is wrong. Messages read after a subject ("Detail ...").
inline std::optional<json_problem> oracle_check_json_object(std::string_view text) {
    if (text.size() >= 3 && static_cast<unsigned char>(text[0]) == 0xEF && static_cast<unsigned char>(text[1]) == 0xBB &&
        static_cast<unsigned char>(text[2]) == 0xBF)
        return json_problem{json_problem::kind::byte_order_mark, "starts with a byte-order mark: send the JSON text without one"};
    if (const auto nul = text.find('\0'); nul != std::string_view::npos)
        return json_problem{json_problem::kind::nul_byte,
                            fmt::format("contains a NUL byte at offset {}: JSON text cannot hold one (inside a string, "
                                        "escape it as \\u0000)",
                                        nul)};
    oracle_detail::sax sax;
    const bool ok = nlohmann::json::sax_parse(text.begin(), text.end(), &sax);
    if (sax.problem) return sax.problem;
    if (!ok) return json_problem{json_problem::kind::malformed, "is not valid JSON: send a JSON object such as {\"orderId\": \"42\"}"};
    if (!sax.top_is_object_) {
        const auto parsed_type = text.find_first_not_of(" \t\r\n");
        const char c = parsed_type == std::string_view::npos ? '\0' : text[parsed_type];
        const char* got = c == '[' ? "array" : c == '"' ? "string" : c == 't' || c == 'f' ? "boolean" : c == 'n' ? "null" : "number";
        return json_problem{json_problem::kind::not_an_object, fmt::format("must be a JSON object, got {}", got)};
    }
    return std::nullopt;
}

}  // namespace switchyard_oracle
