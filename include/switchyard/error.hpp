// switchyard's exception types. A mistake in configuration or API use throws `switchyard::error`
// (or a subclass) whose message names the thing at fault and how to fix it. Expected runtime
// outcomes (a rejected entry, a throttled publish) are values, never exceptions.
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>
#include <utility>

namespace switchyard {

/// A mistake in configuration or API use; the message names the thing at fault and how to fix
/// it. Expected runtime outcomes (a rejected entry, a throttled publish) are values, never
/// exceptions.
class error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// Thrown by a handler (or by switchyard on its behalf, e.g. when an event's detail does not fit
/// the handler's type) when retrying cannot help: the delivery goes straight to the dead letters.
class permanent_error : public error {
public:
    using error::error;
};

/// An event pattern that cannot be accepted. `path()` is the JSON path of the offending element
/// (empty for syntax errors), `offset()` the byte offset into the pattern text when known.
class pattern_error : public error {
public:
    /// offset() when the byte offset is not known.
    static constexpr std::size_t no_offset = static_cast<std::size_t>(-1);

    /// An error with `message`, at JSON path `path` and byte `offset` when known.
    pattern_error(std::string message, std::string path = {}, std::size_t offset = no_offset)
        : error(std::move(message)), path_(std::move(path)), offset_(offset) {}

    /// The JSON path of the offending element; empty for syntax errors.
    const std::string& path() const noexcept { return path_; }
    /// The byte offset into the pattern text, or no_offset.
    std::size_t offset() const noexcept { return offset_; }

private:
    std::string path_;
    std::size_t offset_;
};

}  // namespace switchyard
