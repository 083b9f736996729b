// http_ingress: AWS's PutEvents wire protocol over Boost.Beast. Two halves: ingress_router (the
// protocol: one whole request in, one reply out; no sockets) and the server (asynchronous
// sessions on `threads` io_context threads, each session's handlers one at a time), which frames
// requests under the size and time limits and hands each whole request to the router.
#include "switchyard/http/ingress.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

// GCC's ThreadSanitizer cannot see the std::atomic_thread_fence Asio uses and warns at every
// use (-Wtsan), which a -Werror build would turn into a failure; the fences are not where races
// hide, so the warning is off in this file under TSan.
#if defined(__SANITIZE_THREAD__) && defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 12
#pragma GCC diagnostic ignored "-Wtsan"
#endif
#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <fmt/format.h>

#include "http/ingress_protocol.hpp"
#include "http/request_body.hpp"
#include "http/sigv4.hpp"
#include "switchyard/bus.hpp"
#include "switchyard/detail/time.hpp"
#include "switchyard/detail/uuid.hpp"
#include "switchyard/error.hpp"
#include "switchyard/observe/prometheus.hpp"
#include "switchyard/pattern/explain.hpp"
#include "switchyard/trace_context.hpp"

namespace switchyard {

//=== The protocol ===============================================================================

namespace http_detail {

namespace {

bool iequals(std::string_view a, std::string_view b) noexcept {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
               return lower(x) == lower(y);
           });
}

std::string_view trim(std::string_view s) noexcept {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

std::optional<std::string_view> header(const request_view& request, std::string_view name) {
    for (const auto& [key, value] : request.headers)
        if (iequals(key, name)) return trim(value);
    return std::nullopt;
}

// Compares without stopping at the first difference, so the time taken does not tell a caller
// how much of a guessed token was right.
bool constant_time_equal(std::string_view a, std::string_view b) noexcept {
    unsigned char diff = a.size() == b.size() ? 0 : 1;
    const std::string_view& longer = a.size() >= b.size() ? a : b;
    for (std::size_t i = 0; i < longer.size(); ++i) {
        const auto x = static_cast<unsigned char>(i < a.size() ? a[i] : 0);
        const auto y = static_cast<unsigned char>(i < b.size() ? b[i] : 0);
        diff = static_cast<unsigned char>(diff | (x ^ y));
    }
    return diff == 0;
}

}  // namespace

ingress_reply error_reply(unsigned status, std::string_view type, std::string_view message) {
    ingress_reply reply;
    reply.status = status;
    reply.body = fmt::format(R"({{"__type":{},"message":{}}})", json_quoted(type), json_quoted(message));
    reply.headers.emplace_back("x-amzn-ErrorType", std::string(type));
    return reply;
}

std::optional<std::string> epoch_seconds_to_rfc3339(double seconds) {
    // -9223372036 .. 9223372036 seconds is what a nanosecond time_point holds (1677 to 2262); the
    // bus takes 1678 to 2261, so anything outside that is refused here, before any conversion.
    constexpr double earliest = -9'214'646'400.0;  // 1678-01-01T00:00:00Z
    constexpr double latest = 9'214'646'399.0;     // 2261-12-31T23:59:59Z
    if (!std::isfinite(seconds) || seconds < earliest || seconds > latest) return std::nullopt;
    const auto whole = static_cast<std::int64_t>(std::floor(seconds));
    return detail::format_rfc3339(std::chrono::system_clock::time_point(std::chrono::seconds(whole)));
}

std::optional<std::string_view> bus_name_of(std::string_view event_bus_name) {
    constexpr std::string_view arn_prefix = "arn:";
    if (event_bus_name.substr(0, arn_prefix.size()) != arn_prefix) return event_bus_name;
    // arn:PARTITION:events:REGION:ACCOUNT:event-bus/NAME (the partition may be aws, aws-cn, ...).
    std::string_view rest = event_bus_name;
    for (int field = 0; field < 5; ++field) {
        const auto colon = rest.find(':');
        if (colon == std::string_view::npos) return std::nullopt;
        if (field == 2 && rest.substr(0, colon) != "events") return std::nullopt;
        rest.remove_prefix(colon + 1);
    }
    constexpr std::string_view resource = "event-bus/";
    if (rest.substr(0, resource.size()) != resource || rest.size() == resource.size()) return std::nullopt;
    return rest.substr(resource.size());
}

void ingress_router::add_bus(bus& b) {
    if (by_name_.contains(b.name()))
        throw error(fmt::format("http_ingress::add_bus: a bus named '{}' was already added; bus names must be unique", b.name()));
    by_name_.emplace(b.name(), &b);
    buses_.push_back(&b);
}

bus* ingress_router::find_bus(std::string_view event_bus_name) const {
    const auto name = bus_name_of(event_bus_name);
    if (!name) return nullptr;
    if (const auto it = by_name_.find(*name); it != by_name_.end()) return it->second;
    if ((name->empty() || *name == "default") && !buses_.empty()) return buses_.front();
    return nullptr;
}

std::string ingress_router::metrics_text() const {
    if (options_.metrics) return options_.metrics();
    // One exposition for all buses: rendering each bus alone and concatenating would repeat each
    // family's # HELP and # TYPE lines, which Prometheus refuses. Samples carry their bus label.
    metrics_snapshot all;
    for (const bus* b : buses_) {
        auto snapshot = b->metrics();
        all.samples.insert(all.samples.end(), std::make_move_iterator(snapshot.samples.begin()),
                           std::make_move_iterator(snapshot.samples.end()));
    }
    return render_prometheus(all);
}

ingress_reply ingress_router::handle(const request_view& request, std::chrono::system_clock::time_point now) const {
    try {
        return dispatch(request, now);
    } catch (const std::exception& e) {
        return error_reply(500, "InternalFailure", e.what());
    } catch (...) {
        return error_reply(500, "InternalFailure", "unexpected error");
    }
}

std::optional<ingress_reply> ingress_router::authenticate(const request_view& request,
                                                          std::chrono::system_clock::time_point now) const {
    if (const auto* bearer = std::get_if<bearer_token_auth>(&options_.auth)) {
        // 401 with WWW-Authenticate, as RFC 6750 asks of a bearer-protected resource; the body
        // keeps AWS's error shape so SDKs still name the error.
        auto refuse = [](std::string_view type, std::string_view message) {
            auto reply = error_reply(401, type, message);
            reply.headers.emplace_back("WWW-Authenticate", "Bearer");
            return reply;
        };
        const auto value = header(request, "authorization");
        if (!value) return refuse("MissingAuthenticationTokenException", "Missing Authentication Token");
        constexpr std::string_view scheme = "bearer ";
        if (value->size() < scheme.size() || !iequals(value->substr(0, scheme.size()), scheme) ||
            !constant_time_equal(trim(value->substr(scheme.size())), bearer->token))
            return refuse("UnrecognizedClientException", "The security token included in the request is invalid.");
        return std::nullopt;
    }
    if (const auto* sigv4 = std::get_if<sigv4_auth>(&options_.auth)) {
        if (auto failure = verify_sigv4(request, *sigv4, now))
            return error_reply(static_cast<unsigned>(failure->status), failure->type, failure->message);
    }
    return std::nullopt;
}

ingress_reply ingress_router::dispatch(const request_view& request, std::chrono::system_clock::time_point now) const {
    const std::string_view path = request.target.substr(0, request.target.find('?'));
    // Operations endpoints: unauthenticated, like most scrape and probe endpoints, so Prometheus
    // and load balancers can reach them; they show counts and rule names, never events.
    if (path == "/health" || path == "/metrics") {
        if (request.method != "GET") {
            auto reply = error_reply(405, "MethodNotAllowed", fmt::format("{} takes GET", path));
            reply.headers.emplace_back("Allow", "GET");
            return reply;
        }
        if (path == "/health") {
            ingress_reply reply;
            reply.content_type = "application/json";
            reply.body = R"({"status":"ok"})";
            return reply;
        }
        ingress_reply reply;
        reply.content_type = std::string(prometheus_content_type);
        reply.body = metrics_text();
        return reply;
    }
    if (path != "/") return error_reply(404, "NotFound", fmt::format("nothing at {}; PutEvents is POST /", json_quoted(path)));
    if (request.method != "POST") {
        auto reply = error_reply(405, "MethodNotAllowed", "the AWS JSON protocol takes POST /");
        reply.headers.emplace_back("Allow", "POST");
        return reply;
    }
    // Authentication first, as AWS does: a caller who may not call learns nothing about the
    // operations or the validity of its request.
    if (auto refused = authenticate(request, now)) return std::move(*refused);

    const auto target = header(request, "x-amz-target").value_or("");
    const bool is_put_events = target == "AWSEvents.PutEvents";
    const bool is_test_pattern = target == "AWSEvents.TestEventPattern";
    if (!is_put_events && !is_test_pattern)
        return error_reply(400, "UnknownOperationException",
                           target.empty() ? std::string("X-Amz-Target is missing; this endpoint serves AWSEvents.PutEvents and "
                                                        "AWSEvents.TestEventPattern")
                                          : fmt::format("operation {} is not supported; this endpoint serves AWSEvents.PutEvents "
                                                        "and AWSEvents.TestEventPattern",
                                                        json_quoted(target)));

    // 415: the HTTP status that says the body's media type is the problem (a 400 would say the
    // body itself is); botocore and the SDKs name the error from x-amzn-ErrorType either way and
    // do not retry a 4xx.
    const auto content_type = header(request, "content-type").value_or("");
    const auto media_type = trim(content_type.substr(0, content_type.find(';')));
    if (!iequals(media_type, "application/x-amz-json-1.1") && !iequals(media_type, "application/x-amz-json-1.0"))
        return error_reply(415, "UnsupportedMediaTypeException",
                           fmt::format("Content-Type {} is not supported; send application/x-amz-json-1.1",
                                       json_quoted(content_type.empty() ? std::string_view("(none)") : content_type)));

    return is_put_events ? put_events(request.body) : test_event_pattern(request.body);
}

ingress_reply ingress_router::put_events(std::string_view body) const {
    auto read = read_put_events(body, options_.max_entries);
    if (auto* refused = std::get_if<ingress_reply>(&read)) return std::move(*refused);
    auto& parsed = std::get<std::vector<put_events_request_entry>>(read);

    std::vector<put_events_reply_entry> results(parsed.size());
    std::vector<bus*> targets(parsed.size(), nullptr);
    for (std::size_t i = 0; i < parsed.size(); ++i) {
        if (parsed[i].time_out_of_range) {
            results[i] = {{}, std::string(to_string(publish_errc::invalid_argument)),
                          "Parameter Time is not valid: it must lie between the years 1678 and 2261."};
            continue;
        }
        // An unknown bus fails its entry alone: one request may name several buses, and the
        // entries for the others are published (see http_ingress in ingress.hpp).
        targets[i] = find_bus(parsed[i].event_bus_name);
        if (targets[i] == nullptr)
            results[i] = {{}, "ResourceNotFoundException",
                          fmt::format("Event bus {} does not exist.",
                                      parsed[i].event_bus_name.empty() ? std::string_view("default") : parsed[i].event_bus_name)};
    }

    // Publish runs of consecutive entries for the same bus as one batch (order kept), no larger
    // than that bus's own max_batch_entries. bus::put_events blocks this (I/O) thread while it
    // publishes, and for a journaled bus while the journal writes: acceptable with `threads` > 1,
    // where the other threads keep serving other connections meanwhile.
    std::vector<put_events_entry> batch;
    std::vector<std::size_t> index;
    std::size_t i = 0;
    while (i < parsed.size()) {
        bus* target = targets[i];
        if (target == nullptr) {
            ++i;
            continue;
        }
        const std::size_t limit = std::max<std::size_t>(1, target->options().max_batch_entries);
        batch.clear();
        index.clear();
        while (i < parsed.size() && targets[i] == target && batch.size() < limit) {
            batch.push_back(std::move(parsed[i].entry));
            index.push_back(i);
            ++i;
        }
        auto result = target->put_events(batch);
        for (std::size_t k = 0; k < index.size() && k < result.entries.size(); ++k) {
            auto& r = result.entries[k];
            if (r.ok()) results[index[k]].event_id = std::move(r.event_id);
            else results[index[k]] = {{}, std::string(to_string(r.error_code)), std::move(r.error_message)};
        }
    }

    std::size_t failed = 0;
    for (const auto& r : results) failed += r.error_code.empty() ? 0 : 1;
    counts_.entries_failed.fetch_add(failed, std::memory_order_relaxed);
    counts_.entries_accepted.fetch_add(results.size() - failed, std::memory_order_relaxed);
    ingress_reply reply;
    reply.body = write_put_events_reply(results);
    return reply;
}

ingress_reply ingress_router::test_event_pattern(std::string_view body) const {
    auto read = read_test_event_pattern(body);
    if (auto* refused = std::get_if<ingress_reply>(&read)) return std::move(*refused);
    const auto& [pattern, event] = std::get<test_event_pattern_request>(read);
    if (pattern.empty() || event.empty())
        return error_reply(400, "ValidationException",
                           fmt::format("1 validation error detected: Value null at '{}' failed to satisfy constraint: Member must "
                                       "not be null",
                                       pattern.empty() ? "eventPattern" : "event"));
    try {
        ingress_reply reply;
        reply.body = explain(pattern, event).matched ? R"({"Result":true})" : R"({"Result":false})";
        return reply;
    } catch (const pattern_error& e) {
        return error_reply(400, "InvalidEventPatternException", fmt::format("Event pattern is not valid. Reason: {}", e.what()));
    } catch (const error& e) {
        return error_reply(400, "ValidationException", fmt::format("Parameter Event is not valid. Reason: {}", e.what()));
    }
}

}  // namespace http_detail

//=== The server =================================================================================

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = net::ip::tcp;

// Headers larger than this are refused with 431: no PutEvents request needs more (a SigV4
// Authorization header is a few hundred bytes).
constexpr std::uint32_t max_header_bytes = 16 * 1024;
// What one read asks the socket for.
constexpr std::size_t read_size = 16 * 1024;

class session;

// Everything the server shares between its sessions (http_ingress::impl is this; sessions name
// it here, where impl's name is private).
struct server {
    explicit server(ingress_options o) : options(std::move(o)), router(options, counts) {}

    ingress_options options;
    http_detail::ingress_router::counters counts;
    http_detail::ingress_router router;

    std::atomic<std::uint64_t> requests{0};
    std::atomic<std::uint64_t> client_errors{0};
    std::atomic<std::uint64_t> connections{0};

    enum class phase { configuring, running, stopped };
    std::mutex lifecycle;  // start() and stop() one at a time
    phase state = phase::configuring;
    std::atomic<std::uint16_t> bound_port{0};  // atomic: port() does not wait for a stop() in progress

    // The open sessions, so stop() can close idle ones at once and the rest after the drain.
    // `stopping` changes under the same lock, so a session registers either before stop() looks
    // at the set or sees `stopping` and closes itself.
    std::mutex sessions_mutex;
    std::condition_variable sessions_changed;
    std::unordered_map<const session*, std::weak_ptr<session>> sessions;
    bool stopping = false;
    std::atomic<bool> stopping_flag{false};  // the same, read without the lock on the hot path

    // Declared last: destroyed first, so handlers it still holds (and the sessions they own)
    // end while the members above are alive.
    // The hint must be the number of threads: 1 would tell Asio that a single thread runs it,
    // and it would drop the locking several threads need.
    net::io_context io{static_cast<int>(options.threads)};
    // Keeps the I/O threads running until stop() has seen every session end: without it a
    // thread could run out of work (the last session's read ended with the client's close) and
    // return while stop() still held that session and then posted its close to an io_context
    // nobody ran any more, waiting forever for the session to go (seen under ThreadSanitizer).
    std::optional<net::executor_work_guard<net::io_context::executor_type>> work;
    std::optional<tcp::acceptor> acceptor;
    std::vector<std::thread> threads;

    void do_accept();
    bool register_session(const std::shared_ptr<session>& s);
    void unregister_session(const session* s);
};

// One connection. Its handlers run one at a time (on its own strand when several threads serve);
// the io_context threads serve many sessions at once, so a slow client only ever occupies its own
// session.
class session : public std::enable_shared_from_this<session> {
public:
    session(tcp::socket socket, server& owner) : owner_(owner), stream_(std::move(socket)) {}

    ~session() { owner_.unregister_session(this); }

    void start() {
        net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->wait_for_request(); });
    }

    // From stop(): a session waiting for its next request has nothing in flight, so it closes now;
    // one in the middle of a request finishes it (and then closes, as `stopping` is set).
    void close_if_idle() {
        net::post(stream_.get_executor(), [self = shared_from_this()] {
            if (self->idle_) self->close();
        });
    }
    // From stop() after the drain: whatever is left is cut off.
    void close_now() {
        net::post(stream_.get_executor(), [self = shared_from_this()] { self->close(); });
    }

private:
    // Between requests. The first request's time limit counts from the connection's accept, so a
    // client that connects and sends nothing is cut off after request_timeout; a kept-alive
    // connection waits up to idle_timeout for the first byte of its next request, and then has
    // request_timeout for the whole of it.
    void wait_for_request() {
        idle_ = true;
        if (owner_.stopping_flag.load(std::memory_order_acquire)) return close();
        stream_.expires_after(first_ ? owner_.options.request_timeout : owner_.options.idle_timeout);
        skip_empty_lines();
        if (buffer_.size() > 0) return start_request();  // a pipelined request is already here
        stream_.async_read_some(buffer_.prepare(4096), [self = shared_from_this()](beast::error_code ec, std::size_t n) {
            self->buffer_.commit(n);
            if (ec && n == 0) return self->close();
            self->start_request();
        });
    }

    void start_request() {
        idle_ = false;
        if (!first_) stream_.expires_after(owner_.options.request_timeout);
        first_ = false;
        parser_.emplace();
        parser_->header_limit(max_header_bytes);
        parser_->body_limit(owner_.options.max_body_bytes);
        header_checked_ = false;
        parse_buffered();
    }

    // Feeds what the buffer holds to the parser, and reads more while the request is incomplete.
    // Parsing in place, rather than one asynchronous read for the header and another for the
    // body, saves two trips through the I/O scheduler per request: a PutEvents request nearly
    // always arrives whole in one read.
    void parse_buffered() {
        beast::error_code ec;
        // Empty lines before a request line are ignored, as RFC 9112 §2.2 asks of a server (some
        // clients send a CRLF after a POST's body).
        if (!parser_->got_some()) skip_empty_lines();
        while (buffer_.size() > 0 && !parser_->is_done()) {
            const std::size_t used = parser_->put(buffer_.data(), ec);
            buffer_.consume(used);
            if (ec == bhttp::error::need_more) break;
            if (ec) return on_read_error(ec);
            if (parser_->is_header_done() && !header_checked_) {
                header_checked_ = true;
                if (!on_header()) return;  // answered, or asked for the body with 100 Continue
            }
        }
        if (parser_->is_done()) return on_request();
        read_more();
    }

    void skip_empty_lines() {
        const auto bytes = buffer_.data();
        const auto* first = static_cast<const char*>(bytes.data());
        std::size_t skipped = 0;
        while (skipped < bytes.size() && (first[skipped] == '\r' || first[skipped] == '\n')) ++skipped;
        buffer_.consume(skipped);
    }

    void read_more() {
        // The parser consumes a body as it arrives and refuses headers past max_header_bytes;
        // what it leaves unconsumed beyond that is one endless token that Beast does not bound
        // (a chunk's size line with extensions, a trailer section): refused before it grows.
        if (buffer_.size() > max_header_bytes + read_size)
            return send(http_detail::error_reply(400, "SerializationException",
                                                 fmt::format("malformed HTTP request: a chunk size line or trailer section is "
                                                             "longer than {} bytes",
                                                             max_header_bytes + read_size)),
                        false);
        stream_.async_read_some(buffer_.prepare(read_size), [self = shared_from_this()](beast::error_code ec, std::size_t n) {
            self->buffer_.commit(n);
            // A timeout (a slow client), a reset or a close mid-request: nothing to answer, or no
            // one to answer.
            if (ec) return self->close();
            self->parse_buffered();
        });
    }

    // The header is in: false when it has been answered (a body too large, from Content-Length
    // alone, before a byte of it is read) or the body waits for a 100 Continue being sent.
    bool on_header() {
        const auto& request = parser_->get();
        if (const auto length = parser_->content_length(); length && *length > owner_.options.max_body_bytes) {
            refuse_oversize();
            return false;
        }
        if (!parser_->is_done() && buffer_.size() == 0 && beast::iequals(request[bhttp::field::expect], "100-continue")) {
            auto cont = std::make_shared<bhttp::response<bhttp::empty_body>>(bhttp::status::continue_, request.version());
            bhttp::async_write(stream_, *cont, [self = shared_from_this(), cont](beast::error_code write_ec, std::size_t) {
                if (write_ec) return self->close();
                self->parse_buffered();
            });
            return false;
        }
        return true;
    }

    // The parser's own errors: a malformed or oversize request gets a reply, then the connection
    // closes (the rest of the stream cannot be framed).
    void on_read_error(beast::error_code ec) {
        if (ec == bhttp::error::body_limit) return refuse_oversize();
        if (ec == bhttp::error::header_limit)
            return send(http_detail::error_reply(431, "RequestHeaderFieldsTooLarge",
                                                 fmt::format("request headers are larger than {} bytes", max_header_bytes)),
                        false);
        send(http_detail::error_reply(400, "SerializationException", fmt::format("malformed HTTP request: {}", ec.message())), false);
    }

    void refuse_oversize() {
        send(http_detail::error_reply(413, "RequestEntityTooLarge",
                                      fmt::format("request body is larger than {} bytes", owner_.options.max_body_bytes)),
             false);
    }

    void on_request() {
        const auto& request = parser_->get();
        http_detail::request_view view;
        view.method = request.method_string();
        view.target = request.target();
        view.body = request.body();
        for (const auto& field : request) view.headers.emplace_back(field.name_string(), field.value());
        // The router may block in bus::put_events (see ingress_router::put_events); the expiry is
        // stopped meanwhile so a slow publish does not read as a slow client.
        stream_.expires_never();
        auto reply = owner_.router.handle(view, std::chrono::system_clock::now());
        send(std::move(reply), request.keep_alive());
    }

    void send(http_detail::ingress_reply reply, bool keep_alive) {
        idle_ = false;
        keep_alive = keep_alive && !reply.close && !owner_.stopping_flag.load(std::memory_order_acquire);
        response_ = {};
        response_.version(11);
        response_.result(reply.status);
        response_.set(bhttp::field::content_type, reply.content_type);
        response_.set("x-amzn-RequestId", detail::make_uuid_v4());
        for (auto& [name, value] : reply.headers) response_.set(name, value);
        response_.body() = std::move(reply.body);
        response_.keep_alive(keep_alive);
        response_.prepare_payload();
        owner_.requests.fetch_add(1, std::memory_order_relaxed);
        if (reply.status >= 400 && reply.status < 500) owner_.client_errors.fetch_add(1, std::memory_order_relaxed);
        stream_.expires_after(owner_.options.request_timeout);  // a client that will not read is cut off too
        bhttp::async_write(stream_, response_, [self = shared_from_this(), keep_alive](beast::error_code ec, std::size_t) {
            if (ec) return self->close();
            if (!keep_alive) return self->linger();
            self->wait_for_request();
        });
    }

    // After a final reply: stop sending, then read and discard whatever the client still sends
    // (an oversize body we refused) for a moment, so closing does not reset the connection before
    // the client has read the reply.
    void linger() {
        idle_ = true;
        beast::error_code ignored;
        stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
        stream_.expires_after(std::min<std::chrono::milliseconds>(owner_.options.request_timeout, std::chrono::seconds(2)));
        discard();
    }
    void discard() {
        buffer_.clear();
        stream_.async_read_some(buffer_.prepare(16 * 1024), [self = shared_from_this()](beast::error_code ec, std::size_t) {
            if (ec) return self->close();
            self->discard();
        });
    }

    void close() {
        beast::error_code ignored;
        stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
        stream_.close();
    }

    server& owner_;
    beast::tcp_stream stream_;
    beast::flat_buffer buffer_;
    std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
    bhttp::response<bhttp::string_body> response_;
    // Touched only by the session's handlers, which run one at a time.
    bool idle_ = true;             // waiting for a request's first byte: nothing in flight
    bool header_checked_ = false;  // on_header() ran for the request being read
    bool first_ = true;            // no request read yet on this connection
};

}  // namespace

struct http_ingress::impl : server {
    using server::server;
};

namespace {

bool server::register_session(const std::shared_ptr<session>& s) {
    std::lock_guard lock(sessions_mutex);
    if (stopping) return false;
    sessions.emplace(s.get(), s);
    connections.fetch_add(1, std::memory_order_relaxed);
    return true;
}

void server::unregister_session(const session* s) {
    std::lock_guard lock(sessions_mutex);
    if (sessions.erase(s) > 0) connections.fetch_sub(1, std::memory_order_relaxed);
    sessions_changed.notify_all();
}

void server::do_accept() {
    // A session's handlers run one at a time: on a strand when several threads run the
    // io_context, and on its one thread otherwise (where a strand would only add a queue).
    const auto executor = options.threads > 1 ? net::any_io_executor(net::make_strand(io)) : net::any_io_executor(io.get_executor());
    acceptor->async_accept(executor, [this](beast::error_code ec, tcp::socket socket) {
        if (ec == net::error::operation_aborted || !acceptor->is_open()) return;  // stop() closed it
        if (!ec) {
            // Over the limit: accepted and closed at once, so the client learns at once rather
            // than waiting in the backlog.
            if (connections.load(std::memory_order_relaxed) >= options.max_connections) {
                beast::error_code ignored;
                socket.shutdown(tcp::socket::shutdown_both, ignored);
                socket.close(ignored);
            } else {
                auto s = std::make_shared<session>(std::move(socket), *this);
                if (register_session(s)) s->start();
            }
        }
        do_accept();  // an accept error (too many open files, say) concerns that connection only
    });
}

}  // namespace

http_ingress::http_ingress(ingress_options options) {
    if (options.threads == 0) throw error("http_ingress: ingress_options::threads must be at least 1");
    if (options.max_body_bytes == 0) throw error("http_ingress: ingress_options::max_body_bytes must be at least 1");
    if (options.max_entries == 0) throw error("http_ingress: ingress_options::max_entries must be at least 1");
    if (options.max_connections == 0) throw error("http_ingress: ingress_options::max_connections must be at least 1");
    if (options.request_timeout <= std::chrono::milliseconds::zero())
        throw error("http_ingress: ingress_options::request_timeout must be positive");
    if (options.idle_timeout <= std::chrono::milliseconds::zero())
        throw error("http_ingress: ingress_options::idle_timeout must be positive");
    if (const auto* bearer = std::get_if<bearer_token_auth>(&options.auth); bearer && bearer->token.empty())
        throw error("http_ingress: bearer_token_auth::token must not be empty");
    if (const auto* sigv4 = std::get_if<sigv4_auth>(&options.auth); sigv4 && sigv4->keys.empty())
        throw error("http_ingress: sigv4_auth::keys must name at least one access key");
    impl_ = std::make_unique<impl>(std::move(options));
}

http_ingress::~http_ingress() { stop(); }

void http_ingress::add_bus(bus& b) {
    std::lock_guard lock(impl_->lifecycle);
    if (impl_->state != server::phase::configuring)
        throw error(fmt::format("http_ingress::add_bus('{}'): add buses before start()", b.name()));
    impl_->router.add_bus(b);
}

void http_ingress::start() {
    std::lock_guard lock(impl_->lifecycle);
    if (impl_->state != server::phase::configuring) throw error("http_ingress::start: already started (an ingress starts once)");
    auto& m = *impl_;
    beast::error_code ec;
    const auto address = net::ip::make_address(m.options.address, ec);
    if (ec) throw error(fmt::format("http_ingress: '{}' is not an IP address: {}", m.options.address, ec.message()));
    const tcp::endpoint endpoint(address, m.options.port);
    m.acceptor.emplace(net::make_strand(m.io));
    auto fail = [&](std::string_view step) {
        throw error(fmt::format("http_ingress: cannot {} {}:{}: {}", step, m.options.address, m.options.port, ec.message()));
    };
    if (m.acceptor->open(endpoint.protocol(), ec)) fail("open a socket for");
    if (m.acceptor->set_option(net::socket_base::reuse_address(true), ec)) fail("set SO_REUSEADDR on");
    if (m.acceptor->bind(endpoint, ec)) fail("bind");
    if (m.acceptor->listen(net::socket_base::max_listen_connections, ec)) fail("listen on");
    m.bound_port = m.acceptor->local_endpoint().port();
    m.do_accept();
    m.state = server::phase::running;
    m.threads.reserve(m.options.threads);
    m.work.emplace(net::make_work_guard(m.io));
    for (unsigned i = 0; i < m.options.threads; ++i) m.threads.emplace_back([&m] { m.io.run(); });
}

std::uint16_t http_ingress::port() const { return impl_->bound_port.load(); }

bool http_ingress::stop(std::chrono::milliseconds drain) {
    std::lock_guard lock(impl_->lifecycle);
    auto& m = *impl_;
    if (m.state != server::phase::running) {
        m.state = server::phase::stopped;
        return true;
    }
    std::vector<std::shared_ptr<session>> open;
    {
        std::lock_guard sessions_lock(m.sessions_mutex);
        m.stopping = true;
        m.stopping_flag.store(true, std::memory_order_release);
        for (auto& [key, weak] : m.sessions)
            if (auto s = weak.lock()) open.push_back(std::move(s));
    }
    net::post(m.acceptor->get_executor(), [&m] {
        beast::error_code ignored;
        m.acceptor->close(ignored);
    });
    for (auto& s : open) s->close_if_idle();
    open.clear();  // the sessions' own handlers keep them alive; holding them here would not let them end

    bool clean = true;
    {
        std::unique_lock sessions_lock(m.sessions_mutex);
        clean = m.sessions_changed.wait_for(sessions_lock, drain, [&] { return m.sessions.empty(); });
        if (!clean)
            for (auto& [key, weak] : m.sessions)
                if (auto s = weak.lock()) open.push_back(std::move(s));
    }
    for (auto& s : open) s->close_now();
    open.clear();
    // Closing a socket ends its pending operations at once; a session still inside
    // bus::put_events finishes that call first (the entries it publishes are accepted, and its
    // reply is dropped).
    {
        std::unique_lock sessions_lock(m.sessions_mutex);
        m.sessions_changed.wait(sessions_lock, [&] { return m.sessions.empty(); });
    }
    m.work.reset();                        // every session is gone: the threads may run out of work now
    for (auto& t : m.threads) t.join();  // nothing is left to run: each run() returns
    m.threads.clear();
    m.state = server::phase::stopped;
    return clean;
}

http_ingress::statistics http_ingress::stats() const {
    const auto& m = *impl_;
    statistics s;
    s.requests = m.requests.load(std::memory_order_relaxed);
    s.entries_accepted = m.counts.entries_accepted.load(std::memory_order_relaxed);
    s.entries_failed = m.counts.entries_failed.load(std::memory_order_relaxed);
    s.client_errors = m.client_errors.load(std::memory_order_relaxed);
    s.connections = m.connections.load(std::memory_order_relaxed);
    return s;
}

}  // namespace switchyard
