// The JSON text primitives the skipping scanner (json_scan.hpp) is built on: finding a string's
// end, skipping a whole container by counting brackets, searching for a quoted name, decoding a
// string body. Each works on [p, end) alone, with SSE2 where it pays, and assumes nothing about
// the text beyond memory safety: malformed text gives null or false, never a read past `end`.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "switchyard/pattern/detail/casefold.hpp"  // append_utf8
#include "switchyard/pattern/detail/hamt.hpp"      // popcount64
#include "switchyard/pattern/detail/inline.hpp"

namespace switchyard::pattern::detail {

// `from` is just past an opening quote; returns the closing quote (null when there is
// none) and sets `escaped` if the string holds a backslash. Short strings dominate, so this
// is inline SSE2 rather than a memchr call per string.
SWITCHYARD_ALWAYS_INLINE const char* json_string_end(const char* from, const char* end, bool& escaped) {
    const char* p = from;
    while (true) {
#if defined(__SSE2__)
        while (end - p >= 16) {
            const __m128i chunk = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
            const int bits = _mm_movemask_epi8(
                _mm_or_si128(_mm_cmpeq_epi8(chunk, _mm_set1_epi8('"')), _mm_cmpeq_epi8(chunk, _mm_set1_epi8('\\'))));
            if (bits) {
                p += std::countr_zero(static_cast<unsigned>(bits));
                goto found;
            }
            p += 16;
        }
#endif
        while (p < end && *p != '"' && *p != '\\') ++p;
        if (p >= end) return nullptr;
#if defined(__SSE2__)
    found:
#endif
        if (*p == '"') return p;
        escaped = true;
        p += 2;  // the backslash and the character it escapes
        if (p > end) return nullptr;
    }
}

// Returns the position just past the bracket that closes `depth` open containers (0: `p` is
// at the opening bracket of the container to skip), or null when the text ends first.
inline const char* json_skip_until_closed(const char* p, const char* end, int depth) {
#if defined(__SSE2__)
    // 64 bytes at a time: masks of quotes and brackets, the inside of strings by prefix XOR
    // of the quote mask, and brackets counted by popcount; bits are walked one by one only
    // in the block where the container may close. A block with a backslash goes to the
    // byte loop below (escaped quotes need the slow path; they are rare).
    bool in_string = false;
    while (end - p >= 64) {
        std::uint64_t quote = 0, backslash = 0, open = 0, close = 0;
        for (int k = 0; k < 4; ++k) {
            const __m128i chunk = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16 * k));
            const __m128i lowered = _mm_or_si128(chunk, _mm_set1_epi8(0x20));
            auto bits = [&](__m128i eq) {
                return static_cast<std::uint64_t>(static_cast<std::uint16_t>(_mm_movemask_epi8(eq))) << (16 * k);
            };
            quote |= bits(_mm_cmpeq_epi8(chunk, _mm_set1_epi8('"')));
            backslash |= bits(_mm_cmpeq_epi8(chunk, _mm_set1_epi8('\\')));
            open |= bits(_mm_cmpeq_epi8(lowered, _mm_set1_epi8(0x7B)));   // '{' or '['
            close |= bits(_mm_cmpeq_epi8(lowered, _mm_set1_epi8(0x7D)));  // '}' or ']'
        }
        if (backslash) break;
        std::uint64_t inside = quote;
        inside ^= inside << 1;
        inside ^= inside << 2;
        inside ^= inside << 4;
        inside ^= inside << 8;
        inside ^= inside << 16;
        inside ^= inside << 32;
        if (in_string) inside = ~inside;
        in_string = (inside >> 63) != 0;
        open &= ~inside;
        close &= ~inside;
        const int closes = popcount64(close);
        if (closes < depth) {
            depth += popcount64(open) - closes;
            p += 64;
            continue;
        }
        for (std::uint64_t any = open | close; any; any &= any - 1) {
            const std::uint64_t bit = any & (~any + 1);
            if (open & bit) {
                ++depth;
            } else if (--depth == 0) {
                return p + std::countr_zero(bit) + 1;
            }
        }
        p += 64;
    }
    if (in_string) {
        bool escaped = false;
        const char* q = json_string_end(p, end, escaped);
        if (!q) return nullptr;
        p = q + 1;
    }
#endif
    while (p < end) {
#if defined(__SSE2__)
        // Jump over runs without structural characters 16 bytes at a time.
        while (end - p >= 16) {
            const __m128i chunk = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
            const __m128i quote = _mm_cmpeq_epi8(chunk, _mm_set1_epi8('"'));
            // '[' 0x5B ']' 0x5D '{' 0x7B '}' 0x7D: (c | 0x20) in {0x7B, 0x7D}
            const __m128i lowered = _mm_or_si128(chunk, _mm_set1_epi8(0x20));
            const __m128i open = _mm_cmpeq_epi8(lowered, _mm_set1_epi8(0x7B));
            const __m128i close = _mm_cmpeq_epi8(lowered, _mm_set1_epi8(0x7D));
            const int bits = _mm_movemask_epi8(_mm_or_si128(quote, _mm_or_si128(open, close)));
            if (bits == 0) {
                p += 16;
                continue;
            }
            p += std::countr_zero(static_cast<unsigned>(bits));
            break;
        }
        if (p >= end) break;
#endif
        const char c = *p;
        if (c == '"') {
            bool escaped = false;
            const char* q = json_string_end(p + 1, end, escaped);
            if (!q) return nullptr;
            p = q + 1;
        } else if (c == '{' || c == '[') {
            ++depth;
            ++p;
        } else if (c == '}' || c == ']') {
            ++p;
            if (--depth == 0) return p;
        } else {
            ++p;
        }
    }
    return nullptr;
}

// Does `"name"` occur in [text, text + size)? SSE2 compares the opening quote and the name's
// first byte at 16 positions at once (after Mula's generic SIMD substring search) and
// confirms candidates with memcmp: linear, and faster than memmem on short names.
// With `backslash` non-null, also reports whether the text holds a backslash (then the answer
// is not to be trusted: a name may be written with escapes) and stops there.
inline bool json_has_quoted(const char* text, std::size_t size, std::string_view name, bool* backslash) {
    const std::size_t span = name.size() + 2;  // with both quotes
    if (size < span) return false;
    const std::size_t last = size - span;  // the last position a match can start at
    std::size_t i = 0;
    auto confirm = [&](std::size_t at) {
        return text[at] == '"' && text[at + span - 1] == '"' && std::memcmp(text + at + 1, name.data(), name.size()) == 0;
    };
#if defined(__SSE2__)
    const __m128i quote = _mm_set1_epi8('"');
    const __m128i first = _mm_set1_epi8(name[0]);
    // With `backslash` set, backslashes raise the same mask (one test per block), and
    // are told apart only when it is non-zero.
    const __m128i slash = _mm_set1_epi8('\\');
    for (; i + 16 <= last + 1; i += 16) {
        const __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(text + i));
        const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(text + i + 1));
        const __m128i hit = _mm_and_si128(_mm_cmpeq_epi8(a, quote), _mm_cmpeq_epi8(b, first));
        const __m128i slashes = backslash ? _mm_cmpeq_epi8(a, slash) : _mm_setzero_si128();
        if (!_mm_movemask_epi8(_mm_or_si128(hit, slashes))) continue;
        if (_mm_movemask_epi8(slashes)) return *backslash = true;
        for (unsigned bits = static_cast<unsigned>(_mm_movemask_epi8(hit)); bits; bits &= bits - 1)
            if (confirm(i + static_cast<std::size_t>(std::countr_zero(bits)))) return true;
    }
#endif
    if (backslash && std::memchr(text + i, '\\', size - i)) return *backslash = true;
    for (; i <= last; ++i)
        if (confirm(i)) return true;
    return false;
}

// Decodes the JSON string body [p, end) (escapes included) onto `out`. False when malformed.
inline bool decode_json_string(const char* p, const char* end, std::string& out) {
    while (p < end) {
        const char* slash = static_cast<const char*>(std::memchr(p, '\\', static_cast<std::size_t>(end - p)));
        if (!slash) {
            out.append(p, end);
            return true;
        }
        out.append(p, slash);
        p = slash + 1;
        if (p >= end) return false;
        const char c = *p++;
        switch (c) {
            case '"': out += '"'; break;
            case '\\': out += '\\'; break;
            case '/': out += '/'; break;
            case 'b': out += '\b'; break;
            case 'f': out += '\f'; break;
            case 'n': out += '\n'; break;
            case 'r': out += '\r'; break;
            case 't': out += '\t'; break;
            case 'u': {
                auto hex4 = [&](std::uint32_t& v) {
                    if (end - p < 4) return false;
                    v = 0;
                    for (int k = 0; k < 4; ++k) {
                        const char h = *p++;
                        v <<= 4;
                        if (h >= '0' && h <= '9') v |= static_cast<std::uint32_t>(h - '0');
                        else if (h >= 'a' && h <= 'f') v |= static_cast<std::uint32_t>(h - 'a' + 10);
                        else if (h >= 'A' && h <= 'F') v |= static_cast<std::uint32_t>(h - 'A' + 10);
                        else return false;
                    }
                    return true;
                };
                std::uint32_t cp;
                if (!hex4(cp)) return false;
                if (cp >= 0xD800 && cp < 0xDC00 && end - p >= 6 && p[0] == '\\' && p[1] == 'u') {
                    const char* save = p;
                    p += 2;
                    std::uint32_t low;
                    if (hex4(low) && low >= 0xDC00 && low < 0xE000) cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
                    else p = save;
                }
                append_utf8(out, cp);
                break;
            }
            default: return false;
        }
    }
    return true;
}

}  // namespace switchyard::pattern::detail
