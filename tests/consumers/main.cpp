// The program every consumer project builds: one typed event, published by a producer, routed by
// a rule to a handler. It exits nonzero unless the event arrived, so a package that compiles but
// links or routes wrongly still fails its consumer test.
#include <switchyard/switchyard.hpp>

#include <cstdio>
#include <string>

#if SWITCHYARD_CONSUMER_SQLITE
#include <filesystem>
#include <memory>

#include <switchyard/archive.hpp>
#include <switchyard/sqlite/sqlite_archive_store.hpp>
#endif

#if SWITCHYARD_CONSUMER_HTTP
#include <switchyard/http/ingress.hpp>
#endif

#if SWITCHYARD_CONSUMER_NATS
#include <string_view>

#include <switchyard/error.hpp>
#include <switchyard/nats/connection.hpp>
#include <switchyard/nats/nats_target.hpp>
#endif

#if SWITCHYARD_CONSUMER_SCHEDULE
#include <chrono>

#include <switchyard/schedule/scheduler.hpp>
#endif

struct Ping {
    std::string id;
    int n = 0;
};
SWITCHYARD_EVENT(Ping, "PING", id, n)

int main() {
    int got = 0;
#if SWITCHYARD_CONSUMER_SQLITE
    // The sqlite component: the event is also archived to a SQLite file.
    const auto file = std::filesystem::temp_directory_path() / "switchyard-consumer-archive.db";
    std::filesystem::remove(file);
    auto store = std::make_shared<switchyard::sqlite_archive_store>(file.string());
#endif
    {
        switchyard::bus bus{"consumer"};
#if SWITCHYARD_CONSUMER_SQLITE
        switchyard::archive archive(bus, {.name = "pings", .store = store});
#endif
        bus.add_rule({.name = "all-pings",
                      .pattern = R"({"detail-type": ["PING"]})",
                      .targets = {switchyard::handler<Ping>("count", [&](const switchyard::event<Ping>& e) { got += e.detail.n; })}});
        if (const auto result = bus.producer<Ping>("com.example.consumer").publish({"a", 2}); !result) {
            std::fprintf(stderr, "consumer: the bus refused the PING event: %s\n", result.error_message.c_str());
            return 1;
        }
        bus.drain();
    }
    if (got != 2) {
        std::fprintf(stderr, "consumer: expected the PING event to deliver n=2, got %d\n", got);
        return 1;
    }
#if SWITCHYARD_CONSUMER_SQLITE
    const auto archived = store->count();
    store.reset();
    std::filesystem::remove(file);
    if (archived != 1) {
        std::fprintf(stderr, "consumer: expected the PING event in the SQLite archive, found %zu events\n", archived);
        return 1;
    }
    std::puts("consumer: PING archived with switchyard::sqlite");
#endif
    std::puts("consumer: PING delivered");
#if SWITCHYARD_CONSUMER_SCHEDULE
    // The schedule component (and date/tz behind it): a cron in New York fires on a manual clock.
    {
        using namespace std::chrono;
        switchyard::bus bus{"consumer"};
        int fires = 0;
        bus.add_rule({.name = "fires",
                      .pattern = R"({"detail-type": ["Scheduled Event"]})",
                      .targets = {switchyard::json_handler("count", [&](std::string_view) { ++fires; })}});
        switchyard::manual_clock clock{sys_days{2026y / March / 7}};
        switchyard::scheduler scheduler{bus, {.clock = &clock}};
        scheduler.add({.name = "noon", .expression = "cron(0 12 * * ? *)", .time_zone = "America/New_York"});
        clock.advance(days(3));
        if (fires != 3) {
            std::fprintf(stderr, "consumer: expected 3 fires of the schedule, got %d\n", fires);
            return 1;
        }
    }
    std::puts("consumer: schedule fired with switchyard::schedule");
#endif
#if SWITCHYARD_CONSUMER_HTTP
    // The HTTP component (Beast, libcurl, OpenSSL behind it): an ingress starts and stops.
    {
        switchyard::bus bus{"consumer"};
        switchyard::http_ingress ingress;
        ingress.add_bus(bus);
        ingress.start();
        if (ingress.port() == 0 || !ingress.stop()) {
            std::fprintf(stderr, "consumer: the HTTP ingress did not start and stop cleanly\n");
            return 1;
        }
    }
    std::puts("consumer: HTTP ingress served with switchyard::http");
#endif
#if SWITCHYARD_CONSUMER_NATS
    // The NATS component (nats.c behind it), without a server: a target without a connection and
    // an unreachable server are refused with errors that name the problem.
    try {
        (void)switchyard::nats_target("jetstream", nullptr, {});
        std::fprintf(stderr, "consumer: nats_target accepted a null connection\n");
        return 1;
    } catch (const switchyard::error& e) {
        if (std::string_view(e.what()).find("nats_connection::connect") == std::string_view::npos) {
            std::fprintf(stderr, "consumer: nats_target's error does not say how to connect: %s\n", e.what());
            return 1;
        }
    }
    try {
        (void)switchyard::nats_connection::connect({.url = "nats://127.0.0.1:1", .max_reconnects = 0});
        std::fprintf(stderr, "consumer: nats_connection::connect reached nats://127.0.0.1:1\n");
        return 1;
    } catch (const switchyard::error& e) {
        if (std::string_view(e.what()).find("127.0.0.1:1") == std::string_view::npos) {
            std::fprintf(stderr, "consumer: the connect error does not name the URL: %s\n", e.what());
            return 1;
        }
    }
    std::puts("consumer: NATS errors named with switchyard::nats");
#endif
    return 0;
}
