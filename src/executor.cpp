// libswitchyard, one unit: Executors: thread_pool, elastic_pool, keyed_strand.
// (SWITCHYARD_HEADER_ONLY compiles the same -inl.hpp files into every file that includes
// their headers instead.)
#include "switchyard/executor/thread_pool-inl.hpp"
#include "switchyard/executor/elastic_pool-inl.hpp"
#include "switchyard/executor/keyed_strand-inl.hpp"
