/*
 * run_inputs.h — the client's inputs of `mpct run`, streamed: one pass
 * over the file tokenises every record (checking it, counting what is
 * dropped, hashing each row's token ids for the repeat check); the rows'
 * token ids are then made again block by block when a range is computed,
 * so the client holds O(rows) small figures and one block of ids, never
 * the whole corpus's ids.
 *
 * Prefix: run_in_.
 *
 * Invariants:
 *  - Row i is the i-th record of the file (mpct_records.h); rows at or past
 *    n (hide_lengths padding) are copies of row 0. With a row map (dedup,
 *    run_dedup.h) the rows computed are rows map[0..nmap) of the file, in
 *    that order, and padding copies map[0].
 *  - The file must not change during the run: a block whose records no
 *    longer tokenise as in the first pass is an error saying so.
 *  - Token ids and row hashes are secret (the client's): wiped when freed.
 */
#ifndef MPCT_RUN_INPUTS_H
#define MPCT_RUN_INPUTS_H

#include "mpct_job.h"
#include "mpct_records.h"
#include "mpct_tok.h"

#include <stdint.h>

typedef struct run_inputs {
    const mpct_tok_t *tok;
    mpct_rec_reader *rd;
    mpct_rec_format fmt;
    char path[MPCT_JOB_PATH_MAX];
    size_t n, seq;
    int has_ids;
    char sha[65];
    int64_t *mark_off; /* record start of rows 0, RUN_IN_MARK, 2 * RUN_IN_MARK, ... */
    size_t *mark_line;
    int32_t *dropped;  /* word pieces dropped per row */
    uint64_t *hash;    /* per row, first pass to the repeat check (then NULL) */
    size_t next_row;   /* the row the reader is at */
    size_t *map, nmap; /* NULL: rows 0..n are computed; else rows map[0..nmap) (ascending) */
    /* the block last made by run_in_block: rows first.., n x seq ids */
    int32_t *ids, *count;
    uint8_t *mask;
    size_t bcap;
} run_inputs;

/* The first pass. warn: a warning per truncated record; summary: one
 * warning for records without text. */
mpct_status run_in_open(const mpct_job *job, const mpct_tok_t *tok, int warn, int summary, run_inputs *in) MPCT_WUR;
/* Computed rows [first, first + n) into in->ids (n x seq) and in->count
 * (file rows, or with a map the file rows map[first..]). */
mpct_status run_in_block(run_inputs *in, size_t first, size_t n) MPCT_WUR;
/* Rows repeating an earlier row's token ids: *count of them, the first
 * MPCT_TOK_LINES_SHOWN (1-based rows) in first[] and the rows they repeat
 * in of[]. With rep not NULL, *rep (malloc'd, n entries) = for each row the
 * first row with the same token ids (SIZE_MAX for a first occurrence).
 * Frees the row hashes. */
mpct_status run_in_repeats(run_inputs *in, size_t *count, size_t first[MPCT_TOK_LINES_SHOWN],
                           size_t of[MPCT_TOK_LINES_SHOWN], size_t **rep) MPCT_WUR;
/* File row `row`'s token ids into ids (seq entries) and *count. */
mpct_status run_in_row(run_inputs *in, size_t row, int32_t *ids, int32_t *count) MPCT_WUR;
/* The ids of rows [first, first + n) (in->has_ids): ids[i] point into *buf
 * (malloc'd, caller frees). */
mpct_status run_in_ids(run_inputs *in, size_t first, size_t n, const char **ids, char **buf) MPCT_WUR;
void run_in_free(run_inputs *in);

#endif
