# Build options shared by every target.
option(IVC_BUILD_TESTS "Build the test suite" ON)
option(IVC_BUILD_APPS "Build apps/ (ivc-cat)" ON)
option(IVC_BUILD_PERF "Build perf/ (benchmarks)" ON)
option(IVC_WERROR "Treat warnings as errors" OFF)
set(IVC_SANITIZE "" CACHE STRING "Sanitizers: '', 'address,undefined' or 'thread'")

add_library(ivc_warnings INTERFACE)
target_compile_options(ivc_warnings INTERFACE -Wall -Wextra -Wshadow
  -Wstrict-prototypes -Wmissing-prototypes -Wpointer-arith -Wformat=2)
if(IVC_WERROR)
  target_compile_options(ivc_warnings INTERFACE -Werror)
endif()

if(IVC_SANITIZE)
  add_compile_options(-fsanitize=${IVC_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${IVC_SANITIZE})
endif()
