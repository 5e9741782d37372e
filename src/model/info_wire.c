/*
 * info_wire.c — the serialiser of the public model description
 * (mpct_smodel_info) that the owner sends to the other parties and the
 * tools broadcast to every replica.
 *
 * Wire format (MPCT_SMODEL_INFO_WIRE_BYTES bytes, every integer
 * little-endian, independent of the struct's layout and of the host):
 *   magic "MPCTINFO" (8) | version u32 (1) | length u32 (the whole message)
 *   architecture  16-byte string field
 *   num_layers hidden heads ffn vocab_size max_positions type_vocab_size
 *                 i64 each
 *   layer_norm_eps the IEEE-754 binary64 bits as u64
 *   pooling       16-byte string field
 *   normalize num_labels   i64 each
 *   hash          65-byte string field
 *   labels        MPCT_IO_MAX_LABELS 32-byte string fields
 *   kv_heads head_dim   i64 each (decoders; kv_heads 0 for encoders, head_dim
 *                       0 unless their heads were pruned)
 *   rope_theta    the IEEE-754 binary64 bits as u64 (0 without RoPE)
 *   tie_word_embeddings i64
 *   activation attention  8-byte string fields (encoders' substitutions,
 *                 "" for none)
 *   word_lift     i32
 * A string field holds the string and NUL padding; it must contain a NUL.
 * Decoding checks the magic, the version, the length, every string field,
 * then the values (mpct_smodel_info_accept: ranges via mpct_io_config_check,
 * word_lift 0 or 1); every error names the field. The description is
 * public, so nothing here is secret.
 *
 * Uses mpct_io (config check) and mpct_core.
 */
#include <stdio.h>
#include <string.h>

#include "mpct_model.h"

#define IW_MAGIC "MPCTINFO"
#define IW_VERSION 1u

/* Sizes of the string fields, from the struct they travel in. */
#define IW_ARCH sizeof(((mpct_model_config *)0)->architecture)
#define IW_POOL sizeof(((mpct_model_config *)0)->pooling)
#define IW_SUB sizeof(((mpct_model_config *)0)->activation)
#define IW_HASH sizeof(((mpct_smodel_info *)0)->hash)
#define IW_LABEL sizeof(((mpct_smodel_info *)0)->labels[0])

_Static_assert(MPCT_SMODEL_INFO_WIRE_BYTES ==
                   8 + 4 + 4 + IW_ARCH + 7 * 8 + 8 + IW_POOL + 8 + 8 + IW_HASH + MPCT_IO_MAX_LABELS * IW_LABEL + 4 * 8 + 4 + 2 * IW_SUB,
               "MPCT_SMODEL_INFO_WIRE_BYTES matches the fields");

/* A cursor over the message: writes through w or reads from r. */
typedef struct iw_cur {
    uint8_t *w;       /* writing, or NULL */
    const uint8_t *r; /* reading, or NULL */
    size_t pos;
} iw_cur;

static void iw_put(iw_cur *c, uint64_t v, size_t bytes)
{
    for (size_t i = 0; i < bytes; i++)
        c->w[c->pos + i] = (uint8_t)(v >> (8 * i));
    c->pos += bytes;
}

static uint64_t iw_get(iw_cur *c, size_t bytes)
{
    uint64_t v = 0;
    for (size_t i = 0; i < bytes; i++)
        v |= (uint64_t)c->r[c->pos + i] << (8 * i);
    c->pos += bytes;
    return v;
}

/* A string field of `width` bytes: written NUL-padded (the string must fit
 * with its NUL), or read and checked to hold a NUL. */
static mpct_status iw_str(iw_cur *c, char *s, size_t width, const char *field)
{
    if (c->w) {
        const size_t n = strnlen(s, width);
        if (n == width)
            return mpct_error_set(MPCT_ERR_ARG, "model description: field '%s' is not NUL-terminated within %zu bytes",
                                  field, width);
        memset(c->w + c->pos, 0, width);
        memcpy(c->w + c->pos, s, n);
    } else {
        if (!memchr(c->r + c->pos, '\0', width))
            return mpct_error_set(MPCT_ERR_PROTOCOL,
                                  "model description: field '%s' is not NUL-terminated within %zu bytes", field, width);
        memcpy(s, c->r + c->pos, width);
    }
    c->pos += width;
    return MPCT_OK;
}

static void iw_i64(iw_cur *c, int64_t *v)
{
    if (c->w)
        iw_put(c, (uint64_t)*v, 8);
    else
        *v = (int64_t)iw_get(c, 8);
}

/* A double as its binary64 bits. */
static void iw_f64(iw_cur *c, double *v)
{
    uint64_t bits;
    memcpy(&bits, v, 8);
    if (c->w)
        iw_put(c, bits, 8);
    else {
        bits = iw_get(c, 8);
        memcpy(v, &bits, 8);
    }
}

/* Every field after the header, in wire order, both directions. */
static mpct_status iw_fields(iw_cur *c, mpct_smodel_info *info)
{
    mpct_model_config *g = &info->cfg;
    MPCT_CALL(iw_str(c, g->architecture, IW_ARCH, "architecture"));
    int64_t *ints[] = {&g->num_layers,    &g->hidden,        &g->heads, &g->ffn, &g->vocab_size,
                       &g->max_positions, &g->type_vocab_size};
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++)
        iw_i64(c, ints[i]);
    iw_f64(c, &g->layer_norm_eps);
    MPCT_CALL(iw_str(c, g->pooling, IW_POOL, "pooling"));
    int64_t norm = g->normalize;
    iw_i64(c, &norm);
    /* out of int range: left to the range check, which names the field */
    g->normalize = norm < -1 || norm > 1 ? -1 : (int)norm;
    iw_i64(c, &g->num_labels);
    MPCT_CALL(iw_str(c, info->hash, IW_HASH, "hash"));
    for (size_t i = 0; i < MPCT_IO_MAX_LABELS; i++) {
        char field[24];
        snprintf(field, sizeof field, "labels[%zu]", i);
        MPCT_CALL(iw_str(c, info->labels[i], IW_LABEL, field));
    }
    iw_i64(c, &g->kv_heads);
    iw_i64(c, &g->head_dim);
    iw_f64(c, &g->rope_theta);
    int64_t tied = g->tie_word_embeddings;
    iw_i64(c, &tied);
    g->tie_word_embeddings = tied < 0 || tied > 1 ? -1 : (int)tied; /* left to the range check */
    MPCT_CALL(iw_str(c, g->activation, IW_SUB, "activation"));
    MPCT_CALL(iw_str(c, g->attention, IW_SUB, "attention"));
    if (c->w)
        iw_put(c, (uint32_t)info->word_lift, 4);
    else
        info->word_lift = (int32_t)(uint32_t)iw_get(c, 4);
    return MPCT_OK;
}

mpct_status mpct_smodel_info_encode(const mpct_smodel_info *info, uint8_t *buf, size_t cap, size_t *len)
{
    *len = 0;
    if (cap < MPCT_SMODEL_INFO_WIRE_BYTES)
        return mpct_error_set(MPCT_ERR_ARG, "model description: buffer of %zu bytes, it needs %d", cap,
                              MPCT_SMODEL_INFO_WIRE_BYTES);
    mpct_smodel_info copy = *info; /* iw_fields takes the fields by address in both directions */
    iw_cur c = {buf, NULL, 0};
    memcpy(buf, IW_MAGIC, 8);
    c.pos = 8;
    iw_put(&c, IW_VERSION, 4);
    iw_put(&c, MPCT_SMODEL_INFO_WIRE_BYTES, 4);
    MPCT_CALL(iw_fields(&c, &copy));
    *len = c.pos;
    return MPCT_OK;
}

mpct_status mpct_smodel_info_decode(const uint8_t *buf, size_t len, mpct_smodel_info *info)
{
    if (len < 16)
        return mpct_error_set(MPCT_ERR_PROTOCOL, "model description: %zu bytes, shorter than its 16-byte header", len);
    if (memcmp(buf, IW_MAGIC, 8) != 0)
        return mpct_error_set(MPCT_ERR_PROTOCOL, "model description: field 'magic' is not \"%s\"", IW_MAGIC);
    iw_cur c = {NULL, buf, 8};
    const uint32_t version = (uint32_t)iw_get(&c, 4), length = (uint32_t)iw_get(&c, 4);
    if (version != IW_VERSION)
        return mpct_error_set(MPCT_ERR_PROTOCOL, "model description: field 'version' is %u, this mpct reads %u",
                              version, IW_VERSION);
    if (length != MPCT_SMODEL_INFO_WIRE_BYTES || len != length)
        return mpct_error_set(MPCT_ERR_PROTOCOL,
                              "model description: field 'length' is %u and %zu bytes arrived, expected %d", length,
                              len, MPCT_SMODEL_INFO_WIRE_BYTES);
    mpct_smodel_info in;
    memset(&in, 0, sizeof in);
    MPCT_CALL(iw_fields(&c, &in));
    MPCT_CALL(mpct_smodel_info_accept(&in));
    *info = in;
    return MPCT_OK;
}
