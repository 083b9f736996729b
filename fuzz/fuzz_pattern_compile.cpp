// libFuzzer target: arbitrary bytes as an event pattern. Compiling must either succeed or throw
// switchyard::pattern_error; any other exception, a crash or a sanitizer report is a bug. A
// pattern that compiles must also be accepted by the matcher and survive being removed again.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "switchyard/pattern/matcher.hpp"
#include "switchyard/pattern/pattern.hpp"

#include "fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    namespace sp = switchyard::pattern;
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    sp::compiled_pattern compiled;
    try {
        compiled = sp::compile(text);
    } catch (const switchyard::pattern_error& ex) {
        // The documented way to refuse a pattern; its message must say something.
        switchyard_fuzz::check(std::string_view(ex.what()).size() > 0, "pattern_error with an empty message");
        return 0;
    }
    // Anything other than pattern_error escapes and libFuzzer reports it (uncaught exception).

    const auto& branches = compiled.branches();
    switchyard_fuzz::check(!branches.empty(), "a compiled pattern has no alternatives");
    switchyard_fuzz::check(branches.size() <= sp::max_branches, "a compiled pattern exceeds max_branches");
    for (const auto& b : branches) {
        switchyard_fuzz::check(!b.empty(), "an alternative of a compiled pattern tests no field");
        switchyard_fuzz::check(b.size() <= sp::max_conditions, "an alternative exceeds max_conditions");
        for (const auto& c : b) {
            switchyard_fuzz::check(!c.path.empty(), "a condition with an empty path");
            switchyard_fuzz::check(c.absent || !c.atoms.empty(), "a condition with no values that is not exists:false");
        }
    }

    // Indexing and un-indexing a compiled pattern must work and leave an empty matcher that
    // matches nothing.
    const sp::matcher with = sp::matcher{}.with(1, compiled);
    switchyard_fuzz::check(with.size() == 1 && with.contains(1), "matcher.with lost the rule");
    const sp::matcher without = with.without(1);
    switchyard_fuzz::check(without.size() == 0 && !without.contains(1), "matcher.without kept the rule");
    sp::flat_event scratch;
    std::vector<sp::rule_id> out;
    without.match_json(R"({"a": 1})", scratch, out);
    switchyard_fuzz::check(out.empty(), "an empty matcher matched");
    return 0;
}
