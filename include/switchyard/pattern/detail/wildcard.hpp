// Wildcard programs: a wildcard pattern split at its unescaped '*'s into literal segments, matched
// by leftmost search (each '*' can absorb any run, so leftmost placement of every segment is
// always safe). Segments are found left to right, each search starting where the last one ended,
// with a linear-time search (Knuth-Morris-Pratt for long segments), so a match costs O(value
// length + pattern length) whatever the text: no backtracking and no quadratic search.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace switchyard::pattern::detail {

// The first occurrence of `needle` in `hay`, in O(|hay| + |needle|). std::string_view::find
// compares at every candidate position, which is O(|hay| x |needle|) on text like "aaaa...a"
// against "aaa...ab"; it is kept for short needles, where that factor is small.
inline std::size_t find_linear(std::string_view hay, std::string_view needle) {
    const std::size_t m = needle.size();
    if (m <= 4 || hay.size() < 64 || hay.size() < m) return hay.find(needle);
    thread_local std::vector<std::uint32_t> fail;
    fail.assign(m, 0);
    for (std::size_t i = 1, k = 0; i < m; ++i) {
        while (k > 0 && needle[i] != needle[k]) k = fail[k - 1];
        if (needle[i] == needle[k]) ++k;
        fail[i] = static_cast<std::uint32_t>(k);
    }
    for (std::size_t i = 0, k = 0; i < hay.size(); ++i) {
        while (k > 0 && hay[i] != needle[k]) k = fail[k - 1];
        if (hay[i] == needle[k] && ++k == m) return i + 1 - m;
    }
    return std::string_view::npos;
}

struct wildcard_program {
    std::vector<std::string> segments;  // literal text between stars
    bool leading_star = false;
    bool trailing_star = false;

    std::size_t stars = 0;
    // The literal text every match starts / ends with.
    std::string_view head() const { return leading_star ? std::string_view{} : std::string_view{segments.front()}; }
    std::string_view tail() const { return trailing_star ? std::string_view{} : std::string_view{segments.back()}; }

    bool matches(std::string_view v) const {
        if (segments.size() == 1 && !leading_star && !trailing_star) return v == segments.front();
        std::size_t first = 0, last = segments.size();
        if (!leading_star) {
            const auto& s = segments.front();
            if (v.size() < s.size() || v.compare(0, s.size(), s) != 0) return false;
            v.remove_prefix(s.size());
            ++first;
        }
        if (!trailing_star) {
            const auto& s = segments.back();
            if (last <= first) return false;  // head and tail overlap: a single segment without stars
            if (v.size() < s.size() || v.compare(v.size() - s.size(), s.size(), s) != 0) return false;
            v.remove_suffix(s.size());
            --last;
        }
        for (std::size_t i = first; i < last; ++i) {
            const auto at = find_linear(v, segments[i]);
            if (at == std::string_view::npos) return false;
            v.remove_prefix(at + segments[i].size());
        }
        return true;
    }
};

// Parses `text`; on error returns false and sets `why`. `\*` is a literal star and `\\` a
// literal backslash; any other escape, and two consecutive stars, are rejected.
inline bool parse_wildcard(std::string_view text, wildcard_program& out, std::string& why) {
    out = {};
    std::string current;
    bool after_star = false;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (c == '\\') {
            if (i + 1 == text.size() || (text[i + 1] != '*' && text[i + 1] != '\\')) {
                why = "a backslash must be followed by '*' or '\\' (at character " + std::to_string(i) + ")";
                return false;
            }
            current += text[++i];
            after_star = false;
        } else if (c == '*') {
            if (after_star) {
                why = "consecutive wildcard characters '**' are not allowed";
                return false;
            }
            ++out.stars;
            if (i == 0) out.leading_star = true;
            else out.segments.push_back(std::move(current));
            current.clear();
            after_star = true;
        } else {
            current += c;
            after_star = false;
        }
    }
    if (after_star && !text.empty()) out.trailing_star = true;
    else out.segments.push_back(std::move(current));
    if (out.segments.empty()) out.segments.emplace_back();  // the pattern "*"
    return true;
}

}  // namespace switchyard::pattern::detail
