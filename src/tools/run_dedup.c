/*
 * run_dedup.c — computing each distinct input once, and none the client's
 * result cache answers (run_dedup.h).
 *
 * Entry file layout (host byte order; the cache is the client's own):
 *   "MPCTRC1\n", uint32 L, L bytes "model=<hash>\nsettings=<settings>\n",
 *   uint32 count, int32 ids[count], double emb[dim], double logits[nl],
 *   int32 label, int32 tokens — and nothing after.
 * dim and nl are in the settings, so a file of other sizes never matches.
 */
#define _POSIX_C_SOURCE 200809L
#include "run_dedup.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DD_MAGIC "MPCTRC1\n"
#define DD_BLOCK 256

mpct_status run_dd_unique_path(const char *output, char *path, size_t cap)
{
    if ((size_t)snprintf(path, cap, "%s.unique.h5", output) >= cap)
        return mpct_error_set(MPCT_ERR_ARG, "output path '%s' is too long for its computed rows' file", output);
    return MPCT_OK;
}

/* Hex SHA-256 of the model hash, the settings and the row's ids. */
static mpct_status dd_key(const run_dedup *dd, const int32_t *ids, int32_t count, char hex[65])
{
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    unsigned char md[32];
    unsigned int len = 0;
    const uint32_t cnt = (uint32_t)count;
    int ok = c && EVP_DigestInit_ex(c, EVP_sha256(), NULL) == 1 &&
             EVP_DigestUpdate(c, "mpct-result-cache-1", 20) == 1 &&
             EVP_DigestUpdate(c, dd->model_hash, strlen(dd->model_hash) + 1) == 1 &&
             EVP_DigestUpdate(c, dd->settings, strlen(dd->settings) + 1) == 1 &&
             EVP_DigestUpdate(c, &cnt, sizeof cnt) == 1 &&
             EVP_DigestUpdate(c, ids, (size_t)count * sizeof *ids) == 1 && EVP_DigestFinal_ex(c, md, &len) == 1;
    EVP_MD_CTX_free(c);
    if (!ok)
        return mpct_error_set(MPCT_ERR_CRYPTO, "result cache: SHA-256 unavailable");
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    return MPCT_OK;
}

static void dd_entry_path(const mpct_job *job, const char *key, char *path, size_t cap)
{
    snprintf(path, cap, "%s/%.2s/%s.row", job->result_cache, key, key);
}

/* The header text of this run's entries. */
static int dd_header(const run_dedup *dd, char *h, size_t cap)
{
    return snprintf(h, cap, "model=%s\nsettings=%s\n", dd->model_hash, dd->settings);
}

/* Reads the entry of a row: 1 found and every field matches (results in
 * emb/lg/label/tokens), 0 absent; a file that does not match is 0 and
 * counted in *foreign. */
static mpct_status dd_entry_read(const mpct_job *job, const run_dedup *dd, const int32_t *ids, int32_t count,
                                 double *emb, double *lg, int32_t *label, int32_t *tokens, int *found,
                                 size_t *foreign)
{
    char key[65], path[MPCT_JOB_PATH_MAX + 80], want[512], got[512];
    *found = 0;
    MPCT_CALL(dd_key(dd, ids, count, key));
    dd_entry_path(job, key, path, sizeof path);
    FILE *f = fopen(path, "rb");
    if (!f)
        return MPCT_OK;
    const uint32_t hl = (uint32_t)dd_header(dd, want, sizeof want);
    char magic[8];
    uint32_t l = 0, cnt = 0;
    int32_t *fid = malloc(((size_t)count ? (size_t)count : 1) * sizeof *fid);
    int ok = fid && fread(magic, 1, 8, f) == 8 && !memcmp(magic, DD_MAGIC, 8) && fread(&l, sizeof l, 1, f) == 1 &&
             l == hl && fread(got, 1, l, f) == l && !memcmp(got, want, l) && fread(&cnt, sizeof cnt, 1, f) == 1 &&
             cnt == (uint32_t)count && fread(fid, sizeof *fid, cnt, f) == cnt &&
             !memcmp(fid, ids, cnt * sizeof *fid) && fread(emb, sizeof *emb, dd->dim, f) == dd->dim &&
             fread(lg, sizeof *lg, dd->nl, f) == dd->nl && fread(label, sizeof *label, 1, f) == 1 &&
             fread(tokens, sizeof *tokens, 1, f) == 1 && fgetc(f) == EOF;
    fclose(f);
    if (fid)
        mpct_wipe(fid, (size_t)count * sizeof *fid);
    free(fid);
    if (!ok && (*foreign)++ == 0 && dd->speak)
        mpct_warnf("mpct run: warning: result cache: '%s' is not this row's entry (stale, foreign or "
                        "damaged): the row is computed and the entry replaced\n", path);
    *found = ok;
    return MPCT_OK;
}

/* Writes a row's entry under a temporary name, then renames it. */
static mpct_status dd_entry_write(const mpct_job *job, const run_dedup *dd, const int32_t *ids, int32_t count,
                                  const double *emb, const double *lg, int32_t label, int32_t tokens)
{
    char key[65], path[MPCT_JOB_PATH_MAX + 80], tmp[MPCT_JOB_PATH_MAX + 120], h[512];
    MPCT_CALL(dd_key(dd, ids, count, key));
    snprintf(path, sizeof path, "%s/%.2s", job->result_cache, key);
    if (mkdir(path, 0700) && errno != EEXIST)
        return mpct_error_set(MPCT_ERR_IO, "result cache: cannot create '%s': %s", path, strerror(errno));
    dd_entry_path(job, key, path, sizeof path);
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "wb");
    if (!f)
        return mpct_error_set(MPCT_ERR_IO, "result cache: cannot create '%s': %s", tmp, strerror(errno));
    const uint32_t l = (uint32_t)dd_header(dd, h, sizeof h), cnt = (uint32_t)count;
    int ok = fwrite(DD_MAGIC, 1, 8, f) == 8 && fwrite(&l, sizeof l, 1, f) == 1 && fwrite(h, 1, l, f) == l &&
             fwrite(&cnt, sizeof cnt, 1, f) == 1 && fwrite(ids, sizeof *ids, cnt, f) == cnt &&
             fwrite(emb, sizeof *emb, dd->dim, f) == dd->dim && fwrite(lg, sizeof *lg, dd->nl, f) == dd->nl &&
             fwrite(&label, sizeof label, 1, f) == 1 && fwrite(&tokens, sizeof tokens, 1, f) == 1;
    ok = !fclose(f) && ok;
    if (!ok || rename(tmp, path)) {
        remove(tmp);
        return mpct_error_set(MPCT_ERR_IO, "result cache: cannot write '%s': %s", path, strerror(errno));
    }
    return MPCT_OK;
}

/* hit[] for the first occurrences the cache answers; *foreign counts bad entries. */
static mpct_status dd_lookup(const mpct_job *job, run_inputs *in, run_dedup *dd)
{
    if (mkdir(job->result_cache, 0700) && errno != EEXIST)
        return mpct_error_set(MPCT_ERR_IO, "result cache: cannot create the directory '%s': %s", job->result_cache,
                              strerror(errno));
    int32_t *ids = mpct_alloc(in->seq * sizeof *ids), cnt = 0, label = 0, tok = 0;
    double *emb = malloc((dd->dim + dd->nl + 1) * sizeof *emb);
    mpct_status st = ids && emb ? MPCT_OK : mpct_error_set(MPCT_ERR_NOMEM, "result cache: out of memory");
    size_t foreign = 0;
    for (size_t r = 0; st == MPCT_OK && r < dd->n; r++) {
        if (dd->rep[r] != SIZE_MAX)
            continue;
        int found = 0;
        st = run_in_row(in, r, ids, &cnt);
        if (st == MPCT_OK)
            st = dd_entry_read(job, dd, ids, cnt, emb, emb + dd->dim, &label, &tok, &found, &foreign);
        dd->hit[r] = (uint8_t)found;
    }
    mpct_free_secret(ids);
    free(emb);
    return st;
}

/* src[] and the row map from rep[] and hit[]. */
static mpct_status dd_map(run_inputs *in, run_dedup *dd)
{
    size_t u = 0;
    for (size_t r = 0; r < dd->n; r++)
        u += dd->rep[r] == SIZE_MAX && !dd->hit[r];
    if (u == 0) { /* every row answered: the job still computes one (it needs a row) */
        dd->hit[0] = 0;
        u = 1;
    }
    free(in->map);
    if (!(in->map = malloc(u * sizeof *in->map)))
        return mpct_error_set(MPCT_ERR_NOMEM, "dedup: out of memory");
    in->nmap = 0;
    dd->repeats = dd->hits = 0;
    for (size_t r = 0; r < dd->n; r++) {
        if (dd->rep[r] != SIZE_MAX) {
            dd->src[r] = dd->src[dd->rep[r]];
            dd->hit[r] = dd->hit[dd->rep[r]];
            dd->repeats++;
        } else if (dd->hit[r]) {
            dd->src[r] = SIZE_MAX;
            dd->hits++;
        } else {
            dd->src[r] = in->nmap;
            in->map[in->nmap++] = r;
        }
    }
    return MPCT_OK;
}

mpct_status run_dd_plan(const mpct_job *job, run_inputs *in, const char *model_hash, size_t dim, size_t nl,
                        int speak, run_dedup *dd)
{
    memset(dd, 0, sizeof *dd);
    size_t count = 0, first[MPCT_TOK_LINES_SHOWN], of[MPCT_TOK_LINES_SHOWN];
    dd->n = in->n, dd->dim = dim, dd->nl = nl, dd->speak = speak;
    snprintf(dd->model_hash, sizeof dd->model_hash, "%s", model_hash);
    snprintf(dd->settings, sizeof dd->settings, "task=%s frac_bits=%d seq_len=%d dim=%zu num_labels=%zu mode=secure "
             "test_keys=%d mpct=%s", job->task, job->frac_bits, job->seq_len, dim, nl, job->test_seed != 0,
             MPCT_VERSION_STRING);
    MPCT_CALL(run_in_repeats(in, &count, first, of, &dd->rep));
    dd->src = malloc(dd->n * sizeof *dd->src);
    dd->hit = calloc(dd->n, 1);
    if (!dd->src || !dd->hit)
        return mpct_error_set(MPCT_ERR_NOMEM, "dedup: out of memory");
    if (job->result_cache[0])
        MPCT_CALL(dd_lookup(job, in, dd));
    MPCT_CALL(dd_map(in, dd));
    if (speak && !job->quiet)
        fprintf(stderr, "mpct run: dedup: %zu rows: %zu repeat%s an earlier row, %zu from the result cache, %zu to "
                        "compute\n", dd->n, dd->repeats, dd->repeats == 1 ? "s" : "", dd->hits, in->nmap);
    return MPCT_OK;
}

/* Rows [first, first + n) of the output: from the computed file or the cache. */
static mpct_status dd_rows(const mpct_job *job, run_inputs *in, run_dedup *dd, mpct_out_t *u, size_t first,
                           size_t n, double *emb, double *lg, int32_t *lab, int32_t *tok, int32_t *ids)
{
    size_t foreign = 0;
    for (size_t i = 0; i < n; i++) {
        const size_t r = first + i;
        double *e = emb + i * dd->dim, *l = lg + i * dd->nl;
        if (dd->src[r] != SIZE_MAX) {
            MPCT_CALL(mpct_out_read(u, dd->src[r], 1, e, dd->nl ? l : NULL, dd->nl ? lab + i : NULL, tok + i));
            continue;
        }
        int32_t cnt = 0, label = 0;
        int found = 0;
        MPCT_CALL(run_in_row(in, r, ids, &cnt));
        MPCT_CALL(dd_entry_read(job, dd, ids, cnt, e, l, &label, tok + i, &found, &foreign));
        if (!found)
            return mpct_error_set(MPCT_ERR_IO, "result cache: the entry of row %zu changed during the run", r + 1);
        lab[i] = label;
    }
    return MPCT_OK;
}

/* The computed rows into the cache. */
static mpct_status dd_store(const mpct_job *job, run_inputs *in, run_dedup *dd, mpct_out_t *u, double *emb,
                            int32_t *ids)
{
    for (size_t k = 0; k < in->nmap; k++) {
        int32_t cnt = 0, label = 0, tok = 0;
        MPCT_CALL(run_in_row(in, in->map[k], ids, &cnt));
        MPCT_CALL(mpct_out_read(u, k, 1, emb, dd->nl ? emb + dd->dim : NULL, dd->nl ? &label : NULL, &tok));
        MPCT_CALL(dd_entry_write(job, dd, ids, cnt, emb, emb + dd->dim, label, tok));
    }
    return MPCT_OK;
}

mpct_status run_dd_finish(const mpct_job *job, const char *output, run_inputs *in, run_dedup *dd,
                          const mpct_out_meta *meta,
                          mpct_status (*write_inputs)(const mpct_job *, run_inputs *, mpct_out_t *))
{
    const char *unique = job->output;
    mpct_out_t *u = NULL, *out = NULL;
    mpct_out_info info;
    memset(&info, 0, sizeof info);
    MPCT_CALL(mpct_out_open_read(unique, &u, &info));
    const size_t B = DD_BLOCK;
    double *emb = malloc(B * (dd->dim + dd->nl + 1) * sizeof *emb), *lg = emb ? emb + B * dd->dim : NULL;
    int32_t *lab = malloc(2 * B * sizeof *lab), *tok = lab ? lab + B : NULL;
    int32_t *ids = mpct_alloc(in->seq * sizeof *ids);
    mpct_status st = MPCT_OK;
    if (!emb || !lab || !ids)
        st = mpct_error_set(MPCT_ERR_NOMEM, "dedup: out of memory");
    else if (info.n_inputs != in->nmap || info.rows_done != in->nmap)
        st = mpct_error_set(MPCT_ERR_FORMAT, "%s: %zu of %zu rows, expected %zu", unique, info.rows_done,
                            info.n_inputs, in->nmap);
    mpct_out_meta m = *meta;
    m.n_inputs = dd->n;
    if (st == MPCT_OK)
        st = mpct_out_open(output, &m, 0, &out);
    if (st == MPCT_OK)
        st = write_inputs(job, in, out);
    for (size_t first = 0; st == MPCT_OK && first < dd->n; first += B) {
        const size_t n = dd->n - first < B ? dd->n - first : B;
        st = dd_rows(job, in, dd, u, first, n, emb, lg, lab, tok, ids);
        if (st == MPCT_OK)
            st = mpct_out_write(out, first, n, emb, dd->nl ? lg : NULL, dd->nl ? lab : NULL, tok);
    }
    if (st == MPCT_OK) {
        st = mpct_out_close(out, 1);
        out = NULL;
    }
    if (st == MPCT_OK && job->result_cache[0])
        st = dd_store(job, in, dd, u, emb, ids);
    mpct_out_discard(out);
    mpct_status cs = mpct_out_close(u, 0);
    if (st == MPCT_OK && cs == MPCT_OK && remove(unique))
        st = mpct_error_set(MPCT_ERR_IO, "cannot remove '%s': %s", unique, strerror(errno));
    mpct_out_info_free(&info);
    free(emb);
    free(lab);
    mpct_free_secret(ids);
    return st;
}

void run_dd_free(run_dedup *dd)
{
    free(dd->src);
    free(dd->rep);
    free(dd->hit);
    memset(dd, 0, sizeof *dd);
}
