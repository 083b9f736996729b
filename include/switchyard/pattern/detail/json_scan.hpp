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
#include "switchyard/pattern/detail/inline.hpp"
#include "switchyard/pattern/detail/json_text.hpp"
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

    SWITCHYARD_ALWAYS_INLINE const char* string_end(const char* from, bool& escaped) const {
        return json_string_end(from, end_, escaped);
    }
    SWITCHYARD_ALWAYS_INLINE const char* string_end(const char* from) const {
        bool escaped = false;
        return string_end(from, escaped);
    }

    SWITCHYARD_ALWAYS_INLINE void skip_string() {
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
        if (const char* after = json_skip_until_closed(p_, end_, depth)) p_ = after;
        else fail();
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
                            forget_members(members_base);
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
            forget_members(members_base);
            return;
        }
    }

    // Forgets the members recorded since `base` (this object's), at the end of an object. Only
    // ever shrinks, so it is an erase at the end, inline, not resize() and its growing half.
    void forget_members(std::size_t base) {
        auto& members = ev_.state.members;
        members.erase(members.begin() + static_cast<std::ptrdiff_t>(base), members.end());
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

    static bool has_quoted(const char* text, std::size_t size, std::string_view name, bool* backslash) {
        return json_has_quoted(text, size, name, backslash);
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
