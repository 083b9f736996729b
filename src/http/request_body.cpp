#include "http/request_body.hpp"

#include <array>
#include <new>
#include <optional>
#include <utility>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <simdjson.h>

#include "switchyard/detail/json_depth.hpp"
#include "switchyard/detail/json_path.hpp"
#include "switchyard/trace_context.hpp"

namespace switchyard::http_detail {

namespace {

namespace dom = simdjson::dom;

// Bodies up to this size are read by a parser kept per I/O thread: a parser is not thread-safe,
// and keeping it keeps its buffers instead of allocating them for every request. A larger body
// gets a parser of its own, so one large request does not leave a thread holding buffers sized
// for it (several times the body) for good.
constexpr std::size_t kept_parser_bytes = 64 * 1024;

// Bodies nesting deeper than max_body_nesting fail with DEPTH_ERROR; the capacity grows by itself
// for larger bodies (up to max_body_bytes, which the server enforces before reading).
void prepare(dom::parser& parser) {
    if (parser.max_depth() != max_body_nesting && parser.allocate(kept_parser_bytes, max_body_nesting) != simdjson::SUCCESS)
        throw std::bad_alloc();  // the router answers 500 InternalFailure
}

dom::parser& thread_parser() {
    thread_local dom::parser parser;
    prepare(parser);
    return parser;
}

constexpr std::string_view not_a_json_object = "The request body is not a valid JSON object.";

ingress_reply serialization_error(std::string_view message) { return error_reply(400, "SerializationException", message); }

// A parsed body: the parser its values live in (this thread's, or its own for a large body).
class parsed_body {
public:
    // The body's top-level object, or nothing when the body is not one (malformed JSON, invalid
    // UTF-8, too deep, or another type). Throws std::bad_alloc when memory runs out.
    std::optional<dom::object> parse(std::string_view body) {
        // A UTF-8 byte-order mark is skipped, as JSON readers commonly do (RFC 8259 §8.1 allows it).
        if (body.substr(0, 3) == "\xEF\xBB\xBF") body.remove_prefix(3);
        dom::parser* parser = &thread_parser();
        if (body.size() > kept_parser_bytes) {
            own_.emplace();
            prepare(*own_);
            parser = &*own_;
        }
        dom::element root;
        auto code = parser->parse(body.data(), body.size()).get(root);
        if (code == simdjson::NUMBER_ERROR) {
            // simdjson reads integers up to 64 bits; JSON has no such limit, and nlohmann/json
            // reads larger ones as doubles. This rare body is rewritten that way and read again,
            // so a huge Time fails its own entry (out of range) rather than the whole request.
            if (detail::json_depth(body) > max_body_nesting) return std::nullopt;
            const auto doc = nlohmann::json::parse(body, nullptr, false);
            if (doc.is_discarded()) return std::nullopt;
            const std::string rewritten = doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
            code = parser->parse(rewritten.data(), rewritten.size()).get(root);  // copied: values outlive `rewritten`
        }
        if (code == simdjson::MEMALLOC || code == simdjson::CAPACITY) throw std::bad_alloc();
        dom::object object;
        if (code != simdjson::SUCCESS || root.get_object().get(object) != simdjson::SUCCESS) return std::nullopt;
        return object;
    }

private:
    std::optional<dom::parser> own_;
};

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

// The members an entry has, each its last occurrence (a member named twice counts once, the
// later, as with nlohmann's DOM before: a wrong type in the earlier one does not matter).
namespace member {
constexpr std::size_t source = 0, detail_type = 1, detail = 2, event_bus_name = 3, trace_header = 4, resources = 5, time = 6, count = 7;
// read_entry's `texts` lists the string members by position, in this order.
static_assert(source == 0 && detail_type == 1 && detail == 2 && event_bus_name == 3 && trace_header == 4);
}
constexpr std::array<std::string_view, member::count> member_names = {"Source",       "DetailType",  "Detail",   "EventBusName",
                                                                     "TraceHeader", "Resources", "Time"};

// Reads one entry's members into `out`; a message for the SerializationException otherwise.
std::optional<std::string> read_entry(dom::object in, std::size_t i, put_events_request_entry& out) {
    std::array<std::optional<dom::element>, member::count> last{};
    for (const auto [key, value] : in)
        for (std::size_t m = 0; m < member::count; ++m)
            if (key == member_names[m]) last[m] = value;
    // Other members are not PutEventsRequestEntry's: ignored, as AWS's readers ignore them.

    std::string trace;
    const std::array<std::string*, member::trace_header + 1> texts = {&out.entry.source, &out.entry.detail_type, &out.entry.detail,
                                                              &out.event_bus_name, &trace};
    for (std::size_t m = 0; m < texts.size(); ++m)
        if (last[m] && !read_string(*last[m], *texts[m])) return fmt::format("Entries[{}].{} must be a string.", i, member_names[m]);

    if (last[member::resources] && !last[member::resources]->is_null()) {
        dom::array list;
        if (last[member::resources]->get_array().get(list) != simdjson::SUCCESS)
            return fmt::format("Entries[{}].Resources must be a list of strings.", i);
        for (const dom::element resource : list) {
            std::string_view r;
            if (resource.get_string().get(r) != simdjson::SUCCESS)
                return fmt::format("Entries[{}].Resources must be a list of strings.", i);
            out.entry.resources.emplace_back(r);
        }
    }

    if (last[member::time] && !last[member::time]->is_null()) {
        if (double seconds = 0; last[member::time]->get_double().get(seconds) == simdjson::SUCCESS) {
            // botocore sends epoch seconds, possibly fractional.
            if (auto rfc3339 = epoch_seconds_to_rfc3339(seconds)) out.entry.time = std::move(*rfc3339);
            else out.time_out_of_range = true;
        } else if (!read_string(*last[member::time], out.entry.time)) {  // RFC 3339 from a hand-written client: the bus checks it
            return fmt::format("Entries[{}].Time must be a timestamp (epoch seconds).", i);
        }
    }

    // EventBridge's TraceHeader is an X-Ray header; it becomes the W3C traceparent only when it is
    // one, so a real X-Ray header neither fails the entry nor starts a bogus trace.
    if (!trace.empty() && trace_context::parse(trace)) out.entry.traceparent = std::move(trace);
    return std::nullopt;
}

// `text` with every byte sequence that is not valid UTF-8 replaced by U+FFFD, as text (not as a
// \ufffd escape): a message that quotes a client's bytes is itself quoted again in the reply.
std::string valid_utf8(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    std::size_t i = 0;
    while (i < text.size()) {
        const std::size_t length = static_cast<unsigned char>(text[i]) < 0x80 ? 1 : detail::utf8_sequence_length(text, i);
        if (length != 0) {
            out.append(text.substr(i, length));
            i += length;
        } else {
            out += "\xEF\xBF\xBD";
            ++i;
        }
    }
    return out;
}

}  // namespace

std::variant<std::vector<put_events_request_entry>, ingress_reply> read_put_events(std::string_view body,
                                                                                  std::size_t max_entries) {
    parsed_body parsed;
    const auto root = parsed.parse(body);
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
    // Counted, not dom::array::size(), which stops counting at 2^24 - 1.
    std::size_t count = 0;
    for ([[maybe_unused]] const dom::element entry : entries) ++count;
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
    std::vector<put_events_request_entry> out;
    out.reserve(count);
    for (const dom::element entry : entries) {
        const std::size_t i = out.size();
        dom::object object;
        if (entry.get_object().get(object) != simdjson::SUCCESS)
            return serialization_error(fmt::format("Entries[{}] is not a PutEventsRequestEntry object.", i));
        if (auto problem = read_entry(object, i, out.emplace_back())) return serialization_error(*problem);
    }
    return out;
}

std::variant<test_event_pattern_request, ingress_reply> read_test_event_pattern(std::string_view body) {
    parsed_body parsed;
    const auto root = parsed.parse(body);
    if (!root) return serialization_error(not_a_json_object);
    std::optional<dom::element> pattern, event;
    for (const auto [key, value] : *root) {
        if (key == "EventPattern") pattern = value;
        else if (key == "Event") event = value;
    }
    test_event_pattern_request out;
    if ((pattern && !read_string(*pattern, out.pattern)) || (event && !read_string(*event, out.event)))
        return serialization_error("EventPattern and Event must be strings.");
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
    detail::append_json_string_body(out, valid_utf8(text));
    out += '"';
    return out;
}

}  // namespace switchyard::http_detail
