# Installs the build MPCT_BUILD_DIR into WORK_DIR/prefix, checks the layout
# (program, libraries, public headers and only those, package config, job
# files, Slurm scripts, docs), then configures, builds and runs the project
# CONSUMER_DIR against it in WORK_DIR/consumer-build, with C_COMPILER and
# GENERATOR. BINDIR, LIBDIR, INCLUDEDIR, DATADIR and DOCDIR are the build's
# GNUInstallDirs folders, relative to the prefix. The build directory's install_manifest.txt, which every
# `cmake --install` rewrites, is put back as it was.
set(prefix ${WORK_DIR}/prefix)
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})

function(run what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${what} failed (${rc}):\n${out}")
  endif()
  set(run_output "${out}" PARENT_SCOPE)
endfunction()

set(manifest ${MPCT_BUILD_DIR}/install_manifest.txt)
if(EXISTS ${manifest})
  file(READ ${manifest} manifest_before)
endif()
execute_process(COMMAND ${CMAKE_COMMAND} --install ${MPCT_BUILD_DIR} --prefix ${prefix}
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
if(DEFINED manifest_before)
  file(WRITE ${manifest} "${manifest_before}")
else()
  file(REMOVE ${manifest})
endif()
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "cmake --install failed (${rc}):\n${out}")
endif()

foreach(f ${BINDIR}/mpct
          ${LIBDIR}/libmpct_core.a ${LIBDIR}/libmpct_mpc.a
          ${LIBDIR}/libmpct_model.a
          ${INCLUDEDIR}/mpct/mpct_core.h ${INCLUDEDIR}/mpct/mpct_mpc.h
          ${INCLUDEDIR}/mpct/mpct_model.h
          ${LIBDIR}/cmake/mpct/mpctConfig.cmake
          ${LIBDIR}/cmake/mpct/mpctConfigVersion.cmake
          ${DATADIR}/mpct/jobs/tiny-classify.ini
          ${DATADIR}/mpct/slurm/mpct-node.sbatch
          ${DOCDIR}/README.md ${DOCDIR}/LICENSE
          ${DOCDIR}/io/FORMAT.md)
  if(NOT EXISTS ${prefix}/${f})
    message(FATAL_ERROR "not installed: ${f}")
  endif()
endforeach()
file(GLOB_RECURSE private RELATIVE ${prefix} ${prefix}/*-impl.h)
if(private)
  message(FATAL_ERROR "private headers installed: ${private}")
endif()
execute_process(COMMAND test -x ${prefix}/${DATADIR}/mpct/slurm/mpct-node.sbatch RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "the installed Slurm scripts lost their execute permission")
endif()
if(NOT EXISTS ${prefix}/${DATADIR}/bash-completion/completions/mpct)
  message(FATAL_ERROR "the bash completion was not installed (${DATADIR}/bash-completion/completions/mpct)")
endif()
if(EXISTS ${MPCT_BUILD_DIR}/mpct.1 AND NOT EXISTS ${prefix}/${DATADIR}/man/man1/mpct.1)
  message(FATAL_ERROR "the man page was built (help2man) but not installed (${DATADIR}/man/man1/mpct.1)")
endif()
run("installed mpct --version" ${prefix}/${BINDIR}/mpct --version)
if(NOT run_output MATCHES "^mpct [0-9]")
  message(FATAL_ERROR "installed mpct --version printed: ${run_output}")
endif()

run("configuring the consumer" ${CMAKE_COMMAND} -S ${CONSUMER_DIR} -B ${WORK_DIR}/consumer-build
    -G ${GENERATOR} -DCMAKE_C_COMPILER=${C_COMPILER} -DCMAKE_PREFIX_PATH=${prefix})
run("building the consumer" ${CMAKE_COMMAND} --build ${WORK_DIR}/consumer-build)
run("running the consumer" ${WORK_DIR}/consumer-build/consumer)
message("${run_output}")
if(NOT run_output MATCHES "consumer ok")
  message(FATAL_ERROR "the consumer did not print 'consumer ok'")
endif()
