# Build options shared by every target.
option(IVC_BUILD_TESTS "Build the test suite" ON)
option(IVC_BUILD_APPS "Build apps/ (ivc-cat, ivc-chain)" ON)
option(IVC_BUILD_PERF "Build perf/ (benchmarks)" ON)
option(IVC_WERROR "Treat warnings as errors" OFF)
option(IVC_DPDK_PMD "Build the DPDK poll-mode driver net_ivc when libdpdk-dev is found" ON)
set(IVC_SANITIZE "" CACHE STRING "Sanitizers: '', 'address,undefined' or 'thread'")
# libFuzzer targets (test/fuzz/).  Off, the targets still build, with a
# replay driver, and ctest re-runs their committed corpus.  On, clang
# instruments everything (the library is what is being fuzzed) with
# coverage, ASan and UBSan; each target links libFuzzer itself.
option(IVC_FUZZ "Build the fuzz targets with libFuzzer (clang)" OFF)

add_library(ivc_warnings INTERFACE)
target_compile_options(ivc_warnings INTERFACE -Wall -Wextra -Wshadow
  -Wstrict-prototypes -Wmissing-prototypes -Wpointer-arith -Wformat=2)
if(IVC_WERROR)
  target_compile_options(ivc_warnings INTERFACE -Werror)
endif()

if(IVC_FUZZ)
  if(NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "IVC_FUZZ=ON needs clang (CC=clang), not ${CMAKE_C_COMPILER_ID}")
  endif()
  if(IVC_SANITIZE)
    message(FATAL_ERROR "IVC_FUZZ=ON brings its own sanitizers: leave IVC_SANITIZE empty")
  endif()
  # fuzzer-no-link: coverage instrumentation without libFuzzer's main(),
  # which only the fuzz targets link (-fsanitize=fuzzer, test/fuzz/).
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined
    -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=address,undefined)
endif()

if(IVC_SANITIZE)
  add_compile_options(-fsanitize=${IVC_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${IVC_SANITIZE})
endif()
