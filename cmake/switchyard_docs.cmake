# The API reference: `cmake --build <build> --target switchyard_docs` runs Doxygen over the public
# headers (include/switchyard/, without detail/ and -inl.hpp) and the Markdown pages, and writes
# HTML to <build>/docs/html/. Only for the top-level project, and only when Doxygen is found.
# Any Doxygen warning (an undocumented public entity, a broken link) fails the target, so CI
# keeps the reference complete.
if(NOT PROJECT_IS_TOP_LEVEL)
  return()
endif()

# 1.9.0 is the first Doxygen with WARN_AS_ERROR = FAIL_ON_WARNINGS (Debian 12 ships 1.9.4).
find_package(Doxygen 1.9.0 QUIET)
if(NOT DOXYGEN_FOUND)
  message(STATUS "switchyard: Doxygen (1.9.0 or newer) not found, so there is no switchyard_docs "
                 "target for the API reference (Debian: apt-get install doxygen)")
  return()
endif()

set(SWITCHYARD_DOCS_OUTPUT_DIR "${PROJECT_BINARY_DIR}/docs")
configure_file("${PROJECT_SOURCE_DIR}/docs/Doxyfile.in" "${SWITCHYARD_DOCS_OUTPUT_DIR}/Doxyfile" @ONLY)
add_custom_target(switchyard_docs
  COMMAND Doxygen::doxygen "${SWITCHYARD_DOCS_OUTPUT_DIR}/Doxyfile"
  WORKING_DIRECTORY "${PROJECT_SOURCE_DIR}"
  COMMENT "Doxygen: API reference in ${SWITCHYARD_DOCS_OUTPUT_DIR}/html/index.html"
  VERBATIM)
