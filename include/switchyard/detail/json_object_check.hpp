// The one check that JSON text is a well-formed object every reader will read alike: ingest,
// make_json_event, parse_event and the archive use it, so text that is accepted can always be
// read again (after a crash, in a replay, by a JSON handler). A single pass, no DOM: the
// hand-written validator of detail/json_validate.hpp, which accepts exactly what nlohmann/json's
// parser accepts.
#pragma once

#include <optional>
#include <string_view>

#include "switchyard/detail/json_validate.hpp"

namespace switchyard::detail {

// Nothing when `text` is one well-formed JSON object with unique member names and numbers a
// double can hold; otherwise what is wrong. Messages read after a subject ("Detail ..."):
// - byte_order_mark: "starts with a byte-order mark: ..."
// - nul_byte: "contains a NUL byte at offset N: ..."
// - malformed: "is not valid JSON (at byte N, near \"TEXT\"): ..."
// - number_out_of_range: "has a number outside the range of a double (1e400) at byte N: ..."
// - duplicate_member: "has the member \"a\" twice in one object (at $.x[2].a): ..."
// - not_an_object: "must be a JSON object, got array|string|boolean|null|number"
// Duplicate names are refused because the pattern matcher and nlohmann would otherwise each
// read a different one of the two (a filter bypass); numbers beyond a double's range because a
// reader could not hold them.
inline std::optional<json_problem> check_json_object(std::string_view text) { return validate_json_object(text); }

}  // namespace switchyard::detail
