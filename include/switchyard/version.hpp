/// @file
/// switchyard's version: the one place it is written. CMakeLists.txt reads it from here (for the
/// package config and pkg-config files), so the macros, version() and the installed package
/// always agree. Semantic versioning: a minor version keeps source compatibility.
#pragma once

#include <string_view>

/// The major version.
#define SWITCHYARD_VERSION_MAJOR 0
/// The minor version.
#define SWITCHYARD_VERSION_MINOR 1
/// The patch version.
#define SWITCHYARD_VERSION_PATCH 0

/// One number to compare in `#if`: 10000 * major + 100 * minor + patch (0.1.0 is 100).
#define SWITCHYARD_VERSION (SWITCHYARD_VERSION_MAJOR * 10000 + SWITCHYARD_VERSION_MINOR * 100 + SWITCHYARD_VERSION_PATCH)

namespace switchyard {

/// A version of switchyard, as version() returns it.
struct version_info {
    int major;              ///< SWITCHYARD_VERSION_MAJOR
    int minor;              ///< SWITCHYARD_VERSION_MINOR
    int patch;              ///< SWITCHYARD_VERSION_PATCH
    std::string_view text;  ///< "major.minor.patch", e.g. "0.1.0"

    /// Compares the numbers only (the text follows from them).
    friend constexpr bool operator==(const version_info& a, const version_info& b) noexcept {
        return a.major == b.major && a.minor == b.minor && a.patch == b.patch;
    }
};

#define SWITCHYARD_DETAIL_STRINGIFY2(x) #x
#define SWITCHYARD_DETAIL_STRINGIFY(x) SWITCHYARD_DETAIL_STRINGIFY2(x)

/// The version of the headers this code was compiled against.
constexpr version_info version() noexcept {
    return {SWITCHYARD_VERSION_MAJOR, SWITCHYARD_VERSION_MINOR, SWITCHYARD_VERSION_PATCH,
            SWITCHYARD_DETAIL_STRINGIFY(SWITCHYARD_VERSION_MAJOR) "." SWITCHYARD_DETAIL_STRINGIFY(
                SWITCHYARD_VERSION_MINOR) "." SWITCHYARD_DETAIL_STRINGIFY(SWITCHYARD_VERSION_PATCH)};
}

}  // namespace switchyard
