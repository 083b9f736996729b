// put_events with random and malformed input: no crash, no hang, no leak (ASan in CI); every
// entry gets exactly one result, well-formed ones are delivered, malformed ones fail with a code.
#include <doctest/doctest.h>

#include <algorithm>
#include <optional>
#include <random>
#include <vector>

#include "test_support.hpp"

using namespace switchyard;
using namespace std::chrono_literals;

namespace {

std::string random_text(std::mt19937& rng, std::size_t max_len) {
    static const std::string alphabet = "{}[]\":,0123456789.eE+-tfnulrsa \\/\x01\xff\xc3\xa9";
    std::uniform_int_distribution<std::size_t> len(0, max_len), pick(0, alphabet.size() - 1);
    std::string out(len(rng), ' ');
    for (auto& c : out) c = alphabet[pick(rng)];
    return out;
}

// A valid JSON object, then maybe damaged.
std::string random_detail(std::mt19937& rng) {
    nlohmann::json j = nlohmann::json::object();
    std::uniform_int_distribution<int> fields(0, 6), kind(0, 5);
    for (int i = fields(rng); i > 0; --i) {
        const std::string key = "k" + std::to_string(i);
        switch (kind(rng)) {
            case 0: j[key] = random_text(rng, 8); break;
            case 1: j[key] = std::uniform_real_distribution<double>(-1e300, 1e300)(rng); break;
            case 2: j[key] = nlohmann::json::array({1, "x", nullptr, true}); break;
            case 3: j[key] = nlohmann::json{{"nested", {{"deep", i}}}}; break;
            case 4: j[key] = nullptr; break;
            default: j[key] = i % 2 == 0; break;
        }
    }
    std::string text = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    switch (std::uniform_int_distribution<int>(0, 5)(rng)) {
        case 0: text = random_text(rng, 40); break;                              // garbage
        case 1: if (!text.empty()) text.resize(text.size() / 2); break;          // truncated
        case 2: text.insert(text.size() / 2, random_text(rng, 3)); break;         // corrupted
        default: break;                                                           // valid
    }
    return text;
}

}  // namespace

TEST_CASE("put_events survives random and malformed entries, one result each") {
    std::mt19937 rng(20261129);
    std::atomic<int> delivered{0};
    bus b{"fuzz", bus_options{.max_event_size = 512}};
    b.set_error_handler([](const delivery_failure&) {});
    b.add_rule({.name = "typed",
                .pattern = R"({"source": ["s"], "detail": {"k1": [{"exists": true}]}})",
                .targets = {handler<nlohmann::json>("any", [&](const auto&) { ++delivered; })
                                .with_input(input_transformer{{{"v", "$.detail.k1"}}, R"({"v": <v>, "s": "<v>"})"})}});
    b.add_rule({.name = "all", .pattern = R"({"source": ["s"]})", .targets = {json_handler("raw", [&](std::string_view j) {
                                                                              CHECK_FALSE(nlohmann::json::parse(j, nullptr, false).is_discarded());
                                                                          })}});
    std::size_t ok = 0, failed = 0;
    for (int round = 0; round < 1500; ++round) {
        std::vector<put_events_entry> batch(std::uniform_int_distribution<std::size_t>(1, 10)(rng));
        for (auto& e : batch) {
            e.source = rng() % 10 == 0 ? random_text(rng, 5) : "s";
            e.detail_type = rng() % 10 == 0 ? "" : "T";
            e.detail = random_detail(rng);
            if (rng() % 10 == 0) e.time = random_text(rng, 25);
            if (rng() % 10 == 0) e.resources = {random_text(rng, 4)};
        }
        const auto result = b.put_events(batch);
        REQUIRE(result.entries.size() == batch.size());
        std::size_t failures = 0;
        for (const auto& r : result.entries) {
            if (r.ok()) {
                CHECK(r.event_id.size() == 36);
                ++ok;
            } else {
                CHECK_FALSE(r.ok());
                CHECK_FALSE(r.error_message.empty());
                ++failures;
            }
        }
        CHECK(result.failed_entry_count == failures);
        failed += failures;
    }
    REQUIRE(b.drain(60s));
    CHECK(ok > 1000);
    CHECK(failed > 1000);
    MESSAGE("accepted " << ok << ", refused " << failed << ", typed deliveries " << delivered.load());
}

TEST_CASE("parse_event refuses random text with an error, never a crash") {
    std::mt19937 rng(7);
    int refused = 0;
    for (int i = 0; i < 3000; ++i) {
        try {
            (void)parse_event(random_text(rng, 60));
        } catch (const switchyard::error&) {
            ++refused;
        }
    }
    CHECK(refused > 2900);
}

namespace {

// A JSON string with escapes nlohmann may or may not write (\u escapes, \/, control characters).
std::string random_json_string(std::mt19937& rng) {
    static const std::vector<std::string> pieces = {"a", "Z", "9", " ", "-", ".", "\\\"", "\\\\", "\\/", "\\n", "\\t",
                                                    "\\u0041", "\\u00e9", "\\ud83d\\ude00", "\xc3\xa9", "{", "}", "[", "]", ",", ":"};
    std::uniform_int_distribution<std::size_t> len(0, 12), pick(0, pieces.size() - 1);
    std::string out = "\"";
    for (std::size_t i = len(rng); i > 0; --i) out += pieces[pick(rng)];
    return out + "\"";
}

std::string random_space(std::mt19937& rng) {
    static const char* spaces[] = {"", "", " ", "\n", "\t ", "\r\n  "};
    return spaces[std::uniform_int_distribution<int>(0, 5)(rng)];
}

// A random value of any kind, nested up to `depth`.
std::string random_object(std::mt19937& rng, int depth);

std::string random_value(std::mt19937& rng, int depth) {
    switch (std::uniform_int_distribution<int>(0, depth > 0 ? 6 : 4)(rng)) {
        case 0: return random_json_string(rng);
        case 1: return std::to_string(std::uniform_int_distribution<int>(-1000, 1000)(rng)) + ".5e1";
        case 2: return "true";
        case 3: return "null";
        case 4: return "-0";
        case 5: {
            std::string out = "[" + random_space(rng);
            for (int i = std::uniform_int_distribution<int>(0, 3)(rng); i > 0; --i)
                out += random_value(rng, depth - 1) + random_space(rng) + (i > 1 ? "," : "");
            return out + "]";
        }
        default: return random_object(rng, depth);
    }
}

std::string random_object(std::mt19937& rng, int depth) {
    std::string out = "{" + random_space(rng);
    for (int i = std::uniform_int_distribution<int>(0, 3)(rng); i > 0; --i)
        out += "\"m" + std::to_string(i) + "\"" + random_space(rng) + ":" + random_value(rng, depth - 1) + (i > 1 ? "," : "");
    return out + "}";
}

// Mostly what the field should hold (a string, an array of strings), sometimes anything.
std::string mostly(std::mt19937& rng, std::string usual) {
    return std::uniform_int_distribution<int>(0, 4)(rng) == 0 ? random_value(rng, 1) : usual;
}

}  // namespace

TEST_CASE("parse_event reads what nlohmann's DOM reads, for random well-formed events in any member order and spacing") {
    std::mt19937 rng(20261202);
    int accepted = 0, refused = 0;
    for (int round = 0; round < 3000; ++round) {
        std::vector<std::string> members = {"\"id\":" + random_json_string(rng), "\"detail-type\":" + random_json_string(rng),
                                            "\"source\":" + random_json_string(rng), "\"time\":" + random_json_string(rng),
                                            "\"detail\":" + mostly(rng, random_object(rng, 3))};
        std::uniform_int_distribution<int> coin(0, 3);
        if (coin(rng) == 0) members.push_back("\"account\":" + random_json_string(rng));
        if (coin(rng) == 0) members.push_back("\"region\":" + mostly(rng, random_json_string(rng)));
        if (coin(rng) == 0) members.push_back("\"resources\":" + mostly(rng, "[" + random_json_string(rng) + "," + random_json_string(rng) + "]"));
        if (coin(rng) == 0) members.push_back("\"replay-name\":" + mostly(rng, random_json_string(rng)));
        if (coin(rng) == 0) members.push_back("\"unknown\":" + random_value(rng, 2));
        if (coin(rng) == 0) members.push_back("\"\\u0076ersion\":" + random_json_string(rng));  // "version", escaped
        if (coin(rng) == 0) members.erase(members.begin() + std::uniform_int_distribution<int>(0, 4)(rng));  // one required gone
        std::shuffle(members.begin(), members.end(), rng);
        std::string text = random_space(rng) + "{";
        for (std::size_t i = 0; i < members.size(); ++i) text += (i ? "," : "") + random_space(rng) + members[i] + random_space(rng);
        text += "}" + random_space(rng);

        const auto dom = nlohmann::json::parse(text, nullptr, false);
        REQUIRE_MESSAGE(!dom.is_discarded(), text);
        std::optional<envelope> expected;
        try {
            envelope e;
            from_json(dom, e);
            const auto detail = dom.find("detail");
            if (detail != dom.end() && detail->is_object()) expected = e;
        } catch (const switchyard::error&) {
        }
        try {
            const auto e = parse_event(text);
            ++accepted;
            REQUIRE_MESSAGE(expected.has_value(), "accepted what the DOM refuses: " << text);
            CHECK_MESSAGE(e->meta() == *expected, text);
            CHECK_MESSAGE(nlohmann::json::parse(e->detail_json()) == dom["detail"], text);
            CHECK(nlohmann::json::parse(e->json())["detail"] == dom["detail"]);
        } catch (const switchyard::error& ex) {
            ++refused;
            CHECK_MESSAGE(!expected.has_value(), "refused what the DOM accepts: " << ex.what() << " in " << text);
        }
    }
    MESSAGE("accepted " << accepted << ", refused " << refused);
    CHECK(accepted > 500);
    CHECK(refused > 500);
}
