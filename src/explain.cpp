// libswitchyard, one unit: "Why didn't it match?": explain().
// (SWITCHYARD_HEADER_ONLY compiles the same -inl.hpp files into every file that includes
// their headers instead.)
#include "switchyard/pattern/explain-inl.hpp"
