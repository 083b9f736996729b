// The program every consumer project builds: one typed event, published by a producer, routed by
// a rule to a handler. It exits nonzero unless the event arrived, so a package that compiles but
// links or routes wrongly still fails its consumer test.
#include <switchyard/switchyard.hpp>

#include <cstdio>
#include <string>

struct Ping {
    std::string id;
    int n = 0;
};
SWITCHYARD_EVENT(Ping, "PING", id, n)

int main() {
    int got = 0;
    {
        switchyard::bus bus{"consumer"};
        bus.add_rule({.name = "all-pings",
                      .pattern = R"({"detail-type": ["PING"]})",
                      .targets = {switchyard::handler<Ping>("count", [&](const switchyard::event<Ping>& e) { got += e.detail.n; })}});
        bus.producer<Ping>("com.example.consumer").publish({"a", 2});
        bus.drain();
    }
    if (got != 2) {
        std::fprintf(stderr, "consumer: expected the PING event to deliver n=2, got %d\n", got);
        return 1;
    }
    std::puts("consumer: PING delivered");
    return 0;
}
