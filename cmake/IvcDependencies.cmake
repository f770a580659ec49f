# Optional parts: each is detected and reported in the summary.
find_package(PkgConfig)
find_package(Threads REQUIRED)

set(IVC_HAVE_HWLOC OFF)
set(IVC_HAVE_URCU OFF)
set(IVC_HAVE_XEN OFF)
set(IVC_HAVE_NETTLE OFF)
set(IVC_HAVE_LIBFABRIC OFF)
set(IVC_HAVE_DPDK OFF)
set(IVC_HAVE_DPDK_PMD OFF)
if(PKG_CONFIG_FOUND)
  pkg_check_modules(HWLOC IMPORTED_TARGET hwloc)
  if(HWLOC_FOUND)
    set(IVC_HAVE_HWLOC ON)
  endif()
  # The registry: the "bulletproof" flavour (a library cannot register
  # its callers' threads) and the lock-free hash table.
  pkg_check_modules(URCU IMPORTED_TARGET liburcu-bp liburcu-cds)
  if(URCU_FOUND)
    set(IVC_HAVE_URCU ON)
  endif()
  # nettle (nettle-dev): HMAC-SHA256 for the tcp transport's pre-shared key.
  pkg_check_modules(NETTLE IMPORTED_TARGET nettle)
  if(NETTLE_FOUND)
    set(IVC_HAVE_NETTLE ON)
  endif()
  # libfabric (libfabric-dev): the provider libivc-fi.so (src/fi/).
  pkg_check_modules(LIBFABRIC IMPORTED_TARGET libfabric)
  if(LIBFABRIC_FOUND)
    set(IVC_HAVE_LIBFABRIC ON)
  endif()
  # DPDK (libdpdk-dev): the net_ivc PMD (src/dpdk/) and the programs that
  # check and measure it (test/dpdk/, perf/).  PkgConfig::LIBDPDK brings
  # DPDK's own flags (-include rte_config.h, -march); its headers are
  # system headers to us, so our warnings stay on our code.
  pkg_check_modules(LIBDPDK IMPORTED_TARGET libdpdk)
  if(LIBDPDK_FOUND)
    set(IVC_HAVE_DPDK ON)
  endif()
  # xengntshr ships inside xengnttab.pc on Debian.
  pkg_check_modules(XEN IMPORTED_TARGET xengnttab xenevtchn xenstore)
  if(XEN_FOUND)
    set(IVC_HAVE_XEN ON)
  endif()
endif()

# MPI (libopenmpi-dev): the programs that check and measure the provider
# under mpirun (test/mpi/, perf/ivc-mpi-bench).  Only with the provider.
set(IVC_HAVE_MPI OFF)
if(IVC_HAVE_LIBFABRIC)
  find_package(MPI COMPONENTS C QUIET)
  if(MPI_C_FOUND)
    set(IVC_HAVE_MPI ON)
  endif()
endif()

# The PMD also needs DPDK's driver-SDK headers, which Debian's libdpdk-dev
# does not ship: cmake/dpdk-sdk.sh takes them from the Debian source
# package of the installed version (issue 19) into the build tree.
set(IVC_DPDK_SDK_DIR "" CACHE PATH
  "a directory holding DPDK's driver-SDK headers (default: fetched by cmake/dpdk-sdk.sh into <build>/dpdk-sdk/include)")
if(IVC_HAVE_DPDK AND IVC_DPDK_PMD)
  if(IVC_DPDK_SDK_DIR)
    set(IVC_DPDK_SDK_INCLUDE ${IVC_DPDK_SDK_DIR})
    set(sdk_rc 0)
  else()
    set(IVC_DPDK_SDK_INCLUDE ${CMAKE_BINARY_DIR}/dpdk-sdk/include)
    execute_process(COMMAND sh ${PROJECT_SOURCE_DIR}/cmake/dpdk-sdk.sh
                            ${CMAKE_BINARY_DIR}/dpdk-sdk
                    RESULT_VARIABLE sdk_rc)
  endif()
  if(sdk_rc EQUAL 0 AND EXISTS ${IVC_DPDK_SDK_INCLUDE}/ethdev_driver.h)
    set(IVC_HAVE_DPDK_PMD ON)
  else()
    message(WARNING "DPDK's driver-SDK headers are missing: the net_ivc PMD is not built (see cmake/dpdk-sdk.sh)")
  endif()
endif()
