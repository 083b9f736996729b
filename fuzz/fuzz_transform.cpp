// libFuzzer target: an input transformer. Input parts separated by NUL: the template, the
// event's detail, then one `name=path` per remaining part. A specification that compiles must
// render; a JSON template's output, every input path's output and a constant must be valid JSON.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "switchyard/event.hpp"
#include "switchyard/transform.hpp"

#include "fuzz_support.hpp"

namespace {

using switchyard_fuzz::check;

// Renders `spec` for `e` when it compiles; a switchyard::error from compile or render is the
// documented refusal. Returns the output and whether it claims to be JSON.
std::optional<std::pair<std::string, bool>> render(const switchyard::input_spec& spec, const switchyard::any_event& e) {
    std::optional<switchyard::compiled_input> compiled;
    try {
        compiled = switchyard::compiled_input::compile(spec);
    } catch (const switchyard::error&) {
        return std::nullopt;
    }
    try {
        return std::make_pair(compiled->render(e, "fuzz-rule"), compiled->is_json());
    } catch (const switchyard::permanent_error&) {
        return std::nullopt;  // documented: an event that cannot be rendered is dead-lettered
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto parts = switchyard_fuzz::split(std::string_view(reinterpret_cast<const char*>(data), size), '\0');
    if (parts.size() < 2) return 0;

    switchyard::envelope meta;
    meta.id = "7bf73129-1428-4cd3-a780-95db273d1602";
    meta.detail_type = "EC2 Instance State-change Notification";
    meta.source = "aws.ec2";
    meta.account = "123456789012";
    meta.time = "2015-11-11T21:29:54Z";
    meta.region = "us-east-1";
    meta.resources = {"arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111"};
    switchyard::event_ptr e;
    try {
        e = switchyard::make_json_event(meta, std::string(parts[1]));
    } catch (const switchyard::error&) {
        return 0;
    }
    // The event itself must be valid JSON before any transformer is blamed for its output.
    check(switchyard_fuzz::strictly_json(e->json()), "make_json_event built an event whose JSON is invalid", e->json());

    switchyard::input_transformer t;
    t.input_template = std::string(parts[0]);
    for (std::size_t i = 2; i < parts.size(); ++i) {
        const auto eq = parts[i].find('=');
        if (eq == std::string_view::npos) continue;
        const std::string path(parts[i].substr(eq + 1));
        t.input_paths[std::string(parts[i].substr(0, eq))] = path;
        // Each path alone (EventBridge's InputPath): always JSON.
        if (const auto out = render(switchyard::input_path{path}, *e)) {
            check(out->second, "an input path's output is not marked JSON");
            check(switchyard_fuzz::strictly_json(out->first), "an input path rendered invalid JSON", path + " -> " + out->first);
        }
    }

    if (const auto out = render(t, *e)) {
        if (out->second) {
            check(switchyard_fuzz::strictly_json(out->first), "a JSON template rendered invalid JSON", out->first);
            // Rendering is a pure function of the event: twice gives the same text, apart from
            // nothing (the ingestion time is the event's, not the clock's).
            const auto again = render(t, *e);
            check(again && again->first == out->first, "rendering one event twice gave different output");
        }
    }

    // The template as a constant: compiles only when it is JSON, and is then sent verbatim.
    if (const auto out = render(switchyard::constant_input{t.input_template}, *e)) {
        check(out->first == t.input_template, "a constant input was not sent verbatim");
        check(switchyard_fuzz::strictly_json(out->first), "a constant input that is not JSON compiled", out->first);
    }
    return 0;
}
