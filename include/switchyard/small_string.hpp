// small_string: the string type of an event's envelope fields. Up to 39 characters live inside
// the object itself, so an event's id (36 characters), its time (20) and most sources and
// detail-types are made, copied and freed without touching the heap: a std::string keeps only 15
// in place, and allocating them was a third of a synchronous publish. Longer text goes to the
// heap, as in std::string. It converts to std::string_view and std::string, compares with any
// string, and formats with fmt, iostreams and nlohmann::json.
#pragma once

#include <compare>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <initializer_list>
#include <ostream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include <fmt/core.h>

namespace switchyard {

namespace detail {
/// The standard library's strings: std::string, std::string_view, character arrays and pointers.
template <class T>
concept standard_text = std::same_as<T, std::string> || std::same_as<T, std::string_view> || std::same_as<std::decay_t<T>, const char*> ||
                        std::same_as<std::decay_t<T>, char*>;
}  // namespace detail

/// The string type of an envelope's text fields: up to `inline_capacity` characters are held in
/// the object, longer text on the heap. Converts to std::string_view and std::string, compares
/// with any text, and formats with fmt, iostreams and nlohmann::json.
class small_string {
public:
    /// How many characters are kept without a heap allocation.
    static constexpr std::size_t inline_capacity = 39;

    /// Empty.
    small_string() noexcept { rep_.local[0] = '\0'; }
    /// A copy of `text`.
    small_string(std::string_view text) { init(text); }
    /// A copy of the null-terminated `text`.
    small_string(const char* text) { init(std::string_view(text)); }
    /// Deleted, as std::string's: a null pointer has no text to read.
    small_string(std::nullptr_t) = delete;
    /// A copy of `text`.
    small_string(const std::string& text) { init(text); }
    /// A copy of `other` (a heap block of its own for long text).
    small_string(const small_string& other) {
        if (other.rep_.heap)
            init(other.view());
        else
            rep_ = other.rep_;
    }
    /// Takes `other`'s text; `other` is left empty.
    small_string(small_string&& other) noexcept : rep_(other.rep_) { other.forget(); }
    /// Frees the heap block, if any.
    ~small_string() {
        if (rep_.heap) delete[] rep_.ptr;
    }

    /// Copies `other`'s text.
    small_string& operator=(const small_string& other) {
        if (this != &other) {
            small_string copy(other);
            swap(copy);
        }
        return *this;
    }
    /// Takes `other`'s text; `other` is left empty.
    small_string& operator=(small_string&& other) noexcept {
        if (this != &other) {
            small_string taken(std::move(other));
            swap(taken);
        }
        return *this;
    }
    /// Copies `text`, which may be part of this string.
    small_string& operator=(std::string_view text) {
        if (!rep_.heap && text.size() <= inline_capacity) {
            if (!text.empty()) std::memmove(rep_.local, text.data(), text.size());  // memmove: `text` may lie in local
            rep_.local[text.size()] = '\0';
            rep_.size = static_cast<std::uint32_t>(text.size());
            return *this;
        }
        small_string copy(text);  // made aside first: `text` may point into the heap block
        swap(copy);
        return *this;
    }
    /// Copies the null-terminated `text`.
    small_string& operator=(const char* text) { return *this = std::string_view(text); }
    /// Copies `text`.
    small_string& operator=(const std::string& text) { return *this = std::string_view(text); }
    /// The characters of `chars`: `field = {}` empties the field, as it does a std::string
    /// (without this overload, `{}` would pick the `const char*` one with a null pointer).
    small_string& operator=(std::initializer_list<char> chars) { return *this = std::string_view(chars.begin(), chars.size()); }

    /// The characters, null-terminated.
    const char* data() const noexcept { return rep_.heap ? rep_.ptr : rep_.local; }
    /// The characters, null-terminated.
    const char* c_str() const noexcept { return data(); }
    /// How many characters.
    std::size_t size() const noexcept { return rep_.size; }
    /// size().
    std::size_t length() const noexcept { return rep_.size; }
    /// Whether there are no characters.
    bool empty() const noexcept { return rep_.size == 0; }
    /// The first character.
    const char* begin() const noexcept { return data(); }
    /// Past the last character.
    const char* end() const noexcept { return data() + rep_.size; }
    /// Character `i` (`i < size()`).
    char operator[](std::size_t i) const noexcept { return data()[i]; }

    /// The text as a view (valid until this string changes, moves or ends).
    std::string_view view() const noexcept { return {data(), rep_.size}; }
    /// The text as a std::string.
    std::string str() const { return std::string(view()); }
    /// view().
    operator std::string_view() const noexcept { return view(); }
    /// str(). Implicit, so code that read a field into a std::string still compiles; the
    /// library's own hot paths read fields as views (tests/allocation_test.cpp counts a publish's
    /// allocations).
    operator std::string() const { return str(); }

    /// Empties it.
    void clear() noexcept {
        small_string empty;
        swap(empty);
    }
    /// Exchanges the two strings' text.
    void swap(small_string& other) noexcept { std::swap(rep_, other.rep_); }
    /// a.swap(b).
    friend void swap(small_string& a, small_string& b) noexcept { a.swap(b); }

    // Comparisons with a small_string or a standard string (std::string, std::string_view, a
    // literal, a const char*). Both sides are deduced, never converted: a type that merely
    // converts to small_string (nlohmann::json does, through from_json) keeps its own operators,
    // and `field == "x"` has one best match.

    /// Same characters.
    template <class A, class B>
        requires(std::same_as<A, small_string> && (std::same_as<B, small_string> || detail::standard_text<B>))
    friend bool operator==(const A& a, const B& b) noexcept {
        return a.view() == std::string_view(b);
    }
    /// Ordered as std::string_view orders.
    template <class A, class B>
        requires(std::same_as<A, small_string> && (std::same_as<B, small_string> || detail::standard_text<B>))
    friend std::strong_ordering operator<=>(const A& a, const B& b) noexcept {
        return a.view() <=> std::string_view(b);
    }

    // Concatenation gives a std::string, as on std::string_view's side.
    /// `a` then `b`, as a std::string.
    friend std::string operator+(const small_string& a, const small_string& b) { return join(a.view(), b.view()); }
    /// `a` then `b`, as a std::string.
    template <class Text>
        requires(std::convertible_to<const Text&, std::string_view> && !std::same_as<Text, small_string>)
    friend std::string operator+(const small_string& a, const Text& b) {
        return join(a.view(), std::string_view(b));
    }
    /// `a` then `b`, as a std::string.
    template <class Text>
        requires(std::convertible_to<const Text&, std::string_view> && !std::same_as<Text, small_string>)
    friend std::string operator+(const Text& a, const small_string& b) {
        return join(std::string_view(a), b.view());
    }

    /// Writes the text.
    friend std::ostream& operator<<(std::ostream& out, const small_string& s) { return out << s.view(); }

private:
    static std::string join(std::string_view a, std::string_view b) {
        std::string out;
        out.reserve(a.size() + b.size());
        out.append(a).append(b);
        return out;
    }

    void init(std::string_view text) {
        if (text.size() > UINT32_MAX) throw std::length_error("switchyard::small_string: text longer than 4 GiB");
        rep_.size = static_cast<std::uint32_t>(text.size());
        if (text.size() <= inline_capacity) {
            rep_.heap = false;
            if (!text.empty()) std::memcpy(rep_.local, text.data(), text.size());
            rep_.local[text.size()] = '\0';
        } else {
            char* p = new char[text.size() + 1];
            std::memcpy(p, text.data(), text.size());
            p[text.size()] = '\0';
            rep_.ptr = p;
            rep_.heap = true;
        }
    }
    // After its representation was taken: empty, owning nothing.
    void forget() noexcept {
        rep_.size = 0;
        rep_.heap = false;
        rep_.local[0] = '\0';
    }

    // Trivially copyable, so copying an inline string and moving any string copy 48 bytes,
    // whatever the text's length.
    struct representation {
        std::uint32_t size = 0;
        bool heap = false;
        union {
            char local[inline_capacity + 1];
            char* ptr;
        };
    };
    representation rep_;
};

/// For nlohmann::json (found by argument-dependent lookup): written as a JSON string.
template <class Json> void to_json(Json& out, const small_string& s) { out = s.str(); }
/// For nlohmann::json: reads a JSON string (a type_error for anything else).
template <class Json> void from_json(const Json& in, small_string& s) { s = in.template get<std::string>(); }

}  // namespace switchyard

/// @cond
// A small_string and a std::string or std::string_view meet as a std::string_view, so the ranges
// algorithms (std::ranges::find of a field in a vector of std::string, say) accept them together.
template <template <class> class AQual, template <class> class BQual>
struct std::basic_common_reference<switchyard::small_string, std::string_view, AQual, BQual> {
    using type = std::string_view;
};
template <template <class> class AQual, template <class> class BQual>
struct std::basic_common_reference<std::string_view, switchyard::small_string, AQual, BQual> {
    using type = std::string_view;
};
template <template <class> class AQual, template <class> class BQual>
struct std::basic_common_reference<switchyard::small_string, std::string, AQual, BQual> {
    using type = std::string_view;
};
template <template <class> class AQual, template <class> class BQual>
struct std::basic_common_reference<std::string, switchyard::small_string, AQual, BQual> {
    using type = std::string_view;
};

template <> struct std::hash<switchyard::small_string> {
    std::size_t operator()(const switchyard::small_string& s) const noexcept { return std::hash<std::string_view>{}(s.view()); }
};

template <> struct fmt::formatter<switchyard::small_string> : fmt::formatter<fmt::string_view> {
    template <class Context> auto format(const switchyard::small_string& s, Context& ctx) const {
        return fmt::formatter<fmt::string_view>::format(fmt::string_view(s.data(), s.size()), ctx);
    }
};
/// @endcond
