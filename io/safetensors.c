/*
 * safetensors.c — a validating reader of the safetensors format.
 *
 * Layout: 8-byte little-endian header length N, N bytes of JSON (an object
 * mapping tensor names to {"dtype", "shape", "data_offsets": [begin, end]},
 * plus an optional "__metadata__" object of strings), then the data section;
 * offsets are relative to the start of the data section.
 *
 * Invariants checked on open (each failure names the file and the tensor):
 *  - N <= file size - 8 and N <= MPCT_ST_MAX_HEADER; the header is a JSON
 *    object;
 *  - every dtype is known; every shape is a list of non-negative integers;
 *  - end - begin == numel * dtype size (no overflow), end <= data size;
 *  - no two tensors overlap; names are unique.
 * The file is mmap'ed read-only; tensors are converted one at a time, never
 * copied whole.
 *
 * A sharded checkpoint (model.safetensors.index.json naming
 * model-0000x-of-0000y.safetensors files) opens as one handle over every
 * shard (mpct_st_open_index): each shard is validated as above, and the
 * index and the shards must agree exactly: every weight_map entry names a
 * file of the same directory that holds that tensor, and every tensor of
 * every shard is in weight_map, mapped to that shard.
 *
 * Uses cJSON and mpct_core.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mpct_io.h"

struct mpct_st_file {
    char *label;
    const uint8_t *base; /* whole file */
    size_t len;
    int mapped;
    const uint8_t *data; /* data section */
    size_t data_len;
    size_t count;
    mpct_st_tensor *tensors;
    char **names;
    size_t nmeta;
    char **meta_keys;
    char **meta_vals;
    /* a sharded checkpoint (mpct_st_open_index): the shards, and per tensor
     * the data section of the shard that holds it; NULL for one file */
    mpct_st_file **parts;
    size_t nparts;
    const uint8_t **tdata;
};

static const struct {
    const char *name;
    size_t size;
} st_dtypes[MPCT_ST_DTYPE_COUNT] = {
    [MPCT_ST_F64] = {"F64", 8}, [MPCT_ST_F32] = {"F32", 4},
    [MPCT_ST_F16] = {"F16", 2}, [MPCT_ST_BF16] = {"BF16", 2},
    [MPCT_ST_I64] = {"I64", 8}, [MPCT_ST_I32] = {"I32", 4},
    [MPCT_ST_I16] = {"I16", 2}, [MPCT_ST_I8] = {"I8", 1},
    [MPCT_ST_U8] = {"U8", 1},   [MPCT_ST_BOOL] = {"BOOL", 1},
};

const char *mpct_st_dtype_name(mpct_st_dtype d)
{
    return (d >= 0 && d < MPCT_ST_DTYPE_COUNT) ? st_dtypes[d].name : "?";
}

size_t mpct_st_dtype_size(mpct_st_dtype d)
{
    return (d >= 0 && d < MPCT_ST_DTYPE_COUNT) ? st_dtypes[d].size : 0;
}

static char *st_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p) memcpy(p, s, n);
    return p;
}

void mpct_st_close(mpct_st_file *f)
{
    if (!f) return;
    if (f->mapped && f->base) munmap((void *)f->base, f->len);
    for (size_t i = 0; f->names && i < f->count; i++) free(f->names[i]);
    for (size_t i = 0; i < f->nmeta; i++) {
        free(f->meta_keys[i]);
        free(f->meta_vals[i]);
    }
    free(f->names);
    free(f->tensors);
    free(f->meta_keys);
    free(f->meta_vals);
    free(f->label);
    for (size_t i = 0; i < f->nparts; i++) mpct_st_close(f->parts[i]);
    free(f->parts);
    free(f->tdata);
    free(f);
}

static int st_cmp_begin(const void *a, const void *b)
{
    const mpct_st_tensor *x = *(const mpct_st_tensor *const *)a;
    const mpct_st_tensor *y = *(const mpct_st_tensor *const *)b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    return x->end < y->end ? -1 : (x->end > y->end);
}

/* A JSON number that is a non-negative integer below 2^53. */
static int st_json_uint(const cJSON *j, uint64_t *v)
{
    if (!cJSON_IsNumber(j)) return 0;
    double d = j->valuedouble;
    if (!(d >= 0.0) || d > 9007199254740992.0 || d != (double)(uint64_t)d) return 0;
    *v = (uint64_t)d;
    return 1;
}

static mpct_status st_parse_tensor(mpct_st_file *f, const cJSON *e, mpct_st_tensor *t)
{
    const char *L = f->label, *name = e->string;
    if (!cJSON_IsObject(e))
        return mpct_error_set(MPCT_ERR_FORMAT, "%s: tensor '%s': header entry is not a JSON object", L, name);
    const cJSON *dt = cJSON_GetObjectItemCaseSensitive(e, "dtype");
    const cJSON *sh = cJSON_GetObjectItemCaseSensitive(e, "shape");
    const cJSON *off = cJSON_GetObjectItemCaseSensitive(e, "data_offsets");
    if (!cJSON_IsString(dt))
        return mpct_error_set(MPCT_ERR_FORMAT, "%s: tensor '%s': missing string field \"dtype\"", L, name);
    int d = -1;
    for (int i = 0; i < MPCT_ST_DTYPE_COUNT; i++)
        if (strcmp(dt->valuestring, st_dtypes[i].name) == 0) d = i;
    if (d < 0)
        return mpct_error_set(MPCT_ERR_UNSUPPORTED,
                              "%s: tensor '%s': unknown dtype \"%.32s\" (expected one of F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL)",
                              L, name, dt->valuestring);
    t->dtype = (mpct_st_dtype)d;
    if (!cJSON_IsArray(sh))
        return mpct_error_set(MPCT_ERR_FORMAT, "%s: tensor '%s': missing array field \"shape\"", L, name);
    int nd = cJSON_GetArraySize(sh);
    if (nd > MPCT_ST_MAX_DIMS)
        return mpct_error_set(MPCT_ERR_FORMAT, "%s: tensor '%s': %d dimensions, at most %d supported", L, name, nd,
                              MPCT_ST_MAX_DIMS);
    t->ndim = nd;
    uint64_t numel = 1;
    int overflow = 0;
    for (int i = 0; i < nd; i++) {
        uint64_t v;
        if (!st_json_uint(cJSON_GetArrayItem(sh, i), &v))
            return mpct_error_set(MPCT_ERR_FORMAT, "%s: tensor '%s': shape[%d] is not a non-negative integer", L, name, i);
        t->shape[i] = v;
        if (v != 0 && numel > UINT64_MAX / v) overflow = 1;
        else numel *= v;
    }
    if (overflow)
        return mpct_error_set(MPCT_ERR_FORMAT, "%s: tensor '%s': shape product overflows", L, name);
    t->numel = numel;
    uint64_t b, en;
    if (!cJSON_IsArray(off) || cJSON_GetArraySize(off) != 2 || !st_json_uint(cJSON_GetArrayItem(off, 0), &b) ||
        !st_json_uint(cJSON_GetArrayItem(off, 1), &en))
        return mpct_error_set(MPCT_ERR_FORMAT, "%s: tensor '%s': \"data_offsets\" must be [begin, end] of non-negative integers", L, name);
    if (b > en)
        return mpct_error_set(MPCT_ERR_FORMAT, "%s: tensor '%s': data_offsets begin %llu > end %llu", L, name,
                              (unsigned long long)b, (unsigned long long)en);
    if (en > f->data_len)
        return mpct_error_set(MPCT_ERR_FORMAT,
                              "%s: tensor '%s': data_offsets [%llu, %llu] out of range (data section has %zu bytes; file truncated?)",
                              L, name, (unsigned long long)b, (unsigned long long)en, f->data_len);
    uint64_t esz = st_dtypes[d].size;
    if (numel > UINT64_MAX / esz || numel * esz != en - b)
        return mpct_error_set(MPCT_ERR_FORMAT,
                              "%s: tensor '%s': %llu bytes in data_offsets but shape x dtype %s needs %llu elements x %llu bytes",
                              L, name, (unsigned long long)(en - b), st_dtypes[d].name, (unsigned long long)numel,
                              (unsigned long long)esz);
    t->begin = b;
    t->end = en;
    return MPCT_OK;
}

static mpct_status st_parse(mpct_st_file *f)
{
    const char *L = f->label;
    if (f->len < 8)
        return mpct_error_set(MPCT_ERR_FORMAT, "%s: %zu bytes, too short for a safetensors file (8-byte header length missing)", L, f->len);
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--) n = (n << 8) | f->base[i];
    if (n > f->len - 8)
        return mpct_error_set(MPCT_ERR_FORMAT,
                              "%s: header length %llu exceeds the %zu bytes that follow it (truncated file or corrupt header length)",
                              L, (unsigned long long)n, f->len - 8);
    if (n > MPCT_ST_MAX_HEADER)
        return mpct_error_set(MPCT_ERR_FORMAT, "%s: header length %llu exceeds the %u-byte limit", L, (unsigned long long)n,
                              MPCT_ST_MAX_HEADER);
    if (n < 2 || f->base[8] != '{')
        return mpct_error_set(MPCT_ERR_FORMAT, "%s: header does not start with a JSON object '{'", L);
    f->data = f->base + 8 + n;
    f->data_len = f->len - 8 - (size_t)n;
    const char *endp = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts((const char *)f->base + 8, (size_t)n, &endp, 0);
    if (!root || !cJSON_IsObject(root)) {
        size_t at = endp ? (size_t)(endp - (const char *)f->base - 8) : 0;
        cJSON_Delete(root);
        return mpct_error_set(MPCT_ERR_FORMAT, "%s: header is not valid JSON (near byte %zu of %llu)", L, at,
                              (unsigned long long)n);
    }
    /* Only trailing spaces may follow the JSON object (padding). */
    for (const char *p = endp; p && p < (const char *)f->base + 8 + n; p++) {
        if (*p != ' ' && *p != '\0' && *p != '\n' && *p != '\t' && *p != '\r') {
            cJSON_Delete(root);
            return mpct_error_set(MPCT_ERR_FORMAT, "%s: trailing bytes after the JSON header", L);
        }
    }
    mpct_status st = MPCT_OK;
    size_t cnt = 0, nmeta = 0;
    int seen_meta = 0;
    for (const cJSON *e = root->child; e; e = e->next) {
        if (e->string && strcmp(e->string, "__metadata__") == 0) {
            if (!cJSON_IsObject(e)) {
                st = mpct_error_set(MPCT_ERR_FORMAT, "%s: \"__metadata__\" is not an object", L);
                goto done;
            }
            if (seen_meta++) { /* found by libFuzzer: a second one overflowed the table */
                st = mpct_error_set(MPCT_ERR_FORMAT, "%s: \"__metadata__\" appears twice in the header", L);
                goto done;
            }
            nmeta = (size_t)cJSON_GetArraySize(e);
        } else {
            cnt++;
        }
    }
    f->tensors = calloc(cnt ? cnt : 1, sizeof *f->tensors);
    f->names = calloc(cnt ? cnt : 1, sizeof *f->names);
    f->meta_keys = calloc(nmeta ? nmeta : 1, sizeof(char *));
    f->meta_vals = calloc(nmeta ? nmeta : 1, sizeof(char *));
    if (!f->tensors || !f->names || !f->meta_keys || !f->meta_vals) {
        st = mpct_error_set(MPCT_ERR_NOMEM, "%s: out of memory for %zu header entries", L, cnt);
        goto done;
    }
    for (const cJSON *e = root->child; e; e = e->next) {
        if (!e->string) continue;
        if (strcmp(e->string, "__metadata__") == 0) {
            for (const cJSON *m = e->child; m; m = m->next) {
                if (!cJSON_IsString(m) || !m->string) {
                    st = mpct_error_set(MPCT_ERR_FORMAT, "%s: __metadata__ entry '%s' is not a string", L,
                                        m->string ? m->string : "?");
                    goto done;
                }
                f->meta_keys[f->nmeta] = st_strdup(m->string);
                f->meta_vals[f->nmeta] = st_strdup(m->valuestring);
                f->nmeta++;
                if (!f->meta_keys[f->nmeta - 1] || !f->meta_vals[f->nmeta - 1]) {
                    st = mpct_error_set(MPCT_ERR_NOMEM, "%s: out of memory", L);
                    goto done;
                }
            }
            continue;
        }
        for (size_t i = 0; i < f->count; i++) {
            if (strcmp(f->names[i], e->string) == 0) {
                st = mpct_error_set(MPCT_ERR_FORMAT, "%s: tensor '%s' appears twice in the header", L, e->string);
                goto done;
            }
        }
        mpct_st_tensor *t = &f->tensors[f->count];
        st = st_parse_tensor(f, e, t);
        if (st != MPCT_OK) goto done;
        f->names[f->count] = st_strdup(e->string);
        if (!f->names[f->count]) {
            st = mpct_error_set(MPCT_ERR_NOMEM, "%s: out of memory", L);
            goto done;
        }
        t->name = f->names[f->count];
        f->count++;
    }
    /* Overlap check on tensors sorted by begin offset (empty tensors skip). */
    if (f->count > 1) {
        const mpct_st_tensor **order = malloc(f->count * sizeof *order);
        if (!order) {
            st = mpct_error_set(MPCT_ERR_NOMEM, "%s: out of memory", L);
            goto done;
        }
        for (size_t i = 0; i < f->count; i++) order[i] = &f->tensors[i];
        qsort(order, f->count, sizeof *order, st_cmp_begin);
        const mpct_st_tensor *prev = NULL;
        for (size_t i = 0; i < f->count; i++) {
            const mpct_st_tensor *t = order[i];
            if (t->begin == t->end) continue;
            if (prev && t->begin < prev->end) {
                st = mpct_error_set(MPCT_ERR_FORMAT,
                                    "%s: tensors '%s' [%llu, %llu) and '%s' [%llu, %llu) overlap in the data section", L,
                                    prev->name, (unsigned long long)prev->begin, (unsigned long long)prev->end, t->name,
                                    (unsigned long long)t->begin, (unsigned long long)t->end);
                break;
            }
            prev = t;
        }
        free(order);
    }
done:
    cJSON_Delete(root);
    return st;
}

mpct_status mpct_st_open_mem(const void *buf, size_t len, const char *label, mpct_st_file **out)
{
    *out = NULL;
    mpct_st_file *f = calloc(1, sizeof *f);
    if (!f) return mpct_error_set(MPCT_ERR_NOMEM, "out of memory");
    f->label = st_strdup(label ? label : "(memory)");
    f->base = buf;
    f->len = len;
    if (!f->label) {
        mpct_st_close(f);
        return mpct_error_set(MPCT_ERR_NOMEM, "out of memory");
    }
    mpct_status st = st_parse(f);
    if (st != MPCT_OK) {
        mpct_st_close(f);
        mpct_error_trace(__FILE__, __LINE__, __func__);
        return st;
    }
    *out = f;
    return MPCT_OK;
}

mpct_status mpct_st_open(const char *path, mpct_st_file **out)
{
    *out = NULL;
    int fd = open(path, O_RDONLY);
    if (fd < 0) return mpct_error_set(MPCT_ERR_IO, "%s: cannot open safetensors file: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        return mpct_error_set(MPCT_ERR_IO, "%s: not a regular file", path);
    }
    size_t len = (size_t)sb.st_size;
    const uint8_t *base = NULL;
    static const uint8_t empty[1] = {0};
    if (len > 0) {
        void *m = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
        if (m == MAP_FAILED) {
            int e = errno;
            close(fd);
            return mpct_error_set(MPCT_ERR_IO, "%s: mmap of %zu bytes failed: %s", path, len, strerror(e));
        }
        base = m;
    } else {
        base = empty;
    }
    close(fd);
    mpct_st_file *f = NULL;
    mpct_status st = mpct_st_open_mem(base, len, path, &f);
    if (st != MPCT_OK) {
        if (len > 0) munmap((void *)base, len);
        mpct_error_trace(__FILE__, __LINE__, __func__);
        return st;
    }
    f->mapped = len > 0;
    *out = f;
    return MPCT_OK;
}

size_t mpct_st_count(const mpct_st_file *f) { return f->count; }

const mpct_st_tensor *mpct_st_at(const mpct_st_file *f, size_t i)
{
    return i < f->count ? &f->tensors[i] : NULL;
}

const mpct_st_tensor *mpct_st_find(const mpct_st_file *f, const char *name)
{
    for (size_t i = 0; i < f->count; i++)
        if (strcmp(f->tensors[i].name, name) == 0) return &f->tensors[i];
    return NULL;
}

const char *mpct_st_metadata(const mpct_st_file *f, const char *key)
{
    for (size_t i = 0; i < f->nmeta; i++)
        if (strcmp(f->meta_keys[i], key) == 0) return f->meta_vals[i];
    return NULL;
}

static void st_shape_str(char *buf, size_t sz, int nd, const uint64_t *d)
{
    size_t p = 0;
    p += (size_t)snprintf(buf + p, sz - p, "[");
    for (int i = 0; i < nd && p < sz; i++)
        p += (size_t)snprintf(buf + p, sz - p, "%s%llu", i ? ", " : "", (unsigned long long)d[i]);
    if (p < sz) snprintf(buf + p, sz - p, "]");
}

mpct_status mpct_st_expect(const mpct_st_file *f, const char *name, int ndim, const uint64_t *dims,
                           const mpct_st_tensor **out)
{
    const mpct_st_tensor *t = mpct_st_find(f, name);
    if (out) *out = NULL;
    if (!t) return mpct_error_set(MPCT_ERR_FORMAT, "%s: missing tensor '%s'", f->label, name);
    int ok = t->ndim == ndim;
    for (int i = 0; ok && i < ndim; i++) ok = t->shape[i] == dims[i];
    if (!ok) {
        char want[128], got[128];
        st_shape_str(want, sizeof want, ndim, dims);
        st_shape_str(got, sizeof got, t->ndim, t->shape);
        return mpct_error_set(MPCT_ERR_FORMAT, "%s: tensor '%s' has shape %s, expected %s", f->label, name, got, want);
    }
    if (out) *out = t;
    return MPCT_OK;
}

float mpct_st_f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h >> 15) << 31, ex = (h >> 10) & 0x1f, man = h & 0x3ff, bits;
    if (ex == 0x1f) {
        bits = sign | 0x7f800000u | (man << 13);
    } else if (ex == 0) {
        if (man == 0) {
            bits = sign;
        } else { /* subnormal: normalise */
            int e = -1;
            do {
                man <<= 1;
                e++;
            } while (!(man & 0x400));
            man &= 0x3ff;
            bits = sign | ((uint32_t)(127 - 15 - e) << 23) | (man << 13);
        }
    } else {
        bits = sign | ((ex + 127 - 15) << 23) | (man << 13);
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

float mpct_st_bf16_to_f32(uint16_t h)
{
    uint32_t bits = (uint32_t)h << 16;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

mpct_status mpct_st_read_f64(const mpct_st_file *f, const mpct_st_tensor *t, double *out, size_t n)
{
    if (n != t->numel)
        return mpct_error_set(MPCT_ERR_ARG, "%s: tensor '%s' has %llu elements, caller expected %zu", f->label, t->name,
                              (unsigned long long)t->numel, n);
    const uint8_t *p = (f->tdata ? f->tdata[t - f->tensors] : f->data) + t->begin;
    /* Little-endian decode byte by byte: no alignment assumptions. */
    for (size_t i = 0; i < n; i++) {
        const uint8_t *q = p + i * st_dtypes[t->dtype].size;
        uint64_t u = 0;
        for (size_t b = st_dtypes[t->dtype].size; b-- > 0;) u = (u << 8) | q[b];
        double v;
        switch (t->dtype) {
        case MPCT_ST_F64: memcpy(&v, &u, 8); break;
        case MPCT_ST_F32: {
            uint32_t w = (uint32_t)u;
            float x;
            memcpy(&x, &w, 4);
            v = x;
            break;
        }
        case MPCT_ST_F16: v = mpct_st_f16_to_f32((uint16_t)u); break;
        case MPCT_ST_BF16: v = mpct_st_bf16_to_f32((uint16_t)u); break;
        case MPCT_ST_I64: v = (double)(int64_t)u; break;
        case MPCT_ST_I32: v = (double)(int32_t)(uint32_t)u; break;
        case MPCT_ST_I16: v = (double)(int16_t)(uint16_t)u; break;
        case MPCT_ST_I8: v = (double)(int8_t)(uint8_t)u; break;
        case MPCT_ST_U8: v = (double)(uint8_t)u; break;
        case MPCT_ST_BOOL: v = u ? 1.0 : 0.0; break;
        default: return mpct_error_set(MPCT_ERR_UNSUPPORTED, "%s: tensor '%s': bad dtype", f->label, t->name);
        }
        out[i] = v;
    }
    return MPCT_OK;
}

uint64_t mpct_st_file_bytes(const mpct_st_file *f)
{
    uint64_t n = f->nparts ? 0 : f->len;
    for (size_t i = 0; i < f->nparts; i++) n += f->parts[i]->len;
    return n;
}

size_t mpct_st_part_count(const mpct_st_file *f) { return f->nparts ? f->nparts : 1; }

/* Reads the index JSON of at most 64 MiB. */
static mpct_status st_read_index(const char *path, cJSON **out)
{
    *out = NULL;
    FILE *fp = fopen(path, "rb");
    if (!fp) return mpct_error_set(MPCT_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    char *b = malloc((64u << 20) + 1);
    size_t n = b ? fread(b, 1, 64u << 20, fp) : 0;
    const int big = b && n == (64u << 20) && fgetc(fp) != EOF;
    fclose(fp);
    if (!b) return mpct_error_set(MPCT_ERR_NOMEM, "out of memory");
    if (big) {
        free(b);
        return mpct_error_set(MPCT_ERR_FORMAT, "%s: larger than 64 MiB, not a safetensors index", path);
    }
    *out = cJSON_ParseWithLength(b, n);
    free(b);
    if (!*out || !cJSON_IsObject(*out)) {
        cJSON_Delete(*out);
        *out = NULL;
        return mpct_error_set(MPCT_ERR_FORMAT, "%s: not a JSON object", path);
    }
    return MPCT_OK;
}

/* The shard index of file name `file` in names[0..n), or -1. */
static long st_shard_of(char *const *names, size_t n, const char *file)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(names[i], file) == 0) return (long)i;
    return -1;
}

/* Opens every shard named by weight_map (in order of first mention) into
 * f->parts; files[i] receives shard i's file name. */
static mpct_status st_open_shards(mpct_st_file *f, const char *dir, const cJSON *map, char **files)
{
    const char *L = f->label;
    const cJSON *e;
    cJSON_ArrayForEach(e, map)
    {
        if (!cJSON_IsString(e) || !e->valuestring[0])
            return mpct_error_set(MPCT_ERR_FORMAT, "%s: weight_map entry '%s' is not a file name", L, e->string);
        const char *v = e->valuestring;
        if (strchr(v, '/') || strcmp(v, ".") == 0 || strcmp(v, "..") == 0)
            return mpct_error_set(MPCT_ERR_FORMAT,
                                  "%s: weight_map maps tensor '%s' to \"%s\", not a file of the checkpoint's directory",
                                  L, e->string, v);
        if (st_shard_of(files, f->nparts, v) >= 0) continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, v);
        struct stat sb;
        if (stat(path, &sb) != 0)
            return mpct_error_set(MPCT_ERR_IO, "%s: shard %s (weight_map's file for tensor '%s') cannot be opened: %s",
                                  L, path, e->string, strerror(errno));
        files[f->nparts] = st_strdup(v);
        if (!files[f->nparts]) return mpct_error_set(MPCT_ERR_NOMEM, "out of memory");
        MPCT_CALL(mpct_st_open(path, &f->parts[f->nparts]));
        f->nparts++;
    }
    return MPCT_OK;
}

/* Index and shards agree (see the file comment); f->count = their tensors. */
static mpct_status st_check_shards(mpct_st_file *f, const cJSON *map, char *const *files)
{
    const char *L = f->label;
    const cJSON *e;
    size_t count = 0;
    cJSON_ArrayForEach(e, map)
    {
        const long k = st_shard_of(files, f->nparts, e->valuestring);
        if (!mpct_st_find(f->parts[k], e->string))
            return mpct_error_set(MPCT_ERR_FORMAT, "%s: weight_map maps tensor '%s' to %s, which has no such tensor", L,
                                  e->string, e->valuestring);
        count++;
    }
    for (size_t k = 0; k < f->nparts; k++)
        for (size_t i = 0; i < f->parts[k]->count; i++) {
            const char *n = f->parts[k]->tensors[i].name;
            const cJSON *m = cJSON_GetObjectItemCaseSensitive(map, n);
            if (!m)
                return mpct_error_set(MPCT_ERR_FORMAT, "%s: tensor '%s' of shard %s is in no weight_map entry", L, n,
                                      files[k]);
            if (strcmp(m->valuestring, files[k]) != 0)
                return mpct_error_set(MPCT_ERR_FORMAT, "%s: tensor '%s' is in shard %s but weight_map maps it to %s", L,
                                      n, files[k], m->valuestring);
        }
    f->count = count;
    return MPCT_OK;
}

/* One table over the shards' tensors, shard by shard. */
static mpct_status st_join_shards(mpct_st_file *f)
{
    f->tensors = calloc(f->count ? f->count : 1, sizeof *f->tensors);
    f->names = calloc(f->count ? f->count : 1, sizeof *f->names);
    f->tdata = calloc(f->count ? f->count : 1, sizeof *f->tdata);
    if (!f->tensors || !f->names || !f->tdata) return mpct_error_set(MPCT_ERR_NOMEM, "out of memory");
    size_t j = 0;
    for (size_t k = 0; k < f->nparts; k++)
        for (size_t i = 0; i < f->parts[k]->count && j < f->count; i++, j++) {
            f->tensors[j] = f->parts[k]->tensors[i];
            f->names[j] = st_strdup(f->tensors[j].name);
            if (!f->names[j]) return mpct_error_set(MPCT_ERR_NOMEM, "out of memory");
            f->tensors[j].name = f->names[j];
            f->tdata[j] = f->parts[k]->data;
        }
    return MPCT_OK;
}

mpct_status mpct_st_open_index(const char *index_path, mpct_st_file **out)
{
    *out = NULL;
    cJSON *root = NULL;
    MPCT_CALL(st_read_index(index_path, &root));
    const cJSON *map = cJSON_GetObjectItemCaseSensitive(root, "weight_map");
    if (!cJSON_IsObject(map) || !map->child) {
        cJSON_Delete(root);
        return mpct_error_set(MPCT_ERR_FORMAT, "%s: no \"weight_map\" object naming the tensors' shards", index_path);
    }
    size_t entries = (size_t)cJSON_GetArraySize(map);
    mpct_st_file *f = calloc(1, sizeof *f);
    char **files = calloc(entries, sizeof *files);
    char *dir = st_strdup(index_path);
    mpct_status st = MPCT_OK;
    if (!f || !files || !dir || !(f->label = st_strdup(index_path)) ||
        !(f->parts = calloc(entries, sizeof *f->parts))) {
        st = mpct_error_set(MPCT_ERR_NOMEM, "out of memory");
        goto out;
    }
    char *slash = strrchr(dir, '/');
    if (slash) *slash = '\0';
    else strcpy(dir, ".");
    MPCT_CALL_GOTO(st, out, st_open_shards(f, dir, map, files));
    MPCT_CALL_GOTO(st, out, st_check_shards(f, map, files));
    MPCT_CALL_GOTO(st, out, st_join_shards(f));
    *out = f;
    f = NULL;
out:
    for (size_t i = 0; files && i < entries; i++) free(files[i]);
    free(files);
    free(dir);
    mpct_st_close(f);
    cJSON_Delete(root);
    return st;
}
