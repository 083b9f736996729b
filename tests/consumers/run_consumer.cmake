# Driver for the consumer tests: `cmake -D... -P run_consumer.cmake`. Each step runs in a fresh
# WORK_DIR under the build tree, with the main build's compiler, flags, build type and generator,
# so a sanitizer build also builds (and runs) its consumers with the sanitizers.
#
# MODE=consumer    configure, build and run the consumer project CONSUMER (a folder beside this
#                  script). Optional: PREFIX (an installed switchyard, for find_package),
#                  PACKAGE_VERSION, COMPONENTS, LINK_TARGET; EXPECT_CONFIGURE_ERROR=<regex> turns
#                  the test around: configuring must fail with a message matching <regex>;
#                  CONSUMER_OPTIONS=A=1|B=2 passes switchyard options to the consumer's configure.
# MODE=fetchcontent_git  the fetchcontent_git consumer: `git clone --bare` of the source tree's
#                  repository into WORK_DIR, then FetchContent from it by GIT_REPOSITORY (file://)
#                  at HEAD's commit. It tests the committed tree: uncommitted changes are not in it.
#                  Skipped when the source tree is not the top of a Git work tree (a tarball).
# MODE=install     cmake --install BUILD_DIR into PREFIX (emptied first).
# MODE=pkg_config  compile and link main.cpp with the compiler alone, using only what
#                  `pkg-config --cflags --libs switchyard` says for the install in PREFIX, and run
#                  it; the .pc file's version must be PROJECT_VERSION.
# MODE=vcpkg_port  configure switchyard with exactly the options ports/switchyard/portfile.cmake
#                  gives vcpkg_cmake_configure, install it into a prefix and build the
#                  find_package consumer against it; also checks the manifests agree, and that
#                  asking that default install for the sqlite component fails with the message
#                  that says how to get it.
#
# Common: SWITCHYARD_SOURCE_DIR, WORK_DIR, GENERATOR, MAKE_PROGRAM, CXX_COMPILER,
# CXX_COMPILER_LAUNCHER, BUILD_TYPE, CXX_FLAGS, EXE_LINKER_FLAGS, CONFIG ($<CONFIG>); optional UNITY.
cmake_minimum_required(VERSION 3.24)

# Whatever DESTDIR the caller's environment has must not redirect our installs.
unset(ENV{DESTDIR})

foreach(required IN ITEMS MODE SWITCHYARD_SOURCE_DIR WORK_DIR GENERATOR)
  if(NOT DEFINED ${required} OR "${${required}}" STREQUAL "")
    message(FATAL_ERROR "run_consumer.cmake: -D${required}=... is required")
  endif()
endforeach()

# Runs a command; on failure prints its output and stops. `what` names the step for the reader.
function(run what)
  string(REPLACE ";" " " shown "${ARGN}")
  message(STATUS "${what}: ${shown}")
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${what} failed (${rc}):\n${out}")
  endif()
  set(run_output "${out}" PARENT_SCOPE)
endfunction()

# The settings every configure of a consumer shares with the main build.
set(toolchain_args -G "${GENERATOR}")
foreach(pair IN ITEMS MAKE_PROGRAM:CMAKE_MAKE_PROGRAM CXX_COMPILER:CMAKE_CXX_COMPILER
                      CXX_COMPILER_LAUNCHER:CMAKE_CXX_COMPILER_LAUNCHER)
  string(REPLACE ":" ";" pair "${pair}")
  list(GET pair 0 ours)
  list(GET pair 1 theirs)
  if(NOT "${${ours}}" STREQUAL "")
    list(APPEND toolchain_args "-D${theirs}=${${ours}}")
  endif()
endforeach()
list(APPEND toolchain_args "-DCMAKE_CXX_FLAGS=${CXX_FLAGS}" "-DCMAKE_EXE_LINKER_FLAGS=${EXE_LINKER_FLAGS}")
# UNITY=ON: the consumer compiles switchyard's sources as one translation unit per target. For the
# consumers that compile the library from source: what they test is the CMake route, and the
# library's file-by-file build is the main build's; a unity build takes about half the CPU.
if(UNITY)
  list(APPEND toolchain_args -DCMAKE_UNITY_BUILD=ON)
endif()
# Multi-config generators get the configuration at build time instead.
set(config_args)
if(NOT "${CONFIG}" STREQUAL "")
  set(config_args --config "${CONFIG}")
endif()
set(build_type_args)
if(NOT "${BUILD_TYPE}" STREQUAL "")
  set(build_type_args "-DCMAKE_BUILD_TYPE=${BUILD_TYPE}")
endif()

# Configures, builds and runs consumer project `consumer` in `binary_dir` with extra args.
function(build_and_run_consumer consumer binary_dir)
  set(source_dir "${CMAKE_CURRENT_LIST_DIR}/${consumer}")
  if(NOT EXISTS "${source_dir}/CMakeLists.txt")
    message(FATAL_ERROR "no consumer project at ${source_dir}")
  endif()
  file(REMOVE_RECURSE "${binary_dir}")
  set(configure "${CMAKE_COMMAND}" -S "${source_dir}" -B "${binary_dir}" ${toolchain_args} ${build_type_args} ${ARGN})

  if(DEFINED EXPECT_CONFIGURE_ERROR AND NOT "${EXPECT_CONFIGURE_ERROR}" STREQUAL "")
    execute_process(COMMAND ${configure} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
    # CMake indents and wraps messages: compare with all whitespace runs made single spaces.
    string(REGEX REPLACE "[ \t\r\n]+" " " flat "${out}")
    if(rc EQUAL 0)
      message(FATAL_ERROR "configuring ${consumer} succeeded; it was expected to fail. Output:\n${out}")
    elseif(NOT flat MATCHES "${EXPECT_CONFIGURE_ERROR}")
      message(FATAL_ERROR "configuring ${consumer} failed, but not with the expected message. Output:\n${out}")
    endif()
    message(STATUS "configuring ${consumer} failed as expected: ${CMAKE_MATCH_0}")
    return()
  endif()

  run("configure ${consumer}" ${configure})
  if(DEFINED PREFIX AND NOT "${PREFIX}" STREQUAL "")
    # The package must come from the prefix under test, not from somewhere else on the machine.
    file(STRINGS "${binary_dir}/CMakeCache.txt" found_dir REGEX "^switchyard_DIR:")
    string(REGEX REPLACE "^[^=]*=" "" found_dir "${found_dir}")
    file(REAL_PATH "${PREFIX}" real_prefix)
    file(REAL_PATH "${found_dir}" real_found)
    string(FIND "${real_found}/" "${real_prefix}/" at)
    if(NOT at EQUAL 0)
      message(FATAL_ERROR "find_package found switchyard in ${found_dir}, not in the prefix under test ${PREFIX}")
    endif()
  endif()
  run("build ${consumer}" "${CMAKE_COMMAND}" --build "${binary_dir}" ${config_args})

  set(candidates "${binary_dir}/consumer")
  if(NOT "${CONFIG}" STREQUAL "")
    list(PREPEND candidates "${binary_dir}/${CONFIG}/consumer")
  endif()
  set(exe)
  foreach(candidate IN LISTS candidates)
    foreach(suffix IN ITEMS "" ".exe")
      if(NOT exe AND EXISTS "${candidate}${suffix}" AND NOT IS_DIRECTORY "${candidate}${suffix}")
        set(exe "${candidate}${suffix}")
      endif()
    endforeach()
  endforeach()
  if(NOT exe)
    message(FATAL_ERROR "the consumer executable was not found under ${binary_dir}")
  endif()
  run("run ${consumer}" "${exe}")
  message(STATUS "${run_output}")
endfunction()

# The arguments that point a find_package consumer at `prefix`.
function(find_package_args out prefix)
  set(args "-DCMAKE_PREFIX_PATH=${prefix}")
  foreach(pair IN ITEMS PACKAGE_VERSION:SWITCHYARD_CONSUMER_VERSION COMPONENTS:SWITCHYARD_CONSUMER_COMPONENTS
                        LINK_TARGET:SWITCHYARD_CONSUMER_TARGET)
    string(REPLACE ":" ";" pair "${pair}")
    list(GET pair 0 ours)
    list(GET pair 1 theirs)
    if(DEFINED ${ours} AND NOT "${${ours}}" STREQUAL "")
      list(APPEND args "-D${theirs}=${${ours}}")
    endif()
  endforeach()
  set(${out} "${args}" PARENT_SCOPE)
endfunction()

#=== consumer ================================================================================
if(MODE STREQUAL "consumer")
  if(DEFINED PREFIX AND NOT "${PREFIX}" STREQUAL "")
    if(NOT EXISTS "${PREFIX}")
      message(FATAL_ERROR "the install prefix ${PREFIX} does not exist: run the consumer_install test first")
    endif()
    find_package_args(extra "${PREFIX}")
  else()
    set(extra "-DSWITCHYARD_SOURCE_DIR=${SWITCHYARD_SOURCE_DIR}")
  endif()
  # CONSUMER_OPTIONS: switchyard options the consumer sets (e.g. SWITCHYARD_HEADER_ONLY=ON,
  # BUILD_SHARED_LIBS=ON), separated by '|'.
  if(DEFINED CONSUMER_OPTIONS AND NOT "${CONSUMER_OPTIONS}" STREQUAL "")
    string(REPLACE "|" ";" consumer_options "${CONSUMER_OPTIONS}")
    foreach(option IN LISTS consumer_options)
      if(NOT option STREQUAL "")  # "A=1|" when an optional option is left out
        list(APPEND extra "-D${option}")
      endif()
    endforeach()
  endif()
  build_and_run_consumer("${CONSUMER}" "${WORK_DIR}/build" ${extra})

#=== fetchcontent_git ========================================================================
elseif(MODE STREQUAL "fetchcontent_git")
  # SKIP_REGULAR_EXPRESSION of the test (tests/consumers/CMakeLists.txt) matches this prefix.
  set(skip "switchyard consumer test skipped:")
  if(NOT EXISTS "${SWITCHYARD_SOURCE_DIR}/.git")
    message(STATUS "${skip} ${SWITCHYARD_SOURCE_DIR} is not a Git work tree, so there is no repository to clone")
    return()
  endif()
  find_package(Git QUIET)
  if(NOT Git_FOUND)
    message(FATAL_ERROR "git was not found: this test clones ${SWITCHYARD_SOURCE_DIR} with git and FetchContent "
                        "clones that with git. Install git (Debian: apt-get install git) or put it on PATH.")
  endif()
  # A caller's GIT_DIR or GIT_WORK_TREE (a Git hook, say) would redirect every git command here.
  unset(ENV{GIT_DIR})
  unset(ENV{GIT_WORK_TREE})
  run("find the Git work tree" "${GIT_EXECUTABLE}" -C "${SWITCHYARD_SOURCE_DIR}" rev-parse --show-toplevel)
  string(STRIP "${run_output}" top)
  file(REAL_PATH "${top}" top)
  file(REAL_PATH "${SWITCHYARD_SOURCE_DIR}" real_source)
  if(NOT top STREQUAL real_source)
    message(STATUS "${skip} ${SWITCHYARD_SOURCE_DIR} is inside the Git work tree ${top}, not the top of its own")
    return()
  endif()
  execute_process(COMMAND "${GIT_EXECUTABLE}" -C "${SWITCHYARD_SOURCE_DIR}" rev-parse --verify HEAD^{commit}
    RESULT_VARIABLE rc OUTPUT_VARIABLE commit ERROR_VARIABLE err OUTPUT_STRIP_TRAILING_WHITESPACE)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${SWITCHYARD_SOURCE_DIR} has no commit to clone (git rev-parse HEAD: ${err})")
  endif()
  # The test checks the committed tree, HEAD: say so when the work tree has more. Read-only and
  # without optional locks, so it never takes index.lock from someone working in the tree.
  execute_process(COMMAND "${GIT_EXECUTABLE}" --no-optional-locks -C "${SWITCHYARD_SOURCE_DIR}" status --porcelain
    RESULT_VARIABLE rc OUTPUT_VARIABLE changes ERROR_QUIET)
  if(rc EQUAL 0 AND NOT changes STREQUAL "")
    message(STATUS "NOTE: ${SWITCHYARD_SOURCE_DIR} has uncommitted changes; this test builds commit ${commit} without them")
  endif()

  file(REMOVE_RECURSE "${WORK_DIR}")
  file(MAKE_DIRECTORY "${WORK_DIR}")
  set(repository "${WORK_DIR}/switchyard.git")
  run("clone the source tree's repository" "${GIT_EXECUTABLE}" clone --bare --quiet "${SWITCHYARD_SOURCE_DIR}" "${repository}")
  if(repository MATCHES "^/")
    set(url "file://${repository}")
  else()
    set(url "file:///${repository}")  # C:/... on Windows
  endif()
  build_and_run_consumer(fetchcontent_git "${WORK_DIR}/build" "-DGIT_EXECUTABLE=${GIT_EXECUTABLE}"
    "-DSWITCHYARD_GIT_REPOSITORY=${url}" "-DSWITCHYARD_GIT_TAG=${commit}")

#=== install =================================================================================
elseif(MODE STREQUAL "install")
  file(REMOVE_RECURSE "${PREFIX}")
  run("install switchyard" "${CMAKE_COMMAND}" --install "${BUILD_DIR}" --prefix "${PREFIX}" ${config_args})
  file(GLOB_RECURSE config_files "${PREFIX}/*/switchyardConfig.cmake")
  if(NOT config_files)
    message(FATAL_ERROR "cmake --install put no switchyardConfig.cmake under ${PREFIX}")
  endif()

#=== pkg_config ==============================================================================
elseif(MODE STREQUAL "pkg_config")
  find_program(pkg_config NAMES pkg-config pkgconf REQUIRED)
  file(GLOB_RECURSE pc_files "${PREFIX}/*/pkgconfig/switchyard.pc")
  if(NOT pc_files)
    message(FATAL_ERROR "cmake --install put no pkgconfig/switchyard.pc under ${PREFIX}")
  endif()
  list(GET pc_files 0 pc_file)
  get_filename_component(pc_dir "${pc_file}" DIRECTORY)
  set(ENV{PKG_CONFIG_PATH} "${pc_dir}")
  run("pkg-config version" "${pkg_config}" --modversion switchyard)
  string(STRIP "${run_output}" pc_version)
  if(NOT pc_version STREQUAL PROJECT_VERSION)
    message(FATAL_ERROR "switchyard.pc says version ${pc_version}, the project is ${PROJECT_VERSION}")
  endif()
  run("pkg-config flags" "${pkg_config}" --cflags --libs switchyard)
  string(STRIP "${run_output}" flags)
  separate_arguments(flags UNIX_COMMAND "${flags}")
  separate_arguments(cxx_flags UNIX_COMMAND "${CXX_FLAGS}")
  separate_arguments(linker_flags UNIX_COMMAND "${EXE_LINKER_FLAGS}")
  file(REMOVE_RECURSE "${WORK_DIR}")
  file(MAKE_DIRECTORY "${WORK_DIR}")
  set(exe "${WORK_DIR}/consumer")
  run("compile with pkg-config's flags" "${CXX_COMPILER}" -std=c++20 ${cxx_flags} "${CMAKE_CURRENT_LIST_DIR}/main.cpp"
      -o "${exe}" ${flags} ${linker_flags})
  run("run the pkg-config consumer" "${exe}")
  message(STATUS "${run_output}")

#=== vcpkg_port ==============================================================================
elseif(MODE STREQUAL "vcpkg_port")
  set(port_dir "${SWITCHYARD_SOURCE_DIR}/ports/switchyard")
  file(READ "${port_dir}/portfile.cmake" portfile)
  # Comments may mention any call: parse only the code.
  string(REGEX REPLACE "#[^\n]*" "" portfile "${portfile}")

  # The arguments of the one call to `command` in the portfile, as a list of words.
  function(call_arguments out command)
    string(REGEX MATCHALL "${command}\\([^)]*\\)" calls "${portfile}")
    list(LENGTH calls n)
    if(NOT n EQUAL 1)
      message(FATAL_ERROR "expected one ${command}(...) call in portfile.cmake, found ${n}")
    endif()
    string(REGEX REPLACE "^${command}\\(|\\)$" "" args "${calls}")
    string(STRIP "${args}" args)
    string(REGEX REPLACE "[ \t\r\n]+" ";" args "${args}")
    set(${out} "${args}" PARENT_SCOPE)
  endfunction()

  # vcpkg_check_features(OUT_FEATURE_OPTIONS <var> FEATURES <feature> <OPTION>...): with no
  # feature selected (the default install) vcpkg passes -D<OPTION>=OFF for each.
  call_arguments(check "vcpkg_check_features")
  list(FIND check OUT_FEATURE_OPTIONS at)
  math(EXPR at "${at} + 1")
  list(GET check ${at} feature_options_var)
  list(FIND check FEATURES at)
  if(at EQUAL -1 OR "INVERTED_FEATURES" IN_LIST check)
    message(FATAL_ERROR "this test understands vcpkg_check_features(OUT_FEATURE_OPTIONS <var> FEATURES <feature> <option>...) only: teach tests/consumers/run_consumer.cmake")
  endif()
  math(EXPR at "${at} + 1")
  list(SUBLIST check ${at} -1 pairs)
  set(feature_options)
  set(port_features)
  list(LENGTH pairs n)
  math(EXPR last "${n} - 1")
  foreach(i RANGE 0 ${last} 2)
    math(EXPR j "${i} + 1")
    list(GET pairs ${i} feature)
    list(GET pairs ${j} option)
    list(APPEND port_features "${feature}")
    list(APPEND feature_options "-D${option}=OFF")
  endforeach()

  # vcpkg_cmake_configure(SOURCE_PATH ... OPTIONS <-Dx=y | ${feature var}>... [KEYWORD ...]...)
  call_arguments(configure "vcpkg_cmake_configure")
  set(options)
  set(maybe_unused)
  set(section)
  set(keywords SOURCE_PATH DISABLE_PARALLEL_CONFIGURE NO_CHARSET_FLAG WINDOWS_USE_MSBUILD GENERATOR
               LOGFILE_BASE OPTIONS OPTIONS_RELEASE OPTIONS_DEBUG MAYBE_UNUSED_VARIABLES)
  foreach(word IN LISTS configure)
    if(word IN_LIST keywords)
      set(section "${word}")
    elseif(section STREQUAL "OPTIONS")
      if(word STREQUAL "\${${feature_options_var}}")
        list(APPEND options ${feature_options})
      elseif(word MATCHES "^-D[A-Za-z0-9_]+(:[A-Z]+)?=[^$]*$")
        list(APPEND options "${word}")
      else()
        message(FATAL_ERROR "this test does not understand the portfile option '${word}': teach tests/consumers/run_consumer.cmake")
      endif()
    elseif(section STREQUAL "MAYBE_UNUSED_VARIABLES")
      list(APPEND maybe_unused "${word}")
    elseif(section STREQUAL "OPTIONS_RELEASE" OR section STREQUAL "OPTIONS_DEBUG")
      message(FATAL_ERROR "this test does not emulate ${section} in the portfile: teach tests/consumers/run_consumer.cmake")
    endif()
  endforeach()
  if(NOT options)
    message(FATAL_ERROR "found no OPTIONS in portfile.cmake's vcpkg_cmake_configure")
  endif()

  call_arguments(fixup "vcpkg_cmake_config_fixup")
  list(FIND fixup CONFIG_PATH at)
  math(EXPR at "${at} + 1")
  list(GET fixup ${at} config_path)

  # The manifests must agree with the portfile and with the project.
  foreach(manifest IN ITEMS "${SWITCHYARD_SOURCE_DIR}/vcpkg.json" "${port_dir}/vcpkg.json")
    file(READ "${manifest}" json)
    string(JSON name GET "${json}" name)
    string(JSON version GET "${json}" version)
    if(NOT name STREQUAL "switchyard" OR NOT version STREQUAL "${PROJECT_VERSION}")
      message(FATAL_ERROR "${manifest} says ${name} ${version}; the project is switchyard ${PROJECT_VERSION}")
    endif()
    string(JSON n LENGTH "${json}" features)
    set(manifest_features)
    math(EXPR last "${n} - 1")
    foreach(i RANGE 0 ${last})
      string(JSON feature MEMBER "${json}" features ${i})
      list(APPEND manifest_features "${feature}")
    endforeach()
    list(SORT manifest_features)
    set(expected ${port_features})
    list(SORT expected)
    if(NOT manifest_features STREQUAL expected)
      message(FATAL_ERROR "${manifest} declares features '${manifest_features}'; portfile.cmake maps '${expected}'")
    endif()
  endforeach()

  # What vcpkg_cmake_configure adds on its own that matters here; the release configuration only,
  # as the portfile asks for a header-only install.
  set(build_dir "${WORK_DIR}/switchyard-build")
  set(prefix "${WORK_DIR}/prefix")
  file(REMOVE_RECURSE "${build_dir}" "${prefix}")
  run("configure switchyard as the port does"
    "${CMAKE_COMMAND}" -S "${SWITCHYARD_SOURCE_DIR}" -B "${build_dir}" ${toolchain_args}
    ${options}
    -DCMAKE_BUILD_TYPE=Release "-DCMAKE_INSTALL_PREFIX=${prefix}"
    -DCMAKE_INSTALL_LIBDIR:STRING=lib -DCMAKE_INSTALL_BINDIR:STRING=bin -DBUILD_SHARED_LIBS=OFF
    -DCMAKE_EXPORT_NO_PACKAGE_REGISTRY=ON -DCMAKE_FIND_PACKAGE_NO_PACKAGE_REGISTRY=ON
    -DCMAKE_ERROR_ON_ABSOLUTE_INSTALL_DESTINATION=ON)
  # vcpkg warns about options the project ignores unless listed in MAYBE_UNUSED_VARIABLES; be stricter.
  if(run_output MATCHES "Manually-specified variables were not used by the project:\n\n((    [^\n]*\n)*)")
    string(STRIP "${CMAKE_MATCH_1}" unused)
    string(REGEX REPLACE "[ \t\r\n]+" ";" unused "${unused}")
    foreach(variable IN LISTS unused)
      set(passed ${options})
      list(FILTER passed INCLUDE REGEX "^-D${variable}[:=]")
      if(passed AND NOT variable IN_LIST maybe_unused)
        message(FATAL_ERROR "portfile.cmake passes ${variable}, which the project does not use: remove it or list it in MAYBE_UNUSED_VARIABLES")
      endif()
    endforeach()
  endif()
  run("build switchyard" "${CMAKE_COMMAND}" --build "${build_dir}" --config Release)
  run("install switchyard" "${CMAKE_COMMAND}" --install "${build_dir}" --config Release)
  if(NOT EXISTS "${prefix}/${config_path}/switchyardConfig.cmake")
    message(FATAL_ERROR "the package config is not in ${config_path}, where portfile.cmake's vcpkg_cmake_config_fixup looks for it")
  endif()

  find_package_args(extra "${prefix}")
  set(PREFIX "${prefix}")
  build_and_run_consumer(find_package "${WORK_DIR}/consumer-build" ${extra})

  # The default install has no compiled component: asking for one must fail with the message
  # that says how to get it (cmake/switchyardConfig.cmake.in).
  set(COMPONENTS sqlite)
  find_package_args(extra "${prefix}")
  set(EXPECT_CONFIGURE_ERROR
    "switchyard component 'sqlite' is not installed: rebuild switchyard with SWITCHYARD_WITH_SQLITE=ON")
  build_and_run_consumer(find_package "${WORK_DIR}/missing-sqlite-build" ${extra})
  unset(EXPECT_CONFIGURE_ERROR)

else()
  message(FATAL_ERROR "run_consumer.cmake: unknown MODE '${MODE}' (consumer, fetchcontent_git, install, pkg_config or vcpkg_port)")
endif()
