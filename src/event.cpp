// libswitchyard, one unit: Events: JSON emission, trace context, the event's JSON and parsing, the dedup window, the block pool.
// (SWITCHYARD_HEADER_ONLY compiles the same -inl.hpp files into every file that includes
// their headers instead.)
#include "switchyard/detail/json_emit-inl.hpp"
#include "switchyard/detail/json_validate-inl.hpp"
#include "switchyard/trace_context-inl.hpp"
#include "switchyard/event-inl.hpp"
#include "switchyard/dedup-inl.hpp"
#include "switchyard/detail/block_pool-inl.hpp"
