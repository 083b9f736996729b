// A streaming view of a JSON-shaped value. Whatever holds an event's detail (JSON text, a
// nlohmann DOM, a typed C++ value) pushes its fields into a value_sink, so consumers such as the
// flattener never need to know which one it was, and a typed event is read without any JSON.
#pragma once

#include <string_view>

namespace switchyard {

/// A streaming view of a JSON-shaped value. Whatever holds an event's detail (JSON text, a
/// nlohmann DOM, a typed C++ value) pushes its fields into a value_sink, so consumers such as the
/// flattener never need to know which one it was, and a typed event is read without any JSON.
class value_sink {
public:
    virtual ~value_sink() = default;

    /// An object starts: key() and a value for each member follow, then end_object().
    virtual void begin_object() = 0;
    /// Announces the next member of the current object. Returning false asks the producer to skip
    /// that member's value entirely (no calls for it); producers must honour it.
    virtual bool key(std::string_view name) = 0;
    /// The current object ends.
    virtual void end_object() = 0;
    /// An array starts: its elements follow, then end_array().
    virtual void begin_array() = 0;
    /// The current array ends.
    virtual void end_array() = 0;
    /// A string, its escapes decoded.
    virtual void string(std::string_view decoded) = 0;
    /// A number. `literal` is the number's text when the producer has it (JSON input), else empty.
    virtual void number(double value, std::string_view literal) = 0;
    /// true or false.
    virtual void boolean(bool value) = 0;
    /// null.
    virtual void null() = 0;

    /// Offered first by producers that hold the value as JSON text (see detail/json_emit.hpp). A
    /// sink that can scan the text itself (the pattern flattener's skipping scanner) consumes it
    /// and returns true, and then gets no other call for this value; the default declines.
    virtual bool json_text(std::string_view /*text*/) { return false; }
};

namespace detail {
// What a typed handler receives as its detail, so a target's ordering key can be checked
// against it when the rule is added: the type's name (for messages) and a function that emits a
// default-constructed value of it.
struct typed_detail_shape {
    std::string_view type_name;
    void (*emit_default)(value_sink&);
};
}  // namespace detail

}  // namespace switchyard
