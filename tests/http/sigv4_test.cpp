// SigV4 signing and verification against AWS's published test suite ("get-vanilla") and against
// signatures computed by botocore's SigV4Auth (the AWS CLI's and boto3's signer) for requests
// like the ones the ingress receives.
#include <doctest/doctest.h>

#include <string>

#include "http/sigv4.hpp"
#include "switchyard/detail/time.hpp"

using switchyard::http_detail::request_view;
using switchyard::http_detail::sign_sigv4;
using switchyard::http_detail::verify_sigv4;

namespace {

constexpr std::string_view access_key = "AKIDEXAMPLE";
constexpr std::string_view secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

switchyard::sigv4_auth keys() { return {.keys = {{std::string(access_key), std::string(secret)}}, .region = {}, .max_clock_skew = std::chrono::seconds(300)}; }

std::chrono::system_clock::time_point at(std::string_view rfc3339) { return *switchyard::detail::parse_rfc3339(rfc3339); }

constexpr std::string_view put_events_body = R"({"Entries":[{"Source":"s","DetailType":"d","Detail":"{}"}]})";
constexpr std::string_view put_events_signature =
    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261201/us-east-1/events/aws4_request, "
    "SignedHeaders=content-type;host;x-amz-date;x-amz-target, "
    "Signature=73a208f6585e393e3799b7ea5414a50149a42ccd31318f100014441181a5e2c3";

// A PutEvents request as botocore signs it (computed with botocore 1.29's SigV4Auth, 2026-12-01T12:00:00Z).
request_view put_events(std::string_view authorization, std::string_view body = put_events_body) {
    return {.method = "POST",
            .target = "/",
            .headers = {{"Host", "events.us-east-1.amazonaws.com"},
                        {"Content-Type", "application/x-amz-json-1.1"},
                        {"X-Amz-Target", "AWSEvents.PutEvents"},
                        {"X-Amz-Date", "20261201T120000Z"},
                        {"Authorization", authorization}},
            .body = body};
}

}  // namespace

TEST_CASE("sigv4: AWS's get-vanilla example signs and verifies") {
    // aws-sig-v4-test-suite/get-vanilla: GET / on example.amazonaws.com, 2015-08-30T12:36:00Z.
    const std::string expected =
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, "
        "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31";
    request_view r{.method = "GET", .target = "/", .headers = {{"Host", "example.amazonaws.com"}, {"X-Amz-Date", "20150830T123600Z"}}, .body = ""};
    CHECK(sign_sigv4(r, access_key, secret, "us-east-1", "service") == expected);
    r.headers.emplace_back("Authorization", expected);
    CHECK_FALSE(verify_sigv4(r, keys(), at("2015-08-30T12:36:00Z")).has_value());
}

TEST_CASE("sigv4: botocore's signatures verify (PutEvents, a query in any order, a path with dot segments)") {
    CHECK_FALSE(verify_sigv4(put_events(put_events_signature), keys(), at("2026-12-01T12:00:00Z")).has_value());

    const request_view query{.method = "GET",
                             .target = "/?Param2=value2&Param1=value1",
                             .headers = {{"host", "example.amazonaws.com"},
                                         {"x-amz-date", "20261201T120000Z"},
                                         {"authorization",
                                          "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261201/us-east-1/service/aws4_request, "
                                          "SignedHeaders=host;x-amz-date, "
                                          "Signature=2cba2ae88663ffbf53ef92c2559ba164870a6e7da35b0fc5a804c51995f8fa18"}},
                             .body = ""};
    CHECK_FALSE(verify_sigv4(query, keys(), at("2026-12-01T12:00:00Z")).has_value());

    const request_view dots{.method = "GET",
                            .target = "/a/../b/./c%20d",
                            .headers = {{"Host", "example.amazonaws.com"},
                                        {"X-Amz-Date", "20261201T120000Z"},
                                        {"Authorization",
                                         "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261201/eu-west-1/service/aws4_request, "
                                         "SignedHeaders=host;x-amz-date, "
                                         "Signature=dde52fc1d3809ddcf9d3719bc2160dda233bf3659123d25f9bfd89e9259eb039"}},
                            .body = ""};
    CHECK_FALSE(verify_sigv4(dots, keys(), at("2026-12-01T12:00:00Z")).has_value());
}

TEST_CASE("sigv4: each way a request can fail names AWS's error") {
    const auto now = at("2026-12-01T12:00:00Z");
    auto failure = [&](const request_view& r, switchyard::sigv4_auth auth = keys()) { return verify_sigv4(r, auth, now); };

    SUBCASE("no Authorization header") {
        auto r = put_events("");
        r.headers.pop_back();
        const auto f = failure(r);
        REQUIRE(f);
        CHECK(f->status == 403);
        CHECK(f->type == "MissingAuthenticationTokenException");
    }
    SUBCASE("not SigV4") {
        const auto f = failure(put_events("Basic dXNlcjpwYXNz"));
        REQUIRE(f);
        CHECK(f->type == "IncompleteSignatureException");
    }
    SUBCASE("an unknown access key") {
        std::string other(put_events_signature);
        other.replace(other.find("AKIDEXAMPLE"), 11, "AKIDUNKNOWN");
        const auto f = failure(put_events(other));
        REQUIRE(f);
        CHECK(f->type == "UnrecognizedClientException");
    }
    SUBCASE("a body changed after signing") {
        const auto f = failure(put_events(put_events_signature, R"({"Entries":[{"Source":"x","DetailType":"d","Detail":"{}"}]})"));
        REQUIRE(f);
        CHECK(f->type == "InvalidSignatureException");
        CHECK(f->message.find("does not match") != std::string::npos);
    }
    SUBCASE("the wrong secret") {
        auto auth = keys();
        auth.keys[std::string(access_key)] = "not-the-secret";
        const auto f = failure(put_events(put_events_signature), auth);
        REQUIRE(f);
        CHECK(f->type == "InvalidSignatureException");
    }
    SUBCASE("a signature too old") {
        const auto f = verify_sigv4(put_events(put_events_signature), keys(), at("2026-12-01T12:05:01Z"));
        REQUIRE(f);
        CHECK(f->type == "InvalidSignatureException");
        CHECK(f->message.find("Signature expired") == 0);
        CHECK_FALSE(verify_sigv4(put_events(put_events_signature), keys(), at("2026-12-01T12:05:00Z")).has_value());
    }
    SUBCASE("another region than the endpoint's") {
        auto auth = keys();
        auth.region = "eu-west-1";
        const auto f = failure(put_events(put_events_signature), auth);
        REQUIRE(f);
        CHECK(f->message.find("'us-east-1'") != std::string::npos);
    }
    SUBCASE("host not signed") {
        std::string unsigned_host(put_events_signature);
        unsigned_host.replace(unsigned_host.find("content-type;host;"), 18, "content-type;");
        const auto f = failure(put_events(unsigned_host));
        REQUIRE(f);
        CHECK(f->type == "IncompleteSignatureException");
        CHECK(f->message.find("'host'") != std::string::npos);
    }
}
