// Subject templates of nats_target ("events.{detail-type}"): parsed and checked once, rendered
// per event. Each placeholder's value becomes exactly one subject token (see escape_token).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "switchyard/delivery/ordering_key.hpp"
#include "switchyard/event.hpp"

namespace switchyard::nats_detail {

// One token of a subject: bytes other than [A-Za-z0-9_-] written %XX, empty written "_". The
// result is never empty and holds no '.', '*', '>' or whitespace; distinct values never share one.
std::string escape_token(std::string_view value);

// The partition (0..partitions-1) of an ordering key's value: FNV-1a, stable across processes
// and builds (std::hash is neither).
std::size_t partition_of(std::string_view key, std::size_t partitions);

class subject_template {
public:
    // Throws switchyard::error naming the problem and the fix (`where` names the target).
    subject_template(std::string_view text, const std::string& partition_key, std::size_t partitions, const std::string& where);

    std::string render(const any_event& e) const;
    bool partitioned() const noexcept { return partitioned_; }

private:
    enum class kind { literal, detail_type, source, account, region, id, partition };
    struct part {
        kind what;
        std::string text;  // literal
    };
    std::vector<part> parts_;
    bool partitioned_ = false;
    detail::key_path key_;
    std::size_t partitions_ = 1;
};

}  // namespace switchyard::nats_detail
