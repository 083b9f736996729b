# cpp-httplib for the metrics example and the HTTP scrape test (never for the library). Debian
# ships it compiled, with TLS/zlib/brotli support switched on by defines that change its class
# layout, so it must come through pkg-config (which carries the defines), not a bare header path.
if(NOT TARGET switchyard_httplib)
  find_package(PkgConfig QUIET)
  if(PkgConfig_FOUND)
    pkg_check_modules(SWITCHYARD_HTTPLIB QUIET IMPORTED_TARGET cpp-httplib)
  endif()
  if(SWITCHYARD_HTTPLIB_FOUND)
    add_library(switchyard_httplib INTERFACE)
    target_link_libraries(switchyard_httplib INTERFACE PkgConfig::SWITCHYARD_HTTPLIB)
  else()
    message(STATUS "switchyard: cpp-httplib not found by pkg-config (Debian: libcpp-httplib-dev); "
                   "examples/metrics_server and the HTTP metrics test are not built")
  endif()
endif()
