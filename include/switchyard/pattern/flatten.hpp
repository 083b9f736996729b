// The flattener, part of the pattern layer: reduces an event to the leaf values the matcher
// reads, extracting only the fields some rule uses. The envelope comes from meta(), a typed
// detail through its field visitor (the public value_sink interface: no JSON at all), and a
// JSON-text detail through the pattern engine's skipping scanner (no DOM). The flattener itself
// is compiled into libswitchyard (pattern/flatten-inl.hpp) unless SWITCHYARD_HEADER_ONLY.
#pragma once

#include <vector>

#include "switchyard/config.hpp"
#include "switchyard/event.hpp"
#include "switchyard/pattern/flat_event.hpp"
#include "switchyard/pattern/matcher.hpp"

namespace switchyard {

/// Fills `out` with the leaves of `e` that `matcher` reads.
SWITCHYARD_API void flatten(const any_event& e, const pattern::matcher& matcher, pattern::flat_event& out);

/// Appends the ids of the rules in `matcher` that match `e`, each once and in ascending order.
/// `scratch` is reused between calls to avoid allocating.
SWITCHYARD_API void match(const pattern::matcher& matcher, const any_event& e, pattern::flat_event& scratch,
                          std::vector<pattern::rule_id>& out);

}  // namespace switchyard

#ifdef SWITCHYARD_HEADER_ONLY
#include "switchyard/pattern/flatten-inl.hpp"
#endif
