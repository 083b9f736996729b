// Runs each task at once, on the publishing thread: the cheapest executor, and the default
// for targets that name none. A handler on it delays the publisher for as long as it runs.
#pragma once

#include "switchyard/executor/executor.hpp"

namespace switchyard {

/// Runs each task at once, on the publishing thread: the cheapest executor, and the default
/// for targets that name none. A handler on it delays the publisher for as long as it runs.
class inline_executor {
public:
    /// Tells any_executor that tasks run at once on the calling thread.
    static constexpr bool runs_inline = true;

    /// Runs `t` now.
    void execute(task t) const { t(); }

    /// The process-wide instance targets use when they name no executor.
    static inline_executor& instance() noexcept {
        static inline_executor shared;
        return shared;
    }
};

}  // namespace switchyard
