/*
 * mpct_model.h — BERT encoder models. This header holds the plaintext
 * float64 reference (prefix mpct_ref_): the simple, readable oracle that the
 * secure forward pass is checked against.
 *
 * Graph (Hugging Face BertModel + sentence-transformers mean pooling):
 *   x = LN(word[id] + position[i] + token_type[0])
 *   per layer: a = softmax(Q K^T / sqrt(d_head) + mask) V   (per head)
 *              x = LN(x + a Wo^T + bo)
 *              x = LN(x + gelu_erf(x Wup^T + bup) Wdown^T + bdown)
 *   e = mean over real tokens of x; e /= ||e||_2 when normalize;
 *   logits = Wc e + bc when the model has a classification head.
 * Shapes: b = batch, t = tokens per row (padded), h = hidden.
 * Masked (padding) keys are excluded from the softmax; padding rows are
 * computed but excluded from pooling.
 *
 * Uses mpct_io (dequantized weights) and mpct_core.
 */
#ifndef MPCT_MODEL_H
#define MPCT_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "mpct_core.h"
#include "mpct_io.h"

typedef struct mpct_ref_model mpct_ref_model; /* opaque; weights wiped on free */

/* Loads every tensor of an mpct model file, dequantized to double. */
mpct_status mpct_ref_load(const char *path, mpct_ref_model **out) MPCT_WUR;
void mpct_ref_free(mpct_ref_model *m);
const mpct_model_config *mpct_ref_config(const mpct_ref_model *m);

/* ids, mask: [b x t] row-major (mask 1 = real token, 0 = padding; every row
 * needs at least one real token; t <= max_positions). emb: [b x h].
 * logits: [b x num_labels] or NULL. Errors name the row and column. */
mpct_status mpct_ref_forward(const mpct_ref_model *m, const int32_t *ids, const int32_t *mask,
                             size_t b, size_t t, double *emb, double *logits) MPCT_WUR;

/* Exact GeLU: x/2 (1 + erf(x / sqrt 2)). */
double mpct_ref_gelu(double x);

#endif
