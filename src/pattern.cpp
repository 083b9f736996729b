// libswitchyard, one unit: The pattern engine: the parser, the matcher, the flattener. Its own translation unit, so
// the compiler's inlining budget is spent on the scanner and the matcher alone.
// (SWITCHYARD_HEADER_ONLY compiles the same -inl.hpp files into every file that includes
// their headers instead.)
#include "switchyard/pattern/pattern-inl.hpp"
#include "switchyard/pattern/matcher-inl.hpp"
#include "switchyard/pattern/flatten-inl.hpp"
