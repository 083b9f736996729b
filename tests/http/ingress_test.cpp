// http_ingress against a raw Beast (and, where framing itself is under test, POSIX socket) client:
// the PutEvents and TestEventPattern wire protocol, its errors, authentication, the limits
// (body size, entries, connections, slow clients, idle keep-alive), /metrics and /health, many
// clients at once, and a graceful stop that loses nothing accepted. The AWS CLI and boto3 run
// against ingress_server in aws_clients_test.py.
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <ctime>
#include <limits>
#include <chrono>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

// GCC's ThreadSanitizer cannot see the std::atomic_thread_fence Asio uses and warns at every
// use (-Wtsan), which a -Werror build would turn into a failure; the fences are not where races
// hide, so the warning is off in this file under TSan.
#if defined(__SANITIZE_THREAD__) && defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 12
#pragma GCC diagnostic ignored "-Wtsan"
#endif
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <switchyard/http/ingress.hpp>

#include "http/ingress_protocol.hpp"
#include "http/sigv4.hpp"
#include "test_support.hpp"

using namespace switchyard;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = net::ip::tcp;

#if defined(__SANITIZE_THREAD__)
constexpr bool under_tsan = true;
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
constexpr bool under_tsan = true;
#else
constexpr bool under_tsan = false;
#endif
#else
constexpr bool under_tsan = false;
#endif

// Polls `condition` until it holds or `timeout` passes: for states with no notification to wait
// on (the server's connection count).
template <class F> bool eventually(F condition, std::chrono::milliseconds timeout = 10s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!condition()) {
        if (std::chrono::steady_clock::now() > deadline) return false;
        std::this_thread::sleep_for(2ms);
    }
    return true;
}

// Receive and send timeouts on a socket, so a test fails instead of hanging when the server
// does not answer.
void set_socket_timeouts(int fd, std::chrono::milliseconds timeout = 10s) {
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
    tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

struct reply {
    unsigned status = 0;
    std::string body;
    bhttp::fields headers;
    bool keep_alive = false;

    json body_json() const { return json::parse(body); }
    std::string header(std::string_view name) const { return std::string(headers[name]); }
    std::string error_type() const { return body_json().value("__type", ""); }
};

// One keep-alive connection; requests are sent one after another.
class client {
public:
    explicit client(std::uint16_t port) : socket_(io_) {
        socket_.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
        set_socket_timeouts(socket_.native_handle());
    }

    reply send(bhttp::request<bhttp::string_body> request) {
        request.prepare_payload();
        bhttp::write(socket_, request);
        return receive();
    }

    reply receive() {
        bhttp::response_parser<bhttp::string_body> parser;
        parser.body_limit(64 * 1024 * 1024);
        bhttp::read(socket_, buffer_, parser);
        auto& response = parser.get();
        return reply{response.result_int(), response.body(), response.base(), response.keep_alive()};
    }

    tcp::socket& socket() { return socket_; }

private:
    net::io_context io_;
    tcp::socket socket_;
    beast::flat_buffer buffer_;
};

bhttp::request<bhttp::string_body> aws_request(std::string body, std::string_view target = "AWSEvents.PutEvents",
                                               std::string_view content_type = "application/x-amz-json-1.1") {
    bhttp::request<bhttp::string_body> request{bhttp::verb::post, "/", 11};
    request.set(bhttp::field::host, "127.0.0.1");
    if (!target.empty()) request.set("X-Amz-Target", target);
    if (!content_type.empty()) request.set(bhttp::field::content_type, content_type);
    request.body() = std::move(body);
    return request;
}

reply post(std::uint16_t port, std::string body, std::string_view target = "AWSEvents.PutEvents",
           std::string_view content_type = "application/x-amz-json-1.1") {
    client c(port);
    return c.send(aws_request(std::move(body), target, content_type));
}

reply get(std::uint16_t port, std::string path) {
    client c(port);
    bhttp::request<bhttp::string_body> request{bhttp::verb::get, path, 11};
    request.set(bhttp::field::host, "127.0.0.1");
    return c.send(std::move(request));
}

json entry(std::string source, std::string detail = R"({"n": 1})", std::string detail_type = "Test") {
    return json{{"Source", std::move(source)}, {"DetailType", std::move(detail_type)}, {"Detail", std::move(detail)}};
}

std::string put_body(const std::vector<json>& entries) { return json{{"Entries", entries}}.dump(); }

// A bus whose one rule records every event it delivers.
struct recorded_bus {
    explicit recorded_bus(std::string name) : b(std::move(name)) {
        b.add_rule({.name = "everything",
                    .pattern = R"({"source": [{"prefix": ""}]})",
                    .targets = {target{"record", [this](const any_event& e, const delivery_info&) {
                                           {
                                               std::lock_guard lock(mutex);
                                               events.push_back(e.meta());
                                           }
                                           delivered.add();
                                           return outcome::success();
                                       }}}});
    }

    std::vector<envelope> snapshot() {
        std::lock_guard lock(mutex);
        return events;
    }
    std::set<std::string> ids() {
        std::set<std::string> out;
        for (const auto& e : snapshot()) out.insert(e.id);
        return out;
    }

    bus b;
    std::mutex mutex;
    std::vector<envelope> events;
    tally delivered;
};

// An ingress in front of "orders" (the default) and "audit", started.
struct server {
    explicit server(ingress_options options = {}) : ingress(std::move(options)) {
        ingress.add_bus(orders.b);
        ingress.add_bus(audit.b);
        ingress.start();
    }
    std::uint16_t port() const { return ingress.port(); }

    recorded_bus orders{"orders"};
    recorded_bus audit{"audit"};
    http_ingress ingress;  // last: stopped before the buses go
};

// A raw POSIX connection, for clients that misbehave at the framing level.
struct raw_connection {
    explicit raw_connection(std::uint16_t port) {
        fd = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_port = htons(port);
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        set_socket_timeouts(fd);  // before connect, which Linux bounds by the send timeout
        connected = ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
    }
    ~raw_connection() {
        if (fd >= 0) ::close(fd);
    }
    raw_connection(const raw_connection&) = delete;
    raw_connection& operator=(const raw_connection&) = delete;

    bool send_text(std::string_view text) const {
        return ::send(fd, text.data(), text.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(text.size());
    }
    // Everything until the server closes (or the receive timeout): "" when closed without a word.
    std::string read_until_closed() const {
        std::string out;
        char buffer[4096];
        for (;;) {
            const auto n = ::recv(fd, buffer, sizeof buffer, 0);
            if (n <= 0) break;
            out.append(buffer, static_cast<std::size_t>(n));
        }
        return out;
    }
    // What arrives up to and including the first `marker` (or all of it, if the connection ends
    // or the receive timeout passes first).
    std::string read_until(std::string_view marker) const {
        std::string out;
        char ch = 0;
        while (out.find(marker) == std::string::npos && ::recv(fd, &ch, 1, 0) == 1) out += ch;
        return out;
    }
    // True when the server closed the connection (EOF or reset) before `timeout`.
    bool closed_by_server(std::chrono::milliseconds timeout) const {
        set_socket_timeouts(fd, timeout);
        char buffer[256];
        for (;;) {
            const auto n = ::recv(fd, buffer, sizeof buffer, 0);
            if (n == 0) return true;
            if (n < 0) return errno == ECONNRESET;
        }
    }

    int fd = -1;
    bool connected = false;
};

}  // namespace

TEST_SUITE("http ingress: protocol") {

TEST_CASE("epoch seconds become RFC 3339 time, out-of-range ones are refused") {
    using http_detail::epoch_seconds_to_rfc3339;
    CHECK(epoch_seconds_to_rfc3339(0) == "1970-01-01T00:00:00Z");
    CHECK(epoch_seconds_to_rfc3339(1700000000.75) == "2023-11-14T22:13:20Z");
    CHECK(epoch_seconds_to_rfc3339(-0.5) == "1969-12-31T23:59:59Z");
    CHECK_FALSE(epoch_seconds_to_rfc3339(1e300));
    CHECK_FALSE(epoch_seconds_to_rfc3339(std::numeric_limits<double>::quiet_NaN()));
    CHECK_FALSE(epoch_seconds_to_rfc3339(-1e11));
}

TEST_CASE("EventBusName is a name or an event bus's ARN") {
    using http_detail::bus_name_of;
    CHECK(bus_name_of("orders") == "orders");
    CHECK(bus_name_of("arn:aws:events:us-east-1:123456789012:event-bus/orders") == "orders");
    CHECK(bus_name_of("arn:aws-cn:events:cn-north-1:123456789012:event-bus/a.b") == "a.b");
    CHECK_FALSE(bus_name_of("arn:aws:sqs:us-east-1:123456789012:event-bus/orders"));
    CHECK_FALSE(bus_name_of("arn:aws:events:us-east-1:123456789012:rule/orders"));
    CHECK_FALSE(bus_name_of("arn:aws:events:us-east-1:123456789012:event-bus/"));
}

TEST_CASE("PutEvents: entries are published in order and answered with their EventIds") {
    server s;
    auto e2 = entry("com.example", R"({"n": 2})");
    e2["Resources"] = {"arn:aws:s3:::bucket"};
    e2["Time"] = 1700000000.25;
    e2["TraceHeader"] = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    auto e3 = entry("com.example", R"({"n": 3})");
    e3["EventBusName"] = "arn:aws:events:us-east-1:123456789012:event-bus/audit";
    auto e4 = entry("com.example", R"({"n": 4})");
    e4["TraceHeader"] = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";  // X-Ray: ignored
    e4["EventBusName"] = "default";

    const auto r = post(s.port(), put_body({entry("com.example"), e2, e3, e4}));
    REQUIRE(r.status == 200);
    CHECK(r.header("Content-Type") == "application/x-amz-json-1.1");
    CHECK_FALSE(r.header("x-amzn-RequestId").empty());
    const auto body = r.body_json();
    CHECK(body["FailedEntryCount"] == 0);
    REQUIRE(body["Entries"].size() == 4);
    for (const auto& e : body["Entries"]) CHECK(e["EventId"].get<std::string>().size() == 36);

    REQUIRE(s.orders.delivered.wait_for(3));
    REQUIRE(s.audit.delivered.wait_for(1));
    const auto orders = s.orders.snapshot();
    REQUIRE(orders.size() == 3);
    CHECK(orders[0].id == body["Entries"][0]["EventId"]);
    CHECK(orders[1].id == body["Entries"][1]["EventId"]);
    CHECK(orders[1].time == "2023-11-14T22:13:20Z");
    CHECK(orders[1].resources == std::vector<std::string>{"arn:aws:s3:::bucket"});
    REQUIRE(orders[1].trace);
    CHECK(orders[1].trace->trace_id_hex() == "4bf92f3577b34da6a3ce929d0e0e4736");
    CHECK(orders[2].id == body["Entries"][3]["EventId"]);
    CHECK(s.audit.snapshot().at(0).id == body["Entries"][2]["EventId"]);

    const auto stats = s.ingress.stats();
    CHECK(stats.requests == 1);
    CHECK(stats.entries_accepted == 4);
    CHECK(stats.entries_failed == 0);
}

TEST_CASE("PutEvents: a bad entry fails alone, with EventBridge's code; an unknown bus fails its entry") {
    server s;
    auto unknown = entry("com.example");
    unknown["EventBusName"] = "nope";
    auto bad_time = entry("com.example");
    bad_time["Time"] = 1e15;
    const auto r = post(s.port(), put_body({entry("com.example"), entry("com.example", R"({"n": )"), unknown,
                                            entry("", R"({})"), bad_time, entry("com.example")}));
    REQUIRE(r.status == 200);
    const auto body = r.body_json();
    CHECK(body["FailedEntryCount"] == 4);
    const auto& entries = body["Entries"];
    REQUIRE(entries.size() == 6);
    CHECK(entries[0].contains("EventId"));
    CHECK(entries[1]["ErrorCode"] == "MalformedDetail");
    CHECK(entries[2]["ErrorCode"] == "ResourceNotFoundException");
    CHECK(entries[2]["ErrorMessage"].get<std::string>().find("nope") != std::string::npos);
    CHECK(entries[3]["ErrorCode"] == "InvalidArgument");
    CHECK(entries[4]["ErrorCode"] == "InvalidArgument");
    CHECK(entries[5].contains("EventId"));
    CHECK_FALSE(entries[1].contains("EventId"));
    REQUIRE(s.orders.delivered.wait_for(2));
    CHECK(s.orders.ids() == std::set<std::string>{entries[0]["EventId"], entries[5]["EventId"]});
    CHECK(s.ingress.stats().entries_failed == 4);
    CHECK(s.ingress.stats().entries_accepted == 2);
}

TEST_CASE("PutEvents: request-level errors are AWS JSON 1.1 errors, and nothing is published") {
    server s;
    struct bad_request {
        std::string name, body, target, content_type;
        unsigned status;
        std::string type;
    };
    const std::string ok_body = put_body({entry("com.example")});
    std::vector<json> eleven(11, entry("com.example"));
    const std::vector<bad_request> cases = {
        {"not JSON", "{\"Entries\": [", "AWSEvents.PutEvents", "application/x-amz-json-1.1", 400, "SerializationException"},
        {"not an object", "[1, 2]", "AWSEvents.PutEvents", "application/x-amz-json-1.1", 400, "SerializationException"},
        {"Entries missing", "{}", "AWSEvents.PutEvents", "application/x-amz-json-1.1", 400, "ValidationException"},
        {"Entries empty", R"({"Entries": []})", "AWSEvents.PutEvents", "application/x-amz-json-1.1", 400, "ValidationException"},
        {"Entries not a list", R"({"Entries": {}})", "AWSEvents.PutEvents", "application/x-amz-json-1.1", 400, "SerializationException"},
        {"11 entries", put_body(eleven), "AWSEvents.PutEvents", "application/x-amz-json-1.1", 400, "ValidationException"},
        {"Source a number", R"({"Entries": [{"Source": 1, "DetailType": "x", "Detail": "{}"}]})", "AWSEvents.PutEvents",
         "application/x-amz-json-1.1", 400, "SerializationException"},
        {"Resources not strings", R"({"Entries": [{"Source": "s", "DetailType": "x", "Detail": "{}", "Resources": [1]}]})",
         "AWSEvents.PutEvents", "application/x-amz-json-1.1", 400, "SerializationException"},
        {"Time an object", R"({"Entries": [{"Source": "s", "DetailType": "x", "Detail": "{}", "Time": {}}]})", "AWSEvents.PutEvents",
         "application/x-amz-json-1.1", 400, "SerializationException"},
        {"nested too deep", std::string(10000, '[') + std::string(10000, ']'), "AWSEvents.PutEvents", "application/x-amz-json-1.1", 400,
         "SerializationException"},
        {"unknown target", ok_body, "AWSEvents.PutRule", "application/x-amz-json-1.1", 400, "UnknownOperationException"},
        {"no target", ok_body, "", "application/x-amz-json-1.1", 400, "UnknownOperationException"},
        {"application/json", ok_body, "AWSEvents.PutEvents", "application/json", 415, "UnsupportedMediaTypeException"},
        {"no content type", ok_body, "AWSEvents.PutEvents", "", 415, "UnsupportedMediaTypeException"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.name);
        const auto r = post(s.port(), c.body, c.target, c.content_type);
        CHECK(r.status == c.status);
        CHECK(r.error_type() == c.type);
        CHECK(r.header("x-amzn-ErrorType") == c.type);
        CHECK_FALSE(r.body_json()["message"].get<std::string>().empty());
    }
    const auto eleven_reply = post(s.port(), put_body(eleven));
    CHECK(eleven_reply.body_json()["message"].get<std::string>().find("less than or equal to 10") != std::string::npos);
    // x-amz-json-1.0 and a charset parameter are accepted.
    CHECK(post(s.port(), ok_body, "AWSEvents.PutEvents", "application/x-amz-json-1.0").status == 200);
    CHECK(post(s.port(), ok_body, "AWSEvents.PutEvents", "Application/X-Amz-Json-1.1; charset=utf-8").status == 200);
    REQUIRE(s.orders.delivered.wait_for(2));
    CHECK(s.orders.snapshot().size() == 2);
    CHECK(s.ingress.stats().client_errors == cases.size() + 1);
}

TEST_CASE("other methods and paths") {
    server s;
    client c(s.port());
    bhttp::request<bhttp::string_body> get_root{bhttp::verb::get, "/", 11};
    auto r = c.send(get_root);
    CHECK(r.status == 405);
    CHECK(r.header("Allow") == "POST");
    bhttp::request<bhttp::string_body> elsewhere{bhttp::verb::post, "/somewhere", 11};
    r = c.send(elsewhere);
    CHECK(r.status == 404);
    CHECK(r.keep_alive);
}

TEST_CASE("TestEventPattern answers Result, and names an invalid pattern") {
    server s;
    const json event = {{"id", "1"},        {"account", "123456789012"}, {"source", "com.example"}, {"time", "2024-01-01T00:00:00Z"},
                        {"region", "us-east-1"}, {"resources", json::array()}, {"detail-type", "Test"},   {"detail", {{"n", 5}}}};
    auto ask = [&](std::string pattern) {
        return post(s.port(), json{{"EventPattern", std::move(pattern)}, {"Event", event.dump()}}.dump(), "AWSEvents.TestEventPattern");
    };
    auto r = ask(R"({"source": ["com.example"], "detail": {"n": [{"numeric": [">", 3]}]}})");
    REQUIRE(r.status == 200);
    CHECK(r.body_json() == json{{"Result", true}});
    r = ask(R"({"source": ["other"]})");
    REQUIRE(r.status == 200);
    CHECK(r.body_json() == json{{"Result", false}});
    r = ask(R"({"source": "not a list"})");
    CHECK(r.status == 400);
    CHECK(r.error_type() == "InvalidEventPatternException");
    CHECK(r.body_json()["message"].get<std::string>().find("Event pattern is not valid") == 0);
    r = post(s.port(), json{{"EventPattern", R"({"source": ["x"]})"}, {"Event", "{not json"}}.dump(), "AWSEvents.TestEventPattern");
    CHECK(r.status == 400);
    CHECK(r.error_type() == "ValidationException");
    r = post(s.port(), json{{"Event", event.dump()}}.dump(), "AWSEvents.TestEventPattern");
    CHECK(r.status == 400);
    CHECK(r.error_type() == "ValidationException");
}

TEST_CASE("GET /health and /metrics") {
    server s;
    REQUIRE(post(s.port(), put_body({entry("com.example")})).status == 200);
    REQUIRE(s.orders.delivered.wait_for(1));
    const auto health = get(s.port(), "/health");
    CHECK(health.status == 200);
    CHECK(health.body_json() == json{{"status", "ok"}});
    const auto metrics = get(s.port(), "/metrics");
    CHECK(metrics.status == 200);
    CHECK(metrics.header("Content-Type") == prometheus_content_type);
    CHECK(metrics.body.find("switchyard_") != std::string::npos);
    CHECK(metrics.body.find("bus=\"orders\"") != std::string::npos);
    CHECK(metrics.body.find("bus=\"audit\"") != std::string::npos);
    // One # TYPE line per family, though two buses contribute samples.
    const auto first = metrics.body.find("# TYPE switchyard_matched_events_total");
    REQUIRE(first != std::string::npos);
    CHECK(metrics.body.find("# TYPE switchyard_matched_events_total", first + 1) == std::string::npos);

    ingress_options custom;
    custom.metrics = [] { return std::string("custom 1\n"); };
    server t(custom);
    CHECK(get(t.port(), "/metrics").body == "custom 1\n");
}

// stop() right after the last client closed its kept-alive connection: the I/O thread could run
// out of work while stop() still held that session, and the session's close, posted to an
// io_context nobody ran any more, never came (a hang seen under ThreadSanitizer). Repeated,
// since it depends on timing.
TEST_CASE("stop right after a client closes its connection never hangs") {
    for (int i = 0; i < 100; ++i) {
        server s;
        {
            client c(s.port());
            REQUIRE(c.send(aws_request(put_body({entry("com.example")}))).status == 200);
        }
        (void)s.ingress.stop(std::chrono::milliseconds(0));  // returns (the point), clean or not
        CHECK(s.ingress.stats().requests == 1);
    }
}

TEST_CASE("keep-alive: several requests on one connection") {
    server s;
    client c(s.port());
    for (int i = 0; i < 5; ++i) {
        const auto r = c.send(aws_request(put_body({entry("com.example")})));
        REQUIRE(r.status == 200);
        CHECK(r.keep_alive);
    }
    CHECK(s.orders.delivered.wait_for(5));
    CHECK(s.ingress.stats().connections == 1);
}

}  // TEST_SUITE

TEST_SUITE("http ingress: authentication") {

TEST_CASE("bearer token: missing or wrong is refused with 401 and AWS's error shape") {
    ingress_options options;
    options.auth = bearer_token_auth{"s3cret"};
    server s(options);
    auto with = [&](std::string authorization) {
        auto request = aws_request(put_body({entry("com.example")}));
        if (!authorization.empty()) request.set(bhttp::field::authorization, authorization);
        client c(s.port());
        return c.send(std::move(request));
    };
    auto r = with("");
    CHECK(r.status == 401);
    CHECK(r.error_type() == "MissingAuthenticationTokenException");
    CHECK(r.header("WWW-Authenticate") == "Bearer");
    r = with("Bearer wrong");
    CHECK(r.status == 401);
    CHECK(r.error_type() == "UnrecognizedClientException");
    CHECK(r.body_json()["message"] == "The security token included in the request is invalid.");
    CHECK(with("Bearer s3cret0").status == 401);
    CHECK(with("Basic s3cret").status == 401);
    r = with("Bearer s3cret");
    CHECK(r.status == 200);
    CHECK(with("bearer   s3cret").status == 200);
    CHECK(s.orders.delivered.wait_for(2));
    CHECK(s.orders.snapshot().size() == 2);
    // The operations endpoints stay open to scrapers and probes.
    CHECK(get(s.port(), "/health").status == 200);
}

TEST_CASE("SigV4: a signed request is accepted, a tampered or unsigned one refused") {
    ingress_options options;
    options.auth = sigv4_auth{.keys = {{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"}}, .region = "us-east-1"};
    server s(options);
    auto signed_request = [&](std::string body, std::string_view secret) {
        auto request = aws_request(std::move(body));
        const auto host = "127.0.0.1:" + std::to_string(s.port());
        request.set(bhttp::field::host, host);
        const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
        std::tm utc{};
        gmtime_r(&now, &utc);
        char date[32];
        std::strftime(date, sizeof date, "%Y%m%dT%H%M%SZ", &utc);
        request.set("X-Amz-Date", date);
        http_detail::request_view view;
        view.method = "POST";
        view.target = "/";
        view.body = request.body();
        for (const auto& field : request) view.headers.emplace_back(field.name_string(), field.value());
        request.set(bhttp::field::authorization, http_detail::sign_sigv4(view, "AKIDEXAMPLE", secret, "us-east-1", "events"));
        return request;
    };
    const auto body = put_body({entry("com.example")});
    auto r = client(s.port()).send(signed_request(body, "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"));
    CHECK(r.status == 200);
    // AWS's statuses, as verify_sigv4 reports them: 400 for a bad signature, 403 for none.
    r = client(s.port()).send(signed_request(body, "wrong"));
    CHECK(r.status == 400);
    CHECK(r.error_type() == "InvalidSignatureException");
    CHECK(r.header("x-amzn-ErrorType") == "InvalidSignatureException");
    auto tampered = signed_request(body, "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");
    tampered.body() = put_body({entry("com.evil")});
    r = client(s.port()).send(std::move(tampered));
    CHECK(r.status == 400);
    CHECK(r.error_type() == "InvalidSignatureException");
    r = post(s.port(), body);
    CHECK(r.status == 403);
    CHECK(r.error_type() == "MissingAuthenticationTokenException");
    CHECK(s.orders.delivered.wait_for(1));
    CHECK(s.orders.snapshot().size() == 1);
}

}  // TEST_SUITE

TEST_SUITE("http ingress: limits") {

TEST_CASE("an oversize body is refused with 413 from its Content-Length, before it is sent") {
    ingress_options options;
    options.max_body_bytes = 1024;
    server s(options);
    raw_connection c(s.port());
    REQUIRE(c.connected);
    // Headers only: the reply arrives although not one byte of the body was sent.
    REQUIRE(c.send_text("POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: AWSEvents.PutEvents\r\n"
                        "Content-Type: application/x-amz-json-1.1\r\nContent-Length: 5000\r\n\r\n"));
    const auto response = c.read_until_closed();
    CHECK(response.rfind("HTTP/1.1 413", 0) == 0);
    CHECK(response.find("RequestEntityTooLarge") != std::string::npos);

    // A chunked body has no Content-Length: it is cut off where it passes the limit.
    raw_connection chunked(s.port());
    std::string request = "POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: AWSEvents.PutEvents\r\n"
                          "Content-Type: application/x-amz-json-1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
    request += "800\r\n" + std::string(0x800, ' ') + "\r\n0\r\n\r\n";
    REQUIRE(chunked.send_text(request));
    CHECK(chunked.read_until_closed().rfind("HTTP/1.1 413", 0) == 0);

    // Exactly the limit is fine.
    std::string body = put_body({entry("com.example")});
    body.resize(1024, ' ');
    CHECK(post(s.port(), body).status == 200);
    CHECK(s.ingress.stats().client_errors == 2);
}

TEST_CASE("malformed HTTP is answered 400 and the connection closed; oversize headers 431") {
    server s;
    raw_connection garbage(s.port());
    REQUIRE(garbage.send_text("this is not HTTP\r\n\r\n"));
    CHECK(garbage.read_until_closed().rfind("HTTP/1.1 400", 0) == 0);
    raw_connection huge(s.port());
    REQUIRE(huge.send_text("POST / HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(32 * 1024, 'a') + "\r\n\r\n"));
    CHECK(huge.read_until_closed().rfind("HTTP/1.1 431", 0) == 0);
    CHECK(post(s.port(), put_body({entry("com.example")})).status == 200);
}

// The server parses what each read brings in place, so framing is its own: requests that arrive
// together, and a body that waits for 100 Continue.
TEST_CASE("framing: pipelined requests are answered in order; Expect: 100-continue is answered before the body is sent") {
    server s;
    auto request = [](const std::string& body, std::string_view extra_headers) {
        return "POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: AWSEvents.PutEvents\r\nContent-Type: application/x-amz-json-1.1\r\n"
               "Content-Length: " +
               std::to_string(body.size()) + "\r\n" + std::string(extra_headers) + "\r\n" + body;
    };
    auto event_ids = [](const std::string& replies) {
        std::vector<std::string> ids;
        constexpr std::string_view key = R"("EventId":")";
        for (auto at = replies.find(key); at != std::string::npos; at = replies.find(key, at + 1))
            ids.push_back(replies.substr(at + key.size(), 36));
        return ids;
    };

    raw_connection pipelined(s.port());
    REQUIRE(pipelined.send_text(request(put_body({entry("com.example", R"({"n": 1})")}), "") + "\r\n" +  // an empty line between: ignored
                                request(put_body({entry("com.example", R"({"n": 2})"), entry("com.example", R"({"n": 3})")}),
                                        "Connection: close\r\n")));
    const auto replies = pipelined.read_until_closed();
    const auto first = replies.find("HTTP/1.1 200");
    REQUIRE(first != std::string::npos);
    CHECK(replies.find("HTTP/1.1 200", first + 1) != std::string::npos);
    const auto ids = event_ids(replies);
    REQUIRE(ids.size() == 3);
    REQUIRE(s.orders.delivered.wait_for(3));
    std::vector<std::string> delivered;
    for (const auto& e : s.orders.snapshot()) delivered.push_back(e.id);
    CHECK(delivered == ids);

    raw_connection expecting(s.port());
    const std::string body = put_body({entry("com.example", R"({"n": 4})")});
    const std::string with_body = request(body, "Expect: 100-continue\r\nConnection: close\r\n");
    REQUIRE(expecting.send_text(std::string_view(with_body).substr(0, with_body.size() - body.size())));
    CHECK(expecting.read_until("\r\n\r\n").rfind("HTTP/1.1 100 Continue\r\n", 0) == 0);
    REQUIRE(expecting.send_text(body));
    const auto answer = expecting.read_until_closed();
    CHECK(answer.rfind("HTTP/1.1 200", 0) == 0);
    REQUIRE(event_ids(answer).size() == 1);
    REQUIRE(s.orders.delivered.wait_for(4));
    CHECK(s.orders.snapshot().back().id == event_ids(answer).front());
}

// Regression: Beast bounds neither a chunk's size line nor a trailer section; the server refuses
// one that outgrows its read buffer instead of holding it all in memory.
TEST_CASE("an endless chunk extension is refused with 400 and the connection closed") {
    ingress_options options;
    options.max_body_bytes = 1024;
    server s(options);
    raw_connection abuse(s.port());
    REQUIRE(abuse.send_text("POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: AWSEvents.PutEvents\r\n"
                            "Content-Type: application/x-amz-json-1.1\r\nTransfer-Encoding: chunked\r\n\r\n1"));
    const std::string extension = ";a=" + std::string(1021, 'b');
    bool refused_while_sending = false;
    for (int i = 0; i < 200 && !refused_while_sending; ++i) refused_while_sending = !abuse.send_text(extension);  // up to 200 KiB
    const auto reply = abuse.read_until_closed();
    CHECK(reply.rfind("HTTP/1.1 400", 0) == 0);
    CHECK(reply.find("chunk size line or trailer") != std::string::npos);
    CHECK(post(s.port(), put_body({entry("com.example")})).status == 200);  // others are served
}

TEST_CASE("a slow client is cut off after request_timeout and does not hold up others") {
    ingress_options options;
    options.threads = 1;  // one I/O thread: the slow client must not occupy it
    options.request_timeout = 600ms;
    server s(options);
    raw_connection slow(s.port());
    REQUIRE(slow.connected);
    const auto started = std::chrono::steady_clock::now();
    std::atomic<bool> done{false};
    // Headers byte by byte (slowloris), far slower than the timeout allows for the whole request.
    std::thread trickler([&] {
        const std::string headers = "POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: AWSEvents.PutEvents\r\nX-Padding: " + std::string(500, 'a');
        for (char ch : headers) {
            if (done.load() || !slow.send_text(std::string_view(&ch, 1))) break;
            std::this_thread::sleep_for(20ms);
        }
    });
    // Meanwhile another client is served at once, several times.
    for (int i = 0; i < 3; ++i) CHECK(post(s.port(), put_body({entry("com.example")})).status == 200);
    const bool closed = slow.closed_by_server(5s);
    const auto elapsed = std::chrono::steady_clock::now() - started;
    done = true;
    trickler.join();
    CHECK(closed);
    CHECK(elapsed >= 500ms);
    CHECK(elapsed < 4s);
    CHECK(s.orders.delivered.wait_for(3));
}

TEST_CASE("a connection that sends nothing is cut off after request_timeout; an idle kept-alive one after idle_timeout") {
    ingress_options options;
    options.request_timeout = 300ms;
    options.idle_timeout = 800ms;
    server s(options);
    raw_connection silent(s.port());
    auto started = std::chrono::steady_clock::now();
    CHECK(silent.closed_by_server(5s));
    CHECK(std::chrono::steady_clock::now() - started < 800ms);

    raw_connection kept(s.port());
    const auto body = put_body({entry("com.example")});
    REQUIRE(kept.send_text("POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: AWSEvents.PutEvents\r\nContent-Type: "
                           "application/x-amz-json-1.1\r\nContent-Length: " +
                           std::to_string(body.size()) + "\r\n\r\n" + body));
    char buffer[4096];
    REQUIRE(::recv(kept.fd, buffer, sizeof buffer, 0) > 0);  // the reply (small: one read)
    started = std::chrono::steady_clock::now();
    CHECK(kept.closed_by_server(5s));
    const auto idle = std::chrono::steady_clock::now() - started;
    CHECK(idle >= 600ms);  // idle_timeout, not request_timeout
    CHECK(idle < 3s);
}

TEST_CASE("connections beyond max_connections are accepted and closed at once") {
    ingress_options options;
    options.max_connections = 2;
    server s(options);
    auto a = std::make_unique<raw_connection>(s.port());
    raw_connection b(s.port());
    REQUIRE(eventually([&] { return s.ingress.stats().connections == 2; }));
    raw_connection third(s.port());
    CHECK(third.closed_by_server(2s));
    CHECK(s.ingress.stats().connections == 2);
    a.reset();
    REQUIRE(eventually([&] { return s.ingress.stats().connections == 1; }));
    CHECK(post(s.port(), put_body({entry("com.example")})).status == 200);
}

TEST_CASE("options that cannot work, a duplicate bus, a busy port") {
    CHECK_THROWS_AS(http_ingress(ingress_options{.threads = 0}), error);
    CHECK_THROWS_AS(http_ingress(ingress_options{.max_entries = 0}), error);
    CHECK_THROWS_AS(http_ingress(ingress_options{.auth = bearer_token_auth{}}), error);
    bus a("a");
    http_ingress ingress;
    ingress.add_bus(a);
    CHECK_THROWS_AS(ingress.add_bus(a), error);
    ingress.start();
    bus b("b");
    CHECK_THROWS_AS(ingress.add_bus(b), error);
    http_ingress second(ingress_options{.port = ingress.port()});
    try {
        second.start();
        FAIL("binding a busy port should throw");
    } catch (const error& e) {
        CHECK(std::string(e.what()).find(std::to_string(ingress.port())) != std::string::npos);
    }
    CHECK(ingress.stop());
    CHECK(ingress.stop());  // a second stop does nothing
}

}  // TEST_SUITE

TEST_SUITE("http ingress: concurrency") {

TEST_CASE("many clients at once: every request answered, every entry delivered exactly once") {
    const int clients = under_tsan ? 8 : 50;
    const int per_client = under_tsan ? 25 : 200;
    const int entries_per_request = 2;
    ingress_options options;
    options.threads = 4;
    server s(options);
    std::atomic<int> ok{0};
    std::vector<std::thread> threads;
    std::mutex ids_mutex;
    std::set<std::string> ids;
    for (int t = 0; t < clients; ++t) {
        threads.emplace_back([&, t] {
            try {
                client c(s.port());
                std::vector<std::string> mine;
                for (int i = 0; i < per_client; ++i) {
                    auto request = aws_request(put_body({entry("client." + std::to_string(t), json{{"i", i}}.dump()),
                                                         entry("client." + std::to_string(t), json{{"i", i}}.dump())}));
                    const auto r = c.send(std::move(request));
                    if (r.status != 200) continue;
                    const auto body = r.body_json();
                    if (body["FailedEntryCount"] != 0) continue;
                    for (const auto& e : body["Entries"]) mine.push_back(e["EventId"]);
                    ok.fetch_add(1);
                }
                std::lock_guard lock(ids_mutex);
                ids.insert(mine.begin(), mine.end());
            } catch (const std::exception&) {
                // counted as missing answers below
            }
        });
    }
    for (auto& t : threads) t.join();
    const int total = clients * per_client;
    CHECK(ok.load() == total);
    CHECK(s.orders.delivered.wait_for(total * entries_per_request, 30s));
    CHECK(s.orders.snapshot().size() == static_cast<std::size_t>(total * entries_per_request));
    CHECK(s.orders.ids() == ids);
    const auto stats = s.ingress.stats();
    CHECK(stats.requests == static_cast<std::uint64_t>(total));
    CHECK(stats.entries_accepted == static_cast<std::uint64_t>(total * entries_per_request));
}

TEST_CASE("stop() lets a request in flight finish: its entries are delivered and it is answered") {
    gate release;
    tally entered;
    bus b("slow");
    b.add_rule({.name = "slow",
                .pattern = R"({"source": ["com.example"]})",
                .targets = {target{"wait", [&](const any_event&, const delivery_info&) {
                                       entered.add();
                                       release.wait();  // inline: bus::put_events (and the request) waits here
                                       return outcome::success();
                                   }}}});
    // Two I/O threads: the one inside bus::put_events is blocked, the other closes the listener.
    http_ingress ingress(ingress_options{.threads = 2});
    ingress.add_bus(b);
    ingress.start();
    const auto port = ingress.port();

    reply answer;
    std::thread caller([&] { answer = post(port, put_body({entry("com.example")})); });
    REQUIRE(entered.wait_for(1));
    bool clean = false;
    std::thread stopper([&] { clean = ingress.stop(10s); });
    // Once the listener is closed, new connections are refused; the request in flight goes on.
    CHECK(eventually([&] {
        raw_connection probe(port);
        return !probe.connected;
    }));
    release.open();
    stopper.join();
    caller.join();
    CHECK(clean);
    CHECK(answer.status == 200);
    CHECK(answer.header("Connection") == "close");
    CHECK(answer.body_json()["FailedEntryCount"] == 0);
    CHECK(ingress.stats().entries_accepted == 1);
}

TEST_CASE("stop() under load: every EventId a client was given is delivered") {
    ingress_options options;
    options.threads = 2;
    auto s = std::make_unique<server>(options);
    const auto port = s->port();
    std::atomic<bool> done{false};
    std::atomic<int> answered{0};
    std::mutex ids_mutex;
    std::set<std::string> given;
    std::vector<std::thread> threads;
    for (int t = 0; t < 6; ++t) {
        threads.emplace_back([&] {
            while (!done.load()) {
                try {
                    client c(port);
                    for (;;) {
                        const auto r = c.send(aws_request(put_body({entry("com.example")})));
                        const auto body = r.status == 200 ? r.body_json() : json::object();
                        if (body.contains("Entries"))
                            for (const auto& e : body["Entries"])
                                if (e.contains("EventId")) {
                                    std::lock_guard lock(ids_mutex);
                                    given.insert(e["EventId"].get<std::string>());
                                }
                        answered.fetch_add(1);
                        if (!r.keep_alive) break;
                    }
                } catch (const std::exception&) {
                    // the server closed or refused the connection: stopping
                }
            }
        });
    }
    REQUIRE(eventually([&] { return answered.load() >= 200; }));
    CHECK(s->ingress.stop(5s));
    done = true;
    for (auto& t : threads) t.join();
    s->orders.b.drain();
    const auto delivered = s->orders.ids();
    CHECK_FALSE(given.empty());
    // Nothing a client was given an EventId for is lost (a reply cut off by the close would only
    // make `delivered` larger).
    CHECK(std::includes(delivered.begin(), delivered.end(), given.begin(), given.end()));
    CHECK(s->ingress.stats().entries_accepted == delivered.size());
}

}  // TEST_SUITE
