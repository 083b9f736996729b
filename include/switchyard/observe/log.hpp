// The log sink: where switchyard's own messages go (a dead letter nobody took, a handler that threw
// on a background thread), with a level and structured fields. Plug in your logger by
// implementing `log_sink`; the default, `stderr_sink`, writes one concise line per message at
// warn and above. Library code never writes to std::cout.
#pragma once

#include <atomic>
#include <cstdio>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>

#include "switchyard/config.hpp"

namespace switchyard {

/// How much a log message matters, from least to most.
enum class log_level {
    trace,  ///< the most detailed
    debug,  ///< detail for debugging
    info,   ///< informational
    warn,   ///< a warning (stderr_sink's default threshold)
    error,  ///< an error, e.g. a dead letter that no sink took
};

/// The level's name: "trace", "debug", "info", "warn" or "error".
inline constexpr std::string_view to_string(log_level level) noexcept {
    switch (level) {
        case log_level::trace: return "trace";
        case log_level::debug: return "debug";
        case log_level::info: return "info";
        case log_level::warn: return "warn";
        case log_level::error: return "error";
    }
    return "unknown";
}

/// A structured field: the key is a literal at the call site, the value already text.
struct log_field {
    std::string_view key{};  ///< the field's name (a literal at the call site)
    std::string value{};     ///< the field's value, as text
};

/// Where switchyard's own messages go (a dead letter nobody took, a handler that threw on a
/// background thread), with a level and structured fields. Plug in your logger by implementing
/// it; the default is stderr_sink. Library code never writes to std::cout.
class log_sink {
public:
    virtual ~log_sink() = default;

    /// Whether messages at `level` are wanted: lets a caller skip building fields for a message
    /// nobody will see.
    virtual bool enabled(log_level /*level*/) const noexcept { return true; }

    /// Writes one message. Called from any thread, possibly several at once; must not throw (the
    /// bus ignores it).
    virtual void write(log_level level, std::string_view message, std::span<const log_field> fields) = 0;
};

/// Writes through `sink` if it is enabled for `level`. The fields are built before the call: where
/// building them costs, check `sink.enabled(level)` first.
inline void log_to(log_sink& sink, log_level level, std::string_view message, std::initializer_list<log_field> fields = {}) {
    if (sink.enabled(level)) sink.write(level, message, std::span<const log_field>(fields.begin(), fields.size()));
}

/// `switchyard warn: message key=value key="quoted value"` and a newline: logfmt-style fields
/// after the message.
SWITCHYARD_API std::string format_log_line(log_level level, std::string_view message, std::span<const log_field> fields);

/// The default sink: one line per message at `threshold` and above, to stderr or any FILE.
/// Each line is a single fwrite, which stdio performs under the FILE's lock, so lines from
/// concurrent threads never interleave.
class stderr_sink : public log_sink {
public:
    /// Writes messages at `threshold` and above to `out`.
    explicit stderr_sink(log_level threshold = log_level::warn, std::FILE* out = stderr) noexcept : threshold_(threshold), out_(out) {}

    bool enabled(log_level level) const noexcept override { return level >= threshold_.load(std::memory_order_relaxed); }

    void write(log_level level, std::string_view message, std::span<const log_field> fields) override {
        if (!enabled(level)) return;
        try {
            const auto line = format_log_line(level, message, fields);
            std::fwrite(line.data(), 1, line.size(), out_);
        } catch (...) {
            // Out of memory while logging: nothing better to do than drop the line.
        }
    }

    /// Changes the lowest level written (safe while other threads log).
    void set_threshold(log_level level) noexcept { threshold_.store(level, std::memory_order_relaxed); }
    /// The lowest level written.
    log_level threshold() const noexcept { return threshold_.load(std::memory_order_relaxed); }

private:
    std::atomic<log_level> threshold_;
    std::FILE* out_;
};

/// Discards everything: for hosts that want switchyard silent.
class null_sink : public log_sink {
public:
    bool enabled(log_level /*level*/) const noexcept override { return false; }
    void write(log_level /*level*/, std::string_view /*message*/, std::span<const log_field> /*fields*/) override {}
};

}  // namespace switchyard

#ifdef SWITCHYARD_HEADER_ONLY
#include "switchyard/observe/log-inl.hpp"
#endif
