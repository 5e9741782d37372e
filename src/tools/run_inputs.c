/*
 * run_inputs.c — the client's inputs of `mpct run`, streamed (run_inputs.h).
 *
 * Memory per row after the first pass: the words dropped (4 bytes) and a
 * record start every RUN_IN_MARK rows; during the first pass and the repeat
 * check also an 8-byte hash of the row's token ids (and the sort's index).
 * Equal hashes are confirmed by making both rows' ids again, so a hash
 * collision never reports a repeat.
 */
#include "run_inputs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RUN_IN_MARK 64

/* Grows the array *p of *cap elements of size el to hold need (contents kept). */
static mpct_status grow(void **p, size_t *cap, size_t need, size_t el, int secret)
{
    if (need <= *cap)
        return MPCT_OK;
    size_t nc = *cap ? 2 * *cap : 1024;
    while (nc < need)
        nc *= 2;
    void *q = secret ? mpct_alloc(nc * el) : malloc(nc * el);
    if (!q)
        return mpct_error_set(MPCT_ERR_NOMEM, "inputs: out of memory at row %zu", need);
    if (*p && *cap)
        memcpy(q, *p, *cap * el);
    if (secret)
        mpct_free_secret(*p);
    else
        free(*p);
    *p = q;
    *cap = nc;
    return MPCT_OK;
}

static uint64_t row_hash(const int32_t *ids, size_t count)
{
    uint64_t h = 0x9e3779b97f4a7c15ull ^ count;
    for (size_t k = 0; k < count; k++) {
        h ^= (uint32_t)ids[k];
        h *= 0xff51afd7ed558ccdull;
        h ^= h >> 29;
    }
    return h;
}

/* Tokenises one record (messages name its line). */
static mpct_status encode(run_inputs *in, mpct_tok_lines *ln, const mpct_rec *rec, int32_t *ids, size_t *got,
                          size_t *dropped)
{
    ln->line = rec->line - 1;
    if (in->fmt == MPCT_REC_IDS) { /* pre-tokenised: the ids as given, cut to seq (the rest counted as dropped) */
        size_t total = 0;
        MPCT_CALL(mpct_rec_parse_ids(in->path, rec->line, rec->text, rec->text_len, mpct_tok_vocab_size(in->tok),
                                     ids, in->seq, got, &total));
        *dropped = total - *got;
        return MPCT_OK;
    }
    return mpct_tok_encode_line(in->tok, ln, rec->text, rec->text_len, in->seq, ids, in->mask, got, dropped);
}

mpct_status run_in_open(const mpct_job *job, const mpct_tok_t *tok, int warn, int summary, run_inputs *in)
{
    memset(in, 0, sizeof *in);
    in->tok = tok;
    in->seq = (size_t)job->seq_len;
    in->has_ids = job->id_field[0] != 0;
    snprintf(in->path, sizeof in->path, "%s", job->inputs);
    mpct_tok_lines ln = {.path = job->inputs};
    size_t mcap = 0, lcap = 0, dcap = 0, hcap = 0, got = 0, dropped = 0;
    int more = 1;
    mpct_rec rec;
    mpct_status st = mpct_rec_format_parse(job->input_format, job->inputs, &in->fmt);
    if (st == MPCT_OK)
        st = mpct_rec_open(job->inputs, in->fmt, job->text_field, job->id_field, &in->rd);
    in->mask = st == MPCT_OK ? mpct_alloc(in->seq) : NULL;
    in->ids = st == MPCT_OK ? mpct_alloc(in->seq * sizeof *in->ids) : NULL;
    if (st == MPCT_OK && (!in->mask || !in->ids))
        st = mpct_error_set(MPCT_ERR_NOMEM, "inputs: out of memory");
    while (st == MPCT_OK && (st = mpct_rec_next(in->rd, &rec, &more)) == MPCT_OK && more) {
        size_t i = in->n;
        if (i % RUN_IN_MARK == 0) {
            MPCT_CALL_GOTO(st, done, grow((void **)&in->mark_off, &mcap, i / RUN_IN_MARK + 1, sizeof(int64_t), 0));
            MPCT_CALL_GOTO(st, done, grow((void **)&in->mark_line, &lcap, i / RUN_IN_MARK + 1, sizeof(size_t), 0));
            in->mark_off[i / RUN_IN_MARK] = rec.offset;
            in->mark_line[i / RUN_IN_MARK] = rec.line;
        }
        MPCT_CALL_GOTO(st, done, grow((void **)&in->dropped, &dcap, i + 1, sizeof(int32_t), 0));
        MPCT_CALL_GOTO(st, done, grow((void **)&in->hash, &hcap, i + 1, sizeof(uint64_t), 1));
        MPCT_CALL_GOTO(st, done, encode(in, &ln, &rec, in->ids, &got, &dropped));
        if (dropped && warn)
            mpct_warnf("mpct run: warning: %s:%zu: input truncated to %zu tokens (%zu word pieces dropped)\n",
                    job->inputs, rec.line, in->seq, dropped);
        in->dropped[i] = (int32_t)dropped;
        in->hash[i] = row_hash(in->ids, got);
        in->n++;
    }
    if (st == MPCT_OK)
        st = mpct_rec_sha256(in->rd, in->sha);
    in->next_row = in->n;
    if (st == MPCT_OK && in->n == 0)
        st = mpct_error_set(MPCT_ERR_ARG, "the inputs file '%s' is empty: nothing to compute", job->inputs);
done:
    if (st != MPCT_OK) {
        run_in_free(in);
        return st;
    }
    if (summary)
        mpct_tok_lines_warn(&ln, "mpct run");
    return MPCT_OK;
}

/* Puts the reader at row `row`'s record. */
static mpct_status goto_row(run_inputs *in, size_t row)
{
    if (row == in->next_row)
        return MPCT_OK;
    MPCT_CALL(mpct_rec_seek(in->rd, in->mark_off[row / RUN_IN_MARK], in->mark_line[row / RUN_IN_MARK]));
    in->next_row = row / RUN_IN_MARK * RUN_IN_MARK;
    mpct_rec rec;
    int more = 1;
    while (in->next_row < row) {
        MPCT_CALL(mpct_rec_next(in->rd, &rec, &more));
        if (!more)
            return mpct_error_set(MPCT_ERR_IO, "%s: the inputs file changed during the run (it ends before row %zu)",
                                  in->path, row + 1);
        in->next_row++;
    }
    return MPCT_OK;
}

/* Real rows [first, first + n) into ids (n x seq) and count. */
static mpct_status read_rows(run_inputs *in, size_t first, size_t n, int32_t *ids, int32_t *count)
{
    mpct_tok_lines ln = {.path = in->path};
    MPCT_CALL(goto_row(in, first));
    for (size_t i = 0; i < n; i++) {
        mpct_rec rec;
        int more = 1;
        size_t got = 0, dropped = 0;
        MPCT_CALL(mpct_rec_next(in->rd, &rec, &more));
        if (more)
            MPCT_CALL(encode(in, &ln, &rec, ids + i * in->seq, &got, &dropped));
        in->next_row++;
        if (!more || (int32_t)dropped != in->dropped[first + i])
            return mpct_error_set(MPCT_ERR_IO, "%s: the inputs file changed during the run (row %zu is not what it "
                                  "was when the run began)", in->path, first + i + 1);
        count[i] = (int32_t)got;
    }
    return MPCT_OK;
}

mpct_status run_in_block(run_inputs *in, size_t first, size_t n)
{
    if (n > in->bcap) {
        mpct_free_secret(in->ids);
        mpct_free_secret(in->count);
        in->ids = mpct_alloc(n * in->seq * sizeof *in->ids);
        in->count = mpct_alloc(n * sizeof *in->count);
        in->bcap = in->ids && in->count ? n : 0;
        if (!in->bcap)
            return mpct_error_set(MPCT_ERR_NOMEM, "inputs: out of memory for a block of %zu rows", n);
    }
    const size_t rows = in->map ? in->nmap : in->n;
    size_t real = first >= rows ? 0 : first + n <= rows ? n : rows - first;
    if (real && !in->map)
        MPCT_CALL(read_rows(in, first, real, in->ids, in->count));
    for (size_t i = 0; in->map && i < real; i++)
        MPCT_CALL(read_rows(in, in->map[first + i], 1, in->ids + i * in->seq, in->count + i));
    if (real < n) /* hide_lengths padding: copies of the first row computed */
        MPCT_CALL(read_rows(in, in->map ? in->map[0] : 0, 1, in->ids + real * in->seq, in->count + real));
    for (size_t i = real + 1; i < n; i++) {
        memcpy(in->ids + i * in->seq, in->ids + real * in->seq, in->seq * sizeof *in->ids);
        in->count[i] = in->count[real];
    }
    return MPCT_OK;
}

static const uint64_t *cmp_hash;
static int cmp_rows(const void *a, const void *b)
{
    const size_t i = *(const size_t *)a, j = *(const size_t *)b;
    if (cmp_hash[i] != cmp_hash[j])
        return cmp_hash[i] < cmp_hash[j] ? -1 : 1;
    return (i > j) - (i < j); /* equal hashes in row order */
}

/* Within one run of equal hashes ord[k0..k1): rep[j] = the first earlier row
 * with the same ids. heads holds the distinct rows seen (ids made again). */
static mpct_status confirm(run_inputs *in, const size_t *ord, size_t k0, size_t k1, size_t *rep, int32_t *heads,
                           int32_t *hcount, size_t *hrow, size_t hmax)
{
    size_t nh = 0;
    for (size_t k = k0; k < k1; k++) {
        const size_t j = ord[k];
        int32_t *row = heads + hmax * in->seq, cnt = 0; /* the scratch row after the heads */
        MPCT_CALL(read_rows(in, j, 1, row, &cnt));
        size_t h = 0;
        while (h < nh && (hcount[h] != cnt || memcmp(heads + h * in->seq, row, (size_t)cnt * sizeof *row)))
            h++;
        if (h < nh)
            rep[j] = hrow[h];
        else if (nh < hmax) {
            memcpy(heads + nh * in->seq, row, in->seq * sizeof *row);
            hcount[nh] = cnt, hrow[nh++] = j;
        }
    }
    return MPCT_OK;
}

mpct_status run_in_row(run_inputs *in, size_t row, int32_t *ids, int32_t *count)
{
    return read_rows(in, row, 1, ids, count);
}

mpct_status run_in_repeats(run_inputs *in, size_t *count, size_t first[MPCT_TOK_LINES_SHOWN],
                           size_t of[MPCT_TOK_LINES_SHOWN], size_t **rep_out)
{
    enum { HMAX = 16 }; /* distinct rows per hash kept (more would need 2^64 luck) */
    size_t *ord = malloc(in->n * sizeof *ord), *rep = malloc(in->n * sizeof *rep), shown = 0, hrow[HMAX];
    int32_t *heads = mpct_alloc((HMAX + 1) * in->seq * sizeof *heads), hcount[HMAX];
    mpct_status st = MPCT_OK;
    if (!ord || !rep || !heads)
        st = mpct_error_set(MPCT_ERR_NOMEM, "inputs: out of memory");
    for (size_t i = 0; st == MPCT_OK && i < in->n; i++)
        ord[i] = i, rep[i] = SIZE_MAX;
    if (st == MPCT_OK) {
        cmp_hash = in->hash;
        qsort(ord, in->n, sizeof *ord, cmp_rows);
    }
    for (size_t k0 = 0, k1; st == MPCT_OK && k0 < in->n; k0 = k1) {
        for (k1 = k0 + 1; k1 < in->n && in->hash[ord[k1]] == in->hash[ord[k0]];)
            k1++;
        if (k1 - k0 > 1)
            st = confirm(in, ord, k0, k1, rep, heads, hcount, hrow, HMAX);
    }
    *count = 0;
    for (size_t j = 0; st == MPCT_OK && j < in->n; j++)
        if (rep[j] != SIZE_MAX && (*count)++ < MPCT_TOK_LINES_SHOWN)
            first[shown] = j + 1, of[shown++] = rep[j] + 1;
    free(ord);
    if (rep_out && st == MPCT_OK)
        *rep_out = rep;
    else
        free(rep);
    mpct_free_secret(heads);
    mpct_free_secret(in->hash);
    in->hash = NULL;
    return st;
}

mpct_status run_in_ids(run_inputs *in, size_t first, size_t n, const char **ids, char **buf)
{
    *buf = NULL;
    size_t cap = 0, len = 0, *at = malloc((n ? n : 1) * sizeof *at);
    mpct_status st = at ? goto_row(in, first) : mpct_error_set(MPCT_ERR_NOMEM, "inputs: out of memory");
    for (size_t i = 0; st == MPCT_OK && i < n; i++) {
        mpct_rec rec;
        int more = 1;
        st = mpct_rec_next(in->rd, &rec, &more);
        in->next_row++;
        if (st == MPCT_OK && !more)
            st = mpct_error_set(MPCT_ERR_IO, "%s: the inputs file changed during the run (it ends before row %zu)",
                                in->path, first + i + 1);
        if (st == MPCT_OK)
            st = grow((void **)buf, &cap, len + rec.id_len + 1, 1, 0);
        if (st == MPCT_OK) {
            memcpy(*buf + len, rec.id, rec.id_len);
            (*buf)[len + rec.id_len] = '\0';
            at[i] = len;
            len += rec.id_len + 1;
        }
    }
    for (size_t i = 0; st == MPCT_OK && i < n; i++)
        ids[i] = *buf + at[i];
    free(at);
    if (st != MPCT_OK) {
        free(*buf);
        *buf = NULL;
    }
    return st;
}

void run_in_free(run_inputs *in)
{
    mpct_rec_close(in->rd);
    free(in->mark_off);
    free(in->mark_line);
    free(in->dropped);
    mpct_free_secret(in->hash);
    free(in->map);
    mpct_free_secret(in->ids);
    mpct_free_secret(in->count);
    mpct_free_secret(in->mask);
    memset(in, 0, sizeof *in);
}
