// A real three-server JetStream cluster for the NATS tests: `nats-server -js -a 127.0.0.1 -p
// <free port> -sd <own store> --name n<i> --cluster_name <name> --cluster nats://127.0.0.1:<free
// port> --routes <the others' cluster URLs>`, three child processes. The constructor waits (with a
// deadline, polling: no fixed sleeps) until every server answers with JetStream on and the
// cluster's JetStream answers an account info request (it has a meta leader). kill(i) sends
// SIGKILL to one server, start(i) starts it again on the same ports and store. The destructor
// kills them all and removes their stores.
#pragma once

#include <nats/nats.h>

#include <array>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "nats/nats_server.hpp"

class nats_cluster {
public:
    static constexpr int size = 3;

    explicit nats_cluster(std::chrono::milliseconds deadline = std::chrono::seconds(30)) {
        // Six distinct ports (the kernel could hand one out twice once its socket is closed).
        std::set<int> taken;
        for (auto& n : nodes_) {
            n.port = distinct_port(taken);
            n.cluster_port = distinct_port(taken);
        }
        name_ = "switchyard-" + std::to_string(::getpid());
        try {
            for (int i = 0; i < size; ++i) spawn(i);
            const auto until = std::chrono::steady_clock::now() + deadline;
            for (int i = 0; i < size; ++i) wait_answers(i, until);
            wait_jetstream(until);
        } catch (...) {
            for (int i = 0; i < size; ++i) kill(i);
            throw;
        }
    }
    ~nats_cluster() {
        for (int i = 0; i < size; ++i) kill(i);
        keep_logs();
    }
    nats_cluster(const nats_cluster&) = delete;
    nats_cluster& operator=(const nats_cluster&) = delete;

    // Every server, comma-separated (nats_connection_options::url).
    std::string urls() const {
        std::string out;
        for (int i = 0; i < size; ++i) out += (i ? "," : "") + url(i);
        return out;
    }
    std::string url(int i) const { return "nats://127.0.0.1:" + std::to_string(nodes_.at(static_cast<std::size_t>(i)).port); }
    static std::string name(int i) { return "n" + std::to_string(i); }
    // The server named `server_name` ("n1"), or -1.
    static int index_of(const std::string& server_name) {
        for (int i = 0; i < size; ++i)
            if (server_name == name(i)) return i;
        return -1;
    }
    // The server listening for clients on `port`, or -1.
    int index_of_port(int port) const {
        for (int i = 0; i < size; ++i)
            if (nodes_[static_cast<std::size_t>(i)].port == port) return i;
        return -1;
    }
    bool running(int i) const { return nodes_.at(static_cast<std::size_t>(i)).pid > 0; }
    std::string log(int i) const { return nodes_.at(static_cast<std::size_t>(i)).dir.file("server.log"); }

    // SIGKILL: no shutdown, no flush; the store is as the kill left it.
    void kill(int i) {
        auto& n = nodes_.at(static_cast<std::size_t>(i));
        if (n.pid <= 0) return;
        ::kill(n.pid, SIGKILL);
        int status = 0;
        ::waitpid(n.pid, &status, 0);
        n.pid = -1;
    }

    // Starts server i again (same ports, same store) and waits (up to `deadline`) until it
    // answers with JetStream on. It catches up with the others' streams afterwards: see a
    // stream's replicas (js_GetStreamInfo) to know when it has.
    void start(int i, std::chrono::milliseconds deadline = std::chrono::seconds(20)) {
        if (running(i)) throw std::logic_error("nats_cluster::start: " + name(i) + " is running");
        spawn(i);
        wait_answers(i, std::chrono::steady_clock::now() + deadline);
    }

private:
    struct node {
        temp_dir dir;
        int port = 0;
        int cluster_port = 0;
        pid_t pid = -1;
    };

    static int distinct_port(std::set<int>& taken) {
        for (int attempt = 0; attempt < 100; ++attempt) {
            const int p = nats_test_detail::free_port();
            if (taken.insert(p).second) return p;
        }
        throw std::runtime_error("nats_cluster: no distinct free ports");
    }

    void spawn(int i) {
        auto& n = nodes_.at(static_cast<std::size_t>(i));
        std::string routes;
        for (int j = 0; j < size; ++j)
            if (j != i) routes += (routes.empty() ? "" : ",") + cluster_url(j);
        std::vector<std::string> args = {SWITCHYARD_NATS_SERVER,
                                         "-js",
                                         "-a",
                                         "127.0.0.1",
                                         "-p",
                                         std::to_string(n.port),
                                         "-sd",
                                         n.dir.file("jetstream"),
                                         "--name",
                                         name(i),
                                         "--cluster_name",
                                         name_,
                                         "--cluster",
                                         cluster_url(i),
                                         "--routes",
                                         routes};
        std::vector<char*> argv;
        for (auto& a : args) argv.push_back(a.data());
        argv.push_back(nullptr);
        const std::string log_file = log(i);
        const pid_t pid = ::fork();
        if (pid < 0) throw std::runtime_error("fork failed");
        if (pid == 0) {
            ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // a test that crashes takes its servers with it
            const int fd = ::open(log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
            if (fd >= 0) {
                ::dup2(fd, 1);
                ::dup2(fd, 2);
            }
            ::execv(SWITCHYARD_NATS_SERVER, argv.data());
            std::_Exit(127);
        }
        n.pid = pid;
    }

    // With SWITCHYARD_NATS_KEEP_LOGS=<directory>, the servers' logs are copied there (n0.log, ...)
    // before their stores are removed: elections and catch-up are only visible in them.
    void keep_logs() const {
        const char* dir = std::getenv("SWITCHYARD_NATS_KEEP_LOGS");
        if (dir == nullptr || *dir == '\0') return;
        std::error_code ignored;
        std::filesystem::create_directories(dir, ignored);
        for (int i = 0; i < size; ++i)
            std::filesystem::copy_file(log(i), std::filesystem::path(dir) / (name_ + "-" + name(i) + ".log"),
                                       std::filesystem::copy_options::overwrite_existing, ignored);
    }

    std::string cluster_url(int j) const {
        return "nats://127.0.0.1:" + std::to_string(nodes_.at(static_cast<std::size_t>(j)).cluster_port);
    }

    void wait_answers(int i, std::chrono::steady_clock::time_point until) {
        auto& n = nodes_.at(static_cast<std::size_t>(i));
        while (!nats_test_detail::answers_with_jetstream(n.port)) {
            int status = 0;
            if (::waitpid(n.pid, &status, WNOHANG) == n.pid) {
                n.pid = -1;
                throw std::runtime_error("nats-server " + name(i) + " exited at start (see " + log(i) + ")");
            }
            if (std::chrono::steady_clock::now() > until)
                throw std::runtime_error("nats-server " + name(i) + " did not answer in time (see " + log(i) + ")");
            std::this_thread::sleep_for(std::chrono::milliseconds(5));  // polling a port: there is nothing to wait on
        }
    }

    // The cluster's JetStream answers once it has a meta leader: poll an account info request.
    void wait_jetstream(std::chrono::steady_clock::time_point until) {
        natsConnection* nc = nullptr;
        jsCtx* js = nullptr;
        const auto done = [&] {
            if (js != nullptr) jsCtx_Destroy(js);
            if (nc != nullptr) natsConnection_Destroy(nc);
        };
        natsStatus s = natsConnection_ConnectTo(&nc, urls().c_str());  // it splits the comma-separated list
        jsOptions jo;
        jsOptions_Init(&jo);
        jo.Wait = 500;
        if (s == NATS_OK) s = natsConnection_JetStream(&js, nc, &jo);
        if (s != NATS_OK) {
            done();
            throw std::runtime_error(std::string("nats_cluster: cannot connect: ") + natsStatus_GetText(s));
        }
        while (true) {
            jsAccountInfo* ai = nullptr;
            s = js_GetAccountInfo(&ai, js, nullptr, nullptr);
            if (ai != nullptr) jsAccountInfo_Destroy(ai);
            if (s == NATS_OK) break;
            if (std::chrono::steady_clock::now() > until) {
                done();
                throw std::runtime_error("nats_cluster: JetStream did not become ready in time (see " + log(0) + ")");
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(20));  // a meta leader has no notification
        }
        done();
    }

    std::array<node, size> nodes_;
    std::string name_;
};
