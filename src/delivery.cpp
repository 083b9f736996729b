// libswitchyard, one unit: Delivery: retry backoff, the timer service, ordering keys.
// (SWITCHYARD_HEADER_ONLY compiles the same -inl.hpp files into every file that includes
// their headers instead.)
#include "switchyard/delivery/retry_policy-inl.hpp"
#include "switchyard/delivery/timer_service-inl.hpp"
#include "switchyard/delivery/ordering_key-inl.hpp"
