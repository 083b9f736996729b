// HTTP targets (EventBridge's API destinations) on libcurl. Each target owns shared state that
// every copy of its handler holds: the validated options, a pool of curl easy handles (each keeps
// its connections alive, so deliveries reuse them), the rate limiter and the OAuth token cache.
// The last copy of the handler to go cleans the handles up.
#include "switchyard/http/http_target.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <climits>
#include <cmath>
#include <fstream>
#include <memory>
#include <mutex>
#include <new>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "http/target_rate_limiter.hpp"
#include "http/target_retry_after.hpp"
#include "switchyard/error.hpp"
#include "switchyard/version.hpp"

namespace switchyard {
namespace {

using namespace std::chrono_literals;
using http_detail::target_rate_limiter;

/// How much of a response body a failure's message quotes.
constexpr std::size_t quoted_body_chars = 200;
/// Idle easy handles a target keeps (each with its connections); more concurrent deliveries than
/// this still work, their extra handles are closed when they finish.
constexpr std::size_t max_idle_handles = 16;
/// The slowest rate accepted: one request a day (a slower one would make the spacing overflow
/// nothing useful; 0 turns the limit off).
constexpr double min_rate_per_second = 1.0 / 86400;

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() &&
           std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y)); });
}

// curl_global_init is not thread-safe and must come before any other curl call; curl_global_cleanup
// is never called, since other code in the process may still use curl.
void init_curl_once() {
    static std::once_flag once;
    std::call_once(once, [] {
        if (const CURLcode rc = curl_global_init(CURL_GLOBAL_DEFAULT); rc != CURLE_OK)
            throw error(std::string("http_target: libcurl failed to initialise: ") + curl_easy_strerror(rc));
    });
}

//=== validation ===================================================================================

// RFC 9110 §5.6.2's tchar: what a header name may hold.
bool is_tchar(char c) {
    if (std::isalnum(static_cast<unsigned char>(c))) return true;
    return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

void check_header(const std::string& where, std::string_view name, std::string_view value) {
    if (name.empty()) throw error(where + ": a header has an empty name: give it a name such as \"x-api-key\"");
    for (const char c : name)
        if (!is_tchar(c))
            throw error(where + ": header name \"" + std::string(name) +
                        "\" contains a character a header name may not hold: use letters, digits and !#$%&'*+-.^_`|~");
    for (const char c : value)
        if (c == '\r' || c == '\n' || c == '\0')
            throw error(where + ": the value of header \"" + std::string(name) +
                        "\" contains CR, LF or NUL, which would end the header early: remove them");
}

struct curl_url_deleter {
    void operator()(CURLU* u) const noexcept { curl_url_cleanup(u); }
};

// A URL the target can send to: http:// or https://, with a host and without credentials.
void check_url(const std::string& where, const std::string& url) {
    const std::string example = " (e.g. https://api.example.com/events)";
    if (url.empty()) throw error(where + " is empty: give an http:// or https:// URL" + example);
    const std::string l = lower(url.substr(0, 8));
    if (l.rfind("http://", 0) != 0 && l.rfind("https://", 0) != 0)
        throw error(where + " \"" + url + "\" must start with http:// or https://" + example);
    for (const char c : url)
        if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f)
            throw error(where + " \"" + url + "\" contains a space or a control character: percent-encode it (a space is %20)");
    // curl would read "http:///x" as the host "x": that is a URL missing its host.
    if (url[url.find("://") + 3] == '/') throw error(where + " \"" + url + "\" has no host" + example);
    std::unique_ptr<CURLU, curl_url_deleter> u(curl_url());
    if (!u) throw std::bad_alloc();
    if (const CURLUcode rc = curl_url_set(u.get(), CURLUPART_URL, url.c_str(), 0); rc != CURLUE_OK)
        throw error(where + " \"" + url + "\" is not a valid URL (" + curl_url_strerror(rc) + ")" + example);
    char* part = nullptr;
    if (curl_url_get(u.get(), CURLUPART_HOST, &part, 0) != CURLUE_OK || part == nullptr || *part == '\0') {
        curl_free(part);
        throw error(where + " \"" + url + "\" has no host" + example);
    }
    curl_free(part);
    part = nullptr;
    if (curl_url_get(u.get(), CURLUPART_USER, &part, 0) == CURLUE_OK) {
        curl_free(part);
        // They would also show in every failure's message, which names the URL.
        throw error(where + " \"" + url + "\" holds credentials: put them in the options' auth (basic_auth) instead");
    }
}

const char* const allowed_methods[] = {"POST", "PUT", "PATCH", "GET", "DELETE"};

void validate(const std::string& id, const http_target_options& o) {
    const std::string where = "http_target \"" + id + "\"";
    check_url(where + ": url", o.url);
    if (std::find(std::begin(allowed_methods), std::end(allowed_methods), o.method) == std::end(allowed_methods))
        throw error(where + ": method \"" + o.method + "\" is not one of POST, PUT, PATCH, GET, DELETE (in capitals: methods are case-sensitive)");
    if (!std::isfinite(o.rate_limit_per_second) || o.rate_limit_per_second < 0)
        throw error(where + ": rate_limit_per_second must be a finite number >= 0 (0: no limit)");
    if (o.rate_limit_per_second > 0 && o.rate_limit_per_second < min_rate_per_second)
        throw error(where + ": rate_limit_per_second is below one request a day: use 0 for no limit, or a larger rate");
    if (o.timeout <= 0ms) throw error(where + ": timeout must be positive (EventBridge uses 5 seconds)");
    for (const auto& [name, value] : o.headers) {
        check_header(where, name, value);
        // The body's framing is curl's to write; a second Content-Length would corrupt it.
        if (iequals(name, "content-length") || iequals(name, "transfer-encoding"))
            throw error(where + ": header \"" + name + "\" is set by the target from the body: remove it");
        if (iequals(name, "authorization") && !std::holds_alternative<std::monostate>(o.auth))
            throw error(where + ": an Authorization header conflicts with the options' auth: use one or the other");
    }
    check_header(where, "Content-Type", o.content_type);
    if (!o.ca_file.empty() && !std::ifstream(o.ca_file).good())
        throw error(where + ": ca_file \"" + o.ca_file + "\" cannot be read: give the path of a PEM CA bundle, or leave it empty for the system's");
    if (const auto* key = std::get_if<api_key_auth>(&o.auth)) {
        check_header(where + ": api_key_auth", key->header, key->value);
    } else if (const auto* basic = std::get_if<basic_auth>(&o.auth)) {
        // RFC 7617: the user-id ends at the first colon, so one inside it would be misread.
        if (basic->username.find(':') != std::string::npos)
            throw error(where + ": basic_auth's username may not contain ':' (RFC 7617)");
    } else if (const auto* oauth = std::get_if<oauth_client_credentials>(&o.auth)) {
        check_url(where + ": oauth_client_credentials' token_url", oauth->token_url);
        if (oauth->client_id.empty()) throw error(where + ": oauth_client_credentials' client_id is empty: give the client id the authorization server issued");
    }
}

//=== one request =================================================================================

struct slist_deleter {
    void operator()(curl_slist* l) const noexcept { curl_slist_free_all(l); }
};
using header_list = std::unique_ptr<curl_slist, slist_deleter>;

void append(header_list& list, const std::string& line) {
    curl_slist* grown = curl_slist_append(list.get(), line.c_str());
    if (grown == nullptr) throw std::bad_alloc();
    static_cast<void>(list.release());  // now owned by `grown`, its new head (the same node or a new one)
    list.reset(grown);
}

// A header line as curl takes it: "Name:" with nothing after it would remove the header, so an
// empty value is written "Name;".
std::string header_line(std::string_view name, std::string_view value) {
    if (value.empty()) return std::string(name) + ";";
    return std::string(name) + ": " + std::string(value);
}

// application/x-www-form-urlencoded (RFC 6749 Appendix B).
std::string form_encode(std::string_view s) {
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string out;
    for (const char ch : s) {
        const auto c = static_cast<unsigned char>(ch);
        if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '*') out += ch;
        else if (c == ' ') out += '+';
        else {
            out += '%';
            out += hex[c >> 4];
            out += hex[c & 0xf];
        }
    }
    return out;
}

struct request {
    const std::string* url = nullptr;
    const char* method = "POST";
    std::string_view body;
    bool sends_body = true;
    curl_slist* headers = nullptr;
    const std::string* username = nullptr;  // HTTP Basic when set
    const std::string* password = nullptr;
};

struct response {
    CURLcode code = CURLE_OK;
    std::string curl_error;
    long status = 0;
    std::string body;  // its first quoted_body_chars * 2 bytes: enough to quote
    std::string retry_after;
    std::string location;
};

// Keeps the start of the body: enough to quote in a failure, without holding a large one.
std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) noexcept {
    auto* r = static_cast<response*>(user);
    const std::size_t bytes = size * count;
    try {
        const std::size_t keep = 2 * quoted_body_chars;
        if (r->body.size() < keep) r->body.append(data, std::min(bytes, keep - r->body.size()));
    } catch (...) {
        return 0;  // curl fails the transfer with CURLE_WRITE_ERROR; never throw through C
    }
    return bytes;
}

// Called for each header line of each response, interim 1xx ones included: a status line starts
// a new response, whose headers replace those kept from the one before.
std::size_t on_header(char* data, std::size_t size, std::size_t count, void* user) noexcept {
    auto* r = static_cast<response*>(user);
    const std::size_t bytes = size * count;
    std::string_view line(data, bytes);
    try {
        if (line.size() >= 5 && iequals(line.substr(0, 5), "HTTP/")) {
            r->retry_after.clear();
            r->location.clear();
            return bytes;
        }
        const auto colon = line.find(':');
        if (colon == std::string_view::npos) return bytes;
        const auto name = line.substr(0, colon);
        auto value = line.substr(colon + 1);
        while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
        while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' ' || value.back() == '\t'))
            value.remove_suffix(1);
        if (iequals(name, "retry-after")) r->retry_after.assign(value);
        else if (iequals(name, "location")) r->location.assign(value.substr(0, 500));
    } catch (...) {
        return 0;
    }
    return bytes;
}

// The options every request of a target shares (the handle was reset, so all are set again).
struct transport_options {
    long timeout_ms = 5000;
    bool verify_tls = true;
    std::string ca_file;
};

// Sends one request on `h` (reset afterwards by its lease) and waits for the answer.
response perform(CURL* h, const request& req, const transport_options& t) {
    response r;
    char error_text[CURL_ERROR_SIZE] = {};
    curl_easy_setopt(h, CURLOPT_URL, req.url->c_str());
    // Threads: no SIGALRM for DNS timeouts (they would hit whichever thread).
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
#else
    curl_easy_setopt(h, CURLOPT_PROTOCOLS, static_cast<long>(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    // Redirects are not followed: an API destination's URL is its contract, and following one
    // would resend the body (and its credentials) to wherever the response points.
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, t.timeout_ms);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, t.timeout_ms);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, t.verify_tls ? 1L : 0L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, t.verify_tls ? 2L : 0L);
    if (!t.ca_file.empty()) curl_easy_setopt(h, CURLOPT_CAINFO, t.ca_file.c_str());
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, error_text);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &r);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, &on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &r);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, req.headers);
    if (req.username != nullptr) {
        curl_easy_setopt(h, CURLOPT_HTTPAUTH, static_cast<long>(CURLAUTH_BASIC));
        curl_easy_setopt(h, CURLOPT_USERNAME, req.username->c_str());
        curl_easy_setopt(h, CURLOPT_PASSWORD, req.password->c_str());
    }
    const std::string_view method(req.method);
    if (req.sends_body) {
        curl_easy_setopt(h, CURLOPT_POST, 1L);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
        // Never null: curl would then read the body from its read callback, stdin by default.
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, req.body.empty() ? "" : req.body.data());
        if (method != "POST") curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req.method);  // PUT, PATCH: POST's framing
    } else {
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
        if (method != "GET") curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req.method);  // DELETE
    }
    r.code = curl_easy_perform(h);
    if (r.code != CURLE_OK) r.curl_error = error_text[0] != '\0' ? std::string(error_text) : std::string(curl_easy_strerror(r.code));
    else curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r.status);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, static_cast<char*>(nullptr));  // about to go out of scope
    return r;
}

// The start of a body for a message: one line, at most quoted_body_chars bytes, never cutting a
// UTF-8 sequence in two.
std::string quote_body(std::string_view body) {
    std::string out;
    for (const char c : body) out += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? ' ' : c;
    const bool cut = out.size() > quoted_body_chars;
    if (cut) {
        std::size_t end = quoted_body_chars;
        while (end > 0 && (static_cast<unsigned char>(out[end]) & 0xC0) == 0x80) --end;
        out.resize(end);
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
    if (cut) out += "...";
    return out;
}

std::string describe_status(const std::string& url, const response& r) {
    std::string text = "HTTP " + std::to_string(r.status) + " from " + url;
    const std::string quoted = quote_body(r.body);
    if (!quoted.empty()) text += ": " + quoted;
    return text;
}

//=== shared state =================================================================================

// Easy handles kept between deliveries: each holds its own connection cache, so a handle taken
// again reuses the connection its last request left open.
class handle_pool {
public:
    handle_pool() = default;
    handle_pool(const handle_pool&) = delete;
    handle_pool& operator=(const handle_pool&) = delete;
    ~handle_pool() {
        for (CURL* h : idle_) curl_easy_cleanup(h);
    }

    // A handle for one request, back in the pool (reset, its connections kept) when it ends.
    class lease {
    public:
        lease(handle_pool& pool, CURL* h) : pool_(&pool), h_(h) {}
        lease(const lease&) = delete;
        lease& operator=(const lease&) = delete;
        ~lease() { pool_->release(h_); }
        CURL* get() const noexcept { return h_; }

    private:
        handle_pool* pool_;
        CURL* h_;
    };

    lease acquire() {
        {
            std::lock_guard lock(mutex_);
            if (!idle_.empty()) {
                // The most recently used: its connection is the likeliest still to be open.
                CURL* h = idle_.back();
                idle_.pop_back();
                return lease(*this, h);
            }
        }
        CURL* h = curl_easy_init();
        if (h == nullptr) throw std::bad_alloc();
        return lease(*this, h);
    }

private:
    void release(CURL* h) noexcept {
        // Reset drops the request's options (pointers into it included) but keeps the handle's
        // live connections, DNS and TLS session caches.
        curl_easy_reset(h);
        {
            std::lock_guard lock(mutex_);
            if (idle_.size() < max_idle_handles) {
                try {
                    idle_.push_back(h);
                    return;
                } catch (...) {
                }
            }
        }
        curl_easy_cleanup(h);
    }

    std::mutex mutex_;
    std::vector<CURL*> idle_;
};

// A bearer token, or why none could be had.
using token_or_failure = std::variant<std::string, outcome>;

// OAuth client credentials (RFC 6749 §4.4): one token for all deliveries, fetched again shortly
// before it expires or when the destination refuses it.
class oauth_cache {
public:
    oauth_cache(oauth_client_credentials credentials, std::string user_agent)
        : credentials_(std::move(credentials)), user_agent_(std::move(user_agent)),
          username_(form_encode(credentials_.client_id)), password_(form_encode(credentials_.client_secret)) {}

    token_or_failure token(CURL* h, const transport_options& transport) {
        // Held while fetching: deliveries that need a token meanwhile wait for this one instead
        // of each asking the authorization server for its own.
        std::lock_guard lock(mutex_);
        if (!token_.empty() && std::chrono::steady_clock::now() < refresh_at_) return token_;
        token_.clear();
        return fetch(h, transport);
    }

    // The destination refused `token` (401): the next delivery fetches another. A token fetched
    // since by another delivery is kept.
    void refused(const std::string& token) {
        std::lock_guard lock(mutex_);
        if (token_ == token) token_.clear();
    }

private:
    token_or_failure fetch(CURL* h, const transport_options& transport) {
        const std::string& url = credentials_.token_url;
        std::string body = "grant_type=client_credentials";
        if (!credentials_.scope.empty()) body += "&scope=" + form_encode(credentials_.scope);
        header_list headers;
        append(headers, "Content-Type: application/x-www-form-urlencoded");
        append(headers, "Accept: application/json");
        append(headers, "User-Agent: " + user_agent_);
        append(headers, "Expect:");
        // RFC 6749 §2.3.1: the client id and secret, form-encoded, as HTTP Basic credentials.
        const request req{.url = &url, .method = "POST", .body = body, .sends_body = true, .headers = headers.get(),
                          .username = &username_, .password = &password_};
        const auto started = std::chrono::steady_clock::now();
        const response r = perform(h, req, transport);
        const std::string what = "OAuth token request to " + url;
        if (r.code != CURLE_OK) return outcome::retry(what + " failed: " + r.curl_error);
        if (r.status < 200 || r.status > 299) return outcome::retry(what + " failed: " + describe_status(url, r));
        if (r.body.size() >= 2 * quoted_body_chars) {
            // on_body kept only the start: a token response is small, so this one is not one.
            return outcome::retry(what + ": the response is too long to be a token response: " + quote_body(r.body));
        }
        const auto json = nlohmann::json::parse(r.body, nullptr, false);
        if (json.is_discarded() || !json.is_object() || !json.contains("access_token") || !json["access_token"].is_string() ||
            json["access_token"].get<std::string>().empty())
            return outcome::retry(what + ": the response has no access_token: " + quote_body(r.body));
        if (json.contains("token_type") &&
            (!json["token_type"].is_string() || !iequals(json["token_type"].get<std::string>(), "bearer")))
            return outcome::retry(what + ": token_type is " + json["token_type"].dump() + ", not Bearer");
        std::string token = json["access_token"].get<std::string>();
        for (const char c : token)
            if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return outcome::retry(what + ": the access_token holds control characters");
        // Without expires_in the lifetime is unknown: the token is kept until it is refused.
        refresh_at_ = std::chrono::steady_clock::time_point::max();
        if (json.contains("expires_in")) {
            double seconds = -1;
            if (json["expires_in"].is_number()) seconds = json["expires_in"].get<double>();
            else if (json["expires_in"].is_string()) {  // some servers quote it
                try {
                    seconds = std::stod(json["expires_in"].get<std::string>());
                } catch (...) {
                }
            }
            if (std::isfinite(seconds) && seconds >= 0) {
                // Renewed shortly before it expires, so that no request goes out with a token
                // about to lapse: a quarter of its lifetime early, at most a minute. Counted from
                // when it was asked for, since the server's clock started before its answer.
                seconds = std::min(seconds, 366.0 * 86400);
                const auto lifetime = std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(seconds));
                const auto margin = std::min<std::chrono::steady_clock::duration>(lifetime / 4, 60s);
                refresh_at_ = started + lifetime - margin;
            }
        }
        token_ = token;
        return token;
    }

    const oauth_client_credentials credentials_;
    const std::string user_agent_;
    const std::string username_;  // form-encoded, as RFC 6749 §2.3.1 wants before Basic
    const std::string password_;
    std::mutex mutex_;
    std::string token_;  // empty: none
    std::chrono::steady_clock::time_point refresh_at_{};
};

bool retryable_status(long status) {
    // As EventBridge's API destinations: 401 (credentials may be renewed meanwhile), 407, 409,
    // 429 and 5xx are retried; every other non-2xx fails for good.
    return status == 401 || status == 407 || status == 409 || status == 429 || (status >= 500 && status <= 599);
}

class http_target_state {
public:
    http_target_state(std::string id, http_target_options o)
        : id_(std::move(id)), options_(std::move(o)),
          user_agent_(std::string("switchyard/") + std::string(version().text)) {
        transport_.timeout_ms = static_cast<long>(std::min<std::chrono::milliseconds::rep>(options_.timeout.count(), LONG_MAX));
        transport_.verify_tls = options_.verify_tls;
        transport_.ca_file = options_.ca_file;
        sends_body_ = options_.method != "GET" && options_.method != "DELETE";
        bool user_content_type = false;
        bool user_agent = false;
        for (const auto& [name, value] : options_.headers) {
            fixed_headers_.push_back(header_line(name, value));
            user_content_type = user_content_type || iequals(name, "content-type");
            user_agent = user_agent || iequals(name, "user-agent");
        }
        // A header the user set wins over the target's own.
        if (!user_agent) fixed_headers_.push_back("User-Agent: " + user_agent_);
        content_type_ = sends_body_ && !user_content_type ? options_.content_type : std::string();
        default_content_type_ = options_.content_type == http_target_options{}.content_type;
        // curl would send "Expect: 100-continue" before a large body and wait a round trip.
        if (sends_body_) fixed_headers_.push_back("Expect:");
        if (const auto* key = std::get_if<api_key_auth>(&options_.auth)) fixed_headers_.push_back(header_line(key->header, key->value));
        if (const auto* oauth = std::get_if<oauth_client_credentials>(&options_.auth))
            oauth_.emplace(*oauth, user_agent_);
        if (options_.rate_limit_per_second > 0) {
            const auto interval = std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                std::chrono::duration<double>(1.0 / options_.rate_limit_per_second));
            if (interval > std::chrono::steady_clock::duration::zero()) {
                limiter_.emplace(interval);
                // The longest a delivery waits for its turn in the handler (its executor's thread
                // held, and drain() or shutdown waiting for it): a second, or one interval at
                // rates below one a second so that a lone request always waits its turn.
                max_rate_wait_ = std::max<std::chrono::steady_clock::duration>(1s, interval);
            }
        }
    }

    outcome deliver(const any_event& e, const delivery_info& info) {
        const std::string_view body = !sends_body_ ? std::string_view() : info.payload ? *info.payload : std::string_view(e.json());

        std::string bearer;
        if (oauth_) {
            auto token = oauth_->token(pool_.acquire().get(), transport_);
            if (auto* failed = std::get_if<outcome>(&token)) return std::move(*failed);
            bearer = std::move(std::get<std::string>(token));
        }

        header_list headers;
        for (const auto& line : fixed_headers_) append(headers, line);
        if (!content_type_.empty()) {
            // A plain-text template's output is not JSON: the default type would misname it.
            const bool plain_text = default_content_type_ && info.payload && !info.payload_is_json;
            append(headers, "Content-Type: " + (plain_text ? std::string("text/plain; charset=utf-8") : content_type_));
        }
        // The event's id is stable across retries (and redeliveries after a crash): a receiver
        // can use it to drop duplicates, deliveries being at least once.
        append(headers, "X-Switchyard-Event-Id: " + e.meta().id);
        if (!bearer.empty()) append(headers, "Authorization: Bearer " + bearer);

        if (limiter_) {
            const auto now = target_rate_limiter::clock::now();
            const auto turn = limiter_->reserve(now, max_rate_wait_);
            if (!turn.granted) {
                // Too far ahead to hold the executor's thread: the engine's timer waits instead
                // (this counts as an attempt against the retry policy).
                const auto wait = std::chrono::ceil<std::chrono::milliseconds>(turn.at - now);
                return outcome::retry("http_target \"" + id_ + "\": rate limit of " + rate_text() +
                                          " requests a second reached; retrying when its turn comes",
                                      wait);
            }
            if (turn.at > now) std::this_thread::sleep_until(turn.at);
        }

        // Taken after the wait, so that deliveries waiting their turn hold no connection.
        const auto lease = pool_.acquire();
        const basic_auth* basic = std::get_if<basic_auth>(&options_.auth);
        const request req{.url = &options_.url, .method = options_.method.c_str(), .body = body, .sends_body = sends_body_,
                          .headers = headers.get(), .username = basic ? &basic->username : nullptr,
                          .password = basic ? &basic->password : nullptr};
        const response r = perform(lease.get(), req, transport_);
        return judge(r, bearer);
    }

private:
    outcome judge(const response& r, const std::string& bearer) {
        const std::string& url = options_.url;
        if (r.code != CURLE_OK) {
            const std::string text = options_.method + " " + url + " failed: " + r.curl_error;
            switch (r.code) {
                // Nothing a retry could change (validation should have caught them).
                case CURLE_UNSUPPORTED_PROTOCOL:
                case CURLE_URL_MALFORMAT:
                case CURLE_NOT_BUILT_IN: return outcome::fail(text);
                case CURLE_OPERATION_TIMEDOUT:
                    return outcome::retry(options_.method + " " + url + " timed out after " + std::to_string(transport_.timeout_ms) +
                                          " ms: " + r.curl_error);
                default: return outcome::retry(text);  // refused, reset, DNS, TLS...
            }
        }
        if (r.status >= 200 && r.status <= 299) return outcome::success();
        std::string text = describe_status(url, r);
        if (r.status >= 300 && r.status <= 399) {
            text += " (redirects are not followed: the target's URL is its contract";
            text += r.location.empty() ? ")" : "; point the target at " + r.location + " if it moved)";
            return outcome::fail(text);
        }
        if (!retryable_status(r.status)) return outcome::fail(text);
        if (r.status == 401 && oauth_) {
            oauth_->refused(bearer);
            text += " (the OAuth token was refused: the next attempt fetches a new one)";
        }
        const auto after = r.retry_after.empty() ? std::nullopt : http_detail::parse_retry_after(r.retry_after, std::chrono::system_clock::now());
        if (after && after->count() > 0) return outcome::retry(text, *after);
        return outcome::retry(text);
    }

    std::string rate_text() const {
        std::string s = std::to_string(options_.rate_limit_per_second);
        s.erase(s.find_last_not_of('0') + 1);
        if (!s.empty() && s.back() == '.') s.pop_back();
        return s;
    }

    const std::string id_;
    const http_target_options options_;
    const std::string user_agent_;
    transport_options transport_;
    bool sends_body_ = true;
    std::vector<std::string> fixed_headers_;  // the same for every request
    std::string content_type_;                // empty: none sent
    bool default_content_type_ = true;        // options_.content_type left as it was
    handle_pool pool_;
    std::optional<oauth_cache> oauth_;
    std::optional<target_rate_limiter> limiter_;
    std::chrono::steady_clock::duration max_rate_wait_{};
};

}  // namespace

target http_target(std::string id, http_target_options options, any_executor executor) {
    init_curl_once();
    validate(id, options);
    auto state = std::make_shared<http_target_state>(id, std::move(options));
    return target{std::move(id),
                  [state = std::move(state)](const any_event& e, const delivery_info& info) { return state->deliver(e, info); },
                  std::move(executor)};
}

}  // namespace switchyard
