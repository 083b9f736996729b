// Random (version 4) UUIDs for event ids. One generator per thread, seeded once from the OS,
// so generating an id never takes a lock.
#pragma once

#include <array>
#include <cstdint>
#include <random>
#include <string>

namespace switchyard::detail {

inline std::string make_uuid_v4() {
    thread_local std::mt19937_64 generator = [] {
        std::random_device device;
        std::seed_seq seed{device(), device(), device(), device(), device(), device()};
        return std::mt19937_64(seed);
    }();
    std::uint64_t high = generator();
    std::uint64_t low = generator();
    high = (high & 0xFFFFFFFFFFFF0FFFull) | 0x0000000000004000ull;  // version 4
    low = (low & 0x3FFFFFFFFFFFFFFFull) | 0x8000000000000000ull;    // variant 10xx

    static constexpr char hex[] = "0123456789abcdef";
    std::string out(36, '-');
    std::size_t pos = 0;
    auto put = [&](std::uint64_t word, int nibbles) {
        for (int i = nibbles - 1; i >= 0; --i) {
            if (pos == 8 || pos == 13 || pos == 18 || pos == 23) ++pos;
            out[pos++] = hex[(word >> (i * 4)) & 0xF];
        }
    };
    put(high, 16);
    put(low, 16);
    return out;
}

}  // namespace switchyard::detail
