// The matcher's engine: matcher.hpp's compiled half (compiled into libswitchyard, or included by
// matcher.hpp when SWITCHYARD_HEADER_ONLY is defined).
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "switchyard/config.hpp"
#include "switchyard/pattern/detail/index.hpp"
#include "switchyard/pattern/detail/json_scan.hpp"
#include "switchyard/pattern/flat_event.hpp"
#include "switchyard/pattern/matcher.hpp"
#include "switchyard/pattern/pattern.hpp"

namespace switchyard::pattern {

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

// Grows the table of the branches an event touched (doubling: rare).
inline void grow(match_state& st) {
    std::vector<branch_slot> bigger(st.table.size() * 2);
    const std::size_t mask = bigger.size() - 1;
    for (auto& t : st.touched) {
        const auto& slot = st.table[t];
        std::size_t i = int_hash{}(slot.key) & mask;
        while (bigger[i].key != 0) i = (i + 1) & mask;
        bigger[i] = slot;
        t = static_cast<std::uint32_t>(i);
    }
    st.table = std::move(bigger);
}

// Records that posting `p` matched field `field`: once per matching posting, inline in
// matcher::match() (a function here rather than a private member of matcher, so that the compiled
// library may inline it as header-only builds do).
inline void hit(match_state& st, const posting& p, std::uint32_t field, bool trailed) {
    const std::uint64_t key = (std::uint64_t{p.rule} << 16 | p.branch) + 1;
    auto& table = st.table;
    if (st.touched.size() * 2 >= table.size()) grow(st);
    std::size_t mask = table.size() - 1;
    std::size_t i = int_hash{}(key) & mask;
    while (table[i].key != 0 && table[i].key != key) i = (i + 1) & mask;
    auto& slot = table[i];
    if (slot.key == 0) {
        slot.key = key;
        slot.info = p.info;
        slot.ordinal = static_cast<std::uint32_t>(st.touched.size());
        st.touched.push_back(static_cast<std::uint32_t>(i));
    }
    const std::uint64_t bit = std::uint64_t{1} << p.bit;
    slot.mask |= bit;
    if (!trailed) slot.free_mask |= bit;
    else st.hits.push_back({slot.ordinal, field, p.bit});
}

}  // namespace detail

SWITCHYARD_INLINE matcher::matcher() : engine_(std::make_shared<const detail::engine>()) {}

SWITCHYARD_INLINE std::size_t matcher::size() const noexcept { return engine_->rules.size(); }

SWITCHYARD_INLINE bool matcher::contains(rule_id id) const { return engine_->rules.find(std::uint64_t{id}) != nullptr; }

SWITCHYARD_INLINE const detail::trie_node& matcher::root() const noexcept { return *engine_->root; }

template <class Change>
detail::trie_ptr matcher::update(const detail::trie_node* node, const std::vector<std::string>& path, std::size_t depth, detail::engine& e, Change&& change) {
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

SWITCHYARD_INLINE matcher matcher::with(rule_id id, const compiled_pattern& pattern) const {
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

SWITCHYARD_INLINE matcher matcher::without(rule_id id) const {
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

SWITCHYARD_INLINE void matcher::match(flat_event& event, std::vector<rule_id>& out) const {
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
            else detail::hit(st, p, field, trailed);
        });
    }
    st.consistency_steps = 0;
    bool grouped = false;
    for (const std::uint32_t slot_index : st.touched) {
        auto& slot = st.table[slot_index];
        const std::uint64_t full = detail::mask_of(slot.info);
        const std::uint64_t key = slot.key - 1;
        if (slot.mask == full && (slot.free_mask == full || consistent(event, slot.ordinal, full & ~slot.free_mask, grouped)) &&
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

SWITCHYARD_INLINE bool matcher::match_json(std::string_view text, flat_event& scratch, std::vector<rule_id>& out) const {
    scratch.clear();
    detail::json_scanner scanner(scratch);
    if (!scanner.scan(text, root())) {
        const auto why = scratch.error;
        const auto where = scratch.error_offset;
        scratch.clear();
        scratch.error = why;  // kept for error_message()
        scratch.error_offset = where;
        return false;
    }
    match(scratch, out);
    return true;
}

SWITCHYARD_INLINE void matcher::group_hits(detail::match_state& st) {
    auto& start = st.group_start;
    start.assign(st.touched.size() + 1, 0);
    for (const auto& h : st.hits) ++start[h.ordinal + 1];
    for (std::size_t k = 1; k < start.size(); ++k) start[k] += start[k - 1];
    st.grouped.resize(st.hits.size());
    std::vector<std::uint32_t>& cursor = st.touched_cursor;
    cursor.assign(start.begin(), start.end() - 1);
    for (const auto& h : st.hits) st.grouped[cursor[h.ordinal]++] = h;
}

SWITCHYARD_INLINE bool matcher::consistent(flat_event& event, std::uint32_t ordinal, std::uint64_t needed, bool& grouped) {
    auto& st = event.state;
    if (!grouped) {
        group_hits(st);
        grouped = true;
    }
    return covers(event, st.group_start[ordinal], st.group_start[ordinal + 1], 0, needed);
}

SWITCHYARD_INLINE bool matcher::covers(flat_event& event, std::uint32_t begin, std::uint32_t end, std::size_t depth, std::uint64_t need) {
    auto& st = event.state;
    const auto& g = st.grouped;
    auto size_of = [&](std::uint32_t k) -> std::size_t { return event.fields[g[k].field].trail_size; };
    auto step_of = [&](std::uint32_t k) -> const array_step& {
        return event.trails[event.fields[g[k].field].trail_offset + depth];
    };
    st.consistency_steps += end - begin;
    // The element's own fields (their trail ends here) combine with everything below it.
    std::uint64_t below = 0;
    for (std::uint32_t k = begin; k < end; ++k) {
        const std::uint64_t bit = std::uint64_t{1} << g[k].bit;
        if (size_of(k) == depth) need &= ~bit;
        else below |= bit;
    }
    if (need == 0) return true;
    if (need & ~below) return false;
    // The arrays under this element, each a contiguous run (the element's own hits may sit
    // between runs). Runs are stacked on st.runs above those of the enclosing calls.
    const std::size_t first_run = st.runs.size();
    std::uint64_t seen = 0;
    bool overlap = false;
    for (std::uint32_t k = begin; k < end;) {
        if (size_of(k) == depth) {
            ++k;
            continue;
        }
        const std::uint32_t array = step_of(k).array;
        std::uint32_t stop = k;
        std::uint64_t bits = 0;
        while (stop < end && size_of(stop) > depth && step_of(stop).array == array) {
            bits |= std::uint64_t{1} << g[stop].bit;
            ++stop;
        }
        bits &= need;
        if (bits) {
            overlap = overlap || (bits & seen) != 0;
            seen |= bits;
            st.runs.push_back({k, stop, bits, static_cast<std::uint32_t>(st.runs.size() - first_run)});
        }
        k = stop;
    }
    st.consistency_steps += end - begin;
    // Sibling arrays holding the same condition come only from arrays nested directly in
    // arrays ([[{...}], [{...}]]) in typed events or from duplicate members: those arrays are
    // taken as one array (one element must supply all they are asked for), which keeps the
    // check linear and agrees with EventBridge, where the outer array's element decides.
    const std::size_t last_run = st.runs.size();
    if (overlap) {
        auto root = [&](std::uint32_t c) {
            while (st.runs[first_run + c].component != c) {
                auto& up = st.runs[first_run + c].component;
                up = st.runs[first_run + up].component;  // path halving
                c = up;
            }
            return c;
        };
        for (std::size_t b = 0; b < 64; ++b) {
            std::uint32_t owner = ~0u;
            for (std::size_t r = first_run; r < last_run; ++r) {
                if (!(st.runs[r].bits >> b & 1)) continue;
                const std::uint32_t c = root(static_cast<std::uint32_t>(r - first_run));
                if (owner == ~0u) owner = c;
                else if (c != owner) st.runs[first_run + c].component = owner;
            }
        }
        for (std::size_t r = first_run; r < last_run; ++r) st.runs[r].component = root(static_cast<std::uint32_t>(r - first_run));
        std::stable_sort(st.runs.begin() + static_cast<std::ptrdiff_t>(first_run), st.runs.end(),
                         [](const detail::array_run& a, const detail::array_run& b) { return a.component < b.component; });
    }
    bool ok = true;
    for (std::size_t r = first_run; r < last_run && ok;) {
        // One array, or (after an overlap) the runs of one component, now adjacent.
        std::size_t group_end = r + 1;
        std::uint64_t part = st.runs[r].bits;
        while (group_end < last_run && st.runs[group_end].component == st.runs[r].component)
            part |= st.runs[group_end++].bits;
        bool found = false;
        for (std::size_t q = r; q < group_end && !found; ++q) {
            const std::uint32_t run_end = st.runs[q].end;
            for (std::uint32_t k = st.runs[q].begin; k < run_end && !found;) {
                // One element of the array: a contiguous run with the same index at this depth.
                const std::uint32_t index = step_of(k).index;
                std::uint32_t stop = k + 1;
                while (stop < run_end && step_of(stop).index == index) ++stop;
                found = covers(event, k, stop, depth + 1, part);
                k = stop;
            }
        }
        ok = found;
        r = group_end;
    }
    st.runs.resize(first_run);
    return ok;
}

SWITCHYARD_INLINE bool matcher::absent_ok(const flat_event& event, std::uint64_t key) const {
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

}  // namespace switchyard::pattern
