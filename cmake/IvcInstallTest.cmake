# The install test: `cmake --install` this build into a temporary prefix,
# then build test/install/consumer.c against it through the CMake package
# (ivc::ivc, ivc::ivc_static) and through pkg-config, and run the programs;
# and run the installed ivc-cat and ivc-bench without LD_LIBRARY_PATH.
# Included from test/CMakeLists.txt.  See test/install/run.sh.
#
# Sanitizer builds: the consumers are built with the same -fsanitize flags
# (a sanitized libivc needs a sanitized program), so the test runs in full.
find_program(IVC_BASH bash)
find_program(IVC_PKG_CONFIG NAMES pkg-config pkgconf)
find_program(IVC_READELF NAMES readelf)
mark_as_advanced(IVC_BASH IVC_PKG_CONFIG IVC_READELF)

if(NOT IVC_BASH OR NOT IVC_PKG_CONFIG OR NOT IVC_READELF)
  message(STATUS "install test: needs bash, pkg-config and readelf; not added")
  return()
endif()

# The RUNPATH the installed programs must carry (cmake/IvcRunpath.cmake),
# or "none": a build for a system prefix, or CMAKE_SKIP_INSTALL_RPATH.
if(CMAKE_SKIP_INSTALL_RPATH OR
   (DEFINED IVC_INSTALL_RUNPATH AND IVC_INSTALL_RUNPATH STREQUAL ""))
  set(ivc_expect_runpath none)
else()
  set(ivc_expect_runpath "${IVC_INSTALL_RUNPATH}")
endif()
add_test(NAME install
  COMMAND ${IVC_BASH} ${PROJECT_SOURCE_DIR}/test/install/run.sh
          ${PROJECT_BINARY_DIR} ${PROJECT_SOURCE_DIR} ${CMAKE_C_COMPILER}
          "${IVC_SANITIZE}" "${ivc_expect_runpath}")
set_tests_properties(install PROPERTIES
  LABELS "install"
  TIMEOUT 300
  # It compiles while the other tests run; two jobs' worth keeps it from
  # competing with timing-sensitive tests under `ctest -j2`.
  PROCESSORS 2)
