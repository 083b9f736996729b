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
#include "switchyard/pattern/pattern.hpp"

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
