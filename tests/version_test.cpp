// The version macros, switchyard::version() and the CMake project version agree.
#include <doctest/doctest.h>

#include <string>

#include <switchyard/switchyard.hpp>

static_assert(SWITCHYARD_VERSION == SWITCHYARD_VERSION_MAJOR * 10000 + SWITCHYARD_VERSION_MINOR * 100 + SWITCHYARD_VERSION_PATCH);
static_assert(switchyard::version().major == SWITCHYARD_VERSION_MAJOR);

TEST_CASE("version() spells the version macros, and CMake's project version is the same") {
    constexpr auto v = switchyard::version();
    CHECK(v.major == SWITCHYARD_VERSION_MAJOR);
    CHECK(v.minor == SWITCHYARD_VERSION_MINOR);
    CHECK(v.patch == SWITCHYARD_VERSION_PATCH);
    CHECK(std::string(v.text) == std::to_string(v.major) + "." + std::to_string(v.minor) + "." + std::to_string(v.patch));
    // CMakeLists.txt reads the version from version.hpp; the package config and pkg-config file
    // carry PROJECT_VERSION, passed here by tests/CMakeLists.txt.
    CHECK(std::string(v.text) == SWITCHYARD_TEST_PROJECT_VERSION);
}
