// libswitchyard, one unit: Durability: the memory journal, idempotency, archive stores, the archive and replay.
// (SWITCHYARD_HEADER_ONLY compiles the same -inl.hpp files into every file that includes
// their headers instead.)
#include "switchyard/durability/journal-inl.hpp"
#include "switchyard/durability/idempotency-inl.hpp"
#include "switchyard/durability/archive_store-inl.hpp"
#include "switchyard/archive-inl.hpp"
