// Build configuration: whether switchyard's engines come from the compiled library (the default)
// or are compiled into every file that includes them (SWITCHYARD_HEADER_ONLY, as fmt and spdlog
// offer), and how the compiled library's symbols are exported.
#pragma once

#ifdef SWITCHYARD_HEADER_ONLY
#define SWITCHYARD_INLINE inline
#else
#define SWITCHYARD_INLINE
#endif

// Shared-library builds on Windows need explicit exports; ELF exports everything by default.
#if defined(_WIN32) && defined(SWITCHYARD_SHARED) && !defined(SWITCHYARD_HEADER_ONLY)
#ifdef SWITCHYARD_BUILDING
#define SWITCHYARD_API __declspec(dllexport)
#else
#define SWITCHYARD_API __declspec(dllimport)
#endif
#else
#define SWITCHYARD_API
#endif
