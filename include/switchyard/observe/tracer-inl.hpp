// recording_tracer's definitions: tracer.hpp's compiled half (compiled into libswitchyard, or
// included by tracer.hpp when SWITCHYARD_HEADER_ONLY is defined).
#pragma once

#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "switchyard/config.hpp"
#include "switchyard/observe/tracer.hpp"

namespace switchyard {

SWITCHYARD_INLINE void recording_tracer::on_publish(const trace_context& span, const publish_info& info) {
    std::lock_guard lock(mutex_);
    auto& r = add(span, info.parent, "publish", info.at);
    r.bus = info.bus;
    r.event_id = info.event_id;
    r.end = info.at;
    r.ended = true;
    r.events.push_back({"publish", info.at, {{"source", std::string(info.source)}, {"detail_type", std::string(info.detail_type)}}});
}

SWITCHYARD_INLINE void recording_tracer::on_match(const trace_context& span, const match_info& info) {
    std::lock_guard lock(mutex_);
    find_or_add(span, info.at).events.push_back({"match", info.at, {{"rule", std::string(info.rule)}}});
}

SWITCHYARD_INLINE void recording_tracer::on_deliver_start(const trace_context& span, const deliver_start_info& info) {
    std::lock_guard lock(mutex_);
    auto& r = add(span, info.parent, "deliver", info.at);
    r.bus = info.bus;
    r.rule = info.rule;
    r.target = info.target;
    r.event_id = info.event_id;
    r.attempt = info.attempt;
}

SWITCHYARD_INLINE void recording_tracer::on_deliver_end(const trace_context& span, const deliver_end_info& info) {
    std::lock_guard lock(mutex_);
    auto& r = find_or_add(span, info.at);
    r.end = info.at;
    r.ended = true;
    r.result = info.result;
    r.error = info.error;
}

SWITCHYARD_INLINE void recording_tracer::on_retry(const trace_context& span, const retry_info& info) {
    std::lock_guard lock(mutex_);
    find_or_add(span, info.at)
        .events.push_back({"retry",
                           info.at,
                           {{"next_attempt", std::to_string(info.next_attempt)},
                            {"delay_ns", std::to_string(info.delay.count())},
                            {"reason", std::string(info.reason)}}});
}

SWITCHYARD_INLINE void recording_tracer::on_dead_letter(const trace_context& span, const dead_letter_info& info) {
    std::lock_guard lock(mutex_);
    find_or_add(span, info.at)
        .events.push_back({"dead_letter",
                           info.at,
                           {{"bus", std::string(info.bus)},
                            {"rule", std::string(info.rule)},
                            {"target", std::string(info.target)},
                            {"event_id", std::string(info.event_id)},
                            {"reason", std::string(info.reason)},
                            {"error_code", std::string(info.error_code)},
                            {"message", std::string(info.message)},
                            {"attempts", std::to_string(info.attempts)}}});
}

SWITCHYARD_INLINE std::vector<span_record> recording_tracer::spans() const {
    std::lock_guard lock(mutex_);
    return spans_;
}

SWITCHYARD_INLINE std::optional<span_record> recording_tracer::find(const span_id& id) const {
    std::lock_guard lock(mutex_);
    const auto it = by_span_.find(id);
    if (it == by_span_.end()) return std::nullopt;
    return spans_[it->second];
}

SWITCHYARD_INLINE std::vector<span_record> recording_tracer::children_of(const span_id& id) const {
    std::lock_guard lock(mutex_);
    std::vector<span_record> out;
    for (const auto& r : spans_)
        if (r.parent == id) out.push_back(r);
    return out;
}

SWITCHYARD_INLINE std::size_t recording_tracer::size() const {
    std::lock_guard lock(mutex_);
    return spans_.size();
}

SWITCHYARD_INLINE void recording_tracer::clear() {
    std::lock_guard lock(mutex_);
    spans_.clear();
    by_span_.clear();
}

SWITCHYARD_INLINE span_record& recording_tracer::add(const trace_context& span, const span_id& parent, const char* name, trace_clock::time_point at) {
    by_span_[span.span] = spans_.size();
    auto& r = spans_.emplace_back();
    r.context = span;
    r.parent = parent;
    r.name = name;
    r.start = at;
    return r;
}

SWITCHYARD_INLINE span_record& recording_tracer::find_or_add(const trace_context& span, trace_clock::time_point at) {
    const auto it = by_span_.find(span.span);
    if (it != by_span_.end()) return spans_[it->second];
    return add(span, span_id{}, "unknown", at);
}

}  // namespace switchyard
