// The out-of-line parts of a pattern's atom: what operators other than exact values need.
// Only the pattern engine (the parser and the matcher's index) includes this.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "switchyard/pattern/detail/casefold.hpp"
#include "switchyard/pattern/detail/cidr.hpp"
#include "switchyard/pattern/detail/regexp.hpp"
#include "switchyard/pattern/detail/wildcard.hpp"
// pattern.hpp's definitions (header-only mode) need atom_extra complete: when this header is
// the first to include pattern.hpp, they are included at the end of this one instead.
#define SWITCHYARD_DETAIL_DEFER_PATTERN_INL
#include "switchyard/pattern/pattern.hpp"
#undef SWITCHYARD_DETAIL_DEFER_PATTERN_INL

namespace switchyard::pattern {

struct atom_extra {
    numeric_range range;
    detail::cidr_block cidr;
    std::shared_ptr<const detail::regexp_program> regexp;
    but_kind but = but_kind::strings;
    std::vector<std::string> strings;  // anything-but values / prefixes / suffixes / folded values
    std::vector<double> numbers;
    std::vector<detail::wildcard_program> wildcards;
    std::vector<atom> parts;
};

}  // namespace switchyard::pattern

#ifdef SWITCHYARD_HEADER_ONLY
#include "switchyard/pattern/pattern-inl.hpp"
#endif
