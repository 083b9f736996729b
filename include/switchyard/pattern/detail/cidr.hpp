// IP addresses and CIDR blocks for the `cidr` operator: IPv4 dotted quads and IPv6 in RFC 4291
// text form (with `::` and an embedded IPv4 tail). An IPv4 value only matches IPv4 blocks.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace switchyard::pattern::detail {

struct ip_address {
    std::array<std::uint8_t, 16> bytes{};
    bool v6 = false;
    std::size_t width() const noexcept { return v6 ? 16 : 4; }
};

inline bool parse_ipv4(std::string_view s, std::uint8_t* out) {
    int part = 0;
    std::size_t i = 0;
    while (part < 4) {
        if (i >= s.size() || s[i] < '0' || s[i] > '9') return false;
        unsigned v = 0;
        const std::size_t start = i;
        while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
            v = v * 10 + static_cast<unsigned>(s[i] - '0');
            if (v > 255 || i - start > 2) return false;
            ++i;
        }
        if (i - start > 1 && s[start] == '0') return false;  // leading zeros are ambiguous (octal)
        out[part++] = static_cast<std::uint8_t>(v);
        if (part < 4) {
            if (i >= s.size() || s[i] != '.') return false;
            ++i;
        }
    }
    return i == s.size();
}

inline bool parse_ipv6(std::string_view s, std::uint8_t* out) {
    std::uint16_t groups[8] = {};
    int count = 0, gap = -1;
    std::size_t i = 0;
    if (s.size() >= 2 && s[0] == ':' && s[1] == ':') {
        gap = 0;
        i = 2;
    } else if (!s.empty() && s[0] == ':') {
        return false;
    }
    while (i < s.size()) {
        if (count == 8) return false;
        // An embedded IPv4 tail takes two groups.
        const std::size_t next_colon = s.find(':', i);
        const std::string_view rest = s.substr(i, next_colon == std::string_view::npos ? std::string_view::npos : next_colon - i);
        if (next_colon == std::string_view::npos && rest.find('.') != std::string_view::npos) {
            std::uint8_t v4[4];
            if (count > 6 || !parse_ipv4(rest, v4)) return false;
            groups[count++] = static_cast<std::uint16_t>(v4[0] << 8 | v4[1]);
            groups[count++] = static_cast<std::uint16_t>(v4[2] << 8 | v4[3]);
            i = s.size();
            break;
        }
        if (rest.empty() || rest.size() > 4) return false;
        unsigned v = 0;
        for (const char c : rest) {
            unsigned d;
            if (c >= '0' && c <= '9') d = static_cast<unsigned>(c - '0');
            else if (c >= 'a' && c <= 'f') d = static_cast<unsigned>(c - 'a' + 10);
            else if (c >= 'A' && c <= 'F') d = static_cast<unsigned>(c - 'A' + 10);
            else return false;
            v = v * 16 + d;
        }
        groups[count++] = static_cast<std::uint16_t>(v);
        i += rest.size();
        if (i == s.size()) break;
        ++i;  // the ':'
        if (i < s.size() && s[i] == ':') {
            if (gap >= 0) return false;  // only one "::"
            gap = count;
            ++i;
        } else if (i == s.size()) {
            return false;  // a trailing single ':'
        }
    }
    if (gap < 0 && count != 8) return false;
    if (gap >= 0 && count > 7) return false;
    std::uint16_t full[8] = {};
    if (gap < 0) {
        for (int k = 0; k < 8; ++k) full[k] = groups[k];
    } else {
        for (int k = 0; k < gap; ++k) full[k] = groups[k];
        const int tail = count - gap;
        for (int k = 0; k < tail; ++k) full[8 - tail + k] = groups[gap + k];
    }
    for (int k = 0; k < 8; ++k) {
        out[2 * k] = static_cast<std::uint8_t>(full[k] >> 8);
        out[2 * k + 1] = static_cast<std::uint8_t>(full[k] & 0xFF);
    }
    return true;
}

inline bool parse_ip(std::string_view s, ip_address& out) {
    out = {};
    if (s.find(':') != std::string_view::npos) {
        out.v6 = true;
        return parse_ipv6(s, out.bytes.data());
    }
    return parse_ipv4(s, out.bytes.data());
}

struct cidr_block {
    ip_address network;
    unsigned prefix_bits = 0;

    bool contains(const ip_address& a) const noexcept {
        if (a.v6 != network.v6) return false;
        unsigned bits = prefix_bits;
        for (std::size_t k = 0; bits > 0; ++k) {
            const unsigned take = bits >= 8 ? 8 : bits;
            const auto mask = static_cast<std::uint8_t>(0xFF00u >> take);
            if ((a.bytes[k] & mask) != (network.bytes[k] & mask)) return false;
            bits -= take;
        }
        return true;
    }
};

// "10.0.0.0/8", "2001:db8::/32"; a bare address is a block of one.
inline bool parse_cidr(std::string_view s, cidr_block& out) {
    const auto slash = s.find('/');
    if (!parse_ip(s.substr(0, slash), out.network)) return false;
    const unsigned max_bits = static_cast<unsigned>(out.network.width() * 8);
    if (slash == std::string_view::npos) {
        out.prefix_bits = max_bits;
        return true;
    }
    const auto digits = s.substr(slash + 1);
    if (digits.empty() || digits.size() > 3) return false;
    unsigned bits = 0;
    for (const char c : digits) {
        if (c < '0' || c > '9') return false;
        bits = bits * 10 + static_cast<unsigned>(c - '0');
    }
    if (bits > max_bits) return false;
    out.prefix_bits = bits;
    return true;
}

}  // namespace switchyard::pattern::detail
