/*
 * out.c — the output file of `mpct run` (io/OUTPUT.md).
 *
 * Datasets are contiguous, allocated when the file is created (so later
 * writes touch raw data only and never move metadata) and never filled:
 * rows not written read as 0, which /done tells apart. /input_id and /done
 * (all 0) are written at creation, then the file is flushed, so a process
 * killed at any later point leaves a file that reopens.
 *
 * Uses HDF5 and mpct_core.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io-impl.h"
#include "mpct_out.h"

enum { D_EMB, D_LOGITS, D_LABEL, D_INPUT_ID, D_TOKEN, D_DONE, D_COUNT };
static const char *const ds_name[D_COUNT] = {"embedding", "logits", "label", "input_id", "token_count", "done"};
/* Every dataset's attributes units and description (io/OUTPUT.md). */
static const char *const ds_units[D_COUNT] = {"1 (dimensionless model output)", "1 (unnormalised log-probability)",
                                              "index into label_names", "line (0-based)", "tokens", "flag (0 or 1)"};
static const char *const ds_desc[D_COUNT] = {
    "pooled sentence embedding of each input (L2-normalised when the model says so); row i is input input_id[i]",
    "classifier logits of each input, one column per label (root attribute label_names), before softmax",
    "predicted label of each input: argmax of its logits, an index into the root attribute label_names",
    "0-based line number of each row's input in the inputs file, plus row_offset when the root declares one",
    "tokens of each input fed to the model, [CLS] and [SEP] included, after truncation to seq_len",
    "1 when the row is written; 0 when not yet (its values are then 0 and meaningless)",
};

struct mpct_out {
    char *path, *partial;
    const char *file; /* the one open: path or partial */
    hid_t h5;
    hid_t ds[D_COUNT]; /* -1 when absent */
    size_t n, dim, nl;
    uint8_t *done;
};

static hid_t ds_mtype(int d)
{
    switch (d) {
    case D_EMB:
    case D_LOGITS: return H5T_NATIVE_DOUBLE;
    case D_LABEL:
    case D_TOKEN: return H5T_NATIVE_INT32;
    case D_INPUT_ID: return H5T_NATIVE_INT64;
    default: return H5T_NATIVE_UINT8;
    }
}

static hid_t ds_ftype(int d)
{
    switch (d) {
    case D_EMB:
    case D_LOGITS: return H5T_IEEE_F64LE;
    case D_LABEL:
    case D_TOKEN: return H5T_STD_I32LE;
    case D_INPUT_ID: return H5T_STD_I64LE;
    default: return H5T_STD_U8LE;
    }
}

static size_t ds_cols(const mpct_out_t *o, int d) { return d == D_EMB ? o->dim : d == D_LOGITS ? o->nl : 1; }

static const char *nz(const char *s) { return s ? s : ""; }

/* The label names joined with '\n' (malloc'd), NULL when meta has none. */
static char *join_labels(const mpct_out_meta *m)
{
    if (!m->label_names) return NULL;
    size_t len = 1;
    for (size_t i = 0; i < m->num_labels; i++) len += strlen(nz(m->label_names[i])) + 1;
    char *s = malloc(len);
    if (!s) return NULL;
    s[0] = '\0';
    for (size_t i = 0; i < m->num_labels; i++) {
        if (i) strcat(s, "\n");
        strcat(s, nz(m->label_names[i]));
    }
    return s;
}

/* A variable-length UTF-8 string type (h5py reads it as str); close it. */
hid_t io_vstr_type(void)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    if (t >= 0 && (H5Tset_size(t, H5T_VARIABLE) < 0 || H5Tset_cset(t, H5T_CSET_UTF8) < 0)) {
        H5Tclose(t);
        t = -1;
    }
    return t;
}

/* Writes attribute name as variable-length UTF-8: a scalar v[0] when
 * scalar, else a 1-D array of the n strings v (replacing an older one). */
static mpct_status attr_write_vstrs(hid_t obj, const char *name, const char *const *v, size_t n, int scalar)
{
    hsize_t dim = n;
    hid_t t = io_vstr_type();
    hid_t sp = scalar ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, &dim, NULL);
    if (H5Aexists(obj, name) > 0)
        H5Adelete(obj, name);
    hid_t a = t >= 0 && sp >= 0 ? H5Acreate2(obj, name, t, sp, H5P_DEFAULT, H5P_DEFAULT) : -1;
    herr_t e = a >= 0 && (scalar || n) ? H5Awrite(a, t, v) : a >= 0 ? 0 : -1;
    if (a >= 0) H5Aclose(a);
    if (sp >= 0) H5Sclose(sp);
    if (t >= 0) H5Tclose(t);
    if (e < 0) return mpct_error_set(MPCT_ERR_IO, "cannot write HDF5 attribute '%s'", name);
    return MPCT_OK;
}

mpct_status io_attr_write_vstr(hid_t obj, const char *name, const char *value)
{
    return attr_write_vstrs(obj, name, &value, 1, 1);
}

/* The n variable-length strings of an open attribute, joined with '\n'
 * (malloc'd), NULL on failure. */
static char *attr_read_vstrs_joined(hid_t a, size_t n)
{
    char **v = calloc(n ? n : 1, sizeof *v);
    hid_t mt = io_vstr_type();
    char *s = NULL;
    if (v && mt >= 0 && H5Aread(a, mt, v) >= 0) {
        size_t len = 1;
        for (size_t i = 0; i < n; i++) len += (v[i] ? strlen(v[i]) : 0) + 1;
        if ((s = malloc(len))) {
            s[0] = '\0';
            for (size_t i = 0; i < n; i++) {
                if (i) strcat(s, "\n");
                if (v[i]) strcat(s, v[i]);
            }
        }
        for (size_t i = 0; i < n; i++) H5free_memory(v[i]);
    }
    if (mt >= 0) H5Tclose(mt);
    free(v);
    return s;
}

/* Reads a string attribute of any length (malloc'd), NULL when absent or
 * not a string: a fixed-length string (format 2), a variable-length one,
 * or a 1-D array of variable-length strings, joined with '\n' (format 3's
 * label_names). */
char *io_attr_read_str_alloc(hid_t obj, const char *name)
{
    if (H5Aexists(obj, name) <= 0) return NULL;
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    hid_t t = a >= 0 ? H5Aget_type(a) : -1;
    hid_t sp = a >= 0 ? H5Aget_space(a) : -1;
    hssize_t n = sp >= 0 ? H5Sget_simple_extent_npoints(sp) : -1;
    int nd = sp >= 0 ? H5Sget_simple_extent_ndims(sp) : -1;
    char *s = NULL;
    if (t >= 0 && H5Tget_class(t) == H5T_STRING && H5Tis_variable_str(t) > 0 && nd >= 0 && nd <= 1 && n >= 0) {
        s = attr_read_vstrs_joined(a, (size_t)n);
    } else if (t >= 0 && H5Tget_class(t) == H5T_STRING && H5Tis_variable_str(t) == 0 && nd == 0) {
        size_t len = H5Tget_size(t);
        hid_t mt = H5Tcopy(H5T_C_S1);
        H5Tset_size(mt, len + 1);
        H5Tset_strpad(mt, H5T_STR_NULLTERM);
        s = calloc(len + 1, 1);
        if (s && H5Aread(a, mt, s) < 0) {
            free(s);
            s = NULL;
        }
        H5Tclose(mt);
    }
    if (sp >= 0) H5Sclose(sp);
    if (t >= 0) H5Tclose(t);
    if (a >= 0) H5Aclose(a);
    return s;
}

hid_t io_out_h5(const mpct_out_t *o, size_t *n, const char **file)
{
    *n = o->n;
    *file = o->file;
    return o->h5;
}

static void out_free(mpct_out_t *o)
{
    if (!o) return;
    for (int d = 0; d < D_COUNT; d++)
        if (o->ds[d] >= 0) H5Dclose(o->ds[d]);
    if (o->h5 >= 0) H5Fclose(o->h5);
    free(o->path);
    free(o->partial);
    free(o->done);
    free(o);
}

static mpct_status out_flush(mpct_out_t *o)
{
    if (H5Fflush(o->h5, H5F_SCOPE_GLOBAL) < 0)
        return mpct_error_set(MPCT_ERR_IO, "%s: cannot flush output file (disk full?)", o->file);
    return MPCT_OK;
}

/* Writes rows [first, first+n) of dataset d from wbuf, or reads them into
 * rbuf when wbuf is NULL. */
static mpct_status out_rows(mpct_out_t *o, int d, size_t first, size_t n, const void *wbuf, void *rbuf)
{
    size_t cols = ds_cols(o, d);
    if (n == 0 || cols == 0) return MPCT_OK;
    hsize_t start[2] = {first, 0}, count[2] = {n, cols};
    int rank = (d == D_EMB || d == D_LOGITS) ? 2 : 1;
    hid_t fs = H5Dget_space(o->ds[d]);
    hid_t ms = H5Screate_simple(rank, count, NULL);
    herr_t e = (fs < 0 || ms < 0) ? -1 : H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL);
    if (e >= 0)
        e = wbuf ? H5Dwrite(o->ds[d], ds_mtype(d), ms, fs, H5P_DEFAULT, wbuf)
                 : H5Dread(o->ds[d], ds_mtype(d), ms, fs, H5P_DEFAULT, rbuf);
    if (ms >= 0) H5Sclose(ms);
    if (fs >= 0) H5Sclose(fs);
    if (e < 0 && wbuf)
        return mpct_error_set(MPCT_ERR_IO, "%s: cannot write rows %zu..%zu of /%s (disk full?)", o->file, first,
                              first + n - 1, ds_name[d]);
    if (e < 0)
        return mpct_error_set(MPCT_ERR_FORMAT, "%s: cannot read rows %zu..%zu of /%s (truncated file?)", o->file,
                              first, first + n - 1, ds_name[d]);
    return MPCT_OK;
}

static mpct_status out_write_rows(mpct_out_t *o, int d, size_t first, size_t n, const void *buf)
{
    return out_rows(o, d, first, n, buf, NULL);
}

static mpct_status out_create(mpct_out_t *o, const mpct_out_meta *m)
{
    struct stat sb;
    if (stat(o->path, &sb) == 0 && S_ISDIR(sb.st_mode))
        return mpct_error_set(MPCT_ERR_IO, "%s: output path is a directory: expected a file name", o->path);
    /* Probe with open(2) first for a message with the reason, and truncate
     * only under an exclusive lock: a file another run is writing (HDF5
     * holds a lock on it while it is open) is refused, never emptied. */
    int fd = open(o->partial, O_WRONLY | O_CREAT, 0644);
    if (fd < 0)
        return mpct_error_set(MPCT_ERR_IO, "%s: cannot create output file: %s", o->partial, strerror(errno));
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        close(fd);
        if (e == EWOULDBLOCK)
            return mpct_error_set(MPCT_ERR_IO,
                                  "%s: another process is writing this file (it is locked): is a second run using "
                                  "the same output?",
                                  o->partial);
        return mpct_error_set(MPCT_ERR_IO, "%s: cannot lock the output file: %s", o->partial, strerror(e));
    }
    int trunc_ok = ftruncate(fd, 0) == 0;
    int e = errno;
    close(fd); /* releases the lock; HDF5 takes its own below */
    if (!trunc_ok)
        return mpct_error_set(MPCT_ERR_IO, "%s: cannot truncate the output file: %s", o->partial, strerror(e));
    o->file = o->partial;
    o->h5 = H5Fcreate(o->partial, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (o->h5 < 0) return mpct_error_set(MPCT_ERR_IO, "%s: cannot create HDF5 output file", o->partial);
    /* An earlier complete PATH stays until this run completes: the final
     * rename replaces it atomically, so no completed result is lost if this
     * run fails. */

    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_alloc_time(dcpl, H5D_ALLOC_TIME_EARLY);
    H5Pset_fill_time(dcpl, H5D_FILL_TIME_NEVER);
    mpct_status st = MPCT_OK;
    for (int d = 0; d < D_COUNT && st == MPCT_OK; d++) {
        if ((d == D_LOGITS || d == D_LABEL) && o->nl == 0) continue;
        hsize_t dims[2] = {o->n, ds_cols(o, d)};
        int rank = (d == D_EMB || d == D_LOGITS) ? 2 : 1;
        hid_t sp = H5Screate_simple(rank, dims, NULL);
        o->ds[d] = H5Dcreate2(o->h5, ds_name[d], ds_ftype(d), sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
        H5Sclose(sp);
        if (o->ds[d] < 0) st = mpct_error_set(MPCT_ERR_IO, "%s: cannot create dataset /%s", o->partial, ds_name[d]);
    }
    H5Pclose(dcpl);
    MPCT_CALL(st);

    int64_t *ids = malloc((o->n ? o->n : 1) * sizeof *ids);
    if (!ids) return mpct_error_set(MPCT_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < o->n; i++) ids[i] = (m->has_row_offset ? m->row_offset : 0) + (int64_t)i;
    st = out_write_rows(o, D_INPUT_ID, 0, o->n, ids);
    free(ids);
    MPCT_CALL(st);
    MPCT_CALL(out_write_rows(o, D_DONE, 0, o->n, o->done));

    hid_t root = o->h5;
    MPCT_CALL(io_attr_write_vstr(root, "magic", MPCT_OUT_MAGIC));
    MPCT_CALL(io_attr_write_i64(root, "format_version", MPCT_OUT_FORMAT_VERSION));
    MPCT_CALL(io_attr_write_vstr(root, "mode", nz(m->mode)));
    MPCT_CALL(io_attr_write_vstr(root, "mpct_version", nz(m->mpct_version)));
    MPCT_CALL(io_attr_write_i64(root, "insecure_test_keys", m->insecure_test_keys ? 1 : 0));
    MPCT_CALL(io_attr_write_i64(root, "hide_lengths", m->hide_lengths ? 1 : 0));
    MPCT_CALL(io_attr_write_vstr(root, "task", nz(m->task)));
    MPCT_CALL(io_attr_write_vstr(root, "model_hash", nz(m->model_hash)));
    MPCT_CALL(io_attr_write_vstr(root, "inputs_sha256", nz(m->inputs_sha256)));
    MPCT_CALL(io_attr_write_i64(root, "frac_bits", m->frac_bits));
    MPCT_CALL(io_attr_write_i64(root, "seq_len", m->seq_len));
    MPCT_CALL(io_attr_write_i64(root, "complete", 0));
    if (m->has_row_offset) MPCT_CALL(io_attr_write_i64(root, "row_offset", m->row_offset));
    if (m->shards) MPCT_CALL(io_attr_write_vstr(root, "shards", m->shards));
    if (m->label_names) {
        const char **names = malloc((m->num_labels ? m->num_labels : 1) * sizeof *names);
        if (!names) return mpct_error_set(MPCT_ERR_NOMEM, "out of memory");
        for (size_t i = 0; i < m->num_labels; i++) names[i] = nz(m->label_names[i]);
        st = attr_write_vstrs(root, "label_names", names, m->num_labels, 0);
        free(names);
        MPCT_CALL(st);
    }
    for (int d = 0; d < D_COUNT; d++) {
        if (o->ds[d] < 0) continue;
        MPCT_CALL(io_attr_write_vstr(o->ds[d], "units", ds_units[d]));
        MPCT_CALL(io_attr_write_vstr(o->ds[d], "description", ds_desc[d]));
    }
    return out_flush(o);
}

static mpct_status check_str(const mpct_out_t *o, const char *attr, const char *want, const char *what)
{
    char *got = io_attr_read_str_alloc(o->h5, attr);
    if (!got) return mpct_error_set(MPCT_ERR_FORMAT, "%s: missing string attribute '%s'", o->file, attr);
    int same = !strcmp(got, want);
    mpct_status st = MPCT_OK;
    if (!same)
        st = mpct_error_set(MPCT_ERR_ARG, "%s: cannot resume: %s changed since the interrupted run: %s %s (then) vs %s (now)",
                            o->file, what, attr, got, want);
    free(got);
    return st;
}

static mpct_status check_int(const mpct_out_t *o, const char *attr, int64_t want, const char *what)
{
    int64_t got;
    MPCT_CALL(io_attr_read_i64(o->h5, attr, &got, o->file, "/"));
    if (got != want)
        return mpct_error_set(MPCT_ERR_ARG,
                              "%s: cannot resume: %s changed since the interrupted run: %s %lld (then) vs %lld (now)", o->file,
                              what, attr, (long long)got, (long long)want);
    return MPCT_OK;
}

/* The root's magic and format version: what makes a file ours (resume and
 * read both check it). */
static mpct_status check_header(hid_t h5, const char *path, int resume)
{
    char *magic = io_attr_read_str_alloc(h5, "magic");
    int ours = magic && !strcmp(magic, MPCT_OUT_MAGIC);
    free(magic);
    if (!ours)
        return mpct_error_set(MPCT_ERR_FORMAT, "%s: not an mpct output file (attribute magic is not '%s')", path,
                              MPCT_OUT_MAGIC);
    int64_t ver = 0;
    MPCT_CALL(io_attr_read_i64(h5, "format_version", &ver, path, "/"));
    if (ver == 1)
        return mpct_error_set(MPCT_ERR_FORMAT,
                              "%s: output format_version 1, written by an older mpct: it does not record whether its "
                              "rows are secure or plaintext, so it cannot be resumed or merged; compute it again",
                              path);
    if (ver < MPCT_OUT_FORMAT_VERSION_READ || ver > MPCT_OUT_FORMAT_VERSION)
        return mpct_error_set(MPCT_ERR_FORMAT, "%s: output format_version %lld: expected %d to %d", path,
                              (long long)ver, MPCT_OUT_FORMAT_VERSION_READ, MPCT_OUT_FORMAT_VERSION);
    if (resume && ver != MPCT_OUT_FORMAT_VERSION) {
        char *by = io_attr_read_str_alloc(h5, "mpct_version");
        mpct_status st = mpct_error_set(
            MPCT_ERR_FORMAT,
            "%s: output format_version %lld (written by mpct %s) cannot be resumed by this mpct, which writes "
            "format %d: finish it with that mpct, or add --overwrite to compute it again",
            path, (long long)ver, by && by[0] ? by : "of an older version", MPCT_OUT_FORMAT_VERSION);
        free(by);
        return st;
    }
    return MPCT_OK;
}

static mpct_status out_reopen(mpct_out_t *o, const mpct_out_meta *m)
{
    o->h5 = H5Fopen(o->file, H5F_ACC_RDWR, H5P_DEFAULT);
    if (o->h5 < 0) return mpct_error_set(MPCT_ERR_IO, "%s: cannot open output file to resume (not HDF5 or not "
                                                      "writable)", o->file);
    MPCT_CALL(check_header(o->h5, o->file, 1));
    MPCT_CALL(check_str(o, "mode", nz(m->mode), "the mode (secure MPC or --plaintext)"));
    MPCT_CALL(check_int(o, "insecure_test_keys", m->insecure_test_keys ? 1 : 0,
                        "the keys (fresh, or insecure --test-seed keys)"));
    if (H5Aexists(o->h5, "hide_lengths") > 0) /* a file written without the attribute ran without hiding */
        MPCT_CALL(check_int(o, "hide_lengths", m->hide_lengths ? 1 : 0, "the length hiding (--hide-lengths)"));
    else if (m->hide_lengths)
        return mpct_error_set(MPCT_ERR_ARG, "%s: cannot resume: the interrupted run did not hide the lengths and "
                              "this one does (--hide-lengths)", o->file);
    MPCT_CALL(check_str(o, "task", nz(m->task), "the task"));
    MPCT_CALL(check_str(o, "model_hash", nz(m->model_hash), "the model"));
    MPCT_CALL(check_str(o, "inputs_sha256", nz(m->inputs_sha256), "inputs"));
    MPCT_CALL(check_int(o, "frac_bits", m->frac_bits, "frac_bits"));
    MPCT_CALL(check_int(o, "seq_len", m->seq_len, "seq_len"));
    int had = H5Aexists(o->h5, "row_offset") > 0;
    if (had != (m->has_row_offset != 0))
        return mpct_error_set(MPCT_ERR_ARG, "%s: cannot resume: row_offset %s since the interrupted run", o->file,
                              had ? "was declared then but is not now" : "is declared now but was not then");
    if (had) MPCT_CALL(check_int(o, "row_offset", m->row_offset, "row_offset"));

    /* Datasets: presence and shape. */
    for (int d = 0; d < D_COUNT; d++) {
        int want = !((d == D_LOGITS || d == D_LABEL) && o->nl == 0);
        int have = H5Lexists(o->h5, ds_name[d], H5P_DEFAULT) > 0;
        if (!have && want) {
            if (d == D_LOGITS || d == D_LABEL)
                return mpct_error_set(MPCT_ERR_ARG, "%s: cannot resume: the model changed since the interrupted run: "
                                                    "num_labels 0 vs %zu", o->file, o->nl);
            return mpct_error_set(MPCT_ERR_FORMAT, "%s: missing dataset /%s", o->file, ds_name[d]);
        }
        if (have && !want)
            return mpct_error_set(MPCT_ERR_ARG, "%s: cannot resume: the model changed since the interrupted run: "
                                                "the file has /%s but num_labels is 0 now", o->file, ds_name[d]);
        if (!want) continue;
        o->ds[d] = H5Dopen2(o->h5, ds_name[d], H5P_DEFAULT);
        if (o->ds[d] < 0) return mpct_error_set(MPCT_ERR_FORMAT, "%s: cannot open dataset /%s", o->file, ds_name[d]);
        hid_t sp = H5Dget_space(o->ds[d]);
        hsize_t dims[2] = {0, 0};
        int rank = H5Sget_simple_extent_dims(sp, dims, NULL);
        H5Sclose(sp);
        int want_rank = (d == D_EMB || d == D_LOGITS) ? 2 : 1;
        if (rank != want_rank)
            return mpct_error_set(MPCT_ERR_FORMAT, "%s: dataset /%s has rank %d: expected %d", o->file, ds_name[d],
                                  rank, want_rank);
        if (dims[0] != o->n)
            return mpct_error_set(MPCT_ERR_ARG, "%s: cannot resume: inputs changed since the interrupted run: "
                                                "%llu rows vs %zu", o->file, (unsigned long long)dims[0], o->n);
        if (d == D_EMB && dims[1] != o->dim)
            return mpct_error_set(MPCT_ERR_ARG, "%s: cannot resume: the model changed since the interrupted run: "
                                                "embedding width %llu vs %zu", o->file,
                                  (unsigned long long)dims[1], o->dim);
        if (d == D_LOGITS && dims[1] != o->nl)
            return mpct_error_set(MPCT_ERR_ARG, "%s: cannot resume: the model changed since the interrupted run: "
                                                "num_labels %llu vs %zu", o->file, (unsigned long long)dims[1], o->nl);
    }
    /* Label names: absent in both, or equal. */
    char *got = io_attr_read_str_alloc(o->h5, "label_names");
    char *want = join_labels(m);
    mpct_status st = MPCT_OK;
    if (m->label_names && !want) st = mpct_error_set(MPCT_ERR_NOMEM, "out of memory");
    else if ((got == NULL) != (want == NULL) || (got && strcmp(got, want) != 0))
        st = mpct_error_set(MPCT_ERR_ARG, "%s: cannot resume: the model changed since the interrupted run: "
                                          "label_names differ", o->file);
    free(got);
    free(want);
    MPCT_CALL(st);

    if (o->n && H5Dread(o->ds[D_DONE], H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, o->done) < 0)
        return mpct_error_set(MPCT_ERR_FORMAT, "%s: cannot read /done", o->file);
    for (size_t i = 0; i < o->n; i++) o->done[i] = o->done[i] ? 1 : 0;
    return MPCT_OK;
}

mpct_status mpct_out_open(const char *path, const mpct_out_meta *meta, int resume, mpct_out_t **out)
{
    *out = NULL;
    if (!path || !path[0]) return mpct_error_set(MPCT_ERR_ARG, "no output path given");
    if (meta->dim == 0) return mpct_error_set(MPCT_ERR_ARG, "%s: embedding width 0: expected >= 1", path);
    if (!meta->mode || (strcmp(meta->mode, "secure") != 0 && strcmp(meta->mode, "plaintext") != 0))
        return mpct_error_set(MPCT_ERR_ARG, "%s: output mode '%s': expected 'secure' or 'plaintext'", path,
                              nz(meta->mode));
    io_h5_quiet();
    mpct_out_t *o = calloc(1, sizeof *o);
    if (!o) return mpct_error_set(MPCT_ERR_NOMEM, "out of memory");
    o->h5 = -1;
    for (int d = 0; d < D_COUNT; d++) o->ds[d] = -1;
    o->n = meta->n_inputs;
    o->dim = meta->dim;
    o->nl = meta->num_labels;
    size_t pl = strlen(path);
    o->path = strdup(path);
    o->partial = malloc(pl + sizeof ".partial");
    o->done = calloc(o->n ? o->n : 1, 1);
    if (!o->path || !o->partial || !o->done) {
        out_free(o);
        return mpct_error_set(MPCT_ERR_NOMEM, "out of memory");
    }
    snprintf(o->partial, pl + sizeof ".partial", "%s.partial", path);
    mpct_status st;
    struct stat sb;
    if (resume && stat(o->partial, &sb) == 0) {
        o->file = o->partial;
        st = out_reopen(o, meta);
    } else if (resume && stat(o->path, &sb) == 0 && !S_ISDIR(sb.st_mode)) {
        o->file = o->path;
        st = out_reopen(o, meta);
    } else {
        st = out_create(o, meta);
    }
    if (st != MPCT_OK) {
        mpct_error_trace(__FILE__, __LINE__, __func__);
        out_free(o);
        return st;
    }
    *out = o;
    return MPCT_OK;
}

mpct_status mpct_out_done(const mpct_out_t *o, uint8_t *done)
{
    memcpy(done, o->done, o->n);
    return MPCT_OK;
}

size_t mpct_out_count_done(const mpct_out_t *o)
{
    size_t c = 0;
    for (size_t i = 0; i < o->n; i++) c += o->done[i];
    return c;
}

mpct_status mpct_out_write(mpct_out_t *o, size_t first, size_t n, const double *emb, const double *logits,
                           const int32_t *labels, const int32_t *token_counts)
{
    if (first > o->n || n > o->n - first)
        return mpct_error_set(MPCT_ERR_ARG, "%s: %zu rows from row %zu: outside the %zu inputs", o->file, n,
                              first, o->n);
    if (n == 0) return MPCT_OK;
    if (!emb || !token_counts || (o->nl && (!logits || !labels)))
        return mpct_error_set(MPCT_ERR_ARG, "%s: mpct_out_write: missing %s", o->file,
                              !emb ? "embeddings" : !token_counts ? "token counts" : "logits or labels");
    MPCT_CALL(out_write_rows(o, D_EMB, first, n, emb));
    if (o->nl) {
        MPCT_CALL(out_write_rows(o, D_LOGITS, first, n, logits));
        MPCT_CALL(out_write_rows(o, D_LABEL, first, n, labels));
    }
    MPCT_CALL(out_write_rows(o, D_TOKEN, first, n, token_counts));
    MPCT_CALL(out_flush(o)); /* the data is in the file before any done flag */
    uint8_t *ones = malloc(n);
    if (!ones) return mpct_error_set(MPCT_ERR_NOMEM, "out of memory");
    memset(ones, 1, n);
    mpct_status st = out_write_rows(o, D_DONE, first, n, ones);
    free(ones);
    MPCT_CALL(st);
    MPCT_CALL(out_flush(o));
    memset(o->done + first, 1, n);
    return MPCT_OK;
}

/* The datasets of an opened file: presence and shape; sets o->n, dim, nl. */
static mpct_status out_open_datasets(mpct_out_t *o)
{
    int have_logits = H5Lexists(o->h5, ds_name[D_LOGITS], H5P_DEFAULT) > 0;
    for (int d = 0; d < D_COUNT; d++) {
        if ((d == D_LOGITS || d == D_LABEL) && !have_logits) continue;
        if (H5Lexists(o->h5, ds_name[d], H5P_DEFAULT) <= 0 || (o->ds[d] = H5Dopen2(o->h5, ds_name[d], H5P_DEFAULT)) < 0)
            return mpct_error_set(MPCT_ERR_FORMAT, "%s: missing or unreadable dataset /%s", o->file, ds_name[d]);
        hid_t sp = H5Dget_space(o->ds[d]);
        hsize_t dims[2] = {0, 0};
        int rank = sp >= 0 ? H5Sget_simple_extent_dims(sp, dims, NULL) : -1;
        if (sp >= 0) H5Sclose(sp);
        int want_rank = (d == D_EMB || d == D_LOGITS) ? 2 : 1;
        if (rank != want_rank)
            return mpct_error_set(MPCT_ERR_FORMAT, "%s: dataset /%s has rank %d: expected %d", o->file, ds_name[d],
                                  rank, want_rank);
        if (d == D_EMB) o->n = (size_t)dims[0], o->dim = (size_t)dims[1];
        if (d == D_LOGITS) o->nl = (size_t)dims[1];
        if (dims[0] != o->n)
            return mpct_error_set(MPCT_ERR_FORMAT, "%s: dataset /%s has %llu rows, /embedding %zu", o->file,
                                  ds_name[d], (unsigned long long)dims[0], o->n);
    }
    return MPCT_OK;
}

/* A string attribute into a fixed buffer; "" when absent. */
static void info_str(const mpct_out_t *o, const char *name, char *buf, size_t size)
{
    char *v = io_attr_read_str_alloc(o->h5, name);
    snprintf(buf, size, "%s", v ? v : "");
    free(v);
}

mpct_status mpct_out_open_read(const char *path, mpct_out_t **out, mpct_out_info *info)
{
    *out = NULL;
    memset(info, 0, sizeof *info);
    io_h5_quiet();
    struct stat sb;
    if (stat(path, &sb) != 0) return mpct_error_set(MPCT_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    mpct_out_t *o = calloc(1, sizeof *o);
    if (!o || !(o->path = strdup(path))) {
        free(o);
        return mpct_error_set(MPCT_ERR_NOMEM, "out of memory");
    }
    o->h5 = -1;
    for (int d = 0; d < D_COUNT; d++) o->ds[d] = -1;
    o->file = o->path;
    mpct_status st = MPCT_OK;
    int64_t v = 0;
    o->h5 = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (o->h5 < 0)
        st = mpct_error_set(MPCT_ERR_FORMAT, "%s: not an HDF5 file (truncated, or not an mpct run output)", path);
    else
        st = check_header(o->h5, path, 0);
    if (st == MPCT_OK) st = out_open_datasets(o);
    if (st == MPCT_OK && !(o->done = calloc(o->n ? o->n : 1, 1))) st = mpct_error_set(MPCT_ERR_NOMEM, "out of memory");
    if (st == MPCT_OK && o->n &&
        H5Dread(o->ds[D_DONE], H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, o->done) < 0)
        st = mpct_error_set(MPCT_ERR_FORMAT, "%s: cannot read /done (truncated file?)", path);
    if (st == MPCT_OK) {
        info->n_inputs = o->n, info->dim = o->dim, info->num_labels = o->nl;
        for (size_t i = 0; i < o->n; i++) info->rows_done += o->done[i] != 0;
        info_str(o, "mode", info->mode, sizeof info->mode);
        info_str(o, "mpct_version", info->mpct_version, sizeof info->mpct_version);
        info_str(o, "task", info->task, sizeof info->task);
        info_str(o, "model_hash", info->model_hash, sizeof info->model_hash);
        info_str(o, "inputs_sha256", info->inputs_sha256, sizeof info->inputs_sha256);
        info->label_names = io_attr_read_str_alloc(o->h5, "label_names");
        mpct_status s2 = io_attr_read_i64(o->h5, "frac_bits", &v, path, "/");
        info->frac_bits = (int)v;
        if (s2 == MPCT_OK) s2 = io_attr_read_i64(o->h5, "seq_len", &v, path, "/");
        info->seq_len = (int)v;
        if (s2 == MPCT_OK) s2 = io_attr_read_i64(o->h5, "insecure_test_keys", &v, path, "/");
        info->insecure_test_keys = (int)v;
        v = 0;
        if (s2 == MPCT_OK && H5Aexists(o->h5, "hide_lengths") > 0) s2 = io_attr_read_i64(o->h5, "hide_lengths", &v, path, "/");
        info->hide_lengths = (int)v;
        if (s2 == MPCT_OK) s2 = io_attr_read_i64(o->h5, "complete", &v, path, "/");
        info->complete = (int)v;
        info->has_row_offset = H5Aexists(o->h5, "row_offset") > 0;
        if (s2 == MPCT_OK && info->has_row_offset) s2 = io_attr_read_i64(o->h5, "row_offset", &info->row_offset, path, "/");
        st = s2;
    }
    if (st != MPCT_OK) {
        mpct_out_info_free(info);
        out_free(o);
        return st;
    }
    *out = o;
    return MPCT_OK;
}

void mpct_out_info_free(mpct_out_info *info)
{
    free(info->label_names);
    info->label_names = NULL;
}

mpct_status mpct_out_read(mpct_out_t *o, size_t first, size_t n, double *emb, double *logits, int32_t *labels,
                          int32_t *token_counts)
{
    if (first > o->n || n > o->n - first)
        return mpct_error_set(MPCT_ERR_ARG, "%s: %zu rows from row %zu: outside its %zu rows", o->file, n, first,
                              o->n);
    MPCT_CALL(out_rows(o, D_EMB, first, n, NULL, emb));
    if (o->nl) {
        MPCT_CALL(out_rows(o, D_LOGITS, first, n, NULL, logits));
        MPCT_CALL(out_rows(o, D_LABEL, first, n, NULL, labels));
    }
    return out_rows(o, D_TOKEN, first, n, NULL, token_counts);
}

/* fsync of a path (file or directory); 0 on success. */
static int sync_path(const char *p, int dir)
{
    int fd = open(p, dir ? O_RDONLY | O_DIRECTORY : O_RDONLY);
    if (fd < 0) return -1;
    int r = fsync(fd);
    close(fd);
    return r;
}

void mpct_out_discard(mpct_out_t *o)
{
    if (!o) return;
    char *victim = o->file == o->partial && o->partial ? strdup(o->partial) : NULL;
    out_free(o);
    if (victim) remove(victim);
    free(victim);
}

mpct_status mpct_out_close(mpct_out_t *o, int complete)
{
    if (!o) return MPCT_OK;
    mpct_status st = MPCT_OK;
    if (complete) {
        size_t c = mpct_out_count_done(o);
        if (c != o->n)
            st = mpct_error_set(MPCT_ERR_ARG, "%s: cannot mark the output complete: %zu of %zu rows not written "
                                              "(left as %s for --resume)", o->path, o->n - c, o->n, o->file);
        else if (io_attr_write_i64(o->h5, "complete", 1) != MPCT_OK)
            st = mpct_error_set(MPCT_ERR_IO, "%s: cannot set attribute complete", o->file);
    }
    for (int d = 0; d < D_COUNT; d++)
        if (o->ds[d] >= 0) H5Dclose(o->ds[d]);
    for (int d = 0; d < D_COUNT; d++) o->ds[d] = -1;
    herr_t e = H5Fclose(o->h5);
    o->h5 = -1;
    if (e < 0 && st == MPCT_OK) st = mpct_error_set(MPCT_ERR_IO, "%s: cannot close output file (disk full?)", o->file);
    if (complete && st == MPCT_OK && o->file == o->partial) {
        if (sync_path(o->partial, 0) != 0)
            st = mpct_error_set(MPCT_ERR_IO, "%s: cannot sync output file: %s", o->partial, strerror(errno));
        else if (rename(o->partial, o->path) != 0)
            st = mpct_error_set(MPCT_ERR_IO, "cannot rename %s to %s: %s", o->partial, o->path, strerror(errno));
        else {
            char *dir = strdup(o->path), *slash = dir ? strrchr(dir, '/') : NULL;
            if (dir) {
                if (slash == dir) dir[1] = '\0';
                else if (slash) *slash = '\0';
                (void)sync_path(slash ? dir : ".", 1); /* best effort: the rename itself succeeded */
                free(dir);
            }
        }
    }
    if (complete == 2 && st != MPCT_OK && o->file == o->partial)
        remove(o->partial); /* all or nothing (after a successful rename it no longer exists) */
    out_free(o);
    return st;
}
