// A journal for tests: refuses every record while `fail` is set (a full disk, an I/O error),
// else records in memory.
#pragma once

#include <cstdint>
#include <span>
#include <stdexcept>
#include <string_view>
#include <vector>

#include <switchyard/durability/journal.hpp>

struct failing_journal final : switchyard::journal {
    bool fail = true;
    switchyard::memory_journal inner;
    std::uint64_t record_accepted(std::string_view json, std::span<const switchyard::journal_delivery> deliveries) override {
        if (fail) throw std::runtime_error("disk I/O error");
        return inner.record_accepted(json, deliveries);
    }
    void record_ended(std::uint64_t sequence, std::string_view rule, std::string_view target) noexcept override {
        inner.record_ended(sequence, rule, target);
    }
    std::vector<switchyard::journaled_event> unfinished() override { return inner.unfinished(); }
};
