// libFuzzer target: bytes decoded into up to ten put_events entries, published on a bus with a
// few rules. Checks PutEvents' accounting: every failed entry has a code and a message, every
// accepted entry reaches each rule that must match it exactly once, as valid JSON that carries
// what was published, and a well-formed entry is never refused.
//
// Input: entries separated by 0x1E; an entry's fields separated by 0x1F, in the order source,
// detail-type, detail, time, resources (resources separated by ','). NUL bytes are data.
//
// Also differential: the hand-written validator behind check_json_object (every detail goes
// through it) must agree with the nlohmann-based check it replaced (json_check_oracle.hpp) on the
// whole input read as one detail and on every entry's detail: same acceptance, same problem
// kind, same message (but for where a malformed text's message says it went wrong). It is compiled into this file (json_validator.hpp) for the fuzzer's
// coverage feedback; the library's copy is the same code.
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include <nlohmann/json.hpp>

#include "switchyard/bus.hpp"
#include "switchyard/detail/json_object_check.hpp"
#include "switchyard/detail/json_validator.hpp"  // inline here, so coverage instrumentation sees it

#include "fuzz_support.hpp"
#include "json_check_oracle.hpp"

namespace {

using switchyard_fuzz::check;
using json = nlohmann::json;

struct delivery_record {
    std::string rule;
    std::string text;  // what the handler received
};

std::mutex received_mutex;
std::vector<delivery_record> received;

switchyard::target collector(const char* id) {
    return switchyard::json_handler(id, [](std::string_view text, const switchyard::delivery_info& info) {
        std::lock_guard lock(received_mutex);
        received.push_back({std::string(info.rule), std::string(text)});
    });
}

// One bus for the whole run (building one per input would dominate the time); each input
// drains it before checking, so nothing carries over.
switchyard::bus& the_bus() {
    static switchyard::bus* b = [] {
        switchyard::bus_options options;
        options.latency_sample_every = 1;  // exercise the timing path too
        auto* made = new switchyard::bus("fuzz", options);
        // Rules whose expected deliveries this harness can compute exactly...
        made->add_rule({.name = "all", .pattern = R"({"source": [{"prefix": ""}]})", .targets = {collector("t")}});
        made->add_rule({.name = "type-a", .pattern = R"({"detail-type": ["a"]})", .targets = {collector("t")}});
        made->add_rule({.name = "res-r1", .pattern = R"({"resources": ["r1"]})", .targets = {collector("t")}});
        // ...and rules that read the detail, whose deliveries are checked for well-formedness.
        made->add_rule({.name = "detail",
                        .pattern = R"({"detail": {"$or": [{"k": [{"exists": true}]}, {"n": [{"numeric": [">", 0]}]},
                                                           {"s": [{"wildcard": "*x*"}]}, {"o": {"p": [{"anything-but": "q"}]}}]}})",
                        .targets = {collector("t")}});
        made->add_rule({.name = "shaped",
                        .pattern = R"({"source": [{"prefix": ""}]})",
                        .targets = {collector("t").with_input(switchyard::input_transformer{
                            {{"s", "$.source"}, {"d", "$.detail"}, {"r", "$.resources"}}, R"({"s": <s>, "d": <d>, "r": <r>, "q": "<s>"})"})}});
        return made;
    }();
    return *b;
}

std::vector<switchyard::put_events_entry> decode(std::string_view input) {
    std::vector<switchyard::put_events_entry> entries;
    for (const auto record : switchyard_fuzz::split(input, '\x1e')) {
        if (entries.size() == 10) break;  // bus_options::max_batch_entries
        const auto fields = switchyard_fuzz::split(record, '\x1f');
        switchyard::put_events_entry e;
        e.source = std::string(fields[0]);
        if (fields.size() > 1) e.detail_type = std::string(fields[1]);
        e.detail = fields.size() > 2 ? std::string(fields[2]) : std::string("{}");
        if (fields.size() > 3) e.time = std::string(fields[3]);
        if (fields.size() > 4)
            for (const auto r : switchyard_fuzz::split(fields[4], ',')) e.resources.emplace_back(r);
        entries.push_back(std::move(e));
    }
    return entries;
}

// Whether the bus must accept `e`: everything it validates is well-formed (a time is left out
// of this: the harness does not re-implement RFC 3339).
bool well_formed(const switchyard::put_events_entry& e) {
    if (e.source.empty() || e.detail_type.empty() || !e.time.empty()) return false;
    for (const auto& r : e.resources)
        if (r.empty()) return false;
    if (!switchyard_fuzz::strictly_json(e.detail) || switchyard_fuzz::has_duplicate_member(e.detail)) return false;
    const auto parsed = json::parse(e.detail, nullptr, false);
    return parsed.is_object() && switchyard_fuzz::depth_of(parsed) <= 100;
}

// What a string field looks like once the bus has written it as JSON: invalid UTF-8 becomes
// U+FFFD (the bus serialises with nlohmann's `replace` handler rather than refuse the entry).
json as_written(const json& value) {
    return json::parse(value.dump(-1, ' ', false, json::error_handler_t::replace));
}

// publish_result::error_code as text, whether it is the code's name (a string) or an enum with
// a to_string found by argument-dependent lookup.
template <class Code> std::string code_text(const Code& code) {
    if constexpr (std::is_convertible_v<const Code&, std::string_view>) return std::string(std::string_view(code));
    else return std::string(to_string(code));
}

std::string describe(const std::optional<switchyard::detail::json_problem>& p) {
    return p ? std::to_string(static_cast<int>(p->what)) + ": " + p->message : std::string("accepted");
}

void check_validator_agrees(std::string_view text) {
    const auto got = switchyard::detail::json_validation::validate(text);
    const auto want = switchyard_oracle::oracle_check_json_object(text);
    // Messages must match too, except a malformed text's byte and "near" text, which may differ
    // slightly by design (tests/detail/json_validate_test.cpp holds them to nlohmann's where it can).
    using kind = switchyard::detail::json_problem::kind;
    if (got.has_value() == want.has_value() &&
        (!got || (got->what == want->what && (got->what == kind::malformed || got->message == want->message))))
        return;
    const std::string what = json(std::string(text)).dump(-1, ' ', true, json::error_handler_t::replace) + "\n  new: " +
                             describe(got) + "\n  old: " + describe(want);
    check(got.has_value() == want.has_value(), "check_json_object and the old check disagree on acceptance", what);
    check(got->what == want->what, "check_json_object and the old check disagree on the problem's kind", what);
    switchyard_fuzz::fail("check_json_object and the old check disagree on the message", what);
}

bool has_resource(const switchyard::put_events_entry& e, std::string_view r) {
    for (const auto& x : e.resources)
        if (x == r) return true;
    return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    check_validator_agrees(input);
    const auto entries = decode(input);
    for (const auto& e : entries) check_validator_agrees(e.detail);
    auto& b = the_bus();
    {
        std::lock_guard lock(received_mutex);
        received.clear();
    }
    const auto result = b.put_events(entries);
    b.drain();
    std::vector<delivery_record> got;
    {
        std::lock_guard lock(received_mutex);
        got.swap(received);
    }

    check(result.entries.size() == entries.size(), "one result per entry");
    std::size_t failed = 0;
    std::map<std::string, std::size_t> by_id;  // event id -> entry index
    for (std::size_t i = 0; i < entries.size(); ++i) {
        const auto& r = result.entries[i];
        if (!r.ok()) {
            ++failed;
            const std::string code = code_text(r.error_code);
            check(!code.empty(), "a failed entry has no error code", r.error_message);
            check(!r.error_message.empty(), "a failed entry has no error message", code);
            check(r.event_id.empty(), "a failed entry has an event id", code);
            check(!well_formed(entries[i]), "a well-formed entry was refused", code + ": " + r.error_message);
            continue;
        }
        check(!r.event_id.empty(), "an accepted entry has no event id");
        check(by_id.emplace(r.event_id, i).second, "two entries got the same event id", r.event_id);
        // The contract: an accepted detail is a JSON object (MalformedDetail otherwise).
        check(switchyard_fuzz::strictly_json(entries[i].detail), "an entry whose detail is not JSON was accepted",
              entries[i].detail);
    }
    check(result.failed_entry_count == failed, "failed_entry_count disagrees with the entries");

    // rule -> entry -> deliveries
    std::map<std::string, std::map<std::size_t, int>> count;
    for (const auto& d : got) {
        check(switchyard_fuzz::strictly_json(d.text), "a handler received text that is not JSON", d.text);
        const json j = json::parse(d.text);
        if (d.rule == "shaped") {
            check(j.is_object() && j.contains("s") && j["s"].is_string() && j["q"] == j["s"], "transformed payload lost its shape",
                  d.text);
            bool found = false;
            for (const auto& [id, i] : by_id)
                if (as_written(entries[i].source) == j["s"] && json::parse(entries[i].detail) == j["d"]) found = true;
            check(found, "a transformed payload matches no accepted entry", d.text);
            ++count[d.rule][0];
            continue;
        }
        check(j.is_object() && j.contains("id") && j["id"].is_string(), "a delivered event has no id", d.text);
        const auto it = by_id.find(j["id"].get<std::string>());
        check(it != by_id.end(), "a delivered event is not one of the accepted entries", d.text);
        const auto& e = entries[it->second];
        check(j["source"] == as_written(e.source) && j["detail-type"] == as_written(e.detail_type),
              "a delivered event's envelope differs", d.text);
        check(j["resources"] == as_written(e.resources), "a delivered event's resources differ", d.text);
        check(j["detail"] == json::parse(e.detail), "a delivered event's detail differs from the published one", d.text);
        ++count[d.rule][it->second];
    }
    for (const auto& [id, i] : by_id) {
        const auto& e = entries[i];
        check(count["all"][i] == 1, "an accepted entry did not reach the catch-all rule exactly once", id);
        check(count["type-a"][i] == (e.detail_type == "a" ? 1 : 0), "the detail-type rule's deliveries are wrong", id);
        check(count["res-r1"][i] == (has_resource(e, "r1") ? 1 : 0), "the resources rule's deliveries are wrong", id);
        check(count["detail"][i] <= 1, "an event reached one rule twice", id);
    }
    check(count["shaped"][0] == by_id.size(), "the transformed target did not get each accepted entry once");
    return 0;
}
