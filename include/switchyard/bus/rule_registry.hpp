// The rule registry: the bus's rules as immutable snapshots (the matcher, the entries by id and
// by name). Publishers load a snapshot and never wait; writers serialise, build the next one and
// swap it in. Targets that leave the table are retired, not freed, until the bus's threads are
// done with them.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "switchyard/bus/target_state.hpp"
#include "switchyard/detail/snapshot.hpp"
#include "switchyard/error.hpp"
#include "switchyard/pattern/matcher.hpp"
#include "switchyard/pattern/pattern.hpp"
#include "switchyard/rule.hpp"

namespace switchyard::detail {

using target_ptr = std::shared_ptr<target_state>;

struct rule_entry {
    pattern::rule_id id = 0;
    std::string name;
    std::string pattern;
    rule_state state = rule_state::enabled;
    std::string description;
    std::vector<target_ptr> targets;
    bool managed = false;  // a subscription's rule
    std::shared_ptr<rule_metrics> metrics = std::make_shared<rule_metrics>();  // shared by copies of the entry
};

// One immutable snapshot of the rules.
struct rule_table {
    pattern::matcher matcher;
    std::vector<std::shared_ptr<const rule_entry>> by_id;  // indexed by rule id; null when removed
    std::map<std::string, pattern::rule_id, std::less<>> by_name;

    const rule_entry* find(std::string_view name) const {
        const auto it = by_name.find(name);
        return it == by_name.end() ? nullptr : by_id[it->second].get();
    }
};

class rule_registry {
public:
    rule_registry(const std::string& bus_name, std::size_t max_targets_per_rule)
        : bus_(bus_name), max_targets_(max_targets_per_rule) {
        if (max_targets_ == 0) throw error("bus_options::max_targets_per_rule must be at least 1");
    }

    std::shared_ptr<const rule_table> load() const { return table_.load(); }

    // Adds a rule; with `replace`, a rule of the same name is replaced in one atomic step (its
    // deliveries already accepted still run on the old targets). `managed`: a subscription's.
    void add(rule_spec spec, bool managed = false, bool replace = false) {
        check_name("rule", spec.name);
        check_target_list(spec.name, spec.targets.size(), [&](std::size_t i) -> const std::string& { return spec.targets[i].id; });
        pattern::compiled_pattern compiled = [&] {
            try {
                return pattern::compile(spec.pattern);
            } catch (const pattern_error& e) {
                throw pattern_error(fmt::format("rule \"{}\": invalid event pattern: {}", spec.name, e.what()), e.path(), e.offset());
            }
        }();
        auto entry = std::make_shared<rule_entry>();
        entry->name = spec.name;
        entry->pattern = std::move(spec.pattern);
        entry->state = spec.state;
        entry->description = std::move(spec.description);
        entry->managed = managed;
        for (auto& t : spec.targets) entry->targets.push_back(make_target(std::move(t), spec.name, managed));

        std::lock_guard lock(mutex_);
        const auto current = table_.load();
        const auto existing = current->by_name.find(spec.name);
        if (existing != current->by_name.end() && !replace)
            throw error(fmt::format("bus \"{}\" already has a rule named \"{}\": remove it first, use put_rule to replace it, "
                                    "or choose another name",
                                    bus_, spec.name));
        if (existing != current->by_name.end()) {
            const auto& old = *current->by_id[existing->second];
            if (old.managed) throw error(fmt::format("rule \"{}\" belongs to a subscription: end the subscription instead", spec.name));
            retire(old.targets);
        }
        entry->id = next_rule_id_++;
        auto next = std::make_shared<rule_table>(*current);
        if (existing != current->by_name.end()) {
            next->matcher = current->matcher.without(existing->second).with(entry->id, compiled);
            next->by_id[existing->second] = nullptr;
            next->by_name.erase(existing->first);
        } else {
            next->matcher = current->matcher.with(entry->id, compiled);
        }
        if (next->by_id.size() <= entry->id) next->by_id.resize(entry->id + 1);
        next->by_name.emplace(entry->name, entry->id);
        next->by_id[entry->id] = std::move(entry);
        table_.store(std::move(next));
    }

    // Removes a rule and returns its targets (a subscription closes them), or nothing when there
    // is no such rule. A subscription's rule can only be removed by its subscription.
    std::optional<std::vector<target_ptr>> remove(std::string_view name, bool by_subscription = false) {
        std::lock_guard lock(mutex_);
        const auto current = table_.load();
        const auto it = current->by_name.find(name);
        if (it == current->by_name.end()) return std::nullopt;
        const auto id = it->second;
        if (current->by_id[id]->managed && !by_subscription)
            throw error(fmt::format("rule \"{}\" belongs to a subscription: end the subscription instead", name));
        auto targets = current->by_id[id]->targets;
        retire(targets);
        auto next = std::make_shared<rule_table>(*current);
        next->matcher = current->matcher.without(id);
        next->by_name.erase(std::string(name));
        next->by_id[id] = nullptr;
        table_.store(std::move(next));
        return targets;
    }

    void set_state(std::string_view name, rule_state state) {
        update_entry(name, [&](rule_entry& entry) { entry.state = state; });
    }

    // Adds targets to a rule or replaces those with the same ids (EventBridge's PutTargets).
    void put_targets(std::string_view rule, std::vector<target> targets) {
        std::vector<target_ptr> fresh;
        for (auto& t : targets) fresh.push_back(make_target(std::move(t), std::string(rule), false));
        update_targets(rule, [&](std::vector<target_ptr>& list) {
            for (auto& f : fresh) {
                auto same = std::find_if(list.begin(), list.end(), [&](const auto& t) { return t->spec.id == f->spec.id; });
                if (same != list.end()) *same = f;
                else list.push_back(f);
            }
        });
    }

    // Removes targets by id; unknown ids are an error naming them (EventBridge's RemoveTargets).
    void remove_targets(std::string_view rule, const std::vector<std::string>& ids) {
        update_targets(rule, [&](std::vector<target_ptr>& list) {
            for (const auto& id : ids) {
                auto it = std::find_if(list.begin(), list.end(), [&](const auto& t) { return t->spec.id == id; });
                if (it == list.end()) throw error(fmt::format("rule \"{}\" has no target \"{}\"", rule, id));
                list.erase(it);
            }
        });
    }

    // Every rule, sorted by name.
    std::vector<rule_info> list() const {
        const auto table = table_.load();
        std::vector<rule_info> out;
        for (const auto& [name, id] : table->by_name) {
            const auto& entry = *table->by_id[id];
            rule_info info{entry.name, entry.pattern, entry.state, entry.description, {}, entry.managed};
            for (const auto& t : entry.targets) info.target_ids.push_back(t->spec.id);
            out.push_back(std::move(info));
        }
        return out;
    }

    // A fresh name for a subscription's rule.
    std::string next_subscription_name() {
        std::lock_guard lock(mutex_);
        return fmt::format("subscription-{}", next_subscription_++);
    }

private:
    // Validates a target and builds its runtime state; errors name the target and the rule.
    static target_ptr make_target(target t, const std::string& rule, bool managed) {
        check_name("target", t.id);
        const std::string where = fmt::format("target \"{}\" of rule \"{}\"", t.id, rule);
        if (!t.invoke && !t.invoke_async) throw error(where + " has no handler");
        if (t.invoke && t.invoke_async)
            throw error(where + " has both a handler (invoke) and an asynchronous one (invoke_async): give it one of them");
        t.retries.validate(where);
        if (t.queue.capacity == 0) throw error(where + ": queue_options::capacity must be at least 1");
        if (t.forwards_whole_event && !std::holds_alternative<whole_event>(t.input))
            throw error(where + " routes events to another bus, which always receives the whole event: remove its input specification");
        try {
            return std::make_shared<target_state>(std::move(t), rule, managed);
        } catch (const error& e) {
            throw error(fmt::format("{}: {}", where, e.what()));
        }
    }

    template <class IdOf> void check_target_list(const std::string& rule, std::size_t count, IdOf id_of) const {
        if (count > max_targets_)
            throw error(fmt::format("rule \"{}\" has {} targets; a rule may have at most {} (bus_options::max_targets_per_rule)", rule,
                                    count, max_targets_));
        for (std::size_t i = 0; i < count; ++i)
            for (std::size_t j = 0; j < i; ++j)
                if (id_of(j) == id_of(i))
                    throw error(fmt::format("rule \"{}\" has two targets with id \"{}\": target ids must be unique within a rule", rule,
                                            id_of(i)));
    }

    // Replaces a rule's entry with an edited copy, atomically. Subscriptions' rules are theirs.
    template <class Edit> void update_entry(std::string_view rule, Edit edit) {
        std::lock_guard lock(mutex_);
        const auto current = table_.load();
        const auto it = current->by_name.find(rule);
        if (it == current->by_name.end()) throw error(fmt::format("bus \"{}\" has no rule named \"{}\"", bus_, rule));
        auto entry = std::make_shared<rule_entry>(*current->by_id[it->second]);
        if (entry->managed) throw error(fmt::format("rule \"{}\" belongs to a subscription: end the subscription instead", rule));
        edit(*entry);
        auto next = std::make_shared<rule_table>(*current);
        next->by_id[entry->id] = std::move(entry);
        table_.store(std::move(next));
    }

    // Replaces a rule's target list with the one `change` edits.
    template <class Change> void update_targets(std::string_view rule, Change change) {
        update_entry(rule, [&](rule_entry& entry) {
            retire(entry.targets);  // the ones `change` drops must not die on a worker thread
            change(entry.targets);
            check_target_list(entry.name, entry.targets.size(),
                              [&](std::size_t i) -> const std::string& { return entry.targets[i]->spec.id; });
        });
    }

    // Keeps targets that left the rule table alive until the bus's own threads are done with
    // them: otherwise the last reference could drop inside a delivery, on a worker of the very
    // pool the target owns, and that pool's destructor would join itself. Called under mutex_;
    // targets only this list still holds are freed here, on the caller's thread.
    void retire(const std::vector<target_ptr>& targets) {
        std::erase_if(retired_, [](const target_ptr& t) { return t.use_count() == 1; });
        retired_.insert(retired_.end(), targets.begin(), targets.end());
    }

    const std::string& bus_;
    const std::size_t max_targets_;
    snapshot<rule_table> table_{std::make_shared<const rule_table>()};
    std::mutex mutex_;
    std::vector<target_ptr> retired_;
    pattern::rule_id next_rule_id_ = 0;
    std::uint64_t next_subscription_ = 0;
};

}  // namespace switchyard::detail
