// Random (version 4) UUIDs for event ids. One generator per thread, seeded once from the OS,
// so generating an id never takes a lock; the text is written two hex digits at a time into
// the caller's buffer, so an id costs no allocation.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <random>
#include <string>

namespace switchyard::detail {

inline constexpr std::size_t uuid_length = 36;

// Writes a new random UUID's 36 characters (no terminating null) to `out`.
inline void write_uuid_v4(char* out) {
    thread_local std::mt19937_64 generator = [] {
        std::random_device device;
        std::seed_seq seed{device(), device(), device(), device(), device(), device()};
        return std::mt19937_64(seed);
    }();
    std::uint64_t high = generator();
    std::uint64_t low = generator();
    high = (high & 0xFFFFFFFFFFFF0FFFull) | 0x0000000000004000ull;  // version 4
    low = (low & 0x3FFFFFFFFFFFFFFFull) | 0x8000000000000000ull;    // variant 10xx

    // Every byte's two hex digits, made once at compile time.
    static constexpr auto pairs = [] {
        constexpr char hex[] = "0123456789abcdef";
        std::array<char, 512> table{};
        for (std::size_t b = 0; b < 256; ++b) {
            table[2 * b] = hex[b >> 4];
            table[2 * b + 1] = hex[b & 0xF];
        }
        return table;
    }();
    // 8-4-4-4-12: the dashes follow bytes 4, 6, 8 and 10 of the 16.
    std::size_t pos = 0;
    auto put = [&](std::uint64_t word, int first_byte) {
        for (int i = 7; i >= 0; --i) {
            const int byte_index = first_byte + (7 - i);
            if (byte_index == 4 || byte_index == 6 || byte_index == 8 || byte_index == 10) out[pos++] = '-';
            const auto byte = static_cast<std::size_t>((word >> (i * 8)) & 0xFF);
            out[pos++] = pairs[2 * byte];
            out[pos++] = pairs[2 * byte + 1];
        }
    };
    put(high, 0);
    put(low, 8);
}

inline std::string make_uuid_v4() {
    std::string out(uuid_length, '-');
    write_uuid_v4(out.data());
    return out;
}

}  // namespace switchyard::detail
