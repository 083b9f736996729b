#include "http/request_body.hpp"

#include <new>
#include <optional>
#include <utility>

#include <fmt/format.h>
#include <simdjson.h>

#include "switchyard/detail/json_path.hpp"
#include "switchyard/trace_context.hpp"

namespace switchyard::http_detail {

namespace {

namespace dom = simdjson::dom;

// A parser per I/O thread: a parser is not thread-safe, and keeping it keeps its buffers (sized
// for the largest body seen) instead of allocating them for every request. Bodies nesting deeper
// than max_body_nesting fail with DEPTH_ERROR; the capacity grows by itself for larger bodies (up
// to max_body_bytes, which the server enforces before reading).
dom::parser& thread_parser() {
    thread_local dom::parser parser;
    if (parser.max_depth() != max_body_nesting && parser.allocate(64 * 1024, max_body_nesting) != simdjson::SUCCESS)
        throw std::bad_alloc();  // the router answers 500 InternalFailure
    return parser;
}

constexpr std::string_view not_a_json_object = "The request body is not a valid JSON object.";

ingress_reply serialization_error(std::string_view message) { return error_reply(400, "SerializationException", message); }

// The body's top-level object, or nothing when the body is not one (malformed JSON, invalid
// UTF-8, too deep, or another type). The object lives until this thread's next parse.
std::optional<dom::object> parse_object(std::string_view body) {
    dom::element root;
    if (thread_parser().parse(body.data(), body.size()).get(root) != simdjson::SUCCESS) return std::nullopt;
    dom::object object;
    if (root.get_object().get(object) != simdjson::SUCCESS) return std::nullopt;
    return object;
}

// A string member: null makes it empty (as if absent). False when it has another type.
bool read_string(dom::element value, std::string& out) {
    if (value.is_null()) {
        out.clear();
        return true;
    }
    std::string_view text;
    if (value.get_string().get(text) != simdjson::SUCCESS) return false;
    out.assign(text);
    return true;
}

// Reads one entry's members into `out`; a message for the SerializationException otherwise.
std::optional<std::string> read_entry(dom::object in, std::size_t i, put_events_request_entry& out) {
    std::string trace_header;
    for (const auto [key, value] : in) {
        std::string* text = key == "Source"         ? &out.entry.source
                            : key == "DetailType"   ? &out.entry.detail_type
                            : key == "Detail"       ? &out.entry.detail
                            : key == "EventBusName" ? &out.event_bus_name
                            : key == "TraceHeader"  ? &trace_header
                                                    : nullptr;
        if (text != nullptr) {
            if (!read_string(value, *text)) return fmt::format("Entries[{}].{} must be a string.", i, key);
        } else if (key == "Resources") {
            out.entry.resources.clear();
            if (value.is_null()) continue;
            dom::array resources;
            if (value.get_array().get(resources) != simdjson::SUCCESS)
                return fmt::format("Entries[{}].Resources must be a list of strings.", i);
            for (const dom::element resource : resources) {
                std::string_view r;
                if (resource.get_string().get(r) != simdjson::SUCCESS)
                    return fmt::format("Entries[{}].Resources must be a list of strings.", i);
                out.entry.resources.emplace_back(r);
            }
        } else if (key == "Time") {
            out.time_out_of_range = false;
            out.entry.time.clear();
            if (value.is_null()) continue;
            if (double seconds = 0; value.get_double().get(seconds) == simdjson::SUCCESS) {
                // botocore sends epoch seconds, possibly fractional.
                if (auto rfc3339 = epoch_seconds_to_rfc3339(seconds)) out.entry.time = std::move(*rfc3339);
                else out.time_out_of_range = true;
            } else if (!read_string(value, out.entry.time)) {  // RFC 3339 from a hand-written client: the bus checks it
                return fmt::format("Entries[{}].Time must be a timestamp (epoch seconds).", i);
            }
        }
        // Other members are not PutEventsRequestEntry's: ignored, as AWS's readers ignore them.
    }
    // EventBridge's TraceHeader is an X-Ray header; it becomes the W3C traceparent only when it is
    // one, so a real X-Ray header neither fails the entry nor starts a bogus trace.
    if (!trace_header.empty() && trace_context::parse(trace_header)) out.entry.traceparent = std::move(trace_header);
    return std::nullopt;
}

}  // namespace

std::variant<std::vector<put_events_request_entry>, ingress_reply> read_put_events(std::string_view body,
                                                                                  std::size_t max_entries) {
    const auto root = parse_object(body);
    if (!root) return serialization_error(not_a_json_object);
    std::optional<dom::element> entries_member;
    for (const auto [key, value] : *root)
        if (key == "Entries") entries_member = value;
    if (!entries_member || entries_member->is_null())
        return error_reply(400, "ValidationException",
                           "1 validation error detected: Value null at 'entries' failed to satisfy constraint: Member must not be null");
    dom::array entries;
    if (entries_member->get_array().get(entries) != simdjson::SUCCESS)
        return serialization_error("Entries must be a list of PutEventsRequestEntry objects.");
    const std::size_t count = entries.size();
    if (count == 0)
        return error_reply(400, "ValidationException",
                           "1 validation error detected: Value '[]' at 'entries' failed to satisfy constraint: Member must have "
                           "length greater than or equal to 1");
    if (count > max_entries)
        return error_reply(400, "ValidationException",
                           fmt::format("1 validation error detected: Value '[{} entries]' at 'entries' failed to satisfy "
                                       "constraint: Member must have length less than or equal to {}",
                                       count, max_entries));

    // Every entry is read before any is published: a request whose shape is wrong (a number
    // where a string goes) is refused whole, as AWS refuses what it cannot deserialize.
    std::vector<put_events_request_entry> out(count);
    std::size_t i = 0;
    for (const dom::element entry : entries) {
        dom::object object;
        if (entry.get_object().get(object) != simdjson::SUCCESS)
            return serialization_error(fmt::format("Entries[{}] is not a PutEventsRequestEntry object.", i));
        if (auto problem = read_entry(object, i, out[i])) return serialization_error(*problem);
        ++i;
    }
    return out;
}

std::variant<test_event_pattern_request, ingress_reply> read_test_event_pattern(std::string_view body) {
    const auto root = parse_object(body);
    if (!root) return serialization_error(not_a_json_object);
    test_event_pattern_request out;
    for (const auto [key, value] : *root) {
        std::string* text = key == "EventPattern" ? &out.pattern : key == "Event" ? &out.event : nullptr;
        if (text != nullptr && !read_string(value, *text)) return serialization_error("EventPattern and Event must be strings.");
    }
    return out;
}

std::string write_put_events_reply(const std::vector<put_events_reply_entry>& entries) {
    std::string out;
    out.reserve(40 + entries.size() * 56);  // an accepted entry is 50 bytes
    out += R"({"Entries":[)";
    std::size_t failed = 0;
    for (std::size_t i = 0; i < entries.size(); ++i) {
        const auto& e = entries[i];
        if (i != 0) out += ',';
        if (e.error_code.empty()) {
            out += R"({"EventId":")";
            detail::append_json_string_body(out, e.event_id);
            out += R"("})";
        } else {
            ++failed;
            out += R"({"ErrorCode":")";
            detail::append_json_string_body(out, e.error_code);
            out += R"(","ErrorMessage":")";
            detail::append_json_string_body(out, e.error_message);
            out += R"("})";
        }
    }
    out += R"(],"FailedEntryCount":)";
    out += std::to_string(failed);
    out += '}';
    return out;
}

std::string json_quoted(std::string_view text) {
    std::string out;
    out.reserve(text.size() + 2);
    out += '"';
    detail::append_json_string_body(out, text);
    out += '"';
    return out;
}

}  // namespace switchyard::http_detail
