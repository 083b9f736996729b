// libFuzzer target: a pattern and an event, separated by the first NUL byte. The pattern is
// compiled, then the event is matched by every route the library offers, which must agree: the
// skipping JSON scanner (match_json) on raw and canonical text, a JSON-text event and a typed
// (nlohmann DOM) event through flatten()/match(), and the same pattern under two rule ids.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "switchyard/event.hpp"
#include "switchyard/pattern/flatten.hpp"
#include "switchyard/pattern/matcher.hpp"
#include "switchyard/pattern/pattern.hpp"

#include "fuzz_support.hpp"

namespace {

namespace sp = switchyard::pattern;
using switchyard_fuzz::check;

// Rule ids: the fuzzed pattern twice, plus a fixed rule that only shares the trie with it.
constexpr sp::rule_id fuzzed = 1;
constexpr sp::rule_id twin = 7;
constexpr sp::rule_id neighbour = 3;

bool has(const std::vector<sp::rule_id>& ids, sp::rule_id id) {
    for (const auto x : ids)
        if (x == id) return true;
    return false;
}

std::string ids_text(const std::vector<sp::rule_id>& ids) {
    std::string out;
    for (const auto x : ids) out += std::to_string(x) + " ";
    return out;
}

struct routes {
    bool json_ok = false;
    std::vector<sp::rule_id> ids;
};

routes match_text(const sp::matcher& m, std::string_view text) {
    thread_local sp::flat_event scratch;  // reused like a publisher thread reuses it
    routes r;
    r.json_ok = m.match_json(text, scratch, r.ids);
    check(std::is_sorted(r.ids.begin(), r.ids.end()) && std::adjacent_find(r.ids.begin(), r.ids.end()) == r.ids.end(),
          "match_json ids are not ascending and unique", ids_text(r.ids));
    return r;
}

// True when some object in `text` (valid JSON) names a key twice.
bool has_duplicate_keys(std::string_view text) {
    std::vector<std::size_t> keys_seen;
    bool duplicate = false;
    using json = nlohmann::json;
    (void)json::parse(text, [&](int, json::parse_event_t ev, json& parsed) {
        switch (ev) {
            case json::parse_event_t::object_start: keys_seen.push_back(0); break;
            case json::parse_event_t::key: ++keys_seen.back(); break;
            case json::parse_event_t::object_end:
                if (parsed.size() != keys_seen.back()) duplicate = true;
                keys_seen.pop_back();
                break;
            default: break;
        }
        return true;
    });
    return duplicate;
}

std::vector<sp::rule_id> match_event(const sp::matcher& m, const switchyard::any_event& e) {
    sp::flat_event scratch;
    std::vector<sp::rule_id> ids;
    switchyard::match(m, e, scratch, ids);
    return ids;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    const auto nul = input.find('\0');
    const std::string_view pattern_text = input.substr(0, nul);
    const std::string_view event_text = nul == std::string_view::npos ? std::string_view("{}") : input.substr(nul + 1);

    sp::compiled_pattern pattern;
    try {
        pattern = sp::compile(pattern_text);
    } catch (const switchyard::pattern_error&) {
        return 0;
    }

    const sp::matcher one = sp::matcher{}.with(fuzzed, pattern);
    const sp::matcher two = one.with(neighbour, sp::compile(R"({"zz": {"q": ["x"]}, "a": [{"prefix": "p"}]})"))
                                .with(twin, pattern)
                                .without(neighbour);
    check(two.size() == 2, "matcher size after with/with/without");

    // The scanner on the raw text: deterministic, and rule 1 alone agrees with rules 1 and 7.
    const routes raw = match_text(one, event_text);
    const routes again = match_text(one, event_text);
    check(raw.json_ok == again.json_ok && raw.ids == again.ids, "match_json gave two answers for one event",
          ids_text(raw.ids) + "| " + ids_text(again.ids));
    check(raw.ids.empty() || raw.ids == std::vector<sp::rule_id>{fuzzed}, "match_json reported a rule not in the matcher",
          ids_text(raw.ids));
    const routes both = match_text(two, event_text);
    check(both.json_ok == raw.json_ok, "match_json validity depends on the rules");
    check(has(both.ids, fuzzed) == has(raw.ids, fuzzed), "adding rules changed whether rule 1 matches",
          ids_text(raw.ids) + "| " + ids_text(both.ids));
    check(has(both.ids, fuzzed) == has(both.ids, twin), "one pattern under two ids matched differently", ids_text(both.ids));

    // The cross-checks below need a well-formed JSON object (duplicate keys and other oddities
    // of raw text are left to the scanner alone above).
    if (!switchyard_fuzz::strictly_json(event_text)) return 0;
    const auto dom = nlohmann::json::parse(event_text, nullptr, false);
    if (!dom.is_object()) return 0;
    // The scanner refuses nesting beyond max_event_nesting (the bus refuses far less, 100 by
    // default); anything shallower that is valid JSON must be read.
    if (switchyard_fuzz::depth_of(dom) > 100) return 0;
    check(raw.json_ok, "match_json refused valid JSON", event_text);
    const std::string canonical = dom.dump();
    const routes canon = match_text(one, canonical);
    check(canon.json_ok, "match_json refused nlohmann's own output", canonical);
    // Raw and canonical text differ only in spelling (whitespace, escapes, number forms) unless
    // a key repeats, which dump() collapses: then they may rightly match differently.
    if (!has_duplicate_keys(event_text))
        check(canon.ids == raw.ids, "raw and canonical spellings of one event matched differently",
              ids_text(raw.ids) + "| " + ids_text(canon.ids) + "| " + canonical);

    // As an event's detail: a JSON-text event (flattened through the scanner), a typed DOM event
    // (flattened through the value_sink walk), and the whole event's text through match_json must
    // all agree. The pattern's top level now sees the envelope.
    switchyard::envelope meta;
    meta.id = "6a7e8feb-b491-4cf7-a9f1-bf3703467718";
    meta.detail_type = "OrderPlaced";
    meta.source = "com.example.orders";
    meta.account = "123456789012";
    meta.time = "2026-11-30T12:00:00Z";
    meta.region = "us-east-1";
    meta.resources = {"arn:aws:s3:::bucket", "r1"};
    const auto text_event = switchyard::make_json_event(meta, canonical);
    switchyard::event<nlohmann::json> typed;
    static_cast<switchyard::envelope&>(typed) = meta;
    typed.detail = dom;
    const auto typed_event = switchyard::make_event(std::move(typed));

    const auto via_text = match_event(one, *text_event);
    const auto via_typed = match_event(one, *typed_event);
    const routes via_whole = match_text(one, text_event->json());
    check(via_whole.json_ok, "match_json refused an event's own JSON", text_event->json());
    check(via_text == via_typed, "JSON-text and typed events matched differently",
          ids_text(via_text) + "| " + ids_text(via_typed) + "| " + canonical);
    check(via_text == via_whole.ids, "flatten() and match_json on the whole event matched differently",
          ids_text(via_text) + "| " + ids_text(via_whole.ids) + "| " + text_event->json());
    const auto twin_text = match_event(two, *text_event);
    check(has(twin_text, fuzzed) == has(via_text, fuzzed) && has(twin_text, fuzzed) == has(twin_text, twin),
          "one pattern under two ids matched an event differently", ids_text(twin_text));
    return 0;
}
