// The compiled switchyard library: the bus's engine and the compiled halves of the public
// headers (JSON, formatting, threads, the pattern and transform engines), compiled once here
// instead of in every file that includes them (define SWITCHYARD_HEADER_ONLY to do the latter).
// Each `-inl.hpp` holds one header's definitions.
#include "switchyard/detail/json_emit-inl.hpp"
#include "switchyard/event-inl.hpp"
#include "switchyard/dedup-inl.hpp"
#include "switchyard/observe/log-inl.hpp"
#include "switchyard/observe/prometheus-inl.hpp"
#include "switchyard/observe/tracer-inl.hpp"
#include "switchyard/executor/thread_pool-inl.hpp"
#include "switchyard/executor/elastic_pool-inl.hpp"
#include "switchyard/executor/keyed_strand-inl.hpp"
#include "switchyard/delivery/timer_service-inl.hpp"
#include "switchyard/delivery/ordering_key-inl.hpp"
#include "switchyard/durability/journal-inl.hpp"
#include "switchyard/durability/idempotency-inl.hpp"
#include "switchyard/durability/archive_store-inl.hpp"
#include "switchyard/pattern/pattern-inl.hpp"
#include "switchyard/pattern/matcher-inl.hpp"
#include "switchyard/pattern/flatten-inl.hpp"
#include "switchyard/transform-inl.hpp"
#include "switchyard/archive-inl.hpp"
#include "switchyard/bus/bus-inl.hpp"
