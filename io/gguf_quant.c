/*
 * gguf_quant.c — dequantization of GGUF tensors to float32, bit-exactly as
 * ggml's reference (dequantize_row_*) and gguf-py's gguf.quants compute it.
 *
 * Block layouts (32 elements per block, little-endian fp16 scales):
 *   Q8_0  d (fp16), qs[32] int8                y[j] = qs[j] * d
 *   Q4_0  d (fp16), qs[16] bytes               y[j] = ((qs[j] & 15) - 8) * d,
 *                                              y[j+16] = ((qs[j] >> 4) - 8) * d
 *   Q4_1  d (fp16), m (fp16), qs[16] bytes     y[j] = (qs[j] & 15) * d + m,
 *                                              y[j+16] = (qs[j] >> 4) * d + m
 * The low nibbles of a block are its first 16 elements, the high nibbles its
 * last 16. Each product and sum is rounded to float32 separately: this file
 * is compiled without floating-point contraction (io/CMakeLists.txt), so no
 * fused multiply-add changes a bit.
 *
 * Uses mpct_core and the fp16/bf16 conversions of the safetensors reader.
 */
#include <string.h>

#include "mpct_gguf.h"
#include "mpct_io.h"

int mpct_gguf_type_supported(uint32_t type)
{
    return type == MPCT_GGML_F32 || type == MPCT_GGML_F16 || type == MPCT_GGML_BF16 || type == MPCT_GGML_Q8_0 ||
           type == MPCT_GGML_Q4_0 || type == MPCT_GGML_Q4_1;
}

static float f16_at(const uint8_t *p) { return mpct_st_f16_to_f32((uint16_t)(p[0] | p[1] << 8)); }

static void dq_q8_0(const uint8_t *b, float *y, uint64_t nblk)
{
    for (uint64_t k = 0; k < nblk; k++, b += 34, y += 32) {
        const float d = f16_at(b);
        for (int j = 0; j < 32; j++) y[j] = (float)(int8_t)b[2 + j] * d;
    }
}

static void dq_q4_0(const uint8_t *b, float *y, uint64_t nblk)
{
    for (uint64_t k = 0; k < nblk; k++, b += 18, y += 32) {
        const float d = f16_at(b);
        for (int j = 0; j < 16; j++) {
            y[j] = (float)((b[2 + j] & 15) - 8) * d;
            y[j + 16] = (float)((b[2 + j] >> 4) - 8) * d;
        }
    }
}

static void dq_q4_1(const uint8_t *b, float *y, uint64_t nblk)
{
    for (uint64_t k = 0; k < nblk; k++, b += 20, y += 32) {
        const float d = f16_at(b), m = f16_at(b + 2);
        for (int j = 0; j < 16; j++) {
            const float lo = (float)(b[4 + j] & 15) * d, hi = (float)(b[4 + j] >> 4) * d;
            y[j] = lo + m;
            y[j + 16] = hi + m;
        }
    }
}

mpct_status mpct_gguf_dequant(const mpct_gguf_file *f, const mpct_gguf_tensor *t, float *out, size_t n)
{
    if (n != t->numel)
        return mpct_error_set(MPCT_ERR_ARG, "%s: tensor %s has %llu elements, the caller expected %zu",
                              mpct_gguf_label(f), t->name, (unsigned long long)t->numel, n);
    if (!mpct_gguf_type_supported(t->type))
        return mpct_error_set(MPCT_ERR_UNSUPPORTED, "%s: tensor %s: type %s (ggml type %u) is not supported by mpct "
                              "(F32, F16, BF16, Q8_0, Q4_0, Q4_1 are)", mpct_gguf_label(f), t->name,
                              mpct_gguf_type_name(t->type), t->type);
    const uint8_t *p = mpct_gguf_tensor_data(f, t);
    const uint64_t nblk = t->numel / mpct_gguf_block_elems(t->type);
    switch (t->type) {
    case MPCT_GGML_F32:
        for (size_t i = 0; i < n; i++) {
            const uint32_t u = (uint32_t)p[4 * i] | (uint32_t)p[4 * i + 1] << 8 | (uint32_t)p[4 * i + 2] << 16 |
                               (uint32_t)p[4 * i + 3] << 24;
            memcpy(&out[i], &u, 4);
        }
        break;
    case MPCT_GGML_F16:
        for (size_t i = 0; i < n; i++) out[i] = f16_at(p + 2 * i);
        break;
    case MPCT_GGML_BF16:
        for (size_t i = 0; i < n; i++) out[i] = mpct_st_bf16_to_f32((uint16_t)(p[2 * i] | p[2 * i + 1] << 8));
        break;
    case MPCT_GGML_Q8_0: dq_q8_0(p, out, nblk); break;
    case MPCT_GGML_Q4_0: dq_q4_0(p, out, nblk); break;
    default: dq_q4_1(p, out, nblk); break;
    }
    return MPCT_OK;
}
