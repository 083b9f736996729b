// The log sink: levels and thresholds, the stderr sink's one-line format (written to a tmpfile()
// instead of stderr), quoting and escaping of fields, a custom sink capturing structured fields,
// and concurrent writers producing whole lines (TSan).
#include <doctest/doctest.h>

#include <cstdio>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <switchyard/observe/log.hpp>

namespace {

using switchyard::log_field;
using switchyard::log_level;

// Everything a FILE* received, from the start.
std::string contents(std::FILE* f) {
    std::fflush(f);
    std::rewind(f);
    std::string out;
    char buffer[4096];
    std::size_t n;
    while ((n = std::fread(buffer, 1, sizeof buffer, f)) > 0) out.append(buffer, n);
    return out;
}

struct tmp_file {
    std::FILE* f = std::tmpfile();
    ~tmp_file() {
        if (f) std::fclose(f);
    }
};

struct captured {
    log_level level;
    std::string message;
    std::vector<std::pair<std::string, std::string>> fields;
};

class capture_sink : public switchyard::log_sink {
public:
    bool enabled(log_level level) const noexcept override { return level >= log_level::debug; }
    void write(log_level level, std::string_view message, std::span<const log_field> fields) override {
        captured c{level, std::string(message), {}};
        for (const auto& f : fields) c.fields.emplace_back(std::string(f.key), f.value);
        std::lock_guard lock(mutex_);
        lines_.push_back(std::move(c));
    }
    std::vector<captured> lines() const {
        std::lock_guard lock(mutex_);
        return lines_;
    }

private:
    mutable std::mutex mutex_;
    std::vector<captured> lines_;
};

TEST_CASE("levels are ordered and named") {
    CHECK(log_level::trace < log_level::debug);
    CHECK(log_level::warn < log_level::error);
    CHECK(switchyard::to_string(log_level::warn) == "warn");
    CHECK(switchyard::to_string(log_level::error) == "error");
    CHECK(switchyard::to_string(log_level::trace) == "trace");
}

TEST_CASE("format: the message, then key=value, quoting what needs it") {
    const log_field fields[] = {{"bus", "payments"},
                                {"rule", "large transactions"},
                                {"empty", ""},
                                {"quote", "say \"hi\""},
                                {"path", "C:\\x"},
                                {"eq", "a=b"},
                                {"attempts", "3"}};
    CHECK(switchyard::format_log_line(log_level::warn, "dead letter with no sink", fields) ==
          "switchyard warn: dead letter with no sink bus=payments rule=\"large transactions\" empty=\"\" quote=\"say \\\"hi\\\"\" "
          "path=\"C:\\\\x\" eq=\"a=b\" attempts=3\n");
    CHECK(switchyard::format_log_line(log_level::error, "no fields", {}) == "switchyard error: no fields\n");
    // One line per message, whatever the text holds.
    const log_field multi[] = {{"reason", "line one\nline two\ttab\x01"}};
    CHECK(switchyard::format_log_line(log_level::info, "two\nlines", multi) ==
          "switchyard info: two\\nlines reason=\"line one\\nline two\\ttab\\x01\"\n");
}

TEST_CASE("stderr_sink: warn and above by default, one line each, to the FILE given") {
    tmp_file file;
    REQUIRE(file.f);
    switchyard::stderr_sink sink(log_level::warn, file.f);
    CHECK(sink.threshold() == log_level::warn);
    CHECK(!sink.enabled(log_level::info));
    CHECK(sink.enabled(log_level::error));
    switchyard::log_to(sink, log_level::info, "not shown");
    switchyard::log_to(sink, log_level::debug, "not shown either", {{"k", "v"}});
    switchyard::log_to(sink, log_level::warn, "handler threw", {{"target", "t"}, {"error", "boom: bad"}});
    switchyard::log_to(sink, log_level::error, "dead letter lost");
    const log_field direct[] = {{"x", "1"}};
    sink.write(log_level::trace, "written directly below the threshold", direct);  // still filtered
    CHECK(contents(file.f) == "switchyard warn: handler threw target=t error=\"boom: bad\"\nswitchyard error: dead letter lost\n");

    sink.set_threshold(log_level::trace);
    CHECK(sink.threshold() == log_level::trace);
    switchyard::log_to(sink, log_level::trace, "now shown", {{"n", "1"}});
    CHECK(contents(file.f).ends_with("switchyard trace: now shown n=1\n"));

    switchyard::stderr_sink quiet(log_level::error, file.f);
    CHECK(!quiet.enabled(log_level::warn));
}

TEST_CASE("a custom sink receives the structured fields, and log_to asks it first") {
    capture_sink sink;
    switchyard::log_to(sink, log_level::trace, "skipped: below what the sink wants");
    switchyard::log_to(sink, log_level::warn, "retry exhausted", {{"rule", "r"}, {"attempts", "4"}});
    const auto lines = sink.lines();
    REQUIRE(lines.size() == 1);
    CHECK(lines[0].level == log_level::warn);
    CHECK(lines[0].message == "retry exhausted");
    REQUIRE(lines[0].fields.size() == 2);
    CHECK(lines[0].fields[1] == std::pair<std::string, std::string>{"attempts", "4"});

    switchyard::null_sink null;
    CHECK(!null.enabled(log_level::error));
    switchyard::log_to(null, log_level::error, "nothing happens");
}

TEST_CASE("stderr_sink: concurrent writers never interleave a line") {
    tmp_file file;
    REQUIRE(file.f);
    switchyard::stderr_sink sink(log_level::info, file.f);
    constexpr int threads = 4, per_thread = 300;
    std::vector<std::thread> writers;
    for (int t = 0; t < threads; ++t)
        writers.emplace_back([&, t] {
            for (int i = 0; i < per_thread; ++i)
                switchyard::log_to(sink, log_level::warn, "concurrent line with some length to it",
                                   {{"thread", std::to_string(t)}, {"i", std::to_string(i)}, {"pad", std::string(100, 'p')}});
        });
    for (auto& w : writers) w.join();
    const auto text = contents(file.f);
    std::set<std::string> seen;
    std::size_t start = 0;
    while (start < text.size()) {
        const auto nl = text.find('\n', start);
        REQUIRE(nl != std::string::npos);
        const auto line = text.substr(start, nl - start);
        REQUIRE(line.starts_with("switchyard warn: concurrent line with some length to it thread="));
        REQUIRE(line.ends_with(" pad=" + std::string(100, 'p')));
        seen.insert(line);
        start = nl + 1;
    }
    CHECK(seen.size() == threads * per_thread);
}

}  // namespace
