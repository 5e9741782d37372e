/*
 * tok_h5.c — the tokenizer in an mpct model file: loading it
 * (mpct_tok_load_h5) and choosing it when packing a checkpoint
 * (mpct_tok_pack_read).
 *
 * The model file (io/FORMAT.md) keeps the tokenizer verbatim as a 1-D
 * unsigned 8-bit dataset: tokenizer.json as MPCT_TOK_H5_JSON
 * ("/tokenizer/tokenizer_json") or, without one, vocab.txt as
 * MPCT_TOK_H5_DATASET ("/tokenizer/vocab_txt"); this file reads the first of
 * them present and hands the bytes to mpct_tok_load_vocab_mem, which tells
 * the two apart.
 *
 * Invariants: HDF5's automatic error printing is switched off while this file
 * calls HDF5 and restored on every exit path; every HDF5 handle opened here is
 * closed on every exit path.
 */
#include "mpct_tok.h"

#include <assert.h>
#include <errno.h>
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

mpct_status mpct_tok_load_h5(const char *path, mpct_tok_t **out)
{
    assert(path != NULL && out != NULL);
    *out = NULL;

    /* HDF5 reports a missing file as a generic open failure: check first. */
    FILE *probe = fopen(path, "rb");
    if (probe == NULL)
        return mpct_error_set(MPCT_ERR_IO, "cannot open model file %s: %s", path,
                              strerror(errno));
    fclose(probe);

    H5E_auto2_t old_func = NULL;
    void *old_data = NULL;
    H5Eget_auto2(H5E_DEFAULT, &old_func, &old_data);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);

    mpct_status st = MPCT_OK;
    hid_t file = H5I_INVALID_HID, dset = H5I_INVALID_HID, type = H5I_INVALID_HID,
          space = H5I_INVALID_HID;
    unsigned char *buf = NULL;
    size_t n = 0;

#if H5_VERSION_GE(1, 12, 0)
    htri_t is_h5 = H5Fis_accessible(path, H5P_DEFAULT);
#else
    htri_t is_h5 = H5Fis_hdf5(path);
#endif
    if (is_h5 <= 0) {
        st = mpct_error_set(MPCT_ERR_FORMAT, "%s is not an HDF5 file (expected an mpct model)",
                            path);
        goto done;
    }
    file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (file < 0) {
        st = mpct_error_set(MPCT_ERR_IO, "cannot open HDF5 file %s", path);
        goto done;
    }
    int has_tok = H5Lexists(file, "/tokenizer", H5P_DEFAULT) > 0;
    const char *dname = has_tok && H5Lexists(file, MPCT_TOK_H5_JSON, H5P_DEFAULT) > 0 ? MPCT_TOK_H5_JSON
                                                                                      : MPCT_TOK_H5_DATASET;
    if (!has_tok || H5Lexists(file, dname, H5P_DEFAULT) <= 0) {
        st = mpct_error_set(MPCT_ERR_FORMAT,
                            "%s: no dataset %s or %s (the model file carries no tokenizer; use --vocab "
                            "vocab.txt instead)",
                            path, MPCT_TOK_H5_JSON, MPCT_TOK_H5_DATASET);
        goto done;
    }
    dset = H5Dopen2(file, dname, H5P_DEFAULT);
    if (dset < 0) {
        st = mpct_error_set(MPCT_ERR_FORMAT, "%s: %s is not a dataset", path, dname);
        goto done;
    }
    type = H5Dget_type(dset);
    space = H5Dget_space(dset);
    if (type < 0 || space < 0) {
        st = mpct_error_set(MPCT_ERR_FORMAT, "%s: cannot read type and shape of %s", path,
                            dname);
        goto done;
    }
    if (H5Tget_class(type) != H5T_INTEGER || H5Tget_size(type) != 1 ||
        H5Tget_sign(type) != H5T_SGN_NONE) {
        st = mpct_error_set(MPCT_ERR_FORMAT,
                            "%s: %s must have type uint8 (the bytes of the tokenizer file), found class "
                            "%d of %zu bytes",
                            path, dname, (int)H5Tget_class(type),
                            H5Tget_size(type));
        goto done;
    }
    if (H5Sget_simple_extent_ndims(space) != 1) {
        st = mpct_error_set(MPCT_ERR_FORMAT, "%s: %s must be 1-D, found rank %d", path,
                            dname, H5Sget_simple_extent_ndims(space));
        goto done;
    }
    hsize_t dim = 0;
    H5Sget_simple_extent_dims(space, &dim, NULL);
    n = (size_t)dim;
    buf = malloc(n ? n : 1);
    if (buf == NULL) {
        st = mpct_error_set(MPCT_ERR_NOMEM, "%s: cannot allocate %zu bytes for %s", path, n,
                            dname);
        goto done;
    }
    if (n > 0 && H5Dread(dset, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0) {
        st = mpct_error_set(MPCT_ERR_IO, "%s: cannot read dataset %s", path, dname);
        goto done;
    }

    char name[1200];
    snprintf(name, sizeof name, "%s:%s", path, dname);
    MPCT_CALL_GOTO(st, done, mpct_tok_load_vocab_mem(buf, n, name, out));

done:
    free(buf);
    if (space >= 0)
        H5Sclose(space);
    if (type >= 0)
        H5Tclose(type);
    if (dset >= 0)
        H5Dclose(dset);
    if (file >= 0)
        H5Fclose(file);
    H5Eset_auto2(H5E_DEFAULT, old_func, old_data);
    return st;
}

mpct_status mpct_tok_pack_read(const char *dir, int64_t vocab_size, char **bytes, size_t *len, int *is_json,
                               FILE *report)
{
    return mpct_tok_pack_read_pad(dir, vocab_size, 1, bytes, len, is_json, report);
}

mpct_status mpct_tok_pack_read_pad(const char *dir, int64_t vocab_size, int need_pad, char **bytes, size_t *len,
                                   int *is_json, FILE *report)
{
    char path[4096];
    *bytes = NULL;
    *len = 0;
    *is_json = 0;
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return errno == ENOENT ? MPCT_OK
                               : mpct_error_set(MPCT_ERR_IO, "cannot open %s: %s", path, strerror(errno));
    size_t cap = 1 << 20, n = 0;
    char *b = malloc(cap);
    for (size_t got = 1; b && got > 0;) {
        if (n == cap) {
            char *nb = cap < (512u << 20) ? realloc(b, cap * 2) : NULL;
            if (nb == NULL) {
                free(b);
                fclose(f);
                return mpct_error_set(MPCT_ERR_NOMEM, "%s: more than %zu bytes, or out of memory", path, cap);
            }
            b = nb;
            cap *= 2;
        }
        got = fread(b + n, 1, cap - n, f);
        n += got;
    }
    int err = b == NULL || ferror(f);
    fclose(f);
    if (err) {
        free(b);
        return mpct_error_set(MPCT_ERR_IO, "cannot read %s", path);
    }
    mpct_tok_t *tok = NULL;
    mpct_status st = mpct_tok_load_json_mem_pad(b, n, path, need_pad, &tok);
    if (st == MPCT_OK && (int64_t)mpct_tok_vocab_size(tok) > vocab_size)
        st = mpct_error_set(MPCT_ERR_FORMAT, "%s: %zu token ids, but config.json says vocab_size = %lld", path,
                            mpct_tok_vocab_size(tok), (long long)vocab_size);
    if (st == MPCT_OK && report) {
        size_t before = 0, after = 0;
        mpct_tok_affixes(tok, &before, &after);
        fprintf(report, "tokenizer: %s (%s, %zu ids, %zu special token%s around the text)\n", path,
                mpct_tok_model_name(tok), mpct_tok_vocab_size(tok), before + after, before + after == 1 ? "" : "s");
    }
    mpct_tok_free(tok);
    if (st != MPCT_OK) {
        free(b);
        return st;
    }
    *bytes = b;
    *len = n;
    *is_json = 1;
    return MPCT_OK;
}
