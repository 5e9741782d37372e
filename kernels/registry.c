/*
 * registry.c — the backend table registry. Optional backends are registered
 * here and only here (#ifdef MPCT_HAVE_CUDA).
 *   "ref"  plain C reference (always)
 *   "cpu"  the fast CPU backend (cpu.c: blocked SIMD GEMM, OpenMP)
 *   "cuda" the CUDA backend, when built and a device is usable
 * Every table returned is complete but for the optional gemm_bsum and
 * gemm32: local-step entries a backend leaves NULL come from "ref" (a
 * completed copy of that backend's table, made once).
 * The CPU backend picks its instruction set itself (cpu-impl.h: the GEMM
 * and elementwise ISA, MPCT_CPU_ISA; BMI2 bit packing, MPCT_NO_BMI2).
 */
#include "mpct_kernels.h"

#include "cpu-impl.h"

#include <stddef.h>
#include <string.h>

/* One function entry per mpct_kop, then supports_op: an entry added to the
 * table without its op (and so without its test) does not compile. */
_Static_assert(sizeof(mpct_kernels) == offsetof(mpct_kernels, gemm) + (MPCT_KOP_COUNT + 1) * sizeof(void (*)(void)),
               "mpct_kernels has one function entry per mpct_kop (and supports_op)");

#define OP_NAME(op, member, name) [MPCT_KOP_##op] = name,
static const char *const op_names[MPCT_KOP_COUNT] = {MPCT_KOP_LIST(OP_NAME)};
#undef OP_NAME

const char *mpct_kernels_op_name(mpct_kop op)
{
    return op >= 0 && op < MPCT_KOP_COUNT ? op_names[op] : NULL;
}

#ifdef MPCT_HAVE_CUDA
const mpct_kernels *mpct_kernels_cuda(void);
#endif

static const char *const names[] = {"ref", "cpu",
#ifdef MPCT_HAVE_CUDA
                                    "cuda",
#endif
                                    NULL};

const char *const *mpct_kernels_list(void) { return names; }

#ifdef MPCT_HAVE_CUDA
/* b with its NULL local-step entries taken from ref, in a copy made on the
 * first call (one device backend, one copy). */
static const mpct_kernels *complete_from_ref(const mpct_kernels *b)
{
    static mpct_kernels full;
    static int made;
    if (!b)
        return NULL;
    if (!made) {
        const mpct_kernels *r = mpct_kernels_ref();
        full = *b;
#define FILL(e)       \
    if (!full.e)      \
        full.e = r->e;
        FILL(gather) FILL(low32) FILL(bit_pack) FILL(bit_unpack) FILL(sar_sum) FILL(sar_neg) FILL(add3)
        FILL(trunc_split) FILL(trunc_bm) FILL(shl_add) FILL(trunc_mb) FILL(mul_scalar) FILL(rope)
        FILL(add_rows) FILL(copy_rows) FILL(sum_rows) FILL(bcast_rows) FILL(head_split) FILL(head_merge)
        FILL(wire_pack) FILL(wire_unpack)
#undef FILL
        made = 1;
    }
    return &full;
}
#endif

const mpct_kernels *mpct_kernels_get(const char *name)
{
    if (!name || !strcmp(name, "ref"))
        return mpct_kernels_ref();
    if (!strcmp(name, "cpu"))
        return mpct_kernels_cpu();
#ifdef MPCT_HAVE_CUDA
    if (!strcmp(name, "cuda"))
        return complete_from_ref(mpct_kernels_cuda());
#endif
    return NULL;
}
