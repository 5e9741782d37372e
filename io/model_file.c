/*
 * model_file.c — reads and validates mpct HDF5 model files (io/FORMAT.md).
 *
 * Open checks, in order, each with an error naming the file and the field:
 * HDF5 signature, magic, format_version, every config attribute (ranges),
 * then every dataset of the tensor table (present, element type, shape) and
 * every scale dataset (float32, one per row, finite, >= 0). Tensors are read
 * one at a time on request.
 *
 * Uses HDF5 and mpct_core.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io-impl.h"
#include "mpct_model_desc.h"

struct mpct_model_file {
    char *path;
    hid_t file;
    mpct_model_config cfg;
    char hash[65];
    size_t ntensors;
    mpct_io_tensor_info *info;
    char *labels_buf;
    const char *labels[MPCT_IO_MAX_LABELS];
};

void mpct_model_file_close(mpct_model_file *f)
{
    if (!f) return;
    if (f->file >= 0) H5Fclose(f->file);
    free(f->path);
    free(f->info);
    free(f->labels_buf);
    free(f);
}

const mpct_model_config *mpct_model_file_config(const mpct_model_file *f) { return &f->cfg; }
const char *mpct_model_file_path(const mpct_model_file *f) { return f->path; }
const char *mpct_model_file_hash(const mpct_model_file *f) { return f->hash; }

const char *mpct_model_file_label(const mpct_model_file *f, size_t i)
{
    if (i >= (size_t)f->cfg.num_labels || !f->labels[i]) return "";
    return f->labels[i];
}

/* An optional root attribute of a substitution (mpct_model_config's
 * activation, attention): absent leaves "", present must name one. */
static mpct_status mf_read_subst(hid_t r, const char *name, char *buf, size_t size, const char *P, const char *W)
{
    if (H5Aexists(r, name) <= 0) return MPCT_OK;
    MPCT_CALL(io_attr_read_str(r, name, buf, size, P, W));
    if (!buf[0])
        return mpct_error_set(MPCT_ERR_FORMAT, "%s: root attribute %s is empty (a model without that substitution "
                              "stores none)", P, name);
    return MPCT_OK;
}

static mpct_status mf_read_config(mpct_model_file *f)
{
    const char *P = f->path, *W = "root";
    hid_t r = f->file;
    mpct_model_config *c = &f->cfg;
    char magic[32];
    int64_t ver, norm;
    MPCT_CALL(io_attr_read_str(r, "magic", magic, sizeof magic, P, W));
    if (strcmp(magic, MPCT_MODEL_MAGIC) != 0)
        return mpct_error_set(MPCT_ERR_FORMAT, "%s: root attribute magic is \"%s\", expected \"%s\" (not an mpct model)", P,
                              magic, MPCT_MODEL_MAGIC);
    MPCT_CALL(io_attr_read_i64(r, "format_version", &ver, P, W));
    if (ver == 1)
        return mpct_error_set(MPCT_ERR_FORMAT,
                              "%s: format_version 1: its content hash covers the weights only, not the configuration, "
                              "vocabulary and labels, so outputs and caches could mix models; re-pack it with this mpct "
                              "(mpct pack), which writes format_version %d",
                              P, MPCT_MODEL_FORMAT_VERSION);
    if (ver != MPCT_MODEL_FORMAT_VERSION)
        return mpct_error_set(MPCT_ERR_FORMAT,
                              "%s: format_version is %lld, this mpct reads format_version %d only (re-pack the model with this mpct)",
                              P, (long long)ver, MPCT_MODEL_FORMAT_VERSION);
    MPCT_CALL(io_attr_read_str(r, "architecture", c->architecture, sizeof c->architecture, P, W));
    MPCT_CALL(io_attr_read_i64(r, "num_layers", &c->num_layers, P, W));
    MPCT_CALL(io_attr_read_i64(r, "hidden", &c->hidden, P, W));
    MPCT_CALL(io_attr_read_i64(r, "heads", &c->heads, P, W));
    MPCT_CALL(io_attr_read_i64(r, "ffn", &c->ffn, P, W));
    MPCT_CALL(io_attr_read_i64(r, "vocab_size", &c->vocab_size, P, W));
    MPCT_CALL(io_attr_read_i64(r, "max_positions", &c->max_positions, P, W));
    MPCT_CALL(io_attr_read_i64(r, "type_vocab_size", &c->type_vocab_size, P, W));
    MPCT_CALL(io_attr_read_f64(r, "layer_norm_eps", &c->layer_norm_eps, P, W));
    MPCT_CALL(io_attr_read_str(r, "pooling", c->pooling, sizeof c->pooling, P, W));
    MPCT_CALL(io_attr_read_i64(r, "normalize", &norm, P, W));
    c->normalize = (int)(norm < 0 || norm > 1 ? -1 : norm);
    MPCT_CALL(io_attr_read_i64(r, "num_labels", &c->num_labels, P, W));
    if (mpct_md_is_decoder(c)) {
        int64_t tied;
        MPCT_CALL(io_attr_read_i64(r, "kv_heads", &c->kv_heads, P, W));
        MPCT_CALL(io_attr_read_i64(r, "head_dim", &c->head_dim, P, W));
        MPCT_CALL(io_attr_read_f64(r, "rope_theta", &c->rope_theta, P, W));
        MPCT_CALL(io_attr_read_i64(r, "tie_word_embeddings", &tied, P, W));
        c->tie_word_embeddings = (int)(tied < 0 || tied > 1 ? -1 : tied);
    } else if (H5Aexists(r, "head_dim") > 0) { /* an encoder with pruned heads */
        MPCT_CALL(io_attr_read_i64(r, "head_dim", &c->head_dim, P, W));
        if (c->head_dim == 0)
            return mpct_error_set(MPCT_ERR_FORMAT, "%s: root attribute head_dim is 0 (an encoder without pruned "
                                  "heads stores none)", P);
    }
    MPCT_CALL(mf_read_subst(r, "activation", c->activation, sizeof c->activation, P, W));
    MPCT_CALL(mf_read_subst(r, "attention", c->attention, sizeof c->attention, P, W));
    MPCT_CALL(mpct_io_config_check(c, P));
    MPCT_CALL(io_attr_read_str(r, "content_sha256", f->hash, sizeof f->hash, P, W));
    if (strlen(f->hash) != 64)
        return mpct_error_set(MPCT_ERR_FORMAT, "%s: content_sha256 has %zu characters, expected 64 hex digits", P,
                              strlen(f->hash));
    return MPCT_OK;
}

/* Checks a dataset's element type and shape; *dtype receives the type. */
static mpct_status mf_check_dataset(const mpct_model_file *f, const char *path, int ndim, const size_t *dim,
                                    int allow_int, mpct_io_dtype *dtype)
{
    const char *P = f->path;
    if (H5Lexists(f->file, path, H5P_DEFAULT) <= 0)
        return mpct_error_set(MPCT_ERR_FORMAT, "%s: missing dataset '%s'", P, path);
    hid_t d = H5Dopen2(f->file, path, H5P_DEFAULT);
    if (d < 0) return mpct_error_set(MPCT_ERR_FORMAT, "%s: '%s' is not a dataset", P, path);
    hid_t t = H5Dget_type(d), s = H5Dget_space(d);
    H5T_class_t cls = H5Tget_class(t);
    size_t sz = H5Tget_size(t);
    int sgn = cls == H5T_INTEGER ? H5Tget_sign(t) == H5T_SGN_2 : 0;
    int nd = H5Sget_simple_extent_ndims(s);
    hsize_t got[8] = {0};
    if (nd > 0 && nd <= 8) H5Sget_simple_extent_dims(s, got, NULL);
    H5Tclose(t);
    H5Sclose(s);
    H5Dclose(d);
    mpct_status st = MPCT_OK;
    if (cls == H5T_FLOAT && sz == 4) *dtype = MPCT_IO_F32;
    else if (allow_int && cls == H5T_INTEGER && sgn && sz == 1) *dtype = MPCT_IO_I8;
    else if (allow_int && cls == H5T_INTEGER && sgn && sz == 2) *dtype = MPCT_IO_I16;
    else
        return mpct_error_set(MPCT_ERR_FORMAT, "%s: dataset '%s' has element type class %d size %zu, expected %s", P,
                              path, (int)cls, sz, allow_int ? "int8, int16 or float32" : "float32");
    int ok = nd == ndim;
    for (int i = 0; ok && i < ndim; i++) ok = got[i] == dim[i];
    if (!ok) {
        char g[96] = "", w[96] = "";
        size_t pg = 0, pw = 0;
        for (int i = 0; i < nd && i < 8 && pg < sizeof g; i++)
            pg += (size_t)snprintf(g + pg, sizeof g - pg, "%s%llu", i ? " x " : "", (unsigned long long)got[i]);
        for (int i = 0; i < ndim && pw < sizeof w; i++)
            pw += (size_t)snprintf(w + pw, sizeof w - pw, "%s%zu", i ? " x " : "", dim[i]);
        st = mpct_error_set(MPCT_ERR_FORMAT, "%s: dataset '%s' has shape [%s], expected [%s] from the model config", P,
                            path, nd == 0 ? "scalar" : g, w);
    }
    return st;
}

static mpct_status mf_validate(mpct_model_file *f)
{
    f->ntensors = mpct_io_tensor_count(&f->cfg);
    f->info = calloc(f->ntensors, sizeof *f->info);
    if (!f->info) return mpct_error_set(MPCT_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < f->ntensors; i++) {
        mpct_io_tensor_info *in = &f->info[i];
        MPCT_CALL(mpct_io_tensor_at(&f->cfg, i, &in->desc));
        MPCT_CALL(mf_check_dataset(f, in->desc.name, in->desc.ndim, in->desc.dim, in->desc.kind == MPCT_IO_MATRIX,
                                   &in->dtype));
        in->bits = in->dtype == MPCT_IO_I8 ? 8 : in->dtype == MPCT_IO_I16 ? 16 : 32;
        char sname[MPCT_IO_NAME_MAX + 8];
        snprintf(sname, sizeof sname, "%s.scale", in->desc.name);
        int has_scale = H5Lexists(f->file, sname, H5P_DEFAULT) > 0;
        if (in->dtype != MPCT_IO_F32 && !has_scale)
            return mpct_error_set(MPCT_ERR_FORMAT, "%s: dataset '%s' is int%d but has no scale dataset '%s'", f->path,
                                  in->desc.name, in->bits, sname);
        if (in->dtype == MPCT_IO_F32 && has_scale)
            return mpct_error_set(MPCT_ERR_FORMAT, "%s: dataset '%s' is float32 but has a scale dataset '%s'", f->path,
                                  in->desc.name, sname);
        if (has_scale) {
            mpct_io_dtype sd;
            MPCT_CALL(mf_check_dataset(f, sname, 1, in->desc.dim, 0, &sd));
            in->quantized = 1;
        }
    }
    /* Tokenizer: tokenizer.json or vocab.txt (a family without WordPiece may have none: token ids only). */
    const char *V = io_tokenizer_dataset(f->file);
    const mpct_model_desc *md = mpct_md_find(f->cfg.architecture);
    if ((H5Lexists(f->file, "/tokenizer", H5P_DEFAULT) <= 0 || H5Lexists(f->file, V, H5P_DEFAULT) <= 0) &&
        (!md || md->wordpiece))
        return mpct_error_set(MPCT_ERR_FORMAT, "%s: missing dataset '%s' (the tokenizer vocabulary)", f->path, V);
    if (f->cfg.num_labels > 0 && H5Lexists(f->file, "/weights/classifier", H5P_DEFAULT) > 0) {
        hid_t g = H5Gopen2(f->file, "/weights/classifier", H5P_DEFAULT);
        if (g >= 0 && H5Aexists(g, "label_names") > 0) {
            size_t cap = 64 * (size_t)MPCT_IO_MAX_LABELS + 1;
            f->labels_buf = calloc(cap, 1);
            mpct_status st = f->labels_buf ? io_attr_read_str(g, "label_names", f->labels_buf, cap, f->path,
                                                              "/weights/classifier")
                                           : mpct_error_set(MPCT_ERR_NOMEM, "out of memory");
            if (st != MPCT_OK) {
                H5Gclose(g);
                return st;
            }
            char *p = f->labels_buf;
            for (int64_t i = 0; i < f->cfg.num_labels && p; i++) {
                f->labels[i] = p;
                p = strchr(p, '\n');
                if (p) *p++ = '\0';
            }
        }
        if (g >= 0) H5Gclose(g);
    }
    return MPCT_OK;
}

mpct_status mpct_model_file_open(const char *path, mpct_model_file **out)
{
    *out = NULL;
    io_h5_quiet();
    if (access(path, R_OK) != 0)
        return mpct_error_set(MPCT_ERR_IO, "%s: cannot open model file: %s", path, strerror(errno));
    if (H5Fis_hdf5(path) <= 0)
        return mpct_error_set(MPCT_ERR_FORMAT, "%s: not an HDF5 file (expected an mpct model written by `mpct pack`)",
                              path);
    mpct_model_file *f = calloc(1, sizeof *f);
    if (!f) return mpct_error_set(MPCT_ERR_NOMEM, "out of memory");
    f->file = -1;
    f->path = malloc(strlen(path) + 1);
    if (!f->path) {
        free(f);
        return mpct_error_set(MPCT_ERR_NOMEM, "out of memory");
    }
    strcpy(f->path, path);
    mpct_status st = MPCT_OK;
    f->file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f->file < 0) {
        st = mpct_error_set(MPCT_ERR_IO, "%s: HDF5 cannot open the file (damaged or truncated?)", path);
        goto fail;
    }
    MPCT_CALL_GOTO(st, fail, mf_read_config(f));
    MPCT_CALL_GOTO(st, fail, mf_validate(f));
    *out = f;
    return MPCT_OK;
fail:
    mpct_model_file_close(f);
    return st;
}

static mpct_status mf_find(const mpct_model_file *f, const char *name, const mpct_io_tensor_info **in)
{
    for (size_t i = 0; i < f->ntensors; i++)
        if (strcmp(f->info[i].desc.name, name) == 0) {
            *in = &f->info[i];
            return MPCT_OK;
        }
    return mpct_error_set(MPCT_ERR_ARG, "%s: no tensor '%s' in this model", f->path, name);
}

mpct_status mpct_model_file_tensor_info(const mpct_model_file *f, const char *name, mpct_io_tensor_info *info)
{
    const mpct_io_tensor_info *in = NULL;
    MPCT_CALL(mf_find(f, name, &in));
    *info = *in;
    return MPCT_OK;
}

static mpct_status mf_read(const mpct_model_file *f, const char *path, hid_t mtype, void *out)
{
    hid_t d = H5Dopen2(f->file, path, H5P_DEFAULT);
    herr_t e = d >= 0 ? H5Dread(d, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, out) : -1;
    if (d >= 0) H5Dclose(d);
    if (e < 0) return mpct_error_set(MPCT_ERR_IO, "%s: cannot read dataset '%s' (damaged file?)", f->path, path);
    return MPCT_OK;
}

static mpct_status mf_read_scales(const mpct_model_file *f, const mpct_io_tensor_info *in, float *scales)
{
    char sname[MPCT_IO_NAME_MAX + 8];
    snprintf(sname, sizeof sname, "%s.scale", in->desc.name);
    MPCT_CALL(mf_read(f, sname, H5T_NATIVE_FLOAT, scales));
    for (size_t r = 0; r < in->desc.dim[0]; r++)
        if (!isfinite(scales[r]) || scales[r] < 0.0f)
            return mpct_error_set(MPCT_ERR_FORMAT, "%s: dataset '%s' row %zu: scale %g is not finite and >= 0", f->path,
                                  sname, r, (double)scales[r]);
    return MPCT_OK;
}

mpct_status mpct_model_file_read_f64(const mpct_model_file *f, const char *name, double *out, size_t n)
{
    const mpct_io_tensor_info *in = NULL;
    MPCT_CALL(mf_find(f, name, &in));
    size_t rows = in->desc.dim[0], cols = in->desc.dim[1];
    if (n != rows * cols)
        return mpct_error_set(MPCT_ERR_ARG, "%s: tensor '%s' has %zu elements, caller expected %zu", f->path, name,
                              rows * cols, n);
    MPCT_CALL(mf_read(f, name, H5T_NATIVE_DOUBLE, out));
    if (!in->quantized) return MPCT_OK;
    float *sc = malloc(rows * sizeof *sc + 1);
    if (!sc) return mpct_error_set(MPCT_ERR_NOMEM, "out of memory");
    mpct_status st = mf_read_scales(f, in, sc);
    for (size_t r = 0; st == MPCT_OK && r < rows; r++)
        for (size_t c = 0; c < cols; c++) out[r * cols + c] *= (double)sc[r];
    free(sc);
    return st;
}

mpct_status mpct_model_file_abs_bound(const mpct_model_file *f, const char *name, double *bound)
{
    const mpct_io_tensor_info *in = NULL;
    MPCT_CALL(mf_find(f, name, &in));
    const size_t rows = in->desc.dim[0], n = rows * in->desc.dim[1];
    const int quant = in->quantized;
    float *v = malloc((quant ? rows : n) * sizeof *v + 1);
    if (!v)
        return mpct_error_set(MPCT_ERR_NOMEM, "%s: out of memory bounding '%s'", f->path, name);
    /* quantized: an int8/int16 value is at most 2^(bits-1) in magnitude, so
     * the row scales alone bound the dequantized values; float32: the values */
    mpct_status st = quant ? mf_read_scales(f, in, v) : mf_read(f, name, H5T_NATIVE_FLOAT, v);
    const double qmax = quant ? ldexp(1.0, in->bits - 1) : 1.0;
    double m = 0;
    for (size_t i = 0; st == MPCT_OK && i < (quant ? rows : n); i++)
        m = fmax(m, fabs((double)v[i]));
    free(v);
    *bound = m * qmax;
    return st;
}

mpct_status mpct_model_file_read_raw(const mpct_model_file *f, const char *name, void *out, size_t n,
                                     size_t elem_size, float *scales, size_t nscales)
{
    const mpct_io_tensor_info *in = NULL;
    MPCT_CALL(mf_find(f, name, &in));
    size_t rows = in->desc.dim[0], cols = in->desc.dim[1];
    size_t want = in->dtype == MPCT_IO_I8 ? 1 : in->dtype == MPCT_IO_I16 ? 2 : 4;
    if (n != rows * cols || elem_size != want)
        return mpct_error_set(MPCT_ERR_ARG, "%s: tensor '%s' is %zu elements of %zu bytes, caller asked %zu of %zu",
                              f->path, name, rows * cols, want, n, elem_size);
    hid_t mt = in->dtype == MPCT_IO_I8 ? H5T_NATIVE_INT8 : in->dtype == MPCT_IO_I16 ? H5T_NATIVE_INT16 : H5T_NATIVE_FLOAT;
    MPCT_CALL(mf_read(f, name, mt, out));
    if (in->quantized) {
        if (!scales || nscales != rows)
            return mpct_error_set(MPCT_ERR_ARG, "%s: tensor '%s' needs %zu row scales, caller gave room for %zu",
                                  f->path, name, rows, scales ? nscales : 0);
        MPCT_CALL(mf_read_scales(f, in, scales));
    } else if (scales) {
        for (size_t r = 0; r < nscales; r++) scales[r] = 1.0f;
    }
    return MPCT_OK;
}

mpct_status mpct_model_file_read_vocab(const mpct_model_file *f, uint8_t **bytes, size_t *len, int *do_lower_case)
{
    const char *V = io_tokenizer_dataset(f->file);
    *bytes = NULL;
    *len = 0;
    if (H5Lexists(f->file, "/tokenizer", H5P_DEFAULT) <= 0 || H5Lexists(f->file, V, H5P_DEFAULT) <= 0)
        return mpct_error_set(MPCT_ERR_UNSUPPORTED,
                              "%s: this %s model has no tokenizer (its checkpoint had no tokenizer.json or vocab.txt): it takes token "
                              "ids only (mpct embed --input IDS_FILE), not text",
                              f->path, f->cfg.architecture);
    hid_t d = H5Dopen2(f->file, V, H5P_DEFAULT);
    if (d < 0) return mpct_error_set(MPCT_ERR_FORMAT, "%s: missing dataset '%s'", f->path, V);
    hid_t t = H5Dget_type(d), s = H5Dget_space(d);
    int ok = H5Tget_class(t) == H5T_INTEGER && H5Tget_size(t) == 1 && H5Sget_simple_extent_ndims(s) == 1;
    hssize_t n = H5Sget_simple_extent_npoints(s);
    H5Tclose(t);
    H5Sclose(s);
    mpct_status st = MPCT_OK;
    if (!ok || n <= 0) {
        st = mpct_error_set(MPCT_ERR_FORMAT, "%s: dataset '%s' must be a non-empty 1-D uint8 array", f->path, V);
        goto out;
    }
    *bytes = mpct_alloc((size_t)n + 1);
    if (!*bytes) {
        st = mpct_error_set(MPCT_ERR_NOMEM, "out of memory for %lld vocabulary bytes", (long long)n);
        goto out;
    }
    if (H5Dread(d, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, *bytes) < 0) {
        mpct_free(*bytes);
        *bytes = NULL;
        st = mpct_error_set(MPCT_ERR_IO, "%s: cannot read dataset '%s'", f->path, V);
        goto out;
    }
    (*bytes)[n] = 0;
    *len = (size_t)n;
    if (do_lower_case && strcmp(V, "/tokenizer/vocab_txt") != 0) {
        *do_lower_case = -1;
    } else if (do_lower_case) {
        int64_t v = 1;
        st = io_attr_read_i64(d, "do_lower_case", &v, f->path, V);
        *do_lower_case = (int)v;
        if (st != MPCT_OK) {
            mpct_free(*bytes);
            *bytes = NULL;
            *len = 0;
        }
    }
out:
    H5Dclose(d);
    return st;
}

mpct_status mpct_model_file_verify(const mpct_model_file *f)
{
    char hex[65];
    MPCT_CALL(io_hash_model(f->file, &f->cfg, f->path, hex));
    if (strcmp(hex, f->hash) != 0)
        return mpct_error_set(MPCT_ERR_FORMAT, "%s: content hash mismatch: stored %s, computed %s (weights, configuration, vocabulary or labels modified?)",
                              f->path, f->hash, hex);
    return MPCT_OK;
}
