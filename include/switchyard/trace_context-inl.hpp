// trace_context.hpp's compiled half: random ids and parsing (compiled into libswitchyard, or
// included by trace_context.hpp when SWITCHYARD_HEADER_ONLY is defined).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <string_view>

#include "switchyard/config.hpp"
#include "switchyard/trace_context.hpp"

namespace switchyard {

namespace detail::trace {
template <std::size_t N> std::array<std::uint8_t, N> random_id() {
    thread_local std::mt19937_64 generator = [] {
        std::random_device device;
        std::seed_seq seed{device(), device(), device(), device(), device(), device()};
        return std::mt19937_64(seed);
    }();
    std::array<std::uint8_t, N> out{};
    do {
        for (std::size_t i = 0; i < N; i += 8) {
            std::uint64_t word = generator();
            for (std::size_t j = i; j < i + 8 && j < N; ++j, word >>= 8) out[j] = static_cast<std::uint8_t>(word);
        }
    } while (all_zero(out));
    return out;
}

}  // namespace detail::trace

SWITCHYARD_INLINE trace_context trace_context::start(bool sampled) {
    return {detail::trace::random_id<16>(), detail::trace::random_id<8>(), static_cast<std::uint8_t>(sampled ? sampled_flag : 0), {}};
}

SWITCHYARD_INLINE std::optional<trace_context> trace_context::parse(std::string_view traceparent, std::string_view tracestate) {
    // version "-" trace-id "-" parent-id "-" trace-flags: 2 + 1 + 32 + 1 + 16 + 1 + 2 = 55.
    if (traceparent.size() < 55) return std::nullopt;
    std::array<std::uint8_t, 1> version{};
    if (!detail::trace::parse_hex(traceparent.substr(0, 2), version) || version[0] == 0xFF) return std::nullopt;
    if (traceparent[2] != '-' || traceparent[35] != '-' || traceparent[52] != '-') return std::nullopt;
    // Version 00 is exactly 55 characters; a later version may append "-" and more fields.
    if (version[0] == 0 ? traceparent.size() != 55 : traceparent.size() > 55 && traceparent[55] != '-') return std::nullopt;
    trace_context out;
    std::array<std::uint8_t, 1> flags{};
    if (!detail::trace::parse_hex(traceparent.substr(3, 32), out.trace) || !detail::trace::parse_hex(traceparent.substr(36, 16), out.span) ||
        !detail::trace::parse_hex(traceparent.substr(53, 2), flags))
        return std::nullopt;
    if (!out.valid()) return std::nullopt;
    out.flags = flags[0];
    if (valid_tracestate(tracestate)) out.tracestate = std::string(detail::trace::trim_ows(tracestate));
    return out;
}

SWITCHYARD_INLINE trace_context child_of(const trace_context& parent) {
    return {parent.trace, detail::trace::random_id<8>(), parent.flags, parent.tracestate};
}

}  // namespace switchyard
