// explain(): explain.hpp's compiled half (compiled into libswitchyard, or included by explain.hpp
// when SWITCHYARD_HEADER_ONLY is defined).
//
// Nothing here decides whether a value satisfies an operator: every question ("does this
// condition hold?", "does this alternative?", "do these two conditions hold together?") is a small
// pattern of its own, compiled by pattern::compile and answered by pattern::matcher on the event's
// text. The pattern's JSON is walked only to know each condition's path and its values as written,
// in exactly the order compile() builds its alternatives.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "switchyard/config.hpp"
#include "switchyard/error.hpp"
#include "switchyard/pattern/explain.hpp"
#include "switchyard/pattern/flat_event.hpp"
#include "switchyard/pattern/matcher.hpp"
#include "switchyard/pattern/pattern.hpp"

namespace switchyard {

namespace detail::explaining {

using json = nlohmann::json;

// One condition as the pattern writes it: a field's path and its list of values.
struct field_condition {
    std::vector<std::string> path;
    const json* values = nullptr;  // points into the parsed pattern
    std::uint32_t probe = 0;       // the rule id that tests it alone
};
using alternative = std::vector<field_condition>;

inline std::string dump(const json& v) { return v.dump(-1, ' ', false, json::error_handler_t::replace); }

// A path as pattern_error paths show it: keys joined with '.', a key with control characters
// quoted as a JSON string.
inline std::string path_text(const std::vector<std::string>& path, std::size_t size) {
    std::string out;
    for (std::size_t i = 0; i < size; ++i) {
        if (i > 0) out += '.';
        bool control = false;
        for (const char c : path[i]) control = control || static_cast<unsigned char>(c) < 0x20;
        out += control ? dump(json(path[i])) : path[i];
    }
    return out;
}
inline std::string path_text(const std::vector<std::string>& path) { return path_text(path, path.size()); }

inline std::vector<alternative> product(const std::vector<alternative>& a, const std::vector<alternative>& b) {
    std::vector<alternative> out;
    out.reserve(a.size() * b.size());
    for (const auto& x : a)
        for (const auto& y : b) {
            alternative both = x;
            both.insert(both.end(), y.begin(), y.end());
            out.push_back(std::move(both));
        }
    return out;
}

// The alternatives of an object of a pattern compile() accepted, built as pattern::detail::object_of
// builds compiled_pattern::branches(): same members in the same order, so the results line up.
inline std::vector<alternative> alternatives_of(const json& object, const std::vector<std::string>& path) {
    std::vector<alternative> out{alternative{}};
    for (const auto& [key, value] : object.items()) {
        if (key == "$or") {  // compile() allows no other '$' key
            std::vector<alternative> any;
            for (const auto& element : value)
                for (auto& a : alternatives_of(element, path)) any.push_back(std::move(a));
            out = product(out, any);
            continue;
        }
        std::vector<std::string> sub = path;
        sub.push_back(key);
        if (value.is_object())
            out = product(out, alternatives_of(value, sub));
        else
            out = product(out, {alternative{field_condition{std::move(sub), &value, 0}}});
    }
    return out;
}

// Puts `values` at `path` in `object` unless a member on the way is already taken.
inline bool try_insert(json& object, const std::vector<std::string>& path, const json& values) {
    json* at = &object;
    for (std::size_t i = 0; i < path.size(); ++i) {
        const auto it = at->find(path[i]);
        if (it == at->end()) {
            json leaf = values;
            for (std::size_t k = path.size() - 1; k > i; --k) {
                json wrapped = json::object();
                wrapped[path[k]] = std::move(leaf);
                leaf = std::move(wrapped);
            }
            (*at)[path[i]] = std::move(leaf);
            return true;
        }
        if (i + 1 == path.size() || !it->is_object()) return false;
        at = &*it;
    }
    return false;
}

// A pattern whose only alternative is exactly these conditions (no more, no less). Conditions
// that cannot share one object with the others (same path, or one path inside another: possible
// only when they came from different $or alternatives) go one level down, into {"$or": [X, X]},
// which is X.
inline json pattern_of(const std::vector<const field_condition*>& conditions) {
    json root = json::object();
    std::vector<const field_condition*> rest;
    for (const auto* c : conditions)
        if (!try_insert(root, c->path, *c->values)) rest.push_back(c);
    if (!rest.empty()) {
        const json inner = pattern_of(rest);
        root["$or"] = json::array({inner, inner});
    }
    return root;
}

// Several patterns in one matcher, answered by one scan of the event.
class probe_set {
public:
    std::uint32_t add(const pattern::compiled_pattern& p) {
        matcher_ = matcher_.with(next_, p);
        return next_++;
    }
    std::uint32_t add(const json& p) { return add(pattern::compile(dump(p))); }
    // Adds the pattern of `conditions`; nullopt when it exceeds a pattern limit (a rare shape that
    // only the $or nesting above can reach).
    std::optional<std::uint32_t> try_add(const std::vector<const field_condition*>& conditions) {
        try {
            return add(pattern_of(conditions));
        } catch (const pattern_error&) {
            return std::nullopt;
        }
    }

    // Which of the patterns match the event.
    std::vector<bool> run(std::string_view event) const {
        pattern::flat_event scratch;
        std::vector<pattern::rule_id> ids;
        if (!matcher_.match_json(event, scratch, ids)) throw error(scratch.error_message());
        std::vector<bool> hit(next_, false);
        for (const auto id : ids) hit[id] = true;
        return hit;
    }

private:
    pattern::matcher matcher_;
    std::uint32_t next_ = 0;
};

// The event's values at the end of `path` (every element of each array on the way).
inline void reach(const json& v, const std::vector<std::string>& path, std::size_t depth, std::vector<const json*>& out,
                  bool& through_array) {
    if (depth == path.size()) {
        out.push_back(&v);
        return;
    }
    if (v.is_array()) {
        through_array = true;
        for (const auto& element : v) reach(element, path, depth, out, through_array);
        return;
    }
    if (!v.is_object()) return;
    const auto it = v.find(path[depth]);
    if (it != v.end()) reach(*it, path, depth + 1, out, through_array);
}

inline std::string actual_of(const json& event, const std::vector<std::string>& path) {
    std::vector<const json*> found;
    bool through_array = false;
    reach(event, path, 0, found, through_array);
    if (found.empty()) return "missing";
    if (!through_array) return dump(*found.front());
    json all = json::array();
    for (const auto* v : found) all.push_back(*v);
    return dump(all);
}

// The innermost array of the event that both paths pass through (their common key prefix, leaves
// excluded), as a path; empty when there is none.
inline std::string shared_array(const json& event, const std::vector<std::string>& a,
                                const std::vector<std::string>& b) {
    std::size_t common = 0;
    while (common + 1 < a.size() && common + 1 < b.size() && a[common] == b[common]) ++common;
    for (std::size_t d = common; d >= 1; --d) {
        const std::vector<std::string> prefix(a.begin(), a.begin() + static_cast<std::ptrdiff_t>(d));
        std::vector<const json*> found;
        bool through_array = false;
        reach(event, prefix, 0, found, through_array);
        for (const auto* v : found)
            if (v->is_array()) return path_text(prefix);
    }
    return {};
}

inline condition_miss miss_of(const json& event, const field_condition& c) {
    return condition_miss{path_text(c.path), dump(*c.values), actual_of(event, c.path), {}};
}

// For an alternative whose conditions each hold alone but not together: the first condition that
// cannot join the ones before it, and, when one earlier condition alone is enough to clash with it,
// that one and the array they disagree on.
inline condition_miss clash_of(const json& event, std::string_view event_text, const alternative& conditions) {
    const std::size_t n = conditions.size();
    std::vector<const field_condition*> all;
    for (const auto& c : conditions) all.push_back(&c);

    std::size_t last = n - 1;  // without an answer, the whole alternative fails at its last condition
    {
        probe_set probes;
        std::vector<std::optional<std::uint32_t>> prefix(n);
        for (std::size_t j = 1; j + 1 < n; ++j)
            prefix[j] = probes.try_add(
                std::vector<const field_condition*>(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(j) + 1));
        const auto hit = probes.run(event_text);
        for (std::size_t j = 1; j + 1 < n; ++j)
            if (prefix[j] && !hit[*prefix[j]]) {
                last = j;
                break;
            }
    }
    condition_miss miss = miss_of(event, conditions[last]);
    probe_set probes;
    std::vector<std::optional<std::uint32_t>> pair(last);
    for (std::size_t i = 0; i < last; ++i) pair[i] = probes.try_add({all[i], all[last]});
    const auto hit = probes.run(event_text);
    for (std::size_t i = 0; i < last; ++i) {
        if (!pair[i] || hit[*pair[i]]) continue;
        const std::string array = shared_array(event, conditions[i].path, conditions[last].path);
        // Two conditions on one field (from different $or alternatives) are told apart by value.
        const bool same = conditions[i].path == conditions[last].path;
        miss.reason = path_text(conditions[i].path) + (same ? " " + dump(*conditions[i].values) : std::string()) +
                      " and " + miss.path + (same ? " " + miss.expected : std::string()) + " hold only in different " +
                      (array.empty() ? std::string("array elements") : "elements of " + array);
        return miss;
    }
    miss.reason = "no array element holds it together with the fields before it";
    return miss;
}

// At most `limit` bytes of `text`, cut at a UTF-8 boundary, with "..." when cut.
inline std::string shortened(const std::string& text, std::size_t limit) {
    if (text.size() <= limit) return text;
    std::size_t end = limit;
    while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0u) == 0x80u) --end;
    return text.substr(0, end) + "...";
}

}  // namespace detail::explaining

SWITCHYARD_INLINE std::string pattern_explanation::to_string() const {
    using detail::explaining::shortened;
    const std::string which =
        alternatives > 1 ? "alternative " + std::to_string(alternative + 1) + " of " + std::to_string(alternatives)
                         : std::string();
    if (matched) return which.empty() ? std::string("match") : "match (" + which + ")";
    std::string out = which.empty() ? std::string("no match") : "no match (" + which + " came closest)";
    if (!miss) return out;
    out += ": " + miss->path + " expected " + shortened(miss->expected, 200) + ", event has " +
           shortened(miss->actual, 200);
    if (!miss->reason.empty()) out += " (" + miss->reason + ")";
    return out;
}

SWITCHYARD_INLINE pattern_explanation explain(std::string_view pattern_json, std::string_view event_json) {
    namespace ex = detail::explaining;
    const pattern::compiled_pattern compiled = pattern::compile(pattern_json);
    ex::json event;
    try {
        event = ex::json::parse(event_json);
    } catch (const ex::json::parse_error& e) {
        throw error("the event is not valid JSON at byte " + std::to_string(e.byte > 0 ? e.byte - 1 : 0) + ": " +
                    e.what());
    } catch (const ex::json::exception& e) {
        // e.g. a number beyond the double range, which the matcher reads as an infinity
        throw error(std::string("the event cannot be read as JSON: ") + e.what());
    }
    // compile() accepted the text, so it parses; duplicate keys it would have refused.
    const ex::json pattern = ex::json::parse(pattern_json);

    std::vector<ex::alternative> alternatives = ex::alternatives_of(pattern, {});
    const auto& branches = compiled.branches();
    bool aligned = alternatives.size() == branches.size();
    for (std::size_t b = 0; aligned && b < branches.size(); ++b) aligned = alternatives[b].size() == branches[b].size();
    if (!aligned)
        throw std::logic_error("switchyard::explain: the pattern's alternatives do not line up with compile()'s");

    // One matcher: the whole pattern, and each distinct condition alone.
    ex::probe_set probes;
    const std::uint32_t whole = probes.add(compiled);
    std::map<std::string, std::uint32_t> distinct;
    for (auto& a : alternatives)
        for (auto& c : a) {
            const std::string key = ex::dump(ex::json::array({ex::json(c.path), *c.values}));
            const auto found = distinct.find(key);
            if (found != distinct.end())
                c.probe = found->second;
            else
                distinct.emplace(key, c.probe = probes.add(ex::pattern_of({&c})));
        }
    const std::vector<bool> hit = probes.run(event_json);

    pattern_explanation out;
    out.matched = hit[whole];
    out.alternatives = alternatives.size();
    std::vector<std::size_t> failing(alternatives.size(), 0);
    for (std::size_t b = 0; b < alternatives.size(); ++b)
        for (const auto& c : alternatives[b]) failing[b] += hit[c.probe] ? 0 : 1;

    if (out.matched) {
        // A matching alternative has every condition holding alone; among those, ask which match.
        std::vector<std::size_t> candidates;
        for (std::size_t b = 0; b < alternatives.size(); ++b)
            if (failing[b] == 0) candidates.push_back(b);
        if (candidates.empty()) return out;  // cannot happen: the matcher said one matches
        out.alternative = candidates.front();
        if (candidates.size() > 1) {
            ex::probe_set each;
            std::vector<std::optional<std::uint32_t>> ids;
            for (const auto b : candidates) {
                std::vector<const ex::field_condition*> conditions;
                for (const auto& c : alternatives[b]) conditions.push_back(&c);
                ids.push_back(each.try_add(conditions));
            }
            const auto matched = each.run(event_json);
            for (std::size_t k = 0; k < candidates.size(); ++k)
                if (ids[k] && matched[*ids[k]]) {
                    out.alternative = candidates[k];
                    break;
                }
        }
        return out;
    }

    std::size_t closest = 0;
    for (std::size_t b = 1; b < alternatives.size(); ++b)
        if (failing[b] < failing[closest]) closest = b;
    out.alternative = closest;
    const auto& conditions = alternatives[closest];
    for (const auto& c : conditions)
        if (!hit[c.probe]) {
            out.miss = ex::miss_of(event, c);
            return out;
        }
    // Every condition holds alone: the alternative fails on the same-array-element rule, which
    // needs at least two conditions (guarded all the same).
    if (conditions.size() >= 2) out.miss = ex::clash_of(event, event_json, conditions);
    return out;
}

}  // namespace switchyard
