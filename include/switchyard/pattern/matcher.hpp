// The matcher: an immutable set of compiled patterns keyed by rule id. `with` and `without`
// return a new matcher and leave this one untouched, so readers match against a snapshot while
// a writer prepares the next. Stand-in implementation: it tests each rule in turn.
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "switchyard/pattern/flat_event.hpp"
#include "switchyard/pattern/pattern.hpp"

namespace switchyard::pattern {

using rule_id = std::uint32_t;

class matcher {
public:
    matcher() : rules_(std::make_shared<const rule_map>()), paths_(std::make_shared<const path_set>()) {}

    [[nodiscard]] matcher with(rule_id id, const compiled_pattern& pattern) const {
        auto rules = std::make_shared<rule_map>(*rules_);
        (*rules)[id] = pattern;
        return matcher(std::move(rules));
    }

    [[nodiscard]] matcher without(rule_id id) const {
        auto rules = std::make_shared<rule_map>(*rules_);
        rules->erase(id);
        return matcher(std::move(rules));
    }

    std::size_t size() const noexcept { return rules_->size(); }

    // Does any rule read the leaf at `path`, or a leaf below it?
    bool wants(std::string_view path) const {
        if (paths_->count(path)) return true;
        std::string below(path);
        below += '.';
        const auto it = paths_->lower_bound(below);
        return it != paths_->end() && it->compare(0, below.size(), below) == 0;
    }

    // Appends the ids of matching rules to `out`, in ascending id order.
    void match(const flat_event& event, std::vector<rule_id>& out) const {
        for (const auto& [id, pattern] : *rules_)
            if (matches(pattern, event)) out.push_back(id);
    }

private:
    using rule_map = std::map<rule_id, compiled_pattern>;
    using path_set = std::set<std::string, std::less<>>;

    explicit matcher(std::shared_ptr<const rule_map> rules) : rules_(std::move(rules)) {
        auto paths = std::make_shared<path_set>();
        for (const auto& [id, pattern] : *rules_)
            for (const auto& [path, values] : pattern.conditions()) paths->insert(path);
        paths_ = std::move(paths);
    }

    static bool equal(const exact_value& want, const flat_field& have) {
        if (want.kind != have.kind) return false;
        if (want.kind == value_kind::number) return want.number == have.number;
        return want.text == have.text;
    }

    static bool matches(const compiled_pattern& pattern, const flat_event& event) {
        for (const auto& condition : pattern.conditions()) {
            const auto& path = condition.first;
            const auto& values = condition.second;
            const bool any = std::any_of(event.fields.begin(), event.fields.end(), [&](const flat_field& f) {
                return f.path == path &&
                       std::any_of(values.begin(), values.end(), [&](const exact_value& v) { return equal(v, f); });
            });
            if (!any) return false;
        }
        return true;
    }

    std::shared_ptr<const rule_map> rules_;
    std::shared_ptr<const path_set> paths_;
};

}  // namespace switchyard::pattern
