// Event patterns: parse and validate a pattern's JSON text into a compiled_pattern, which the
// matcher merges with every other rule's into one automaton. The whole EventBridge pattern
// language is accepted, plus three switchyard extensions (see docs/patterns.md):
//
//   {"regexp": "B..CH"}                        I-Regexp (RFC 9485), anchored at both ends
//   {"wildcard": {"equals-ignore-case": "a*B"}} a case-insensitive wildcard
//   {"all-of": [{"numeric": [">", 0]}, {"anything-but": [5]}]}
//                                              several conditions that must all hold on the
//                                              same value. EventBridge has no "all-of"
//                                              operator and AND only ever spans fields, so the
//                                              name cannot be mistaken for one of its forms.
//
// Every error is a switchyard::pattern_error whose message starts with the JSON path of the
// offending element (`detail.total[0].numeric: lower bound must come first`); syntax errors
// carry the byte offset. Limits (each rejected with its own message): objects nested at most
// `max_depth` deep, at most `max_values` values in one field's list, `$or` expanding to at most
// `max_branches` alternatives, at most `max_conditions` fields per alternative, wildcards with
// at most `max_wildcard_stars` stars, and strings of at most `max_string_bytes` bytes.
#pragma once

#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "switchyard/config.hpp"
#include "switchyard/error.hpp"
#include "switchyard/pattern/flat_event.hpp"

/// Event patterns: compile() parses and validates a pattern into a compiled_pattern, and the
/// matcher merges every rule's compiled pattern into one automaton (see docs/patterns.md).
namespace switchyard::pattern {

/// Objects in a pattern nest at most this deep.
inline constexpr int max_depth = 32;
/// At most this many values in one field's list (and in an anything-but or all-of list).
inline constexpr std::size_t max_values = 1024;
/// `$or` expands to at most this many alternatives.
inline constexpr std::size_t max_branches = 1024;
/// One alternative tests at most this many fields.
inline constexpr std::size_t max_conditions = 64;
/// A wildcard has at most this many stars.
inline constexpr std::size_t max_wildcard_stars = 32;
/// A string in a pattern is at most this many bytes.
inline constexpr std::size_t max_string_bytes = 4096;

/// Which operator an atom is, and where its operand lives.
enum class atom_kind : std::uint8_t {
    string,              ///< an exact string: `text`
    number,              ///< an exact number: `number`
    boolean,             ///< an exact boolean: `flag`
    null,                ///< null
    prefix,              ///< `text` (folded when `flag`: ignore case)
    suffix,              ///< `text` (folded when `flag`)
    equals_ignore_case,  ///< `text`, folded
    wildcard,            ///< `extra->wildcards[0]` (folded when `flag`)
    numeric,             ///< `extra->range`
    exists,              ///< `flag`: true for exists:true (exists:false is a condition's `absent`)
    cidr,                ///< `extra->cidr`
    regexp,              ///< `extra->regexp`
    anything_but,        ///< `extra->but`, `extra->strings` / `numbers` / `wildcards`
    all_of,              ///< `extra->parts`
};

/// What an anything-but excludes.
enum class but_kind : std::uint8_t {
    strings,             ///< these strings
    numbers,             ///< these numbers
    prefix,              ///< strings with one of these prefixes
    suffix,              ///< strings with one of these suffixes
    equals_ignore_case,  ///< these strings, ignoring case
    wildcard,            ///< strings matching one of these wildcards
};

/// The interval of a numeric operator.
struct numeric_range {
    double low = -std::numeric_limits<double>::infinity();  ///< the lower bound
    double high = std::numeric_limits<double>::infinity();  ///< the upper bound
    // An absent bound is an inclusive infinity, so values beyond the double range (read as
    // infinities) still satisfy one-sided ranges.
    bool low_inclusive = true;   ///< `>=` rather than `>`
    bool high_inclusive = true;  ///< `<=` rather than `<`

    /// Whether `v` lies in the interval.
    bool contains(double v) const noexcept {
        return (low_inclusive ? v >= low : v > low) && (high_inclusive ? v <= high : v < high);
    }
};

struct atom;

/// The parts of an operator that exact values do not need (ranges, CIDR blocks, regular
/// expressions, anything-but lists...), kept out of line so an exact value stays small, and
/// defined in pattern/detail/atom_extra.hpp so only the engine compiles their machinery.
struct atom_extra;

/// One alternative in a field's list of values.
struct atom {
    atom_kind kind = atom_kind::string;       ///< the operator
    bool flag = false;                        ///< a boolean operand or option (see atom_kind)
    std::string text;                         ///< a string operand
    double number = 0.0;                      ///< a number operand
    std::shared_ptr<const atom_extra> extra;  ///< the other operands (see atom_kind), or null
};

/// All values listed for one field: the field matches when any atom does. `absent` is
/// {"exists": false}: the field must have no leaf value at all.
struct condition {
    std::vector<std::string> path;  ///< object keys from the event's root
    std::vector<atom> atoms;        ///< the alternatives
    bool absent = false;            ///< {"exists": false}
};

/// One alternative of the whole pattern ($or expands into several): every condition must hold.
using branch = std::vector<condition>;

class compiled_pattern;

/// Parses and validates a pattern. Throws pattern_error naming the JSON path of the first problem
/// (or the byte offset of a syntax error).
SWITCHYARD_API compiled_pattern compile(std::string_view text);

namespace detail {
struct pattern_data {
    std::vector<branch> branches;
};
}  // namespace detail

/// A validated pattern, cheap to copy (it shares its immutable contents).
class SWITCHYARD_API compiled_pattern {
public:
    /// A pattern with no branches (matches nothing); compile() makes real ones.
    compiled_pattern();

    /// The alternatives: the pattern matches when any branch does.
    const std::vector<branch>& branches() const noexcept { return data_->branches; }
    /// The shared contents (for the matcher).
    const std::shared_ptr<const detail::pattern_data>& data() const noexcept { return data_; }

private:
    friend compiled_pattern compile(std::string_view);
    std::shared_ptr<const detail::pattern_data> data_;
};

}  // namespace switchyard::pattern

#if defined(SWITCHYARD_HEADER_ONLY) && !defined(SWITCHYARD_DETAIL_DEFER_PATTERN_INL)
#include "switchyard/pattern/pattern-inl.hpp"
#endif
