// Helpers shared by the pattern tests: match one pattern against one JSON document.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <switchyard/pattern/detail/atom_extra.hpp>
#include <switchyard/pattern/detail/index.hpp>
#include <switchyard/pattern/detail/json_scan.hpp>
#include <switchyard/pattern/matcher.hpp>
#include <switchyard/pattern/pattern.hpp>

namespace pattern_test {

inline bool matches(std::string_view pattern, std::string_view event) {
    const auto m = switchyard::pattern::matcher{}.with(7, switchyard::pattern::compile(pattern));
    switchyard::pattern::flat_event scratch;
    std::vector<switchyard::pattern::rule_id> out;
    if (!m.match_json(event, scratch, out)) throw std::runtime_error("invalid event JSON: " + std::string(event));
    return out.size() == 1 && out[0] == 7;
}

// The message of the pattern_error that compiling `pattern` throws ("" when it compiles).
inline std::string error_of(std::string_view pattern) {
    try {
        (void)switchyard::pattern::compile(pattern);
    } catch (const switchyard::pattern_error& e) {
        return e.what();
    }
    return {};
}

}  // namespace pattern_test
