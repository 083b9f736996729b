// Definitions for detail/json_emit.hpp (compiled into libswitchyard unless SWITCHYARD_HEADER_ONLY).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "switchyard/config.hpp"
#include "switchyard/detail/json_emit.hpp"
#include "switchyard/value_sink.hpp"

namespace switchyard::detail {

SWITCHYARD_INLINE void emit_json(const nlohmann::json& value, value_sink& sink) {
    using kind = nlohmann::json::value_t;
    switch (value.type()) {
        case kind::object:
            sink.begin_object();
            for (const auto& [name, member] : value.items())
                if (sink.key(name)) emit_json(member, sink);
            sink.end_object();
            return;
        case kind::array:
            sink.begin_array();
            for (const auto& element : value) emit_json(element, sink);
            sink.end_array();
            return;
        case kind::string: sink.string(value.get_ref<const std::string&>()); return;
        case kind::boolean: sink.boolean(value.get<bool>()); return;
        case kind::number_integer: sink.number(static_cast<double>(value.get<std::int64_t>()), {}); return;
        case kind::number_unsigned: sink.number(static_cast<double>(value.get<std::uint64_t>()), {}); return;
        case kind::number_float: sink.number(value.get<double>(), {}); return;
        case kind::null:
        case kind::discarded:
        case kind::binary: sink.null(); return;
    }
}

// Adapts nlohmann's SAX callbacks to a value_sink, tracking skipped members by depth.
class sax_to_sink {
public:
    using number_integer_t = nlohmann::json::number_integer_t;
    using number_unsigned_t = nlohmann::json::number_unsigned_t;
    using number_float_t = nlohmann::json::number_float_t;
    using string_t = nlohmann::json::string_t;
    using binary_t = nlohmann::json::binary_t;

    explicit sax_to_sink(value_sink& sink) : sink_(sink) {}

    bool null() { return scalar([&] { sink_.null(); }); }
    bool boolean(bool v) { return scalar([&] { sink_.boolean(v); }); }
    bool number_integer(number_integer_t v) {
        return scalar([&] { sink_.number(static_cast<double>(v), {}); });
    }
    bool number_unsigned(number_unsigned_t v) {
        return scalar([&] { sink_.number(static_cast<double>(v), {}); });
    }
    bool number_float(number_float_t v, const string_t& literal) {
        return scalar([&] { sink_.number(v, literal); });
    }
    bool string(string_t& v) { return scalar([&] { sink_.string(v); }); }
    bool binary(binary_t&) { return scalar([&] { sink_.null(); }); }
    bool start_object(std::size_t) { return open([&] { sink_.begin_object(); }); }
    bool end_object() { return close([&] { sink_.end_object(); }); }
    bool start_array(std::size_t) { return open([&] { sink_.begin_array(); }); }
    bool end_array() { return close([&] { sink_.end_array(); }); }
    bool key(string_t& name) {
        if (skip_depth_ == 0 && !sink_.key(name)) pending_skip_ = true;
        return true;
    }
    bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) {
        return false;
    }

private:
    template <class F> bool scalar(F&& f) {
        if (skip_depth_ > 0) return true;
        if (pending_skip_) {
            pending_skip_ = false;
            return true;
        }
        f();
        return true;
    }
    template <class F> bool open(F&& f) {
        if (skip_depth_ > 0) {
            ++skip_depth_;
        } else if (pending_skip_) {
            pending_skip_ = false;
            skip_depth_ = 1;
        } else {
            f();
        }
        return true;
    }
    template <class F> bool close(F&& f) {
        if (skip_depth_ > 0) --skip_depth_;
        else f();
        return true;
    }

    value_sink& sink_;
    std::size_t skip_depth_ = 0;
    bool pending_skip_ = false;
};

SWITCHYARD_INLINE bool emit_json_text(std::string_view text, value_sink& sink) {
    if (sink.json_text(text)) return true;
    sax_to_sink adapter(sink);
    return nlohmann::json::sax_parse(text.begin(), text.end(), &adapter);
}

}  // namespace switchyard::detail
