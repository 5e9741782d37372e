/*
 * model_writer.c — writes mpct HDF5 model files (io/FORMAT.md).
 *
 * Quantization is symmetric per row: scale[r] = max_c |w[r][c]| / qmax,
 * rounded up to the next float32 so that |w / scale| <= qmax and no value
 * clips; q = round-half-even(w / scale). Hence |w - q*scale| <= scale/2 for
 * every element (the bound the tests check). qmax = 2^(bits-1) - 1.
 *
 * With compress, datasets are chunked (about 256 KiB per chunk) and go
 * through the shuffle and deflate (level 6) filters, which every HDF5 build
 * with zlib reads.
 *
 * Uses HDF5 and mpct_core.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "io-impl.h"
#include "mpct_model_desc.h"

struct mpct_model_writer {
    char *path;
    hid_t file;
    mpct_model_config cfg;
    int bits;
    int compress;
    size_t ntensors;
    unsigned char *written;
    int vocab_written;
};

float mpct_io_quantize_row(const double *w, size_t n, int bits, int32_t *q)
{
    double qmax = (double)((1 << (bits - 1)) - 1), m = 0.0;
    for (size_t i = 0; i < n; i++) m = fmax(m, fabs(w[i]));
    if (m == 0.0) {
        for (size_t i = 0; i < n; i++) q[i] = 0;
        return 0.0f;
    }
    float s = (float)(m / qmax);
    while ((double)s * qmax < m) s = nextafterf(s, INFINITY);
    for (size_t i = 0; i < n; i++) {
        double v = nearbyint(w[i] / (double)s);
        if (v > qmax) v = qmax; /* unreachable by construction; kept as a guard */
        if (v < -qmax) v = -qmax;
        q[i] = (int32_t)v;
    }
    return s;
}

static mpct_status mw_mkgroups(hid_t file, const char *path)
{
    char buf[MPCT_IO_NAME_MAX + 8];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; (p = strchr(p, '/')) != NULL; p++) {
        *p = '\0';
        if (H5Lexists(file, buf, H5P_DEFAULT) <= 0) {
            hid_t g = H5Gcreate2(file, buf, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
            if (g < 0) return mpct_error_set(MPCT_ERR_IO, "cannot create HDF5 group '%s'", buf);
            H5Gclose(g);
        }
        *p = '/';
    }
    return MPCT_OK;
}

/* Creates and writes a dataset of ndim dims; returns its id in *d_out when
 * non-NULL (caller closes) else closes it. */
static mpct_status mw_dataset(mpct_model_writer *w, const char *path, hid_t ftype, hid_t mtype, int ndim,
                              const size_t *dim, const void *data, hid_t *d_out)
{
    MPCT_CALL(mw_mkgroups(w->file, path));
    hsize_t hd[2] = {dim[0], ndim > 1 ? dim[1] : 1};
    size_t numel = (size_t)hd[0] * (ndim > 1 ? (size_t)hd[1] : 1);
    hid_t sp = H5Screate_simple(ndim, hd, NULL);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    if (w->compress && numel > 0) {
        size_t esz = H5Tget_size(ftype), row = (ndim > 1 ? (size_t)hd[1] : 1) * esz;
        hsize_t ch[2] = {hd[0], hd[1]};
        size_t rows = (256u << 10) / (row ? row : 1);
        if (ndim == 1) ch[0] = hd[0] < (256u << 10) / esz ? hd[0] : (256u << 10) / esz;
        else ch[0] = rows < 1 ? 1 : rows > hd[0] ? hd[0] : rows;
        H5Pset_chunk(dcpl, ndim, ch);
        H5Pset_shuffle(dcpl);
        H5Pset_deflate(dcpl, 6);
    }
    hid_t d = H5Dcreate2(w->file, path, ftype, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    herr_t e = d >= 0 ? (numel ? H5Dwrite(d, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) : 0) : -1;
    H5Pclose(dcpl);
    H5Sclose(sp);
    if (e < 0) {
        if (d >= 0) H5Dclose(d);
        return mpct_error_set(MPCT_ERR_IO, "%s: cannot write dataset '%s'", w->path, path);
    }
    if (d_out) *d_out = d;
    else H5Dclose(d);
    return MPCT_OK;
}

mpct_status mpct_model_writer_open(const char *path, const mpct_model_config *cfg, int bits, int compress,
                                   mpct_model_writer **out)
{
    *out = NULL;
    io_h5_quiet();
    if (bits != 8 && bits != 16 && bits != 32)
        return mpct_error_set(MPCT_ERR_ARG, "--bits %d: expected 8, 16 or 32", bits);
    MPCT_CALL(mpct_io_config_check(cfg, path));
    if (compress && !H5Zfilter_avail(H5Z_FILTER_DEFLATE))
        return mpct_error_set(MPCT_ERR_UNSUPPORTED, "this HDF5 library has no deflate filter (needed for --compress)");
    mpct_model_writer *w = calloc(1, sizeof *w);
    if (!w) return mpct_error_set(MPCT_ERR_NOMEM, "out of memory");
    w->cfg = *cfg;
    w->bits = bits;
    w->compress = compress;
    w->ntensors = mpct_io_tensor_count(cfg);
    w->written = calloc(w->ntensors, 1);
    w->path = malloc(strlen(path) + 1);
    if (!w->written || !w->path) {
        free(w->written);
        free(w->path);
        free(w);
        return mpct_error_set(MPCT_ERR_NOMEM, "out of memory");
    }
    strcpy(w->path, path);
    w->file = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (w->file < 0) {
        free(w->written);
        free(w->path);
        free(w);
        return mpct_error_set(MPCT_ERR_IO, "%s: cannot create the output file", path);
    }
    mpct_status st = MPCT_OK;
    hid_t r = w->file;
    MPCT_CALL_GOTO(st, fail, io_attr_write_str(r, "magic", MPCT_MODEL_MAGIC));
    MPCT_CALL_GOTO(st, fail, io_attr_write_i64(r, "format_version", MPCT_MODEL_FORMAT_VERSION));
    MPCT_CALL_GOTO(st, fail, io_attr_write_str(r, "architecture", cfg->architecture));
    MPCT_CALL_GOTO(st, fail, io_attr_write_i64(r, "num_layers", cfg->num_layers));
    MPCT_CALL_GOTO(st, fail, io_attr_write_i64(r, "hidden", cfg->hidden));
    MPCT_CALL_GOTO(st, fail, io_attr_write_i64(r, "heads", cfg->heads));
    MPCT_CALL_GOTO(st, fail, io_attr_write_i64(r, "ffn", cfg->ffn));
    MPCT_CALL_GOTO(st, fail, io_attr_write_i64(r, "vocab_size", cfg->vocab_size));
    MPCT_CALL_GOTO(st, fail, io_attr_write_i64(r, "max_positions", cfg->max_positions));
    MPCT_CALL_GOTO(st, fail, io_attr_write_i64(r, "type_vocab_size", cfg->type_vocab_size));
    MPCT_CALL_GOTO(st, fail, io_attr_write_f64(r, "layer_norm_eps", cfg->layer_norm_eps));
    MPCT_CALL_GOTO(st, fail, io_attr_write_str(r, "pooling", cfg->pooling));
    MPCT_CALL_GOTO(st, fail, io_attr_write_i64(r, "normalize", cfg->normalize));
    MPCT_CALL_GOTO(st, fail, io_attr_write_i64(r, "num_labels", cfg->num_labels));
    MPCT_CALL_GOTO(st, fail, io_attr_write_i64(r, "quant_bits", bits));
    if (mpct_md_is_decoder(cfg)) { /* encoders' files carry none of these but head_dim after head pruning */
        MPCT_CALL_GOTO(st, fail, io_attr_write_i64(r, "kv_heads", cfg->kv_heads));
        MPCT_CALL_GOTO(st, fail, io_attr_write_i64(r, "head_dim", cfg->head_dim));
        MPCT_CALL_GOTO(st, fail, io_attr_write_f64(r, "rope_theta", cfg->rope_theta));
        MPCT_CALL_GOTO(st, fail, io_attr_write_i64(r, "tie_word_embeddings", cfg->tie_word_embeddings));
    } else if (cfg->head_dim != 0) { /* an encoder with pruned heads */
        MPCT_CALL_GOTO(st, fail, io_attr_write_i64(r, "head_dim", cfg->head_dim));
    }
    if (cfg->activation[0]) /* substitutions: only when set */
        MPCT_CALL_GOTO(st, fail, io_attr_write_str(r, "activation", cfg->activation));
    if (cfg->attention[0]) MPCT_CALL_GOTO(st, fail, io_attr_write_str(r, "attention", cfg->attention));
    *out = w;
    return MPCT_OK;
fail:
    mpct_model_writer_abort(w);
    return st;
}

mpct_status mpct_model_writer_put(mpct_model_writer *w, const char *name, const double *data, size_t n,
                                  mpct_io_qstats *stats)
{
    size_t idx = w->ntensors;
    mpct_io_tensor_desc d;
    for (size_t i = 0; i < w->ntensors; i++) {
        MPCT_CALL(mpct_io_tensor_at(&w->cfg, i, &d));
        if (strcmp(d.name, name) == 0) {
            idx = i;
            break;
        }
    }
    if (idx == w->ntensors)
        return mpct_error_set(MPCT_ERR_ARG, "%s: no tensor '%s' in the model format", w->path, name);
    if (w->written[idx]) return mpct_error_set(MPCT_ERR_ARG, "%s: tensor '%s' written twice", w->path, name);
    size_t rows = d.dim[0], cols = d.dim[1];
    if (n != rows * cols)
        return mpct_error_set(MPCT_ERR_ARG, "%s: tensor '%s' needs %zu x %zu = %zu values, got %zu", w->path, name, rows,
                              cols, rows * cols, n);
    for (size_t i = 0; i < n; i++)
        if (!isfinite(data[i]))
            return mpct_error_set(MPCT_ERR_RANGE, "%s: tensor '%s' element %zu is not finite", w->path, name, i);
    int bits = d.kind == MPCT_IO_MATRIX ? w->bits : 32;
    mpct_io_qstats qs = {0, 0, 0, 0, bits};
    mpct_status st = MPCT_OK;
    if (bits == 32) {
        float *buf = malloc(n * sizeof *buf + 1);
        if (!buf) return mpct_error_set(MPCT_ERR_NOMEM, "out of memory");
        for (size_t i = 0; i < n; i++) {
            buf[i] = (float)data[i];
            qs.max_abs = fmax(qs.max_abs, fabs(data[i]));
            qs.max_abs_err = fmax(qs.max_abs_err, fabs(data[i] - (double)buf[i]));
        }
        st = mw_dataset(w, name, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, d.ndim, d.dim, buf, NULL);
        mpct_wipe(buf, n * sizeof *buf);
        free(buf);
    } else {
        int32_t *q = malloc(n * sizeof *q + 1), *rowq = malloc(cols * sizeof *rowq + 1);
        float *sc = malloc(rows * sizeof *sc + 1);
        if (!q || !sc || !rowq) st = mpct_error_set(MPCT_ERR_NOMEM, "out of memory");
        for (size_t r = 0; st == MPCT_OK && r < rows; r++) {
            const double *wr = data + r * cols;
            sc[r] = mpct_io_quantize_row(wr, cols, bits, rowq);
            for (size_t c = 0; c < cols; c++) {
                q[r * cols + c] = rowq[c];
                qs.max_abs = fmax(qs.max_abs, fabs(wr[c]));
                qs.max_abs_err = fmax(qs.max_abs_err, fabs(wr[c] - (double)rowq[c] * (double)sc[r]));
            }
            qs.max_bound = fmax(qs.max_bound, 0.5 * (double)sc[r]);
        }
        if (st == MPCT_OK) {
            hid_t ft = bits == 8 ? H5T_STD_I8LE : H5T_STD_I16LE;
            /* HDF5 converts int32 -> int8/int16 on write (values are in range). */
            st = mw_dataset(w, name, ft, H5T_NATIVE_INT32, 2, d.dim, q, NULL);
        }
        if (st == MPCT_OK) {
            char sname[MPCT_IO_NAME_MAX + 8];
            snprintf(sname, sizeof sname, "%s.scale", name);
            st = mw_dataset(w, sname, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 1, d.dim, sc, NULL);
        }
        if (q) mpct_wipe(q, n * sizeof *q);
        if (rowq) mpct_wipe(rowq, cols * sizeof *rowq);
        free(q);
        free(rowq);
        free(sc);
    }
    if (st != MPCT_OK) return st;
    qs.max_rel_err = qs.max_abs > 0 ? qs.max_abs_err / qs.max_abs : 0.0;
    if (stats) *stats = qs;
    w->written[idx] = 1;
    return MPCT_OK;
}

mpct_status mpct_model_writer_put_vocab(mpct_model_writer *w, const uint8_t *bytes, size_t len, int do_lower_case)
{
    if (len == 0) return mpct_error_set(MPCT_ERR_ARG, "%s: empty tokenizer vocabulary", w->path);
    size_t dim[1] = {len};
    hid_t d = -1;
    MPCT_CALL(mw_dataset(w, "/tokenizer/vocab_txt", H5T_STD_U8LE, H5T_NATIVE_UINT8, 1, dim, bytes, &d));
    mpct_status st = io_attr_write_i64(d, "do_lower_case", do_lower_case ? 1 : 0);
    H5Dclose(d);
    if (st == MPCT_OK) w->vocab_written = 1;
    return st;
}

mpct_status mpct_model_writer_put_tokenizer_json(mpct_model_writer *w, const uint8_t *bytes, size_t len)
{
    if (len == 0) return mpct_error_set(MPCT_ERR_ARG, "%s: empty tokenizer.json", w->path);
    size_t dim[1] = {len};
    hid_t d = -1;
    MPCT_CALL(mw_dataset(w, "/tokenizer/tokenizer_json", H5T_STD_U8LE, H5T_NATIVE_UINT8, 1, dim, bytes, &d));
    H5Dclose(d);
    w->vocab_written = 1;
    return MPCT_OK;
}

mpct_status mpct_model_writer_set_labels(mpct_model_writer *w, const char *const *labels, size_t n)
{
    if ((int64_t)n != w->cfg.num_labels)
        return mpct_error_set(MPCT_ERR_ARG, "%s: %zu label names for a head with %lld labels", w->path, n,
                              (long long)w->cfg.num_labels);
    size_t cap = 1;
    for (size_t i = 0; i < n; i++) cap += (labels[i] ? strlen(labels[i]) : 0) + 1;
    if (cap > 64 * (size_t)MPCT_IO_MAX_LABELS)
        return mpct_error_set(MPCT_ERR_RANGE, "%s: label names too long (%zu bytes)", w->path, cap);
    char *s = calloc(cap, 1);
    if (!s) return mpct_error_set(MPCT_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        const char *l = labels[i] ? labels[i] : "";
        if (strchr(l, '\n')) {
            free(s);
            return mpct_error_set(MPCT_ERR_ARG, "%s: label name %zu contains a newline", w->path, i);
        }
        if (i) strcat(s, "\n");
        strcat(s, l);
    }
    mpct_status st = mw_mkgroups(w->file, "/weights/classifier/x");
    hid_t g = st == MPCT_OK ? H5Gopen2(w->file, "/weights/classifier", H5P_DEFAULT) : -1;
    if (g >= 0) {
        st = io_attr_write_str(g, "label_names", s);
        H5Gclose(g);
    } else if (st == MPCT_OK) {
        st = mpct_error_set(MPCT_ERR_IO, "%s: cannot open group /weights/classifier", w->path);
    }
    free(s);
    return st;
}

void mpct_model_writer_abort(mpct_model_writer *w)
{
    if (!w) return;
    if (w->file >= 0) H5Fclose(w->file);
    remove(w->path);
    free(w->written);
    free(w->path);
    free(w);
}

mpct_status mpct_model_writer_close(mpct_model_writer *w, char hash_hex[65])
{
    mpct_status st = MPCT_OK;
    char hex[65];
    for (size_t i = 0; i < w->ntensors; i++) {
        if (!w->written[i]) {
            mpct_io_tensor_desc d;
            st = mpct_io_tensor_at(&w->cfg, i, &d);
            if (st == MPCT_OK)
                st = mpct_error_set(MPCT_ERR_ARG, "%s: tensor '%s' was never written", w->path, d.name);
            goto fail;
        }
    }
    const mpct_model_desc *md = mpct_md_find(w->cfg.architecture);
    if (!w->vocab_written && (!md || md->wordpiece)) {
        st = mpct_error_set(MPCT_ERR_ARG, "%s: no tokenizer (vocabulary or tokenizer.json) was written", w->path);
        goto fail;
    }
    MPCT_CALL_GOTO(st, fail, io_hash_model(w->file, &w->cfg, w->path, hex));
    MPCT_CALL_GOTO(st, fail, io_attr_write_str(w->file, "content_sha256", hex));
    if (H5Fclose(w->file) < 0) {
        w->file = -1;
        st = mpct_error_set(MPCT_ERR_IO, "%s: closing the HDF5 file failed (disk full?)", w->path);
        goto fail;
    }
    w->file = -1;
    if (hash_hex) memcpy(hash_hex, hex, 65);
    free(w->written);
    free(w->path);
    free(w);
    return MPCT_OK;
fail:
    mpct_model_writer_abort(w);
    return st;
}

/* Sums storage over all datasets reachable from the root. */
typedef struct {
    uint64_t stored, raw;
} mw_sizes;

static herr_t mw_visit(hid_t obj, const char *name, const H5O_info_t *info, void *op)
{
    mw_sizes *s = op;
    if (info->type != H5O_TYPE_DATASET) return 0;
    hid_t d = H5Dopen2(obj, name, H5P_DEFAULT);
    if (d < 0) return -1;
    hid_t t = H5Dget_type(d), sp = H5Dget_space(d);
    s->stored += H5Dget_storage_size(d);
    s->raw += (uint64_t)H5Sget_simple_extent_npoints(sp) * H5Tget_size(t);
    H5Tclose(t);
    H5Sclose(sp);
    H5Dclose(d);
    return 0;
}

mpct_status mpct_io_storage_bytes(const char *path, uint64_t *stored, uint64_t *raw)
{
    io_h5_quiet();
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) return mpct_error_set(MPCT_ERR_IO, "%s: cannot open HDF5 file", path);
    mw_sizes s = {0, 0};
    herr_t e = H5Ovisit2(f, H5_INDEX_NAME, H5_ITER_NATIVE, mw_visit, &s, H5O_INFO_BASIC);
    H5Fclose(f);
    if (e < 0) return mpct_error_set(MPCT_ERR_IO, "%s: cannot walk the datasets", path);
    *stored = s.stored;
    *raw = s.raw;
    return MPCT_OK;
}
