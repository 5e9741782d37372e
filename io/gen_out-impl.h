/*
 * gen_out-impl.h — what io/gen_out.c (life cycle, JSONL) and
 * io/gen_out_h5.c (HDF5) share of an open generation output.
 */
#ifndef MPCT_GEN_OUT_IMPL_H
#define MPCT_GEN_OUT_IMPL_H

#include "mpct_gen_out.h"

#include <hdf5.h>
#include <stdio.h>

typedef struct gout_sb {
    char *v;
    size_t n, cap;
} gout_sb;

struct mpct_gout {
    mpct_gout_meta meta; /* pointers borrowed from the caller for the file's life */
    char path[4096];
    int jsonl;
    size_t done;
    FILE *f;    /* JSONL */
    gout_sb sb; /* JSONL: the line being built */
    hid_t h5;   /* HDF5 file, -1 when none */
};

/* The sampling settings as text: "greedy" or "temperature=T top_k=K". */
void gout_sampling(const mpct_gout_meta *m, char *s, size_t cap);
mpct_status gout_partial_path(const char *path, char *partial, size_t cap) MPCT_WUR;
/* HDF5: rows done of an existing file (read-only look). */
mpct_status gout_h5_rows(const char *partial, size_t *rows) MPCT_WUR;
mpct_status gout_h5_open(struct mpct_gout *o, const char *partial, int resume) MPCT_WUR;
mpct_status gout_h5_write(struct mpct_gout *o, const mpct_gout_row *r) MPCT_WUR;
/* Closes o->h5; complete: sets the complete attribute first. */
mpct_status gout_h5_close(struct mpct_gout *o, int complete) MPCT_WUR;

#endif
