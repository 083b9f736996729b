#include <doctest/doctest.h>

#include <sstream>
#include <string>
#include <string_view>
#include <algorithm>
#include <unordered_set>
#include <vector>
#include <utility>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <switchyard/small_string.hpp>

using switchyard::small_string;

namespace {
const std::string short_text = "com.example.payments";                                    // 20: kept inline
const std::string edge_text(small_string::inline_capacity, 'x');                            // 39: the last inline size
const std::string long_text = "com.example.a-source-name-well-past-the-inline-capacity";   // 55: on the heap

std::string take_string(const std::string& s) { return s; }
std::size_t take_view(std::string_view s) { return s.size(); }
}  // namespace

TEST_CASE("small_string holds short and long text alike") {
    for (const std::string& text : {std::string(), short_text, edge_text, edge_text + "y", long_text}) {
        CAPTURE(text);
        const small_string s(text);
        CHECK(s.size() == text.size());
        CHECK(s.empty() == text.empty());
        CHECK(s.view() == text);
        CHECK(std::string(s.c_str()) == text);  // null-terminated
        CHECK(s.str() == text);
        CHECK(std::string(s.begin(), s.end()) == text);
    }
}

TEST_CASE("small_string copies, moves and swaps without sharing storage") {
    for (const std::string& text : {short_text, long_text}) {
        CAPTURE(text);
        small_string original(text);
        small_string copy(original);
        CHECK(copy == text);
        if (text.size() > small_string::inline_capacity) CHECK(copy.data() != original.data());  // its own heap block

        small_string moved(std::move(original));
        CHECK(moved == text);
        CHECK(original.empty());  // NOLINT(bugprone-use-after-move): moved-from is empty by contract here
        original = "again";       // a moved-from string is usable
        CHECK(original == "again");

        small_string assigned;
        assigned = copy;
        CHECK(assigned == text);
        assigned = std::move(copy);
        CHECK(assigned == text);
        const small_string& same = assigned;
        assigned = same;  // self-assignment keeps the text
        CHECK(assigned == text);
        small_string& also = assigned;
        assigned = std::move(also);  // so does self-move
        CHECK(assigned == text);
        swap(assigned, also);  // and self-swap
        CHECK(assigned == text);

        small_string other(long_text + "!");
        swap(assigned, other);
        CHECK(assigned == long_text + "!");
        CHECK(other == text);
        other.clear();
        CHECK(other.empty());
    }
}

TEST_CASE("small_string: assigning a part of itself") {
    small_string s(long_text);
    s = s.view().substr(4);  // the source lies inside the heap block being replaced
    CHECK(s == long_text.substr(4));
    s = s.view().substr(0, 5);  // heap to inline
    CHECK(s == "examp");
    s = s.view().substr(1);  // inline, overlapping
    CHECK(s == "xamp");
    s = long_text;  // inline to heap
    CHECK(s == long_text);
    s = "";
    CHECK(s.empty());
    CHECK(std::string(s.c_str()).empty());
    s = "abc";
    s = std::string_view{};  // a view of nothing (a null pointer)
    CHECK(s.empty());
    s = long_text;
    s = {};  // empties it, as it does a std::string
    CHECK(s.empty());
    CHECK(s == "");
}

TEST_CASE("small_string compares and converts like a string") {
    const small_string s(short_text);
    CHECK(s == short_text);
    CHECK(short_text == s);
    CHECK(s == "com.example.payments");
    CHECK("com.example.payments" == s);
    CHECK(s == std::string_view(short_text));
    CHECK(s != "com.example");
    CHECK(s == small_string(short_text));
    CHECK(small_string("a") < small_string("b"));
    CHECK(small_string("b") > "a");
    CHECK(std::string("a") < small_string("b"));
    const char* pointer = "com.example.payments";
    CHECK(s == pointer);
    CHECK(pointer == s);
    CHECK(std::string_view("x") != s);

    // A type that converts to small_string keeps its own comparisons (nlohmann::json does).
    const nlohmann::json j = short_text;
    CHECK(j == s);
    CHECK(s == j);
    CHECK(nlohmann::json(42) != s);

    // With the ranges algorithms, beside std::string and std::string_view.
    const std::vector<std::string> strings{"x", short_text};
    CHECK(std::ranges::find(strings, s) == strings.begin() + 1);
    const std::vector<small_string> fields{small_string("x"), s};
    CHECK(std::ranges::find(fields, short_text) == fields.begin() + 1);
    CHECK(std::ranges::find(fields, std::string_view("x")) == fields.begin());

    const std::string as_string = s;  // as code that read a field into a std::string does
    CHECK(as_string == short_text);
    CHECK(take_string(s) == short_text);
    CHECK(static_cast<std::string>(small_string(long_text)) == long_text);
    CHECK(take_view(s) == short_text.size());
    std::string assigned;
    assigned = s;
    CHECK(assigned == short_text);

    CHECK(s + "/x" == short_text + "/x");
    CHECK("x/" + s == "x/" + short_text);
    CHECK(std::string("x/") + s == "x/" + short_text);
    CHECK(s + small_string("!") == short_text + "!");

    std::unordered_set<small_string> set{s, small_string(long_text)};
    CHECK(set.count(small_string(short_text)) == 1);
    CHECK(std::hash<small_string>{}(s) == std::hash<std::string_view>{}(short_text));
}

TEST_CASE("small_string formats with fmt, iostreams and nlohmann::json") {
    const small_string s(long_text);
    CHECK(fmt::format("<{}>", s) == "<" + long_text + ">");
    CHECK(fmt::format("{:>5}", small_string("ab")) == "   ab");
    std::ostringstream out;
    out << small_string(short_text);
    CHECK(out.str() == short_text);

    nlohmann::json j = s;
    CHECK(j == long_text);
    const auto back = j.get<small_string>();
    CHECK(back == long_text);
    CHECK_THROWS_WITH_AS(nlohmann::json(42).get<small_string>(), doctest::Contains("type must be string"), nlohmann::json::type_error);
}
