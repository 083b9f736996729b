// Inlining hints for the matching path. Detail headers only: in the default (compiled) mode they
// are compiled into libswitchyard, and no public header includes them.
//
// SWITCHYARD_ALWAYS_INLINE is kept to the few small helpers the scanner and the matcher call per
// JSON string or per field (json_string_end and its wrappers, skip_string, path_index::collect,
// its lambdas and probe). GCC stops inlining in a translation unit once inlining has grown the
// unit by --param inline-unit-growth (40 %), and which calls are left out of line then depends on
// everything else in the unit. Both libswitchyard's pattern unit (src/pattern.cpp: the parser, the
// matcher and the flattener) and a header-only user's file reach that limit: the string-end
// search stayed a call in both, and the per-field collect/probe calls stayed calls in the
// compiled library only, which was most of its gap to header-only on plain-JSON matching
// (BENCHMARKS.md, "Compiled library against header-only: instruction counts").
#pragma once

#if defined(_MSC_VER)
#define SWITCHYARD_NOINLINE __declspec(noinline)
#define SWITCHYARD_ALWAYS_INLINE __forceinline
#define SWITCHYARD_LAMBDA_ALWAYS_INLINE
#else
#define SWITCHYARD_NOINLINE __attribute__((noinline))
#define SWITCHYARD_ALWAYS_INLINE inline __attribute__((always_inline))
// After a lambda's parameter list: [&](int x) SWITCHYARD_LAMBDA_ALWAYS_INLINE { ... }
#define SWITCHYARD_LAMBDA_ALWAYS_INLINE __attribute__((always_inline))
#endif
