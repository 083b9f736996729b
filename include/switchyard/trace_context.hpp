// W3C Trace Context (https://www.w3.org/TR/trace-context/): the `traceparent` and `tracestate`
// an event carries so its deliveries join the caller's trace. A vocabulary type of the envelope,
// so it lives beside event.hpp rather than in observe/ (which builds on it). Parsing follows the spec's rules
// (lower-case hex, version ff invalid, all-zero ids invalid, later versions parsed as version 00
// where possible); an invalid tracestate is dropped while the traceparent is kept, as the spec asks.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "switchyard/config.hpp"

namespace switchyard {

/// A W3C trace id: 16 bytes, all zero when absent.
using trace_id = std::array<std::uint8_t, 16>;
/// A W3C span (parent) id: 8 bytes, all zero when absent.
using span_id = std::array<std::uint8_t, 8>;

namespace detail::trace {

inline int hex_digit(char c) noexcept {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;  // upper case is invalid in traceparent
}

// Parses exactly 2 * N lower-case hex digits into `out`.
template <std::size_t N> bool parse_hex(std::string_view text, std::array<std::uint8_t, N>& out) noexcept {
    if (text.size() != 2 * N) return false;
    for (std::size_t i = 0; i < N; ++i) {
        const int high = hex_digit(text[2 * i]);
        const int low = hex_digit(text[2 * i + 1]);
        if (high < 0 || low < 0) return false;
        out[i] = static_cast<std::uint8_t>(high * 16 + low);
    }
    return true;
}

template <std::size_t N> void append_hex(std::string& out, const std::array<std::uint8_t, N>& bytes) {
    static constexpr char digits[] = "0123456789abcdef";
    for (const auto b : bytes) {
        out += digits[b >> 4];
        out += digits[b & 0xF];
    }
}

template <std::size_t N> bool all_zero(const std::array<std::uint8_t, N>& bytes) noexcept {
    for (const auto b : bytes)
        if (b != 0) return false;
    return true;
}

// Ids come from a per-thread generator seeded once from the OS: no lock per id, and ids from
// different threads and processes do not collide in practice. Retries until non-zero, since an
// all-zero id is invalid.
inline bool is_lcalpha(char c) noexcept { return c >= 'a' && c <= 'z'; }
inline bool is_key_char(char c) noexcept {
    return is_lcalpha(c) || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '*' || c == '/';
}

inline std::string_view trim_ows(std::string_view s) noexcept {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

// One tracestate list-member: key "=" value, the key simple (lcalpha then up to 255 key chars) or
// multi-tenant (tenant@system, the tenant up to 241 chars and may start with a digit, the system
// up to 14 and starts with lcalpha); the value 1 to 256 printable ASCII characters other than
// ',' and '=', not ending in a space.
inline bool valid_tracestate_member(std::string_view member) noexcept {
    const auto eq = member.find('=');
    if (eq == std::string_view::npos || eq == 0) return false;
    const auto key = member.substr(0, eq);
    const auto value = member.substr(eq + 1);
    const auto at = key.find('@');
    if (at == std::string_view::npos) {
        if (key.size() > 256 || !is_lcalpha(key.front())) return false;
        for (const char c : key)
            if (!is_key_char(c)) return false;
    } else {
        const auto tenant = key.substr(0, at);
        const auto system = key.substr(at + 1);
        if (tenant.empty() || tenant.size() > 241 || system.empty() || system.size() > 14) return false;
        if (!is_lcalpha(tenant.front()) && !(tenant.front() >= '0' && tenant.front() <= '9')) return false;
        if (!is_lcalpha(system.front())) return false;
        for (const char c : tenant)
            if (!is_key_char(c)) return false;
        for (const char c : system)
            if (!is_key_char(c)) return false;
    }
    if (value.empty() || value.size() > 256 || value.back() == ' ') return false;
    for (const char c : value)
        if (c < 0x20 || c > 0x7E || c == ',' || c == '=') return false;
    return true;
}

}  // namespace detail::trace

/// Whether `tracestate` may be propagated: at most 512 characters, at most 32 list-members, each
/// well-formed, no key twice. Empty members (",,") and optional whitespace are allowed.
inline bool valid_tracestate(std::string_view tracestate) noexcept {
    if (tracestate.size() > 512) return false;
    std::array<std::string_view, 32> keys{};
    std::size_t members = 0;
    while (true) {
        const auto comma = tracestate.find(',');
        const auto member = detail::trace::trim_ows(tracestate.substr(0, comma));
        if (!member.empty()) {
            if (members == keys.size() || !detail::trace::valid_tracestate_member(member)) return false;
            const auto key = member.substr(0, member.find('='));
            for (std::size_t i = 0; i < members; ++i)
                if (keys[i] == key) return false;
            keys[members++] = key;
        }
        if (comma == std::string_view::npos) return true;
        tracestate.remove_prefix(comma + 1);
    }
}

/// W3C Trace Context (https://www.w3.org/TR/trace-context/): one span's identity within a trace,
/// plus the vendor state that travels with it; what an event carries as `traceparent` and
/// `tracestate` so its deliveries join the caller's trace. `span` is the id of the span this
/// context names: a child created from it records it as its parent, and it is what the
/// `parent-id` field of a traceparent carries.
struct trace_context {
    /// The trace-flags bit that says the caller may be recording.
    static constexpr std::uint8_t sampled_flag = 0x01;

    trace_id trace{};          ///< the trace's id
    span_id span{};            ///< the id of the span this context names
    std::uint8_t flags = 0;    ///< the trace-flags byte (sampled_flag)
    std::string tracestate{};  ///< opaque, already validated (or empty)

    /// A context is valid when both ids are non-zero; a default-constructed one is not.
    bool valid() const noexcept { return !detail::trace::all_zero(trace) && !detail::trace::all_zero(span); }
    /// Whether the sampled flag is set.
    bool sampled() const noexcept { return (flags & sampled_flag) != 0; }

    /// The trace id as 32 lower-case hex digits.
    std::string trace_id_hex() const {
        std::string out;
        out.reserve(32);
        detail::trace::append_hex(out, trace);
        return out;
    }
    /// The span id as 16 lower-case hex digits.
    std::string span_id_hex() const {
        std::string out;
        out.reserve(16);
        detail::trace::append_hex(out, span);
        return out;
    }

    /// "00-<trace-id>-<parent-id>-<flags>": always version 00, whatever version it was parsed from.
    std::string traceparent() const {
        std::string out;
        out.reserve(55);
        out += "00-";
        detail::trace::append_hex(out, trace);
        out += '-';
        detail::trace::append_hex(out, span);
        out += '-';
        detail::trace::append_hex(out, std::array<std::uint8_t, 1>{flags});
        return out;
    }

    /// Starts a new trace: random, non-zero trace and span ids.
    SWITCHYARD_API static trace_context start(bool sampled = true);

    /// Parses a traceparent header (and its tracestate, dropped when invalid). Nothing when the
    /// traceparent is invalid: the caller then starts a new trace. Follows the spec's rules
    /// (lower-case hex, version ff invalid, all-zero ids invalid, later versions parsed as
    /// version 00 where possible).
    SWITCHYARD_API static std::optional<trace_context> parse(std::string_view traceparent, std::string_view tracestate = {});

    /// Field by field.
    friend bool operator==(const trace_context&, const trace_context&) = default;
};

/// A new span in the same trace: fresh span id, the same trace id, flags and tracestate. The
/// parent's `span` is the child's parent id.
SWITCHYARD_API trace_context child_of(const trace_context& parent);

namespace detail::trace {
// The span of the delivery attempt running on this thread (set by the bus around each handler
// call), so an event published from inside a handler joins the handler's trace.
inline thread_local const trace_context* current = nullptr;

class current_scope {
public:
    explicit current_scope(const trace_context* span) noexcept : outer_(current) { current = span; }
    ~current_scope() { current = outer_; }
    current_scope(const current_scope&) = delete;
    current_scope& operator=(const current_scope&) = delete;

private:
    const trace_context* outer_;
};
}  // namespace detail::trace

/// Inside a handler: the span of the delivery attempt that called it (hand it to your own
/// tracing, or to an outgoing request's headers). Elsewhere, or when the event carries no trace:
/// nothing.
inline std::optional<trace_context> current_trace() {
    if (const auto* span = detail::trace::current) return *span;
    return std::nullopt;
}

/// The id as 16 lower-case hex digits.
inline std::string to_hex(const span_id& id) {
    std::string out;
    detail::trace::append_hex(out, id);
    return out;
}
/// The id as 32 lower-case hex digits.
inline std::string to_hex(const trace_id& id) {
    std::string out;
    detail::trace::append_hex(out, id);
    return out;
}

}  // namespace switchyard

#ifdef SWITCHYARD_HEADER_ONLY
#include "switchyard/trace_context-inl.hpp"
#endif
