// An HTTP front door that speaks AWS's PutEvents wire protocol, so the AWS CLI and SDKs can point
// `--endpoint-url` at a process that embeds switchyard: `POST /` with `X-Amz-Target:
// AWSEvents.PutEvents` (or `AWSEvents.TestEventPattern`) and `application/x-amz-json-1.1`, several
// buses behind one endpoint by `EventBusName`, optional authentication (SigV4 or a bearer token),
// limits that keep one slow or malformed client from blocking others, Prometheus `/metrics` and
// `/health`. Part of the switchyard::http component; Boost.Beast stays out of this header.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <variant>

namespace switchyard {

class bus;

/// Requests must carry `Authorization: Bearer <token>`.
struct bearer_token_auth {
    std::string token{};  ///< the expected token
};

/// Requests must be signed with AWS Signature Version 4 by one of the configured access keys (as
/// the AWS CLI and SDKs sign them).
struct sigv4_auth {
    /// Access key id -> secret access key.
    std::map<std::string, std::string, std::less<>> keys{};
    /// The region the signature's scope must name (empty: any).
    std::string region{};
    /// How far the request's X-Amz-Date may be from the server's clock.
    std::chrono::seconds max_clock_skew{300};
};

/// No authentication, a bearer token, or SigV4.
using ingress_auth = std::variant<std::monostate, bearer_token_auth, sigv4_auth>;

/// How an http_ingress listens and what it accepts.
struct ingress_options {
    std::string address = "127.0.0.1";  ///< the address to listen on
    std::uint16_t port = 0;              ///< 0: a free port, see http_ingress::port()
    unsigned threads = 1;                ///< threads running the server's I/O
    /// The largest request body; a larger one is refused with 413 before it is read.
    std::size_t max_body_bytes = 1024 * 1024;
    /// At most this many entries per PutEvents request (EventBridge: 10).
    std::size_t max_entries = 10;
    /// Connections open at once; one more is accepted and closed at once.
    std::size_t max_connections = 1024;
    /// The time a client has to send one whole request (headers and body): a slow client is cut
    /// off instead of holding a connection.
    std::chrono::milliseconds request_timeout{10'000};
    /// How long a kept-alive connection may wait for its next request.
    std::chrono::milliseconds idle_timeout{60'000};
    /// Who may call (default: anyone).
    ingress_auth auth{};
    /// The body of `GET /metrics` (Prometheus text). Default: every added bus's metrics.
    std::function<std::string()> metrics{};
};

/// The front door (see the file comment). Add buses, then start(); stop() (or the destructor)
/// drains the requests in flight and joins the server's threads.
///
/// What it answers (AWS JSON 1.1; an error is `{"__type": T, "message": ...}` with T also in the
/// `x-amzn-ErrorType` header, as botocore and the SDKs read it):
/// - PutEvents: 200 `{"FailedEntryCount": n, "Entries": [{"EventId"} | {"ErrorCode",
///   "ErrorMessage"}]}` in request order, codes as to_string(publish_errc) names them. `Time` is
///   epoch seconds (botocore sends a number, possibly fractional; truncated to the second) or
///   RFC 3339 text; `TraceHeader` becomes the event's traceparent only when it is a W3C
///   traceparent (an X-Ray header is ignored). An `EventBusName` (name or
///   `arn:aws:events:REGION:ACCOUNT:event-bus/NAME`; region and account are not compared) that
///   names no added bus fails that entry alone with ResourceNotFoundException, since one request
///   may name several buses; EventBridge refuses the whole request instead.
/// - TestEventPattern: 200 `{"Result": bool}`; an invalid pattern is 400
///   InvalidEventPatternException, an invalid event 400 ValidationException.
/// - 400 SerializationException: a body that is not a JSON object, or a field of the wrong type.
///   400 ValidationException: Entries missing, empty, or more than max_entries. 400
///   UnknownOperationException: another or no X-Amz-Target. 415 UnsupportedMediaTypeException: a
///   Content-Type other than application/x-amz-json-1.1 (or 1.0). 413: a body over
///   max_body_bytes, refused from its Content-Length before it is read. 431: headers over 16 KiB.
///   404 and 405: other paths and methods.
/// - Authentication: bearer_token_auth refuses with 401 (and `WWW-Authenticate: Bearer`),
///   MissingAuthenticationTokenException or UnrecognizedClientException; sigv4_auth with the
///   status and type AWS uses (400 InvalidSignatureException, 403
///   MissingAuthenticationTokenException, ...). `GET /health` (`{"status":"ok"}`) and `GET
///   /metrics` need no authentication, so probes and scrapers reach them; they show counts and
///   rule names, never events.
///
/// bus::put_events runs on the I/O thread that read the request and blocks it while the bus
/// publishes (and a journal writes): with `threads` > 1 the other threads serve other connections
/// meanwhile.
class http_ingress {
public:
    /// Counts since start().
    struct statistics {
        std::uint64_t requests = 0;          ///< requests answered
        std::uint64_t entries_accepted = 0;  ///< PutEvents entries the buses accepted
        std::uint64_t entries_failed = 0;    ///< PutEvents entries refused (in a 200 response)
        std::uint64_t client_errors = 0;     ///< 4xx responses
        std::uint64_t connections = 0;       ///< connections open now
    };

    /// Throws switchyard::error for options that cannot work (no threads, zero limits).
    explicit http_ingress(ingress_options options = {});
    /// stop() with its default drain time.
    ~http_ingress();
    http_ingress(const http_ingress&) = delete;
    http_ingress& operator=(const http_ingress&) = delete;

    /// Routes requests whose EventBusName is `b.name()` (or its ARN) to `b`; the first bus added
    /// also answers requests without an EventBusName and those naming "default". The bus must
    /// outlive the ingress. Throws switchyard::error for a second bus of the same name or once
    /// started.
    void add_bus(bus& b);

    /// Binds and starts serving. Throws switchyard::error naming the address and port when it
    /// cannot bind.
    void start();

    /// The port it listens on (after start()).
    std::uint16_t port() const;

    /// Stops accepting connections and closes idle ones, lets the requests in flight finish for
    /// up to `drain` (each reply then says `Connection: close`), then closes every connection and
    /// joins the threads. Returns false if requests were cut off; entries a bus accepted are
    /// delivered either way, though a cut-off client never learns their ids. Calling it again, or
    /// before start(), does nothing.
    bool stop(std::chrono::milliseconds drain = std::chrono::seconds(5));

    /// The counts so far.
    statistics stats() const;

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace switchyard
