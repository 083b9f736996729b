// AWS Signature Version 4, as AWS documents it ("Create a signed AWS API request") and botocore
// implements it: a canonical request, a string to sign over its hash, and an HMAC chain from the
// secret through date, region and service. HMAC and SHA-256 come from OpenSSL (libcurl's TLS
// library already), and signatures are compared in constant time.
#include "http/sigv4.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <map>
#include <optional>
#include <vector>

#include <fmt/format.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include "switchyard/detail/time.hpp"

namespace switchyard::http_detail {

namespace {

using digest = std::array<unsigned char, 32>;

digest sha256(std::string_view data) {
    digest out{};
    SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), out.data());
    return out;
}

digest hmac(std::string_view key, std::string_view data) {
    digest out{};
    unsigned int length = 0;
    HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()), data.size(),
         out.data(), &length);
    return out;
}

std::string_view as_text(const digest& d) { return {reinterpret_cast<const char*>(d.data()), d.size()}; }

std::string hex(const digest& d) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    out.reserve(64);
    for (const unsigned char b : d) {
        out.push_back(digits[b >> 4]);
        out.push_back(digits[b & 15]);
    }
    return out;
}

std::string lower(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

// A header value as SigV4 signs it: trimmed, runs of spaces collapsed to one.
std::string canonical_value(std::string_view v) {
    std::string out;
    bool space = false;
    for (const char c : v) {
        if (c == ' ' || c == '\t') {
            space = !out.empty();
            continue;
        }
        if (space) out.push_back(' ');
        space = false;
        out.push_back(c);
    }
    return out;
}

bool unreserved(unsigned char c) { return std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~'; }

std::string percent_encode(std::string_view s, bool keep_slash) {
    std::string out;
    for (const unsigned char c : s) {
        if (unreserved(c) || (keep_slash && c == '/'))
            out.push_back(static_cast<char>(c));
        else
            out += fmt::format("%{:02X}", c);
    }
    return out;
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

std::string percent_decode(std::string_view s) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 && hex_value(s[i + 2]) >= 0) {
            out.push_back(static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2])));
            i += 2;
        } else {
            out.push_back(s[i]);
        }
    }
    return out;
}

// The path with "." and ".." segments resolved, then encoded once more (every service but S3
// signs the path as the client sent it, percent-encoded again).
std::string canonical_uri(std::string_view path) {
    std::vector<std::string_view> segments;
    std::size_t start = 1;
    while (start <= path.size()) {
        auto end = path.find('/', start);
        if (end == std::string_view::npos) end = path.size();
        const auto segment = path.substr(start, end - start);
        if (segment == "..") {
            if (!segments.empty()) segments.pop_back();
        } else if (segment != "." && !(segment.empty() && end != path.size())) {
            segments.push_back(segment);
        }
        start = end + 1;
    }
    std::string normalized;
    for (const auto& s : segments) normalized += "/" + std::string(s);
    if (normalized.empty() || (path.size() > 1 && path.back() == '/' && normalized.back() != '/')) normalized += "/";
    return percent_encode(normalized, true);
}

std::string canonical_query(std::string_view query) {
    std::vector<std::pair<std::string, std::string>> pairs;
    std::size_t start = 0;
    while (start < query.size()) {
        auto end = query.find('&', start);
        if (end == std::string_view::npos) end = query.size();
        const auto pair = query.substr(start, end - start);
        if (!pair.empty()) {
            const auto eq = pair.find('=');
            const auto name = pair.substr(0, eq);
            const auto value = eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1);
            pairs.emplace_back(percent_encode(percent_decode(name), false), percent_encode(percent_decode(value), false));
        }
        start = end + 1;
    }
    std::sort(pairs.begin(), pairs.end());
    std::string out;
    for (const auto& [name, value] : pairs) {
        if (!out.empty()) out.push_back('&');
        out += name + "=" + value;
    }
    return out;
}

struct authorization {
    std::string access_key, date, region, service;
    std::vector<std::string> signed_headers;
    std::string signature;
};

std::vector<std::string> split(std::string_view s, char by) {
    std::vector<std::string> out;
    std::size_t start = 0;
    for (;;) {
        const auto end = s.find(by, start);
        out.emplace_back(s.substr(start, end - start));
        if (end == std::string_view::npos) return out;
        start = end + 1;
    }
}

std::optional<authorization> parse_authorization(std::string_view header) {
    constexpr std::string_view algorithm = "AWS4-HMAC-SHA256 ";
    if (!header.starts_with(algorithm)) return std::nullopt;
    authorization out;
    bool credential = false, headers = false, signature = false;
    for (auto part : split(header.substr(algorithm.size()), ',')) {
        const auto text = canonical_value(part);
        const auto eq = text.find('=');
        if (eq == std::string::npos) return std::nullopt;
        const auto name = text.substr(0, eq), value = text.substr(eq + 1);
        if (name == "Credential") {
            const auto scope = split(value, '/');
            if (scope.size() != 5 || scope[4] != "aws4_request") return std::nullopt;
            out.access_key = scope[0], out.date = scope[1], out.region = scope[2], out.service = scope[3];
            credential = true;
        } else if (name == "SignedHeaders") {
            out.signed_headers = split(value, ';');
            headers = true;
        } else if (name == "Signature") {
            out.signature = value;
            signature = true;
        }
    }
    if (!credential || !headers || !signature) return std::nullopt;
    return out;
}

// Every value of header `name` (lower case), comma-joined as SigV4 joins repeated headers.
std::optional<std::string> header_value(const request_view& request, std::string_view name) {
    std::optional<std::string> out;
    for (const auto& [n, v] : request.headers) {
        if (lower(n) != name) continue;
        if (out)
            *out += "," + canonical_value(v);
        else
            out = canonical_value(v);
    }
    return out;
}

std::string string_to_sign(const request_view& request, const std::vector<std::string>& signed_headers, std::string_view amz_date,
                           std::string_view scope) {
    const auto target = request.target;
    const auto q = target.find('?');
    const auto path = target.substr(0, q);
    const auto query = q == std::string_view::npos ? std::string_view{} : target.substr(q + 1);
    std::string canonical = fmt::format("{}\n{}\n{}\n", request.method, canonical_uri(path.empty() ? "/" : path), canonical_query(query));
    for (const auto& h : signed_headers) canonical += h + ":" + header_value(request, h).value_or("") + "\n";
    canonical += "\n";
    for (std::size_t i = 0; i < signed_headers.size(); ++i) canonical += (i ? ";" : "") + signed_headers[i];
    canonical += "\n";
    const auto content_sha = header_value(request, "x-amz-content-sha256");
    canonical += content_sha && *content_sha == "UNSIGNED-PAYLOAD" ? *content_sha : hex(sha256(request.body));
    return fmt::format("AWS4-HMAC-SHA256\n{}\n{}\n{}", amz_date, scope, hex(sha256(canonical)));
}

std::string signature_of(std::string_view secret, std::string_view date, std::string_view region, std::string_view service,
                         std::string_view to_sign) {
    const auto k_date = hmac("AWS4" + std::string(secret), date);
    const auto k_region = hmac(as_text(k_date), region);
    const auto k_service = hmac(as_text(k_region), service);
    const auto k_signing = hmac(as_text(k_service), "aws4_request");
    return hex(hmac(as_text(k_signing), to_sign));
}

// X-Amz-Date's basic ISO 8601 form, 20261201T120000Z.
std::optional<std::chrono::sys_seconds> parse_amz_date(std::string_view s) {
    if (s.size() != 16 || s[8] != 'T' || s[15] != 'Z') return std::nullopt;
    const auto iso = fmt::format("{}-{}-{}T{}:{}:{}Z", s.substr(0, 4), s.substr(4, 2), s.substr(6, 2), s.substr(9, 2), s.substr(11, 2),
                                 s.substr(13, 2));
    const auto t = detail::parse_rfc3339(iso);
    if (!t) return std::nullopt;
    return std::chrono::floor<std::chrono::seconds>(*t);
}

auth_failure incomplete(std::string message) { return {400, "IncompleteSignatureException", std::move(message)}; }

}  // namespace

std::optional<auth_failure> verify_sigv4(const request_view& request, const sigv4_auth& auth, std::chrono::system_clock::time_point now) {
    const auto header = header_value(request, "authorization");
    if (!header) return auth_failure{403, "MissingAuthenticationTokenException", "Missing Authentication Token"};
    const auto parsed = parse_authorization(*header);
    if (!parsed)
        return incomplete("Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' parameters with the "
                          "AWS4-HMAC-SHA256 algorithm");
    const auto key = auth.keys.find(parsed->access_key);
    if (key == auth.keys.end()) return auth_failure{400, "UnrecognizedClientException", "The security token included in the request is invalid."};
    const auto amz_date = header_value(request, "x-amz-date");
    if (!amz_date) return incomplete("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header");
    const auto signed_at = parse_amz_date(*amz_date);
    if (!signed_at || amz_date->substr(0, 8) != parsed->date)
        return incomplete(fmt::format("X-Amz-Date '{}' is not of the form 20261201T120000Z or does not match the credential scope's date",
                                      *amz_date));
    if (std::find(parsed->signed_headers.begin(), parsed->signed_headers.end(), "host") == parsed->signed_headers.end())
        return incomplete("the 'host' header must be signed (SignedHeaders)");
    if (!std::is_sorted(parsed->signed_headers.begin(), parsed->signed_headers.end()))
        return incomplete("SignedHeaders must be listed in lower case, sorted");
    const auto skew = std::chrono::abs(std::chrono::floor<std::chrono::seconds>(now) - *signed_at);
    if (skew > auth.max_clock_skew)
        return auth_failure{400, "InvalidSignatureException",
                            fmt::format("Signature expired: {} is more than {} s from the server's time {}", *amz_date,
                                        auth.max_clock_skew.count(), detail::format_rfc3339(now))};
    if (!auth.region.empty() && parsed->region != auth.region)
        return auth_failure{400, "InvalidSignatureException",
                            fmt::format("Credential should be scoped to a valid region, not '{}' (this endpoint is '{}')", parsed->region,
                                        auth.region)};
    const auto scope = fmt::format("{}/{}/{}/aws4_request", parsed->date, parsed->region, parsed->service);
    const auto expected = signature_of(key->second, parsed->date, parsed->region, parsed->service,
                                       string_to_sign(request, parsed->signed_headers, *amz_date, scope));
    if (expected.size() != parsed->signature.size() || CRYPTO_memcmp(expected.data(), parsed->signature.data(), expected.size()) != 0)
        return auth_failure{400, "InvalidSignatureException",
                            "The request signature we calculated does not match the signature you provided. Check your AWS "
                            "Secret Access Key and signing method."};
    return std::nullopt;
}

std::string sign_sigv4(const request_view& request, std::string_view access_key, std::string_view secret, std::string_view region,
                       std::string_view service) {
    std::vector<std::string> signed_headers;
    for (const auto& [name, value] : request.headers) {
        auto n = lower(name);
        if (n != "authorization" && std::find(signed_headers.begin(), signed_headers.end(), n) == signed_headers.end())
            signed_headers.push_back(std::move(n));
    }
    std::sort(signed_headers.begin(), signed_headers.end());
    const auto amz_date = header_value(request, "x-amz-date").value_or("");
    const auto date = amz_date.substr(0, 8);
    const auto scope = fmt::format("{}/{}/{}/aws4_request", date, region, service);
    std::string list;
    for (std::size_t i = 0; i < signed_headers.size(); ++i) list += (i ? ";" : "") + signed_headers[i];
    return fmt::format("AWS4-HMAC-SHA256 Credential={}/{}, SignedHeaders={}, Signature={}", access_key, scope, list,
                       signature_of(secret, date, region, service, string_to_sign(request, signed_headers, amz_date, scope)));
}

}  // namespace switchyard::http_detail
