// A persistent hash map (hash array mapped trie): `set` and `erase` return a new map that shares
// every untouched node with the old one, so a matcher snapshot is derived in O(log n) and the old
// snapshot stays valid, immutable and safe to read from any number of threads.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

namespace switchyard::pattern::detail {

// Population count without a library call: baseline x86-64 has no POPCNT instruction, and
// std::popcount then calls into libgcc on every lookup.
inline int popcount64(std::uint64_t x) noexcept {
    x = x - ((x >> 1) & 0x5555555555555555ull);
    x = (x & 0x3333333333333333ull) + ((x >> 2) & 0x3333333333333333ull);
    x = (x + (x >> 4)) & 0x0F0F0F0F0F0F0F0Full;
    return static_cast<int>((x * 0x0101010101010101ull) >> 56);
}

// Equality of short byte strings without a memcmp call.
inline bool same_bytes(const char* a, const char* b, std::size_t n) noexcept {
    while (n >= 8) {
        std::uint64_t x, y;
        std::memcpy(&x, a, 8);
        std::memcpy(&y, b, 8);
        if (x != y) return false;
        a += 8;
        b += 8;
        n -= 8;
    }
    while (n--)
        if (*a++ != *b++) return false;
    return true;
}

struct same_string {
    template <class A, class B> bool operator()(const A& a, const B& b) const noexcept {
        const std::string_view x(a), y(b);
        return x.size() == y.size() && same_bytes(x.data(), y.data(), x.size());
    }
};

template <class K, class V, class Hash, class Eq = std::equal_to<>>
class hamt {
public:
    struct entry {
        K key;
        V value;
    };

    std::size_t size() const noexcept { return size_; }
    bool empty() const noexcept { return size_ == 0; }

    template <class Q> const V* find(const Q& key) const {
        if (size_ == 1) {
            // One entry (the common case: one value per field): compare without hashing.
            const node* n = root_.get();
            while (n->entries.empty()) n = n->children.front().get();
            const auto& e = n->entries.front();
            return Eq{}(e.key, key) ? &e.value : nullptr;
        }
        const std::uint64_t h = Hash{}(key);
        const node* n = root_.get();
        unsigned shift = 0;
        while (n) {
            if (shift >= 64) {
                for (const auto& e : n->entries)
                    if (Eq{}(e.key, key)) return &e.value;
                return nullptr;
            }
            const std::uint32_t bit = 1u << ((h >> shift) & 31u);
            if (n->entry_map & bit) {
                const auto& e = n->entries[static_cast<std::size_t>(popcount64(n->entry_map & (bit - 1)))];
                return Eq{}(e.key, key) ? &e.value : nullptr;
            }
            if (!(n->child_map & bit)) return nullptr;
            n = n->children[static_cast<std::size_t>(popcount64(n->child_map & (bit - 1)))].get();
            shift += 5;
        }
        return nullptr;
    }

    [[nodiscard]] hamt set(K key, V value) const {
        const std::uint64_t h = Hash{}(key);
        entry e{std::move(key), std::move(value)};
        bool added = false;
        hamt out;
        out.root_ = insert(root_.get(), 0, h, std::move(e), added);
        out.size_ = size_ + (added ? 1 : 0);
        return out;
    }

    template <class Q> [[nodiscard]] hamt erase(const Q& key) const {
        if (!find(key)) return *this;
        hamt out;
        out.root_ = remove(root_.get(), 0, Hash{}(key), key);
        out.size_ = size_ - 1;
        return out;
    }

    // Calls f(key, value) for every entry, in no particular order.
    template <class F> void for_each(F&& f) const {
        if (root_) visit(*root_, f);
    }

    // Heap bytes held by the trie's own nodes and entries (not what keys and values point to).
    std::size_t node_bytes() const { return root_ ? bytes(*root_) : 0; }

private:
    struct node;
    using node_ptr = std::shared_ptr<const node>;

    // A node's entries and children are ordered by their bit in the maps; past 64 bits of hash a
    // node is a collision list and only `entries` is used. Entries are held inline (copied when
    // a node is path-copied): it saves a control block and a pointer per entry, which is most
    // of the memory per rule.
    struct node {
        std::uint32_t entry_map = 0;
        std::uint32_t child_map = 0;
        std::vector<entry> entries;
        std::vector<node_ptr> children;
    };

    static std::size_t index(std::uint32_t map, std::uint32_t bit) {
        return static_cast<std::size_t>(popcount64(map & (bit - 1)));
    }

    static node_ptr insert(const node* n, unsigned shift, std::uint64_t h, entry e, bool& added) {
        auto out = n ? std::make_shared<node>(*n) : std::make_shared<node>();
        if (shift >= 64) {
            for (auto& existing : out->entries)
                if (Eq{}(existing.key, e.key)) {
                    existing = std::move(e);
                    return out;
                }
            out->entries.push_back(std::move(e));
            added = true;
            return out;
        }
        const std::uint32_t bit = 1u << ((h >> shift) & 31u);
        if (out->entry_map & bit) {
            const std::size_t at = index(out->entry_map, bit);
            if (Eq{}(out->entries[at].key, e.key)) {
                out->entries[at] = std::move(e);
                return out;
            }
            // Two keys share this slot: push both one level down.
            entry old = std::move(out->entries[at]);
            bool ignored = false;
            const std::uint64_t old_hash = Hash{}(old.key);  // before `old` is moved from
            node_ptr child = insert(nullptr, shift + 5, old_hash, std::move(old), ignored);
            child = insert(child.get(), shift + 5, h, std::move(e), added);
            out->entries.erase(out->entries.begin() + static_cast<std::ptrdiff_t>(at));
            out->entry_map &= ~bit;
            out->children.insert(out->children.begin() + static_cast<std::ptrdiff_t>(index(out->child_map, bit)),
                                 std::move(child));
            out->child_map |= bit;
            return out;
        }
        if (out->child_map & bit) {
            const std::size_t at = index(out->child_map, bit);
            out->children[at] = insert(out->children[at].get(), shift + 5, h, std::move(e), added);
            return out;
        }
        out->entries.insert(out->entries.begin() + static_cast<std::ptrdiff_t>(index(out->entry_map, bit)), std::move(e));
        out->entry_map |= bit;
        added = true;
        return out;
    }

    // `key` is known to be present.
    template <class Q> static node_ptr remove(const node* n, unsigned shift, std::uint64_t h, const Q& key) {
        auto out = std::make_shared<node>(*n);
        if (shift >= 64) {
            for (std::size_t i = 0; i < out->entries.size(); ++i)
                if (Eq{}(out->entries[i].key, key)) {
                    out->entries.erase(out->entries.begin() + static_cast<std::ptrdiff_t>(i));
                    break;
                }
        } else {
            const std::uint32_t bit = 1u << ((h >> shift) & 31u);
            if (out->entry_map & bit) {
                out->entries.erase(out->entries.begin() + static_cast<std::ptrdiff_t>(index(out->entry_map, bit)));
                out->entry_map &= ~bit;
            } else {
                const std::size_t at = index(out->child_map, bit);
                node_ptr child = remove(out->children[at].get(), shift + 5, h, key);
                if (!child) {
                    out->children.erase(out->children.begin() + static_cast<std::ptrdiff_t>(at));
                    out->child_map &= ~bit;
                } else if (child->children.empty() && child->entries.size() == 1 && shift + 5 < 64) {
                    // Pull a lone entry back up so the trie stays as shallow as after a rebuild.
                    entry lone = child->entries.front();
                    out->children.erase(out->children.begin() + static_cast<std::ptrdiff_t>(at));
                    out->child_map &= ~bit;
                    out->entries.insert(out->entries.begin() + static_cast<std::ptrdiff_t>(index(out->entry_map, bit)),
                                        std::move(lone));
                    out->entry_map |= bit;
                } else {
                    out->children[at] = std::move(child);
                }
            }
        }
        if (out->entries.empty() && out->children.empty()) return nullptr;
        return out;
    }

    template <class F> static void visit(const node& n, F& f) {
        for (const auto& e : n.entries) f(e.key, e.value);
        for (const auto& c : n.children) visit(*c, f);
    }

    static std::size_t bytes(const node& n) {
        std::size_t total = sizeof(node) + 16 + n.entries.capacity() * sizeof(entry) + n.children.capacity() * sizeof(node_ptr);
        for (const auto& c : n.children) total += bytes(*c);
        return total;
    }

    node_ptr root_;
    std::size_t size_ = 0;
};

}  // namespace switchyard::pattern::detail
