# switchyard's overlay port: `vcpkg install switchyard --overlay-ports=<repo>/ports`.
# tests/consumers/run_consumer.cmake (CTest consumer_vcpkg_port) parses the calls below and
# configures, installs and consumes the project with exactly these options, so keep them plain.
#
# The overlay builds the source tree the port lives in (two levels up), so it installs the
# checkout you have. A registry port would fetch a release instead:
#   vcpkg_from_github(OUT_SOURCE_PATH SOURCE_PATH REPO switchyard-bus/switchyard
#                     REF "v${VERSION}" SHA512 <sha512 of the tarball> HEAD_REF main)
get_filename_component(SOURCE_PATH "${CMAKE_CURRENT_LIST_DIR}/../.." ABSOLUTE)

vcpkg_check_features(OUT_FEATURE_OPTIONS FEATURE_OPTIONS
  FEATURES
    sqlite SWITCHYARD_WITH_SQLITE
    schedule SWITCHYARD_WITH_SCHEDULE
    http SWITCHYARD_WITH_HTTP
    nats SWITCHYARD_WITH_NATS
)

# switchyard::nats finds libnats (the cnats port) with pkg-config, which FindPkgConfig takes from
# the environment.
if("nats" IN_LIST FEATURES)
  vcpkg_find_acquire_program(PKGCONFIG)
  set(ENV{PKG_CONFIG} "${PKGCONFIG}")
endif()

# FETCHCONTENT_FULLY_DISCONNECTED: every dependency comes from vcpkg; a port build never downloads.
vcpkg_cmake_configure(
  SOURCE_PATH "${SOURCE_PATH}"
  OPTIONS
    -DSWITCHYARD_BUILD_TESTS=OFF
    -DSWITCHYARD_BUILD_EXAMPLES=OFF
    -DSWITCHYARD_BUILD_BENCHMARKS=OFF
    -DSWITCHYARD_BUILD_TOOLS=OFF
    -DSWITCHYARD_INSTALL=ON
    -DFETCHCONTENT_FULLY_DISCONNECTED=ON
    ${FEATURE_OPTIONS}
)
vcpkg_cmake_install()
vcpkg_cmake_config_fixup(CONFIG_PATH lib/cmake/switchyard)

# libswitchyard is compiled (both configurations); the debug tree needs no second set of headers.
file(REMOVE_RECURSE "${CURRENT_PACKAGES_DIR}/debug/include" "${CURRENT_PACKAGES_DIR}/debug/share")
# The project installs its LICENSE under share/doc; vcpkg's place for it is share/switchyard/copyright.
file(REMOVE_RECURSE "${CURRENT_PACKAGES_DIR}/share/doc")
vcpkg_install_copyright(FILE_LIST "${SOURCE_PATH}/LICENSE")
file(INSTALL "${CMAKE_CURRENT_LIST_DIR}/usage" DESTINATION "${CURRENT_PACKAGES_DIR}/share/${PORT}")
