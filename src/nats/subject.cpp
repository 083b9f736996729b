#include "nats/subject.hpp"

#include <cstdint>

#include <fmt/format.h>

#include "switchyard/error.hpp"

namespace switchyard::nats_detail {

std::string escape_token(std::string_view value) {
    if (value.empty()) return "_";
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(value.size());
    for (const char ch : value) {
        const auto c = static_cast<unsigned char>(ch);
        const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
        if (plain) {
            out += ch;
        } else {
            out += '%';
            out += hex[c >> 4];
            out += hex[c & 0xf];
        }
    }
    return out;
}

std::size_t partition_of(std::string_view key, std::size_t partitions) {
    std::uint64_t h = 14695981039346656037ull;
    for (const char c : key) {
        h ^= static_cast<unsigned char>(c);
        h *= 1099511628211ull;
    }
    return static_cast<std::size_t>(h % partitions);
}

subject_template::subject_template(std::string_view text, const std::string& partition_key, std::size_t partitions,
                                   const std::string& where) {
    const std::string example = " (e.g. \"events.{detail-type}\")";
    if (text.empty()) throw error(where + ": the subject template is empty: give one" + example);
    // Tokens are checked on the template: no empty token, no wildcard, no whitespace.
    std::size_t start = 0;
    while (true) {
        const auto dot = text.find('.', start);
        const auto token = text.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
        if (token.empty())
            throw error(fmt::format("{}: subject template \"{}\" has an empty token (a leading, trailing or doubled '.'): remove it{}",
                                    where, text, example));
        if (token == "*" || token == ">" || token.find_first_of("*>") != std::string_view::npos)
            throw error(fmt::format("{}: subject template \"{}\" holds a wildcard ('*' or '>'): a message is published to one "
                                    "subject; wildcards belong in a stream's subjects",
                                    where, text));
        if (dot == std::string_view::npos) break;
        start = dot + 1;
    }
    for (const char c : text)
        if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f)
            throw error(fmt::format("{}: subject template \"{}\" contains whitespace or a control character: subjects cannot hold them",
                                    where, text));

    std::string literal;
    for (std::size_t i = 0; i < text.size();) {
        if (text[i] == '}') throw error(fmt::format("{}: subject template \"{}\" has a '}}' without its '{{'", where, text));
        if (text[i] != '{') {
            literal += text[i++];
            continue;
        }
        const auto close = text.find('}', i);
        if (close == std::string_view::npos)
            throw error(fmt::format("{}: subject template \"{}\" has a '{{' without its '}}'", where, text));
        const auto name = text.substr(i + 1, close - i - 1);
        kind k;
        if (name == "detail-type") k = kind::detail_type;
        else if (name == "source") k = kind::source;
        else if (name == "account") k = kind::account;
        else if (name == "region") k = kind::region;
        else if (name == "id") k = kind::id;
        else if (name == "partition") k = kind::partition;
        else
            throw error(fmt::format("{}: subject template \"{}\" names an unknown placeholder {{{}}}: use {{detail-type}}, {{source}}, "
                                    "{{account}}, {{region}}, {{id}} or {{partition}}",
                                    where, text, name));
        if (!literal.empty()) parts_.push_back({kind::literal, std::move(literal)});
        literal.clear();
        parts_.push_back({k, {}});
        partitioned_ = partitioned_ || k == kind::partition;
        i = close + 1;
    }
    if (!literal.empty()) parts_.push_back({kind::literal, std::move(literal)});

    if (partitioned_) {
        if (partition_key.empty())
            throw error(fmt::format("{}: subject template \"{}\" uses {{partition}} but no partition_key is set: give the ordering "
                                    "key's path, e.g. \"$.detail.customerId\"",
                                    where, text));
        if (partitions == 0) throw error(where + ": partitions must be at least 1");
        try {
            key_ = detail::key_path(partition_key);
        } catch (const std::exception& ex) {
            throw error(fmt::format("{}: partition_key \"{}\" is not a valid path: {}", where, partition_key, ex.what()));
        }
        partitions_ = partitions;
    } else if (!partition_key.empty()) {
        throw error(fmt::format("{}: partition_key \"{}\" is set but subject template \"{}\" has no {{partition}}: add it (e.g. "
                                "\"events.{{detail-type}}.{{partition}}\") or drop the key",
                                where, partition_key, text));
    }
}

std::string subject_template::render(const any_event& e) const {
    const auto& m = e.meta();
    std::string out;
    for (const auto& p : parts_) {
        switch (p.what) {
            case kind::literal: out += p.text; break;
            case kind::detail_type: out += escape_token(m.detail_type); break;
            case kind::source: out += escape_token(m.source); break;
            case kind::account: out += escape_token(m.account); break;
            case kind::region: out += escape_token(m.region); break;
            case kind::id: out += escape_token(m.id); break;
            case kind::partition: out += std::to_string(partition_of(key_.group_of(e), partitions_)); break;
        }
    }
    return out;
}

}  // namespace switchyard::nats_detail
