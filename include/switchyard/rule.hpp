// Rules: a named event pattern and the targets that receive what it matches. Names follow
// EventBridge's rules (1 to 64 characters from [.-_A-Za-z0-9]); so do target ids.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "switchyard/error.hpp"
#include "switchyard/target.hpp"

namespace switchyard {

/// Whether a rule routes events (EventBridge's ENABLED / DISABLED).
enum class rule_state {
    enabled,   ///< events that match are delivered to the rule's targets
    disabled,  ///< the rule stays defined but matches nothing
};

/// A rule to add with bus::add_rule or bus::put_rule.
struct rule_spec {
    std::string name{};             ///< 1 to 64 characters from [.-_A-Za-z0-9], unique on the bus
    std::string pattern{};          ///< EventBridge event pattern, JSON text
    std::vector<target> targets{};  ///< where matched events go (at most bus_options::max_targets_per_rule)
    rule_state state = rule_state::enabled;  ///< a disabled rule matches nothing until enabled
    std::string description{};      ///< free text, shown by bus::list_rules
};

/// What `bus::list_rules` reports about a rule.
struct rule_info {
    std::string name;                     ///< the rule's name
    std::string pattern;                  ///< its event pattern, as given
    rule_state state = rule_state::enabled;  ///< enabled or disabled
    std::string description;              ///< as given in rule_spec::description
    std::vector<std::string> target_ids;  ///< its targets' ids, in the order they were added
    bool managed = false;  ///< created by `bus::subscribe`, removed when its subscription ends
};

namespace detail {

inline bool valid_name_char(char c) noexcept {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
}

/// Throws switchyard::error unless `name` is 1-64 characters from [.-_A-Za-z0-9].
inline void check_name(std::string_view what, std::string_view name) {
    if (name.empty() || name.size() > 64)
        throw error(std::string(what) + " name \"" + std::string(name) + "\" must be 1 to 64 characters long");
    for (const char c : name)
        if (!valid_name_char(c))
            throw error(std::string(what) + " name \"" + std::string(name) + "\" contains '" + std::string(1, c) +
                        "': use only letters, digits, '.', '-' and '_'");
}

}  // namespace detail

}  // namespace switchyard
