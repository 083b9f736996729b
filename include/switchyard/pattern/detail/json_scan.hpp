// The skipping JSON scanner: walks JSON text alongside the field-name automaton and extracts
// only the leaves some rule reads. Members nobody reads are skipped by bracket counting, 64 bytes
// at a time with SSE2. Once every member a rule reads in an object has been seen, the rest of
// that object (at the top level, of the document) is only searched for a repeat of one of those
// member names (a duplicate replaces the earlier member: last wins, as nlohmann::json reads it);
// without one it is skipped unread. It assumes nothing about its input
// beyond memory safety: malformed text makes scan() return false, but text that is only
// malformed inside skipped parts may go unnoticed (validate elsewhere when that matters).
#pragma once

#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <bit>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "switchyard/pattern/detail/casefold.hpp"
#include "switchyard/pattern/detail/index.hpp"
#include "switchyard/pattern/flat_event.hpp"

namespace switchyard::pattern::detail {

// Appends the leaf to the event, copying the current array trail.
inline void add_leaf(flat_event& ev, const std::vector<array_step>& trail, const path_index* index, value_kind kind,
                     std::string_view text, double number, bool buffered, std::uint32_t text_offset) {
    std::uint32_t trail_offset = 0;
    std::uint16_t trail_size = 0;
    if (!trail.empty()) {
        trail_offset = static_cast<std::uint32_t>(ev.trails.size());
        trail_size = static_cast<std::uint16_t>(trail.size());
        ev.trails.insert(ev.trails.end(), trail.begin(), trail.end());
    }
    ev.fields.push_back(flat_field{index, text, number, text_offset, trail_offset, trail_size, kind, buffered});
}

// Points buffered fields' text at the (now final) buffer.
inline void settle_text(flat_event& ev) {
    for (auto& f : ev.fields)
        if (f.buffered) f.text = std::string_view(ev.text.data() + f.text_offset, f.text.size());
}

// Decodes the JSON string body [p, end) (escapes included) onto `out`. False when malformed.
inline bool decode_json_string(const char* p, const char* end, std::string& out) {
    while (p < end) {
        const char* slash = static_cast<const char*>(std::memchr(p, '\\', static_cast<std::size_t>(end - p)));
        if (!slash) {
            out.append(p, end);
            return true;
        }
        out.append(p, slash);
        p = slash + 1;
        if (p >= end) return false;
        const char c = *p++;
        switch (c) {
            case '"': out += '"'; break;
            case '\\': out += '\\'; break;
            case '/': out += '/'; break;
            case 'b': out += '\b'; break;
            case 'f': out += '\f'; break;
            case 'n': out += '\n'; break;
            case 'r': out += '\r'; break;
            case 't': out += '\t'; break;
            case 'u': {
                auto hex4 = [&](std::uint32_t& v) {
                    if (end - p < 4) return false;
                    v = 0;
                    for (int k = 0; k < 4; ++k) {
                        const char h = *p++;
                        v <<= 4;
                        if (h >= '0' && h <= '9') v |= static_cast<std::uint32_t>(h - '0');
                        else if (h >= 'a' && h <= 'f') v |= static_cast<std::uint32_t>(h - 'a' + 10);
                        else if (h >= 'A' && h <= 'F') v |= static_cast<std::uint32_t>(h - 'A' + 10);
                        else return false;
                    }
                    return true;
                };
                std::uint32_t cp;
                if (!hex4(cp)) return false;
                if (cp >= 0xD800 && cp < 0xDC00 && end - p >= 6 && p[0] == '\\' && p[1] == 'u') {
                    const char* save = p;
                    p += 2;
                    std::uint32_t low;
                    if (hex4(low) && low >= 0xDC00 && low < 0xE000) cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
                    else p = save;
                }
                append_utf8(out, cp);
                break;
            }
            default: return false;
        }
    }
    return true;
}

class json_scanner {
public:
    explicit json_scanner(flat_event& ev) : ev_(ev), trail_(ev.state.trail) {}

    // Scans a whole document whose top level is read through `root`. Appends to ev's fields.
    bool scan(std::string_view text, const trie_node& root) {
        trail_.clear();
        unique_members_ = false;
        return run(text, root);
    }

    bool run(std::string_view text, const trie_node& root) {
        begin_ = p_ = text.data();
        end_ = text.data() + text.size();
        ok_ = true;
        stop_ = false;
        top_ = &root;
        ev_.state.members.clear();
        ev_.state.dropped.clear();
        ev_.error = scan_error::none;
        ev_.error_offset = 0;
        ws();
        value(&root, 0);
        if (ok_ && !stop_) {
            ws();
            if (p_ != end_) fail();
        }
        if (ok_) drop_replaced();
        settle_text(ev_);
        return ok_;
    }

    // Scans `text` as the value at `node` (a member of some outer document), with `trail` as
    // the array elements that lead to it.
    // `unique_members`: the caller has made sure no object in `text` repeats a member name (the
    // bus refuses such details when they are put), so the scanner need not look for repeats
    // after the last member it reads.
    bool scan_value(std::string_view text, const trie_node& node, const std::vector<array_step>& trail,
                    bool unique_members = true) {
        trail_ = trail;
        unique_members_ = unique_members;
        return run(text, node);
    }

private:
    static constexpr int max_nesting = max_event_nesting;

    void ws() {
        while (p_ < end_ && (*p_ == ' ' || *p_ == '\n' || *p_ == '\r' || *p_ == '\t')) ++p_;
    }
    char peek() const { return p_ < end_ ? *p_ : '\0'; }
    void fail(scan_error why = scan_error::malformed) {
        if (ok_) {
            ev_.error = why;
            ev_.error_offset = static_cast<std::size_t>(p_ - begin_);
        }
        ok_ = false;
        p_ = end_;
    }

    // `from` is just past an opening quote; returns the closing quote (null when there is
    // none) and sets `escaped` if the string holds a backslash. Short strings dominate, so this
    // is inline SSE2 rather than a memchr call per string.
    const char* string_end(const char* from, bool& escaped) const {
        const char* p = from;
        while (true) {
#if defined(__SSE2__)
            while (end_ - p >= 16) {
                const __m128i chunk = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
                const int bits = _mm_movemask_epi8(
                    _mm_or_si128(_mm_cmpeq_epi8(chunk, _mm_set1_epi8('"')), _mm_cmpeq_epi8(chunk, _mm_set1_epi8('\\'))));
                if (bits) {
                    p += std::countr_zero(static_cast<unsigned>(bits));
                    goto found;
                }
                p += 16;
            }
#endif
            while (p < end_ && *p != '"' && *p != '\\') ++p;
            if (p >= end_) return nullptr;
#if defined(__SSE2__)
        found:
#endif
            if (*p == '"') return p;
            escaped = true;
            p += 2;  // the backslash and the character it escapes
            if (p > end_) return nullptr;
        }
    }
    const char* string_end(const char* from) const {
        bool escaped = false;
        return string_end(from, escaped);
    }

    void skip_string() {
        const char* q = string_end(p_ + 1);
        if (!q) return fail();
        p_ = q + 1;
    }

    void skip_scalar() {
        while (p_ < end_) {
            const char c = *p_;
            if (c == ',' || c == '}' || c == ']' || c == ' ' || c == '\n' || c == '\r' || c == '\t') break;
            ++p_;
        }
    }

    // Skips an object or array (p_ at its opening bracket) by counting brackets outside strings.
    void skip_container() { skip_until_closed(0); }

    // Skips to just past the bracket that closes `depth` open containers (0: p_ is at the
    // opening bracket of the container to skip).
    void skip_until_closed(int depth) {
        const char* p = p_;
#if defined(__SSE2__)
        // 64 bytes at a time: masks of quotes and brackets, the inside of strings by prefix XOR
        // of the quote mask, and brackets counted by popcount; bits are walked one by one only
        // in the block where the container may close. A block with a backslash goes to the
        // byte loop below (escaped quotes need the slow path; they are rare).
        bool in_string = false;
        while (end_ - p >= 64) {
            std::uint64_t quote = 0, backslash = 0, open = 0, close = 0;
            for (int k = 0; k < 4; ++k) {
                const __m128i chunk = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16 * k));
                const __m128i lowered = _mm_or_si128(chunk, _mm_set1_epi8(0x20));
                auto bits = [&](__m128i eq) {
                    return static_cast<std::uint64_t>(static_cast<std::uint16_t>(_mm_movemask_epi8(eq))) << (16 * k);
                };
                quote |= bits(_mm_cmpeq_epi8(chunk, _mm_set1_epi8('"')));
                backslash |= bits(_mm_cmpeq_epi8(chunk, _mm_set1_epi8('\\')));
                open |= bits(_mm_cmpeq_epi8(lowered, _mm_set1_epi8(0x7B)));   // '{' or '['
                close |= bits(_mm_cmpeq_epi8(lowered, _mm_set1_epi8(0x7D)));  // '}' or ']'
            }
            if (backslash) break;
            std::uint64_t inside = quote;
            inside ^= inside << 1;
            inside ^= inside << 2;
            inside ^= inside << 4;
            inside ^= inside << 8;
            inside ^= inside << 16;
            inside ^= inside << 32;
            if (in_string) inside = ~inside;
            in_string = (inside >> 63) != 0;
            open &= ~inside;
            close &= ~inside;
            const int closes = popcount64(close);
            if (closes < depth) {
                depth += popcount64(open) - closes;
                p += 64;
                continue;
            }
            for (std::uint64_t any = open | close; any; any &= any - 1) {
                const std::uint64_t bit = any & (~any + 1);
                if (open & bit) {
                    ++depth;
                } else if (--depth == 0) {
                    p_ = p + std::countr_zero(bit) + 1;
                    return;
                }
            }
            p += 64;
        }
        if (in_string) {
            const char* q = string_end(p);
            if (!q) return fail();
            p = q + 1;
        }
#endif
        while (p < end_) {
#if defined(__SSE2__)
            // Jump over runs without structural characters 16 bytes at a time.
            while (end_ - p >= 16) {
                const __m128i chunk = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
                const __m128i quote = _mm_cmpeq_epi8(chunk, _mm_set1_epi8('"'));
                // '[' 0x5B ']' 0x5D '{' 0x7B '}' 0x7D: (c | 0x20) in {0x7B, 0x7D}
                const __m128i lowered = _mm_or_si128(chunk, _mm_set1_epi8(0x20));
                const __m128i open = _mm_cmpeq_epi8(lowered, _mm_set1_epi8(0x7B));
                const __m128i close = _mm_cmpeq_epi8(lowered, _mm_set1_epi8(0x7D));
                const int bits = _mm_movemask_epi8(_mm_or_si128(quote, _mm_or_si128(open, close)));
                if (bits == 0) {
                    p += 16;
                    continue;
                }
                p += std::countr_zero(static_cast<unsigned>(bits));
                break;
            }
            if (p >= end_) break;
#endif
            const char c = *p;
            if (c == '"') {
                const char* q = string_end(p + 1);
                if (!q) return fail();
                p = q + 1;
            } else if (c == '{' || c == '[') {
                ++depth;
                ++p;
            } else if (c == '}' || c == ']') {
                ++p;
                if (--depth == 0) {
                    p_ = p;
                    return;
                }
            } else {
                ++p;
            }
        }
        fail();
    }

    void skip_value() {
        const char c = peek();
        if (c == '"') skip_string();
        else if (c == '{' || c == '[') skip_container();
        else if (c == '\0') fail();
        else skip_scalar();
    }

    void value(const trie_node* node, int depth) {
        if (depth > max_nesting) return fail(scan_error::too_deep);
        switch (peek()) {
            case '{':
                if (node->child_count) object(node, depth + 1);
                else skip_container();
                return;
            case '[':
                array(node, depth + 1);
                return;
            case '"':
                if (node->index) leaf_string(node->index.get());
                else skip_string();
                return;
            case '\0': return fail();
            default:
                if (node->index) leaf_scalar(node->index.get());
                else skip_scalar();
                return;
        }
    }

    void array(const trie_node* node, int depth) {
        const auto id = ev_.state.next_array++;
        std::uint32_t index = 0;
        ++p_;
        ws();
        if (peek() == ']') {
            ++p_;
            return;
        }
        while (ok_) {
            if (peek() == '{' && node->child_count) {
                trail_.push_back({id, index});
                object(node, depth + 1);
                trail_.pop_back();
            } else if (peek() == '[' && node->child_count) {
                // An array in an array: its objects are also elements of this array (as in
                // EventBridge), so [[{"a": 1}], [{"b": 2}]] does not pair a with b.
                trail_.push_back({id, index});
                value(node, depth);
                trail_.pop_back();
            } else {
                value(node, depth);
            }
            ++index;
            ws();
            const char c = peek();
            ++p_;
            if (c == ',') {
                ws();
                continue;
            }
            if (c != ']') fail();
            return;
        }
    }

    void object(const trie_node* node, int depth) {
        ++p_;
        ws();
        if (peek() == '}') {
            ++p_;
            return;
        }
        // Members read here, so that a duplicate replaces the earlier one (last wins, as in
        // nlohmann::json and JavaScript). A 64-bit Bloom filter of the child states seen keeps
        // the search for an earlier duplicate off the common path.
        const std::size_t members_base = ev_.state.members.size();
        std::uint64_t bloom = 0;
        std::uint32_t seen = 0;
        while (ok_) {
            if (peek() != '"') return fail();
            const char* start = p_ + 1;
            bool escaped = false;
            const char* q = string_end(start, escaped);
            if (!q) return fail();
            std::string_view key(start, static_cast<std::size_t>(q - start));
            if (escaped) {
                auto& buffer = ev_.state.key_buffer;
                buffer.clear();
                if (!decode_json_string(start, q, buffer)) return fail();
                key = buffer;
            }
            p_ = q + 1;
            ws();
            if (peek() != ':') return fail();
            ++p_;
            ws();
            if (const trie_node* child = node->child(key)) {
                const auto first = static_cast<std::uint32_t>(ev_.fields.size());
                value(child, depth);
                if (!ok_) return;
                remember(child, first, members_base, bloom);
                if (++seen == node->child_count) {
                    // Every member a rule reads has been seen: the rest of the object (at the
                    // top level, of the document) matters only if it repeats one of them. One
                    // pass over its strings tells; only then is it read member by member.
                    const char* resume = p_;
                    if (node == top_ && depth == 1) {
                        if (unique_members_ || !names_a_child(node, p_, end_)) {
                            p_ = end_;
                            stop_ = true;
                            return;
                        }
                    } else {
                        skip_until_closed(1);
                        if (!ok_) return;
                        if (unique_members_ || !names_a_child(node, resume, p_ - 1)) {
                            ev_.state.members.resize(members_base);
                            return;
                        }
                        p_ = resume;
                    }
                }
            } else {
                skip_value();
            }
            ws();
            const char c = peek();
            ++p_;
            if (c == ',') {
                ws();
                continue;
            }
            if (c != '}') return fail();
            ev_.state.members.resize(members_base);
            return;
        }
    }

    // Does [from, to) hold a member name (a string followed by ':') that is a child of `node`?
    // Strings are found with memchr: outside a string every quote opens one, so walking from
    // string to string stays in step with the text. Names inside nested objects count too (a
    // false alarm only costs reading the rest member by member).
    bool names_a_child(const trie_node* node, const char* from, const char* to) {
        const auto size = static_cast<std::size_t>(to - from);
        if (node->child_count <= 4 && node->small.size() == node->child_count) {
            // Few names and no escapes: a substring search per name is faster than visiting
            // every string. A name written without escapes appears verbatim between quotes.
            bool exact = true;
            for (const auto& [name, child] : node->small) exact = exact && !name.empty();
            bool backslash = false;
            bool first = true;
            for (const auto& [name, child] : node->small) {
                if (!exact) break;
                if (has_quoted(from, size, name, first ? &backslash : nullptr)) {
                    if (!backslash) return true;
                    break;  // escapes: visit every string instead
                }
                first = false;
            }
            if (exact && !backslash) return false;
        }
        const char* p = from;
        while (p < to) {
            p = static_cast<const char*>(std::memchr(p, '"', static_cast<std::size_t>(to - p)));
            if (!p) return false;
            bool escaped = false;
            const char* q = string_end(p + 1, escaped);
            if (!q || q >= to) return false;
            const char* r = q + 1;
            while (r < to && (*r == ' ' || *r == '\n' || *r == '\r' || *r == '\t')) ++r;
            if (r < to && *r == ':') {
                std::string_view key(p + 1, static_cast<std::size_t>(q - p - 1));
                if (escaped) {
                    auto& buffer = ev_.state.key_buffer;
                    buffer.clear();
                    if (!decode_json_string(p + 1, q, buffer)) return true;  // let the exact walk judge it
                    key = buffer;
                }
                if (node->child(key)) return true;
            }
            p = q + 1;
        }
        return false;
    }

    // Does `"name"` occur in [text, text + size)? SSE2 compares the opening quote and the name's
    // first byte at 16 positions at once (after Mula's generic SIMD substring search) and
    // confirms candidates with memcmp: linear, and faster than memmem on short names.
    // With `backslash` non-null, also reports whether the text holds a backslash (then the answer
    // is not to be trusted: a name may be written with escapes) and stops there.
    static bool has_quoted(const char* text, std::size_t size, std::string_view name, bool* backslash) {
        const std::size_t span = name.size() + 2;  // with both quotes
        if (size < span) return false;
        const std::size_t last = size - span;  // the last position a match can start at
        std::size_t i = 0;
        auto confirm = [&](std::size_t at) {
            return text[at] == '"' && text[at + span - 1] == '"' && std::memcmp(text + at + 1, name.data(), name.size()) == 0;
        };
#if defined(__SSE2__)
        const __m128i quote = _mm_set1_epi8('"');
        const __m128i first = _mm_set1_epi8(name[0]);
        // With `backslash` set, backslashes raise the same mask (one test per block), and
        // are told apart only when it is non-zero.
        const __m128i slash = _mm_set1_epi8('\\');
        for (; i + 16 <= last + 1; i += 16) {
            const __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(text + i));
            const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(text + i + 1));
            const __m128i hit = _mm_and_si128(_mm_cmpeq_epi8(a, quote), _mm_cmpeq_epi8(b, first));
            const __m128i slashes = backslash ? _mm_cmpeq_epi8(a, slash) : _mm_setzero_si128();
            if (!_mm_movemask_epi8(_mm_or_si128(hit, slashes))) continue;
            if (_mm_movemask_epi8(slashes)) return *backslash = true;
            for (unsigned bits = static_cast<unsigned>(_mm_movemask_epi8(hit)); bits; bits &= bits - 1)
                if (confirm(i + static_cast<std::size_t>(std::countr_zero(bits)))) return true;
        }
#endif
        if (backslash && std::memchr(text + i, '\\', size - i)) return *backslash = true;
        for (; i <= last; ++i)
            if (confirm(i)) return true;
        return false;
    }

    // Records that `child` was read into fields [first, now); if this object already had that
    // member, the earlier one's fields are dropped (when the scan ends).
    void remember(const trie_node* child, std::uint32_t first, std::size_t base, std::uint64_t& bloom) {
        auto& members = ev_.state.members;
        const auto now = static_cast<std::uint32_t>(ev_.fields.size());
        const std::uint64_t bit = std::uint64_t{1}
                                  << ((reinterpret_cast<std::uintptr_t>(child) >> 4) * 0x9E3779B97F4A7C15ull >> 58);
        if (bloom & bit) {
            for (std::size_t k = base; k < members.size(); ++k) {
                if (members[k].node != child) continue;
                if (members[k].begin != members[k].end) ev_.state.dropped.push_back({members[k].begin, members[k].end});
                members[k].begin = first;
                members[k].end = now;
                return;
            }
        }
        bloom |= bit;
        members.push_back({child, first, now});
    }

    // Takes out the fields of members that a later duplicate replaced.
    void drop_replaced() {
        auto& dropped = ev_.state.dropped;
        if (dropped.empty()) return;
        auto& fields = ev_.fields;
        std::vector<char> gone(fields.size(), 0);
        for (const auto& [from, to] : dropped) std::fill(gone.begin() + from, gone.begin() + to, char{1});
        std::size_t kept = 0;
        for (std::size_t k = 0; k < fields.size(); ++k)
            if (!gone[k]) fields[kept++] = fields[k];
        fields.resize(kept);
        dropped.clear();
    }

    void leaf_string(const path_index* index) {
        const char* start = p_ + 1;
        bool escaped = false;
        const char* q = string_end(start, escaped);
        if (!q) return fail();
        const std::size_t size = static_cast<std::size_t>(q - start);
        p_ = q + 1;
        if (!escaped) {
            add_leaf(ev_, trail_, index, value_kind::string, std::string_view(start, size), 0.0, false, 0);
            return;
        }
        const auto offset = static_cast<std::uint32_t>(ev_.text.size());
        if (!decode_json_string(start, q, ev_.text)) return fail();
        add_leaf(ev_, trail_, index, value_kind::string, {}, 0.0, true, offset);
        ev_.fields.back().text = std::string_view(ev_.text.data() + offset, ev_.text.size() - offset);
    }

    static bool delimiter(char c) noexcept {
        return c == ',' || c == '}' || c == ']' || c == ' ' || c == '\n' || c == '\r' || c == '\t';
    }

    void leaf_scalar(const path_index* index) {
        const char* start = p_;
        const char c = *start;
        if (c == 't' || c == 'f' || c == 'n') {
            skip_scalar();
            const std::string_view token(start, static_cast<std::size_t>(p_ - start));
            if (token == "true") return add_leaf(ev_, trail_, index, value_kind::boolean, {}, 1.0, false, 0);
            if (token == "false") return add_leaf(ev_, trail_, index, value_kind::boolean, {}, 0.0, false, 0);
            if (token == "null") return add_leaf(ev_, trail_, index, value_kind::null, {}, 0.0, false, 0);
            return fail();
        }
        // A JSON number starts with a digit or '-' and a digit (from_chars alone would also take
        // "inf", "nan" and hexadecimal-looking text).
        const bool negative = c == '-';
        const char first = negative ? (end_ - start > 1 ? start[1] : '\0') : c;
        if (first < '0' || first > '9') return fail();
        double d = 0;
        const auto [end, ec] = std::from_chars(start, end_, d);
        const char* stop = end;
        if (ec == std::errc::result_out_of_range) {
            // Overflow to infinity (numbers beyond the double range), underflow to zero.
            while (stop < end_ && !delimiter(*stop)) ++stop;
            const std::string_view token(start, static_cast<std::size_t>(stop - start));
            const auto e = token.find_first_of("eE");
            const auto integer = token.substr(negative ? 1 : 0, token.find('.') - (negative ? 1 : 0));
            const bool big = e == std::string_view::npos ? integer != "0" : (token.size() > e + 1 && token[e + 1] != '-');
            d = big ? (negative ? -HUGE_VAL : HUGE_VAL) : (negative ? -0.0 : 0.0);
        } else if (ec != std::errc{}) {
            return fail();
        }
        if (stop < end_ && !delimiter(*stop)) return fail();
        p_ = stop;
        add_leaf(ev_, trail_, index, value_kind::number, std::string_view(start, static_cast<std::size_t>(stop - start)), d, false, 0);
    }

    flat_event& ev_;
    std::vector<array_step>& trail_;
    const char* p_ = nullptr;
    const char* end_ = nullptr;
    const char* begin_ = nullptr;
    const trie_node* top_ = nullptr;
    bool ok_ = true;
    bool stop_ = false;
    bool unique_members_ = false;
};

}  // namespace switchyard::pattern::detail
