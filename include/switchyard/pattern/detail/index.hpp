// The automaton's pieces. A trie of object keys (the field-name states) leads to one path_index
// per leaf path (the per-field value automaton): hash maps for exact, case-folded, prefix,
// suffix and wildcard-anchor lookups, and a short list of operators tested one by one (numeric
// ranges, cidr, regexp, anything-but, all-of). Every structure is immutable and persistent, so
// `matcher::with` copies only the path from the root to what changed.
#pragma once

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <atomic>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "switchyard/pattern/detail/atom_extra.hpp"
#include "switchyard/pattern/detail/hamt.hpp"
#include "switchyard/pattern/detail/inline.hpp"
#include "switchyard/pattern/detail/interval_tree.hpp"
#include "switchyard/pattern/flat_event.hpp"
#include "switchyard/pattern/pattern.hpp"

namespace switchyard::pattern::detail {

struct string_hash {
    std::uint64_t operator()(std::string_view s) const noexcept {
        // FNV-1a folded through a multiply: keys are short and this is cheaper than a call.
        std::uint64_t h = 0xcbf29ce484222325ull;
        std::size_t i = 0;
        for (; i + 8 <= s.size(); i += 8) {
            std::uint64_t w;
            std::memcpy(&w, s.data() + i, 8);
            h = (h ^ w) * 0x100000001b3ull;
            h ^= h >> 29;
        }
        for (; i < s.size(); ++i) h = (h ^ static_cast<unsigned char>(s[i])) * 0x100000001b3ull;
        h ^= h >> 32;
        h *= 0x9e3779b97f4a7c15ull;
        return h ^ (h >> 29);
    }
};

struct int_hash {
    std::uint64_t operator()(std::uint64_t v) const noexcept {
        v ^= v >> 33;
        v *= 0xff51afd7ed558ccdull;
        v ^= v >> 33;
        return v;
    }
};

// Which (rule, branch, condition) an atom belongs to. `info` holds the branch's number of
// positive conditions (low 7 bits) and whether the branch has exists:false conditions (top bit).
struct posting {
    std::uint32_t rule;
    std::uint16_t branch;
    std::uint8_t bit;
    std::uint8_t info;
};

struct atom_ref {
    posting at;
    const atom* a;  // owned by the rule's pattern, which the snapshot keeps alive
};

// A short list of atom_refs that holds one element inline: most index keys belong to one rule,
// and a heap block per key would be a third of the memory per rule.
class refs {
public:
    refs() noexcept = default;
    refs(const refs& other) { assign(other.begin(), other.size_); }
    refs(refs&& other) noexcept : size_(other.size_), one_(other.one_), many_(other.many_) {
        other.size_ = 0;
        other.many_ = nullptr;
    }
    refs& operator=(refs other) noexcept {
        swap(other);
        return *this;
    }
    ~refs() { delete[] many_; }

    void swap(refs& other) noexcept {
        std::swap(size_, other.size_);
        std::swap(one_, other.one_);
        std::swap(many_, other.many_);
    }
    std::size_t size() const noexcept { return size_; }
    bool empty() const noexcept { return size_ == 0; }
    const atom_ref* begin() const noexcept { return size_ <= 1 ? &one_ : many_; }
    const atom_ref* end() const noexcept { return begin() + size_; }

    void push_back(const atom_ref& r) {
        if (size_ == 0) {
            one_ = r;
        } else {
            // Exact-size growth: lists are rebuilt on every change anyway (copy on write).
            auto* grown = new atom_ref[size_ + 1];
            std::copy(begin(), end(), grown);
            grown[size_] = r;
            delete[] many_;
            many_ = grown;
        }
        ++size_;
    }
    template <class Pred> std::size_t erase_if(Pred pred) {
        refs kept;
        for (const auto& r : *this)
            if (!pred(r)) kept.push_back(r);
        const std::size_t removed = size_ - kept.size_;
        swap(kept);
        return removed;
    }

private:
    void assign(const atom_ref* from, std::uint32_t n) {
        size_ = n;
        if (n <= 1) {
            if (n == 1) one_ = *from;
            return;
        }
        many_ = new atom_ref[n];
        std::copy(from, from + n, many_);
    }

    std::uint32_t size_ = 0;
    atom_ref one_{};
    atom_ref* many_ = nullptr;
};

using refs_ptr = std::shared_ptr<const refs>;
using refs_map = hamt<std::string, refs, string_hash, same_string>;

// Strings keyed by their first (or last) bytes: lookups try each distinct key length.
struct anchored_map {
    refs_map map;
    std::vector<std::pair<std::uint32_t, std::uint32_t>> lengths;  // (length, keys of that length), sorted
    bool empty() const noexcept { return map.empty(); }
};

// CIDR blocks keyed by family, prefix length and masked network bytes: an address probes once
// per distinct (family, length) instead of testing every block.
struct cidr_map {
    refs_map map;
    std::vector<std::pair<std::uint32_t, std::uint32_t>> widths;  // (v6 << 8 | prefix bits, blocks), sorted
    bool empty() const noexcept { return map.empty(); }

    static std::string key(const ip_address& a, unsigned bits) {
        std::string k;
        k += static_cast<char>(a.v6 ? 1 : 0);
        k += static_cast<char>(bits);
        unsigned left = bits;
        for (std::size_t i = 0; left > 0; ++i) {
            const unsigned take = left >= 8 ? 8 : left;
            k += static_cast<char>(a.bytes[i] & static_cast<std::uint8_t>(0xFF00u >> take));
            left -= take;
        }
        return k;
    }
    static std::uint32_t width_of(const std::string& key) {
        return static_cast<std::uint32_t>(static_cast<unsigned char>(key[0])) << 8 | static_cast<unsigned char>(key[1]);
    }
};

// A value from the event, with its case folding computed at most once.
struct value_ref {
    value_kind kind;
    std::string_view text;
    double number;
    std::string* fold_buffer;
    mutable bool folded_ready = false;

    std::string_view folded() const {
        if (!folded_ready) {
            fold_case(text, *fold_buffer);
            folded_ready = true;
        }
        return *fold_buffer;
    }
};

inline bool anything_but_matches(const atom_extra& x, const value_ref& v) {
    const bool is_string = v.kind == value_kind::string;
    switch (x.but) {
        case but_kind::strings:
            return !is_string || std::find(x.strings.begin(), x.strings.end(), v.text) == x.strings.end();
        case but_kind::numbers:
            return v.kind != value_kind::number || std::find(x.numbers.begin(), x.numbers.end(), v.number) == x.numbers.end();
        // As in EventBridge (aws/event-ruler): a value that is not a string cannot start with,
        // end with, equal or match any of the excluded strings, so it matches.
        case but_kind::prefix:
            return !is_string || std::none_of(x.strings.begin(), x.strings.end(),
                                              [&](const std::string& s) { return v.text.starts_with(s); });
        case but_kind::suffix:
            return !is_string || std::none_of(x.strings.begin(), x.strings.end(),
                                              [&](const std::string& s) { return v.text.ends_with(s); });
        case but_kind::equals_ignore_case: {
            if (!is_string) return true;
            const auto f = v.folded();
            return std::find(x.strings.begin(), x.strings.end(), f) == x.strings.end();
        }
        case but_kind::wildcard:
            return !is_string || std::none_of(x.wildcards.begin(), x.wildcards.end(),
                                              [&](const wildcard_program& w) { return w.matches(v.text); });
    }
    return false;
}

// The reference semantics of one atom; the indexes below must agree with it.
inline bool atom_matches(const atom& a, const value_ref& v) {
    const bool is_string = v.kind == value_kind::string;
    switch (a.kind) {
        case atom_kind::string: return is_string && v.text == a.text;
        case atom_kind::number: return v.kind == value_kind::number && v.number == a.number;
        case atom_kind::boolean: return v.kind == value_kind::boolean && (v.number != 0) == a.flag;
        case atom_kind::null: return v.kind == value_kind::null;
        case atom_kind::prefix: return is_string && (a.flag ? v.folded() : v.text).starts_with(a.text);
        case atom_kind::suffix: return is_string && (a.flag ? v.folded() : v.text).ends_with(a.text);
        case atom_kind::equals_ignore_case: return is_string && v.folded() == a.text;
        case atom_kind::wildcard: return is_string && a.extra->wildcards.front().matches(a.flag ? v.folded() : v.text);
        case atom_kind::numeric: return v.kind == value_kind::number && a.extra->range.contains(v.number);
        case atom_kind::exists: return true;
        case atom_kind::cidr: {
            ip_address ip;
            return is_string && parse_ip(v.text, ip) && a.extra->cidr.contains(ip);
        }
        case atom_kind::regexp: return is_string && a.extra->regexp->matches(v.text);
        case atom_kind::anything_but: return anything_but_matches(*a.extra, v);
        case atom_kind::all_of:
            return std::all_of(a.extra->parts.begin(), a.extra->parts.end(),
                               [&](const atom& part) { return atom_matches(part, v); });
    }
    return false;
}

inline std::uint64_t number_key(double d) {
    if (d == 0) d = 0;  // -0 == 0
    return std::bit_cast<std::uint64_t>(d);
}

// Everything the rules test on one leaf path.
struct path_index {
    std::uint32_t path_id = 0;
    std::uint32_t uses = 0;  // atoms and exists:false markers referring to this path

    refs_map exact;
    hamt<std::uint64_t, refs, int_hash> numbers;
    refs_ptr trues, falses, nulls, exists, absent;
    refs_map folded;  // equals-ignore-case
    anchored_map prefix, suffix, prefix_ci, suffix_ci;
    anchored_map wildcard_head, wildcard_tail, wildcard_head_ci, wildcard_tail_ci;  // keyed by literal anchor
    cidr_map cidrs;
    refs_ptr ranges;  // numeric
    refs_ptr scan;    // tested one by one

    // The interval tree over `ranges`, built by the first event that needs it, without a lock:
    // readers that race each build one and the first to publish wins (the others discard
    // theirs), so no reader ever waits for another. A copy of the index (the next snapshot)
    // starts without one.
    using range_tree_t = interval_tree<posting>;
    struct lazy_ranges {
        mutable std::atomic<const range_tree_t*> tree{nullptr};
        lazy_ranges() = default;
        lazy_ranges(const lazy_ranges&) {}
        lazy_ranges& operator=(const lazy_ranges&) = delete;
        ~lazy_ranges() { delete tree.load(std::memory_order_acquire); }
    };
    lazy_ranges range_tree;

    const range_tree_t& ranges_tree() const {
        const range_tree_t* t = range_tree.tree.load(std::memory_order_acquire);
        if (t) return *t;
        std::vector<std::pair<const numeric_range*, posting>> items;
        for (const auto& r : *ranges) items.emplace_back(&r.a->extra->range, r.at);
        auto* fresh = new range_tree_t(std::move(items));
        const range_tree_t* expected = nullptr;
        if (range_tree.tree.compare_exchange_strong(expected, fresh, std::memory_order_acq_rel)) return *fresh;
        delete fresh;
        return *expected;
    }
    static constexpr std::size_t range_tree_threshold = 8;

    bool any_ci() const noexcept {
        return !folded.empty() || !prefix_ci.empty() || !suffix_ci.empty() || !wildcard_head_ci.empty() ||
               !wildcard_tail_ci.empty();
    }

    // Calls emit(posting) for every atom that matches `v`.
    template <class Emit> SWITCHYARD_ALWAYS_INLINE void collect(const value_ref& v, Emit&& emit) const {
        auto all = [&](const refs* r) SWITCHYARD_LAMBDA_ALWAYS_INLINE {
            if (r)
                for (const auto& x : *r) emit(x.at);
        };
        auto verified = [&](const refs* r) SWITCHYARD_LAMBDA_ALWAYS_INLINE {
            if (r)
                for (const auto& x : *r)
                    if (atom_matches(*x.a, v)) emit(x.at);
        };
        switch (v.kind) {
            case value_kind::string: {
                const std::string_view s = v.text;
                if (!exact.empty()) all(exact.find(s));
                probe(prefix, s, false, all);
                probe(suffix, s, true, all);
                probe(wildcard_head, s, false, verified);
                probe(wildcard_tail, s, true, verified);
                if (!cidrs.empty()) probe_cidrs(s, all);
                if (any_ci()) {
                    const std::string_view f = v.folded();
                    if (!folded.empty()) all(folded.find(f));
                    probe(prefix_ci, f, false, all);
                    probe(suffix_ci, f, true, all);
                    probe(wildcard_head_ci, f, false, verified);
                    probe(wildcard_tail_ci, f, true, verified);
                }
                break;
            }
            case value_kind::number:
                if (!numbers.empty()) all(numbers.find(number_key(v.number)));
                if (ranges) {
                    if (ranges->size() <= range_tree_threshold) {
                        verified(ranges.get());
                    } else {
                        ranges_tree().query(v.number, emit);
                    }
                }
                break;
            case value_kind::boolean: all(v.number != 0 ? trues.get() : falses.get()); break;
            case value_kind::null: all(nulls.get()); break;
        }
        all(exists.get());
        verified(scan.get());
    }

    // Out of line: addresses are rare, and inlining this into collect() slows every string.
    template <class F> SWITCHYARD_NOINLINE void probe_cidrs(std::string_view s, F& f) const {
        ip_address ip;
        if (!parse_ip(s, ip)) return;
        for (const auto& [width, count] : cidrs.widths)
            if ((width >> 8 != 0) == ip.v6) f(cidrs.map.find(cidr_map::key(ip, width & 0xFF)));
    }

    template <class F> SWITCHYARD_ALWAYS_INLINE static void probe(const anchored_map& m, std::string_view s, bool tail, F& f) {
        if (m.empty()) return;
        for (const auto& [length, count] : m.lengths) {
            if (length > s.size()) break;
            f(m.map.find(tail ? s.substr(s.size() - length) : s.substr(0, length)));
        }
    }

    // --- building -------------------------------------------------------------------------

    static void add_to(refs_ptr& list, atom_ref r) {
        auto next = list ? std::make_shared<refs>(*list) : std::make_shared<refs>();
        next->push_back(r);
        list = std::move(next);
    }
    static std::size_t remove_from(refs_ptr& list, std::uint32_t rule) {
        if (!list) return 0;
        auto next = std::make_shared<refs>(*list);
        const auto removed = next->erase_if([&](const atom_ref& r) { return r.at.rule == rule; });
        list = next->empty() ? nullptr : refs_ptr(std::move(next));
        return removed;
    }
    template <class Map, class Key> static void add_to(Map& map, const Key& key, atom_ref r) {
        refs next;
        if (const refs* old = map.find(key)) next = *old;
        next.push_back(r);
        map = map.set(Key(key), std::move(next));
    }
    template <class Map, class Key> static std::size_t remove_from(Map& map, const Key& key, std::uint32_t rule) {
        const refs* old = map.find(key);
        if (!old) return 0;
        refs next = *old;
        const auto removed = next.erase_if([&](const atom_ref& r) { return r.at.rule == rule; });
        if (removed == 0) return 0;
        map = next.empty() ? map.erase(key) : map.set(Key(key), std::move(next));
        return removed;
    }
    static void add_to(anchored_map& m, const std::string& key, atom_ref r) {
        const bool fresh = m.map.find(key) == nullptr;
        add_to(m.map, key, r);
        if (!fresh) return;
        const auto length = static_cast<std::uint32_t>(key.size());
        auto it = std::lower_bound(m.lengths.begin(), m.lengths.end(), std::make_pair(length, 0u));
        if (it != m.lengths.end() && it->first == length) ++it->second;
        else m.lengths.insert(it, {length, 1u});
    }
    static void add_to(cidr_map& m, const std::string& key, atom_ref r) {
        const bool fresh = m.map.find(key) == nullptr;
        add_to(m.map, key, r);
        if (!fresh) return;
        const auto width = cidr_map::width_of(key);
        auto it = std::lower_bound(m.widths.begin(), m.widths.end(), std::make_pair(width, 0u));
        if (it != m.widths.end() && it->first == width) ++it->second;
        else m.widths.insert(it, {width, 1u});
    }
    static std::size_t remove_from(cidr_map& m, const std::string& key, std::uint32_t rule) {
        const std::size_t removed = remove_from(m.map, key, rule);
        if (removed && !m.map.find(key)) {
            auto it = std::lower_bound(m.widths.begin(), m.widths.end(), std::make_pair(cidr_map::width_of(key), 0u));
            if (--it->second == 0) m.widths.erase(it);
        }
        return removed;
    }
    static std::size_t remove_from(anchored_map& m, const std::string& key, std::uint32_t rule) {
        const std::size_t removed = remove_from(m.map, key, rule);
        if (removed && !m.map.find(key)) {
            const auto length = static_cast<std::uint32_t>(key.size());
            auto it = std::lower_bound(m.lengths.begin(), m.lengths.end(), std::make_pair(length, 0u));
            if (--it->second == 0) m.lengths.erase(it);
        }
        return removed;
    }

    // Where an atom lives: which structure, and its key there (for numbers, the 8 bytes of
    // number_key). Adding and removing go through the same place, so removal is exact.
    enum class place : std::uint8_t {
        exact, number, trues, falses, nulls, exists, absent, prefix, suffix, prefix_ci, suffix_ci, folded, cidr,
        wildcard_head, wildcard_tail, wildcard_head_ci, wildcard_tail_ci, ranges, scan
    };

    static std::pair<place, std::string> place_of(const atom& a) {
        switch (a.kind) {
            case atom_kind::string: return {place::exact, a.text};
            case atom_kind::number: {
                const std::uint64_t k = number_key(a.number);
                std::string key(8, '\0');
                std::memcpy(key.data(), &k, 8);
                return {place::number, key};
            }
            case atom_kind::boolean: return {a.flag ? place::trues : place::falses, {}};
            case atom_kind::null: return {place::nulls, {}};
            case atom_kind::exists: return {place::exists, {}};
            case atom_kind::prefix: return {a.flag ? place::prefix_ci : place::prefix, a.text};
            case atom_kind::suffix: return {a.flag ? place::suffix_ci : place::suffix, a.text};
            case atom_kind::equals_ignore_case: return {place::folded, a.text};
            case atom_kind::wildcard: {
                const auto& w = a.extra->wildcards.front();
                const auto head = w.head(), tail = w.tail();
                if (!head.empty() && head.size() >= tail.size())
                    return {a.flag ? place::wildcard_head_ci : place::wildcard_head, std::string(head)};
                if (!tail.empty()) return {a.flag ? place::wildcard_tail_ci : place::wildcard_tail, std::string(tail)};
                return {place::scan, {}};
            }
            case atom_kind::numeric: return {place::ranges, {}};
            case atom_kind::cidr: return {place::cidr, cidr_map::key(a.extra->cidr.network, a.extra->cidr.prefix_bits)};
            default: return {place::scan, {}};
        }
    }

    // Does a match at this place need the atom itself (to verify), or is the key the whole story?
    static bool needs_atom(place p) noexcept { return p >= place::wildcard_head; }

    template <class F> void at(place p, const std::string& key, F&& f) {
        switch (p) {
            case place::exact: return f(exact, key);
            case place::number: {
                std::uint64_t k;
                std::memcpy(&k, key.data(), 8);
                return f(numbers, k);
            }
            case place::trues: return f(trues);
            case place::falses: return f(falses);
            case place::nulls: return f(nulls);
            case place::exists: return f(exists);
            case place::absent: return f(absent);
            case place::prefix: return f(prefix, key);
            case place::suffix: return f(suffix, key);
            case place::prefix_ci: return f(prefix_ci, key);
            case place::suffix_ci: return f(suffix_ci, key);
            case place::folded: return f(folded, key);
            case place::cidr: return f(cidrs, key);
            case place::wildcard_head: return f(wildcard_head, key);
            case place::wildcard_tail: return f(wildcard_tail, key);
            case place::wildcard_head_ci: return f(wildcard_head_ci, key);
            case place::wildcard_tail_ci: return f(wildcard_tail_ci, key);
            case place::ranges: return f(ranges);
            case place::scan: return f(scan);
        }
    }

    void add(place p, const std::string& key, atom_ref r) {
        ++uses;
        at(p, key, [&](auto& where, const auto&... k) { add_to(where, k..., r); });
    }
    void remove(place p, const std::string& key, std::uint32_t rule) {
        at(p, key, [&](auto& where, const auto&... k) { uses -= static_cast<std::uint32_t>(remove_from(where, k..., rule)); });
    }
};

// A field-name state: the object keys that lead on from here, and the index of the leaf here.
struct trie_node {
    std::shared_ptr<const path_index> index;
    hamt<std::string, std::shared_ptr<const trie_node>, string_hash, same_string> children;
    std::vector<std::pair<std::string_view, const trie_node*>> small;  // lookup cache for few children
    std::uint32_t child_count = 0;

    static constexpr std::size_t small_limit = 12;

    const trie_node* child(std::string_view key) const {
        if (child_count <= small_limit) {
            for (const auto& [name, node] : small)
                if (name.size() == key.size() && same_bytes(name.data(), key.data(), key.size())) return node;
            return nullptr;
        }
        const auto* found = children.find(key);
        return found ? found->get() : nullptr;
    }

    // Called once a node's children are final (nodes are immutable once shared).
    void seal() {
        child_count = static_cast<std::uint32_t>(children.size());
        small.clear();
        if (child_count <= small_limit)
            children.for_each([&](const std::string& name, const std::shared_ptr<const trie_node>& node) {
                small.emplace_back(std::string_view(name), node.get());
            });
    }
};

using trie_ptr = std::shared_ptr<const trie_node>;

}  // namespace switchyard::pattern::detail
