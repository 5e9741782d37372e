/*
 * model_table.c — the canonical tensor table of an mpct model, config
 * checks, HDF5 attribute helpers and the content hash.
 *
 * The table is the architecture's description (mpct_model_desc.h) walked
 * for a config: every tensor's HDF5 path, kind (quantizable matrix or
 * float32 vector) and shape, in one order: the order of the content hash
 * and of FORMAT.md.
 *
 * The content hash is the model's identity: every tensor, every
 * configuration attribute that changes the output, the vocabulary with its
 * casing and the label names (FORMAT.md, "Content hash"). Resume, merge and
 * the share cache compare it.
 *
 * Uses HDF5, OpenSSL (SHA-256) and mpct_core.
 */
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "io-impl.h"
#include "mpct_model_desc.h"

/* The decoder fields (mpct_io.h): grouped-query heads, head width, RoPE base. */
static mpct_status io_decoder_check(const mpct_model_desc *md, const mpct_model_config *c, const char *what)
{
    if (c->kv_heads < 1 || c->kv_heads > c->heads || c->heads % c->kv_heads != 0)
        return mpct_error_set(MPCT_ERR_RANGE, "%s: kv_heads = %lld, expected a divisor of heads = %lld", what,
                              (long long)c->kv_heads, (long long)c->heads);
    if (c->head_dim < 1 || c->head_dim > 4096 || (md->positions == MPCT_MD_POS_ROTARY && c->head_dim % 2 != 0))
        return mpct_error_set(MPCT_ERR_RANGE, "%s: head_dim = %lld, expected 1..4096%s", what, (long long)c->head_dim,
                              md->positions == MPCT_MD_POS_ROTARY ? " and even (rotary positions pair dimensions)" : "");
    if (md->positions == MPCT_MD_POS_LEARNED && c->heads * c->head_dim != c->hidden)
        return mpct_error_set(MPCT_ERR_RANGE, "%s: heads x head_dim = %lld x %lld is not hidden = %lld", what,
                              (long long)c->heads, (long long)c->head_dim, (long long)c->hidden);
    if (md->positions == MPCT_MD_POS_ROTARY ? !(c->rope_theta > 1.0 && c->rope_theta < 1e12) : c->rope_theta != 0.0)
        return mpct_error_set(MPCT_ERR_RANGE, "%s: rope_theta = %g, expected %s", what, c->rope_theta,
                              md->positions == MPCT_MD_POS_ROTARY ? "1 < rope_theta < 1e12" : "0 (learned positions)");
    if (c->tie_word_embeddings != 0 && c->tie_word_embeddings != 1)
        return mpct_error_set(MPCT_ERR_RANGE, "%s: tie_word_embeddings = %d, expected 0 or 1", what,
                              c->tie_word_embeddings);
    if (!(c->layer_norm_eps > 0.0 && c->layer_norm_eps < 1.0))
        return mpct_error_set(MPCT_ERR_RANGE, "%s: layer_norm_eps = %g, expected 0 < eps < 1", what, c->layer_norm_eps);
    mpct_md_graph g;
    return mpct_md_graph_of(md, c, what, &g);
}

mpct_status mpct_io_config_check(const mpct_model_config *c, const char *what)
{
    const mpct_model_desc *md;
    MPCT_CALL(mpct_md_for(c, what, &md));
    struct {
        const char *name;
        int64_t v, lo, hi;
    } f[] = {
        {"num_layers", c->num_layers, 1, 1024},       {"hidden", c->hidden, 1, 1 << 16},
        {"heads", c->heads, 1, 1024},                 {"ffn", c->ffn, 1, 1 << 20},
        {"vocab_size", c->vocab_size, 1, 1 << 24},    {"max_positions", c->max_positions, 1, 1 << 20},
        {"type_vocab_size", c->type_vocab_size, 1, 1024}, {"num_labels", c->num_labels, 0, MPCT_IO_MAX_LABELS},
        {"normalize", c->normalize, 0, 1},
    };
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
        if (f[i].v < f[i].lo || f[i].v > f[i].hi)
            return mpct_error_set(MPCT_ERR_RANGE, "%s: %s = %lld, expected %lld..%lld", what, f[i].name,
                                  (long long)f[i].v, (long long)f[i].lo, (long long)f[i].hi);
    if (md->decoder) return io_decoder_check(md, c, what);
    if (c->head_dim == 0 && c->hidden % c->heads != 0)
        return mpct_error_set(MPCT_ERR_RANGE, "%s: hidden = %lld is not a multiple of heads = %lld", what,
                              (long long)c->hidden, (long long)c->heads);
    /* pruned heads: fewer heads of the original width hidden / (original heads) */
    if (c->head_dim != 0 && (c->head_dim < 1 || c->hidden % c->head_dim != 0 || c->heads * c->head_dim >= c->hidden))
        return mpct_error_set(MPCT_ERR_RANGE,
                              "%s: head_dim = %lld with heads = %lld and hidden = %lld: an encoder's head_dim must "
                              "divide hidden and heads x head_dim be below hidden (pruned heads), or head_dim be 0",
                              what, (long long)c->head_dim, (long long)c->heads, (long long)c->hidden);
    if (!(c->layer_norm_eps > 0.0 && c->layer_norm_eps < 1.0))
        return mpct_error_set(MPCT_ERR_RANGE, "%s: layer_norm_eps = %g, expected 0 < eps < 1", what, c->layer_norm_eps);
    mpct_md_graph g;
    return mpct_md_graph_of(md, c, what, &g);
}

/* The description of cfg's architecture; NULL for one without (a config
 * that passed mpct_io_config_check always has one). */
static const mpct_model_desc *io_desc(const mpct_model_config *cfg) { return mpct_md_find(cfg->architecture); }

size_t mpct_io_tensor_count(const mpct_model_config *cfg)
{
    const mpct_model_desc *md = io_desc(cfg);
    return md ? mpct_md_tensor_count(md, cfg) : 0;
}

mpct_status mpct_io_tensor_at(const mpct_model_config *c, size_t i, mpct_io_tensor_desc *d)
{
    const mpct_model_desc *md;
    const mpct_md_tensor *t;
    int64_t layer;
    memset(d, 0, sizeof *d);
    MPCT_CALL(mpct_md_for(c, "tensor table", &md));
    MPCT_CALL(mpct_md_tensor_locate(md, c, i, &t, &layer));
    mpct_md_tensor_desc(md, c, t, layer, d);
    return MPCT_OK;
}

mpct_status mpct_io_tensor_find(const mpct_model_config *cfg, const char *name, mpct_io_tensor_desc *out)
{
    size_t n = mpct_io_tensor_count(cfg);
    for (size_t i = 0; i < n; i++) {
        MPCT_CALL(mpct_io_tensor_at(cfg, i, out));
        if (strcmp(out->name, name) == 0) return MPCT_OK;
    }
    return mpct_error_set(MPCT_ERR_ARG, "no tensor named '%s' in a model with %lld layers and %lld labels", name,
                          (long long)cfg->num_layers, (long long)cfg->num_labels);
}

void io_hf_name(const char *n, char *buf, size_t size)
{
    buf[0] = '\0';
    for (size_t a = 0; mpct_md_at(a); a++) {
        const mpct_model_desc *md = mpct_md_at(a);
        long long l = -1;
        int pos = 0;
        char fmt[MPCT_IO_NAME_MAX + 4];
        snprintf(fmt, sizeof fmt, "%s%%n", md->layer_path);
        const int in_layer = sscanf(n, fmt, &l, &pos) == 1 && pos > 0;
        for (size_t i = 0; i < md->ntensors; i++) {
            const mpct_md_tensor *t = &md->tensors[i];
            if (t->layer ? in_layer && strcmp(n + pos, t->path) == 0 : strcmp(n, t->path) == 0) {
                mpct_md_hf_name(md, t, l, buf, size);
                return;
            }
        }
    }
}

/* ---- attributes ---- */

void io_h5_quiet(void) { H5Eset_auto2(H5E_DEFAULT, NULL, NULL); }

static mpct_status io_attr_write(hid_t obj, const char *name, hid_t ftype, hid_t mtype, const void *v)
{
    hid_t sp = H5Screate(H5S_SCALAR);
    if (H5Aexists(obj, name) > 0) H5Adelete(obj, name);
    hid_t a = H5Acreate2(obj, name, ftype, sp, H5P_DEFAULT, H5P_DEFAULT);
    herr_t e = a >= 0 ? H5Awrite(a, mtype, v) : -1;
    if (a >= 0) H5Aclose(a);
    H5Sclose(sp);
    if (e < 0) return mpct_error_set(MPCT_ERR_IO, "cannot write HDF5 attribute '%s'", name);
    return MPCT_OK;
}

mpct_status io_attr_write_str(hid_t obj, const char *name, const char *value)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, strlen(value) + 1);
    H5Tset_strpad(t, H5T_STR_NULLTERM);
    mpct_status st = io_attr_write(obj, name, t, t, value);
    H5Tclose(t);
    return st;
}

mpct_status io_attr_write_i64(hid_t obj, const char *name, int64_t value)
{
    return io_attr_write(obj, name, H5T_STD_I64LE, H5T_NATIVE_INT64, &value);
}

mpct_status io_attr_write_f64(hid_t obj, const char *name, double value)
{
    return io_attr_write(obj, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &value);
}

/* Opens a scalar attribute of the given class; clear error when missing. */
static mpct_status io_attr_open(hid_t obj, const char *name, H5T_class_t cls, const char *file, const char *where,
                                hid_t *a_out, hid_t *t_out)
{
    static const char *cls_name[] = {[H5T_INTEGER] = "an integer", [H5T_FLOAT] = "a floating-point number",
                                     [H5T_STRING] = "a string"};
    *a_out = *t_out = -1;
    if (H5Aexists(obj, name) <= 0)
        return mpct_error_set(MPCT_ERR_FORMAT, "%s: %s: missing attribute '%s'", file, where, name);
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    hid_t t = a >= 0 ? H5Aget_type(a) : -1;
    hid_t s = a >= 0 ? H5Aget_space(a) : -1;
    hssize_t np = s >= 0 ? H5Sget_simple_extent_npoints(s) : -1;
    if (s >= 0) H5Sclose(s);
    if (a < 0 || t < 0 || H5Tget_class(t) != cls || np != 1) {
        if (t >= 0) H5Tclose(t);
        if (a >= 0) H5Aclose(a);
        return mpct_error_set(MPCT_ERR_FORMAT, "%s: %s: attribute '%s' is not %s scalar", file, where, name,
                              cls_name[cls]);
    }
    *a_out = a;
    *t_out = t;
    return MPCT_OK;
}

mpct_status io_attr_read_str(hid_t obj, const char *name, char *buf, size_t size, const char *file, const char *where)
{
    hid_t a, t;
    MPCT_CALL(io_attr_open(obj, name, H5T_STRING, file, where, &a, &t));
    mpct_status st = MPCT_OK;
    if (H5Tis_variable_str(t) > 0) { /* as h5py writes by default */
        char *p = NULL;
        hid_t mt = H5Tcopy(H5T_C_S1);
        H5Tset_size(mt, H5T_VARIABLE);
        if (H5Aread(a, mt, &p) < 0 || !p) {
            st = mpct_error_set(MPCT_ERR_FORMAT, "%s: %s: cannot read string attribute '%s'", file, where, name);
        } else {
            if (strlen(p) >= size)
                st = mpct_error_set(MPCT_ERR_FORMAT, "%s: %s: attribute '%s' longer than %zu bytes", file, where, name,
                                    size - 1);
            else snprintf(buf, size, "%s", p);
            H5free_memory(p);
        }
        H5Tclose(mt);
    } else {
        size_t n = H5Tget_size(t);
        char *tmp = calloc(n + 1, 1);
        hid_t mt = H5Tcopy(H5T_C_S1);
        H5Tset_size(mt, n + 1);
        H5Tset_strpad(mt, H5T_STR_NULLTERM);
        if (!tmp) st = mpct_error_set(MPCT_ERR_NOMEM, "out of memory");
        else if (H5Aread(a, mt, tmp) < 0)
            st = mpct_error_set(MPCT_ERR_FORMAT, "%s: %s: cannot read string attribute '%s'", file, where, name);
        else if (strlen(tmp) >= size)
            st = mpct_error_set(MPCT_ERR_FORMAT, "%s: %s: attribute '%s' longer than %zu bytes", file, where, name,
                                size - 1);
        else snprintf(buf, size, "%s", tmp);
        free(tmp);
        H5Tclose(mt);
    }
    H5Tclose(t);
    H5Aclose(a);
    return st;
}

mpct_status io_attr_read_i64(hid_t obj, const char *name, int64_t *v, const char *file, const char *where)
{
    hid_t a, t;
    MPCT_CALL(io_attr_open(obj, name, H5T_INTEGER, file, where, &a, &t));
    herr_t e = H5Aread(a, H5T_NATIVE_INT64, v);
    H5Tclose(t);
    H5Aclose(a);
    if (e < 0) return mpct_error_set(MPCT_ERR_FORMAT, "%s: %s: cannot read integer attribute '%s'", file, where, name);
    return MPCT_OK;
}

mpct_status io_attr_read_f64(hid_t obj, const char *name, double *v, const char *file, const char *where)
{
    hid_t a, t;
    MPCT_CALL(io_attr_open(obj, name, H5T_FLOAT, file, where, &a, &t));
    herr_t e = H5Aread(a, H5T_NATIVE_DOUBLE, v);
    H5Tclose(t);
    H5Aclose(a);
    if (e < 0) return mpct_error_set(MPCT_ERR_FORMAT, "%s: %s: cannot read float attribute '%s'", file, where, name);
    return MPCT_OK;
}

/* ---- content hash ---- */

/* Feeds dataset `path` (as stored: little-endian, row-major) to the digest,
 * after its path and element type tag ("f32", "i8", "i16" or "u8") when
 * with_tag. */
static mpct_status io_hash_dataset(EVP_MD_CTX *ctx, hid_t file, const char *path, const char *label,
                                   int with_tag)
{
    hid_t d = H5Dopen2(file, path, H5P_DEFAULT);
    if (d < 0) return mpct_error_set(MPCT_ERR_FORMAT, "%s: missing dataset '%s'", label, path);
    hid_t t = H5Dget_type(d), s = H5Dget_space(d);
    hssize_t n = H5Sget_simple_extent_npoints(s);
    H5T_class_t cls = H5Tget_class(t);
    size_t sz = H5Tget_size(t);
    int sgn = cls == H5T_INTEGER ? H5Tget_sign(t) == H5T_SGN_2 : 0;
    hid_t mt = -1;
    const char *tag = NULL;
    if (cls == H5T_FLOAT && sz == 4) mt = H5T_IEEE_F32LE, tag = "f32";
    else if (cls == H5T_INTEGER && sz == 1 && sgn) mt = H5T_STD_I8LE, tag = "i8";
    else if (cls == H5T_INTEGER && sz == 2 && sgn) mt = H5T_STD_I16LE, tag = "i16";
    else if (cls == H5T_INTEGER && sz == 1 && !sgn) mt = H5T_STD_U8LE, tag = "u8";
    H5Tclose(t);
    H5Sclose(s);
    mpct_status st = MPCT_OK;
    void *buf = NULL;
    if (!tag || n < 0) {
        st = mpct_error_set(MPCT_ERR_FORMAT, "%s: dataset '%s' has an unsupported element type", label, path);
    } else if (!(buf = malloc((size_t)n * sz + 1))) {
        st = mpct_error_set(MPCT_ERR_NOMEM, "out of memory hashing '%s'", path);
    } else if (n > 0 && H5Dread(d, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0) {
        st = mpct_error_set(MPCT_ERR_IO, "%s: cannot read dataset '%s'", label, path);
    } else {
        if (with_tag) {
            EVP_DigestUpdate(ctx, path, strlen(path) + 1);
            EVP_DigestUpdate(ctx, tag, strlen(tag) + 1);
        }
        EVP_DigestUpdate(ctx, buf, (size_t)n * sz);
    }
    free(buf);
    H5Dclose(d);
    return st;
}

/* Feeds "key=value\n" to the digest. */
static void io_hash_field(EVP_MD_CTX *ctx, const char *key, const char *value)
{
    EVP_DigestUpdate(ctx, key, strlen(key));
    EVP_DigestUpdate(ctx, "=", 1);
    EVP_DigestUpdate(ctx, value, strlen(value));
    EVP_DigestUpdate(ctx, "\n", 1);
}

/* The configuration in canonical text: every attribute that changes the
 * output, integers in decimal, eps as a C99 hex float (exact). */
static void io_hash_config(EVP_MD_CTX *ctx, const mpct_model_config *c)
{
    char v[64];
    EVP_DigestUpdate(ctx, "mpct-model-identity-2\n", 22);
    io_hash_field(ctx, "architecture", c->architecture);
    const struct {
        const char *key;
        int64_t v;
    } ints[] = {{"num_layers", c->num_layers},       {"hidden", c->hidden},
                {"heads", c->heads},                 {"ffn", c->ffn},
                {"vocab_size", c->vocab_size},       {"max_positions", c->max_positions},
                {"type_vocab_size", c->type_vocab_size}, {"normalize", c->normalize},
                {"num_labels", c->num_labels}};
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
        snprintf(v, sizeof v, "%lld", (long long)ints[i].v);
        io_hash_field(ctx, ints[i].key, v);
    }
    snprintf(v, sizeof v, "%a", c->layer_norm_eps);
    io_hash_field(ctx, "layer_norm_eps", v);
    io_hash_field(ctx, "pooling", c->pooling);
    if (c->activation[0]) io_hash_field(ctx, "activation", c->activation); /* substitutions: only when set */
    if (c->attention[0]) io_hash_field(ctx, "attention", c->attention);
    if (!mpct_md_is_decoder(c)) { /* encoders: the lines above, and head_dim when heads were pruned */
        if (c->head_dim == 0) return;
        snprintf(v, sizeof v, "%lld", (long long)c->head_dim);
        io_hash_field(ctx, "head_dim", v);
        return;
    }
    snprintf(v, sizeof v, "%lld", (long long)c->kv_heads);
    io_hash_field(ctx, "kv_heads", v);
    snprintf(v, sizeof v, "%lld", (long long)c->head_dim);
    io_hash_field(ctx, "head_dim", v);
    snprintf(v, sizeof v, "%a", c->rope_theta);
    io_hash_field(ctx, "rope_theta", v);
    io_hash_field(ctx, "tie_word_embeddings", c->tie_word_embeddings ? "1" : "0");
}

const char *io_tokenizer_dataset(hid_t file)
{
    return H5Lexists(file, "/tokenizer", H5P_DEFAULT) > 0 &&
                   H5Lexists(file, "/tokenizer/tokenizer_json", H5P_DEFAULT) > 0
               ? "/tokenizer/tokenizer_json"
               : "/tokenizer/vocab_txt";
}

mpct_status io_hash_model(hid_t file, const mpct_model_config *cfg, const char *label, char hex[65])
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(ctx);
        return mpct_error_set(MPCT_ERR_CRYPTO, "SHA-256 initialisation failed");
    }
    mpct_status st = MPCT_OK;
    io_hash_config(ctx, cfg);
    size_t nt = mpct_io_tensor_count(cfg);
    for (size_t i = 0; i < nt && st == MPCT_OK; i++) {
        mpct_io_tensor_desc d;
        MPCT_CALL_GOTO(st, out, mpct_io_tensor_at(cfg, i, &d));
        MPCT_CALL_GOTO(st, out, io_hash_dataset(ctx, file, d.name, label, 1));
        char sname[MPCT_IO_NAME_MAX + 8];
        snprintf(sname, sizeof sname, "%s.scale", d.name);
        if (H5Lexists(file, sname, H5P_DEFAULT) > 0) MPCT_CALL_GOTO(st, out, io_hash_dataset(ctx, file, sname, label, 0));
    }
    /* The tokenizer: tokenizer.json bytes, or vocabulary bytes and casing (none: token ids only). */
    const char *V = io_tokenizer_dataset(file);
    const mpct_model_desc *desc = io_desc(cfg);
    if (H5Lexists(file, "/tokenizer", H5P_DEFAULT) <= 0 || H5Lexists(file, V, H5P_DEFAULT) <= 0) {
        if (desc && !desc->wordpiece) { /* a token-ids-only model */
            io_hash_field(ctx, "tokenizer", "none");
            goto labels;
        }
        st = mpct_error_set(MPCT_ERR_FORMAT, "%s: missing dataset '%s' (the tokenizer vocabulary)", label, V);
        goto out;
    }
    MPCT_CALL_GOTO(st, out, io_hash_dataset(ctx, file, V, label, 1));
    hid_t d = strcmp(V, "/tokenizer/vocab_txt") == 0 ? H5Dopen2(file, V, H5P_DEFAULT) : -1;
    int64_t lower = -1;
    if (d < 0) {
        io_hash_field(ctx, "tokenizer", "tokenizer.json");
    } else {
        st = io_attr_read_i64(d, "do_lower_case", &lower, label, V);
        H5Dclose(d);
        if (st != MPCT_OK) goto out;
        io_hash_field(ctx, "do_lower_case", lower ? "1" : "0");
    }
labels:
    /* The classifier's label names (they are written into every output). */
    if (cfg->num_labels > 0 && H5Lexists(file, "/weights/classifier", H5P_DEFAULT) > 0) {
        hid_t g = H5Gopen2(file, "/weights/classifier", H5P_DEFAULT);
        if (g >= 0 && H5Aexists(g, "label_names") > 0) {
            size_t cap = 64 * (size_t)MPCT_IO_MAX_LABELS + 1;
            char *names = calloc(cap, 1);
            st = names ? io_attr_read_str(g, "label_names", names, cap, label, "/weights/classifier")
                       : mpct_error_set(MPCT_ERR_NOMEM, "out of memory");
            if (st == MPCT_OK) io_hash_field(ctx, "label_names", names);
            free(names);
        }
        if (g >= 0) H5Gclose(g);
        if (st != MPCT_OK) goto out;
    }
    unsigned char md[32];
    unsigned int mdlen = 0;
    if (EVP_DigestFinal_ex(ctx, md, &mdlen) != 1 || mdlen != 32) {
        st = mpct_error_set(MPCT_ERR_CRYPTO, "SHA-256 finalisation failed");
        goto out;
    }
    for (int i = 0; i < 32; i++) snprintf(hex + 2 * i, 3, "%02x", md[i]);
out:
    EVP_MD_CTX_free(ctx);
    return st;
}
