// The umbrella header: everything in switchyard's header-only core.
#pragma once

#include "switchyard/bus.hpp"
#include "switchyard/error.hpp"
#include "switchyard/event.hpp"
#include "switchyard/executor/executor.hpp"
#include "switchyard/executor/inline_executor.hpp"
#include "switchyard/executor/thread_pool.hpp"
#include "switchyard/fields.hpp"
#include "switchyard/flatten.hpp"
#include "switchyard/pattern/matcher.hpp"
#include "switchyard/pattern/pattern.hpp"
#include "switchyard/producer.hpp"
#include "switchyard/rule.hpp"
#include "switchyard/target.hpp"
