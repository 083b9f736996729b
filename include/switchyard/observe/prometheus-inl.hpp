// The Prometheus text exposition: prometheus.hpp's compiled half (compiled into libswitchyard,
// or included by prometheus.hpp when SWITCHYARD_HEADER_ONLY is defined).
#pragma once

#include <cmath>
#include <cstddef>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <fmt/format.h>

#include "switchyard/config.hpp"
#include "switchyard/error.hpp"
#include "switchyard/observe/metrics.hpp"
#include "switchyard/observe/prometheus.hpp"

namespace switchyard {

namespace detail::prometheus {

inline bool is_upper(char c) noexcept { return c >= 'A' && c <= 'Z'; }
inline bool is_lower(char c) noexcept { return c >= 'a' && c <= 'z'; }
inline bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

inline std::string snake_case(std::string_view name, bool allow_colon) {
    std::string out;
    out.reserve(name.size() + 8);
    for (std::size_t i = 0; i < name.size(); ++i) {
        const char c = name[i];
        if (is_upper(c)) {
            const bool after_word = i > 0 && (is_lower(name[i - 1]) || is_digit(name[i - 1]));
            const bool ends_acronym = i > 0 && is_upper(name[i - 1]) && i + 1 < name.size() && is_lower(name[i + 1]);
            if ((after_word || ends_acronym) && !out.empty() && out.back() != '_') out += '_';
            out += static_cast<char>(c - 'A' + 'a');
        } else if (is_lower(c) || is_digit(c) || c == '_' || (allow_colon && c == ':')) {
            out += c;
        } else {
            out += '_';
        }
    }
    if (out.empty() || is_digit(out.front())) out.insert(out.begin(), '_');
    return out;
}

// Label values: backslash, double quote and line feed are escaped (0.0.4's only escapes).
inline void append_label_value(std::string& out, std::string_view value) {
    for (const char c : value) {
        switch (c) {
            case '\\': out += "\\\\"; break;
            case '"': out += "\\\""; break;
            case '\n': out += "\\n"; break;
            default: out += c;
        }
    }
}

// HELP text: backslash and line feed only (a quote needs no escape there).
inline void append_help(std::string& out, std::string_view help) {
    for (const char c : help) {
        if (c == '\\') out += "\\\\";
        else if (c == '\n') out += "\\n";
        else out += c;
    }
}

inline void append_labels(std::string& out, const metric_labels& labels, const char* le = nullptr) {
    if (labels.empty() && !le) return;
    out += '{';
    bool first = true;
    for (const auto& label : labels) {
        if (!first) out += ',';
        first = false;
        out += snake_case(label.first, false);
        out += "=\"";
        append_label_value(out, label.second);
        out += '"';
    }
    if (le) {
        if (!first) out += ',';
        out += "le=\"";
        out += le;
        out += '"';
    }
    out += '}';
}

}  // namespace detail::prometheus

// The exposition name of a metric (see the mapping above).
SWITCHYARD_INLINE std::string prometheus_name(std::string_view name, metric_type type) {
    std::string out = detail::prometheus::snake_case(name, true);
    if (out.rfind("switchyard_", 0) != 0) out.insert(0, out.front() == '_' ? "switchyard" : "switchyard_");
    if (type == metric_type::counter && !out.ends_with("_total")) out += "_total";
    if (type == metric_type::histogram && !out.ends_with("_seconds")) out += "_seconds";
    return out;
}

// A sample value as Prometheus (Go's ParseFloat) reads it, whatever the C locale: shortest
// round-trip decimal, and +Inf, -Inf, NaN spelled its way.
SWITCHYARD_INLINE std::string prometheus_value(double v) {
    if (std::isnan(v)) return "NaN";
    if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
    return fmt::format("{}", v);
}

// Renders every sample, grouped into one family per exposition name (in the order each family
// first appears), each family preceded by its `# HELP` and `# TYPE` lines. Throws
// switchyard::error when two samples of one family disagree on their type, or a histogram's
// bounds and counts differ in length. Duplicate label sets are the caller's to avoid.
SWITCHYARD_INLINE std::string render_prometheus(const metrics_snapshot& snapshot) {
    struct family {
        std::string name;
        metric_type type;
        std::string help;
        std::vector<const metric_sample*> samples;
    };
    std::vector<family> families;
    std::unordered_map<std::string, std::size_t> index;
    for (const auto& sample : snapshot.samples) {
        auto name = prometheus_name(sample.name, sample.type);
        const auto [it, created] = index.try_emplace(name, families.size());
        if (created) {
            families.push_back({std::move(name), sample.type, sample.help, {}});
        } else if (families[it->second].type != sample.type) {
            throw error(fmt::format("metric \"{}\" appears as two types in one snapshot; a metric family has exactly one type",
                                    sample.name));
        }
        auto& f = families[it->second];
        if (f.help.empty()) f.help = sample.help;
        if (sample.type == metric_type::histogram) {
            if (sample.histogram.upper_bounds.size() != sample.histogram.cumulative_counts.size())
                throw error(fmt::format("histogram \"{}\" has {} bucket bounds but {} bucket counts", sample.name,
                                        sample.histogram.upper_bounds.size(), sample.histogram.cumulative_counts.size()));
            for (const auto& label : sample.labels)
                if (detail::prometheus::snake_case(label.first, false) == "le")
                    throw error(fmt::format("histogram \"{}\" has a label named \"le\", which Prometheus reserves for its buckets",
                                            sample.name));
        }
        f.samples.push_back(&sample);
    }

    std::string out;
    out.reserve(256 * families.size());
    for (const auto& f : families) {
        out += "# HELP ";
        out += f.name;
        out += ' ';
        detail::prometheus::append_help(out, f.help.empty() ? std::string_view("switchyard metric.") : std::string_view(f.help));
        out += "\n# TYPE ";
        out += f.name;
        out += f.type == metric_type::counter ? " counter\n" : f.type == metric_type::gauge ? " gauge\n" : " histogram\n";
        for (const auto* s : f.samples) {
            if (f.type != metric_type::histogram) {
                out += f.name;
                detail::prometheus::append_labels(out, s->labels);
                out += ' ';
                out += prometheus_value(s->value);
                out += '\n';
                continue;
            }
            const auto& h = s->histogram;
            for (std::size_t i = 0; i < h.upper_bounds.size(); ++i) {
                out += f.name;
                out += "_bucket";
                detail::prometheus::append_labels(out, s->labels, prometheus_value(h.upper_bounds[i]).c_str());
                out += ' ';
                out += std::to_string(h.cumulative_counts[i]);
                out += '\n';
            }
            out += f.name;
            out += "_bucket";
            detail::prometheus::append_labels(out, s->labels, "+Inf");
            out += ' ';
            out += std::to_string(h.count);
            out += '\n';
            out += f.name;
            out += "_sum";
            detail::prometheus::append_labels(out, s->labels);
            out += ' ';
            out += prometheus_value(h.sum);
            out += '\n';
            out += f.name;
            out += "_count";
            detail::prometheus::append_labels(out, s->labels);
            out += ' ';
            out += std::to_string(h.count);
            out += '\n';
        }
    }
    return out;
}

}  // namespace switchyard
