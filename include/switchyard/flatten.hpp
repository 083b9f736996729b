// Reduces an event to the flat (path, value) leaves the matcher reads, extracting only the
// fields some rule uses: members nobody reads are skipped by the producer (a typed event's
// visitor or the JSON scanner) without being materialised.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "switchyard/event.hpp"
#include "switchyard/pattern/flat_event.hpp"
#include "switchyard/pattern/matcher.hpp"
#include "switchyard/value_sink.hpp"

namespace switchyard {

namespace detail {

class flattening_sink final : public value_sink {
public:
    flattening_sink(const pattern::matcher& matcher, pattern::flat_event& out) : matcher_(matcher), out_(out) {}

    // Starts a member at the top level of the event, e.g. "detail".
    bool enter_root(std::string_view name) {
        path_.assign(name);
        return matcher_.wants(path_);
    }

    void begin_object() override {
        lengths_.push_back(path_.size());
        containers_.push_back(false);
    }
    bool key(std::string_view name) override {
        path_.resize(lengths_.back());
        if (!path_.empty()) path_ += '.';
        path_ += name;
        return matcher_.wants(path_);
    }
    void end_object() override {
        path_.resize(lengths_.back());
        lengths_.pop_back();
        containers_.pop_back();
        element_done();
    }
    void begin_array() override {
        arrays_.push_back({next_array_++, 0});
        containers_.push_back(true);
    }
    void end_array() override {
        arrays_.pop_back();
        containers_.pop_back();
        element_done();
    }
    void string(std::string_view v) override { leaf(pattern::value_kind::string, std::string(v), 0.0); }
    void number(double v, std::string_view literal) override {
        leaf(pattern::value_kind::number, literal.empty() ? fmt_number(v) : std::string(literal), v);
    }
    void boolean(bool v) override { leaf(pattern::value_kind::boolean, v ? "true" : "false", 0.0); }
    void null() override { leaf(pattern::value_kind::null, "null", 0.0); }

private:
    static std::string fmt_number(double v) { return nlohmann::json(v).dump(); }

    void leaf(pattern::value_kind kind, std::string text, double number) {
        out_.fields.push_back({path_, kind, std::move(text), number, arrays_});
        element_done();
    }

    // A value just ended; if it was an array element, the next one gets the next index.
    void element_done() {
        if (!containers_.empty() && containers_.back()) ++arrays_.back().index;
    }

    const pattern::matcher& matcher_;
    pattern::flat_event& out_;
    std::string path_;
    std::vector<std::size_t> lengths_;
    std::vector<pattern::array_step> arrays_;
    std::vector<bool> containers_;  // true for an array, false for an object
    std::uint32_t next_array_ = 0;
};

}  // namespace detail

// Fills `out` with the leaves of `e` that `matcher` reads.
inline void flatten(const any_event& e, const pattern::matcher& matcher, pattern::flat_event& out) {
    out.clear();
    detail::flattening_sink sink(matcher, out);
    const envelope& m = e.meta();
    auto text = [&](std::string_view name, const std::string& value) {
        if (sink.enter_root(name)) sink.string(value);
    };
    text("version", m.version);
    text("id", m.id);
    text("detail-type", m.detail_type);
    text("source", m.source);
    text("account", m.account);
    text("time", m.time);
    text("region", m.region);
    if (m.replay_name) text("replay-name", *m.replay_name);
    if (sink.enter_root("resources")) {
        sink.begin_array();
        for (const auto& r : m.resources) sink.string(r);
        sink.end_array();
    }
    if (sink.enter_root("detail")) {
        e.emit_detail(sink);
    }
}

// Appends the ids of the rules in `matcher` that match `e`. `scratch` is reused between calls to
// avoid allocating.
inline void match(const pattern::matcher& matcher, const any_event& e, pattern::flat_event& scratch,
                  std::vector<pattern::rule_id>& out) {
    flatten(e, matcher, scratch);
    matcher.match(scratch, out);
}

}  // namespace switchyard
