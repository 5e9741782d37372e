/*
 * gen_out_h5.c — the HDF5 form of `mpct generate`'s output (layout in
 * io/OUTPUT.md, "Generation output"): per prompt i the row i of /prompt,
 * /prompt_tokens, /generated_ids (padded with -1), /generated_count,
 * /text, /stopped_by and /done; the settings as root attributes.
 *
 * Invariants: every prompt string is written when the file is created (the
 * file says what it is for before any row); a row's /done becomes 1 only
 * after its values are flushed; resuming compares every root attribute
 * that identifies the job (mode, model_hash, insecure_test_keys,
 * prompts_sha256, n_prompts, max_new_tokens, stop_ids, frac_bits,
 * sampling: "greedy" when absent) and names the first that differs.
 */
#include "gen_out-impl.h"
#include "io-impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A variable-length UTF-8 string type; the caller closes it. */
static hid_t utf8_type(void)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    if (t >= 0 && (H5Tset_size(t, H5T_VARIABLE) < 0 || H5Tset_cset(t, H5T_CSET_UTF8) < 0)) {
        H5Tclose(t);
        return -1;
    }
    return t;
}

static mpct_status put_str_attr(hid_t obj, const char *name, const char *v)
{
    hid_t t = utf8_type(), sp = H5Screate(H5S_SCALAR);
    hid_t a = t >= 0 && sp >= 0 ? H5Acreate2(obj, name, t, sp, H5P_DEFAULT, H5P_DEFAULT) : -1;
    const herr_t e = a >= 0 ? H5Awrite(a, t, &v) : -1;
    if (a >= 0) H5Aclose(a);
    if (sp >= 0) H5Sclose(sp);
    if (t >= 0) H5Tclose(t);
    return e < 0 ? mpct_error_set(MPCT_ERR_IO, "cannot write HDF5 attribute '%s'", name) : MPCT_OK;
}

static mpct_status put_int_attr(hid_t obj, const char *name, int64_t v)
{
    if (H5Aexists(obj, name) > 0)
        H5Adelete(obj, name);
    hid_t sp = H5Screate(H5S_SCALAR);
    hid_t a = sp >= 0 ? H5Acreate2(obj, name, H5T_STD_I64LE, sp, H5P_DEFAULT, H5P_DEFAULT) : -1;
    const herr_t e = a >= 0 ? H5Awrite(a, H5T_NATIVE_INT64, &v) : -1;
    if (a >= 0) H5Aclose(a);
    if (sp >= 0) H5Sclose(sp);
    return e < 0 ? mpct_error_set(MPCT_ERR_IO, "cannot write HDF5 attribute '%s'", name) : MPCT_OK;
}

/* The stored string attribute (malloc'd) or NULL. */
static char *get_str_attr(hid_t obj, const char *name)
{
    if (H5Aexists(obj, name) <= 0)
        return NULL;
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT), t = utf8_type();
    char *v = NULL, *copy = NULL;
    if (a >= 0 && t >= 0 && H5Aread(a, t, &v) >= 0 && v) {
        copy = strdup(v);
        H5free_memory(v);
    }
    if (t >= 0) H5Tclose(t);
    if (a >= 0) H5Aclose(a);
    return copy;
}

static int get_int_attr(hid_t obj, const char *name, int64_t *v)
{
    if (H5Aexists(obj, name) <= 0)
        return 0;
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    const int ok = a >= 0 && H5Aread(a, H5T_NATIVE_INT64, v) >= 0;
    if (a >= 0) H5Aclose(a);
    return ok;
}

static void stop_list(const mpct_gout_meta *m, char *s, size_t cap)
{
    size_t k = 0;
    s[0] = '\0';
    for (size_t i = 0; i < m->nstop && k < cap; i++)
        k += (size_t)snprintf(s + k, cap - k, i ? ",%d" : "%d", (int)m->stop[i]);
}

typedef struct ds_spec {
    const char *name;
    int kind; /* 0 string, 1 int32, 2 uint8 */
    int wide; /* 1: N x max_new_tokens */
    const char *units, *description;
} ds_spec;

static const ds_spec specs[] = {
    {"prompt", 0, 0, "text (UTF-8)", "the prompt: line i of the prompts file without its line ending"},
    {"prompt_tokens", 1, 0, "tokens", "tokens of the prompt fed to the model (the tokenizer's BOS rule applied)"},
    {"generated_ids", 1, 1, "token id", "the generated token ids, padded with -1 after generated_count"},
    {"generated_count", 1, 0, "tokens", "generated tokens (a stop token included)"},
    {"text", 0, 0, "text (UTF-8)", "the generated ids as text (the tokenizer's decoder, special tokens kept)"},
    {"stopped_by", 1, 0, "token id", "the stop token that ended the generation, or -1: max_new_tokens reached"},
    {"done", 2, 0, "flag (0 or 1)", "1 = the row is written; 0 = not yet (its values are meaningless)"},
};
#define NSPECS (sizeof specs / sizeof specs[0])

static mpct_status create_datasets(struct mpct_gout *o)
{
    const mpct_gout_meta *m = &o->meta;
    for (size_t k = 0; k < NSPECS; k++) {
        const ds_spec *d = &specs[k];
        hsize_t dims[2] = {m->n_prompts, m->max_new_tokens};
        hid_t t = d->kind == 0 ? utf8_type() : H5Tcopy(d->kind == 1 ? H5T_STD_I32LE : H5T_STD_U8LE);
        hid_t sp = H5Screate_simple(d->wide ? 2 : 1, dims, NULL), pl = H5Pcreate(H5P_DATASET_CREATE);
        if (d->kind == 1 && pl >= 0) {
            const int32_t fill = d->wide || !strcmp(d->name, "stopped_by") ? -1 : 0;
            H5Pset_fill_value(pl, H5T_NATIVE_INT32, &fill);
        }
        hid_t ds = t >= 0 && sp >= 0 ? H5Dcreate2(o->h5, d->name, t, sp, H5P_DEFAULT, pl, H5P_DEFAULT) : -1;
        mpct_status st = ds >= 0 ? MPCT_OK : mpct_error_set(MPCT_ERR_IO, "cannot create dataset /%s", d->name);
        if (st == MPCT_OK)
            st = put_str_attr(ds, "units", d->units);
        if (st == MPCT_OK)
            st = put_str_attr(ds, "description", d->description);
        if (st == MPCT_OK && d->kind == 0 && !strcmp(d->name, "prompt") && m->n_prompts) {
            char **v = malloc(m->n_prompts * sizeof *v);
            for (size_t i = 0; v && i < m->n_prompts; i++)
                v[i] = (char *)m->prompts[i];
            if (!v || H5Dwrite(ds, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) < 0)
                st = mpct_error_set(MPCT_ERR_IO, "cannot write the prompts to /prompt");
            free(v);
        }
        if (ds >= 0) H5Dclose(ds);
        if (pl >= 0) H5Pclose(pl);
        if (sp >= 0) H5Sclose(sp);
        if (t >= 0) H5Tclose(t);
        MPCT_CALL(st);
    }
    return MPCT_OK;
}

static mpct_status create_file(struct mpct_gout *o, const char *partial)
{
    const mpct_gout_meta *m = &o->meta;
    o->h5 = H5Fcreate(partial, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (o->h5 < 0)
        return mpct_error_set(MPCT_ERR_IO, "cannot create %s", partial);
    char stop[MPCT_GOUT_MAX_STOP * 12 + 1], samp[64];
    stop_list(m, stop, sizeof stop);
    gout_sampling(m, samp, sizeof samp);
    const struct { const char *name, *v; } strs[] = {
        {"magic", MPCT_GOUT_MAGIC}, {"mode", m->mode}, {"model_hash", m->model_hash},
        {"prompts_sha256", m->prompts_sha256}, {"mpct_version", m->mpct_version ? m->mpct_version : ""},
        {"stop_ids", stop}, {"sampling", samp}};
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++)
        MPCT_CALL(put_str_attr(o->h5, strs[i].name, strs[i].v));
    const struct { const char *name; int64_t v; } ints[] = {
        {"format_version", MPCT_GOUT_FORMAT_VERSION}, {"insecure_test_keys", m->insecure_test_keys},
        {"frac_bits", m->frac_bits}, {"n_prompts", (int64_t)m->n_prompts},
        {"max_new_tokens", (int64_t)m->max_new_tokens}, {"complete", 0}};
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++)
        MPCT_CALL(put_int_attr(o->h5, ints[i].name, ints[i].v));
    MPCT_CALL(create_datasets(o));
    return H5Fflush(o->h5, H5F_SCOPE_GLOBAL) < 0 ? mpct_error_set(MPCT_ERR_IO, "cannot write %s", partial) : MPCT_OK;
}

/* The first root attribute of the file that differs from the meta, or NULL. */
static const char *differs(hid_t f, const mpct_gout_meta *m)
{
    char stop[MPCT_GOUT_MAX_STOP * 12 + 1], samp[64];
    stop_list(m, stop, sizeof stop);
    gout_sampling(m, samp, sizeof samp);
    const struct { const char *name, *v; } strs[] = {
        {"magic", MPCT_GOUT_MAGIC}, {"mode", m->mode}, {"model_hash", m->model_hash},
        {"prompts_sha256", m->prompts_sha256}, {"stop_ids", stop}, {"sampling", samp}};
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++) {
        char *v = get_str_attr(f, strs[i].name);
        if (!v && !strcmp(strs[i].name, "sampling") && H5Aexists(f, "sampling") == 0)
            v = strdup("greedy"); /* no attribute: greedy */
        const int same = v && !strcmp(v, strs[i].v);
        free(v);
        if (!same)
            return strs[i].name;
    }
    const struct { const char *name; int64_t v; } ints[] = {
        {"format_version", MPCT_GOUT_FORMAT_VERSION}, {"insecure_test_keys", m->insecure_test_keys},
        {"frac_bits", m->frac_bits}, {"n_prompts", (int64_t)m->n_prompts},
        {"max_new_tokens", (int64_t)m->max_new_tokens}};
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
        int64_t v = 0;
        if (!get_int_attr(f, ints[i].name, &v) || v != ints[i].v)
            return ints[i].name;
    }
    return NULL;
}

/* Rows done: the leading run of /done == 1 (rows are written in order). */
static mpct_status read_done(hid_t f, const char *partial, size_t *rows)
{
    *rows = 0;
    int64_t n = 0;
    hid_t ds = get_int_attr(f, "n_prompts", &n) && n >= 0 ? H5Dopen2(f, "done", H5P_DEFAULT) : -1;
    uint8_t *d = ds >= 0 ? malloc((size_t)n + 1) : NULL;
    const int ok = d && (n == 0 || H5Dread(ds, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, d) >= 0);
    while (ok && *rows < (size_t)n && d[*rows] == 1)
        (*rows)++;
    free(d);
    if (ds >= 0) H5Dclose(ds);
    return ok ? MPCT_OK : mpct_error_set(MPCT_ERR_FORMAT, "%s: not an mpct generate output (no /done)", partial);
}

mpct_status gout_h5_rows(const char *partial, size_t *rows)
{
    io_h5_quiet();
    hid_t f = H5Fopen(partial, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0)
        return mpct_error_set(MPCT_ERR_FORMAT, "%s: not an HDF5 file", partial);
    char *magic = get_str_attr(f, "magic");
    mpct_status st = magic && !strcmp(magic, MPCT_GOUT_MAGIC)
                         ? read_done(f, partial, rows)
                         : mpct_error_set(MPCT_ERR_FORMAT, "%s: not an mpct generate output (magic)", partial);
    free(magic);
    H5Fclose(f);
    return st;
}

mpct_status gout_h5_open(struct mpct_gout *o, const char *partial, int resume)
{
    io_h5_quiet();
    FILE *probe = resume ? fopen(partial, "rb") : NULL;
    if (!probe)
        return create_file(o, partial);
    fclose(probe);
    o->h5 = H5Fopen(partial, H5F_ACC_RDWR, H5P_DEFAULT);
    if (o->h5 < 0)
        return mpct_error_set(MPCT_ERR_FORMAT, "%s: not an HDF5 file: not resumable (add --overwrite to start again)",
                              partial);
    const char *d = differs(o->h5, &o->meta);
    if (d)
        return mpct_error_set(MPCT_ERR_ARG, "%s: its %s differs from this job's: not resumable with these settings "
                                            "(add --overwrite to start again)", partial, d);
    return read_done(o->h5, partial, &o->done);
}

/* Writes n values of buf into row i of dataset name (a row of width n). */
static mpct_status put_row(hid_t f, const char *name, hid_t mtype, size_t i, size_t n, const void *buf)
{
    if (n == 0)
        return MPCT_OK;
    hid_t ds = H5Dopen2(f, name, H5P_DEFAULT);
    hid_t fs = ds >= 0 ? H5Dget_space(ds) : -1;
    const int rank = fs >= 0 ? H5Sget_simple_extent_ndims(fs) : 0;
    hsize_t start[2] = {i, 0}, count[2] = {1, n};
    hid_t ms = H5Screate_simple(rank, rank == 2 ? count + 0 : count, NULL);
    herr_t e = fs >= 0 && ms >= 0 ? H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL) : -1;
    if (e >= 0)
        e = H5Dwrite(ds, mtype, ms, fs, H5P_DEFAULT, buf);
    if (ms >= 0) H5Sclose(ms);
    if (fs >= 0) H5Sclose(fs);
    if (ds >= 0) H5Dclose(ds);
    return e < 0 ? mpct_error_set(MPCT_ERR_IO, "cannot write row %zu of /%s", i, name) : MPCT_OK;
}

mpct_status gout_h5_write(struct mpct_gout *o, const mpct_gout_row *r)
{
    const size_t i = o->done;
    const int32_t pt = (int32_t)r->prompt_tokens, cnt = (int32_t)r->n_ids, by = r->stopped_by;
    const uint8_t one = 1;
    hid_t t = utf8_type();
    const char *text = r->text;
    mpct_status st = t >= 0 ? put_row(o->h5, "text", t, i, 1, &text) : mpct_error_set(MPCT_ERR_IO, "HDF5 type");
    if (t >= 0) H5Tclose(t);
    MPCT_CALL(st);
    MPCT_CALL(put_row(o->h5, "prompt_tokens", H5T_NATIVE_INT32, i, 1, &pt));
    MPCT_CALL(put_row(o->h5, "generated_ids", H5T_NATIVE_INT32, i, r->n_ids, r->ids));
    MPCT_CALL(put_row(o->h5, "generated_count", H5T_NATIVE_INT32, i, 1, &cnt));
    MPCT_CALL(put_row(o->h5, "stopped_by", H5T_NATIVE_INT32, i, 1, &by));
    if (H5Fflush(o->h5, H5F_SCOPE_GLOBAL) < 0)
        return mpct_error_set(MPCT_ERR_IO, "cannot flush %s.partial", o->path);
    MPCT_CALL(put_row(o->h5, "done", H5T_NATIVE_UINT8, i, 1, &one));
    return H5Fflush(o->h5, H5F_SCOPE_GLOBAL) < 0 ? mpct_error_set(MPCT_ERR_IO, "cannot flush %s.partial", o->path)
                                                 : MPCT_OK;
}

mpct_status gout_h5_close(struct mpct_gout *o, int complete)
{
    mpct_status st = complete ? put_int_attr(o->h5, "complete", 1) : MPCT_OK;
    if (H5Fclose(o->h5) < 0 && st == MPCT_OK)
        st = mpct_error_set(MPCT_ERR_IO, "cannot close %s.partial", o->path);
    o->h5 = -1;
    return st;
}
