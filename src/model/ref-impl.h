/*
 * ref-impl.h — what the float64 references share (ref.c: the model, its
 * loading and the encoder pass; ref_decoder.c: the decoder pass with its
 * KV cache). Private to src/model.
 *
 * Invariant: slot (entry, layer) of m->t holds the description's tensor
 * dequantized to double, [out x in] as the file stores it; an absent
 * tensor's slot has v NULL.
 */
#ifndef MPCT_REF_IMPL_H
#define MPCT_REF_IMPL_H

#include "mpct_model.h"
#include "mpct_model_desc.h"

typedef struct ref_tensor {
    double *v;
    size_t n;
} ref_tensor;

struct mpct_ref_model {
    mpct_model_config cfg;
    const mpct_model_desc *md;
    mpct_md_graph g;
    /* one slot per (table entry, layer): block 0 holds the entries outside
     * the layers, block 1 + l layer l's; absent tensors stay empty */
    ref_tensor *t;
    size_t nslots;
};

/* Tensor `id` of the description outside the layers / in layer l. */
static inline const ref_tensor *ref_t(const mpct_ref_model *m, int id) { return &m->t[id]; }
static inline const ref_tensor *ref_lt(const mpct_ref_model *m, int64_t l, int id)
{
    return &m->t[(size_t)(l + 1) * m->md->ntensors + (size_t)id];
}

/* y[t x n] = x[t x k] W^T + b, with W stored [n x k] (out x in); b may be
 * NULL or an absent tensor (no bias). */
void ref_linear(const double *x, size_t t, size_t k, const ref_tensor *w, const ref_tensor *b, size_t n, double *y);
/* In place over t rows of h: (x - mean) / sqrt(var + eps) * g + b. */
void ref_layernorm(double *x, size_t t, size_t h, const ref_tensor *g, const ref_tensor *b, double eps);

#endif
