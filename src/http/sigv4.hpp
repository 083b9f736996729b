// AWS Signature Version 4: verifying a request the AWS CLI or an SDK signed (the ingress) and
// signing one (tests). Private to switchyard::http.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "switchyard/http/ingress.hpp"

namespace switchyard::http_detail {

/// The parts of an HTTP request a signature covers.
struct request_view {
    std::string_view method;  ///< "POST"
    std::string_view target;  ///< the request target: path and query, as sent ("/?a=b")
    /// Every header as received (names in any case; a repeated header appears several times).
    std::vector<std::pair<std::string_view, std::string_view>> headers;
    std::string_view body;  ///< the payload
};

/// Why a request was refused, in AWS's words: `type` is the error's __type
/// ("MissingAuthenticationTokenException", "IncompleteSignatureException",
/// "UnrecognizedClientException", "InvalidSignatureException"), with HTTP status 400 or 403.
struct auth_failure {
    int status = 403;
    std::string type;
    std::string message;
};

/// Nothing when `request` carries a valid SigV4 signature (Authorization header) by one of
/// `auth.keys`, within `auth.max_clock_skew` of `now` and, when set, for `auth.region`;
/// otherwise why not.
std::optional<auth_failure> verify_sigv4(const request_view& request, const sigv4_auth& auth, std::chrono::system_clock::time_point now);

/// The Authorization header value that signs `request` (which must carry `host` and `x-amz-date`
/// headers, and whose headers are all signed) with `access_key`/`secret` for `region`/`service`.
std::string sign_sigv4(const request_view& request, std::string_view access_key, std::string_view secret, std::string_view region,
                       std::string_view service);

}  // namespace switchyard::http_detail
