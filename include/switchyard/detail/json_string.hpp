// A JSON string appended to text, as nlohmann's compact dump writes it (invalid UTF-8 replaced):
// the common case, printable ASCII without quotes or backslashes, is copied as it is; anything
// else goes through nlohmann. For writers on hot paths (an event's envelope, a journal row) that
// would otherwise build a DOM to dump it.
#pragma once

#include <algorithm>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace switchyard::detail {

inline void append_json_string(std::string& out, std::string_view text) {
    const bool plain = std::all_of(text.begin(), text.end(), [](char c) { return c >= 0x20 && c < 0x7f && c != '"' && c != '\\'; });
    if (!plain) {
        out += nlohmann::json(text).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
        return;
    }
    out += '"';
    out += text;
    out += '"';
}

}  // namespace switchyard::detail
