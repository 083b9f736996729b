// detail/json_validate.hpp: the hand-written validator behind check_json_object. Every problem
// kind, UTF-8 and surrogate edge cases, number grammar and range, duplicates after unescaping,
// deep nesting, and agreement with the old nlohmann-based check (fuzz/json_check_oracle.hpp) on
// a table of tricky inputs, the fuzz and benchmark corpora, and random mutations of them.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include <switchyard/detail/json_object_check.hpp>
#include <switchyard/detail/json_validate.hpp>

#include "../../fuzz/json_check_oracle.hpp"
#include "test_scale.hpp"

using switchyard::detail::check_json_object;
using switchyard::detail::json_problem;
using kind = json_problem::kind;

namespace {

std::string describe(const std::optional<json_problem>& p) {
    if (!p) return "accepted";
    return "kind " + std::to_string(static_cast<int>(p->what)) + ": " + p->message;
}

// The new check and the oracle agree: same acceptance, same kind, and the same message for every
// kind but malformed (whose byte and "near" text may differ slightly; `exact` asks for them too).
bool agrees(std::string_view text, bool exact = false) {
    const auto got = check_json_object(text);
    const auto want = switchyard_oracle::oracle_check_json_object(text);
    const bool same = got.has_value() == want.has_value() &&
                      (!got || (got->what == want->what && ((got->what == kind::malformed && !exact) || got->message == want->message)));
    if (!same) {
        INFO("text: ", nlohmann::json(std::string(text)).dump(-1, ' ', true, nlohmann::json::error_handler_t::replace));
        INFO("new: ", describe(got));
        INFO("old: ", describe(want));
        CHECK(same);
    }
    return same;
}

std::optional<kind> kind_of(std::string_view text) {
    const auto p = check_json_object(text);
    return p ? std::optional<kind>(p->what) : std::nullopt;
}

bool accepted(std::string_view text) { return !check_json_object(text); }

std::string message_of(std::string_view text) {
    const auto p = check_json_object(text);
    REQUIRE(p);
    return p->message;
}

std::filesystem::path repo_root() { return std::filesystem::path(__FILE__).parent_path().parent_path().parent_path(); }

std::string read_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::vector<std::string> split(std::string_view text, std::string_view separators) {
    std::vector<std::string> parts;
    std::size_t from = 0;
    for (std::size_t i = 0; i <= text.size(); ++i)
        if (i == text.size() || separators.find(text[i]) != std::string_view::npos) {
            parts.emplace_back(text.substr(from, i - from));
            from = i + 1;
        }
    return parts;
}

// Inputs built to sit on the edges the validator decides: the agreement table.
std::vector<std::string> tricky_inputs() {
    std::vector<std::string> t = {
        // structure
        "{}", " {} ", "\t\r\n{}\n", "{ }", "{", "}", "{}}", "{}{}", "{} {}", "{},", "", " ", "\v{}", "\f{}", "{}\v", "{}\x85",
        "{\"a\":1}", "{\"a\" : 1 }", "{\"a\":1,}", "{,\"a\":1}", "{\"a\":1,,\"b\":2}", "{\"a\"}", "{\"a\":}", "{\"a\" 1}",
        "{\"a\":1 \"b\":2}", "{a:1}", "{'a':1}", "{1:2}", "{null:1}", "{\"a\":[}", "{\"a\":[1,]}", "{\"a\":[,1]}",
        "{\"a\":[1 2]}", "{\"a\":[1,2]]}", "{\"a\":{]}", "{\"a\":[}]}", "{\"a\":1}x", "{\"a\":1} x", "{\"a\":1}\"x\"",
        "{\"a\":1}1", "{\"a\":1}true", "{\"a\":1}nul", "{\"a\":tru}", "{\"a\":truex}", "{\"a\":nulL}", "{\"a\":f}",
        "{\"a\":True}", "{\"a\":NaN}", "{\"a\":Infinity}", "{\"a\":-Infinity}", "{\"a\":undefined}", "{\"a\":1}/**/",
        "{/**/}", "{\"a\":1 // x\n}", "{\"a\":\"b\"", "{\"a\":\"b", "{\"a", "{\"", "{\"a\":", "{\"a\":1", "{\"a\":[",
        "{\"a\":[1", "{\"a\":{", "{\"a\":t", "{\"a\":tr", "{\"a\":-", "{\"a\":1.", "{\"a\":1e", "{\"a\":1e+",
        // not objects
        "[]", "[1,2]", "\"s\"", "true", "false", "null", "0", "-1.5e3", " [ ] ", "[{\"a\":1,\"a\":2}]", "[1e400]",
        "\"\\ud800\"", "[", "1 2",
        // strings
        "{\"a\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"}", "{\"a\":\"\\a\"}", "{\"a\":\"\\x41\"}", "{\"a\":\"\\'\"}", "{\"a\":\"\\0\"}",
        "{\"a\":\"\\\"}", "{\"a\":\"\\", "{\"a\":\"\\u\"}", "{\"a\":\"\\u1\"}", "{\"a\":\"\\u12\"}", "{\"a\":\"\\u123\"}",
        "{\"a\":\"\\u123g\"}", "{\"a\":\"\\u0041\"}", "{\"a\":\"\\uABCD\"}", "{\"a\":\"\\uabcd\"}", "{\"a\":\"\\uFFFF\"}",
        "{\"a\":\"\\U0041\"}", "{\"a\":\"\\u0000\"}", "{\"a\":\"\\u001f\"}",
        // surrogates
        "{\"a\":\"\\ud83d\\ude00\"}", "{\"a\":\"\\uD83D\\uDE00\"}", "{\"a\":\"\\ud800\"}", "{\"a\":\"\\ud800x\"}",
        "{\"a\":\"\\ud800\\\"}", "{\"a\":\"\\ud800\\n\"}", "{\"a\":\"\\ud800\\u\"}", "{\"a\":\"\\ud800\\u0041\"}",
        "{\"a\":\"\\ud800\\ud800\"}", "{\"a\":\"\\udbff\\udfff\"}", "{\"a\":\"\\udc00\"}", "{\"a\":\"\\udfff\\ud800\"}",
        "{\"a\":\"\\ud800\\udc0\"}", "{\"a\":\"\\ud800\\udc0x\"}", "{\"a\":\"\\ud800", "{\"a\":\"\\ud800\\", "{\"a\":\"\\ud800\\u",
        "{\"a\":\"\\ud7ff\"}", "{\"a\":\"\\ue000\"}",
        // control characters and DEL
        "{\"a\":\"\x7f\"}", "{\"a\":\"\t\"}", "{\"a\":\"\n\"}", "{\"a\":\"\x1f\"}", "{\"a\":\"\x01\"}", "{\"a\":\"x\x1fyyyyyyyyyyyy\"}",
        "{\"\x01\":1}", "{\x01}", "\x01{}",
        // UTF-8
        "{\"a\":\"\xc3\xa9\"}", "{\"a\":\"\xc2\x80\"}", "{\"a\":\"\xdf\xbf\"}", "{\"a\":\"\xc0\x80\"}", "{\"a\":\"\xc1\xbf\"}",
        "{\"a\":\"\xc2\"}", "{\"a\":\"\xc2", "{\"a\":\"\xc2\x7f\"}", "{\"a\":\"\xc2\xc0\"}", "{\"a\":\"\x80\"}", "{\"a\":\"\xbf\"}",
        "{\"a\":\"\xe0\xa0\x80\"}", "{\"a\":\"\xe0\x9f\xbf\"}", "{\"a\":\"\xe0\x80\x80\"}", "{\"a\":\"\xe1\x80\x80\"}",
        "{\"a\":\"\xec\xbf\xbf\"}", "{\"a\":\"\xed\x80\x80\"}", "{\"a\":\"\xed\x9f\xbf\"}", "{\"a\":\"\xed\xa0\x80\"}",
        "{\"a\":\"\xed\xbf\xbf\"}", "{\"a\":\"\xee\x80\x80\"}", "{\"a\":\"\xef\xbf\xbf\"}", "{\"a\":\"\xef\xbf\"}",
        "{\"a\":\"\xef\xbf", "{\"a\":\"\xe2\x82\xac\"}", "{\"a\":\"\xe2\x82\"}", "{\"a\":\"\xe2\x28\xa1\"}",
        "{\"a\":\"\xf0\x90\x80\x80\"}", "{\"a\":\"\xf0\x8f\xbf\xbf\"}", "{\"a\":\"\xf0\x80\x80\x80\"}", "{\"a\":\"\xf1\x80\x80\x80\"}",
        "{\"a\":\"\xf3\xbf\xbf\xbf\"}", "{\"a\":\"\xf4\x8f\xbf\xbf\"}", "{\"a\":\"\xf4\x90\x80\x80\"}", "{\"a\":\"\xf5\x80\x80\x80\"}",
        "{\"a\":\"\xf8\x88\x80\x80\x80\"}", "{\"a\":\"\xff\"}", "{\"a\":\"\xfe\"}", "{\"a\":\"\xf0\x9f\x98\"}", "{\"a\":\"\xf0\x9f\x98",
        "{\"a\":\"\xf0\x9f\x98\x80\"}", "{\"\xf0\x9f\x98\x80\":1}", "{\"a\":\"abcdefgh\xc3\xa9ijklmnop\xe2\x82\xacqrstuvwx\"}",
        "{\"a\":\"\xc3\xa9\xc3\"}", "{\"a\":\"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\"}",
        "\xef\xbb{}", "\xef{}", "{\"a\":\"\xef\xbb\xbf\"}",
        // numbers: grammar
        "{\"n\":0}", "{\"n\":-0}", "{\"n\":01}", "{\"n\":-01}", "{\"n\":00}", "{\"n\":+1}", "{\"n\":.5}", "{\"n\":1.}", "{\"n\":1.e5}",
        "{\"n\":1e}", "{\"n\":1e+}", "{\"n\":1e-}", "{\"n\":1E5}", "{\"n\":1e+5}", "{\"n\":1e-5}", "{\"n\":1.5E-05}", "{\"n\":-}",
        "{\"n\":--1}", "{\"n\":-a}", "{\"n\":1.5.5}", "{\"n\":1e5e5}", "{\"n\":0x10}", "{\"n\":1_000}", "{\"n\":0.0}", "{\"n\":-0.0e0}",
        "{\"n\":123456789012345678901234567890}", "{\"n\":-123456789012345678901234567890}", "{\"n\":18446744073709551615}",
        "{\"n\":18446744073709551616}", "{\"n\":-9223372036854775808}", "{\"n\":-9223372036854775809}", "{\"n\":1,}",
        // numbers: range
        "{\"n\":1e308}", "{\"n\":1e309}", "{\"n\":1e400}", "{\"n\":-1e400}", "{\"n\":1e-400}", "{\"n\":-1e-400}", "{\"n\":1.8e308}",
        "{\"n\":1.7976931348623157e308}", "{\"n\":1.7976931348623158e308}", "{\"n\":1.7976931348623159e308}",
        "{\"n\":-1.7976931348623159e308}", "{\"n\":0e999999}", "{\"n\":0.0e999999}", "{\"n\":0.000000000001e320}",
        "{\"n\":0.000000000001e321}", "{\"n\":10e307}", "{\"n\":10e308}", "{\"n\":100e306}", "{\"n\":1e99999999999999999999999}",
        "{\"n\":1e-99999999999999999999999}", "{\"n\":1e+0308}", "{\"n\":1e00000000000000000000309}", "{\"n\":4.9e-324}",
        "{\"n\":2e-324}", "{\"n\":1e400,\"n\":1}", "{\"n\":1,\"n\":1e400}", "{\"n\":1e400", "{\"n\":1e400x}", "{\"n\" 1e400}",
        "[1 1e400]", "1e400", "{\"n\":1e400.5}",
        // duplicates
        "{\"a\":1,\"a\":2}", "{\"a\":1,\"b\":2,\"a\":3}", "{\"a\":1,\"\\u0061\":2}", "{\"\\u0061\":1,\"a\":2}", "{\"a\\/b\":1,\"a/b\":2}",
        "{\"\\ud83d\\ude00\":1,\"\xf0\x9f\x98\x80\":2}", "{\"\\u00e9\":1,\"\xc3\xa9\":2}", "{\"\\n\":1,\"\\u000a\":2}", "{\"\":1,\"\":2}",
        "{\"\\u0000\":1,\"\\u0000\":2}", "{\"\\\"x\":1,\"\\\"x\":2}", "{\"a\\\\\":1,\"a\\\\\":2}", "{\"a\":{\"b\":1,\"b\":2}}",
        "{\"a\":[{\"x\":1},{\"x\":1,\"x\":2}]}", "{\"a\":[[1,[{\"y\":1,\"y\":2}]]]}", "{\"a\\n\":{\"b\":{\"c\":1,\"c\":2}}}",
        "{\"a\":{\"x\":1},\"b\":{\"x\":2}}", "{\"a\":1,\"A\":2}", "{\"a\":1,\"a \":2}", "{\"a\":1,\"a\":2", "{\"a\":1,\"a\"",
        "{\"a\":1,\"a", "{\"a\":{},\"a\":[]}", "{\"x\":{\"a\":1},\"x\":{\"a\":1,\"a\":2}}", "{\"a.b\":{\"c[0]\":1,\"c[0]\":1}}",
        "[[{\"k\":1}],[{},{\"k\":1,\"k\":1}]]", "{\"a\":[1,2,{\"b\":[3,{\"c\":{\"d\":1,\"d\":2}}]}]}",
    };
    // Many names: the hashed path, with the duplicate before, at and after the switch.
    for (const int n : {15, 16, 17, 31, 32, 33, 40, 1000}) {
        std::string wide = "{";
        for (int i = 0; i < n; ++i) wide += "\"k" + std::to_string(i) + "\":" + std::to_string(i) + ",";
        t.push_back(wide + "\"end\":0}");
        for (const int dup : {0, n / 2, n - 1}) t.push_back(wide + "\"k" + std::to_string(dup) + "\":0}");
        t.push_back(wide + "\"\\u006b" + std::to_string(n - 1) + "\":0}");
        t.push_back("{\"outer\":[0," + wide + "\"inner\":{\"x\":1,\"x\":2}}]}");
    }
    // The overflow threshold itself (2^1024 - 2^970), and its neighbours.
    const std::string limit =  // 2^1024 - 2^970, halfway between DBL_MAX and 2^1024
        "17976931348623158079372897140530341507993413271003782693617377898044496829276475094664901797758720709633028641669"
        "28879109465555478519404026306574886715058206819089020007083836762738548458177115317644757302700698555713669596228"
        "42914819860834936475292719074168444365510704342711559699508093042880177904174497792";
    std::string below = limit;
    below.back() = '1';
    for (const std::string& digits : {limit, below, limit + ".0", limit + ".0000001", below + ".9999999999", limit + "1",
                                      below + "99999", "1" + limit, limit.substr(0, 17), limit.substr(0, 17) + "e292"})
        for (const std::string sign : {"", "-"}) t.push_back("{\"n\":" + sign + digits + "}");
    t.push_back("{\"n\":0." + limit + "e309}");
    t.push_back("{\"n\":0.0" + below + "e310}");
    t.push_back("{\"n\":0.0" + limit + "e310}");
    t.push_back("{\"n\":" + limit.substr(0, 1) + "." + limit.substr(1) + "e308}");
    t.push_back("{\"n\":" + below.substr(0, 1) + "." + below.substr(1) + "e308}");
    t.push_back("{\"n\":" + limit + "e-1}");
    t.push_back("{\"n\":" + limit + "0e-1}");
    t.push_back("{\"n\":1" + std::string(308, '0') + "}");
    t.push_back("{\"n\":1" + std::string(309, '0') + "}");
    t.push_back("{\"n\":9" + std::string(307, '9') + "}");
    t.push_back("{\"n\":0." + std::string(400, '0') + "1e400}");
    t.push_back("{\"n\":0." + std::string(1000, '0') + "1e-400}");
    t.push_back("{\"n\":1" + std::string(1000, '0') + "e-700}");
    t.push_back("{\"n\":1" + std::string(1000, '0') + "e-692}");
    t.push_back("{\"n\":1" + std::string(1000, '0') + "e-691}");
    // Deep nesting, closed and not.
    t.push_back("{\"a\":" + std::string(200, '[') + std::string(200, ']') + "}");
    t.push_back("{\"a\":" + std::string(200, '[') + std::string(199, ']') + "}");
    std::string deep_objects = "{";
    for (int i = 0; i < 100; ++i) deep_objects += "\"k\":{";
    t.push_back(deep_objects + std::string(101, '}'));
    t.push_back(deep_objects + "\"d\":1,\"d\":2" + std::string(101, '}'));
    // Long strings: the eight-at-a-time scan meets each special byte at each offset.
    for (std::size_t offset = 0; offset < 17; ++offset)
        for (const char* special : {"\"", "\\n", "\\", "\x01", "\xc3\xa9", "\xc3", "\xff", "\x7f"})
            t.push_back("{\"s\":\"" + std::string(offset, 'x') + special + std::string(9, 'y') + "\"}");
    return t;
}

// A deterministic mutator: byte flips, insertions of JSON's special bytes, deletions, splices.
std::string mutate(std::string text, std::mt19937& rng, const std::vector<std::string>& pool) {
    static constexpr std::string_view interesting = "{}[]\":,\\/u0123456789.eE+-tfnl \t\n\x01\x1f\x7f\x80\xbf\xc2\xdf\xe0\xed\xef\xf0\xf4\xff";
    const int edits = std::uniform_int_distribution<int>(1, 4)(rng);
    for (int i = 0; i < edits; ++i) {
        const std::size_t at = text.empty() ? 0 : std::uniform_int_distribution<std::size_t>(0, text.size() - 1)(rng);
        const char c = interesting[std::uniform_int_distribution<std::size_t>(0, interesting.size() - 1)(rng)];
        switch (std::uniform_int_distribution<int>(0, 5)(rng)) {
            case 0:
                if (!text.empty()) text[at] = c;
                break;
            case 1: text.insert(text.begin() + static_cast<std::ptrdiff_t>(std::min(at, text.size())), c); break;
            case 2:
                if (!text.empty()) text.erase(at, std::uniform_int_distribution<std::size_t>(1, 3)(rng));
                break;
            case 3:
                if (!text.empty()) text[at] = static_cast<char>(text[at] ^ (1 << std::uniform_int_distribution<int>(0, 7)(rng)));
                break;
            case 4: {
                const auto& other = pool[std::uniform_int_distribution<std::size_t>(0, pool.size() - 1)(rng)];
                const std::size_t from = other.empty() ? 0 : std::uniform_int_distribution<std::size_t>(0, other.size() - 1)(rng);
                text.insert(std::min(at, text.size()), other.substr(from, std::uniform_int_distribution<std::size_t>(1, 12)(rng)));
                break;
            }
            default: text.resize(at); break;
        }
    }
    return text;
}

}  // namespace

TEST_CASE("well-formed objects are accepted") {
    for (const char* text : {"{}", " {}\n", "{\"transactionId\":\"tx-1\",\"customerId\":\"c-42\",\"total\":125.5}",
                             "{\"a\":[1,-2.5e-3,true,false,null,\"s\",{},[]],\"b\":{\"c\":{\"d\":[{}]}}}",
                             "{\"\\u00e9t\\u00e9\":\"\xc3\xa9t\xc3\xa9 \xf0\x9f\x98\x80 \\ud83d\\ude00\"}",
                             "{\"big\":123456789012345678901234567890,\"tiny\":1e-400,\"neg\":-0.0}"})
        CHECK_MESSAGE(accepted(text), text);
}

TEST_CASE("every problem kind, with the message each names") {
    CHECK(kind_of("\xef\xbb\xbf{}") == kind::byte_order_mark);
    CHECK(message_of("\xef\xbb\xbf{}") == "starts with a byte-order mark: send the JSON text without one");
    CHECK(kind_of(std::string("{\"a\":1}\0x", 9)) == kind::nul_byte);
    CHECK(message_of(std::string("{\"a\":\0}", 7)) ==
          "contains a NUL byte at offset 5: JSON text cannot hold one (inside a string, escape it as \\u0000)");
    CHECK(kind_of(std::string("{\"a\":1e400,\0", 12)) == kind::nul_byte);  // a NUL wins over another problem
    CHECK(kind_of(std::string("\xef\xbb\xbf\0", 4)) == kind::byte_order_mark);  // and a byte-order mark over a NUL

    CHECK(message_of("{\"a\": 1} trailing") ==
          "is not valid JSON (at byte 12, near \"1} tra\"): send a JSON object such as {\"orderId\": \"42\"}");
    CHECK(message_of("{\"a\": tru}") ==
          "is not valid JSON (at byte 10, near \"\"a\": tru}\"): send a JSON object such as {\"orderId\": \"42\"}");
    CHECK(message_of("{\"a\":\"x\x01\"}") ==
          "is not valid JSON (at byte 8, near \"\"x<U+0001>\"): send a JSON object such as {\"orderId\": \"42\"}");
    CHECK(message_of("") == "is not valid JSON (at byte 1, near \"\"): send a JSON object such as {\"orderId\": \"42\"}");

    for (const auto& [text, got] : std::vector<std::pair<std::string, std::string>>{
             {"[1]", "array"}, {" \"s\"", "string"}, {"true", "boolean"}, {"false", "boolean"}, {"null", "null"},
             {"-1", "number"}, {"0.5", "number"}}) {
        CHECK(kind_of(text) == kind::not_an_object);
        CHECK(message_of(text) == "must be a JSON object, got " + got);
    }

    CHECK(message_of("{\"total\": 1e400}") ==
          "has a number outside the range of a double (1e400) at byte 15: send it as a string, or within ±1.8e308");
    CHECK(message_of("{\"a\":{\"b\":[0,{\"c\":-2E+999}]}}").starts_with("has a number outside the range of a double (-2E+999) at byte 25"));

    CHECK(message_of("{\"a\":{\"b\":1,\"b\":2}}") ==
          "has the member \"b\" twice in one object (at $.a.b): rules and handlers could read different values, so send each "
          "member once");
    CHECK(message_of("{\"a\":[{\"x\":1},{\"x\":1,\"x\":2}]}").find("(at $.a[1].x)") != std::string::npos);
    CHECK(message_of("{\"a\":[[0,[{\"y\":1,\"y\":2}]]]}").find("(at $.a[0][1][0].y)") != std::string::npos);
}

TEST_CASE("names are compared after unescaping and shown escaped when they hold control characters") {
    CHECK(kind_of("{\"a\":1,\"\\u0061\":2}") == kind::duplicate_member);
    CHECK(kind_of("{\"\\u00e9\":1,\"\xc3\xa9\":2}") == kind::duplicate_member);
    CHECK(kind_of("{\"\\ud83d\\ude00\":1,\"\xf0\x9f\x98\x80\":2}") == kind::duplicate_member);
    CHECK(kind_of("{\"a/b\":1,\"a\\/b\":2}") == kind::duplicate_member);
    CHECK(accepted("{\"a\":1,\"A\":2,\"a \":3,\"\\u0062\":4}"));
    const auto shown = message_of("{\"p\\n\":{\"\\u0000\\t\\u001f\\\"\":1,\"\\u0000\\t\\u001f\\\"\":2}}");
    CHECK(shown.find('\0') == std::string::npos);
    CHECK(shown.find(R"(has the member "\u0000\t\u001f\"" twice in one object (at $."p\n"."\u0000\t\u001f\""))") !=
          std::string::npos);
    CHECK(message_of("{\"\":1,\"\":2}").starts_with("has the member \"\" twice in one object (at $.)"));
}

TEST_CASE("strings: escapes, surrogates and UTF-8 as nlohmann reads them") {
    CHECK(accepted("{\"a\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u0041\\uFFFF\\ud7ff\\ue000\"}"));
    CHECK(accepted("{\"a\":\"\\udbff\\udfff\\ud800\\udc00\"}"));
    for (const char* bad : {"{\"a\":\"\\a\"}", "{\"a\":\"\\u12g4\"}", "{\"a\":\"\\ud800\"}", "{\"a\":\"\\ud800\\u0041\"}",
                            "{\"a\":\"\\udc00\"}", "{\"a\":\"\\ud800\\ud800\"}", "{\"a\":\"\t\"}", "{\"a\":\"\x1f\"}"})
        CHECK_MESSAGE(kind_of(bad) == kind::malformed, bad);
    CHECK(accepted("{\"a\":\"\x7f\"}"));  // DEL is not a control character to JSON
    // The boundaries of each UTF-8 row (Unicode's table 3-7).
    for (const char* good : {"\xc2\x80", "\xdf\xbf", "\xe0\xa0\x80", "\xe0\xbf\xbf", "\xe1\x80\x80", "\xec\xbf\xbf", "\xed\x80\x80",
                             "\xed\x9f\xbf", "\xee\x80\x80", "\xef\xbf\xbf", "\xf0\x90\x80\x80", "\xf0\xbf\xbf\xbf",
                             "\xf1\x80\x80\x80", "\xf3\xbf\xbf\xbf", "\xf4\x80\x80\x80", "\xf4\x8f\xbf\xbf"})
        CHECK_MESSAGE(accepted(std::string("{\"a\":\"") + good + "\"}"), good);
    for (const char* bad : {"\x80", "\xbf", "\xc0\x80", "\xc1\xbf", "\xc2\x7f", "\xc2\xc0", "\xe0\x9f\xbf", "\xed\xa0\x80",
                            "\xed\xbf\xbf", "\xef\xbf", "\xf0\x8f\xbf\xbf", "\xf4\x90\x80\x80", "\xf5\x80\x80\x80", "\xf8", "\xff",
                            "\xf0\x9f\x98"})
        CHECK_MESSAGE(kind_of(std::string("{\"a\":\"") + bad + "\"}") == kind::malformed, bad);
}

TEST_CASE("numbers: JSON's grammar, and a double's range") {
    for (const char* good : {"0", "-0", "1.5", "-0.0", "1e5", "1E+5", "1e-5", "123456789012345678901234567890", "1e-400",
                             "-1e-400", "1.7976931348623157e308", "0e999999", "0.0000001e314"})
        CHECK_MESSAGE(accepted(std::string("{\"n\":") + good + "}"), good);
    for (const char* bad : {"01", "-01", "+1", ".5", "1.", "1.e5", "1e", "1e+", "-", "--1", "0x10", "1.5.5", "NaN"})
        CHECK_MESSAGE(kind_of(std::string("{\"n\":") + bad + "}") == kind::malformed, bad);
    for (const char* huge : {"1e400", "-1e400", "1e309", "1.7976931348623159e308", "-1.8e308", "1e99999999999999999999999"})
        CHECK_MESSAGE(kind_of(std::string("{\"n\":") + huge + "}") == kind::number_out_of_range, huge);
    CHECK(accepted("{\"n\":1" + std::string(308, '0') + "}"));                                 // 1e308
    CHECK(kind_of("{\"n\":1" + std::string(309, '0') + "}") == kind::number_out_of_range);    // 1e309
    CHECK(accepted("{\"n\":1" + std::string(1000, '0') + "e-700}"));                           // 1e300
}

TEST_CASE("deep nesting is validated without recursion") {
    const std::size_t depth = 1'000'000;  // far beyond what a recursive parser's stack survives
    std::string deep = "{\"a\":" + std::string(depth, '[') + std::string(depth, ']') + "}";
    CHECK(accepted(deep));
    deep.pop_back();
    CHECK(kind_of(deep) == kind::malformed);
    std::string objects;
    for (int i = 0; i < 100000; ++i) objects += "{\"k\":";
    objects += "{\"d\":1,\"d\":2}";
    objects += std::string(100000, '}');
    const auto message = message_of(objects);
    CHECK(message.starts_with("has the member \"d\" twice"));
    CHECK(message.find("(at $.k.k.k.k.") != std::string::npos);
}

TEST_CASE("the new check agrees with the old one on a table of tricky inputs, messages included") {
    for (const auto& text : tricky_inputs()) agrees(text, true);
}

TEST_CASE("the new check agrees with the old one on the fuzz corpora and the benchmark data") {
    const auto root = repo_root();
    REQUIRE_MESSAGE(std::filesystem::is_directory(root / "fuzz" / "corpus"), root.string());
    std::size_t inputs = 0;
    for (const char* dir : {"fuzz/corpus", "fuzz/regressions"})
        for (const auto& entry : std::filesystem::recursive_directory_iterator(root / dir)) {
            if (!entry.is_regular_file()) continue;
            const auto text = read_file(entry.path());
            agrees(text, true);
            // fuzz_put_events' fields (separated by 0x1E and 0x1F), and every line.
            for (const auto& part : split(text, "\x1e\x1f\n")) agrees(part, true);
            inputs += 1;
        }
    // JSON data: the benchmark set, the CLI's test data (whole files and each line).
    for (const char* dir : {"benchmarks/data", "tools/switchyard/testdata"})
        for (const auto& entry : std::filesystem::recursive_directory_iterator(root / dir)) {
            const auto extension = entry.path().extension();
            if (!entry.is_regular_file() || (extension != ".json" && extension != ".jsonl")) continue;
            const auto text = read_file(entry.path());
            agrees(text, true);
            for (const auto& line : split(text, "\n")) agrees(line, true);
            inputs += 1;
        }
    CHECK(inputs > 100);
}

TEST_CASE("the new check agrees with the old one on random mutations (same acceptance and kind)") {
    auto pool = tricky_inputs();
    for (const auto& line : split(read_file(repo_root() / "benchmarks" / "data" / "citylots2-sample.jsonl"), "\n"))
        if (pool.size() < 400 && !line.empty()) pool.push_back(line.substr(0, 300));
    std::mt19937 rng(20261201);
    std::size_t disagreements = 0;
    for (int i = 0; i < random_rounds(200000) && disagreements < 10; ++i) {
        const auto& seed = pool[std::uniform_int_distribution<std::size_t>(0, pool.size() - 1)(rng)];
        if (!agrees(mutate(seed, rng, pool), true)) ++disagreements;
    }
    CHECK(disagreements == 0);
}
