// HTTP targets (EventBridge's API destinations): a target that sends what it receives (the whole
// event, or what its input specification makes of it) as the body of an HTTP request, with
// authentication, a timeout and a rate limit. 2xx is delivered; 401, 407, 409, 429 and 5xx are
// retryable (honouring Retry-After) through the target's retry policy, as EventBridge retries
// them; other statuses, 3xx included (redirects are not followed), are permanent and go to its
// dead letters. Part of the switchyard::http component (libcurl, TLS included).
#pragma once

#include <chrono>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "switchyard/executor/executor.hpp"
#include "switchyard/executor/inline_executor.hpp"
#include "switchyard/target.hpp"

namespace switchyard {

/// Sends `header: value` (e.g. "x-api-key").
struct api_key_auth {
    std::string header{};  ///< the header's name
    std::string value{};   ///< its value
};

/// HTTP Basic authentication.
struct basic_auth {
    std::string username{};  ///< the user
    std::string password{};  ///< the password
};

/// OAuth 2 client credentials (RFC 6749 §4.4): a token is fetched from `token_url` with a POST of
/// `grant_type=client_credentials` (and `scope` when set), the client id and secret sent as HTTP
/// Basic credentials; it is shared by all deliveries, sent as `Authorization: Bearer <token>`,
/// and fetched again shortly before it expires (`expires_in`) or when a request gets 401 (that
/// delivery is retried). A failed token request makes the delivery retryable.
struct oauth_client_credentials {
    std::string token_url{};      ///< the authorization server's token endpoint
    std::string client_id{};      ///< the client id
    std::string client_secret{};  ///< the client secret
    std::string scope{};          ///< the scope asked for (empty: none)
};

/// No authentication, an API key header, Basic, or OAuth client credentials.
using http_auth = std::variant<std::monostate, api_key_auth, basic_auth, oauth_client_credentials>;

/// Where and how an http_target sends.
struct http_target_options {
    std::string url{};                                            ///< http:// or https://
    std::string method = "POST";                                ///< POST, PUT, PATCH, GET or DELETE
    /// Sent with every request; one named Content-Type or User-Agent replaces the target's own.
    std::vector<std::pair<std::string, std::string>> headers{};
    http_auth auth{};                                           ///< see http_auth
    /// Per request, connecting included (EventBridge's is 5 s); a timeout is retryable.
    std::chrono::milliseconds timeout{5000};
    /// At most this many requests per second from this target, all threads together (0: no
    /// limit): requests are spaced 1/rate apart, with no burst. A request over the limit waits
    /// for its turn on its executor's thread when that comes within a second (or one spacing, at
    /// rates below 1/s); a later turn is not waited for: the delivery is retried then
    /// (outcome::retry with that wait), which counts against its retry policy.
    double rate_limit_per_second = 0;
    /// The Content-Type of the body (the target's input is JSON unless its input spec says not:
    /// with this default, a plain-text template's output is sent as text/plain; charset=utf-8).
    /// Empty: none. Not sent with GET and DELETE, which have no body.
    std::string content_type = "application/json";
    bool verify_tls = true;  ///< check the server's certificate (https)
    std::string ca_file{};     ///< a CA bundle to check it against (empty: the system's)
};

/// A target that sends each delivery as an HTTP request (see the file comment): its body is the
/// input specification's output, or the whole event's JSON (none with GET and DELETE). Besides
/// the options' headers, each request carries `User-Agent: switchyard/<version>` and
/// `X-Switchyard-Event-Id: <the event's id>` (stable across retries: receivers can drop
/// duplicates, delivery being at least once). Connections are reused across deliveries (all
/// copies of the target share them, and close them when the last goes). Throws switchyard::error
/// naming the fix for an invalid URL (http:// or https:// with a host, no credentials in it),
/// method, rate, timeout, header, auth or unreadable ca_file.
target http_target(std::string id, http_target_options options, any_executor executor = inline_executor::instance());

}  // namespace switchyard
