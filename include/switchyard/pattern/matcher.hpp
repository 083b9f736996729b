// The matcher: every rule's pattern merged into one automaton, as an immutable, persistent
// value. `with` and `without` return a new matcher sharing all untouched structure with this one
// (O(log n) per rule, so adding 10,000 rules one by one is not quadratic) and leave this one
// untouched, so readers match against a snapshot without any lock while a writer derives the
// next. Matching costs what the event's fields cost, not what the number of rules costs.
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "switchyard/pattern/detail/index.hpp"
#include "switchyard/pattern/detail/json_scan.hpp"
#include "switchyard/pattern/flat_event.hpp"
#include "switchyard/pattern/pattern.hpp"

namespace switchyard::pattern {

using rule_id = std::uint32_t;

namespace detail {

// Where one of a rule's atoms (or exists:false markers) was put, so `without` can take it out
// again exactly. Rules whose atoms are fully described by their keys (exact values, prefixes,
// suffixes, equals-ignore-case...) do not keep their compiled pattern at all.
struct removal {
    std::uint32_t path_id;
    std::uint16_t branch;
    path_index::place where;
    std::string key;
};

struct rule_record {
    std::shared_ptr<const pattern_data> pattern;  // only when an index refers to its atoms
    std::vector<removal> removals;
};

using segments_ptr = std::shared_ptr<const std::vector<std::string>>;

struct engine {
    trie_ptr root = std::make_shared<const trie_node>();
    hamt<std::uint64_t, rule_record, int_hash> rules;
    hamt<std::uint64_t, segments_ptr, int_hash> paths;  // path id -> object keys, for removal
    std::shared_ptr<const std::vector<std::pair<std::uint32_t, std::uint16_t>>> absent_only;  // (rule, branch)
    std::uint32_t next_path_id = 1;
};

inline std::uint64_t mask_of(std::uint8_t info) {
    const unsigned n = info & 0x7Fu;
    return n >= 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << n) - 1;
}

// Trails of two fields are consistent when they agree on the element of every array of
// objects both pass through.
inline bool compatible(const array_step* a, std::size_t na, const array_step* b, std::size_t nb) {
    const std::size_t n = std::min(na, nb);
    for (std::size_t k = 0; k < n; ++k) {
        if (a[k].array != b[k].array) return true;
        if (a[k].index != b[k].index) return false;
    }
    return true;
}

}  // namespace detail

class matcher {
public:
    matcher() : engine_(std::make_shared<const detail::engine>()) {}

    // A matcher with `pattern` as rule `id` (replacing any rule with that id).
    [[nodiscard]] matcher with(rule_id id, const compiled_pattern& pattern) const {
        matcher base = engine_->rules.find(std::uint64_t{id}) ? without(id) : *this;
        auto next = std::make_shared<detail::engine>(*base.engine_);
        detail::rule_record record;
        const auto& branches = pattern.branches();
        using place = detail::path_index::place;
        for (std::size_t b = 0; b < branches.size(); ++b) {
            const auto& conditions = branches[b];
            std::uint8_t positives = 0;
            bool has_absent = false;
            for (const auto& c : conditions) {
                if (c.absent) has_absent = true;
                else ++positives;
            }
            const auto info = static_cast<std::uint8_t>(positives | (has_absent ? 0x80 : 0));
            std::uint8_t bit = 0;
            for (const auto& c : conditions) {
                const detail::posting p{id, static_cast<std::uint16_t>(b), c.absent ? std::uint8_t{0} : bit, info};
                std::uint32_t path_id = 0;
                next->root = update(next->root.get(), c.path, 0, *next, [&](detail::path_index& ix) {
                    path_id = ix.path_id;
                    if (c.absent) {
                        ix.add(place::absent, {}, detail::atom_ref{p, nullptr});
                        record.removals.push_back({ix.path_id, static_cast<std::uint16_t>(b), place::absent, {}});
                        return;
                    }
                    for (const auto& a : c.atoms) {
                        auto [where, key] = detail::path_index::place_of(a);
                        const bool keep = detail::path_index::needs_atom(where);
                        if (keep) record.pattern = pattern.data();
                        ix.add(where, key, detail::atom_ref{p, keep ? &a : nullptr});
                        record.removals.push_back({ix.path_id, static_cast<std::uint16_t>(b), where, std::move(key)});
                    }
                });
                if (!c.absent) ++bit;
            }
            if (positives == 0) {
                auto list = next->absent_only ? std::make_shared<std::vector<std::pair<std::uint32_t, std::uint16_t>>>(*next->absent_only)
                                              : std::make_shared<std::vector<std::pair<std::uint32_t, std::uint16_t>>>();
                list->emplace_back(id, static_cast<std::uint16_t>(b));
                next->absent_only = std::move(list);
            }
        }
        record.removals.shrink_to_fit();
        next->rules = next->rules.set(std::uint64_t{id}, std::move(record));
        return matcher(std::move(next));
    }

    // A matcher without rule `id` (this one when there is no such rule).
    [[nodiscard]] matcher without(rule_id id) const {
        const auto* found = engine_->rules.find(std::uint64_t{id});
        if (!found) return *this;
        const detail::rule_record& record = *found;
        auto next = std::make_shared<detail::engine>(*engine_);
        for (std::size_t k = 0; k < record.removals.size(); ++k) {
            const auto& r = record.removals[k];
            const auto* segments = next->paths.find(std::uint64_t{r.path_id});
            if (!segments) continue;  // already pruned by an earlier removal of this rule
            const detail::segments_ptr path = *segments;
            next->root = update(next->root.get(), *path, 0, *next, [&](detail::path_index& ix) { ix.remove(r.where, r.key, id); });
        }
        if (!next->root) next->root = std::make_shared<const detail::trie_node>();
        if (next->absent_only) {
            auto list = std::make_shared<std::vector<std::pair<std::uint32_t, std::uint16_t>>>(*next->absent_only);
            std::erase_if(*list, [&](const auto& e) { return e.first == id; });
            next->absent_only = list->empty() ? nullptr : std::move(list);
        }
        next->rules = next->rules.erase(std::uint64_t{id});
        return matcher(std::move(next));
    }

    std::size_t size() const noexcept { return engine_->rules.size(); }
    bool contains(rule_id id) const { return engine_->rules.find(std::uint64_t{id}) != nullptr; }

    // The field-name automaton's start state (for flatteners).
    const detail::trie_node& root() const noexcept { return *engine_->root; }

    // Matches fields already flattened against this matcher (by flatten() or match_json()).
    // Appends the ids of matching rules to `out`, each once, in ascending order.
    void match(flat_event& event, std::vector<rule_id>& out) const {
        auto& st = event.state;
        const std::size_t first_out = out.size();
        for (std::size_t i = 0; i < event.fields.size(); ++i) {
            const flat_field& f = event.fields[i];
            const detail::value_ref v{f.kind, f.text, f.number, &st.folded};
            const bool trailed = f.trail_size != 0;
            const auto field = static_cast<std::uint32_t>(i);
            f.index->collect(v, [&](const detail::posting& p) {
                // A one-field alternative without exists:false needs no bookkeeping: it matched.
                if (p.info == 1 && !trailed) out.push_back(p.rule);
                else hit(st, p, field, trailed);
            });
        }
        for (const std::uint32_t slot_index : st.touched) {
            auto& slot = st.table[slot_index];
            const std::uint64_t full = detail::mask_of(slot.info);
            const std::uint64_t key = slot.key - 1;
            if (slot.mask == full && (slot.free_mask == full || consistent(event, key, full & ~slot.free_mask)) &&
                (!(slot.info & 0x80) || absent_ok(event, key))) {
                out.push_back(static_cast<rule_id>(key >> 16));
            }
            slot = {};
        }
        st.touched.clear();
        st.hits.clear();
        if (engine_->absent_only)
            for (const auto& [rule, branch] : *engine_->absent_only)
                if (absent_ok(event, std::uint64_t{rule} << 16 | branch)) out.push_back(rule);
        if (out.size() - first_out > 1) {
            std::sort(out.begin() + static_cast<std::ptrdiff_t>(first_out), out.end());
            out.erase(std::unique(out.begin() + static_cast<std::ptrdiff_t>(first_out), out.end()), out.end());
        }
    }

    // Matches a plain JSON document (not necessarily an EventBridge envelope: its top-level
    // members are the pattern's top-level fields). Returns false, matching nothing, when the
    // scanner meets malformed JSON; it does not validate the parts it skips.
    bool match_json(std::string_view text, flat_event& scratch, std::vector<rule_id>& out) const {
        scratch.clear();
        detail::json_scanner scanner(scratch);
        if (!scanner.scan(text, root())) {
            scratch.clear();
            return false;
        }
        match(scratch, out);
        return true;
    }

private:
    explicit matcher(std::shared_ptr<const detail::engine> e) : engine_(std::move(e)) {}

    // Path-copies the trie along `path`, applies `change` to a copy of the leaf's index, and
    // prunes nodes left with nothing in them. Returns the new node (null when pruned).
    // Path-copies the trie along `path`, applies `change` to a copy of the leaf's index, and
    // prunes nodes left with nothing in them. Returns the new node (null when pruned).
    template <class Change>
    static detail::trie_ptr update(const detail::trie_node* node, const std::vector<std::string>& path, std::size_t depth,
                                   detail::engine& e, Change&& change) {
        auto copy = node ? std::make_shared<detail::trie_node>(*node) : std::make_shared<detail::trie_node>();
        if (depth == path.size()) {
            auto ix = copy->index ? std::make_shared<detail::path_index>(*copy->index) : std::make_shared<detail::path_index>();
            if (!copy->index) {
                ix->path_id = e.next_path_id++;
                e.paths = e.paths.set(std::uint64_t{ix->path_id}, std::make_shared<const std::vector<std::string>>(path));
            }
            change(*ix);
            if (ix->uses == 0) {
                e.paths = e.paths.erase(std::uint64_t{ix->path_id});
                copy->index = nullptr;
            } else {
                copy->index = std::move(ix);
            }
        } else {
            const std::string& key = path[depth];
            const auto* old = copy->children.find(key);
            auto child = update(old ? old->get() : nullptr, path, depth + 1, e, change);
            copy->children = child ? copy->children.set(key, std::move(child)) : copy->children.erase(key);
        }
        copy->seal();
        if (!copy->index && copy->children.empty() && depth > 0) return nullptr;
        return copy;
    }

    static void hit(detail::match_state& st, const detail::posting& p, std::uint32_t field, bool trailed) {
        const std::uint64_t key = (std::uint64_t{p.rule} << 16 | p.branch) + 1;
        auto& table = st.table;
        if (st.touched.size() * 2 >= table.size()) grow(st);
        std::size_t mask = table.size() - 1;
        std::size_t i = detail::int_hash{}(key) & mask;
        while (table[i].key != 0 && table[i].key != key) i = (i + 1) & mask;
        auto& slot = table[i];
        if (slot.key == 0) {
            slot.key = key;
            slot.info = p.info;
            st.touched.push_back(static_cast<std::uint32_t>(i));
        }
        const std::uint64_t bit = std::uint64_t{1} << p.bit;
        slot.mask |= bit;
        if (!trailed) slot.free_mask |= bit;
        else st.hits.push_back({key - 1, field, p.bit});
    }

    static void grow(detail::match_state& st) {
        std::vector<detail::branch_slot> bigger(st.table.size() * 2);
        const std::size_t mask = bigger.size() - 1;
        for (auto& t : st.touched) {
            const auto& slot = st.table[t];
            std::size_t i = detail::int_hash{}(slot.key) & mask;
            while (bigger[i].key != 0) i = (i + 1) & mask;
            bigger[i] = slot;
            t = static_cast<std::uint32_t>(i);
        }
        st.table = std::move(bigger);
    }

    // Can each condition in `needed` be given one hit so that all chosen fields (and every
    // field outside arrays of objects) come from consistent array elements?
    static bool consistent(flat_event& event, std::uint64_t key, std::uint64_t needed) {
        auto& st = event.state;
        std::vector<std::uint8_t> bits;
        for (std::uint64_t m = needed; m; m &= m - 1) bits.push_back(static_cast<std::uint8_t>(std::countr_zero(m)));
        std::vector<std::vector<std::uint32_t>> candidates(bits.size());
        for (const auto& h : st.hits) {
            if (h.key != key) continue;
            for (std::size_t k = 0; k < bits.size(); ++k)
                if (bits[k] == h.bit) candidates[k].push_back(h.field);
        }
        st.chosen.assign(bits.size(), 0);
        std::size_t budget = 100000;
        auto trail = [&](std::uint32_t field) {
            const auto& f = event.fields[field];
            return std::make_pair(event.trails.data() + f.trail_offset, static_cast<std::size_t>(f.trail_size));
        };
        // Depth-first search over the candidate lists, in condition order.
        auto search = [&](auto& self, std::size_t k) -> bool {
            if (k == bits.size()) return true;
            for (const std::uint32_t field : candidates[k]) {
                if (budget-- == 0) return false;
                const auto [t, n] = trail(field);
                bool ok = true;
                for (std::size_t j = 0; j < k && ok; ++j) {
                    const auto other = trail(st.chosen[j]);
                    ok = detail::compatible(t, n, other.first, other.second);
                }
                if (!ok) continue;
                st.chosen[k] = field;
                if (self(self, k + 1)) return true;
            }
            return false;
        };
        return search(search, 0);
    }

    bool absent_ok(const flat_event& event, std::uint64_t key) const {
        const auto* record = engine_->rules.find(key >> 16);
        if (!record) return false;
        const auto branch = static_cast<std::uint16_t>(key & 0xFFFF);
        for (const auto& r : record->removals) {
            if (r.branch != branch || r.where != detail::path_index::place::absent) continue;
            for (const auto& f : event.fields)
                if (f.index->path_id == r.path_id) return false;
        }
        return true;
    }

    std::shared_ptr<const detail::engine> engine_;
};

}  // namespace switchyard::pattern
