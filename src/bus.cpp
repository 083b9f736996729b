// libswitchyard, one unit: The bus's engine (include/switchyard/bus/) and the definitions behind bus.hpp and producer.hpp.
// (SWITCHYARD_HEADER_ONLY compiles the same -inl.hpp files into every file that includes
// their headers instead.)
#include "switchyard/bus/bus-inl.hpp"
