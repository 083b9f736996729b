// The PutEvents ingress's protocol layer, apart from sockets: given one whole HTTP request, the
// reply (status, headers, body). Kept free of Boost so the wire protocol (AWS JSON 1.1, error
// shapes, bus routing, authentication) can be tested without a server. Private to
// switchyard::http.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "http/sigv4.hpp"
#include "switchyard/http/ingress.hpp"

namespace switchyard::http_detail {

/// The content type of every AWS JSON 1.1 reply.
inline constexpr std::string_view amz_json_content_type = "application/x-amz-json-1.1";

/// What the ingress answers to one request.
struct ingress_reply {
    unsigned status = 200;
    std::string content_type{amz_json_content_type};
    std::string body;
    /// Extra headers (x-amzn-ErrorType for errors, WWW-Authenticate, Allow).
    std::vector<std::pair<std::string, std::string>> headers{};
    /// Close the connection after this reply (the request could not be framed or read whole).
    bool close = false;
};

/// The AWS JSON 1.1 error shape: `{"__type": type, "message": message}` with the same type in
/// the `x-amzn-ErrorType` header, which botocore and the SDKs read to name the error.
ingress_reply error_reply(unsigned status, std::string_view type, std::string_view message);

/// Epoch seconds (PutEvents' Time as botocore sends it: a number, possibly fractional) as the
/// RFC 3339 UTC text put_events_entry::time takes, truncated to whole seconds as EventBridge
/// writes an event's time. Nothing for a value that is not finite or outside the years 1678 to
/// 2261 (the bus's range).
std::optional<std::string> epoch_seconds_to_rfc3339(double seconds);

/// The bus name an EventBusName names: the name itself, or the NAME of an ARN
/// `arn:aws:events:REGION:ACCOUNT:event-bus/NAME` (its region and account are not compared with
/// the bus's: one ingress serves one process's buses). Nothing for an ARN that is not an event
/// bus's.
std::optional<std::string_view> bus_name_of(std::string_view event_bus_name);

/// Routes requests to buses and speaks the protocol. Thread-safe once configured (add_bus before
/// serving); handle() may run on several threads at once.
class ingress_router {
public:
    /// Counts handle() adds to, owned by the caller (http_ingress::statistics).
    struct counters {
        std::atomic<std::uint64_t> entries_accepted{0};
        std::atomic<std::uint64_t> entries_failed{0};
    };

    ingress_router(const ingress_options& options, counters& counts) : options_(options), counts_(counts) {}

    /// See http_ingress::add_bus. Throws switchyard::error for a second bus of the same name.
    void add_bus(bus& b);

    /// The reply to one whole request. Never throws: an unexpected exception becomes a 500
    /// InternalFailure.
    ingress_reply handle(const request_view& request, std::chrono::system_clock::time_point now) const;

    /// `/metrics`' body: options.metrics, or every bus's metrics rendered as one exposition.
    std::string metrics_text() const;

private:
    ingress_reply dispatch(const request_view& request, std::chrono::system_clock::time_point now) const;
    std::optional<ingress_reply> authenticate(const request_view& request, std::chrono::system_clock::time_point now) const;
    ingress_reply put_events(std::string_view body) const;
    ingress_reply test_event_pattern(std::string_view body) const;
    bus* find_bus(std::string_view event_bus_name) const;

    const ingress_options& options_;
    counters& counts_;
    std::vector<bus*> buses_;                                // in the order added; the first is the default
    std::map<std::string, bus*, std::less<>> by_name_;
};

}  // namespace switchyard::http_detail
