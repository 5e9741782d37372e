/*
 * share_alloc.c — arithmetic shares as memory: allocation (fresh zero pages
 * or the scratch cache), the output-shape check every operation starts
 * with (mpc_out_like), copies and views.
 *
 * Invariants: a share's two components have n words each (at least one
 * word is allocated for n = 0); freed components go back to the scratch
 * cache, which wipes them when they leave it (mpct_core.h); a copy keeps
 * the zero-component hint, an operation's output resets it.
 *
 * Communication: none (every function here is local).
 */
#include "mpc-impl.h"

#include <string.h>

static mpct_status share_alloc(mpct_share *x, mpct_shape shape, void *(*alloc)(size_t))
{
    x->shape = shape;
    x->zero_comp = 0;
    x->n = mpct_shape_numel(shape);
    x->s[0] = alloc((x->n ? x->n : 1) * sizeof(uint64_t));
    x->s[1] = alloc((x->n ? x->n : 1) * sizeof(uint64_t));
    if (!x->s[0] || !x->s[1]) {
        mpct_share_free(x);
        return mpct_error_set(MPCT_ERR_NOMEM, "cannot allocate a share of %zu elements", mpct_shape_numel(shape));
    }
    return MPCT_OK;
}

mpct_status mpct_share_init(mpct_share *x, mpct_shape shape)
{
    return share_alloc(x, shape, mpct_calloc);
}

mpct_status mpct_share_init_scratch(mpct_share *x, mpct_shape shape)
{
    return share_alloc(x, shape, mpct_scratch_calloc);
}

mpct_status mpct_share_init_scratch_nofill(mpct_share *x, mpct_shape shape)
{
    return share_alloc(x, shape, mpct_scratch_alloc);
}

void mpct_share_free(mpct_share *x)
{
    if (!x)
        return;
    for (int i = 0; i < 2; i++) {
        if (x->s[i])
            mpct_scratch_free(x->s[i]);
        x->s[i] = NULL;
    }
    x->n = 0;
}

mpct_status mpc_out_like(mpct_share *out, mpct_shape shape)
{
    if (out->s[0]) {
        if (out->n != mpct_shape_numel(shape))
            return mpct_error_set(MPCT_ERR_ARG, "output share has %zu elements, operation produces %zu",
                                  out->n, mpct_shape_numel(shape));
        out->shape = shape;
        out->zero_comp = 0;
        return MPCT_OK;
    }
    /* every caller writes all of both components: no zero fill (freed
     * memory was wiped, so nothing stale shows through either way) */
    return share_alloc(out, shape, mpct_scratch_alloc);
}

mpct_status mpct_share_copy(const mpct_share *x, mpct_share *out)
{
    MPCT_CALL(mpc_out_like(out, x->shape));
    memcpy(out->s[0], x->s[0], x->n * sizeof(uint64_t));
    memcpy(out->s[1], x->s[1], x->n * sizeof(uint64_t));
    out->zero_comp = x->zero_comp; /* the same values: the same zero component */
    return MPCT_OK;
}

mpct_share mpct_share_view(const mpct_share *x, size_t off, size_t len)
{
    mpct_share v = {mpct_shape_1d(len), len, {x->s[0] + off, x->s[1] + off}, 0};
    return v;
}
