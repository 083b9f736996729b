// Reads a FIFO ordering key from an event: a JSONPath-like dotted path into the envelope or its
// detail ("$.detail.customerId", "$.source", "detail.card.last4"). The detail is streamed, so a
// typed event is read through its field visitor and JSON text is never turned into a DOM.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "switchyard/config.hpp"
#include "switchyard/error.hpp"
#include "switchyard/event.hpp"
#include "switchyard/value_sink.hpp"

namespace switchyard::detail {

// The FIFO group of the events that have no value at the ordering key.
inline constexpr std::string_view no_key_group{"\0", 1};

class SWITCHYARD_API key_path {
public:
    key_path() = default;

    // Throws switchyard::error when `text` is not a dotted path of non-empty names, or cannot
    // name anything in an event (its first name is neither `detail` nor an envelope field).
    explicit key_path(std::string_view text);

    // Throws switchyard::error when the path names a member the typed detail does not have,
    // or goes on past one of its strings, numbers or booleans. A path through what a default
    // value leaves open (an empty optional, a map, a JSON value) is taken on trust; a path into an
    // array is refused, as the reader never looks inside one.
    void check_against(const typed_detail_shape& shape) const;

    bool empty() const noexcept { return parts_.empty(); }

    // The FIFO group of `e`: the field's value tagged with its kind, so the string "42" and the
    // number 42 are different groups, and events without the field form a group of their own
    // (a NUL byte, which no tagged value can be).
    std::string group_of(const any_event& e) const;

    // The field's value as text (strings as they are, other values as JSON), or nothing when the
    // event has no such field. `is_string` (when given) says whether it was a JSON string.
    std::optional<std::string> read(const any_event& e, bool* is_string = nullptr) const;

private:
    std::vector<std::string> parts_;
};

}  // namespace switchyard::detail

#ifdef SWITCHYARD_HEADER_ONLY
#include "switchyard/delivery/ordering_key-inl.hpp"
#endif
