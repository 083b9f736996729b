// The matcher's input and scratch space: an event reduced to the leaf values that some rule
// reads, each tagged with the rule index of its path and the array elements it came from (so
// fields matched together can be required to come from the same element of an array of
// objects). One flat_event per thread is reused from event to event, so matching allocates
// nothing once it has warmed up.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace switchyard::pattern {

namespace detail {
struct path_index;
struct trie_node;
}

/// The type of a leaf value.
enum class value_kind : std::uint8_t {
    string,   ///< a JSON string
    number,   ///< a JSON number
    boolean,  ///< true or false
    null,     ///< null
};

/// Arrays and objects nested deeper than this in an event are refused by the JSON scanner.
inline constexpr int max_event_nesting = 512;

/// Why the JSON scanner refused an event (flat_event::error after match_json returned false).
enum class scan_error : std::uint8_t {
    none,       ///< nothing went wrong
    malformed,  ///< not valid JSON where the scanner read it
    too_deep,   ///< valid or not, nested deeper than max_event_nesting
};

/// An object inside an array: which array (numbered in document order within one event) and
/// which element of it.
struct array_step {
    std::uint32_t array;  ///< the array, numbered in document order within the event
    std::uint32_t index;  ///< the element of that array
    /// Same array, same element.
    friend bool operator==(const array_step&, const array_step&) = default;
};

/// One leaf value of the event that some rule reads.
struct flat_field {
    const detail::path_index* index = nullptr;  ///< the rules' view of this field's path
    std::string_view text;                      ///< a string's decoded value (valid until the next flatten)
    double number = 0.0;                        ///< a number; 1 or 0 for a boolean
    std::uint32_t text_offset = 0;              ///< where `text` lives in flat_event::text while buffered
    std::uint32_t trail_offset = 0;             ///< this field's array_steps in flat_event::trails
    std::uint16_t trail_size = 0;               ///< how many array_steps (0 outside arrays of objects)
    value_kind kind = value_kind::null;         ///< the value's type
    bool buffered = false;                      ///< `text` lives in flat_event::text, not in the event
};

namespace detail {

// Per-event matching state: one slot per (rule, $or branch) that some field hit.
struct branch_slot {
    std::uint64_t key = 0;        // rule << 16 | branch, plus one; 0 marks an empty slot
    std::uint64_t mask = 0;       // conditions hit
    std::uint64_t free_mask = 0;  // conditions hit by a field outside any array of objects
    std::uint8_t info = 0;        // the posting's info byte
    std::uint32_t ordinal = 0;    // this slot's position in match_state::touched
};

// A hit by a field inside an array of objects, kept for the consistency check. Hits are pushed
// in field order, which is document order: that is what lets the check walk them as a tree.
struct branch_hit {
    std::uint32_t ordinal;  // the slot's position in match_state::touched
    std::uint32_t field;
    std::uint8_t bit;
};

// One array's run of hits while the consistency check looks at one node of the element tree.
struct array_run {
    std::uint32_t begin, end;
    std::uint64_t bits;
    std::uint32_t component;
};

// One open object or array while a value_sink stream is flattened.
struct sink_frame {
    const trie_node* node;
    bool array;
    std::uint32_t id;
    std::uint32_t index;
    bool pushed_step;
};

// A member of the object being scanned that some rule reads, and the fields it gave.
struct member_mark {
    const trie_node* node;
    std::uint32_t begin, end;
};

struct match_state {
    std::vector<branch_slot> table = std::vector<branch_slot>(64);
    std::vector<std::uint32_t> touched;
    std::vector<branch_hit> hits;
    std::string folded;
    std::vector<branch_hit> grouped;    // consistency check: hits grouped by slot, in field order
    std::vector<std::uint32_t> group_start;
    std::vector<std::uint32_t> touched_cursor;
    std::vector<array_run> runs;
    // Hits the consistency check has looked at during the last match (a test hook: the check is
    // linear, so this stays within a small multiple of hits times array depth).
    std::uint64_t consistency_steps = 0;
    std::vector<array_step> trail;      // the scanner's current array path
    std::string key_buffer;
    std::vector<sink_frame> frames;  // the flattening sink's stack
    std::vector<member_mark> members;  // the scanner's open objects' members (duplicate detection)
    std::vector<std::pair<std::uint32_t, std::uint32_t>> dropped;  // fields replaced by a later duplicate
    std::uint32_t next_array = 0;    // arrays numbered so far in this event
};

}  // namespace detail

/// An event reduced to the leaf values some rule reads: the matcher's input, and scratch space
/// reused from event to event (one per thread), so matching allocates nothing once warmed up.
class flat_event {
public:
    /// Empties it for the next event, keeping the capacity.
    void clear() {
        fields.clear();
        text.clear();
        trails.clear();
        state.next_array = 0;
        error = scan_error::none;
        error_offset = 0;
    }

    /// What went wrong in the last scan, for a message (empty when nothing did).
    std::string error_message() const {
        switch (error) {
            case scan_error::none: return {};
            case scan_error::malformed: return "the event is not valid JSON (at byte " + std::to_string(error_offset) + ")";
            case scan_error::too_deep:
                return "the event nests arrays and objects more than " + std::to_string(max_event_nesting) +
                       " deep (at byte " + std::to_string(error_offset) + "), the limit of the JSON scanner";
        }
        return {};
    }

    std::vector<flat_field> fields;       ///< the leaf values some rule reads
    std::string text;                     ///< decoded strings that could not be viewed in place
    std::vector<array_step> trails;       ///< every field's array_steps, end to end
    detail::match_state state;            ///< the matcher's per-event scratch state
    scan_error error = scan_error::none;  ///< why the last JSON scan failed
    std::size_t error_offset = 0;         ///< the byte where it gave up
};

}  // namespace switchyard::pattern
