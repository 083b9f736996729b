// A small HTTP/1.1 server for the HTTP target's tests (POSIX sockets): it records every request
// (method, target, headers, body, when it arrived, on which connection) and answers as the test's
// script says: any status and headers, late, or not at all (hanging up). Keep-alive, so a test
// can count the connections a client opened. Each connection has a thread; the server joins them
// all when it is destroyed. Given a tls_identity, it speaks HTTPS (OpenSSL) with that certificate.
#pragma once

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace target_test {

/// A request as the server received it.
struct request {
    std::string method;
    std::string target;  ///< path and query
    std::vector<std::pair<std::string, std::string>> headers;  ///< names in lower case
    std::string body;
    std::chrono::steady_clock::time_point received;  ///< when its last byte arrived
    int connection = 0;                              ///< 1 for the first connection accepted, ...

    /// The first header named `name` (lower case), or "" when there is none.
    std::string header(std::string_view name) const {
        for (const auto& [n, v] : headers)
            if (n == name) return v;
        return {};
    }
    /// Whether a header named `name` (lower case) was sent.
    bool has_header(std::string_view name) const {
        return std::any_of(headers.begin(), headers.end(), [&](const auto& h) { return h.first == name; });
    }
};

/// What the server answers.
struct response {
    int status = 200;
    std::vector<std::pair<std::string, std::string>> headers{};
    std::string body{};
    std::chrono::milliseconds delay{0};  ///< answers this late (gives up if the client hangs up first)
    bool hang_up = false;                ///< closes the connection without answering
};

/// A self-signed certificate for 127.0.0.1 and localhost (P-256, valid for a day), made in memory,
/// and its key: what an HTTPS server presents, and (written to a PEM file) what a client trusts.
class tls_identity {
public:
    tls_identity() {
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
        key_.reset(EVP_EC_gen("P-256"));
#else
        throw std::runtime_error("tls_identity needs OpenSSL 3.0 or newer");  // the HTTPS test is compiled out below it
#endif
        cert_.reset(X509_new());
        if (!key_ || !cert_) throw std::runtime_error("tls_identity: OpenSSL could not make a key");
        X509_set_version(cert_.get(), 2);
        ASN1_INTEGER_set(X509_get_serialNumber(cert_.get()), 1);
        X509_gmtime_adj(X509_getm_notBefore(cert_.get()), -60);
        X509_gmtime_adj(X509_getm_notAfter(cert_.get()), 24 * 3600);
        X509_set_pubkey(cert_.get(), key_.get());
        X509_NAME* name = X509_get_subject_name(cert_.get());
        if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0) != 1)
            throw std::runtime_error("tls_identity: OpenSSL could not name the certificate");
        X509_set_issuer_name(cert_.get(), name);
        X509V3_CTX ctx;
        X509V3_set_ctx_nodb(&ctx);
        X509V3_set_ctx(&ctx, cert_.get(), cert_.get(), nullptr, nullptr, 0);
        X509_EXTENSION* san = X509V3_EXT_conf_nid(nullptr, &ctx, NID_subject_alt_name, "IP:127.0.0.1,DNS:localhost");
        const bool added = san != nullptr && X509_add_ext(cert_.get(), san, -1) == 1;
        X509_EXTENSION_free(san);
        if (!added || X509_sign(cert_.get(), key_.get(), EVP_sha256()) == 0)
            throw std::runtime_error("tls_identity: OpenSSL could not sign the certificate");
    }
    X509* certificate() const { return cert_.get(); }
    EVP_PKEY* key() const { return key_.get(); }
    /// Writes the certificate as PEM to `path` (a CA file a client can trust).
    void write_certificate(const std::string& path) const {
        std::FILE* f = std::fopen(path.c_str(), "w");
        if (f == nullptr) throw std::runtime_error("tls_identity: cannot write " + path);
        const int ok = PEM_write_X509(f, cert_.get());
        std::fclose(f);
        if (ok != 1) throw std::runtime_error("tls_identity: cannot write " + path);
    }

private:
    struct free_key {
        void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
    };
    struct free_cert {
        void operator()(X509* c) const { X509_free(c); }
    };
    std::unique_ptr<EVP_PKEY, free_key> key_;
    std::unique_ptr<X509, free_cert> cert_;
};

/// The server: see the file comment.
class server {
public:
    using script = std::function<response(const request&)>;

    /// Listens on 127.0.0.1 on a free port; answers 200 until set_script() says otherwise.
    explicit server(script s = {}) : server(nullptr, std::move(s)) {}

    /// The same over TLS with `identity`'s certificate (which must outlive the server).
    server(const tls_identity* identity, script s) : script_(std::move(s)) {
        if (identity != nullptr) {
            tls_.reset(SSL_CTX_new(TLS_server_method()));
            if (!tls_ || SSL_CTX_use_certificate(tls_.get(), identity->certificate()) != 1 ||
                SSL_CTX_use_PrivateKey(tls_.get(), identity->key()) != 1)
                throw std::runtime_error("server: OpenSSL refused the certificate");
        }
        if (::pipe(stop_pipe_) != 0) throw std::runtime_error("pipe failed");
        listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (listener_ < 0) throw std::runtime_error("socket failed");
        const int on = 1;
        ::setsockopt(listener_, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        addr.sin_port = 0;
        if (::bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(listener_, 64) != 0)
            throw std::runtime_error("bind/listen failed");
        socklen_t len = sizeof addr;
        ::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len);
        port_ = ntohs(addr.sin_port);
        acceptor_ = std::thread([this] { accept_loop(); });
    }

    server(const server&) = delete;
    server& operator=(const server&) = delete;

    ~server() {
        // The pipe becomes readable for good: every thread polling it ends.
        const char byte = 's';
        [[maybe_unused]] const auto n = ::write(stop_pipe_[1], &byte, 1);
        acceptor_.join();  // adds no connection thread after this
        for (auto& t : connection_threads_) t.join();
        ::close(listener_);
        ::close(stop_pipe_[0]);
        ::close(stop_pipe_[1]);
    }

    /// Replaces the script (requests already being answered keep the old one).
    void set_script(script s) {
        std::lock_guard lock(mutex_);
        script_ = std::move(s);
    }

    std::uint16_t port() const noexcept { return port_; }
    /// "http://127.0.0.1:<port><path>" ("https://" over TLS).
    std::string url(std::string_view path = "/") const {
        return (tls_ ? "https://127.0.0.1:" : "http://127.0.0.1:") + std::to_string(port_) + std::string(path);
    }
    /// TLS handshakes that failed (a client that did not trust the certificate, say).
    int failed_handshakes() const {
        std::lock_guard lock(mutex_);
        return failed_handshakes_;
    }
    /// Waits until `n` handshakes have failed: the client gives up on its side first, so the
    /// server may count a failure a moment after the client has moved on.
    bool wait_for_failed_handshakes(int n, std::chrono::milliseconds timeout = std::chrono::seconds(10)) const {
        std::unique_lock lock(mutex_);
        return arrived_.wait_for(lock, timeout, [&] { return failed_handshakes_ >= n; });
    }

    /// Every request so far, in arrival order.
    std::vector<request> requests() const {
        std::lock_guard lock(mutex_);
        return requests_;
    }
    /// The requests whose target is `path`.
    std::vector<request> requests_to(std::string_view path) const {
        std::lock_guard lock(mutex_);
        std::vector<request> out;
        for (const auto& r : requests_)
            if (r.target == path) out.push_back(r);
        return out;
    }
    /// Waits until `n` requests have arrived.
    bool wait_for_requests(std::size_t n, std::chrono::milliseconds timeout = std::chrono::seconds(10)) const {
        std::unique_lock lock(mutex_);
        return arrived_.wait_for(lock, timeout, [&] { return requests_.size() >= n; });
    }
    /// Connections accepted so far.
    int connections() const { return accepted_.load(); }

private:
    // Waits until `fd` is readable; false when the server stops (or `timeout` passes, if given).
    bool wait_readable(int fd, int timeout_ms = -1) const {
        pollfd fds[2] = {{fd, POLLIN, 0}, {stop_pipe_[0], POLLIN, 0}};
        for (;;) {
            const int n = ::poll(fds, 2, timeout_ms);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) return false;
            if (fds[1].revents != 0) return false;
            return true;
        }
    }

    void accept_loop() {
        while (wait_readable(listener_)) {
            const int fd = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
            if (fd < 0) continue;
            const int number = ++accepted_;
            connection_threads_.emplace_back([this, fd, number] {
                // OpenSSL writes to the socket without MSG_NOSIGNAL: a client that resets the
                // connection must give this thread EPIPE, not end the test with SIGPIPE.
                sigset_t pipe;
                sigemptyset(&pipe);
                sigaddset(&pipe, SIGPIPE);
                pthread_sigmask(SIG_BLOCK, &pipe, nullptr);
                connection c{fd, nullptr};
                if (tls_) {
                    // Bounded, so a client that stalls mid-handshake cannot keep the destructor waiting.
                    timeval limit{10, 0};
                    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
                    c.ssl = SSL_new(tls_.get());
                    if (c.ssl == nullptr || SSL_set_fd(c.ssl, fd) != 1 || SSL_accept(c.ssl) != 1) {
                        {
                            std::lock_guard lock(mutex_);
                            ++failed_handshakes_;
                        }
                        arrived_.notify_all();
                        ERR_clear_error();
                        SSL_free(c.ssl);
                        ::close(fd);
                        return;
                    }
                }
                serve(c, number);
                if (c.ssl != nullptr) {
                    SSL_shutdown(c.ssl);
                    SSL_free(c.ssl);
                }
                ::close(fd);
            });
        }
    }

    static std::string lower(std::string s) {
        for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        return s;
    }

    static const char* reason(int status) {
        switch (status) {
            case 200: return "OK";
            case 201: return "Created";
            case 204: return "No Content";
            case 302: return "Found";
            case 400: return "Bad Request";
            case 401: return "Unauthorized";
            case 404: return "Not Found";
            case 429: return "Too Many Requests";
            case 500: return "Internal Server Error";
            case 503: return "Service Unavailable";
            default: return "Status";
        }
    }

    // A connection: its socket, and its TLS session when the server speaks HTTPS.
    struct connection {
        int fd;
        SSL* ssl;
    };

    static bool send_all(const connection& c, std::string_view data) {
        while (!data.empty()) {
            const auto n = c.ssl != nullptr ? SSL_write(c.ssl, data.data(), static_cast<int>(data.size()))
                                            : ::send(c.fd, data.data(), data.size(), MSG_NOSIGNAL);
            if (n <= 0) return false;
            data.remove_prefix(static_cast<std::size_t>(n));
        }
        return true;
    }

    // Reads more into `buffer`; false on end of stream, an error or the server stopping.
    bool read_more(const connection& c, std::string& buffer) const {
        // Bytes TLS has already decrypted are not on the socket: do not wait for the socket then.
        if (!(c.ssl != nullptr && SSL_pending(c.ssl) > 0) && !wait_readable(c.fd)) return false;
        char chunk[4096];
        const auto n = c.ssl != nullptr ? SSL_read(c.ssl, chunk, static_cast<int>(sizeof chunk)) : ::recv(c.fd, chunk, sizeof chunk, 0);
        if (n <= 0) return false;
        buffer.append(chunk, static_cast<std::size_t>(n));
        return true;
    }

    // Answers requests on one connection until the client or the script closes it.
    void serve(const connection& c, int number) {
        const int fd = c.fd;
        std::string buffer;
        for (;;) {
            std::size_t head_end;
            while ((head_end = buffer.find("\r\n\r\n")) == std::string::npos)
                if (!read_more(c, buffer)) return;
            request req;
            req.connection = number;
            std::string_view head(buffer.data(), head_end);
            const auto line_end = head.find("\r\n");
            const std::string_view request_line = head.substr(0, line_end);
            const auto sp1 = request_line.find(' ');
            const auto sp2 = request_line.find(' ', sp1 + 1);
            req.method = std::string(request_line.substr(0, sp1));
            req.target = std::string(request_line.substr(sp1 + 1, sp2 - sp1 - 1));
            std::size_t length = 0;
            bool close_after = false;
            std::size_t pos = line_end == std::string_view::npos ? head.size() : line_end + 2;
            while (pos < head.size()) {
                auto next = head.find("\r\n", pos);
                if (next == std::string_view::npos) next = head.size();
                const std::string_view line = head.substr(pos, next - pos);
                pos = next + 2;
                const auto colon = line.find(':');
                if (colon == std::string_view::npos) continue;
                std::string name = lower(std::string(line.substr(0, colon)));
                std::string_view value = line.substr(colon + 1);
                while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
                while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
                if (name == "content-length") length = std::stoul(std::string(value));
                if (name == "connection" && lower(std::string(value)) == "close") close_after = true;
                if (name == "expect" && lower(std::string(value)) == "100-continue" && !send_all(c, "HTTP/1.1 100 Continue\r\n\r\n"))
                    return;
                req.headers.emplace_back(std::move(name), std::string(value));
            }
            buffer.erase(0, head_end + 4);
            while (buffer.size() < length)
                if (!read_more(c, buffer)) return;
            req.body = buffer.substr(0, length);
            buffer.erase(0, length);
            req.received = std::chrono::steady_clock::now();

            script s;
            {
                std::lock_guard lock(mutex_);
                requests_.push_back(req);
                arrived_.notify_all();
                s = script_;
            }
            const response answer = s ? s(req) : response{};
            if (answer.hang_up) return;
            // Late: unless the client gives up first (its end becomes readable: closed) or the
            // server stops.
            if (answer.delay.count() > 0 && wait_readable(fd, static_cast<int>(answer.delay.count()))) return;
            std::string out = "HTTP/1.1 " + std::to_string(answer.status) + " " + reason(answer.status) + "\r\n";
            out += "Content-Length: " + std::to_string(answer.body.size()) + "\r\n";
            for (const auto& [name, value] : answer.headers) out += name + ": " + value + "\r\n";
            out += "\r\n" + answer.body;
            if (!send_all(c, out) || close_after) return;
        }
    }

    struct free_tls {
        void operator()(SSL_CTX* ctx) const { SSL_CTX_free(ctx); }
    };
    std::unique_ptr<SSL_CTX, free_tls> tls_;  // null: plain HTTP
    int failed_handshakes_ = 0;  // under mutex_
    int stop_pipe_[2] = {-1, -1};
    int listener_ = -1;
    std::uint16_t port_ = 0;
    std::atomic<int> accepted_{0};
    std::thread acceptor_;
    std::vector<std::thread> connection_threads_;  // touched by the acceptor only, then joined
    mutable std::mutex mutex_;
    mutable std::condition_variable arrived_;
    std::vector<request> requests_;
    script script_;
};

/// A port nothing listens on (bound, then closed: free again, and refusing connections).
inline std::uint16_t closed_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    socklen_t len = sizeof addr;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    ::close(fd);
    return ntohs(addr.sin_port);
}

}  // namespace target_test
