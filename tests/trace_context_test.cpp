// W3C Trace Context: the spec's traceparent and tracestate examples, its invalid cases (version ff,
// upper case, all-zero ids, bad lengths and separators), later versions, generated ids and
// child spans.
#include <doctest/doctest.h>

#include <set>
#include <string>

#include <switchyard/trace_context.hpp>

namespace {

using switchyard::trace_context;

constexpr const char* spec_example = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

TEST_CASE("traceparent: the spec's example parses and formats back") {
    const auto ctx = trace_context::parse(spec_example);
    REQUIRE(ctx);
    CHECK(ctx->trace_id_hex() == "4bf92f3577b34da6a3ce929d0e0e4736");
    CHECK(ctx->span_id_hex() == "00f067aa0ba902b7");
    CHECK(switchyard::to_hex(ctx->trace) == "4bf92f3577b34da6a3ce929d0e0e4736");
    CHECK(switchyard::to_hex(ctx->span) == "00f067aa0ba902b7");
    CHECK(ctx->trace[0] == 0x4b);
    CHECK(ctx->span[7] == 0xb7);
    CHECK(ctx->sampled());
    CHECK(ctx->valid());
    CHECK(ctx->traceparent() == spec_example);
    CHECK(ctx->tracestate.empty());

    const auto unsampled = trace_context::parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00");
    REQUIRE(unsampled);
    CHECK(!unsampled->sampled());
    CHECK(unsampled->flags == 0);
}

TEST_CASE("traceparent: invalid headers are refused") {
    const char* invalid[] = {
        "",
        "00",
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",   // version ff is invalid
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",   // upper-case trace id
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00F067AA0BA902B7-01",   // upper-case parent id
        "0A-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",   // upper-case version
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",   // all-zero trace id
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",   // all-zero parent id
        "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",    // trace id one short
        "00-4bf92f3577b34da6a3ce929d0e0e47366-00f067aa0ba902b7-01",  // trace id one long
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b-01",    // parent id one short
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1",    // flags one short
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-011",  // version 00 is exactly 55 chars
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-",  // no extra fields in 00
        "00_4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7_01",   // wrong separators
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0g",   // flags not hex
        "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",   // trace id not hex
        "x0-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",   // version not hex
        " 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",  // leading space
        "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01.",  // a later version's flags end badly
    };
    for (const char* header : invalid) CHECK_MESSAGE(!trace_context::parse(header), header);
}

TEST_CASE("traceparent: a later version is read as far as version 00 defines it") {
    const auto future = trace_context::parse("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-the-future-will-be-like");
    REQUIRE(future);
    CHECK(future->trace_id_hex() == "4bf92f3577b34da6a3ce929d0e0e4736");
    CHECK(future->sampled());
    CHECK(future->traceparent() == spec_example);  // propagated as the version we speak
    CHECK(trace_context::parse("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));
}

TEST_CASE("tracestate: the spec's examples, and what it forbids") {
    using switchyard::valid_tracestate;
    CHECK(valid_tracestate(""));
    CHECK(valid_tracestate("rojo=00f067aa0ba902b7"));
    CHECK(valid_tracestate("rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"));
    CHECK(valid_tracestate("congo=t61rcWkgMzE , rojo=00f067aa0ba902b7"));  // optional whitespace
    CHECK(valid_tracestate("rojo=1,,congo=2"));                             // empty member
    CHECK(valid_tracestate("fw529a3039@dt=cTBhbmdfb25seQ"));                // multi-tenant key
    CHECK(valid_tracestate("a-b_c*d/e=value with spaces"));
    CHECK(!valid_tracestate("Rojo=1"));            // upper-case key
    CHECK(!valid_tracestate("rojo"));              // no value
    CHECK(!valid_tracestate("rojo="));             // empty value
    CHECK(!valid_tracestate("=1"));                // empty key
    CHECK(!valid_tracestate("rojo=a=b"));          // '=' in the value
    CHECK(valid_tracestate("rojo=trailing "));     // the space is the list's optional whitespace
    CHECK(!valid_tracestate("rojo=1,rojo=2"));     // a key twice
    CHECK(!valid_tracestate("rojo=\x01"));         // control character
    CHECK(!valid_tracestate("@dt=1"));             // empty tenant
    CHECK(!valid_tracestate("t@=1"));              // empty system
    CHECK(!valid_tracestate("t@1dt=1"));           // system starts with a digit

    std::string many;
    for (int i = 0; i < 32; ++i) many += (i ? ",k" : "k") + std::to_string(i) + "=v";
    CHECK(valid_tracestate(many));
    CHECK(!valid_tracestate(many + ",k32=v"));  // 33 members
    CHECK(valid_tracestate("k=" + std::string(256, 'v')));
    CHECK(!valid_tracestate("k=" + std::string(257, 'v')));
    std::string long_state = "a=" + std::string(250, 'x') + ",b=" + std::string(250, 'y');
    CHECK(long_state.size() == 505);
    CHECK(valid_tracestate(long_state));
    CHECK(!valid_tracestate(long_state + ",cc=yyyy"));  // 513 characters
}

TEST_CASE("tracestate travels with a valid traceparent; an invalid one is dropped, the traceparent kept") {
    const auto with = trace_context::parse(spec_example, "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE");
    REQUIRE(with);
    CHECK(with->tracestate == "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE");
    const auto dropped = trace_context::parse(spec_example, "Invalid State");
    REQUIRE(dropped);
    CHECK(dropped->tracestate.empty());
    CHECK(!trace_context::parse("nonsense", "rojo=1"));
}

TEST_CASE("new traces and child spans") {
    const auto root = trace_context::start();
    CHECK(root.valid());
    CHECK(root.sampled());
    CHECK(!trace_context::start(false).sampled());
    CHECK(!trace_context{}.valid());
    REQUIRE(trace_context::parse(root.traceparent()));
    CHECK(*trace_context::parse(root.traceparent()) == root);

    auto parent = *trace_context::parse(spec_example, "rojo=1");
    const auto child = switchyard::child_of(parent);
    CHECK(child.valid());
    CHECK(child.trace == parent.trace);
    CHECK(child.span != parent.span);
    CHECK(child.flags == parent.flags);
    CHECK(child.tracestate == "rojo=1");

    // Ids are random: a thousand are all different, and never zero.
    std::set<std::string> traces, spans;
    for (int i = 0; i < 1000; ++i) {
        const auto t = trace_context::start();
        traces.insert(t.trace_id_hex());
        spans.insert(switchyard::child_of(t).span_id_hex());
    }
    CHECK(traces.size() == 1000);
    CHECK(spans.size() == 1000);
}

}  // namespace
