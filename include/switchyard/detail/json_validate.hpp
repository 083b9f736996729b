// A single-pass validator for JSON text that must be one object: RFC 8259 exactly as
// nlohmann/json's parser accepts it (strict UTF-8, paired \u surrogates, numbers a double can
// hold), plus unique member names per object. Hand-written so the publish path does not pay for
// a general parser's character-at-a-time lexer; no recursion (an explicit stack), so nesting
// cannot overflow the C++ stack. check_json_object (detail/json_object_check.hpp) is its face.
// The validator is detail/json_validator.hpp; it is compiled into libswitchyard
// (detail/json_validate-inl.hpp, from src/event.cpp) unless SWITCHYARD_HEADER_ONLY.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "switchyard/config.hpp"

namespace switchyard::detail {

struct json_problem {
    enum class kind { malformed, not_an_object, nul_byte, byte_order_mark, duplicate_member, number_out_of_range };
    kind what;
    std::string message;  // names the problem and the fix; `subject` ("Detail") opens it
};

// Nothing when `text` is one well-formed JSON object with unique member names and numbers a
// double can hold; otherwise what is wrong (the first problem in reading order; a NUL byte or a
// byte-order mark anywhere wins). Messages read after a subject ("Detail ...").
SWITCHYARD_API std::optional<json_problem> validate_json_object(std::string_view text);

}  // namespace switchyard::detail

#ifdef SWITCHYARD_HEADER_ONLY
#include "switchyard/detail/json_validate-inl.hpp"
#endif
