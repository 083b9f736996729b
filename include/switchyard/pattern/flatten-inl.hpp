// The flattener: pattern/flatten.hpp's compiled half (compiled into libswitchyard, or included
// by flatten.hpp when SWITCHYARD_HEADER_ONLY is defined).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "switchyard/config.hpp"
#include "switchyard/event.hpp"
#include "switchyard/pattern/detail/json_scan.hpp"
#include "switchyard/pattern/flat_event.hpp"
#include "switchyard/pattern/flatten.hpp"
#include "switchyard/pattern/matcher.hpp"
#include "switchyard/value_sink.hpp"

namespace switchyard {

namespace detail {

// Walks the field-name automaton alongside a value_sink stream.
class flattening_sink final : public value_sink {
public:
    explicit flattening_sink(pattern::flat_event& out)
        : out_(out), trail_(out.state.trail), frames_(out.state.frames) {
        trail_.clear();
        frames_.clear();
    }

    // Starts a value at `node` (e.g. the root's "detail" state); null skips nothing: callers
    // only start values some rule reads.
    void start(const pattern::detail::trie_node* node) {
        frames_.clear();
        current_ = node;
    }

    void begin_object() override {
        const auto* node = value_node();
        frame f{node, false, 0, 0, false};
        if (!frames_.empty() && frames_.back().array && node && node->child_count) {
            trail_.push_back({frames_.back().id, frames_.back().index});
            f.pushed_step = true;
        }
        frames_.push_back(f);
    }
    bool key(std::string_view name) override {
        const auto* node = frames_.empty() ? nullptr : frames_.back().node;
        current_ = node ? node->child(name) : nullptr;
        return current_ != nullptr;
    }
    void end_object() override {
        if (frames_.back().pushed_step) trail_.pop_back();
        frames_.pop_back();
        element_done();
    }
    void begin_array() override { frames_.push_back({value_node(), true, out_.state.next_array++, 0, false}); }
    void end_array() override {
        frames_.pop_back();
        element_done();
    }
    void string(std::string_view v) override {
        if (const auto* ix = leaf_index()) {
            const auto offset = static_cast<std::uint32_t>(out_.text.size());
            out_.text.append(v);
            pattern::detail::add_leaf(out_, trail_, ix, pattern::value_kind::string, v.substr(0, 0), 0.0, true, offset);
            out_.fields.back().text = std::string_view(out_.text.data() + offset, v.size());
        }
        element_done();
    }
    void number(double v, std::string_view) override { scalar(pattern::value_kind::number, v); }
    void boolean(bool v) override { scalar(pattern::value_kind::boolean, v ? 1.0 : 0.0); }
    void null() override { scalar(pattern::value_kind::null, 0.0); }

    bool json_text(std::string_view text) override {
        const auto* node = value_node();
        if (!node) return true;
        pattern::detail::json_scanner scanner(out_);
        const auto saved = trail_;  // the scanner shares the trail buffer
        scanner.scan_value(text, *node, saved);
        trail_ = saved;
        element_done();
        return true;
    }

private:
    using frame = pattern::detail::sink_frame;

    const pattern::detail::trie_node* value_node() const {
        return !frames_.empty() && frames_.back().array ? frames_.back().node : current_;
    }
    const pattern::detail::path_index* leaf_index() const {
        const auto* node = value_node();
        return node ? node->index.get() : nullptr;
    }
    void scalar(pattern::value_kind kind, double v) {
        if (const auto* ix = leaf_index()) pattern::detail::add_leaf(out_, trail_, ix, kind, {}, v, false, 0);
        element_done();
    }
    void element_done() {
        if (!frames_.empty() && frames_.back().array) ++frames_.back().index;
    }

    pattern::flat_event& out_;
    std::vector<pattern::array_step>& trail_;
    std::vector<frame>& frames_;  // kept in the scratch so its capacity is reused
    const pattern::detail::trie_node* current_ = nullptr;
};

}  // namespace detail

SWITCHYARD_INLINE void flatten(const any_event& e, const pattern::matcher& matcher, pattern::flat_event& out) {
    out.clear();
    const auto& root = matcher.root();
    if (root.child_count == 0) return;
    detail::flattening_sink sink(out);
    const envelope& m = e.meta();
    auto text = [&](std::string_view name, std::string_view value) {
        if (const auto* node = root.child(name)) {
            sink.start(node);
            sink.string(value);
        }
    };
    text("version", m.version);
    text("id", m.id);
    text("detail-type", m.detail_type);
    text("source", m.source);
    text("account", m.account);
    text("time", m.time);
    text("region", m.region);
    if (m.replay_name) text("replay-name", *m.replay_name);
    if (const auto* node = root.child("resources")) {
        sink.start(node);
        sink.begin_array();
        for (const auto& r : m.resources) sink.string(r);
        sink.end_array();
    }
    if (const auto* node = root.child("detail")) {
        sink.start(node);
        e.emit_detail(sink);
    }
    pattern::detail::settle_text(out);
}

SWITCHYARD_INLINE void match(const pattern::matcher& matcher, const any_event& e, pattern::flat_event& scratch,
                             std::vector<pattern::rule_id>& out) {
    flatten(e, matcher, scratch);
    matcher.match(scratch, out);
}

}  // namespace switchyard
