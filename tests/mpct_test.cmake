# Helpers for registering tests.
#   mpct_unit_test(NAME SOURCES... [LIBS libs...] [LABELS labels...])
#   mpct_mpi_test(NAME NP EXE ARGS... ) registers `mpiexec -n NP EXE ARGS` with label mpi
#   mpct_mpi_cli_test(NAME NP RC REGEX EXE ARGS...) the same, and checks that the exit status is RC
#     and the output matches REGEX (tests/model/cli_check.cmake; a PASS regex alone ignores the status)
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
function(mpct_mpi_cli_test name np rc regex)
  string(JOIN "|" cmd ${MPIEXEC_EXECUTABLE} ${MPIEXEC_NUMPROC_FLAG} ${np} ${MPCT_MPIEXEC_FLAGS} ${ARGN})
  add_test(NAME ${name} COMMAND ${CMAKE_COMMAND} -DRC=${rc} "-DREGEX=${regex}" "-DCMD=${cmd}"
           -P ${PROJECT_SOURCE_DIR}/tests/model/cli_check.cmake)
  set_tests_properties(${name} PROPERTIES LABELS mpi TIMEOUT 300)
endfunction()
