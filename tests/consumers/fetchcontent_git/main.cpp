// The FetchContent-from-Git consumer's program: switchyard::sqlite for real. A bus with a SQLite
// journal and a SQLite archive delivers a PING; the archive holds it and the journal recorded it
// and its end. Then, as after a crash, the archived event is put back in the journal as accepted
// but not delivered, and a new bus's recover() delivers it again. Exits nonzero, saying what was
// wrong, unless everything arrived where it should.
#include <switchyard/switchyard.hpp>

#include <chrono>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <switchyard/archive.hpp>
#include <switchyard/sqlite/sqlite_archive_store.hpp>
#include <switchyard/sqlite/sqlite_journal.hpp>

struct Ping {
    std::string id;
    int n = 0;
};
SWITCHYARD_EVENT(Ping, "PING", id, n)

namespace {

int fail(const char* what) {
    std::fprintf(stderr, "consumer: %s\n", what);
    return 1;
}

switchyard::rule_spec ping_rule(int& got, bool& redelivered) {
    return {.name = "all-pings",
            .pattern = R"({"detail-type": ["PING"]})",
            .targets = {switchyard::handler<Ping>("count", [&](const switchyard::event<Ping>& e, const switchyard::delivery_info& info) {
                got += e.detail.n;
                redelivered = info.redelivered;
            })}};
}

int run() {
    using namespace std::chrono;
    const std::filesystem::path dir = SWITCHYARD_CONSUMER_DIR;
    const auto journal_file = (dir / "journal.db").string();
    const auto archive_file = (dir / "archive.db").string();
    for (const auto& file : {journal_file, archive_file}) {
        for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(file + suffix);
    }

    // 1. Publish through a journaled, archiving bus.
    int got = 0;
    bool redelivered = false;
    {
        auto journal = std::make_shared<switchyard::sqlite_journal>(journal_file);
        auto store = std::make_shared<switchyard::sqlite_archive_store>(archive_file);
        {
            switchyard::bus bus{"consumer", {.journal = journal}};
            switchyard::archive archive(bus, {.name = "pings", .store = store});
            bus.add_rule(ping_rule(got, redelivered));
            if (const auto result = bus.producer<Ping>("com.example.consumer").publish({"a", 2}); !result) {
                std::fprintf(stderr, "consumer: the bus refused the PING event: %s\n", result.error_message.c_str());
                return 1;
            }
            bus.drain();
        }
        if (got != 2 || redelivered) return fail("the PING event was not delivered once with n=2");
        journal->flush();
        // Two deliveries: the rule's and the archive's (a rule too, journaled like any).
        if (journal->stats().events != 1 || journal->stats().ends != 2)
            return fail("the SQLite journal did not record the PING event and its two deliveries' ends");
        if (!journal->unfinished().empty()) return fail("the SQLite journal still has the delivered PING as unfinished");
        if (store->count() != 1) return fail("the PING event is not in the SQLite archive");
    }

    // 2. As after a crash mid-delivery: the archived event, read back from the file, is accepted in
    //    the journal file with its delivery still open.
    std::vector<std::string> archived;
    {
        switchyard::sqlite_archive_store store(archive_file);
        const auto now = system_clock::now();
        store.scan(now - hours(24), now + hours(24), [&](const switchyard::archived_event& e) {
            archived.emplace_back(e.event_json);
            return true;
        });
        if (archived.size() != 1 || archived[0].find("\"PING\"") == std::string::npos)
            return fail("reopened, the SQLite archive does not hold exactly the PING event");
        switchyard::sqlite_journal journal(journal_file);
        journal.record_accepted(archived[0], std::vector<switchyard::journal_delivery>{{"all-pings", "count"}});
    }

    // 3. A new process's bus recovers it from the journal file.
    got = 0;
    {
        auto journal = std::make_shared<switchyard::sqlite_journal>(journal_file);
        switchyard::bus bus{"consumer", {.journal = journal}};
        bus.add_rule(ping_rule(got, redelivered));
        const auto recovered = bus.recover();
        bus.drain();
        if (recovered.deliveries != 1 || got != 2 || !redelivered)
            return fail("recover() did not re-deliver the journaled PING event once, flagged as redelivered");
    }
    if (!switchyard::sqlite_journal(journal_file).unfinished().empty())
        return fail("the SQLite journal still has the recovered PING as unfinished");

    std::puts("consumer: PING delivered, archived and journaled in SQLite, and recovered from the journal");
    return 0;
}

}  // namespace

int main() {
    try {
        return run();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "consumer: %s\n", e.what());
        return 1;
    }
}
