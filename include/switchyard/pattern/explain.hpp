// "Why didn't it match?": explain(pattern, event) says whether an EventBridge-style pattern matches
// a JSON event and, when it does not, which condition fails, what the pattern expects there and
// what the event has:
//
//   explain(R"({"detail": {"amount": [{"numeric": [">", 100]}]}})", R"({"detail": {"amount": 42}})")
//       .to_string()  ==  R"(no match: detail.amount expected [{"numeric":[">",100]}], event has 42)"
//
// The verdict is the matcher's own (pattern::matcher, as the bus uses it), and so is every
// condition's: each condition is tested by the real matcher as a pattern of its own, so explain
// never disagrees with matching. Declarations only; the work (nlohmann/json) is in explain-inl.hpp.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "switchyard/config.hpp"

namespace switchyard {

/// One condition of a pattern (one field and its list of values) that an event fails.
struct condition_miss {
    /// The field's path as the pattern names it, keys joined with '.' ("detail.amount").
    std::string path;
    /// The field's list of values as written in the pattern, as compact JSON
    /// (`[{"numeric":[">",100]}]`, `[{"exists":false}]`).
    std::string expected;
    /// The event's value at `path` as compact JSON. When the path passes through arrays, a JSON
    /// array of every value found at its end (`[1,2]` for `{"items": [{"qty": 1}, {"qty": 2}]}`);
    /// the word `missing` when the event has nothing there.
    std::string actual;
    /// Empty when the condition fails on its own. Otherwise why it fails although it holds on its
    /// own: it holds only in other elements of an array of objects than another condition of the
    /// same alternative (EventBridge's same-array-element rule), e.g.
    /// `items.qty and items.sku hold only in different elements of items` (two conditions on one
    /// field, from different `$or` alternatives, are told apart by their values:
    /// `items.x [2] and items.x [1] hold ...`), or, when no single other condition is to blame,
    /// `no array element holds it together with the fields before it`.
    std::string reason;

    /// Field-by-field equality.
    friend bool operator==(const condition_miss&, const condition_miss&) = default;
};

/// What explain() found: the verdict and, for a miss, the condition that fails.
///
/// A pattern's alternatives are compiled_pattern::branches(): one without `$or`, and one per
/// combination of `$or` alternatives otherwise. Inside an alternative, conditions are taken in
/// the compiled pattern's order: at each object level by key in byte order (the order compile()
/// reads them in, which need not be the order written), nested objects where their key sorts,
/// `$or` alternatives in the order listed.
struct SWITCHYARD_API pattern_explanation {
    /// Whether pattern::matcher matches the event (the bus's verdict).
    bool matched = false;
    /// Index (from 0) of the alternative described: when matched, the first that matches; when
    /// not, the one that came closest (the fewest conditions failing on their own, the first on a
    /// tie; an alternative failing only on the same-array-element rule counts as closest).
    std::size_t alternative = 0;
    /// How many alternatives the pattern has (1 without `$or`).
    std::size_t alternatives = 1;
    /// When not matched: the first failing condition of that alternative. Empty when matched.
    std::optional<condition_miss> miss;

    /// One line, deterministic:
    /// `match`, `match (alternative 2 of 3)`,
    /// `no match: detail.amount expected [{"numeric":[">",100]}], event has 42`,
    /// `no match (alternative 2 of 3 came closest): a expected ["x"], event has missing`,
    /// with ` (reason)` appended when there is a reason. Alternatives are numbered from 1 here;
    /// `expected` and `actual` longer than 200 bytes are cut (at a UTF-8 boundary) and end in `...`.
    [[nodiscard]] std::string to_string() const;

    /// Field-by-field equality.
    friend bool operator==(const pattern_explanation&, const pattern_explanation&) = default;
};

/// Explains whether the pattern (JSON text, as given to pattern::compile or a rule) matches the
/// event (any JSON document, as given to pattern::matcher::match_json; for the bus, the event's
/// envelope JSON). Throws pattern_error for an invalid pattern, and switchyard::error when the
/// event is not valid JSON, when nlohmann/json cannot read it (a number beyond the double range,
/// which the matcher would read as an infinity) or when it nests deeper than the matcher's
/// scanner reads (pattern::max_event_nesting).
///
/// Cost: a compile of the pattern and of one small pattern per distinct condition, one parse of
/// the event and one matcher scan of it (two or three more scans only to name a
/// same-array-element conflict or which `$or` alternative matched). Meant for diagnostics, not
/// for every published event.
[[nodiscard]] SWITCHYARD_API pattern_explanation explain(std::string_view pattern_json, std::string_view event_json);

}  // namespace switchyard

#ifdef SWITCHYARD_HEADER_ONLY
#include "switchyard/pattern/explain-inl.hpp"
#endif
