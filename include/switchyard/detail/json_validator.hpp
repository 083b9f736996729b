// The JSON-object validator behind detail/json_validate.hpp, all inline: libswitchyard compiles it
// once (detail/json_validate-inl.hpp); its test and the fuzzer include it directly, so that the
// fuzzer's coverage instrumentation sees it.
//
// What is accepted is exactly what nlohmann/json's strict parser accepts (its lexer::scan_string,
// scan_number and parser), plus the checks check_json_object always made: unique member names
// (compared after unescaping) and numbers a double can hold. The differential test against the
// old nlohmann-based check (fuzz/json_check_oracle.hpp) and the fuzzer keep it so. Where the text
// is malformed, the byte and the "near" text of the message follow nlohmann's conventions (the
// byte is how many bytes its lexer had read; the text runs from the latest string or number).
#pragma once

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <forward_list>
#include <optional>
#include <string>
#include <string_view>
#include <functional>
#include <vector>

#include <fmt/format.h>

#include "switchyard/detail/json_validate.hpp"

namespace switchyard::detail::json_validation {

using byte = unsigned char;

// A stack of trivially copyable values held in the object up to N of them, on the heap beyond:
// the common document (a few levels, a few dozen names) costs no allocation.
template <class T, std::size_t N> class small_stack {
public:
    small_stack() = default;
    small_stack(const small_stack&) = delete;
    small_stack& operator=(const small_stack&) = delete;

    std::size_t size() const noexcept { return size_; }
    bool empty() const noexcept { return size_ == 0; }
    T& operator[](std::size_t i) noexcept { return data_[i]; }
    const T& operator[](std::size_t i) const noexcept { return data_[i]; }
    T& back() noexcept { return data_[size_ - 1]; }
    void push_back(const T& value) {
        if (size_ == capacity_) grow();
        data_[size_++] = value;
    }
    void pop_back() noexcept { --size_; }
    void truncate(std::size_t n) noexcept { size_ = n; }

private:
    void grow() {
        const bool was_inline = data_ == inline_;
        heap_.resize(capacity_ * 2);
        if (was_inline) std::copy(inline_, inline_ + size_, heap_.begin());
        data_ = heap_.data();
        capacity_ *= 2;
    }
    T inline_[N];
    std::vector<T> heap_;
    T* data_ = inline_;
    std::size_t size_ = 0;
    std::size_t capacity_ = N;
};

inline bool is_digit(byte c) noexcept { return static_cast<byte>(c - '0') < 10; }

inline int hex_value(byte c) noexcept {
    if (is_digit(c)) return c - '0';
    const byte lower = static_cast<byte>(c | 0x20);
    return lower >= 'a' && lower <= 'f' ? lower - 'a' + 10 : -1;
}

// 2^1024 - 2^970: halfway between DBL_MAX and 2^1024. A decimal number at or above it rounds to
// infinity (ties go to even, and DBL_MAX's significand is odd), which nlohmann reports as error
// 406; anything below rounds to a finite double.
inline constexpr std::string_view double_overflow_threshold =
    "17976931348623158079372897140530341507993413271003782693617377898044496829276475094664901797758720709633028641669"
    "28879109465555478519404026306574886715058206819089020007083836762738548458177115317644757302700698555713669596228"
    "42914819860834936475292719074168444365510704342711559699508093042880177904174497792";
static_assert(double_overflow_threshold.size() == 309);

// Whether the number token [s, e) (valid JSON grammar) is beyond a double's range: decided from
// its digits, without converting it. Called only for tokens with an exponent or over 308
// integer digits.
inline bool overflows_double(const byte* s, const byte* e) noexcept {
    const byte* p = s;
    if (*p == '-') ++p;
    const byte* const integer = p;
    while (p != e && is_digit(*p)) ++p;
    const byte* first = nullptr;  // the first significant digit
    std::int64_t magnitude = 0;   // the value is in [10^(magnitude-1), 10^magnitude)
    if (*integer != '0') {
        first = integer;
        magnitude = p - integer;
    }
    if (p != e && *p == '.') {
        const byte* const fraction = ++p;
        while (p != e && is_digit(*p)) ++p;
        if (!first)
            for (const byte* q = fraction; q != p; ++q)
                if (*q != '0') {
                    first = q;
                    magnitude = -(q - fraction);
                    break;
                }
    }
    if (!first) return false;  // zero
    const byte* const mantissa_end = p;
    if (p != e) {  // the exponent: saturated far beyond anything a text's digits could offset
        ++p;
        bool negative = false;
        if (*p == '+' || *p == '-') negative = *p++ == '-';
        std::int64_t exponent = 0;
        for (; p != e; ++p)
            if (exponent < 1'000'000'000'000'000) exponent = exponent * 10 + (*p - '0');
        magnitude += negative ? -exponent : exponent;
    }
    if (magnitude <= 308) return false;  // below 1e308
    if (magnitude >= 310) return true;   // at least 1e309
    // Between 1e308 and 1e309: compare the significant digits with the threshold's.
    std::size_t i = 0;
    for (const byte* q = first; q != mantissa_end && i < double_overflow_threshold.size(); ++q) {
        if (*q == '.') continue;
        const auto limit = static_cast<byte>(double_overflow_threshold[i++]);
        if (*q != limit) return *q > limit;
    }
    return i == double_overflow_threshold.size();  // fewer digits are followed by zeros: below it
}

// Appends code point `cp` as UTF-8.
inline void append_utf8(std::string& out, std::uint32_t cp) {
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xC0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += static_cast<char>(0xE0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    }
}

// The four hex digits at `p` (already validated) as a number.
inline std::uint32_t hex4(const char* p) noexcept {
    std::uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v = v * 16 + static_cast<std::uint32_t>(hex_value(static_cast<byte>(p[i])));
    return v;
}

// The contents of a validated JSON string (between its quotes) with its escapes decoded.
inline std::string unescape(std::string_view raw) {
    std::string out;
    out.reserve(raw.size());
    for (std::size_t i = 0; i < raw.size(); ++i) {
        const char c = raw[i];
        if (c != '\\') {
            out += c;
            continue;
        }
        switch (raw[++i]) {
            case 'b': out += '\b'; break;
            case 'f': out += '\f'; break;
            case 'n': out += '\n'; break;
            case 'r': out += '\r'; break;
            case 't': out += '\t'; break;
            case 'u': {
                std::uint32_t cp = hex4(raw.data() + i + 1);
                i += 4;
                if (cp >= 0xD800 && cp <= 0xDBFF) {  // validated: a low surrogate's \uXXXX follows
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (hex4(raw.data() + i + 3) - 0xDC00);
                    i += 6;
                }
                append_utf8(out, cp);
                break;
            }
            default: out += raw[i]; break;  // " \ /
        }
    }
    return out;
}

// A member name as an error's path shows it: one with a control character (a NUL would cut the
// message short) becomes a quoted JSON string, escaped as nlohmann's dump() escapes it.
inline std::string printable(std::string_view name) {
    if (std::none_of(name.begin(), name.end(), [](char c) { return static_cast<byte>(c) < 0x20; })) return std::string(name);
    std::string out = "\"";
    for (const char c : name) {
        switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\b': out += "\\b"; break;
            case '\f': out += "\\f"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            default:
                if (static_cast<byte>(c) < 0x20) out += fmt::format("\\u{:04x}", static_cast<unsigned>(static_cast<byte>(c)));
                else out += c;
        }
    }
    out += '"';
    return out;
}

class validator {
public:
    explicit validator(std::string_view text) noexcept
        : begin_(reinterpret_cast<const byte*>(text.data())), end_(begin_ + text.size()), token_(begin_) {}

    // False when the text is not one JSON value with unique names and numbers in range; then
    // problem() says why.
    bool parse();
    json_problem& problem() noexcept { return *problem_; }

private:
    struct frame {
        std::size_t keys_begin;  // an object's names are keys_[keys_begin, keys_.size())
        std::size_t elements;    // an array's elements so far
        bool object;
        bool hashed;  // an object's names are in tables_[depth] too (from 16 of them on)
    };

    static bool whitespace(byte c) noexcept { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }
    const byte* skip_whitespace(const byte* p) const noexcept {
        while (p != end_ && whitespace(*p)) ++p;
        return p;
    }
    // Past the bytes a string holds as they are: not a quote, backslash, control character or
    // the start of a multi-byte sequence. Eight at a time where the machine allows.
    const byte* skip_plain(const byte* p) const noexcept {
        if constexpr (std::endian::native == std::endian::little) {
            constexpr std::uint64_t ones = 0x0101010101010101u, high = 0x8080808080808080u;
            while (end_ - p >= 8) {
                std::uint64_t w;
                std::memcpy(&w, p, 8);
                const std::uint64_t quote = w ^ (ones * '"'), backslash = w ^ (ones * '\\');
                // A byte's high bit in `hit` is exact for the lowest such byte (borrows only
                // carry upward), which is all countr_zero looks at.
                const std::uint64_t hit =
                    (((w - ones * 0x20) & ~w) | ((quote - ones) & ~quote) | ((backslash - ones) & ~backslash) | w) & high;
                if (hit) return p + (std::countr_zero(hit) >> 3);
                p += 8;
            }
        }
        while (p != end_ && *p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\') ++p;
        return p;
    }

    // Scanners: past the token that starts at `p`, or nullptr with bad_ at the byte where
    // nlohmann's lexer stops (end_ when the text ends first).
    const byte* stop(const byte* at) noexcept {
        bad_ = at;
        return nullptr;
    }
    const byte* scan_string(const byte* p, bool& escaped) noexcept;
    const byte* scan_hex4(const byte* p, std::uint32_t& value) noexcept;
    const byte* scan_utf8(const byte* p) noexcept;
    const byte* scan_number(const byte* p, bool& check_range) noexcept;
    const byte* scan_literal(const byte* p, std::string_view word) noexcept {
        if (static_cast<std::size_t>(end_ - p) >= word.size() && std::memcmp(p, word.data(), word.size()) == 0) return p + word.size();
        for (std::size_t i = 1;; ++i)
            if (p + i == end_ || p[i] != static_cast<byte>(word[i])) return stop(p + i);
    }

    const byte* member(const byte* p);
    bool add_name(std::string_view name);
    bool find_or_insert(std::vector<std::size_t>& table, std::size_t index);
    void push(bool object) { frames_.push_back(frame{keys_.size(), 0, object, false}); }
    void pop() noexcept {
        keys_.truncate(frames_.back().keys_begin);
        frames_.pop_back();
    }

    // Problems. Each returns false (or nullptr) for the caller to pass on.
    bool malformed(std::size_t position);
    bool lexer_error() { return malformed(static_cast<std::size_t>(bad_ - begin_) + 1); }
    bool unexpected(const byte* p);
    bool out_of_range(const byte* s, const byte* e);
    bool duplicate(std::string_view name);

    const byte* const begin_;
    const byte* const end_;
    const byte* token_;  // where the latest string or number began (nlohmann's "near" text starts there)
    const byte* bad_ = nullptr;
    small_stack<frame, 32> frames_;
    // A member name: a view into the text or into unescaped_. Not a string_view, whose
    // constructor would clear every slot of keys_ on each call.
    struct name_ref {
        const char* data;
        std::size_t size;
        operator std::string_view() const noexcept { return {data, size}; }
    };
    small_stack<name_ref, 64> keys_;  // names of the open objects
    std::forward_list<std::string> unescaped_;  // names that had an escape, decoded (stable addresses)
    // Per depth, for an object with many names: an open-addressing table of indices into keys_
    // (plus one; 0 is empty), at most half full. Kept from object to object, so reused.
    std::vector<std::vector<std::size_t>> tables_;
    std::optional<json_problem> problem_;
};

inline const byte* validator::scan_hex4(const byte* p, std::uint32_t& value) noexcept {
    value = 0;
    for (int i = 0; i < 4; ++i, ++p) {
        if (p == end_) return stop(p);
        const int digit = hex_value(*p);
        if (digit < 0) return stop(p);
        value = value * 16 + static_cast<std::uint32_t>(digit);
    }
    return p;
}

// One UTF-8 sequence as nlohmann's lexer accepts it (Unicode's table 3-7: no overlongs, no
// surrogates, nothing above U+10FFFF).
inline const byte* validator::scan_utf8(const byte* p) noexcept {
    const byte lead = *p;
    int continuation;
    byte low = 0x80, high = 0xBF;  // the range of the first continuation byte
    if (lead >= 0xC2 && lead <= 0xDF) continuation = 1;
    else if (lead == 0xE0) continuation = 2, low = 0xA0;
    else if (lead == 0xED) continuation = 2, high = 0x9F;
    else if (lead >= 0xE1 && lead <= 0xEF) continuation = 2;
    else if (lead == 0xF0) continuation = 3, low = 0x90;
    else if (lead == 0xF4) continuation = 3, high = 0x8F;
    else if (lead >= 0xF1 && lead <= 0xF3) continuation = 3;
    else return stop(p);
    ++p;
    if (p == end_ || *p < low || *p > high) return stop(p);
    ++p;
    for (int i = 1; i < continuation; ++i, ++p)
        if (p == end_ || *p < 0x80 || *p > 0xBF) return stop(p);
    return p;
}

inline const byte* validator::scan_string(const byte* p, bool& escaped) noexcept {
    ++p;  // the opening quote
    for (;;) {
        p = skip_plain(p);
        if (p == end_) return stop(p);  // no closing quote
        const byte c = *p;
        if (c == '"') return p + 1;
        if (c < 0x20) return stop(p);  // a control character must be escaped
        if (c >= 0x80) {
            p = scan_utf8(p);
            if (!p) return nullptr;
            continue;
        }
        // A backslash.
        escaped = true;
        if (++p == end_) return stop(p);
        switch (*p) {
            case '"':
            case '\\':
            case '/':
            case 'b':
            case 'f':
            case 'n':
            case 'r':
            case 't': ++p; continue;
            case 'u': break;
            default: return stop(p);
        }
        std::uint32_t cp;
        p = scan_hex4(p + 1, cp);
        if (!p) return nullptr;
        if (cp >= 0xD800 && cp <= 0xDBFF) {  // a high surrogate: a low one's \uXXXX must follow
            if (p == end_ || *p != '\\') return stop(p);
            if (++p == end_ || *p != 'u') return stop(p);
            std::uint32_t low;
            p = scan_hex4(p + 1, low);
            if (!p) return nullptr;
            if (low < 0xDC00 || low > 0xDFFF) return stop(p - 1);
        } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            return stop(p - 1);  // a low surrogate alone
        }
    }
}

inline const byte* validator::scan_number(const byte* p, bool& check_range) noexcept {
    if (*p == '-' && ++p == end_) return stop(p);
    if (*p == '0') {
        ++p;
    } else if (*p >= '1' && *p <= '9') {
        const byte* const integer = p;
        while (++p != end_ && is_digit(*p)) {
        }
        if (p - integer > 308) check_range = true;
    } else {
        return stop(p);
    }
    if (p != end_ && *p == '.') {
        if (++p == end_ || !is_digit(*p)) return stop(p);
        while (++p != end_ && is_digit(*p)) {
        }
    }
    if (p != end_ && (*p | 0x20) == 'e') {
        if (++p != end_ && (*p == '+' || *p == '-')) ++p;
        if (p == end_ || !is_digit(*p)) return stop(p);
        while (++p != end_ && is_digit(*p)) {
        }
        check_range = true;
    }
    return p;
}

// A member's name and colon at `p`: where its value starts, or nullptr.
inline const byte* validator::member(const byte* p) {
    if (p == end_ || *p != '"') {
        unexpected(p);
        return nullptr;
    }
    token_ = p;
    bool escaped = false;
    const byte* const e = scan_string(p, escaped);
    if (!e) {
        lexer_error();
        return nullptr;
    }
    std::string_view name(reinterpret_cast<const char*>(p + 1), static_cast<std::size_t>(e - p - 2));
    if (escaped) name = unescaped_.emplace_front(unescape(name));
    if (!add_name(name)) return nullptr;
    p = skip_whitespace(e);
    if (p == end_ || *p != ':') {
        unexpected(p);
        return nullptr;
    }
    return skip_whitespace(p + 1);
}

inline bool validator::add_name(std::string_view name) {
    frame& f = frames_.back();
    const std::size_t count = keys_.size() - f.keys_begin;
    if (!f.hashed && count < 16) {
        for (std::size_t i = f.keys_begin; i < keys_.size(); ++i)
            if (std::string_view(keys_[i]) == name) return duplicate(name);
        keys_.push_back({name.data(), name.size()});
        return true;
    }
    const std::size_t depth = frames_.size() - 1;
    if (tables_.size() <= depth) tables_.resize(depth + 1);
    auto& table = tables_[depth];
    if (!f.hashed || (count + 1) * 2 > table.size()) {  // (re)build it from the names so far
        table.assign(std::max<std::size_t>(64, std::bit_ceil((count + 1) * 4)), 0);
        for (std::size_t i = f.keys_begin; i < keys_.size(); ++i) (void)find_or_insert(table, i);
        f.hashed = true;
    }
    keys_.push_back({name.data(), name.size()});
    if (find_or_insert(table, keys_.size() - 1)) {
        keys_.pop_back();
        return duplicate(name);
    }
    return true;
}

// Whether an equal name is in `table` already; if not, keys_[index] is now.
inline bool validator::find_or_insert(std::vector<std::size_t>& table, std::size_t index) {
    const std::string_view name = keys_[index];
    const std::size_t mask = table.size() - 1;
    for (std::size_t slot = std::hash<std::string_view>{}(name) & mask;; slot = (slot + 1) & mask) {
        if (table[slot] == 0) {
            table[slot] = index + 1;
            return false;
        }
        if (std::string_view(keys_[table[slot] - 1]) == name) return true;
    }
}

inline bool validator::parse() {
    if (begin_ != end_ && *begin_ == 0xEF) {  // a byte-order mark cut short (a whole one was refused before)
        const byte* q = begin_ + 1;
        if (q == end_ || *q != 0xBB || ++q == end_ || *q != 0xBF) {
            bad_ = q;
            return lexer_error();
        }
    }
    const byte* p = skip_whitespace(begin_);
    for (;;) {
        // A value starts at p.
        switch (p == end_ ? 0 : *p) {
            case '{':
                push(true);
                p = skip_whitespace(p + 1);
                if (p != end_ && *p == '}') {
                    pop();
                    ++p;
                    break;
                }
                if (!(p = member(p))) return false;
                continue;
            case '[':
                push(false);
                p = skip_whitespace(p + 1);
                if (p != end_ && *p == ']') {
                    pop();
                    ++p;
                    break;
                }
                frames_.back().elements = 1;
                continue;
            case '"': {
                token_ = p;
                bool escaped = false;
                if (!(p = scan_string(p, escaped))) return lexer_error();
                break;
            }
            case 't':
                if (!(p = scan_literal(p, "true"))) return lexer_error();
                break;
            case 'f':
                if (!(p = scan_literal(p, "false"))) return lexer_error();
                break;
            case 'n':
                if (!(p = scan_literal(p, "null"))) return lexer_error();
                break;
            case '-':
            case '0':
            case '1':
            case '2':
            case '3':
            case '4':
            case '5':
            case '6':
            case '7':
            case '8':
            case '9': {
                token_ = p;
                bool check_range = false;
                const byte* const e = scan_number(p, check_range);
                if (!e) return lexer_error();
                if (check_range && overflows_double(p, e)) return out_of_range(p, e);
                p = e;
                break;
            }
            default: return unexpected(p);
        }
        // A value ended at p: close what it ends, up to where the next value starts.
        for (;;) {
            p = skip_whitespace(p);
            if (frames_.empty()) return p == end_ || unexpected(p);
            if (p == end_) return unexpected(p);
            frame& f = frames_.back();
            if (*p == ',') {
                p = skip_whitespace(p + 1);
                if (!f.object) ++f.elements;
                else if (!(p = member(p))) return false;
                break;
            }
            if (*p != (f.object ? '}' : ']')) return unexpected(p);
            pop();
            ++p;
        }
    }
}

inline bool validator::malformed(std::size_t position) {
    // The text from the latest string or number to where the lexer stopped, with control
    // characters shown as nlohmann shows them.
    const auto size = static_cast<std::size_t>(end_ - begin_);
    const auto from = static_cast<std::size_t>(token_ - begin_);
    std::string near;
    for (std::size_t i = from; i < std::min(position, size) && near.size() < 32; ++i) {
        const auto c = begin_[i];
        if (c < 0x20) near += fmt::format("<U+{:04X}>", static_cast<unsigned>(c));
        else near += static_cast<char>(c);
    }
    if (near.size() > 32) near.resize(32);
    problem_ = json_problem{json_problem::kind::malformed,
                            fmt::format("is not valid JSON (at byte {}, near \"{}\"): send a JSON object such as "
                                        "{{\"orderId\": \"42\"}}",
                                        position, near)};
    return false;
}

// A token where it cannot be: nlohmann reads it whole first (a string or number also starts
// the "near" text), or stops inside it if it is not a token at all.
inline bool validator::unexpected(const byte* p) {
    const byte* e = nullptr;
    if (p == end_) return malformed(static_cast<std::size_t>(end_ - begin_) + 1);
    bool unused = false;
    switch (*p) {
        case '"': token_ = p; e = scan_string(p, unused); break;
        case 't': e = scan_literal(p, "true"); break;
        case 'f': e = scan_literal(p, "false"); break;
        case 'n': e = scan_literal(p, "null"); break;
        case '-':
        case '0':
        case '1':
        case '2':
        case '3':
        case '4':
        case '5':
        case '6':
        case '7':
        case '8':
        case '9': token_ = p; e = scan_number(p, unused); break;
        default: e = p + 1; break;
    }
    return e ? malformed(static_cast<std::size_t>(e - begin_)) : lexer_error();
}

inline bool validator::out_of_range(const byte* s, const byte* e) {
    problem_ = json_problem{json_problem::kind::number_out_of_range,
                            fmt::format("has a number outside the range of a double ({}) at byte {}: send it as a string, "
                                        "or within ±1.8e308",
                                        std::string_view(reinterpret_cast<const char*>(s), static_cast<std::size_t>(e - s)),
                                        e - begin_)};
    return false;
}

inline bool validator::duplicate(std::string_view name) {
    // The path of the object that holds the name, as `.name[2].other`.
    std::string path;
    for (std::size_t d = 0; d + 1 < frames_.size(); ++d) {
        const frame& f = frames_[d];
        if (f.object) {
            path += '.';
            path += printable(keys_[frames_[d + 1].keys_begin - 1]);  // its latest name
        } else {
            path += fmt::format("[{}]", f.elements - 1);
        }
    }
    const auto shown = printable(name);
    problem_ = json_problem{json_problem::kind::duplicate_member,
                            fmt::format("has the member {} twice in one object (at ${}.{}): rules and handlers could "
                                        "read different values, so send each member once",
                                        !shown.empty() && shown.front() == '"' ? shown : "\"" + shown + "\"", path, shown)};
    return false;
}

// See validate_json_object (detail/json_validate.hpp).
inline std::optional<json_problem> validate(std::string_view text) {
    if (text.size() >= 3 && static_cast<unsigned char>(text[0]) == 0xEF && static_cast<unsigned char>(text[1]) == 0xBB &&
        static_cast<unsigned char>(text[2]) == 0xBF)
        return json_problem{json_problem::kind::byte_order_mark, "starts with a byte-order mark: send the JSON text without one"};
    validator v(text);
    if (!v.parse()) {
        // A NUL byte is named whatever else is wrong (valid text never holds one, so it is only
        // looked for here).
        if (const auto nul = text.find('\0'); nul != std::string_view::npos)
            return json_problem{json_problem::kind::nul_byte,
                                fmt::format("contains a NUL byte at offset {}: JSON text cannot hold one (inside a string, "
                                            "escape it as \\u0000)",
                                            nul)};
        return std::move(v.problem());
    }
    const auto first = text.find_first_not_of(" \t\r\n");
    const char c = text[first];  // a value was parsed: there is one
    if (c == '{') return std::nullopt;
    const char* got = c == '[' ? "array" : c == '"' ? "string" : c == 't' || c == 'f' ? "boolean" : c == 'n' ? "null" : "number";
    return json_problem{json_problem::kind::not_an_object, fmt::format("must be a JSON object, got {}", got)};
}

}  // namespace switchyard::detail::json_validation
