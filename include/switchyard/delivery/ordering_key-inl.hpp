// ordering_key.hpp's compiled half (compiled into libswitchyard, or included by ordering_key.hpp when
// SWITCHYARD_HEADER_ONLY is defined).
#pragma once

#include <cmath>
#include <optional>
#include <string>
#include <string_view>
#include <vector>
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

SWITCHYARD_INLINE key_path::key_path(std::string_view text) {
    if (text.empty() || text == "$.")
        throw error("ordering key \"" + std::string(text) + "\" is empty: name a field such as \"$.detail.customerId\"");
    // The one path language (detail/json_path.hpp), in its ordering-key dialect.
    const auto path = json_path::parse(text, ordering_key_grammar);
    for (const auto& step : path.steps()) parts_.push_back(step.name);
}

SWITCHYARD_INLINE std::string key_path::group_of(const any_event& e) const {
    bool is_string = false;
    auto value = read(e, &is_string);
    if (!value) return std::string(1, '\0');
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
