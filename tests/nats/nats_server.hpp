// A real JetStream server for the NATS tests: `nats-server -js -a 127.0.0.1 -p <free port> -sd
// <temporary store>` as a child process. start() waits until the server accepts connections and
// says JetStream is on (with a deadline: no fixed sleeps); kill() sends SIGKILL, restart() starts
// it again on the same port and store. The destructor kills it and removes the store.
// nats_server(false) starts a plain NATS server, without JetStream.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <thread>

#include "durability/temp_dir.hpp"

#ifndef SWITCHYARD_NATS_SERVER
#error "SWITCHYARD_NATS_SERVER must name the nats-server executable"
#endif

// Shared with nats_cluster.hpp.
namespace nats_test_detail {

// An ephemeral port the kernel just handed out, free again once the socket closes.
inline int free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        ::close(fd);
        throw std::runtime_error("no free port");
    }
    socklen_t len = sizeof addr;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    ::close(fd);
    return ntohs(addr.sin_port);
}

// Connects to 127.0.0.1:`port` and reads the server's INFO line: ready when it says "jetstream":true
// (or, for a server started without JetStream, when it answers at all).
inline bool answers_with_jetstream(int port, bool jetstream = true) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    bool ok = false;
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
        std::string info;
        char buf[4096];
        pollfd p{fd, POLLIN, 0};
        while (info.find("\r\n") == std::string::npos && ::poll(&p, 1, 1000) > 0) {
            const auto n = ::read(fd, buf, sizeof buf);
            if (n <= 0) break;
            info.append(buf, static_cast<std::size_t>(n));
        }
        ok = info.rfind("INFO ", 0) == 0 && (!jetstream || info.find("\"jetstream\":true") != std::string::npos);
    }
    ::close(fd);
    return ok;
}

}  // namespace nats_test_detail

class nats_server {
public:
    // A server with JetStream, or (jetstream = false) a plain NATS server without it.
    explicit nats_server(bool jetstream = true) : port_(free_port()), jetstream_(jetstream) { start(); }
    ~nats_server() {
        kill();
    }
    nats_server(const nats_server&) = delete;
    nats_server& operator=(const nats_server&) = delete;

    std::string url() const { return "nats://127.0.0.1:" + std::to_string(port_); }
    int port() const { return port_; }
    const std::filesystem::path& store() const { return dir_.path(); }

    // Starts the server and waits (up to `deadline`) until it answers with JetStream on.
    void start(std::chrono::milliseconds deadline = std::chrono::seconds(20)) {
        if (pid_ > 0) throw std::logic_error("nats_server::start: already running");
        const std::string log = dir_.file("server.log");
        const pid_t pid = ::fork();
        if (pid < 0) throw std::runtime_error("fork failed");
        if (pid == 0) {
            ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // a test that crashes takes its server with it
            const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
            if (fd >= 0) {
                ::dup2(fd, 1);
                ::dup2(fd, 2);
            }
            const std::string port = std::to_string(port_), sd = dir_.file("jetstream");
            if (jetstream_)
                ::execl(SWITCHYARD_NATS_SERVER, SWITCHYARD_NATS_SERVER, "-js", "-a", "127.0.0.1", "-p", port.c_str(), "-sd", sd.c_str(),
                        static_cast<char*>(nullptr));
            else
                ::execl(SWITCHYARD_NATS_SERVER, SWITCHYARD_NATS_SERVER, "-a", "127.0.0.1", "-p", port.c_str(), static_cast<char*>(nullptr));
            std::_Exit(127);
        }
        pid_ = pid;
        const auto until = std::chrono::steady_clock::now() + deadline;
        while (!answers()) {
            int status = 0;
            if (::waitpid(pid_, &status, WNOHANG) == pid_) {
                pid_ = -1;
                throw std::runtime_error("nats-server exited at start (see " + log + ")");
            }
            if (std::chrono::steady_clock::now() > until) throw std::runtime_error("nats-server did not answer in time (see " + log + ")");
            std::this_thread::sleep_for(std::chrono::milliseconds(5));  // polling a port: there is nothing to wait on
        }
    }

    // SIGKILL: no shutdown, no flush; the store is as the kill left it.
    void kill() {
        if (pid_ <= 0) return;
        ::kill(pid_, SIGKILL);
        int status = 0;
        ::waitpid(pid_, &status, 0);
        pid_ = -1;
    }

    // SIGSTOP / SIGCONT: a server that keeps its connections but reads and answers nothing (a
    // paused VM, a long GC): clients' writes back up once the socket buffers are full.
    void pause() {
        if (pid_ > 0) ::kill(pid_, SIGSTOP);
    }
    void resume() {
        if (pid_ > 0) ::kill(pid_, SIGCONT);
    }

    void restart() {
        kill();
        start();
    }

    bool running() const { return pid_ > 0; }

private:
    static int free_port() { return nats_test_detail::free_port(); }
    bool answers() const { return nats_test_detail::answers_with_jetstream(port_, jetstream_); }

    temp_dir dir_;
    int port_;
    bool jetstream_ = true;
    pid_t pid_ = -1;
};
