// A minimal Boost.Beast HTTP/1.1 server that answers every request 200 with a PutEvents-shaped
// body: the ceiling the HTTP benchmarks compare against (the ingress's baseline, the HTTP
// target's sink).
#pragma once

#include <memory>
#include <thread>
#include <vector>

#include <boost/asio.hpp>
#include <boost/beast.hpp>

namespace bench_http {

namespace beast = boost::beast;
namespace http = beast::http;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

// One keep-alive connection: read a request, answer 200, repeat.
class session : public std::enable_shared_from_this<session> {
public:
    explicit session(tcp::socket socket) : stream_(std::move(socket)) {}
    void start() { read(); }

private:
    void read() {
        request_ = {};
        http::async_read(stream_, buffer_, request_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
            if (!ec) self->answer();
        });
    }
    void answer() {
        auto response = std::make_shared<http::response<http::string_body>>(http::status::ok, request_.version());
        response->set(http::field::content_type, "application/x-amz-json-1.1");
        response->keep_alive(request_.keep_alive());
        response->body() = R"({"FailedEntryCount":0,"Entries":[]})";
        response->prepare_payload();
        http::async_write(stream_, *response, [self = shared_from_this(), response](beast::error_code ec, std::size_t) {
            if (!ec && response->keep_alive()) self->read();
        });
    }

    beast::tcp_stream stream_;
    beast::flat_buffer buffer_;
    http::request<http::string_body> request_;
};

inline void accept(tcp::acceptor& acceptor) {
    acceptor.async_accept([&acceptor](beast::error_code ec, tcp::socket socket) {
        if (!ec) std::make_shared<session>(std::move(socket))->start();
        if (acceptor.is_open()) accept(acceptor);
    });
}

// The server on 127.0.0.1, a free port, with `threads` I/O threads; stops when destroyed.
class sink_server {
public:
    explicit sink_server(unsigned threads = 1) : io_(static_cast<int>(threads)), acceptor_(io_, {asio::ip::make_address("127.0.0.1"), 0}) {
        accept(acceptor_);
        for (unsigned i = 0; i < threads; ++i) pool_.emplace_back([this] { io_.run(); });
    }
    ~sink_server() {
        io_.stop();
        for (auto& t : pool_) t.join();
    }
    unsigned short port() const { return acceptor_.local_endpoint().port(); }

private:
    asio::io_context io_;
    tcp::acceptor acceptor_;
    std::vector<std::thread> pool_;
};

}  // namespace bench_http
