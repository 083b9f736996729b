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

#include "switchyard/config.hpp"
#include "switchyard/pattern/flat_event.hpp"
#include "switchyard/pattern/pattern.hpp"

namespace switchyard::pattern {

/// A rule's number in a matcher.
using rule_id = std::uint32_t;

namespace detail {
struct engine;
struct match_state;
struct posting;
struct trie_node;
using trie_ptr = std::shared_ptr<const trie_node>;
}  // namespace detail

/// Every rule's pattern merged into one automaton, as an immutable, persistent value: with() and
/// without() return a new matcher sharing all untouched structure (O(log n) per rule) and leave
/// this one untouched, so readers match against a snapshot without a lock while a writer derives
/// the next. Matching costs what the event's fields cost, not what the number of rules costs.
class SWITCHYARD_API matcher {
public:
    /// A matcher with no rules.
    matcher();

    /// A matcher with `pattern` as rule `id` (replacing any rule with that id).
    [[nodiscard]] matcher with(rule_id id, const compiled_pattern& pattern) const;

    /// A matcher without rule `id` (this one when there is no such rule).
    [[nodiscard]] matcher without(rule_id id) const;

    /// The number of rules.
    std::size_t size() const noexcept;
    /// Whether there is a rule `id`.
    bool contains(rule_id id) const;

    /// The field-name automaton's start state (for flatteners).
    const detail::trie_node& root() const noexcept;

    /// Matches fields already flattened against this matcher (by flatten() or match_json()).
    /// Appends the ids of matching rules to `out`, each once, in ascending order.
    void match(flat_event& event, std::vector<rule_id>& out) const;

    /// Matches a plain JSON document (not necessarily an EventBridge envelope: its top-level
    /// members are the pattern's top-level fields). Returns false, matching nothing, when the
    /// scanner meets malformed JSON (scratch.error and error_message() say why, e.g. nesting
    /// beyond max_event_nesting); it does not validate the parts it skips. A member that appears
    /// twice in one object counts once, with its last value (as nlohmann::json reads it).
    bool match_json(std::string_view text, flat_event& scratch, std::vector<rule_id>& out) const;

private:
    explicit matcher(std::shared_ptr<const detail::engine> e) : engine_(std::move(e)) {}

    // Path-copies the trie along `path`, applies `change` to a copy of the leaf's index, and
    // prunes nodes left with nothing in them. Returns the new node (null when pruned).
    template <class Change>
    static detail::trie_ptr update(const detail::trie_node* node, const std::vector<std::string>& path, std::size_t depth,
                                   detail::engine& e, Change&& change);

    // Groups the hits by slot (a counting sort, stable, so each slot's hits stay in field order:
    // document order). Done once per event, and only when some branch needs the check.
    static void group_hits(detail::match_state& st);

    // Can each condition in `needed` be given one hit so that all chosen fields (and every field
    // outside arrays of objects) come from consistent array elements? Hits are the leaves of a
    // tree whose inner nodes are array elements (a field's trail is its path in that tree), and
    // in document order every element's hits are contiguous. So the question is answered top
    // down, each node asked once: a node must supply the conditions it is asked for; its own
    // hits supply some, and each array under it supplies, through ONE of its elements, the rest
    // of the conditions found in that array. Arrays under one object hold disjoint conditions
    // (their fields have different paths), so each is asked independently and no choice is ever
    // revisited: the cost is linear in hits times array depth, whatever the event.
    static bool consistent(flat_event& event, std::uint32_t ordinal, std::uint64_t needed, bool& grouped);

    // Does the element at trail depth `depth` whose hits are grouped[begin, end) supply `need`?
    static bool covers(flat_event& event, std::uint32_t begin, std::uint32_t end, std::size_t depth, std::uint64_t need);

    bool absent_ok(const flat_event& event, std::uint64_t key) const;

    std::shared_ptr<const detail::engine> engine_;
};

}  // namespace switchyard::pattern

#ifdef SWITCHYARD_HEADER_ONLY
#include "switchyard/pattern/matcher-inl.hpp"
#endif
