# install(EXPORT) and a package config with components: `find_package(switchyard)` gives
# switchyard::core and switchyard::switchyard; compiled parts (sqlite, nats) are components.
include(CMakePackageConfigHelpers)
include(GNUInstallDirs)

set(SWITCHYARD_CMAKE_DIR "${CMAKE_INSTALL_LIBDIR}/cmake/switchyard")

# A component's headers are installed only with the component.
set(_switchyard_header_excludes)
if(NOT SWITCHYARD_WITH_SQLITE)
  list(APPEND _switchyard_header_excludes PATTERN "sqlite" EXCLUDE)
endif()
if(NOT SWITCHYARD_WITH_SCHEDULE)
  list(APPEND _switchyard_header_excludes PATTERN "schedule" EXCLUDE)
endif()
if(NOT SWITCHYARD_WITH_HTTP)
  list(APPEND _switchyard_header_excludes PATTERN "http" EXCLUDE)
endif()
if(NOT SWITCHYARD_WITH_NATS)
  list(APPEND _switchyard_header_excludes PATTERN "nats" EXCLUDE)
endif()
install(DIRECTORY "${PROJECT_SOURCE_DIR}/include/switchyard"
  DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}" ${_switchyard_header_excludes})
install(TARGETS switchyard_core
  EXPORT switchyard-core-targets
  ARCHIVE DESTINATION "${CMAKE_INSTALL_LIBDIR}"
  LIBRARY DESTINATION "${CMAKE_INSTALL_LIBDIR}"
  RUNTIME DESTINATION "${CMAKE_INSTALL_BINDIR}")
install(EXPORT switchyard-core-targets
  NAMESPACE switchyard::
  DESTINATION "${SWITCHYARD_CMAKE_DIR}")

# Each compiled component: its export set, and a switchyard-<name>-dependencies.cmake with the
# find_dependency calls its static library's private links need.
#   switchyard_install_component(<name> <find_dependency arguments>...)  e.g. "date CONFIG"
function(switchyard_install_component name)
  install(TARGETS switchyard_${name}
    EXPORT switchyard-${name}-targets
    ARCHIVE DESTINATION "${CMAKE_INSTALL_LIBDIR}")
  install(EXPORT switchyard-${name}-targets
    NAMESPACE switchyard::
    DESTINATION "${SWITCHYARD_CMAKE_DIR}")
  set(deps "include(CMakeFindDependencyMacro)\n")
  foreach(dep IN LISTS ARGN)
    string(APPEND deps "find_dependency(${dep})\n")
  endforeach()
  file(WRITE "${PROJECT_BINARY_DIR}/switchyard-${name}-dependencies.cmake" "${deps}")
  install(FILES "${PROJECT_BINARY_DIR}/switchyard-${name}-dependencies.cmake" DESTINATION "${SWITCHYARD_CMAKE_DIR}")
endfunction()

if(SWITCHYARD_WITH_SQLITE)
  switchyard_install_component(sqlite "SQLite3")
endif()
if(SWITCHYARD_WITH_SCHEDULE)
  switchyard_install_component(schedule "date CONFIG")
endif()
if(SWITCHYARD_WITH_HTTP)
  switchyard_install_component(http "Boost 1.74" "CURL" "OpenSSL" "simdjson CONFIG")
endif()
if(SWITCHYARD_WITH_NATS)
  # libnats through pkg-config (Debian's CMake config for it is broken): the same
  # IMPORTED_TARGET PkgConfig::LIBNATS the static library links, recreated for the consumer.
  switchyard_install_component(nats "PkgConfig")
  # Not REQUIRED: without libnats the package is not found, with a message saying how to fix it.
  file(APPEND "${PROJECT_BINARY_DIR}/switchyard-nats-dependencies.cmake" [=[
if(NOT TARGET PkgConfig::LIBNATS)
  pkg_check_modules(LIBNATS QUIET IMPORTED_TARGET libnats)
  if(NOT LIBNATS_FOUND)
    set(switchyard_FOUND FALSE)
    set(switchyard_NOT_FOUND_MESSAGE
      "switchyard::nats needs libnats (nats.c) found through pkg-config (libnats.pc): install libnats-dev (Debian) or set PKG_CONFIG_PATH to the directory holding libnats.pc")
    return()
  endif()
endif()
]=])
endif()

# The umbrella links every component that was built, so it is exported after them, on its own.
install(TARGETS switchyard_switchyard
  EXPORT switchyard-targets)
install(EXPORT switchyard-targets
  NAMESPACE switchyard::
  DESTINATION "${SWITCHYARD_CMAKE_DIR}")

configure_package_config_file(
  "${PROJECT_SOURCE_DIR}/cmake/switchyardConfig.cmake.in"
  "${PROJECT_BINARY_DIR}/switchyardConfig.cmake"
  INSTALL_DESTINATION "${SWITCHYARD_CMAKE_DIR}")
# A header-only core works for any architecture; a compiled library does not.
set(_switchyard_arch_independent ARCH_INDEPENDENT)
if(SWITCHYARD_WITH_SQLITE OR SWITCHYARD_WITH_SCHEDULE OR SWITCHYARD_WITH_HTTP OR SWITCHYARD_WITH_NATS OR NOT SWITCHYARD_HEADER_ONLY)
  set(_switchyard_arch_independent)
endif()
write_basic_package_version_file(
  "${PROJECT_BINARY_DIR}/switchyardConfigVersion.cmake"
  COMPATIBILITY SameMinorVersion
  ${_switchyard_arch_independent})
install(FILES
  "${PROJECT_BINARY_DIR}/switchyardConfig.cmake"
  "${PROJECT_BINARY_DIR}/switchyardConfigVersion.cmake"
  DESTINATION "${SWITCHYARD_CMAKE_DIR}")
install(FILES "${PROJECT_SOURCE_DIR}/LICENSE" DESTINATION "${CMAKE_INSTALL_DATADIR}/doc/switchyard")

# pkg-config, for builds that do not use CMake: `pkg-config --cflags --libs switchyard` gives the
# core (the compiled library, or -DSWITCHYARD_HEADER_ONLY when it was built header-only).
if(SWITCHYARD_HEADER_ONLY)
  set(SWITCHYARD_PC_CFLAGS "-DSWITCHYARD_HEADER_ONLY")
  set(SWITCHYARD_PC_LIBS "")
else()
  set(SWITCHYARD_PC_CFLAGS "")
  set(SWITCHYARD_PC_LIBS "-L\${libdir} -lswitchyard")
endif()
# Relocatable: the prefix is found from the .pc file's own place (cmake --install --prefix).
file(RELATIVE_PATH SWITCHYARD_PC_PREFIX_FROM_PCFILEDIR "/root/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/root")
string(REGEX REPLACE "/$" "" SWITCHYARD_PC_PREFIX_FROM_PCFILEDIR "${SWITCHYARD_PC_PREFIX_FROM_PCFILEDIR}")
configure_file("${PROJECT_SOURCE_DIR}/cmake/switchyard.pc.in" "${PROJECT_BINARY_DIR}/switchyard.pc" @ONLY)
install(FILES "${PROJECT_BINARY_DIR}/switchyard.pc" DESTINATION "${CMAKE_INSTALL_LIBDIR}/pkgconfig")
