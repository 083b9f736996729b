#include <doctest/doctest.h>

#include <map>
#include <optional>
#include <sstream>

#include "test_support.hpp"

using namespace switchyard;
using test_types::CreditCardTransaction;

namespace {

// Renders what a value_sink receives as compact JSON-like text, to compare streams.
class recording_sink final : public value_sink {
public:
    explicit recording_sink(std::string skip = {}) : skip_(std::move(skip)) {}
    std::string text;
    void begin_object() override { text += '{'; }
    bool key(std::string_view name) override {
        if (name == skip_) return false;
        text += std::string(name) + ':';
        return true;
    }
    void end_object() override { text += '}'; }
    void begin_array() override { text += '['; }
    void end_array() override { text += ']'; }
    void string(std::string_view v) override { text += '"' + std::string(v) + "\" "; }
    void number(double v, std::string_view) override {
        std::ostringstream out;
        out << v;
        text += out.str() + ' ';
    }
    void boolean(bool v) override { text += v ? "true " : "false "; }
    void null() override { text += "null "; }

private:
    std::string skip_;
};

// nlohmann's json sorts keys; the typed visitor follows declaration order, so the text is spelled out.
const char* const in_declaration_order =
    R"({"transactionId":"t1","customerId":"c1","total":12.5,"card":{"brand":"VISA","last4":"0034"},"tags":["a","b"]})";

struct Nested {
    std::map<std::string, bool> flags;
    nlohmann::json extra;
};
SWITCHYARD_FIELDS(Nested, flags, extra)

}  // namespace

static_assert(event_type<CreditCardTransaction>);
static_assert(!event_type<test_types::Card>);
static_assert(field_visitable<test_types::Card>);
static_assert(detail_type_of<CreditCardTransaction>() == "CREDIT_CARD_TRANSACTION");

TEST_CASE("visit_fields walks the declared fields in order, without JSON") {
    const CreditCardTransaction t{"t1", "c1", 12.5, {"VISA", "0034"}, {"a"}};
    std::vector<std::string> names;
    visit_fields(t, [&](std::string_view name, const auto&) { names.emplace_back(name); });
    CHECK(names == std::vector<std::string>{"transactionId", "customerId", "total", "card", "tags"});
}

TEST_CASE("a typed value and its JSON text stream the same fields") {
    const CreditCardTransaction t{"t1", "c1", 12.5, {"VISA", "0034"}, {"a", "b"}};
    recording_sink from_value, from_text;
    emit_value(from_value, t);
    CHECK(detail::emit_json_text(in_declaration_order, from_text));
    CHECK(from_value.text == R"({transactionId:"t1" customerId:"c1" total:12.5 card:{brand:"VISA" last4:"0034" }tags:["a" "b" ]})");
    CHECK(from_value.text == from_text.text);
}

TEST_CASE("a sink can skip members, in typed values and in JSON text alike") {
    const CreditCardTransaction t{"t1", "c1", 12.5, {"VISA", "0034"}, {"a", "b"}};
    recording_sink from_value("card"), from_text("card");
    emit_value(from_value, t);
    CHECK(detail::emit_json_text(in_declaration_order, from_text));
    CHECK(from_value.text.find("VISA") == std::string::npos);
    CHECK(from_value.text == from_text.text);
}

TEST_CASE("optionals, maps and arbitrary JSON members stream as JSON shapes") {
    Nested n{{{"x", true}}, nlohmann::json{{"k", {1, 2}}}};
    recording_sink sink;
    emit_value(sink, n);
    CHECK(sink.text == "{flags:{x:true }extra:{k:[1 2 ]}}");
    recording_sink empty, full;
    emit_value(empty, std::optional<int>{});
    emit_value(full, std::optional<int>{7});
    CHECK(empty.text == "null ");
    CHECK(full.text == "7 ");
}

TEST_CASE("malformed JSON text is reported, not streamed as if valid") {
    recording_sink sink;
    CHECK_FALSE(detail::emit_json_text(R"({"a": [1, 2})", sink));
    CHECK_FALSE(detail::emit_json_text("", sink));
}
