// The matcher's input and scratch space: an event reduced to the leaf values that some rule
// reads, each tagged with the rule index of its path and the array elements it came from (so
// fields matched together can be required to come from the same element of an array of
// objects). One flat_event per thread is reused from event to event, so matching allocates
// nothing once it has warmed up.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace switchyard::pattern {

namespace detail {
struct path_index;
struct trie_node;
}

enum class value_kind : std::uint8_t { string, number, boolean, null };

// An object inside an array: which array (numbered in document order within one event) and
// which element of it.
struct array_step {
    std::uint32_t array;
    std::uint32_t index;
    friend bool operator==(const array_step&, const array_step&) = default;
};

struct flat_field {
    const detail::path_index* index = nullptr;  // the rules' view of this field's path
    std::string_view text;                      // a string's decoded value (valid until the next flatten)
    double number = 0.0;                        // a number; 1 or 0 for a boolean
    std::uint32_t text_offset = 0;              // where `text` lives in flat_event::text while buffered
    std::uint32_t trail_offset = 0;             // this field's array_steps in flat_event::trails
    std::uint16_t trail_size = 0;
    value_kind kind = value_kind::null;
    bool buffered = false;
};

namespace detail {

// Per-event matching state: one slot per (rule, $or branch) that some field hit.
struct branch_slot {
    std::uint64_t key = 0;        // rule << 16 | branch, plus one; 0 marks an empty slot
    std::uint64_t mask = 0;       // conditions hit
    std::uint64_t free_mask = 0;  // conditions hit by a field outside any array of objects
    std::uint8_t info = 0;        // the posting's info byte
};

struct branch_hit {
    std::uint64_t key;
    std::uint32_t field;
    std::uint8_t bit;
};

// One open object or array while a value_sink stream is flattened.
struct sink_frame {
    const trie_node* node;
    bool array;
    std::uint32_t id;
    std::uint32_t index;
    bool pushed_step;
};

struct match_state {
    std::vector<branch_slot> table = std::vector<branch_slot>(64);
    std::vector<std::uint32_t> touched;
    std::vector<branch_hit> hits;
    std::string folded;
    std::vector<std::uint32_t> chosen;  // consistency search
    std::vector<array_step> trail;      // the scanner's current array path
    std::string key_buffer;
    std::vector<sink_frame> frames;  // the flattening sink's stack
    std::uint32_t next_array = 0;    // arrays numbered so far in this event
};

}  // namespace detail

class flat_event {
public:
    void clear() {
        fields.clear();
        text.clear();
        trails.clear();
        state.next_array = 0;
    }

    std::vector<flat_field> fields;
    std::string text;                 // decoded strings that could not be viewed in place
    std::vector<array_step> trails;
    detail::match_state state;
};

}  // namespace switchyard::pattern
