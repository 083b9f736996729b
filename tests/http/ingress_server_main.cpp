// A PutEvents server for aws_clients_test.py: two buses ("orders", the default, and "audit")
// behind one http_ingress that verifies SigV4 signatures by the key pair below, each bus with a
// rule that records every event it delivers. Prints `PORT <n>` once listening; on stdin's end
// (or SIGTERM / SIGINT) stops the ingress, drains the buses and prints one line
// `SUMMARY <json>`: the delivered events counted by bus, source and detail-type, and their ids,
// so the driver can check that every EventId a client was given was delivered exactly once.
#include <cstdio>
#include <iostream>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <switchyard/http/ingress.hpp>
#include <switchyard/switchyard.hpp>

#ifdef __linux__
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>
#endif

namespace {

// AWS's documentation example key pair: the driver signs with it (and once with a wrong secret).
constexpr const char* access_key = "AKIDEXAMPLE";
constexpr const char* secret_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

struct recorder {
    std::mutex mutex;
    std::map<std::string, int> counts;  // "bus|source|detail-type" -> deliveries
    std::vector<std::string> ids;

    switchyard::target target(const std::string& bus_name) {
        return switchyard::target{"record", [this, bus_name](const switchyard::any_event& e, const switchyard::delivery_info&) {
                                      std::lock_guard lock(mutex);
                                      ++counts[bus_name + "|" + e.meta().source + "|" + e.meta().detail_type];
                                      ids.push_back(e.meta().id);
                                      return switchyard::outcome::success();
                                  }};
    }
};

// Returns on stdin's end or a termination signal.
void wait_for_the_end() {
#ifdef __linux__
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGINT);
    const int signal_fd = signalfd(-1, &signals, 0);
    pollfd fds[2] = {{STDIN_FILENO, POLLIN, 0}, {signal_fd, POLLIN, 0}};
    char buffer[256];
    for (;;) {
        if (poll(fds, signal_fd >= 0 ? 2 : 1, -1) < 0) continue;  // EINTR
        if (fds[1].revents != 0) break;
        if (fds[0].revents != 0 && read(STDIN_FILENO, buffer, sizeof buffer) <= 0) break;
    }
    if (signal_fd >= 0) close(signal_fd);
#else
    std::string line;
    while (std::getline(std::cin, line)) {
    }
#endif
}

}  // namespace

int main() {
#ifdef __linux__
    // Blocked before any thread starts, so every thread inherits the mask and the signals reach
    // the signalfd alone.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
#endif
    recorder record;
    switchyard::bus orders("orders", switchyard::bus_options{}.with_region("us-east-1"));
    switchyard::bus audit("audit", switchyard::bus_options{}.with_region("us-east-1"));
    orders.add_rule({.name = "everything", .pattern = R"({"source": [{"prefix": ""}]})", .targets = {record.target("orders")}});
    audit.add_rule({.name = "everything", .pattern = R"({"source": [{"prefix": ""}]})", .targets = {record.target("audit")}});

    switchyard::ingress_options options;
    options.threads = 2;
    options.auth = switchyard::sigv4_auth{.keys = {{access_key, secret_key}}, .region = "us-east-1"};
    switchyard::http_ingress ingress(options);
    ingress.add_bus(orders);
    ingress.add_bus(audit);
    ingress.start();
    std::cout << "PORT " << ingress.port() << std::endl;

    wait_for_the_end();

    const bool clean = ingress.stop(std::chrono::seconds(5));
    orders.drain();
    audit.drain();
    const auto stats = ingress.stats();
    nlohmann::json summary;
    {
        std::lock_guard lock(record.mutex);
        summary["delivered"] = record.counts;
        summary["ids"] = record.ids;
    }
    summary["clean_stop"] = clean;
    summary["stats"] = {{"requests", stats.requests},
                        {"entries_accepted", stats.entries_accepted},
                        {"entries_failed", stats.entries_failed},
                        {"client_errors", stats.client_errors}};
    std::cout << "SUMMARY " << summary.dump() << std::endl;
    return 0;
}
