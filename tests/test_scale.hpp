// How long the randomized agreement tests run. Under the sanitizers a round costs 10-30 times
// what it costs in a release build, and CI runs those builds too: SWITCHYARD_RANDOM_SCALE (a
// percentage, 10 to 100; CI's ASan stage sets it) scales their round counts; unset, they run in full.
#pragma once

#include <algorithm>
#include <cstdlib>

inline int random_rounds(int full) {
    const char* text = std::getenv("SWITCHYARD_RANDOM_SCALE");
    if (text == nullptr || *text == '\0') return full;
    const long percent = std::clamp(std::strtol(text, nullptr, 10), 10L, 100L);
    return std::max(1, static_cast<int>(full * percent / 100));
}
