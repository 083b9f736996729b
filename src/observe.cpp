// libswitchyard, one unit: Observability: the log sink, Prometheus text, the tracer helpers.
// (SWITCHYARD_HEADER_ONLY compiles the same -inl.hpp files into every file that includes
// their headers instead.)
#include "switchyard/observe/log-inl.hpp"
#include "switchyard/observe/prometheus-inl.hpp"
#include "switchyard/observe/tracer-inl.hpp"
