// The compiled switchyard library: the bus's engine, compiled once here instead of in every
// file that includes bus.hpp (define SWITCHYARD_HEADER_ONLY to do the latter).
#include "switchyard/bus/bus-inl.hpp"
