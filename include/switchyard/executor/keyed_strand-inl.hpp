// keyed_strand.hpp's compiled half (compiled into libswitchyard, or included by keyed_strand.hpp when
// SWITCHYARD_HEADER_ONLY is defined).
#pragma once

#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>

#include "switchyard/config.hpp"
#include "switchyard/executor/keyed_strand.hpp"

namespace switchyard {

SWITCHYARD_INLINE void keyed_strand::execute(const std::string& key, task t) {
    auto head = state_->order.arrive(key, std::move(t));
    if (!head) return;
    try {
        state_->inner.execute(wrap(state_, key, std::move(*head)));
    } catch (...) {
        if (auto next = state_->order.depart(key)) run(state_, key, std::move(*next));
        throw;
    }
}

SWITCHYARD_INLINE task keyed_strand::wrap(const std::shared_ptr<state>& s, const std::string& key, task body) {
    return [s, key, body = std::move(body)]() mutable {
        try {
            body();
        } catch (...) {
            // Tasks must not throw (the executor contract); the key's order goes on.
        }
        body = nullptr;
        if (auto next = s->order.depart(key)) run(s, key, std::move(*next));
    };
}

SWITCHYARD_INLINE void keyed_strand::run(const std::shared_ptr<state>& s, const std::string& key, task body) {
    thread_local std::deque<job>* trampoline = nullptr;
    if (trampoline) {
        trampoline->push_back({s, key, std::move(body)});
        return;
    }
    std::deque<job> queue;
    queue.push_back({s, key, std::move(body)});
    trampoline = &queue;
    while (!queue.empty()) {
        job j = std::move(queue.front());
        queue.pop_front();
        for (;;) {
            try {
                j.s->inner.execute(wrap(j.s, j.key, std::move(j.body)));
                break;
            } catch (...) {
                auto next = j.s->order.depart(j.key);  // skipped: see execute()
                if (!next) break;
                j.body = std::move(*next);
            }
        }
    }
    trampoline = nullptr;
}

}  // namespace switchyard
