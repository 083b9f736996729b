# install(EXPORT) and a package config with components: `find_package(switchyard)` gives
# switchyard::core and switchyard::switchyard; compiled parts (sqlite, nats) are components.
include(CMakePackageConfigHelpers)
include(GNUInstallDirs)

set(SWITCHYARD_CMAKE_DIR "${CMAKE_INSTALL_LIBDIR}/cmake/switchyard")

install(DIRECTORY "${PROJECT_SOURCE_DIR}/include/switchyard"
  DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}")
install(TARGETS switchyard_core switchyard_switchyard
  EXPORT switchyard-core-targets)
install(EXPORT switchyard-core-targets
  NAMESPACE switchyard::
  DESTINATION "${SWITCHYARD_CMAKE_DIR}")

configure_package_config_file(
  "${PROJECT_SOURCE_DIR}/cmake/switchyardConfig.cmake.in"
  "${PROJECT_BINARY_DIR}/switchyardConfig.cmake"
  INSTALL_DESTINATION "${SWITCHYARD_CMAKE_DIR}")
# A header-only core: the package works for any architecture.
write_basic_package_version_file(
  "${PROJECT_BINARY_DIR}/switchyardConfigVersion.cmake"
  COMPATIBILITY SameMinorVersion
  ARCH_INDEPENDENT)
install(FILES
  "${PROJECT_BINARY_DIR}/switchyardConfig.cmake"
  "${PROJECT_BINARY_DIR}/switchyardConfigVersion.cmake"
  DESTINATION "${SWITCHYARD_CMAKE_DIR}")
install(FILES "${PROJECT_SOURCE_DIR}/LICENSE" DESTINATION "${CMAKE_INSTALL_DATADIR}/doc/switchyard")
