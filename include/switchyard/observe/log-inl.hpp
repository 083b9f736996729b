// The log line format: log.hpp's compiled half (compiled into libswitchyard, or included by
// log.hpp when SWITCHYARD_HEADER_ONLY is defined).
#pragma once

#include <iterator>
#include <span>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "switchyard/config.hpp"
#include "switchyard/observe/log.hpp"

namespace switchyard {

namespace detail::logfmt {

// Control characters would break the one-line-per-message promise: they are escaped.
inline void append_escaped(fmt::memory_buffer& out, std::string_view text, bool quoted) {
    for (const char c : text) {
        switch (c) {
            case '\n': fmt::format_to(std::back_inserter(out), "\\n"); break;
            case '\r': fmt::format_to(std::back_inserter(out), "\\r"); break;
            case '\t': fmt::format_to(std::back_inserter(out), "\\t"); break;
            case '"':
                if (quoted) fmt::format_to(std::back_inserter(out), "\\\"");
                else out.push_back(c);
                break;
            case '\\':
                if (quoted) fmt::format_to(std::back_inserter(out), "\\\\");
                else out.push_back(c);
                break;
            default:
                if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F)
                    fmt::format_to(std::back_inserter(out), "\\x{:02x}", static_cast<unsigned>(static_cast<unsigned char>(c)));
                else out.push_back(c);
        }
    }
}

// A value is quoted when it would otherwise not read back as one token: empty, or holding a
// space, quote, '=', backslash or control character.
inline bool needs_quotes(std::string_view value) noexcept {
    if (value.empty()) return true;
    for (const char c : value)
        if (c == ' ' || c == '"' || c == '=' || c == '\\' || static_cast<unsigned char>(c) < 0x20 || c == 0x7F) return true;
    return false;
}

}  // namespace detail::logfmt

SWITCHYARD_INLINE std::string format_log_line(log_level level, std::string_view message, std::span<const log_field> fields) {
    fmt::memory_buffer out;
    fmt::format_to(std::back_inserter(out), "switchyard {}: ", to_string(level));
    detail::logfmt::append_escaped(out, message, false);
    for (const auto& f : fields) {
        out.push_back(' ');
        detail::logfmt::append_escaped(out, f.key, false);
        out.push_back('=');
        if (detail::logfmt::needs_quotes(f.value)) {
            out.push_back('"');
            detail::logfmt::append_escaped(out, f.value, true);
            out.push_back('"');
        } else {
            out.append(f.value);
        }
    }
    out.push_back('\n');
    return fmt::to_string(out);
}

}  // namespace switchyard
