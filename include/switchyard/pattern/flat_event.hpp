// The matcher's input: an event reduced to the (path, value) leaves that some rule reads.
// Paths join object keys with '.', e.g. "detail.customerId"; array elements share their
// parent's path, and `trail` records which element of which array each leaf came from so that
// fields matched together can be required to come from the same array element.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace switchyard::pattern {

enum class value_kind : std::uint8_t { string, number, boolean, null };

struct array_step {
    std::uint32_t array;  // which array (numbered in document order within one event)
    std::uint32_t index;  // which element of it
    friend bool operator==(const array_step&, const array_step&) = default;
};

struct flat_field {
    std::string path;
    value_kind kind = value_kind::null;
    std::string text;     // decoded string, the number's literal, "true"/"false", "null"
    double number = 0.0;  // for value_kind::number
    std::vector<array_step> trail;
};

struct flat_event {
    std::vector<flat_field> fields;
    void clear() { fields.clear(); }
};

}  // namespace switchyard::pattern
