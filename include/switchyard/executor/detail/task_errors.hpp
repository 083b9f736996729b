// What a pool does with an exception that escapes a task: hand it to the pool's error handler,
// or, without one, write one line to stderr — never let it end the worker thread.
#pragma once

#include <cstdio>
#include <exception>
#include <functional>

namespace switchyard::detail {

inline void report_task_failure(const std::function<void(std::exception_ptr)>& on_error, std::exception_ptr failure,
                                const char* pool) noexcept {
    try {
        if (on_error) {
            on_error(failure);
            return;
        }
        std::rethrow_exception(failure);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "switchyard: %s task failed: %s\n", pool, e.what());
    } catch (...) {
        std::fprintf(stderr, "switchyard: %s task failed (or its error handler threw) with a non-standard exception\n", pool);
    }
}

}  // namespace switchyard::detail
