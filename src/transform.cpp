// libswitchyard, one unit: The transform engine: input paths and input transformers.
// (SWITCHYARD_HEADER_ONLY compiles the same -inl.hpp files into every file that includes
// their headers instead.)
#include "switchyard/transform-inl.hpp"
