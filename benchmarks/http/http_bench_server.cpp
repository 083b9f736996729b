// The servers the HTTP benchmarks drive with wrk (benchmarks/http/run_wrk.sh):
//   http_bench_server baseline THREADS   a minimal Boost.Beast server answering every request 200
//                                        with a PutEvents-shaped body: the ceiling on this machine
//   http_bench_server ingress THREADS    switchyard's http_ingress in front of a bus with one rule
//                                        and an inline handler that counts the events
// Each prints "PORT <n>" once listening, serves until its standard input closes, then prints
// what it served ("events <n>" for the ingress) and exits.
#include <atomic>
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio.hpp>
#include <boost/beast.hpp>

#include <switchyard/http/ingress.hpp>
#include <switchyard/switchyard.hpp>

namespace beast = boost::beast;
namespace http = beast::http;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

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

void accept(tcp::acceptor& acceptor) {
    acceptor.async_accept([&acceptor](beast::error_code ec, tcp::socket socket) {
        if (!ec) std::make_shared<session>(std::move(socket))->start();
        if (acceptor.is_open()) accept(acceptor);
    });
}

int run_baseline(unsigned threads) {
    asio::io_context io{static_cast<int>(threads)};
    tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
    accept(acceptor);
    std::vector<std::thread> pool;
    for (unsigned i = 0; i < threads; ++i) pool.emplace_back([&] { io.run(); });
    std::printf("PORT %u\n", static_cast<unsigned>(acceptor.local_endpoint().port()));
    std::fflush(stdout);
    for (std::string line; std::getline(std::cin, line);) {
    }
    io.stop();
    for (auto& t : pool) t.join();
    return 0;
}

int run_ingress(unsigned threads) {
    std::atomic<std::uint64_t> events{0};
    switchyard::bus bus{"default"};  // metrics on, as by default
    bus.add_rule({.name = "all",
                  .pattern = R"({"source": [{"prefix": ""}]})",
                  .targets = {switchyard::target{"count", [&](const switchyard::any_event&, const switchyard::delivery_info&) {
                                                     events.fetch_add(1, std::memory_order_relaxed);
                                                     return switchyard::outcome::success();
                                                 }}}});
    switchyard::http_ingress ingress{{.threads = threads}};
    ingress.add_bus(bus);
    ingress.start();
    std::printf("PORT %u\n", static_cast<unsigned>(ingress.port()));
    std::fflush(stdout);
    for (std::string line; std::getline(std::cin, line);) {
    }
    ingress.stop();
    bus.drain();
    std::printf("events %llu\n", static_cast<unsigned long long>(events.load()));
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    const std::string mode = argc > 1 ? argv[1] : "";
    const unsigned threads = argc > 2 ? static_cast<unsigned>(std::stoul(argv[2])) : 1;
    if (mode == "baseline") return run_baseline(threads);
    if (mode == "ingress") return run_ingress(threads);
    std::fprintf(stderr, "usage: http_bench_server baseline|ingress [THREADS]\n");
    return 2;
}
