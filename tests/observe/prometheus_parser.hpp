// A strict parser of the Prometheus text exposition format 0.0.4, for tests (promtool is not
// available to them): it throws std::runtime_error naming the line for anything the format does
// not allow. Shared by the renderer's tests and the HTTP scrape test.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>

namespace prometheus_test {

// ---- a strict 0.0.4 parser ----------------------------------------------------------------------

using label_set = std::vector<std::pair<std::string, std::string>>;

struct parsed_sample {
    std::string name;
    label_set labels;
    double value = 0;
};

struct parsed_family {
    std::string type;  // counter, gauge, histogram, summary, untyped
    std::string help;
    bool has_help = false;
    std::vector<parsed_sample> samples;
};

struct exposition {
    std::vector<std::string> order;  // family names in order of appearance
    std::map<std::string, parsed_family> families;

    const parsed_family& family(const std::string& name) const {
        const auto it = families.find(name);
        if (it == families.end()) throw std::runtime_error("no family " + name);
        return it->second;
    }
    // The value of the one sample with these labels (`le` included for buckets).
    double value(const std::string& family_name, const std::string& sample_name, const label_set& labels) const {
        for (const auto& s : family(family_name).samples)
            if (s.name == sample_name && s.labels == labels) return s.value;
        throw std::runtime_error("no sample " + sample_name);
    }
};

[[noreturn]] inline void fail(std::size_t line, const std::string& why) {
    throw std::runtime_error(fmt::format("line {}: {}", line, why));
}

inline bool valid_metric_name(std::string_view n) {
    static const std::regex re("[a-zA-Z_:][a-zA-Z0-9_:]*");
    return std::regex_match(n.begin(), n.end(), re);
}
inline bool valid_label_name(std::string_view n) {
    static const std::regex re("[a-zA-Z_][a-zA-Z0-9_]*");
    return std::regex_match(n.begin(), n.end(), re);
}

// Go's strconv.ParseFloat as Prometheus uses it, minus hex floats (never emitted).
inline double parse_value(std::string_view text, std::size_t line) {
    if (text == "+Inf" || text == "Inf") return std::numeric_limits<double>::infinity();
    if (text == "-Inf") return -std::numeric_limits<double>::infinity();
    if (text == "NaN") return std::numeric_limits<double>::quiet_NaN();
    static const std::regex re(R"([+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?)");
    if (!std::regex_match(text.begin(), text.end(), re)) fail(line, fmt::format("bad value \"{}\"", text));
    return std::stod(std::string(text));
}

// Unescapes a HELP docstring: only \\ and \n are escapes there.
inline std::string unescape_help(std::string_view text, std::size_t line) {
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] != '\\') {
            out += text[i];
            continue;
        }
        if (++i == text.size()) fail(line, "HELP ends in a lone backslash");
        if (text[i] == '\\') out += '\\';
        else if (text[i] == 'n') out += '\n';
        else fail(line, "bad escape in HELP");
    }
    return out;
}

// `{name="value",...}` starting at text[pos] == '{'; returns the position after '}'.
inline std::size_t parse_labels(std::string_view text, std::size_t pos, label_set& out, std::size_t line) {
    ++pos;  // '{'
    std::set<std::string> seen;
    while (true) {
        if (pos >= text.size()) fail(line, "unterminated label set");
        if (text[pos] == '}') return pos + 1;
        const auto eq = text.find('=', pos);
        if (eq == std::string_view::npos) fail(line, "label without '='");
        const std::string name(text.substr(pos, eq - pos));
        if (!valid_label_name(name)) fail(line, fmt::format("bad label name \"{}\"", name));
        if (!seen.insert(name).second) fail(line, fmt::format("label \"{}\" twice", name));
        pos = eq + 1;
        if (pos >= text.size() || text[pos] != '"') fail(line, "label value not quoted");
        ++pos;
        std::string value;
        while (true) {
            if (pos >= text.size()) fail(line, "unterminated label value");
            const char c = text[pos++];
            if (c == '"') break;
            if (c == '\n') fail(line, "raw newline in label value");
            if (c != '\\') {
                value += c;
                continue;
            }
            if (pos >= text.size()) fail(line, "lone backslash in label value");
            const char e = text[pos++];
            if (e == '\\') value += '\\';
            else if (e == '"') value += '"';
            else if (e == 'n') value += '\n';
            else fail(line, "bad escape in label value");
        }
        out.emplace_back(name, std::move(value));
        if (pos < text.size() && text[pos] == ',') ++pos;
        else if (pos >= text.size() || text[pos] != '}') fail(line, "expected ',' or '}' after a label");
    }
}

// The family a sample name belongs to, given the families TYPEd so far.
inline std::string family_of(const std::string& sample, const std::map<std::string, parsed_family>& families) {
    for (const std::string_view suffix : {"_bucket", "_sum", "_count"}) {
        if (sample.size() <= suffix.size() || sample.compare(sample.size() - suffix.size(), suffix.size(), suffix) != 0) continue;
        const auto base = sample.substr(0, sample.size() - suffix.size());
        const auto it = families.find(base);
        if (it != families.end() && it->second.type == "histogram") return base;
    }
    return sample;
}

inline void check_histogram(const std::string& name, const parsed_family& f) {
    // Per label set (without le): buckets in increasing le, non-decreasing counts, +Inf last and
    // equal to _count, and exactly one _sum and _count.
    struct series {
        std::vector<std::pair<double, double>> buckets;
        int sums = 0, counts = 0;
        double count = -1;
    };
    std::map<label_set, series> by_labels;
    for (const auto& s : f.samples) {
        label_set rest;
        std::optional<double> le;
        for (const auto& l : s.labels) {
            if (l.first == "le") le = parse_value(l.second, 0);
            else rest.push_back(l);
        }
        auto& ser = by_labels[rest];
        if (s.name == name + "_bucket") {
            if (!le) throw std::runtime_error(name + ": bucket without le");
            ser.buckets.emplace_back(*le, s.value);
        } else if (s.name == name + "_sum") {
            if (le) throw std::runtime_error(name + ": _sum with le");
            ++ser.sums;
        } else if (s.name == name + "_count") {
            if (le) throw std::runtime_error(name + ": _count with le");
            ++ser.counts;
            ser.count = s.value;
        } else {
            throw std::runtime_error(name + ": unexpected sample " + s.name);
        }
    }
    for (const auto& [labels, ser] : by_labels) {
        if (ser.sums != 1 || ser.counts != 1) throw std::runtime_error(name + ": needs one _sum and one _count per series");
        if (ser.buckets.empty() || !std::isinf(ser.buckets.back().first))
            throw std::runtime_error(name + ": the last bucket must be le=\"+Inf\"");
        for (std::size_t i = 1; i < ser.buckets.size(); ++i) {
            if (!(ser.buckets[i - 1].first < ser.buckets[i].first)) throw std::runtime_error(name + ": le not increasing");
            if (ser.buckets[i - 1].second > ser.buckets[i].second) throw std::runtime_error(name + ": buckets not cumulative");
        }
        if (ser.buckets.back().second != ser.count) throw std::runtime_error(name + ": +Inf bucket differs from _count");
    }
}

inline exposition parse_exposition(std::string_view text) {
    exposition out;
    std::set<std::pair<std::string, label_set>> series_seen;
    std::string current;  // the family whose samples are being read
    std::set<std::string> closed;  // families whose samples ended: they may not reappear
    std::size_t line_no = 0;
    if (!text.empty() && text.back() != '\n') fail(0, "the text must end in a line feed");
    auto enter = [&](const std::string& family, std::size_t line) {
        if (family == current) return;
        if (closed.count(family)) fail(line, fmt::format("family {} is split into two groups", family));
        if (!current.empty()) closed.insert(current);
        current = family;
        if (!out.families.count(family)) out.order.push_back(family);
    };
    while (!text.empty()) {
        ++line_no;
        const auto nl = text.find('\n');
        const auto line = text.substr(0, nl);
        text.remove_prefix(nl + 1);
        if (line.empty()) fail(line_no, "empty line");
        if (line.front() == '#') {
            static const std::regex meta(R"(# (HELP|TYPE) ([^ ]+) (.*))");
            std::match_results<std::string_view::const_iterator> m;
            if (!std::regex_match(line.begin(), line.end(), m, meta)) fail(line_no, "comment that is neither HELP nor TYPE");
            const std::string name = m[2];
            if (!valid_metric_name(name)) fail(line_no, fmt::format("bad metric name \"{}\"", name));
            enter(name, line_no);
            auto& f = out.families[name];
            if (!f.samples.empty()) fail(line_no, fmt::format("{} after the samples of {}", std::string(m[1]), name));
            if (m[1] == "HELP") {
                if (f.has_help) fail(line_no, "second HELP for " + name);
                f.has_help = true;
                f.help = unescape_help(std::string(m[3]), line_no);
            } else {
                if (!f.type.empty()) fail(line_no, "second TYPE for " + name);
                static const std::set<std::string> types{"counter", "gauge", "histogram", "summary", "untyped"};
                if (!types.count(m[3])) fail(line_no, "unknown type " + std::string(m[3]));
                f.type = m[3];
            }
            continue;
        }
        std::size_t pos = 0;
        while (pos < line.size() && line[pos] != '{' && line[pos] != ' ') ++pos;
        parsed_sample s;
        s.name = std::string(line.substr(0, pos));
        if (!valid_metric_name(s.name)) fail(line_no, fmt::format("bad metric name \"{}\"", s.name));
        if (pos < line.size() && line[pos] == '{') pos = parse_labels(line, pos, s.labels, line_no);
        if (pos >= line.size() || line[pos] != ' ') fail(line_no, "expected one space before the value");
        ++pos;
        const auto rest = line.substr(pos);
        const auto space = rest.find(' ');
        s.value = parse_value(rest.substr(0, space), line_no);
        if (space != std::string_view::npos) {
            static const std::regex ts("-?[0-9]+");
            const auto t = rest.substr(space + 1);
            if (!std::regex_match(t.begin(), t.end(), ts)) fail(line_no, "bad timestamp");
        }
        const auto family = family_of(s.name, out.families);
        enter(family, line_no);
        auto& f = out.families[family];
        if (f.type.empty()) fail(line_no, "sample before its TYPE line");
        if (f.type == "counter" && (std::isnan(s.value) || s.value < 0)) fail(line_no, "negative counter");
        if (!series_seen.insert({s.name, s.labels}).second) fail(line_no, "duplicate series " + s.name);
        f.samples.push_back(std::move(s));
    }
    for (const auto& [name, f] : out.families)
        if (f.type == "histogram") check_histogram(name, f);
    return out;
}

// ---- the parser is strict -----------------------------------------------------------------------


}  // namespace prometheus_test
