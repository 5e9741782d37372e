/*
 * cpu-impl.h — knobs of the fast CPU backend ("cpu", kernels/cpu.c) for tests
 * and benchmarks. Not part of the public kernel API (mpct_kernels.h): callers
 * get the backend through mpct_kernels_get("cpu") and never need these.
 *
 * ISA: the GEMM micro-kernel and the elementwise loops exist in three
 * flavours, picked once at run time (best the CPU and OS support), or forced
 * by the environment variable MPCT_CPU_ISA=scalar|avx2|avx512, or by
 * mpct_kernels_cpu_isa_set() (tests use it to cover every path). The
 * local-step entries (cpu_local.c) follow the same ISA, except the bit
 * packing: BMI2 pext/pdep where the CPU has them, unless the environment
 * sets MPCT_NO_BMI2=1 or mpct_kernels_cpu_bmi2_set(0) was called (the
 * portable loops; same layout, so parties may mix the two).
 *
 * Threads (OpenMP): OMP_NUM_THREADS when set; otherwise the OpenMP default
 * divided by the number of MPI ranks sharing the node, as the launcher
 * reports it (OMPI_COMM_WORLD_LOCAL_SIZE, MPI_LOCALNRANKS,
 * SLURM_STEP_TASKS_PER_NODE), at least 1. Small problems and calls from
 * inside a parallel region run on the calling thread only.
 * Recommended for 3 parties on one 2-core node: OMP_NUM_THREADS=1 (or leave
 * it unset under mpirun/srun); forcing 2 threads per rank oversubscribes the
 * cores (6 threads on 2) and made secure matmul 2.5-5x slower. With one rank
 * per node, leave it unset (all cores) or set it to the cores per rank.
 */
#ifndef MPCT_KERNELS_CPU_IMPL_H
#define MPCT_KERNELS_CPU_IMPL_H

#include "mpct_kernels.h"

typedef enum mpct_cpu_isa {
    MPCT_CPU_ISA_SCALAR = 0, /* portable C, blocked, no intrinsics */
    MPCT_CPU_ISA_AVX2,       /* 64-bit products from 32-bit halves (vpmuludq + vpmulld) */
    MPCT_CPU_ISA_AVX512,     /* AVX-512F/DQ: native 64-bit vpmullq */
    MPCT_CPU_ISA_COUNT
} mpct_cpu_isa;

const mpct_kernels *mpct_kernels_cpu(void);
/* "scalar", "avx2", "avx512". */
const char *mpct_kernels_cpu_isa_str(mpct_cpu_isa isa);
/* Nonzero when this build, CPU and OS can run isa. */
int mpct_kernels_cpu_isa_supported(mpct_cpu_isa isa);
/* The ISA the backend uses now. */
mpct_cpu_isa mpct_kernels_cpu_isa(void);
/* Use isa from now on; returns 0 (and changes nothing) when unsupported.
 * Not thread-safe against concurrent kernel calls. */
int mpct_kernels_cpu_isa_set(mpct_cpu_isa isa);
/* Nonzero when the CPU has BMI2; whether the bit packing uses it now;
 * use it (on != 0) or not from now on, 0 (nothing changed) when asked for
 * BMI2 without it. Not thread-safe against concurrent kernel calls. */
int mpct_kernels_cpu_bmi2_supported(void);
int mpct_kernels_cpu_bmi2(void);
int mpct_kernels_cpu_bmi2_set(int on);
/* Threads a large kernel call uses now; set 0 to return to the default. */
int mpct_kernels_cpu_threads(void);
void mpct_kernels_cpu_threads_set(int nthreads);

#endif
