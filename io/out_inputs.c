/*
 * out_inputs.c — what the client knows of each row of a `mpct run` output
 * besides the results (io/OUTPUT.md): /truncated (word pieces dropped to fit
 * seq_len), /id (the user's ids, variable-length UTF-8, with --id-field) and
 * the root attributes input_format, text_field and id_field that say how
 * the rows were read from the inputs file.
 *
 * Invariants: the datasets are created on the first write (every row then
 * holds 0 or "" until written); a file that already records how its rows
 * were read (a resumed run) must record the same, or the write is refused
 * naming the setting before any row is computed.
 *
 * Uses HDF5 and mpct_core.
 */
#include <stdlib.h>
#include <string.h>

#include "io-impl.h"
#include "mpct_out.h"

static const char *const how_attr[3] = {"input_format", "text_field", "id_field"};

/* Records, or checks against the recorded, how the rows were read. */
static mpct_status check_how(hid_t h5, const char *file, const char *const how[3])
{
    for (int k = 0; k < 3; k++) {
        char *got = io_attr_read_str_alloc(h5, how_attr[k]);
        mpct_status st = MPCT_OK;
        if (!got)
            st = io_attr_write_vstr(h5, how_attr[k], how[k]);
        else if (strcmp(got, how[k]))
            st = mpct_error_set(MPCT_ERR_ARG, "%s: cannot resume: the inputs are read differently: %s '%s' (then) "
                                "vs '%s' (now)", file, how_attr[k], got, how[k]);
        free(got);
        MPCT_CALL(st);
    }
    return MPCT_OK;
}

/* Opens dataset name, creating it (N rows of type t, with units and
 * description) when absent. */
static hid_t open_ds(hid_t h5, const char *file, const char *name, hid_t t, size_t n, const char *units,
                     const char *desc, mpct_status *st)
{
    if (H5Lexists(h5, name, H5P_DEFAULT) > 0) {
        hid_t d = H5Dopen2(h5, name, H5P_DEFAULT);
        if (d < 0)
            *st = mpct_error_set(MPCT_ERR_FORMAT, "%s: cannot open dataset /%s", file, name);
        return d;
    }
    hsize_t dim = n;
    hid_t sp = H5Screate_simple(1, &dim, NULL);
    hid_t d = sp >= 0 ? H5Dcreate2(h5, name, t, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT) : -1;
    if (sp >= 0)
        H5Sclose(sp);
    if (d < 0) {
        *st = mpct_error_set(MPCT_ERR_IO, "%s: cannot create dataset /%s", file, name);
        return -1;
    }
    *st = io_attr_write_vstr(d, "units", units);
    if (*st == MPCT_OK)
        *st = io_attr_write_vstr(d, "description", desc);
    if (*st != MPCT_OK) {
        H5Dclose(d);
        return -1;
    }
    return d;
}

/* Writes (write 1) or reads rows [first, first+n) of the 1-D dataset d. */
static mpct_status rw_rows(hid_t d, hid_t mt, size_t first, size_t n, void *buf, const char *file, const char *name,
                           int write)
{
    hsize_t start = first, count = n;
    hid_t fs = H5Dget_space(d), ms = H5Screate_simple(1, &count, NULL);
    herr_t e = fs < 0 || ms < 0 ? -1 : H5Sselect_hyperslab(fs, H5S_SELECT_SET, &start, NULL, &count, NULL);
    if (e >= 0)
        e = write ? H5Dwrite(d, mt, ms, fs, H5P_DEFAULT, buf) : H5Dread(d, mt, ms, fs, H5P_DEFAULT, buf);
    if (ms >= 0)
        H5Sclose(ms);
    if (fs >= 0)
        H5Sclose(fs);
    if (e < 0)
        return write ? mpct_error_set(MPCT_ERR_IO, "%s: cannot write rows %zu..%zu of /%s (disk full?)", file, first,
                                      first + n - 1, name)
                     : mpct_error_set(MPCT_ERR_FORMAT, "%s: cannot read rows %zu..%zu of /%s", file, first,
                                      first + n - 1, name);
    return MPCT_OK;
}

mpct_status mpct_out_write_inputs(mpct_out_t *o, const char *const how[3], size_t first, size_t n,
                                  const int32_t *truncated, const char *const *ids)
{
    size_t rows = 0;
    const char *file = NULL;
    hid_t h5 = io_out_h5(o, &rows, &file);
    if (first > rows || n > rows - first)
        return mpct_error_set(MPCT_ERR_ARG, "%s: rows %zu..%zu of the inputs past the file's %zu rows", file, first,
                              first + n - 1, rows);
    MPCT_CALL(check_how(h5, file, how));
    if (n == 0)
        return MPCT_OK;
    mpct_status st = MPCT_OK;
    hid_t d = open_ds(h5, file, "truncated", H5T_STD_I32LE, rows, "word pieces",
                      "word pieces of each input dropped to fit seq_len (0: the input was not truncated)", &st);
    if (d >= 0) {
        st = rw_rows(d, H5T_NATIVE_INT32, first, n, (void *)truncated, file, "truncated", 1);
        H5Dclose(d);
    }
    if (st != MPCT_OK || !ids)
        return st;
    hid_t t = io_vstr_type();
    d = t >= 0 ? open_ds(h5, file, "id", t, rows, "identifier (text)",
                         "the id of each row's input as the inputs file gives it (the column or member id_field)", &st)
               : -1;
    if (t < 0)
        st = mpct_error_set(MPCT_ERR_IO, "%s: cannot make a string type", file);
    if (d >= 0) {
        st = rw_rows(d, t, first, n, (void *)ids, file, "id", 1);
        H5Dclose(d);
    }
    if (t >= 0)
        H5Tclose(t);
    return st;
}

mpct_status mpct_out_read_inputs(mpct_out_t *o, size_t first, size_t n, char *how[3], int32_t *truncated,
                                 char **ids, int *present, int *has_ids)
{
    size_t rows = 0;
    const char *file = NULL;
    hid_t h5 = io_out_h5(o, &rows, &file);
    *present = H5Lexists(h5, "truncated", H5P_DEFAULT) > 0;
    *has_ids = H5Lexists(h5, "id", H5P_DEFAULT) > 0;
    for (int k = 0; k < 3; k++)
        how[k] = *present ? io_attr_read_str_alloc(h5, how_attr[k]) : NULL;
    if (!*present || n == 0)
        return MPCT_OK;
    if (first > rows || n > rows - first)
        return mpct_error_set(MPCT_ERR_ARG, "%s: rows %zu..%zu past the file's %zu rows", file, first, first + n - 1,
                              rows);
    hid_t d = H5Dopen2(h5, "truncated", H5P_DEFAULT);
    if (d < 0)
        return mpct_error_set(MPCT_ERR_FORMAT, "%s: cannot open /truncated", file);
    mpct_status st = rw_rows(d, H5T_NATIVE_INT32, first, n, truncated, file, "truncated", 0);
    H5Dclose(d);
    if (st != MPCT_OK || !*has_ids)
        return st;
    hid_t t = io_vstr_type();
    d = t >= 0 ? H5Dopen2(h5, "id", H5P_DEFAULT) : -1;
    char **tmp = calloc(n, sizeof *tmp);
    st = d < 0 || !tmp ? mpct_error_set(MPCT_ERR_FORMAT, "%s: cannot read /id", file)
                       : rw_rows(d, t, first, n, tmp, file, "id", 0);
    for (size_t i = 0; st == MPCT_OK && i < n; i++)
        if (!(ids[i] = strdup(tmp[i] ? tmp[i] : "")))
            st = mpct_error_set(MPCT_ERR_NOMEM, "%s: out of memory", file);
    if (tmp && d >= 0) {
        hsize_t cnt = n;
        hid_t ms = H5Screate_simple(1, &cnt, NULL);
        if (ms >= 0) {
            H5Dvlen_reclaim(t, ms, H5P_DEFAULT, tmp);
            H5Sclose(ms);
        }
    }
    free(tmp);
    if (d >= 0)
        H5Dclose(d);
    if (t >= 0)
        H5Tclose(t);
    return st;
}
