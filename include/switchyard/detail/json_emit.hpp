// Pushes JSON (a nlohmann DOM, or JSON text) into a value_sink. The text path parses with
// nlohmann's SAX parser, so no DOM is built, and it honours a sink's request to skip a member.
// Compiled into libswitchyard (detail/json_emit-inl.hpp) unless SWITCHYARD_HEADER_ONLY.
#pragma once

#include <string_view>

#include <nlohmann/json.hpp>

#include "switchyard/config.hpp"
#include "switchyard/value_sink.hpp"

namespace switchyard::detail {

SWITCHYARD_API void emit_json(const nlohmann::json& value, value_sink& sink);

// Returns false when `text` is not valid JSON (the sink may then have seen a prefix of it).
SWITCHYARD_API bool emit_json_text(std::string_view text, value_sink& sink);

}  // namespace switchyard::detail

#ifdef SWITCHYARD_HEADER_ONLY
#include "switchyard/detail/json_emit-inl.hpp"
#endif
