# Install rules (included by the top-level CMakeLists.txt after every layer
# has been added). `cmake --install build [--prefix P]` lays out (folders
# as GNUInstallDirs names them; lib may be lib64):
#
#   bin/mpct                          the program
#   lib/libmpct_*.a                   one static library per layer folder
#   include/mpct/mpct_*.h             the public headers of those folders
#                                     (never the private *-impl.h ones)
#   lib/cmake/mpct/                   package config: find_package(mpct) gives
#                                     mpct::mpct (every layer and, transitively,
#                                     MPI, OpenSSL, HDF5, LZ4, cJSON, inih,
#                                     utf8proc, Threads, OpenMP/PAPI/CUDA when
#                                     this build used them) and mpct::<layer>
#                                     (mpct::core, mpct::mpc, ...)
#   share/mpct/jobs, share/mpct/slurm example job files and the sbatch scripts
#   share/doc/mpct/                   README.md, LICENSE and the specifications
#                                     next to the code, at their paths in the
#                                     tree (io/FORMAT.md, src/mpc/NONLINEAR.md, ...)
#
# The libraries are found, not listed: every static library target named
# mpct_* that a folder outside tests/ defines is installed and exported, so
# a new layer folder is covered once its include directory is written as
#   $<BUILD_INTERFACE:${CMAKE_CURRENT_SOURCE_DIR}>
#   $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}/mpct>
# Headers are installed flat, so `#include "mpct_core.h"` works the same in
# the tree and against an installation.
include(CMakePackageConfigHelpers)

set(MPCT_INSTALL_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/mpct)
set(MPCT_INSTALL_DATADIR ${CMAKE_INSTALL_DATADIR}/mpct)

# Static library targets named mpct_* under dir, tests/ excluded.
function(mpct_find_libraries dir out)
  set(found "")
  if(NOT dir STREQUAL "${PROJECT_SOURCE_DIR}/tests")
    get_property(targets DIRECTORY ${dir} PROPERTY BUILDSYSTEM_TARGETS)
    foreach(t ${targets})
      get_target_property(type ${t} TYPE)
      if(type STREQUAL "STATIC_LIBRARY" AND t MATCHES "^mpct_")
        list(APPEND found ${t})
      endif()
    endforeach()
    get_property(subdirs DIRECTORY ${dir} PROPERTY SUBDIRECTORIES)
    foreach(sub ${subdirs})
      mpct_find_libraries(${sub} sub_found)
      list(APPEND found ${sub_found})
    endforeach()
  endif()
  set(${out} ${found} PARENT_SCOPE)
endfunction()
mpct_find_libraries(${PROJECT_SOURCE_DIR} MPCT_LIBRARIES)

# mpct::mpct, the one target a consumer links (the program is already
# called mpct, hence the build-tree name).
add_library(mpct_api INTERFACE)
target_link_libraries(mpct_api INTERFACE ${MPCT_LIBRARIES})
set_target_properties(mpct_api PROPERTIES EXPORT_NAME mpct)
if(MPCT_ASAN)
  # Instrumented objects need the sanitizer runtimes wherever they are linked.
  target_link_options(mpct_api INTERFACE -fsanitize=address,undefined)
endif()

# Per library: exported as mpct::<folder name>, its public headers, and the
# external targets it links (for the config file's dependency lookups).
set(MPCT_LINKED "")
foreach(lib ${MPCT_LIBRARIES})
  string(REGEX REPLACE "^mpct_" "" name ${lib})
  set_target_properties(${lib} PROPERTIES EXPORT_NAME ${name})
  get_target_property(src ${lib} SOURCE_DIR)
  file(GLOB headers ${src}/mpct_*.h)
  list(FILTER headers EXCLUDE REGEX "-impl\\.h$")
  install(FILES ${headers} DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/mpct)
  get_target_property(deps ${lib} INTERFACE_LINK_LIBRARIES)
  if(deps)
    list(APPEND MPCT_LINKED ${deps})
  endif()
endforeach()

install(TARGETS mpct RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(TARGETS ${MPCT_LIBRARIES} mpct_api EXPORT mpctTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(EXPORT mpctTargets NAMESPACE mpct:: DESTINATION ${MPCT_INSTALL_CMAKEDIR})

# The optional dependencies this build linked; the config file looks up
# only those (a static library's private dependencies are link dependencies
# of its consumers too, as $<LINK_ONLY:...>).
foreach(dep OPENMP=OpenMP::OpenMP_C PAPI=PkgConfig::PAPI CUDA=CUDA::)
  string(REPLACE "=" ";" dep ${dep})
  list(GET dep 0 name)
  list(GET dep 1 target)
  string(FIND "${MPCT_LINKED}" "${target}" at)
  if(at GREATER -1)
    set(MPCT_USES_${name} ON)
  else()
    set(MPCT_USES_${name} OFF)
  endif()
endforeach()

configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/mpctConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/cmake/mpctConfig.cmake
                              INSTALL_DESTINATION ${MPCT_INSTALL_CMAKEDIR})
# 0.x: a minor version may change the API, so only the same minor matches.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/cmake/mpctConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/cmake/mpctConfig.cmake
              ${PROJECT_BINARY_DIR}/cmake/mpctConfigVersion.cmake
        DESTINATION ${MPCT_INSTALL_CMAKEDIR})

install(DIRECTORY ${PROJECT_SOURCE_DIR}/jobs ${PROJECT_SOURCE_DIR}/slurm
        DESTINATION ${MPCT_INSTALL_DATADIR} USE_SOURCE_PERMISSIONS)

file(GLOB MPCT_DOCS CONFIGURE_DEPENDS RELATIVE ${PROJECT_SOURCE_DIR}
     ${PROJECT_SOURCE_DIR}/*.md ${PROJECT_SOURCE_DIR}/docs/*.md ${PROJECT_SOURCE_DIR}/io/*.md
     ${PROJECT_SOURCE_DIR}/kernels/*.md ${PROJECT_SOURCE_DIR}/perf/*.md ${PROJECT_SOURCE_DIR}/src/*/*.md
     ${PROJECT_SOURCE_DIR}/slurm/*.md)
install(FILES ${PROJECT_SOURCE_DIR}/LICENSE DESTINATION ${CMAKE_INSTALL_DOCDIR})
foreach(doc ${MPCT_DOCS})
  get_filename_component(dir ${doc} DIRECTORY)
  install(FILES ${PROJECT_SOURCE_DIR}/${doc} DESTINATION ${CMAKE_INSTALL_DOCDIR}/${dir})
endforeach()
