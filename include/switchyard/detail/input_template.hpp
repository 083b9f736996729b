// Compiles an EventBridge input template into literal text and placeholders, each placeholder
// marked as sitting in a JSON value position or inside a JSON string (or in a plain-text
// template). Used by switchyard/transform.hpp; nothing here runs per event.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "switchyard/error.hpp"

namespace switchyard::detail {

struct template_segment {
    enum kind_t {
        literal,  // template text, copied as is
        value,    // a placeholder in a JSON value position: the value goes in as JSON
        spliced,  // a placeholder inside a JSON string: the value's text goes in, escaped
        text,     // a placeholder in a plain-text template: the value's text goes in unescaped
    } kind = literal;
    std::string literal_text{};
    std::size_t variable = 0;
};

struct compiled_template {
    std::vector<template_segment> segments{};
    bool is_json = true;
};

// Maps a placeholder name (at a byte offset of the template) to a variable index, or throws
// switchyard::error when the name is not defined.
using placeholder_resolver = std::function<std::size_t(std::string_view name, std::size_t offset)>;

class template_compiler {
public:
    static constexpr std::size_t max_depth = 128;

    // A template whose first non-blank character is `{`, `[` or `"` must be JSON (with
    // placeholders); anything else is JSON when it parses as JSON and plain text otherwise.
    static compiled_template compile(std::string_view text, const placeholder_resolver& resolve) {
        std::size_t first = 0;
        while (first < text.size() && is_ws(text[first])) ++first;
        const bool json_shaped = first < text.size() && (text[first] == '{' || text[first] == '[' || text[first] == '"');
        template_compiler json(text, resolve);
        try {
            json.parse_document();
            return {std::move(json.segments_), true};
        } catch (const syntax_error& e) {
            if (json_shaped)
                throw error("input template is not valid JSON at offset " + std::to_string(e.at) + ": " + e.what +
                            ". A template that starts with '{', '[' or '\"' must be JSON, with <variable> placeholders "
                            "as values or inside strings; any other template is sent as plain text");
        }
        template_compiler plain(text, resolve);
        plain.parse_plain();
        return {std::move(plain.segments_), false};
    }

    // Placeholder names: letters, digits, '_', '-' and '.', as EventBridge's reserved
    // `aws.events.event.ingestion-time` needs.
    static bool is_name_char(char c) noexcept {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
               c == '.';
    }

private:
    struct syntax_error {
        std::size_t at;
        std::string what;
    };

    template_compiler(std::string_view text, const placeholder_resolver& resolve) : t_(text), resolve_(resolve) {}

    static bool is_ws(char c) noexcept { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

    [[noreturn]] void fail(std::string what) const { throw syntax_error{pos_, std::move(what)}; }
    bool eof() const noexcept { return pos_ >= t_.size(); }
    char peek() const noexcept { return t_[pos_]; }
    void ws() {
        while (!eof() && is_ws(peek())) ++pos_;
    }

    // Length of the `<name>` placeholder starting at `at`, or 0 when there is none.
    std::size_t placeholder_length(std::size_t at) const noexcept {
        std::size_t p = at + 1;
        while (p < t_.size() && is_name_char(t_[p])) ++p;
        if (p == at + 1 || p >= t_.size() || t_[p] != '>') return 0;
        return p + 1 - at;
    }

    void emit(template_segment::kind_t kind, std::size_t length) {
        if (pos_ > literal_start_)
            segments_.push_back({template_segment::literal, std::string(t_.substr(literal_start_, pos_ - literal_start_)), 0});
        const std::string_view name = t_.substr(pos_ + 1, length - 2);
        segments_.push_back({kind, {}, resolve_(name, pos_)});
        pos_ += length;
        literal_start_ = pos_;
    }

    void flush() {
        if (t_.size() > literal_start_)
            segments_.push_back({template_segment::literal, std::string(t_.substr(literal_start_)), 0});
    }

    void parse_plain() {
        while (!eof()) {
            if (peek() == '<') {
                if (const std::size_t length = placeholder_length(pos_)) {
                    emit(template_segment::text, length);
                    continue;
                }
            }
            ++pos_;
        }
        flush();
    }

    void parse_document() {
        value();
        ws();
        if (!eof()) fail("unexpected text after the JSON value");
        flush();
    }

    void value() {
        if (++depth_ > max_depth) fail("nested more than " + std::to_string(max_depth) + " levels deep");
        ws();
        if (eof()) fail("unexpected end, expected a JSON value or a <variable>");
        switch (peek()) {
            case '{': object(); break;
            case '[': array(); break;
            case '"': string(false); break;
            case '<': {
                const std::size_t length = placeholder_length(pos_);
                if (length == 0) fail("'<' does not start a <variable> placeholder");
                emit(template_segment::value, length);
                break;
            }
            case 't': word("true"); break;
            case 'f': word("false"); break;
            case 'n': word("null"); break;
            default:
                if (peek() == '-' || (peek() >= '0' && peek() <= '9')) number();
                else fail(std::string("unexpected character '") + peek() + "', expected a JSON value or a <variable>");
        }
        --depth_;
    }

    void object() {
        ++pos_;
        ws();
        if (!eof() && peek() == '}') {
            ++pos_;
            return;
        }
        for (;;) {
            ws();
            if (eof()) fail("unterminated object");
            if (peek() == '<' && placeholder_length(pos_) != 0)
                fail("a <variable> cannot be used as an object key (EventBridge forbids it too)");
            if (peek() != '"') fail("expected a quoted member name");
            string(true);
            ws();
            if (eof() || peek() != ':') fail("expected ':' after a member name");
            ++pos_;
            value();
            ws();
            if (eof()) fail("unterminated object");
            if (peek() == ',') {
                ++pos_;
                continue;
            }
            if (peek() == '}') {
                ++pos_;
                return;
            }
            fail("expected ',' or '}' in an object");
        }
    }

    void array() {
        ++pos_;
        ws();
        if (!eof() && peek() == ']') {
            ++pos_;
            return;
        }
        for (;;) {
            value();
            ws();
            if (eof()) fail("unterminated array");
            if (peek() == ',') {
                ++pos_;
                continue;
            }
            if (peek() == ']') {
                ++pos_;
                return;
            }
            fail("expected ',' or ']' in an array");
        }
    }

    void string(bool key) {
        ++pos_;
        for (;;) {
            if (eof()) fail("unterminated string");
            const char c = peek();
            if (c == '"') {
                ++pos_;
                return;
            }
            if (c == '\\') {
                ++pos_;
                if (eof()) fail("unterminated escape");
                const char e = peek();
                if (e == 'u') {
                    for (int i = 1; i <= 4; ++i) {
                        const std::size_t at = pos_ + static_cast<std::size_t>(i);
                        const char h = at < t_.size() ? t_[at] : '\0';
                        if (!((h >= '0' && h <= '9') || (h >= 'a' && h <= 'f') || (h >= 'A' && h <= 'F')))
                            fail("\\u must be followed by four hex digits");
                    }
                    pos_ += 5;
                } else if (e == '"' || e == '\\' || e == '/' || e == 'b' || e == 'f' || e == 'n' || e == 'r' || e == 't') {
                    ++pos_;
                } else {
                    fail(std::string("invalid escape '\\") + e + "' in a string");
                }
                continue;
            }
            if (static_cast<unsigned char>(c) < 0x20) fail("control character in a string; write it as an escape such as \\n");
            if (c == '<') {
                if (const std::size_t length = placeholder_length(pos_)) {
                    if (key) fail("a <variable> cannot be used inside an object key (EventBridge forbids it too)");
                    emit(template_segment::spliced, length);
                    continue;
                }
            }
            ++pos_;
        }
    }

    void word(std::string_view w) {
        if (t_.substr(pos_, w.size()) != w) fail("unexpected word, expected a JSON value or a <variable>");
        pos_ += w.size();
    }

    void number() {
        auto digits = [&] {
            const std::size_t start = pos_;
            while (!eof() && peek() >= '0' && peek() <= '9') ++pos_;
            return pos_ - start;
        };
        if (peek() == '-') ++pos_;
        if (eof()) fail("a number needs digits");
        if (peek() == '0') ++pos_;
        else if (digits() == 0) fail("a number needs digits");
        if (!eof() && peek() == '.') {
            ++pos_;
            if (digits() == 0) fail("a number needs digits after '.'");
        }
        if (!eof() && (peek() == 'e' || peek() == 'E')) {
            ++pos_;
            if (!eof() && (peek() == '+' || peek() == '-')) ++pos_;
            if (digits() == 0) fail("a number needs digits in its exponent");
        }
    }

    std::string_view t_;
    const placeholder_resolver& resolve_;
    std::size_t pos_ = 0;
    std::size_t literal_start_ = 0;
    std::size_t depth_ = 0;
    std::vector<template_segment> segments_;
};

}  // namespace switchyard::detail
