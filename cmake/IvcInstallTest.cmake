# The install test: `cmake --install` this build into a temporary prefix,
# then build test/install/consumer.c against it through the CMake package
# (ivc::ivc, ivc::ivc_static) and through pkg-config, and run the programs.
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

add_test(NAME install
  COMMAND ${IVC_BASH} ${PROJECT_SOURCE_DIR}/test/install/run.sh
          ${PROJECT_BINARY_DIR} ${PROJECT_SOURCE_DIR} ${CMAKE_C_COMPILER}
          "${IVC_SANITIZE}")
set_tests_properties(install PROPERTIES
  LABELS "install"
  TIMEOUT 300
  # It compiles while the other tests run; two jobs' worth keeps it from
  # competing with timing-sensitive tests under `ctest -j2`.
  PROCESSORS 2)
