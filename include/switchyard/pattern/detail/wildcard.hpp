// Wildcard programs: a wildcard pattern split at its unescaped '*'s into literal segments, matched
// by leftmost search (each '*' can absorb any run, so leftmost placement of every segment is
// always safe), in O(value length x segments) at worst and without backtracking.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace switchyard::pattern::detail {

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
            const auto at = v.find(segments[i]);
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
