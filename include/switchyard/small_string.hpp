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
#include <ostream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

#include <fmt/core.h>

namespace switchyard {

class small_string {
public:
    /// How many characters are kept without a heap allocation.
    static constexpr std::size_t inline_capacity = 39;

    small_string() noexcept { local_[0] = '\0'; }
    small_string(std::string_view text) { init(text); }
    small_string(const char* text) { init(std::string_view(text)); }
    small_string(const std::string& text) { init(text); }
    small_string(const small_string& other) {
        if (other.heap_)
            init(other.view());
        else
            copy_bytes(other);
    }
    small_string(small_string&& other) noexcept {
        copy_bytes(other);
        other.forget();
    }
    ~small_string() {
        if (heap_) delete[] ptr_;
    }

    small_string& operator=(const small_string& other) {
        if (this != &other) {
            small_string copy(other);
            swap(copy);
        }
        return *this;
    }
    small_string& operator=(small_string&& other) noexcept {
        if (this != &other) {
            small_string taken(std::move(other));
            swap(taken);
        }
        return *this;
    }
    small_string& operator=(std::string_view text) {
        if (!heap_ && text.size() <= inline_capacity) {
            std::memmove(local_, text.data(), text.size());  // memmove: `text` may lie in local_
            local_[text.size()] = '\0';
            size_ = static_cast<std::uint32_t>(text.size());
            return *this;
        }
        small_string copy(text);  // made aside first: `text` may point into the heap block
        swap(copy);
        return *this;
    }
    small_string& operator=(const char* text) { return *this = std::string_view(text); }
    small_string& operator=(const std::string& text) { return *this = std::string_view(text); }

    const char* data() const noexcept { return heap_ ? ptr_ : local_; }
    /// Always null-terminated.
    const char* c_str() const noexcept { return data(); }
    std::size_t size() const noexcept { return size_; }
    std::size_t length() const noexcept { return size_; }
    bool empty() const noexcept { return size_ == 0; }
    const char* begin() const noexcept { return data(); }
    const char* end() const noexcept { return data() + size_; }
    char operator[](std::size_t i) const noexcept { return data()[i]; }

    std::string_view view() const noexcept { return {data(), size_}; }
    std::string str() const { return std::string(view()); }
    operator std::string_view() const noexcept { return view(); }
    // Implicit, so code that read a field into a std::string still compiles; the library's own
    // hot paths read fields as views (tests/allocation_test.cpp counts a publish's allocations).
    operator std::string() const { return str(); }

    void clear() noexcept {
        small_string empty;
        swap(empty);
    }
    void swap(small_string& other) noexcept {
        small_string* a = this;
        small_string* b = &other;
        unsigned char held[sizeof(small_string)];
        std::memcpy(held, static_cast<void*>(a), sizeof held);
        std::memcpy(static_cast<void*>(a), static_cast<const void*>(b), sizeof held);
        std::memcpy(static_cast<void*>(b), held, sizeof held);
    }
    friend void swap(small_string& a, small_string& b) noexcept { a.swap(b); }

    friend bool operator==(const small_string& a, std::string_view b) noexcept { return a.view() == b; }
    friend std::strong_ordering operator<=>(const small_string& a, std::string_view b) noexcept { return a.view() <=> b; }

    // Concatenation gives a std::string, as on std::string_view's side.
    friend std::string operator+(const small_string& a, const small_string& b) { return join(a.view(), b.view()); }
    template <class Text>
        requires(std::convertible_to<const Text&, std::string_view> && !std::same_as<Text, small_string>)
    friend std::string operator+(const small_string& a, const Text& b) {
        return join(a.view(), std::string_view(b));
    }
    template <class Text>
        requires(std::convertible_to<const Text&, std::string_view> && !std::same_as<Text, small_string>)
    friend std::string operator+(const Text& a, const small_string& b) {
        return join(std::string_view(a), b.view());
    }

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
        size_ = static_cast<std::uint32_t>(text.size());
        if (text.size() <= inline_capacity) {
            heap_ = false;
            if (!text.empty()) std::memcpy(local_, text.data(), text.size());
            local_[text.size()] = '\0';
        } else {
            char* p = new char[text.size() + 1];
            std::memcpy(p, text.data(), text.size());
            p[text.size()] = '\0';
            ptr_ = p;
            heap_ = true;
        }
    }
    // The whole object, bytes and all: a fixed-size copy is cheaper than measuring the text.
    void copy_bytes(const small_string& other) noexcept { std::memcpy(static_cast<void*>(this), static_cast<const void*>(&other), sizeof *this); }
    // After its bytes were taken: empty, owning nothing.
    void forget() noexcept {
        size_ = 0;
        heap_ = false;
        local_[0] = '\0';
    }

    std::uint32_t size_ = 0;
    bool heap_ = false;
    union {
        char local_[inline_capacity + 1];
        char* ptr_;
    };
};

/// For nlohmann::json (found by argument-dependent lookup): written and read as a JSON string.
template <class Json> void to_json(Json& out, const small_string& s) { out = s.str(); }
template <class Json> void from_json(const Json& in, small_string& s) { s = in.template get<std::string>(); }

}  // namespace switchyard

template <> struct std::hash<switchyard::small_string> {
    std::size_t operator()(const switchyard::small_string& s) const noexcept { return std::hash<std::string_view>{}(s.view()); }
};

template <> struct fmt::formatter<switchyard::small_string> : fmt::formatter<fmt::string_view> {
    template <class Context> auto format(const switchyard::small_string& s, Context& ctx) const {
        return fmt::formatter<fmt::string_view>::format(fmt::string_view(s.data(), s.size()), ctx);
    }
};
