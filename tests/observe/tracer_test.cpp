// The tracer hooks and recording_tracer: the span tree of one event published under a caller's
// context, matched by one rule with two targets, one retried once and then delivered; dead letters
// as span events; hooks for unseen spans; the no-op defaults; concurrent recording (TSan).
#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <switchyard/observe/tracer.hpp>

namespace {

using namespace std::chrono_literals;
using switchyard::child_of;
using switchyard::deliver_result;
using switchyard::recording_tracer;
using switchyard::trace_clock;
using switchyard::trace_context;

const trace_clock::time_point t0{std::chrono::seconds(1'800'000'000)};

TEST_CASE("recording_tracer: one event, a retry, two targets") {
    recording_tracer rec;
    switchyard::tracer& hooks = rec;

    // What the bus will do: publish is a child of the caller's span; each attempt a child of publish.
    const auto caller = trace_context::start();
    const auto publish = child_of(caller);
    hooks.on_publish(publish, {caller.span, "payments", "e-1", "com.example", "Order", t0});
    hooks.on_match(publish, {"payments", "e-1", "orders", t0 + 1us});

    const auto a1 = child_of(publish);
    hooks.on_deliver_start(a1, {publish.span, "payments", "orders", "audit", "e-1", 1, t0 + 2us});
    hooks.on_deliver_end(a1, {deliver_result::retryable_failure, "timeout", t0 + 5us});
    hooks.on_retry(a1, {2, 100ms, "timeout", t0 + 5us});
    const auto b1 = child_of(publish);
    hooks.on_deliver_start(b1, {publish.span, "payments", "orders", "billing", "e-1", 1, t0 + 3us});
    hooks.on_deliver_end(b1, {deliver_result::success, {}, t0 + 4us});
    const auto a2 = child_of(publish);
    hooks.on_deliver_start(a2, {publish.span, "payments", "orders", "audit", "e-1", 2, t0 + 100ms});
    hooks.on_deliver_end(a2, {deliver_result::success, {}, t0 + 101ms});

    CHECK(rec.size() == 4);
    const auto roots = rec.roots();
    CHECK(roots.empty());  // the publish span's parent is the caller's span, which is not recorded

    const auto p = rec.find(publish.span);
    REQUIRE(p);
    CHECK(p->name == "publish");
    CHECK(p->parent == caller.span);
    CHECK(p->context.trace == caller.trace);
    CHECK(p->bus == "payments");
    CHECK(p->event_id == "e-1");
    CHECK(p->ended);
    REQUIRE(p->events.size() == 2);
    CHECK(p->events[0].attribute("source") == "com.example");
    CHECK(p->events[1].name == "match");
    CHECK(p->events[1].attribute("rule") == "orders");

    const auto children = rec.children_of(publish.span);
    REQUIRE(children.size() == 3);
    for (const auto& c : children) {
        CHECK(c.name == "deliver");
        CHECK(c.context.trace == caller.trace);  // one trace, across retries and targets
        CHECK(c.ended);
        CHECK(c.rule == "orders");
    }
    CHECK(children[0].target == "audit");
    CHECK(children[0].attempt == 1);
    CHECK(children[0].result == deliver_result::retryable_failure);
    CHECK(children[0].error == "timeout");
    REQUIRE(children[0].events.size() == 1);
    CHECK(children[0].events[0].name == "retry");
    CHECK(children[0].events[0].attribute("next_attempt") == "2");
    CHECK(children[0].events[0].attribute("delay_ns") == "100000000");
    CHECK(children[1].target == "billing");
    CHECK(children[1].result == deliver_result::success);
    CHECK(children[2].target == "audit");
    CHECK(children[2].attempt == 2);
    CHECK(children[2].start == t0 + 100ms);
    CHECK(children[2].end == t0 + 101ms);
    CHECK(children[2].result == deliver_result::success);
    CHECK(children[2].error.empty());
    CHECK(rec.children_of(a1.span).empty());

    rec.clear();
    CHECK(rec.size() == 0);
    CHECK(!rec.find(publish.span));
}

TEST_CASE("recording_tracer: a publish that starts its trace is a root; dead letters are span events") {
    recording_tracer rec;
    const auto publish = trace_context::start();
    rec.on_publish(publish, {{}, "b", "e-2", "s", "d", t0});
    const auto attempt = child_of(publish);
    rec.on_deliver_start(attempt, {publish.span, "b", "r", "t", "e-2", 1, t0});
    rec.on_deliver_end(attempt, {deliver_result::permanent_failure, "bad input", t0 + 1ms});
    rec.on_dead_letter(attempt, {"b", "r", "t", "e-2", "permanent_failure", "HandlerFailed", "bad input", 1, t0 + 1ms});

    const auto roots = rec.roots();
    REQUIRE(roots.size() == 1);
    CHECK(roots[0].is_root());
    CHECK(roots[0].context == publish);
    const auto a = rec.find(attempt.span);
    REQUIRE(a);
    CHECK(a->result == deliver_result::permanent_failure);
    REQUIRE(a->events.size() == 1);
    CHECK(a->events[0].name == "dead_letter");
    CHECK(a->events[0].attribute("error_code") == "HandlerFailed");
    CHECK(a->events[0].attribute("attempts") == "1");
    CHECK(a->events[0].attribute("missing").empty());
    CHECK(switchyard::to_string(deliver_result::permanent_failure) == "permanent_failure");
}

TEST_CASE("recording_tracer: a hook for a span it never saw start is kept, not lost") {
    recording_tracer rec;
    const auto stranger = trace_context::start();
    rec.on_match(stranger, {"b", "e", "r", t0});
    rec.on_deliver_end(stranger, {deliver_result::success, {}, t0});
    const auto spans = rec.spans();
    REQUIRE(spans.size() == 1);
    CHECK(spans[0].name == "unknown");
    CHECK(spans[0].events.size() == 1);
    CHECK(spans[0].ended);
}

TEST_CASE("tracer: every hook has a no-op default") {
    struct only_publish : switchyard::tracer {
        int published = 0;
        void on_publish(const trace_context&, const switchyard::publish_info&) override { ++published; }
    } t;
    switchyard::tracer& hooks = t;
    const auto ctx = trace_context::start();
    hooks.on_publish(ctx, {});
    hooks.on_match(ctx, {});
    hooks.on_deliver_start(ctx, {});
    hooks.on_deliver_end(ctx, {});
    hooks.on_retry(ctx, {});
    hooks.on_dead_letter(ctx, {});
    CHECK(t.published == 1);
}

TEST_CASE("recording_tracer: concurrent deliveries record every span") {
    recording_tracer rec;
    const auto publish = trace_context::start();
    rec.on_publish(publish, {{}, "b", "e", "s", "d", t0});
    constexpr int threads = 4, per_thread = 500;
    std::vector<std::thread> workers;
    for (int w = 0; w < threads; ++w)
        workers.emplace_back([&, w] {
            for (int i = 0; i < per_thread; ++i) {
                const auto span = child_of(publish);
                const auto target = "t" + std::to_string(w);
                rec.on_deliver_start(span, {publish.span, "b", "r", target, "e", 1, t0});
                if (i % 2) rec.on_retry(span, {2, 1ms, "x", t0});
                rec.on_deliver_end(span, {deliver_result::success, {}, t0});
                (void)rec.size();  // a reader among the writers
            }
        });
    for (auto& w : workers) w.join();
    const auto children = rec.children_of(publish.span);
    CHECK(children.size() == threads * per_thread);
    for (const auto& c : children) CHECK(c.ended);
}

}  // namespace
