// How deeply a JSON text nests, found by a single pass that skips strings. Ingest checks it
// before anything recursive (serialisers, converters) touches the document, because a detail
// nested tens of thousands of levels deep would otherwise overflow the stack.
#pragma once

#include <cstddef>
#include <string_view>

namespace switchyard::detail {

// The deepest nesting of objects and arrays in `text` (0 for a scalar). Malformed text gets a
// best-effort answer; it is rejected by the parser anyway.
inline std::size_t json_depth(std::string_view text) noexcept {
    std::size_t depth = 0, deepest = 0;
    bool in_string = false;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (in_string) {
            if (c == '\\') ++i;
            else if (c == '"') in_string = false;
            continue;
        }
        switch (c) {
            case '"': in_string = true; break;
            case '{':
            case '[':
                if (++depth > deepest) deepest = depth;
                break;
            case '}':
            case ']':
                if (depth > 0) --depth;
                break;
            default: break;
        }
    }
    return deepest;
}

}  // namespace switchyard::detail
