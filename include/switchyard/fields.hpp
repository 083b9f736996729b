/// @file
/// Typed events: SWITCHYARD_EVENT declares a C++ type's detail-type, its JSON mapping (through
/// nlohmann) and a visitor over its fields, so rules can match a typed event without turning it
/// into JSON. SWITCHYARD_FIELDS does the same for a nested type that is not an event itself.
#pragma once

#include <concepts>
#include <map>
#include <optional>
#include <ranges>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "switchyard/detail/json_emit.hpp"
#include "switchyard/value_sink.hpp"

// --- a small FOR_EACH over up to 32 fields -------------------------------------------------
#define SWITCHYARD_DETAIL_EXPAND(x) x
#define SWITCHYARD_DETAIL_GET_MACRO(_1, _2, _3, _4, _5, _6, _7, _8, _9, _10, _11, _12, _13, _14,   \
                                    _15, _16, _17, _18, _19, _20, _21, _22, _23, _24, _25, _26,   \
                                    _27, _28, _29, _30, _31, _32, NAME, ...)                      \
    NAME
#define SWITCHYARD_DETAIL_FE_1(m, x) m(x)
#define SWITCHYARD_DETAIL_FE_2(m, x, ...) m(x) SWITCHYARD_DETAIL_EXPAND(SWITCHYARD_DETAIL_FE_1(m, __VA_ARGS__))
#define SWITCHYARD_DETAIL_FE_3(m, x, ...) m(x) SWITCHYARD_DETAIL_EXPAND(SWITCHYARD_DETAIL_FE_2(m, __VA_ARGS__))
#define SWITCHYARD_DETAIL_FE_4(m, x, ...) m(x) SWITCHYARD_DETAIL_EXPAND(SWITCHYARD_DETAIL_FE_3(m, __VA_ARGS__))
#define SWITCHYARD_DETAIL_FE_5(m, x, ...) m(x) SWITCHYARD_DETAIL_EXPAND(SWITCHYARD_DETAIL_FE_4(m, __VA_ARGS__))
#define SWITCHYARD_DETAIL_FE_6(m, x, ...) m(x) SWITCHYARD_DETAIL_EXPAND(SWITCHYARD_DETAIL_FE_5(m, __VA_ARGS__))
#define SWITCHYARD_DETAIL_FE_7(m, x, ...) m(x) SWITCHYARD_DETAIL_EXPAND(SWITCHYARD_DETAIL_FE_6(m, __VA_ARGS__))
#define SWITCHYARD_DETAIL_FE_8(m, x, ...) m(x) SWITCHYARD_DETAIL_EXPAND(SWITCHYARD_DETAIL_FE_7(m, __VA_ARGS__))
#define SWITCHYARD_DETAIL_FE_9(m, x, ...) m(x) SWITCHYARD_DETAIL_EXPAND(SWITCHYARD_DETAIL_FE_8(m, __VA_ARGS__))
#define SWITCHYARD_DETAIL_FE_10(m, x, ...) m(x) SWITCHYARD_DETAIL_EXPAND(SWITCHYARD_DETAIL_FE_9(m, __VA_ARGS__))
#define SWITCHYARD_DETAIL_FE_11(m, x, ...) m(x) SWITCHYARD_DETAIL_EXPAND(SWITCHYARD_DETAIL_FE_10(m, __VA_ARGS__))
#define SWITCHYARD_DETAIL_FE_12(m, x, ...) m(x) SWITCHYARD_DETAIL_EXPAND(SWITCHYARD_DETAIL_FE_11(m, __VA_ARGS__))
#define SWITCHYARD_DETAIL_FE_13(m, x, ...) m(x) SWITCHYARD_DETAIL_EXPAND(SWITCHYARD_DETAIL_FE_12(m, __VA_ARGS__))
#define SWITCHYARD_DETAIL_FE_14(m, x, ...) m(x) SWITCHYARD_DETAIL_EXPAND(SWITCHYARD_DETAIL_FE_13(m, __VA_ARGS__))
#define SWITCHYARD_DETAIL_FE_15(m, x, ...) m(x) SWITCHYARD_DETAIL_EXPAND(SWITCHYARD_DETAIL_FE_14(m, __VA_ARGS__))
#define SWITCHYARD_DETAIL_FE_16(m, x, ...) m(x) SWITCHYARD_DETAIL_EXPAND(SWITCHYARD_DETAIL_FE_15(m, __VA_ARGS__))
#define SWITCHYARD_DETAIL_FE_17(m, x, ...) m(x) SWITCHYARD_DETAIL_EXPAND(SWITCHYARD_DETAIL_FE_16(m, __VA_ARGS__))
#define SWITCHYARD_DETAIL_FE_18(m, x, ...) m(x) SWITCHYARD_DETAIL_EXPAND(SWITCHYARD_DETAIL_FE_17(m, __VA_ARGS__))
#define SWITCHYARD_DETAIL_FE_19(m, x, ...) m(x) SWITCHYARD_DETAIL_EXPAND(SWITCHYARD_DETAIL_FE_18(m, __VA_ARGS__))
#define SWITCHYARD_DETAIL_FE_20(m, x, ...) m(x) SWITCHYARD_DETAIL_EXPAND(SWITCHYARD_DETAIL_FE_19(m, __VA_ARGS__))
#define SWITCHYARD_DETAIL_FE_21(m, x, ...) m(x) SWITCHYARD_DETAIL_EXPAND(SWITCHYARD_DETAIL_FE_20(m, __VA_ARGS__))
#define SWITCHYARD_DETAIL_FE_22(m, x, ...) m(x) SWITCHYARD_DETAIL_EXPAND(SWITCHYARD_DETAIL_FE_21(m, __VA_ARGS__))
#define SWITCHYARD_DETAIL_FE_23(m, x, ...) m(x) SWITCHYARD_DETAIL_EXPAND(SWITCHYARD_DETAIL_FE_22(m, __VA_ARGS__))
#define SWITCHYARD_DETAIL_FE_24(m, x, ...) m(x) SWITCHYARD_DETAIL_EXPAND(SWITCHYARD_DETAIL_FE_23(m, __VA_ARGS__))
#define SWITCHYARD_DETAIL_FE_25(m, x, ...) m(x) SWITCHYARD_DETAIL_EXPAND(SWITCHYARD_DETAIL_FE_24(m, __VA_ARGS__))
#define SWITCHYARD_DETAIL_FE_26(m, x, ...) m(x) SWITCHYARD_DETAIL_EXPAND(SWITCHYARD_DETAIL_FE_25(m, __VA_ARGS__))
#define SWITCHYARD_DETAIL_FE_27(m, x, ...) m(x) SWITCHYARD_DETAIL_EXPAND(SWITCHYARD_DETAIL_FE_26(m, __VA_ARGS__))
#define SWITCHYARD_DETAIL_FE_28(m, x, ...) m(x) SWITCHYARD_DETAIL_EXPAND(SWITCHYARD_DETAIL_FE_27(m, __VA_ARGS__))
#define SWITCHYARD_DETAIL_FE_29(m, x, ...) m(x) SWITCHYARD_DETAIL_EXPAND(SWITCHYARD_DETAIL_FE_28(m, __VA_ARGS__))
#define SWITCHYARD_DETAIL_FE_30(m, x, ...) m(x) SWITCHYARD_DETAIL_EXPAND(SWITCHYARD_DETAIL_FE_29(m, __VA_ARGS__))
#define SWITCHYARD_DETAIL_FE_31(m, x, ...) m(x) SWITCHYARD_DETAIL_EXPAND(SWITCHYARD_DETAIL_FE_30(m, __VA_ARGS__))
#define SWITCHYARD_DETAIL_FE_32(m, x, ...) m(x) SWITCHYARD_DETAIL_EXPAND(SWITCHYARD_DETAIL_FE_31(m, __VA_ARGS__))
#define SWITCHYARD_DETAIL_FOR_EACH(m, ...)                                                         \
    SWITCHYARD_DETAIL_EXPAND(SWITCHYARD_DETAIL_GET_MACRO(                                         \
        __VA_ARGS__, SWITCHYARD_DETAIL_FE_32, SWITCHYARD_DETAIL_FE_31, SWITCHYARD_DETAIL_FE_30,   \
        SWITCHYARD_DETAIL_FE_29, SWITCHYARD_DETAIL_FE_28, SWITCHYARD_DETAIL_FE_27,                \
        SWITCHYARD_DETAIL_FE_26, SWITCHYARD_DETAIL_FE_25, SWITCHYARD_DETAIL_FE_24,                \
        SWITCHYARD_DETAIL_FE_23, SWITCHYARD_DETAIL_FE_22, SWITCHYARD_DETAIL_FE_21,                \
        SWITCHYARD_DETAIL_FE_20, SWITCHYARD_DETAIL_FE_19, SWITCHYARD_DETAIL_FE_18,                \
        SWITCHYARD_DETAIL_FE_17, SWITCHYARD_DETAIL_FE_16, SWITCHYARD_DETAIL_FE_15,                \
        SWITCHYARD_DETAIL_FE_14, SWITCHYARD_DETAIL_FE_13, SWITCHYARD_DETAIL_FE_12,                \
        SWITCHYARD_DETAIL_FE_11, SWITCHYARD_DETAIL_FE_10, SWITCHYARD_DETAIL_FE_9,                 \
        SWITCHYARD_DETAIL_FE_8, SWITCHYARD_DETAIL_FE_7, SWITCHYARD_DETAIL_FE_6,                   \
        SWITCHYARD_DETAIL_FE_5, SWITCHYARD_DETAIL_FE_4, SWITCHYARD_DETAIL_FE_3,                   \
        SWITCHYARD_DETAIL_FE_2, SWITCHYARD_DETAIL_FE_1)(m, __VA_ARGS__))

// The one message for a field type without a JSON mapping (static_assert needs a literal).
#define SWITCHYARD_DETAIL_NO_JSON_MAPPING                                                          \
    "a field of a SWITCHYARD_EVENT or SWITCHYARD_FIELDS type has a type without a JSON mapping: "  \
    "declare that type with SWITCHYARD_FIELDS(Type, field, ...) at its namespace, before the "     \
    "SWITCHYARD_EVENT or SWITCHYARD_FIELDS that uses it"

#define SWITCHYARD_DETAIL_VISIT_FIELD(field) visitor(::std::string_view{#field}, self.field);
#define SWITCHYARD_DETAIL_TO_JSON_FIELD(field) ::switchyard::detail::field_to_json(json, #field, self.field);
#define SWITCHYARD_DETAIL_FROM_JSON_FIELD(field) ::switchyard::detail::field_from_json(json, #field, self.field);

/// Declares a type's fields (up to 32): its JSON mapping (for nlohmann, like
/// NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE: every field required when reading) and a field visitor.
/// Use it at the namespace of the type; the functions it defines are found by argument-dependent
/// lookup, and are marked maybe_unused so a type in an anonymous namespace warns about nothing.
#define SWITCHYARD_FIELDS(Type, ...)                                                               \
    [[maybe_unused]] inline void to_json(::nlohmann::json& json, const Type& self) {               \
        SWITCHYARD_DETAIL_FOR_EACH(SWITCHYARD_DETAIL_TO_JSON_FIELD, __VA_ARGS__)                   \
    }                                                                                              \
    [[maybe_unused]] inline void from_json(const ::nlohmann::json& json, Type& self) {             \
        SWITCHYARD_DETAIL_FOR_EACH(SWITCHYARD_DETAIL_FROM_JSON_FIELD, __VA_ARGS__)                 \
    }                                                                                              \
    template <class SwitchyardVisitor>                                                             \
    inline void switchyard_visit_fields(const Type& self, SwitchyardVisitor&& visitor) {           \
        SWITCHYARD_DETAIL_FOR_EACH(SWITCHYARD_DETAIL_VISIT_FIELD, __VA_ARGS__)                     \
    }

/// Declares an event type: its detail-type (a string literal) and its fields.
#define SWITCHYARD_EVENT(Type, DetailType, ...)                                                    \
    SWITCHYARD_FIELDS(Type, __VA_ARGS__)                                                           \
    [[maybe_unused]] constexpr ::std::string_view switchyard_detail_type(const Type*) noexcept {   \
        return DetailType;                                                                         \
    }

namespace switchyard {

namespace detail {
// False, but only once instantiated: a static_assert in a discarded `if constexpr` branch.
template <class> inline constexpr bool dependent_false = false;

// What SWITCHYARD_FIELDS expands to for each field. A field whose type nlohmann cannot convert
// fails with one message naming the fix, instead of pages of nlohmann's template errors.
template <class V> void field_to_json(nlohmann::json& json, const char* name, const V& value) {
    if constexpr (std::is_constructible_v<nlohmann::json, const V&>) {
        json[name] = value;
    } else {
        static_assert(dependent_false<V>,
                      SWITCHYARD_DETAIL_NO_JSON_MAPPING);
    }
}

template <class V> void field_from_json(const nlohmann::json& json, const char* name, V& value) {
    if constexpr (requires { json.at(name).get_to(value); }) {
        json.at(name).get_to(value);
    } else if constexpr (!std::is_constructible_v<nlohmann::json, const V&>) {
        // field_to_json, instantiated by the same macro, already says what to do.
    } else {
        static_assert(dependent_false<V>,
                      SWITCHYARD_DETAIL_NO_JSON_MAPPING);
    }
}

struct any_field_visitor {
    template <class V> void operator()(std::string_view, const V&) const {}
};
}  // namespace detail

/// A type declared with SWITCHYARD_EVENT.
template <class T>
concept event_type = requires {
    { switchyard_detail_type(static_cast<const T*>(nullptr)) } -> std::convertible_to<std::string_view>;
};

/// A type declared with SWITCHYARD_FIELDS or SWITCHYARD_EVENT.
template <class T>
concept field_visitable = requires(const T& value) {
    switchyard_visit_fields(value, detail::any_field_visitor{});
};

/// The detail-type `T` was declared with (SWITCHYARD_EVENT's second argument).
template <event_type T> constexpr std::string_view detail_type_of() noexcept {
    return switchyard_detail_type(static_cast<const T*>(nullptr));
}

/// Calls `visitor(name, field)` for each declared field, in declaration order.
template <field_visitable T, class Visitor> void visit_fields(const T& value, Visitor&& visitor) {
    switchyard_visit_fields(value, visitor);
}

namespace detail {
template <class T> struct is_optional : std::false_type {};
template <class T> struct is_optional<std::optional<T>> : std::true_type {};
template <class T> struct is_string_map : std::false_type {};
template <class V, class... R> struct is_string_map<std::map<std::string, V, R...>> : std::true_type {};
template <class V, class... R>
struct is_string_map<std::unordered_map<std::string, V, R...>> : std::true_type {};
}  // namespace detail

/// Streams a C++ value into a sink: visitable types as objects, strings, numbers, booleans,
/// optionals (an empty one is null), ranges as arrays, string-keyed maps as objects, and anything
/// else nlohmann can serialise through its JSON form.
template <class V> void emit_value(value_sink& sink, const V& value) {
    using T = std::remove_cvref_t<V>;
    if constexpr (std::is_same_v<T, nlohmann::json>) {
        detail::emit_json(value, sink);
    } else if constexpr (field_visitable<T>) {
        sink.begin_object();
        switchyard_visit_fields(value, [&sink](std::string_view name, const auto& field) {
            if (sink.key(name)) emit_value(sink, field);
        });
        sink.end_object();
    } else if constexpr (std::is_same_v<T, bool>) {
        sink.boolean(value);
    } else if constexpr (std::is_arithmetic_v<T>) {
        sink.number(static_cast<double>(value), {});
    } else if constexpr (std::is_convertible_v<const T&, std::string_view>) {
        sink.string(std::string_view(value));
    } else if constexpr (std::is_same_v<T, std::nullptr_t>) {
        sink.null();
    } else if constexpr (detail::is_optional<T>::value) {
        if (value) emit_value(sink, *value);
        else sink.null();
    } else if constexpr (detail::is_string_map<T>::value) {
        sink.begin_object();
        for (const auto& [name, member] : value)
            if (sink.key(name)) emit_value(sink, member);
        sink.end_object();
    } else if constexpr (std::ranges::input_range<T>) {
        sink.begin_array();
        for (const auto& element : value) emit_value(sink, element);
        sink.end_array();
    } else if constexpr (std::is_constructible_v<nlohmann::json, const T&>) {
        detail::emit_json(nlohmann::json(value), sink);
    } else {
        static_assert(detail::dependent_false<T>,
                      SWITCHYARD_DETAIL_NO_JSON_MAPPING);
    }
}

}  // namespace switchyard
