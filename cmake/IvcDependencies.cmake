# Optional parts: each is detected and reported in the summary.
find_package(PkgConfig)
find_package(Threads REQUIRED)

set(IVC_HAVE_HWLOC OFF)
set(IVC_HAVE_URCU OFF)
set(IVC_HAVE_XEN OFF)
set(IVC_HAVE_NETTLE OFF)
set(IVC_HAVE_LIBFABRIC OFF)
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
