// Definitions for detail/json_validate.hpp (compiled into libswitchyard unless SWITCHYARD_HEADER_ONLY).
#pragma once

#include <optional>
#include <string_view>

#include "switchyard/config.hpp"
#include "switchyard/detail/json_validate.hpp"
#include "switchyard/detail/json_validator.hpp"

namespace switchyard::detail {

SWITCHYARD_INLINE std::optional<json_problem> validate_json_object(std::string_view text) { return json_validation::validate(text); }

}  // namespace switchyard::detail
