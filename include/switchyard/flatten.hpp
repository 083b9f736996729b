// Moved: the flattener belongs to the pattern layer, beside the matcher whose automaton it walks.
// Include <switchyard/pattern/flatten.hpp>; this forwarding header will be removed.
#pragma once

#include "switchyard/pattern/flatten.hpp"
