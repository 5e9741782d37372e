/*
 * registry.c — the backend table registry. Optional backends are registered
 * here and only here (#ifdef MPCT_HAVE_CUDA).
 *   "ref"  plain C reference (always)
 *   "cpu"  the fast CPU backend (cpu.c: blocked SIMD GEMM, OpenMP)
 *   "cuda" the CUDA backend, when built and a device is usable
 */
#include "mpct_kernels.h"

#include "cpu-impl.h"

#include <string.h>

#ifdef MPCT_HAVE_CUDA
const mpct_kernels *mpct_kernels_cuda(void);
#endif

static const char *const names[] = {"ref", "cpu",
#ifdef MPCT_HAVE_CUDA
                                    "cuda",
#endif
                                    NULL};

const char *const *mpct_kernels_list(void) { return names; }

const mpct_kernels *mpct_kernels_get(const char *name)
{
    if (!name || !strcmp(name, "ref"))
        return mpct_kernels_ref();
    if (!strcmp(name, "cpu"))
        return mpct_kernels_cpu();
#ifdef MPCT_HAVE_CUDA
    if (!strcmp(name, "cuda"))
        return mpct_kernels_cuda();
#endif
    return NULL;
}
