// What a target receives (EventBridge's Input, InputPath and InputTransformer), as plain
// vocabulary types: a target names its input here; transform.hpp compiles and renders it, and
// only the engine needs that.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>

#include <nlohmann/json.hpp>

#include "switchyard/error.hpp"

namespace switchyard {

/// The whole event as EventBridge JSON (the default).
struct whole_event {};

/// A fixed JSON text, sent whatever the event (EventBridge's `Input`).
struct constant_input {
    std::string json{};  ///< the JSON text
};

/// The value at one JSON path, e.g. `$.detail` (EventBridge's `InputPath`).
struct input_path {
    std::string path{};  ///< the JSON path
};

/// Variables bound to JSON paths and a template that uses them as `<name>` (EventBridge's
/// `InputTransformer` with `InputPathsMap` and `InputTemplate`).
struct input_transformer {
    std::map<std::string, std::string> input_paths{};  ///< variable name to JSON path (`InputPathsMap`)
    std::string input_template{};                      ///< the template (`InputTemplate`)
};

/// What a target receives (EventBridge's Input, InputPath and InputTransformer): exactly one of
/// the four, per target. compiled_input compiles and renders it.
using input_spec = std::variant<whole_event, constant_input, input_path, input_transformer>;

/// A rendered payload as a typed target's value. `std::string` receives the payload text as is
/// (JSON text, or the text of a plain-text template), as EventBridge would send it to a target;
/// any other T is parsed from the JSON and converted with nlohmann. Throws
/// switchyard::permanent_error, naming the target, when the payload does not fit T, so the
/// delivery is dead-lettered rather than retried.
template <class T> T payload_as(std::string_view payload, bool is_json, std::string_view target_name) {
    if constexpr (std::is_same_v<T, std::string>) {
        return std::string(payload);
    } else {
        if (!is_json)
            throw permanent_error("target \"" + std::string(target_name) +
                                  "\" receives a plain-text template's output, which only a std::string handler can take");
        auto parsed = nlohmann::json::parse(payload, nullptr, false);
        if (parsed.is_discarded())
            throw permanent_error("target \"" + std::string(target_name) + "\" received a payload that is not JSON");
        if constexpr (std::is_same_v<T, nlohmann::json>) {
            return parsed;
        } else {
            try {
                return parsed.template get<T>();
            } catch (const nlohmann::json::exception& ex) {
                throw permanent_error("target \"" + std::string(target_name) +
                                      "\": the transformed input does not fit the handler's type: " + ex.what());
            }
        }
    }
}

}  // namespace switchyard
