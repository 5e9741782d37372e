/*
 * cmd_compare.c — `mpct compare A.h5 B.h5`: fidelity of two output files of
 * `mpct run` (e.g. secure vs --plaintext): per-row cosine similarity of the
 * embeddings (mean, min), max abs difference, and label agreement for
 * classification outputs. --min-cosine / --mean-cosine / --min-agreement turn
 * it into a check (exit 1 when missed).
 *
 * MPCT_COMMAND(compare, 0, "compare two mpct run output files (cosine, label agreement)")
 */
#include "mpct_core.h"
#include "opt.h"

#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct outfile {
    size_t n, dim, nl;
    double *emb, *logits;
    int32_t *label;
} outfile;

static int read_ds(hid_t f, const char *name, hid_t type, size_t *rows, size_t *cols, void **buf, size_t esize)
{
    if (H5Lexists(f, name, H5P_DEFAULT) <= 0)
        return 1;
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
    if (d < 0)
        return -1;
    hid_t sp = H5Dget_space(d);
    hsize_t dims[2] = {0, 1};
    int nd = H5Sget_simple_extent_dims(sp, dims, NULL);
    H5Sclose(sp);
    if (nd < 1 || nd > 2) {
        H5Dclose(d);
        return -1;
    }
    *rows = (size_t)dims[0];
    *cols = nd == 2 ? (size_t)dims[1] : 1;
    *buf = malloc((*rows) * (*cols) * esize + 1);
    int rc = *buf && H5Dread(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, *buf) >= 0 ? 0 : -1;
    H5Dclose(d);
    return rc;
}

static int load(const char *path, outfile *o)
{
    memset(o, 0, sizeof *o);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) {
        fprintf(stderr, "mpct compare: error: cannot open '%s' as HDF5 (is it an mpct run output?)\n", path);
        return 1;
    }
    size_t r = 0, c = 0;
    int rc = read_ds(f, "/embedding", H5T_NATIVE_DOUBLE, &o->n, &o->dim, (void **)&o->emb, sizeof(double));
    if (rc != 0) {
        fprintf(stderr, "mpct compare: error: '%s' has no readable /embedding dataset\n", path);
        H5Fclose(f);
        return 1;
    }
    if (read_ds(f, "/logits", H5T_NATIVE_DOUBLE, &r, &o->nl, (void **)&o->logits, sizeof(double)) == 0 &&
        read_ds(f, "/label", H5T_NATIVE_INT32, &r, &c, (void **)&o->label, sizeof(int32_t)) != 0) {
        fprintf(stderr, "mpct compare: error: '%s' has /logits but no /label\n", path);
        H5Fclose(f);
        return 1;
    }
    if (!o->logits)
        o->nl = 0;
    H5Fclose(f);
    return 0;
}

static const mpct_opt compare_opts[] = {
    {"min-cosine", 0, "X", "exit 1 when a row's cosine similarity is below X"},
    {"mean-cosine", 0, "X", "exit 1 when the mean cosine similarity is below X"},
    {"min-agreement", 0, "X", "exit 1 when the fraction of rows with the same label is below X"},
    {"quiet", 'q', NULL, "print nothing; the exit status tells"},
};

static const mpct_opt_cmd compare_cmd = {
    .name = "compare",
    .usage = "mpct compare [--min-cosine X] [--mean-cosine X] [--min-agreement X] [--quiet] A.h5 B.h5",
    .about = "Compares two output files of mpct run row by row: cosine similarity of the embeddings\n"
             "(mean and min), max abs difference, logits max abs difference and label agreement.\n"
             "With thresholds, exits 1 when one is missed.\n",
    MPCT_OPT_TABLE(compare_opts),
    .exit_fail = "a threshold missed, or a file unreadable or of another shape",
};

int mpct_cmd_compare(int argc, char **argv)
{
    const char *pa = NULL, *pb = NULL;
    double min_cos = -2, mean_cos = -2, min_agree = -1;
    int quiet = 0;
    mpct_opt_iter it = mpct_opt_start(&compare_cmd, argc, argv, 1);
    int rc;
    while (mpct_opt_more(&it, &rc)) {
        if (!it.opt) {
            if (pb)
                return mpct_opt_usage_error(&compare_cmd, "expected two files, got a third ('%s')", it.value);
            *(pa ? &pb : &pa) = it.value;
            continue;
        }
        if (mpct_opt_is(&it, "quiet")) {
            quiet = 1;
            continue;
        }
        double *dst = mpct_opt_is(&it, "min-cosine") ? &min_cos : mpct_opt_is(&it, "mean-cosine") ? &mean_cos
                                                                                                 : &min_agree;
        char *end = NULL;
        *dst = strtod(it.value, &end);
        if (!it.value[0] || !end || *end) {
            fprintf(stderr, "mpct compare: error: %s needs a number, got '%s'\n", it.spelled, it.value);
            return 2;
        }
    }
    if (rc >= 0)
        return rc;
    if (!pb)
        return mpct_opt_usage_error(&compare_cmd, "expected two files A.h5 B.h5, got %s", pa ? "one" : "none");
    outfile a, b;
    if (load(pa, &a) || load(pb, &b))
        return 1;
    if (a.n != b.n || a.dim != b.dim || a.nl != b.nl) {
        fprintf(stderr, "mpct compare: error: shapes differ: %s has %zu x %zu (%zu labels), %s has %zu x %zu (%zu)\n",
                pa, a.n, a.dim, a.nl, pb, b.n, b.dim, b.nl);
        return 1;
    }
    double sum = 0, mn = 2, maxd = 0, maxl = 0;
    size_t agree = 0, worst = 0;
    for (size_t i = 0; i < a.n; i++) {
        double dot = 0, na = 0, nb = 0;
        for (size_t j = 0; j < a.dim; j++) {
            double x = a.emb[i * a.dim + j], y = b.emb[i * a.dim + j];
            dot += x * y;
            na += x * x;
            nb += y * y;
            maxd = fmax(maxd, fabs(x - y));
        }
        double c = na > 0 && nb > 0 ? dot / sqrt(na * nb) : (na == nb ? 1 : 0);
        sum += c;
        if (c < mn) {
            mn = c;
            worst = i;
        }
        for (size_t j = 0; j < a.nl; j++)
            maxl = fmax(maxl, fabs(a.logits[i * a.nl + j] - b.logits[i * a.nl + j]));
        if (a.nl)
            agree += a.label[i] == b.label[i];
    }
    double mean = a.n ? sum / (double)a.n : 1, agr = a.n ? (double)agree / (double)a.n : 1;
    if (!quiet) {
        printf("rows %zu, dim %zu: cosine mean %.6f, min %.6f (row %zu), max abs diff %.3g\n", a.n, a.dim, mean, mn,
               worst, maxd);
        if (a.nl)
            printf("labels: agreement %.4f (%zu of %zu), logits max abs diff %.3g\n", agr, agree, a.n, maxl);
    }
    int bad = 0;
    if (min_cos > -2 && mn < min_cos)
        bad = fprintf(stderr, "mpct compare: min cosine %.6f < %.6f\n", mn, min_cos) > 0;
    if (mean_cos > -2 && mean < mean_cos)
        bad = fprintf(stderr, "mpct compare: mean cosine %.6f < %.6f\n", mean, mean_cos) > 0;
    if (min_agree >= 0 && a.nl && agr < min_agree)
        bad = fprintf(stderr, "mpct compare: label agreement %.4f < %.4f\n", agr, min_agree) > 0;
    free(a.emb), free(a.logits), free(a.label), free(b.emb), free(b.logits), free(b.label);
    return bad;
}
