// The ingress's request bodies (PutEvents, TestEventPattern) read into plain values, and the
// PutEvents reply written, without a JSON DOM. Reading is simdjson's (Debian's libsimdjson-dev):
// the body is the part of every request that grows with its entries, and nlohmann/json's
// character-at-a-time lexer plus the DOM it builds (with the reply's DOM) were about 30 % of the
// ingress's CPU at ten entries per request (BENCHMARKS.md, "HTTP"). simdjson validates the whole
// body (UTF-8 included) at several GB/s and hands strings out unescaped.
// Private to switchyard::http; simdjson stays inside request_body.cpp.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "http/ingress_protocol.hpp"
#include "switchyard/publish.hpp"

namespace switchyard::http_detail {

/// The deepest nesting a body may have: a PutEvents body nests three levels
/// ({"Entries": [{"Resources": [...]}]}); anything much deeper is refused before it is read.
inline constexpr std::size_t max_body_nesting = 32;

/// One PutEvents entry as the request gave it.
struct put_events_request_entry {
    put_events_entry entry;      ///< source, detail-type, detail, resources, time, traceparent
    std::string event_bus_name;  ///< EventBusName as sent (empty: none)
    /// Time was a number outside the bus's years (1678 to 2261): the entry fails alone.
    bool time_out_of_range = false;
};

/// A PutEvents body's entries, in request order; or the reply that refuses the whole request
/// (400 SerializationException for a body that is not a JSON object or a member of the wrong
/// type, 400 ValidationException for Entries missing, empty or longer than `max_entries`).
/// Members other than the entry's known ones are ignored; a member named twice counts once, the
/// later one, as JSON readers commonly do. A UTF-8 byte-order mark before the body is skipped;
/// integers beyond 64 bits are read as doubles (simdjson refuses them; such a body is rewritten
/// by nlohmann/json and read again: a rare path).
std::variant<std::vector<put_events_request_entry>, ingress_reply> read_put_events(std::string_view body,
                                                                                  std::size_t max_entries);

/// A TestEventPattern body's EventPattern and Event (empty when absent or null); or the 400
/// SerializationException reply for a body that is not a JSON object or members not strings.
struct test_event_pattern_request {
    std::string pattern;
    std::string event;
};
std::variant<test_event_pattern_request, ingress_reply> read_test_event_pattern(std::string_view body);

/// One PutEvents result: an EventId, or an ErrorCode with its ErrorMessage.
struct put_events_reply_entry {
    std::string event_id;
    std::string error_code;  ///< empty: accepted
    std::string error_message;
};

/// `{"Entries":[...],"FailedEntryCount":n}` as AWS writes it; text that is not valid UTF-8 in a
/// message is replaced, so the reply is always valid JSON.
std::string write_put_events_reply(const std::vector<put_events_reply_entry>& entries);

/// `text` as a JSON string literal (quotes included; invalid UTF-8 replaced): for messages that
/// quote what a client sent.
std::string json_quoted(std::string_view text);

}  // namespace switchyard::http_detail
