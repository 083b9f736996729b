// A small HTTP/1.1 server for the HTTP target's tests (POSIX sockets): it records every request
// (method, target, headers, body, when it arrived, on which connection) and answers as the test's
// script says: any status and headers, late, or not at all (hanging up). Keep-alive, so a test
// can count the connections a client opened. Each connection has a thread; the server joins them
// all when it is destroyed.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
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

/// The server: see the file comment.
class server {
public:
    using script = std::function<response(const request&)>;

    /// Listens on 127.0.0.1 on a free port; answers 200 until set_script() says otherwise.
    explicit server(script s = {}) : script_(std::move(s)) {
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
    /// "http://127.0.0.1:<port><path>".
    std::string url(std::string_view path = "/") const { return "http://127.0.0.1:" + std::to_string(port_) + std::string(path); }

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
                serve(fd, number);
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

    bool send_all(int fd, std::string_view data) const {
        while (!data.empty()) {
            const auto n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
            if (n <= 0) return false;
            data.remove_prefix(static_cast<std::size_t>(n));
        }
        return true;
    }

    // Reads more into `buffer`; false on end of stream, an error or the server stopping.
    bool read_more(int fd, std::string& buffer) const {
        if (!wait_readable(fd)) return false;
        char chunk[4096];
        const auto n = ::recv(fd, chunk, sizeof chunk, 0);
        if (n <= 0) return false;
        buffer.append(chunk, static_cast<std::size_t>(n));
        return true;
    }

    // Answers requests on one connection until the client or the script closes it.
    void serve(int fd, int number) {
        std::string buffer;
        for (;;) {
            std::size_t head_end;
            while ((head_end = buffer.find("\r\n\r\n")) == std::string::npos)
                if (!read_more(fd, buffer)) return;
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
                if (name == "expect" && lower(std::string(value)) == "100-continue" && !send_all(fd, "HTTP/1.1 100 Continue\r\n\r\n"))
                    return;
                req.headers.emplace_back(std::move(name), std::string(value));
            }
            buffer.erase(0, head_end + 4);
            while (buffer.size() < length)
                if (!read_more(fd, buffer)) return;
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
            if (!send_all(fd, out) || close_after) return;
        }
    }

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
