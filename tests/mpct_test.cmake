# Helpers for registering tests.
#   mpct_unit_test(NAME SOURCES... [LIBS libs...] [LABELS labels...])
#   mpct_mpi_test(NAME NP EXE ARGS... ) registers `mpiexec -n NP EXE ARGS` with label mpi
set(MPCT_MPIEXEC_FLAGS --oversubscribe --allow-run-as-root --mca btl self,vader,tcp)
function(mpct_unit_test name)
  cmake_parse_arguments(T "" "" "SOURCES;LIBS;LABELS" ${ARGN})
  add_executable(${name} ${T_SOURCES})
  target_link_libraries(${name} PRIVATE ${T_LIBS})
  add_test(NAME ${name} COMMAND ${name})
  set_tests_properties(${name} PROPERTIES LABELS "unit;${T_LABELS}" TIMEOUT 300 SKIP_RETURN_CODE 77)
endfunction()
function(mpct_mpi_test name np)
  add_test(NAME ${name} COMMAND ${MPIEXEC_EXECUTABLE} ${MPIEXEC_NUMPROC_FLAG} ${np}
           ${MPCT_MPIEXEC_FLAGS} ${ARGN})
  set_tests_properties(${name} PROPERTIES LABELS mpi TIMEOUT 300 SKIP_RETURN_CODE 77)
endfunction()
