// metrics_snapshot::find returns a pointer into the snapshot: on a temporary
// (`bus.metrics().find(...)`) it would dangle once the statement ends. This file must not compile.
// expect: metrics_snapshot::find
#include <switchyard/switchyard.hpp>

double invocations(const switchyard::bus& bus) {
    const auto* sample = bus.metrics().find(switchyard::metric_names::invocations);
    return sample ? sample->value : 0.0;
}
