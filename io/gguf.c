/*
 * gguf.c — a validating reader of GGUF files (versions 2 and 3).
 *
 * Layout (little-endian): "GGUF", uint32 version, uint64 tensor_count,
 * uint64 kv_count; kv_count key/values (string key = uint64 length + bytes,
 * uint32 value type, value; an array is uint32 element type, uint64 count,
 * elements; a string is uint64 length + bytes); tensor_count tensor infos
 * (string name, uint32 n_dims, uint64 dims[n_dims], uint32 ggml type,
 * uint64 offset); padding to general.alignment (default 32); the data
 * section, where every tensor's offset is aligned.
 *
 * Invariants (mpct_gguf.h): every length and count is checked against the
 * bytes left before it is used, so a malformed file gives a message naming
 * the file, the field (key or tensor) and the problem, never a read past
 * the end. Counts are also bounded by the bytes their smallest encoding
 * needs, so allocations stay proportional to the file size.
 *
 * Uses mpct_core.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mpct_gguf.h"

#define GGUF_MAX_NAME 64        /* ggml's GGML_MAX_NAME, NUL included */
#define GGUF_MAX_KEY 65535

struct mpct_gguf_file {
    char *label;
    const uint8_t *base;
    size_t len;
    int mapped;
    uint32_t version;
    uint64_t alignment, data_off;
    size_t nkv, nt;
    mpct_gguf_kv *kv;
    mpct_gguf_tensor *t;
};

static const struct {
    const char *name;
    uint32_t blk, bytes;
} gguf_types[] = {
    [0] = {"F32", 1, 4},         [1] = {"F16", 1, 2},         [2] = {"Q4_0", 32, 18},     [3] = {"Q4_1", 32, 20},
    [6] = {"Q5_0", 32, 22},      [7] = {"Q5_1", 32, 24},      [8] = {"Q8_0", 32, 34},     [9] = {"Q8_1", 32, 40},
    [10] = {"Q2_K", 256, 84},    [11] = {"Q3_K", 256, 110},   [12] = {"Q4_K", 256, 144},  [13] = {"Q5_K", 256, 176},
    [14] = {"Q6_K", 256, 210},   [15] = {"Q8_K", 256, 292},   [16] = {"IQ2_XXS", 256, 66}, [17] = {"IQ2_XS", 256, 74},
    [18] = {"IQ3_XXS", 256, 98}, [19] = {"IQ1_S", 256, 50},   [20] = {"IQ4_NL", 32, 18},  [21] = {"IQ3_S", 256, 110},
    [22] = {"IQ2_S", 256, 82},   [23] = {"IQ4_XS", 256, 136}, [24] = {"I8", 1, 1},        [25] = {"I16", 1, 2},
    [26] = {"I32", 1, 4},        [27] = {"I64", 1, 8},        [28] = {"F64", 1, 8},       [29] = {"IQ1_M", 256, 56},
    [30] = {"BF16", 1, 2},       [34] = {"TQ1_0", 256, 54},   [35] = {"TQ2_0", 256, 66},  [39] = {"MXFP4", 32, 17},
};
#define GGUF_NTYPES (sizeof gguf_types / sizeof gguf_types[0])

static const char *const vtype_names[MPCT_GGUF_VTYPE_COUNT] = {
    "uint8", "int8", "uint16", "int16", "uint32", "int32", "float32", "bool", "string", "array", "uint64",
    "int64", "float64"};
static const uint8_t vtype_size[MPCT_GGUF_VTYPE_COUNT] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};

const char *mpct_gguf_vtype_name(mpct_gguf_vtype t)
{
    return (unsigned)t < MPCT_GGUF_VTYPE_COUNT ? vtype_names[t] : "unknown";
}

const char *mpct_gguf_type_name(uint32_t type)
{
    return type < GGUF_NTYPES && gguf_types[type].name ? gguf_types[type].name : "unknown";
}

uint32_t mpct_gguf_block_elems(uint32_t type) { return type < GGUF_NTYPES ? gguf_types[type].blk : 0; }
uint32_t mpct_gguf_block_bytes(uint32_t type) { return type < GGUF_NTYPES ? gguf_types[type].bytes : 0; }

/* ------------------------------------------------------------------ cursor */

struct cur {
    const mpct_gguf_file *f;
    size_t pos;
};

static uint64_t rd_le(const uint8_t *p, unsigned n)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++) v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static mpct_status need(struct cur *c, uint64_t n, const char *what)
{
    if (n > c->f->len - c->pos)
        return mpct_error_set(MPCT_ERR_FORMAT, "%s: %s: needs %llu bytes at offset %zu, the file ends at %zu",
                              c->f->label, what, (unsigned long long)n, c->pos, c->f->len);
    return MPCT_OK;
}

static mpct_status take(struct cur *c, unsigned n, uint64_t *v, const char *what)
{
    MPCT_CALL(need(c, n, what));
    *v = rd_le(c->f->base + c->pos, n);
    c->pos += n;
    return MPCT_OK;
}

static mpct_status take_str(struct cur *c, mpct_gguf_str *s, const char *what)
{
    uint64_t n;
    MPCT_CALL(take(c, 8, &n, what));
    MPCT_CALL(need(c, n, what));
    s->s = (const char *)c->f->base + c->pos;
    s->n = n;
    c->pos += (size_t)n;
    return MPCT_OK;
}

static char *dup_str(mpct_gguf_str s)
{
    char *p = malloc((size_t)s.n + 1);
    if (p) {
        memcpy(p, s.s, (size_t)s.n);
        p[s.n] = 0;
    }
    return p;
}

/* ------------------------------------------------------------------ key/values */

static mpct_status read_scalar(struct cur *c, mpct_gguf_kv *kv, mpct_gguf_vtype t, const char *what)
{
    uint64_t raw;
    MPCT_CALL(take(c, vtype_size[t], &raw, what));
    const unsigned bits = 8u * vtype_size[t];
    switch (t) {
    case MPCT_GGUF_I8: case MPCT_GGUF_I16: case MPCT_GGUF_I32: case MPCT_GGUF_I64:
        kv->i = bits == 64 ? (int64_t)raw : (int64_t)(raw ^ (1ull << (bits - 1))) - (int64_t)(1ull << (bits - 1));
        break;
    case MPCT_GGUF_F32: {
        float x;
        uint32_t r32 = (uint32_t)raw;
        memcpy(&x, &r32, 4);
        kv->f = x;
        break;
    }
    case MPCT_GGUF_F64:
        memcpy(&kv->f, &raw, 8);
        break;
    case MPCT_GGUF_BOOL:
        if (raw > 1)
            return mpct_error_set(MPCT_ERR_FORMAT, "%s: %s: bool value %llu is not 0 or 1", c->f->label, what,
                                  (unsigned long long)raw);
        kv->u = raw;
        break;
    default:
        kv->u = raw;
    }
    return MPCT_OK;
}

static mpct_status read_array(struct cur *c, mpct_gguf_kv *kv, const char *what)
{
    uint64_t et, n;
    MPCT_CALL(take(c, 4, &et, what));
    MPCT_CALL(take(c, 8, &n, what));
    if (et == MPCT_GGUF_ARRAY)
        return mpct_error_set(MPCT_ERR_FORMAT, "%s: %s: an array of arrays (nested arrays are not supported)",
                              c->f->label, what);
    if (et >= MPCT_GGUF_VTYPE_COUNT)
        return mpct_error_set(MPCT_ERR_FORMAT, "%s: %s: array element type %llu is not a GGUF value type",
                              c->f->label, what, (unsigned long long)et);
    kv->arr_type = (mpct_gguf_vtype)et;
    kv->n = n;
    const uint64_t esz = et == MPCT_GGUF_STRING ? 8 : vtype_size[et];
    if (n > (c->f->len - c->pos) / esz)
        return mpct_error_set(MPCT_ERR_FORMAT, "%s: %s: array of %llu %s elements does not fit the file",
                              c->f->label, what, (unsigned long long)n, vtype_names[et]);
    kv->arr = c->f->base + c->pos;
    if (et != MPCT_GGUF_STRING) {
        c->pos += (size_t)(n * esz);
        for (uint64_t k = 0; et == MPCT_GGUF_BOOL && k < n; k++)
            if (kv->arr[k] > 1)
                return mpct_error_set(MPCT_ERR_FORMAT, "%s: %s[%llu]: bool value %u is not 0 or 1", c->f->label,
                                      what, (unsigned long long)k, kv->arr[k]);
        return MPCT_OK;
    }
    kv->strs = malloc((size_t)(n ? n : 1) * sizeof *kv->strs);
    if (!kv->strs) return mpct_error_set(MPCT_ERR_NOMEM, "%s: %s: out of memory", c->f->label, what);
    for (uint64_t k = 0; k < n; k++) MPCT_CALL(take_str(c, &kv->strs[k], what));
    return MPCT_OK;
}

static mpct_status read_kvs(struct cur *c, mpct_gguf_file *f)
{
    for (size_t k = 0; k < f->nkv; k++) {
        char what[96];
        snprintf(what, sizeof what, "metadata entry %zu", k);
        mpct_gguf_str key;
        MPCT_CALL(take_str(c, &key, what));
        if (key.n == 0 || key.n > GGUF_MAX_KEY || memchr(key.s, 0, (size_t)key.n))
            return mpct_error_set(MPCT_ERR_FORMAT, "%s: %s: key of %llu bytes is empty, too long or holds a NUL",
                                  f->label, what, (unsigned long long)key.n);
        mpct_gguf_kv *kv = &f->kv[k];
        if (!(kv->key = dup_str(key))) return mpct_error_set(MPCT_ERR_NOMEM, "%s: out of memory", f->label);
        snprintf(what, sizeof what, "metadata %.80s", kv->key);
        uint64_t t;
        MPCT_CALL(take(c, 4, &t, what));
        if (t >= MPCT_GGUF_VTYPE_COUNT)
            return mpct_error_set(MPCT_ERR_FORMAT, "%s: %s: value type %llu is not a GGUF value type", f->label,
                                  what, (unsigned long long)t);
        kv->type = (mpct_gguf_vtype)t;
        if (t == MPCT_GGUF_STRING)
            MPCT_CALL(take_str(c, &kv->str, what));
        else if (t == MPCT_GGUF_ARRAY)
            MPCT_CALL(read_array(c, kv, what));
        else
            MPCT_CALL(read_scalar(c, kv, kv->type, what));
    }
    return MPCT_OK;
}

/* ------------------------------------------------------------------ tensors */

static mpct_status read_tensor_info(struct cur *c, mpct_gguf_file *f, size_t k)
{
    char what[112];
    snprintf(what, sizeof what, "tensor info %zu", k);
    mpct_gguf_str name;
    MPCT_CALL(take_str(c, &name, what));
    if (name.n == 0 || name.n >= GGUF_MAX_NAME || memchr(name.s, 0, (size_t)name.n))
        return mpct_error_set(MPCT_ERR_FORMAT, "%s: %s: name of %llu bytes is empty, holds a NUL or is longer "
                              "than %d bytes", f->label, what, (unsigned long long)name.n, GGUF_MAX_NAME - 1);
    mpct_gguf_tensor *t = &f->t[k];
    if (!(t->name = dup_str(name))) return mpct_error_set(MPCT_ERR_NOMEM, "%s: out of memory", f->label);
    snprintf(what, sizeof what, "tensor %s", t->name);
    uint64_t v;
    MPCT_CALL(take(c, 4, &v, what));
    if (v < 1 || v > 4)
        return mpct_error_set(MPCT_ERR_FORMAT, "%s: %s: %llu dimensions (1 to 4 expected)", f->label, what,
                              (unsigned long long)v);
    t->ndim = (uint32_t)v;
    t->numel = 1;
    for (uint32_t d = 0; d < t->ndim; d++) {
        MPCT_CALL(take(c, 8, &t->dims[d], what));
        if (t->dims[d] == 0 || t->dims[d] > (uint64_t)INT64_MAX / t->numel)
            return mpct_error_set(MPCT_ERR_FORMAT, "%s: %s: dimension %u = %llu is zero or overflows the element "
                                  "count", f->label, what, d, (unsigned long long)t->dims[d]);
        t->numel *= t->dims[d];
    }
    for (uint32_t d = t->ndim; d < 4; d++) t->dims[d] = 1;
    MPCT_CALL(take(c, 4, &v, what));
    t->type = (uint32_t)v;
    const uint32_t be = mpct_gguf_block_elems(t->type), bb = mpct_gguf_block_bytes(t->type);
    if (!be)
        return mpct_error_set(MPCT_ERR_FORMAT, "%s: %s: ggml type %llu is not a known tensor type", f->label, what,
                              (unsigned long long)v);
    if (t->dims[0] % be)
        return mpct_error_set(MPCT_ERR_FORMAT, "%s: %s: first dimension %llu is not a multiple of %s's block of "
                              "%u", f->label, what, (unsigned long long)t->dims[0], mpct_gguf_type_name(t->type), be);
    t->nbytes = t->numel / be * bb; /* checked on the next line before use */
    if (t->numel / be > UINT64_MAX / bb)
        return mpct_error_set(MPCT_ERR_FORMAT, "%s: %s: byte size overflows", f->label, what);
    MPCT_CALL(take(c, 8, &t->offset, what));
    return MPCT_OK;
}

static int cmp_strp(const void *a, const void *b) { return strcmp(*(const char *const *)a, *(const char *const *)b); }

/* MPCT_ERR_FORMAT when one of n names (at stride bytes from base, a char * each) appears twice: sorted
 * pointers, so a crafted file of millions of names costs n log n, not n^2. */
static mpct_status no_duplicates(const mpct_gguf_file *f, const void *base, size_t n, size_t stride,
                                 const char *what)
{
    if (n < 2)
        return MPCT_OK;
    const char **p = malloc(n * sizeof *p);
    if (!p)
        return mpct_error_set(MPCT_ERR_NOMEM, "%s: out of memory", f->label);
    for (size_t i = 0; i < n; i++)
        p[i] = *(const char *const *)((const char *)base + i * stride);
    qsort(p, n, sizeof *p, cmp_strp);
    mpct_status st = MPCT_OK;
    for (size_t i = 1; i < n && st == MPCT_OK; i++)
        if (strcmp(p[i - 1], p[i]) == 0)
            st = mpct_error_set(MPCT_ERR_FORMAT, "%s: %s %s appears twice", f->label, what, p[i]);
    free(p);
    return st;
}

static int cmp_off(const void *a, const void *b)
{
    const mpct_gguf_tensor *x = *(const mpct_gguf_tensor *const *)a, *y = *(const mpct_gguf_tensor *const *)b;
    return x->offset < y->offset ? -1 : x->offset > y->offset;
}

/* Offsets aligned, inside the data section, no overlap. */
static mpct_status check_layout(mpct_gguf_file *f)
{
    const uint64_t data_len = f->len - f->data_off;
    for (size_t k = 0; k < f->nt; k++) {
        const mpct_gguf_tensor *t = &f->t[k];
        if (t->offset % f->alignment)
            return mpct_error_set(MPCT_ERR_FORMAT, "%s: tensor %s: offset %llu is not a multiple of the alignment "
                                  "%llu", f->label, t->name, (unsigned long long)t->offset,
                                  (unsigned long long)f->alignment);
        if (t->offset > data_len || t->nbytes > data_len - t->offset)
            return mpct_error_set(MPCT_ERR_FORMAT, "%s: tensor %s: bytes %llu..%llu of the data section lie past "
                                  "its end (%llu bytes)", f->label, t->name, (unsigned long long)t->offset,
                                  (unsigned long long)(t->offset + t->nbytes), (unsigned long long)data_len);
    }
    const mpct_gguf_tensor **by = malloc((f->nt ? f->nt : 1) * sizeof *by);
    if (!by) return mpct_error_set(MPCT_ERR_NOMEM, "%s: out of memory", f->label);
    for (size_t k = 0; k < f->nt; k++) by[k] = &f->t[k];
    qsort(by, f->nt, sizeof *by, cmp_off);
    mpct_status st = MPCT_OK;
    for (size_t k = 1; k < f->nt && st == MPCT_OK; k++)
        if (by[k - 1]->offset + by[k - 1]->nbytes > by[k]->offset)
            st = mpct_error_set(MPCT_ERR_FORMAT, "%s: tensors %s and %s overlap in the data section", f->label,
                                by[k - 1]->name, by[k]->name);
    free(by);
    return st;
}

static mpct_status parse(mpct_gguf_file *f)
{
    struct cur c = {f, 0};
    uint64_t magic, ver, nt, nkv;
    MPCT_CALL(take(&c, 4, &magic, "header"));
    if (magic != 0x46554747u) /* "GGUF" */
        return mpct_error_set(MPCT_ERR_FORMAT, "%s: not a GGUF file (the first 4 bytes are not \"GGUF\")", f->label);
    MPCT_CALL(take(&c, 4, &ver, "header"));
    if (ver != 2 && ver != 3)
        return mpct_error_set(MPCT_ERR_FORMAT, "%s: GGUF version %llu is not supported (2 and 3 are)", f->label,
                              (unsigned long long)ver);
    f->version = (uint32_t)ver;
    MPCT_CALL(take(&c, 8, &nt, "header tensor_count"));
    MPCT_CALL(take(&c, 8, &nkv, "header metadata_kv_count"));
    /* smallest encodings: a key/value 8+1+4+1 bytes, a tensor info 8+1+4+8+4+8 */
    if (nkv > (f->len - c.pos) / 14 || nt > (f->len - c.pos) / 33)
        return mpct_error_set(MPCT_ERR_FORMAT, "%s: header: %llu metadata entries and %llu tensors cannot fit "
                              "in %zu bytes", f->label, (unsigned long long)nkv, (unsigned long long)nt, f->len);
    f->nkv = (size_t)nkv;
    f->nt = (size_t)nt;
    f->kv = calloc(f->nkv ? f->nkv : 1, sizeof *f->kv);
    f->t = calloc(f->nt ? f->nt : 1, sizeof *f->t);
    if (!f->kv || !f->t) return mpct_error_set(MPCT_ERR_NOMEM, "%s: out of memory", f->label);
    MPCT_CALL(read_kvs(&c, f));
    MPCT_CALL(no_duplicates(f, &f->kv[0].key, f->nkv, sizeof f->kv[0], "metadata key"));
    f->alignment = 32;
    const mpct_gguf_kv *al = mpct_gguf_find_kv(f, "general.alignment");
    if (al) {
        if (al->type != MPCT_GGUF_U32)
            return mpct_error_set(MPCT_ERR_FORMAT, "%s: general.alignment is %s, not uint32", f->label,
                                  vtype_names[al->type]);
        if (al->u == 0 || (al->u & (al->u - 1)))
            return mpct_error_set(MPCT_ERR_FORMAT, "%s: general.alignment = %llu is not a power of two", f->label,
                                  (unsigned long long)al->u);
        f->alignment = al->u;
    }
    for (size_t k = 0; k < f->nt; k++) MPCT_CALL(read_tensor_info(&c, f, k));
    MPCT_CALL(no_duplicates(f, &f->t[0].name, f->nt, sizeof f->t[0], "tensor name"));
    const uint64_t pad = (f->alignment - c.pos % f->alignment) % f->alignment;
    if (f->nt && pad > f->len - c.pos)
        return mpct_error_set(MPCT_ERR_FORMAT, "%s: the data section (at offset %llu) starts past the end of the "
                              "file (%zu bytes)", f->label, (unsigned long long)(c.pos + pad), f->len);
    f->data_off = c.pos + (pad <= f->len - c.pos ? pad : f->len - c.pos);
    return check_layout(f);
}

/* ------------------------------------------------------------------ open/close */

static mpct_status open_common(mpct_gguf_file *f, mpct_gguf_file **out)
{
    mpct_status st = parse(f);
    if (st != MPCT_OK) {
        mpct_gguf_close(f);
        return st;
    }
    *out = f;
    return MPCT_OK;
}

mpct_status mpct_gguf_open_mem(const void *buf, size_t len, const char *label, mpct_gguf_file **out)
{
    *out = NULL;
    mpct_gguf_file *f = calloc(1, sizeof *f);
    if (!f || !(f->label = malloc(strlen(label) + 1))) {
        free(f);
        return mpct_error_set(MPCT_ERR_NOMEM, "%s: out of memory", label);
    }
    strcpy(f->label, label);
    f->base = buf;
    f->len = len;
    return open_common(f, out);
}

mpct_status mpct_gguf_open(const char *path, mpct_gguf_file **out)
{
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return mpct_error_set(MPCT_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        return mpct_error_set(MPCT_ERR_IO, "%s: not a regular file", path);
    }
    const size_t len = (size_t)sb.st_size;
    void *m = len ? mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0) : NULL;
    const int e = errno;
    close(fd);
    if (len && m == MAP_FAILED) return mpct_error_set(MPCT_ERR_IO, "%s: cannot map: %s", path, strerror(e));
    mpct_gguf_file *f = NULL;
    mpct_status st = mpct_gguf_open_mem(len ? m : "", len, path, &f);
    if (st != MPCT_OK) {
        if (len) munmap(m, len);
        return st;
    }
    f->mapped = len > 0;
    *out = f;
    return MPCT_OK;
}

void mpct_gguf_close(mpct_gguf_file *f)
{
    if (!f) return;
    for (size_t k = 0; f->kv && k < f->nkv; k++) {
        free(f->kv[k].key);
        free(f->kv[k].strs);
    }
    for (size_t k = 0; f->t && k < f->nt; k++) free(f->t[k].name);
    free(f->kv);
    free(f->t);
    if (f->mapped) munmap((void *)f->base, f->len);
    free(f->label);
    free(f);
}

/* ------------------------------------------------------------------ access */

const char *mpct_gguf_label(const mpct_gguf_file *f) { return f->label; }
uint32_t mpct_gguf_version(const mpct_gguf_file *f) { return f->version; }
uint64_t mpct_gguf_alignment(const mpct_gguf_file *f) { return f->alignment; }
uint64_t mpct_gguf_data_offset(const mpct_gguf_file *f) { return f->data_off; }
uint64_t mpct_gguf_file_bytes(const mpct_gguf_file *f) { return f->len; }
size_t mpct_gguf_kv_count(const mpct_gguf_file *f) { return f->nkv; }
const mpct_gguf_kv *mpct_gguf_kv_at(const mpct_gguf_file *f, size_t i) { return i < f->nkv ? &f->kv[i] : NULL; }
size_t mpct_gguf_tensor_count(const mpct_gguf_file *f) { return f->nt; }
const mpct_gguf_tensor *mpct_gguf_tensor_at(const mpct_gguf_file *f, size_t i) { return i < f->nt ? &f->t[i] : NULL; }
const uint8_t *mpct_gguf_tensor_data(const mpct_gguf_file *f, const mpct_gguf_tensor *t)
{
    return f->base + f->data_off + t->offset;
}

const mpct_gguf_kv *mpct_gguf_find_kv(const mpct_gguf_file *f, const char *key)
{
    for (size_t k = 0; k < f->nkv; k++)
        if (f->kv[k].key && strcmp(f->kv[k].key, key) == 0) return &f->kv[k];
    return NULL;
}

const mpct_gguf_tensor *mpct_gguf_find_tensor(const mpct_gguf_file *f, const char *name)
{
    for (size_t k = 0; k < f->nt; k++)
        if (f->t[k].name && strcmp(f->t[k].name, name) == 0) return &f->t[k];
    return NULL;
}

static mpct_status missing(const mpct_gguf_file *f, const char *key, const char *type)
{
    return mpct_error_set(MPCT_ERR_FORMAT, "%s: metadata %s (%s) is missing", f->label, key, type);
}

static mpct_status wrong(const mpct_gguf_file *f, const mpct_gguf_kv *kv, const char *type)
{
    return mpct_error_set(MPCT_ERR_FORMAT, "%s: metadata %s is %s, not %s", f->label, kv->key,
                          mpct_gguf_vtype_name(kv->type), type);
}

mpct_status mpct_gguf_get_u64(const mpct_gguf_file *f, const char *key, int required, uint64_t dflt, uint64_t *v)
{
    const mpct_gguf_kv *kv = mpct_gguf_find_kv(f, key);
    *v = dflt;
    if (!kv) return required ? missing(f, key, "an integer") : MPCT_OK;
    switch (kv->type) {
    case MPCT_GGUF_U8: case MPCT_GGUF_U16: case MPCT_GGUF_U32: case MPCT_GGUF_U64:
        *v = kv->u;
        return MPCT_OK;
    case MPCT_GGUF_I8: case MPCT_GGUF_I16: case MPCT_GGUF_I32: case MPCT_GGUF_I64:
        if (kv->i < 0)
            return mpct_error_set(MPCT_ERR_FORMAT, "%s: metadata %s = %lld is negative", f->label, key,
                                  (long long)kv->i);
        *v = (uint64_t)kv->i;
        return MPCT_OK;
    default:
        return wrong(f, kv, "an integer");
    }
}

mpct_status mpct_gguf_get_f64(const mpct_gguf_file *f, const char *key, int required, double dflt, double *v)
{
    const mpct_gguf_kv *kv = mpct_gguf_find_kv(f, key);
    *v = dflt;
    if (!kv) return required ? missing(f, key, "a float") : MPCT_OK;
    if (kv->type != MPCT_GGUF_F32 && kv->type != MPCT_GGUF_F64) return wrong(f, kv, "float32 or float64");
    *v = kv->f;
    return MPCT_OK;
}

mpct_status mpct_gguf_get_bool(const mpct_gguf_file *f, const char *key, int required, int dflt, int *v)
{
    const mpct_gguf_kv *kv = mpct_gguf_find_kv(f, key);
    *v = dflt;
    if (!kv) return required ? missing(f, key, "a bool") : MPCT_OK;
    if (kv->type != MPCT_GGUF_BOOL) return wrong(f, kv, "bool");
    *v = (int)kv->u;
    return MPCT_OK;
}

mpct_status mpct_gguf_get_str(const mpct_gguf_file *f, const char *key, int required, char **v)
{
    const mpct_gguf_kv *kv = mpct_gguf_find_kv(f, key);
    *v = NULL;
    if (!kv) return required ? missing(f, key, "a string") : MPCT_OK;
    if (kv->type != MPCT_GGUF_STRING) return wrong(f, kv, "string");
    if (memchr(kv->str.s, 0, (size_t)kv->str.n))
        return mpct_error_set(MPCT_ERR_FORMAT, "%s: metadata %s holds a NUL byte", f->label, key);
    if (!(*v = dup_str(kv->str))) return mpct_error_set(MPCT_ERR_NOMEM, "%s: out of memory", f->label);
    return MPCT_OK;
}

mpct_status mpct_gguf_get_arr(const mpct_gguf_file *f, const char *key, mpct_gguf_vtype elem, uint64_t want_n,
                              const mpct_gguf_kv **kv)
{
    *kv = mpct_gguf_find_kv(f, key);
    if (!*kv) return missing(f, key, "an array");
    if ((*kv)->type != MPCT_GGUF_ARRAY || (*kv)->arr_type != elem)
        return mpct_error_set(MPCT_ERR_FORMAT, "%s: metadata %s is %s%s%s, not an array of %s", f->label, key,
                              mpct_gguf_vtype_name((*kv)->type), (*kv)->type == MPCT_GGUF_ARRAY ? " of " : "",
                              (*kv)->type == MPCT_GGUF_ARRAY ? mpct_gguf_vtype_name((*kv)->arr_type) : "",
                              mpct_gguf_vtype_name(elem));
    if (want_n && (*kv)->n != want_n)
        return mpct_error_set(MPCT_ERR_FORMAT, "%s: metadata %s has %llu elements, %llu expected", f->label, key,
                              (unsigned long long)(*kv)->n, (unsigned long long)want_n);
    return MPCT_OK;
}
