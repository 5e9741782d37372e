/*
 * tok_h5.c — loads the WordPiece vocabulary stored in an mpct model file.
 *
 * The model file (io/FORMAT.md) keeps vocab.txt verbatim as the 1-D unsigned
 * 8-bit dataset MPCT_TOK_H5_DATASET ("/tokenizer/vocab_txt"); this file reads
 * only that dataset and hands the bytes to mpct_tok_load_vocab_mem.
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
    if (H5Lexists(file, "/tokenizer", H5P_DEFAULT) <= 0 ||
        H5Lexists(file, MPCT_TOK_H5_DATASET, H5P_DEFAULT) <= 0) {
        st = mpct_error_set(MPCT_ERR_FORMAT,
                            "%s: no dataset %s (the model file carries no tokenizer "
                            "vocabulary; use --vocab vocab.txt instead)",
                            path, MPCT_TOK_H5_DATASET);
        goto done;
    }
    dset = H5Dopen2(file, MPCT_TOK_H5_DATASET, H5P_DEFAULT);
    if (dset < 0) {
        st = mpct_error_set(MPCT_ERR_FORMAT, "%s: %s is not a dataset", path, MPCT_TOK_H5_DATASET);
        goto done;
    }
    type = H5Dget_type(dset);
    space = H5Dget_space(dset);
    if (type < 0 || space < 0) {
        st = mpct_error_set(MPCT_ERR_FORMAT, "%s: cannot read type and shape of %s", path,
                            MPCT_TOK_H5_DATASET);
        goto done;
    }
    if (H5Tget_class(type) != H5T_INTEGER || H5Tget_size(type) != 1 ||
        H5Tget_sign(type) != H5T_SGN_NONE) {
        st = mpct_error_set(MPCT_ERR_FORMAT,
                            "%s: %s must have type uint8 (the bytes of vocab.txt), found class "
                            "%d of %zu bytes",
                            path, MPCT_TOK_H5_DATASET, (int)H5Tget_class(type),
                            H5Tget_size(type));
        goto done;
    }
    if (H5Sget_simple_extent_ndims(space) != 1) {
        st = mpct_error_set(MPCT_ERR_FORMAT, "%s: %s must be 1-D, found rank %d", path,
                            MPCT_TOK_H5_DATASET, H5Sget_simple_extent_ndims(space));
        goto done;
    }
    hsize_t dim = 0;
    H5Sget_simple_extent_dims(space, &dim, NULL);
    n = (size_t)dim;
    buf = malloc(n ? n : 1);
    if (buf == NULL) {
        st = mpct_error_set(MPCT_ERR_NOMEM, "%s: cannot allocate %zu bytes for %s", path, n,
                            MPCT_TOK_H5_DATASET);
        goto done;
    }
    if (n > 0 && H5Dread(dset, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0) {
        st = mpct_error_set(MPCT_ERR_IO, "%s: cannot read dataset %s", path, MPCT_TOK_H5_DATASET);
        goto done;
    }

    char name[1200];
    snprintf(name, sizeof name, "%s:%s", path, MPCT_TOK_H5_DATASET);
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
