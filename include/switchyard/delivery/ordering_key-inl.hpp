// ordering_key.hpp's compiled half (compiled into libswitchyard, or included by ordering_key.hpp when
// SWITCHYARD_HEADER_ONLY is defined).
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <optional>
#include <string>
#include <string_view>
#include <vector>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "switchyard/config.hpp"
#include "switchyard/detail/json_path.hpp"
#include "switchyard/delivery/ordering_key.hpp"

namespace switchyard::detail {

// Follows the path through the stream, skipping every member off the path.
class key_path_extractor final : public value_sink {
public:
    explicit key_path_extractor(const std::vector<std::string>& parts) : parts_(parts) {}
    std::optional<std::string> result() const { return found_; }
    bool found_string() const noexcept { return found_string_; }

    void begin_object() override {
        if (capturing_) return capture_open('{');
        ++depth_;
    }
    bool key(std::string_view name) override {
        if (capturing_) {
            capture_key(name);
            return true;
        }
        // depth_ objects deep, we are on the path iff matched_ == depth_ - 1
        if (found_ || skip_array_ > 0 || matched_ != depth_ - 1 || depth_ >= parts_.size() || parts_[depth_] != name)
            return false;
        matched_ = depth_;
        if (depth_ + 1 == parts_.size()) capturing_ = true;
        return true;
    }
    void end_object() override {
        if (capturing_) return capture_close('}');
        if (matched_ == depth_ - 1 && matched_ > 0) --matched_;
        --depth_;
    }
    void begin_array() override {
        if (capturing_) return capture_open('[');
        skip_array_ += 1;  // arrays are not on a dotted path: ignore their contents
    }
    void end_array() override {
        if (capturing_) return capture_close(']');
        skip_array_ -= 1;
    }
    void string(std::string_view v) override {
        if (capturing_ && nesting_ == 0) {
            found_string_ = true;
            return finish(std::string(v));
        }
        if (capturing_) text_ += nlohmann::json(std::string(v)).dump() + ",";
    }
    void number(double v, std::string_view literal) override {
        // Integers (a typed int field, or a JSON integer, which arrives without its text) read as
        // written, "7" rather than "7.0".
        if (!literal.empty()) return scalar(std::string(literal));
        if (std::trunc(v) == v && std::fabs(v) < 1e15) return scalar(std::to_string(static_cast<long long>(v)));
        scalar(nlohmann::json(v).dump());
    }
    void boolean(bool v) override { scalar(v ? "true" : "false"); }
    void null() override { scalar("null"); }

private:
    void scalar(std::string text) {
        if (!capturing_) return;
        if (nesting_ == 0) return finish(std::move(text));
        text_ += text + ",";
    }
    void capture_open(char c) {
        ++nesting_;
        text_ += c;
    }
    void capture_key(std::string_view name) { text_ += nlohmann::json(std::string(name)).dump() + ":"; }
    void capture_close(char c) {
        if (!text_.empty() && text_.back() == ',') text_.pop_back();
        text_ += c;
        text_ += ',';
        if (--nesting_ == 0) {
            text_.pop_back();
            finish(std::move(text_));
        }
    }
    void finish(std::string text) {
        found_ = std::move(text);
        capturing_ = false;
    }

    const std::vector<std::string>& parts_;
    std::size_t depth_ = 0;    // objects entered
    std::size_t matched_ = 0;  // path parts matched so far ("detail" is matched by the caller)
    std::size_t nesting_ = 0;  // containers inside the captured value
    int skip_array_ = 0;
    bool capturing_ = false;
    bool found_string_ = false;
    std::string text_;
    std::optional<std::string> found_;
};

// The envelope fields an ordering key can name (each is one name long).
inline constexpr std::array<std::string_view, 8> key_envelope_fields{"source", "detail-type", "id",      "account",
                                                                     "region", "time",        "version", "replay-name"};

// What a typed detail looks like: the tree a default-constructed value emits.
struct detail_shape_node {
    enum class kind { object, array, string, number, boolean, null } what = kind::null;
    // An object's members, in order: names[i] is children[i]'s (two vectors, as a vector of
    // pairs would need this type complete).
    std::vector<std::string> names;
    std::vector<detail_shape_node> children;
};

class detail_shape_builder final : public value_sink {
public:
    detail_shape_node root;

    void begin_object() override { open(detail_shape_node::kind::object); }
    bool key(std::string_view name) override {
        pending_key_ = name;
        return true;
    }
    void end_object() override { open_.pop_back(); }
    void begin_array() override { open(detail_shape_node::kind::array); }
    void end_array() override { open_.pop_back(); }
    void string(std::string_view) override { place(detail_shape_node::kind::string); }
    void number(double, std::string_view) override { place(detail_shape_node::kind::number); }
    void boolean(bool) override { place(detail_shape_node::kind::boolean); }
    void null() override { place(detail_shape_node::kind::null); }

private:
    // Only the innermost open node gains children, so the pointers to open nodes stay valid.
    detail_shape_node& place(detail_shape_node::kind what) {
        if (!started_) {
            started_ = true;
            root.what = what;
            return root;
        }
        auto& parent = *open_.back();
        parent.names.push_back(parent.what == detail_shape_node::kind::object ? pending_key_ : std::string());
        parent.children.push_back(detail_shape_node{what, {}, {}});
        return parent.children.back();
    }
    void open(detail_shape_node::kind what) { open_.push_back(&place(what)); }

    bool started_ = false;
    std::string pending_key_;
    std::vector<detail_shape_node*> open_;
};

inline std::string key_path_text(const std::vector<std::string>& parts) {
    std::string out = "$";
    for (const auto& p : parts) out += "." + p;
    return out;
}

SWITCHYARD_INLINE key_path::key_path(std::string_view text) {
    if (text.empty() || text == "$.")
        throw error("ordering key \"" + std::string(text) + "\" is empty: name a field such as \"$.detail.customerId\"");
    // The one path language (detail/json_path.hpp), in its ordering-key dialect.
    const auto path = json_path::parse(text, ordering_key_grammar);
    for (const auto& step : path.steps()) parts_.push_back(step.name);
    // A path no event can have would quietly put every event into one FIFO group.
    const auto& root = parts_.front();
    const bool envelope_field = std::find(key_envelope_fields.begin(), key_envelope_fields.end(), root) != key_envelope_fields.end();
    if (root == "detail" && parts_.size() == 1)
        throw error(fmt::format("ordering key \"{}\" names the whole detail: name one of its fields, such as \"$.detail.customerId\"",
                                text));
    if (envelope_field && parts_.size() > 1)
        throw error(fmt::format("ordering key \"{}\" goes inside \"{}\", which is a string: use \"$.{}\" or a field of the detail",
                                text, root, root));
    if (root == "resources")
        throw error(fmt::format("ordering key \"{}\" names the envelope's resources, a list, which an ordering key cannot "
                                "read: name a field of the detail or source, detail-type, id, account, region, time, version or "
                                "replay-name",
                                text));
    if (root != "detail" && !envelope_field)
        throw error(fmt::format("ordering key \"{}\" starts at \"{}\", which no event has: start at \"$.detail.\" (a field of the "
                                "detail) or name an envelope field (source, detail-type, id, account, region, time, version, "
                                "replay-name)",
                                text, root));
}

SWITCHYARD_INLINE void key_path::check_against(const typed_detail_shape& shape) const {
    if (parts_.size() < 2 || parts_.front() != "detail" || !shape.emit_default) return;
    detail_shape_builder builder;
    shape.emit_default(builder);
    const detail_shape_node* node = &builder.root;
    std::string at = "the detail";
    for (std::size_t i = 1; i < parts_.size(); ++i) {
        switch (node->what) {
            case detail_shape_node::kind::object: {
                if (node->names.empty()) return;  // a map, or a type without fields: any name may be there
                const auto found = std::find(node->names.begin(), node->names.end(), parts_[i]);
                if (found == node->names.end()) {
                    std::string fields;
                    for (const auto& name : node->names) fields += (fields.empty() ? "" : ", ") + name;
                    throw error(fmt::format("ordering key \"{}\": {} of {} has no field \"{}\" (its fields: {}), so every event "
                                            "would share one FIFO group; name one of its fields",
                                            key_path_text(parts_), at, shape.type_name, parts_[i], fields));
                }
                at = "field \"" + parts_[i] + "\"";
                node = &node->children[static_cast<std::size_t>(found - node->names.begin())];
                break;
            }
            case detail_shape_node::kind::null:
                return;  // an empty optional or a JSON value: what it holds is not known here
            case detail_shape_node::kind::array:
                throw error(fmt::format("ordering key \"{}\": {} of {} is an array, and an ordering key cannot reach inside one "
                                        "(to \"{}\"); order by the whole array (end the path there) or by another field",
                                        key_path_text(parts_), at, shape.type_name, parts_[i]));
            default:
                throw error(fmt::format("ordering key \"{}\": {} of {} is a {}, so the path cannot go on to \"{}\"",
                                        key_path_text(parts_), at, shape.type_name,
                                        node->what == detail_shape_node::kind::string   ? "string"
                                        : node->what == detail_shape_node::kind::number ? "number"
                                                                                        : "boolean",
                                        parts_[i]));
        }
    }
}

SWITCHYARD_INLINE std::string key_path::group_of(const any_event& e) const {
    bool is_string = false;
    auto value = read(e, &is_string);
    if (!value) return std::string(no_key_group);
    value->insert(value->begin(), is_string ? 's' : 'j');
    return std::move(*value);
}

SWITCHYARD_INLINE std::optional<std::string> key_path::read(const any_event& e, bool* is_string) const {
    if (is_string) *is_string = true;
    const envelope& m = e.meta();
    const std::string& root = parts_.front();
    if (parts_.size() == 1) {
        if (root == "source") return m.source;
        if (root == "detail-type") return m.detail_type;
        if (root == "id") return m.id;
        if (root == "account") return m.account;
        if (root == "region") return m.region;
        if (root == "time") return m.time;
        if (root == "version") return m.version;
        if (root == "replay-name") return m.replay_name;
        return std::nullopt;
    }
    if (root != "detail") return std::nullopt;
    key_path_extractor sink(parts_);
    e.emit_detail(sink);
    if (is_string) *is_string = sink.found_string();
    return sink.result();
}

}  // namespace switchyard::detail
