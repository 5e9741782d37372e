/*
 * cmd_merge.c — `mpct merge OUT.h5 SHARD.h5...`: joins the outputs of a job
 * array's shards (each an `mpct run` output, io/OUTPUT.md) into one output.
 *
 * MPCT_COMMAND(merge, 0, "merge the output files of job-array shards into one")
 *
 * Checks, naming every shard that fails (shard i = the i-th file given):
 * each exists, is an mpct output, is complete (attribute and every /done
 * flag), is not another shard given twice (same file, or the same inputs),
 * and has the mode (secure or plaintext), keys (test keys or not), task,
 * model identity, frac_bits, seq_len, embedding width and labels of shard 0. Rows: when no shard declares a row_offset (mpct run
 * --row-offset), the shards are joined in the order given; when all do, each
 * goes to its declared rows, and overlapping rows or rows in no shard (a
 * missing shard) are errors; a mix is an error. The merged file is written as
 * OUT.h5.partial and renamed when complete (atomic, as mpct run does); on
 * any error nothing is written.
 */
#include "mpct_io.h"
#include "mpct_out.h"
#include "opt.h"
#include "tool_common.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MERGE_CHUNK 4096 /* rows copied at a time */

typedef struct shard {
    const char *path;
    int idx, ok;
    mpct_out_info info;
    size_t first; /* row of the merged file its row 0 goes to */
} shard;

static const mpct_opt merge_opts[] = {
    {"output", 'o', "OUT.h5", "the merged file (instead of the first positional);\n"
                              "then every positional is a shard"},
    {"quiet", 'q', NULL, "no summary line"},
};

static const mpct_opt_cmd merge_cmd = {
    .name = "merge",
    .usage = "mpct merge [--quiet] OUT.h5 SHARD.h5 [SHARD.h5 ...]\n"
             "mpct merge [--quiet] -o OUT.h5 SHARD.h5 [SHARD.h5 ...]",
    .about = "Joins the output files of the shards of a job array (mpct run outputs, io/OUTPUT.md)\n"
             "into OUT.h5. Every shard must be complete, given once, and have the same mode (secure\n"
             "or plaintext), keys, task, model, frac_bits, seq_len, embedding width and labels.\n"
             "Shards whose runs declared --row-offset go to those rows (overlaps and gaps are\n"
             "errors); otherwise they are joined in the order given. OUT.h5 is written under\n"
             "OUT.h5.partial and renamed when complete; on an error each failing shard is named and\n"
             "nothing is written.\n",
    MPCT_OPT_TABLE(merge_opts),
    .exit_ok = "merged",
    .exit_fail = "a shard is missing, incomplete or mismatched (each one named), or OUT.h5\n"
                 "cannot be written",
};

static void shard_error(const shard *s, const char *what)
{
    fprintf(stderr, "mpct merge: error: shard %d ('%s'): %s\n", s->idx, s->path, what);
}

/* Compares shard s with the reference r; prints each difference. */
static int check_same(const shard *s, const shard *r)
{
    char msg[512];
    int bad = 0;
    const mpct_out_info *a = &s->info, *b = &r->info;
#define DIFF_STR(field)                                                                                          \
    if (strcmp(a->field, b->field)) {                                                                            \
        snprintf(msg, sizeof msg, #field " '%s' differs from shard %d ('%s'): '%s'", a->field, r->idx, r->path,   \
                 b->field);                                                                                      \
        shard_error(s, msg), bad = 1;                                                                            \
    }
#define DIFF_NUM(field)                                                                                          \
    if (a->field != b->field) {                                                                                  \
        snprintf(msg, sizeof msg, #field " %lld differs from shard %d ('%s'): %lld", (long long)a->field, r->idx, \
                 r->path, (long long)b->field);                                                                  \
        shard_error(s, msg), bad = 1;                                                                            \
    }
    DIFF_STR(mode)
    DIFF_NUM(insecure_test_keys)
    DIFF_NUM(hide_lengths)
    DIFF_STR(task)
    DIFF_STR(model_hash)
    DIFF_NUM(frac_bits)
    DIFF_NUM(seq_len)
    DIFF_NUM(dim)
    DIFF_NUM(num_labels)
#undef DIFF_STR
#undef DIFF_NUM
    const char *la = a->label_names ? a->label_names : "", *lb = b->label_names ? b->label_names : "";
    if (strcmp(la, lb)) {
        snprintf(msg, sizeof msg, "label names differ from shard %d ('%s')", r->idx, r->path);
        shard_error(s, msg), bad = 1;
    }
    return bad;
}

static int cmp_first(const void *x, const void *y)
{
    const shard *a = *(const shard *const *)x, *b = *(const shard *const *)y;
    return (a->info.row_offset > b->info.row_offset) - (a->info.row_offset < b->info.row_offset);
}

/* Places the shards' rows (first of each, *base, *rows); returns 1 after
 * printing the errors when they cannot be placed. */
static int place_rows(shard *sh, int n, int64_t *base, size_t *rows)
{
    int declared = 0;
    for (int i = 0; i < n; i++)
        declared += sh[i].info.has_row_offset;
    *base = 0;
    *rows = 0;
    if (declared == 0) { /* joined in the order given */
        for (int i = 0; i < n; i++)
            sh[i].first = *rows, *rows += sh[i].info.n_inputs;
        return 0;
    }
    if (declared < n) {
        const shard *with = NULL;
        for (int i = 0; i < n && !with; i++)
            with = sh[i].info.has_row_offset ? &sh[i] : NULL;
        for (int i = 0; i < n; i++)
            if (!sh[i].info.has_row_offset) {
                char msg[512];
                snprintf(msg, sizeof msg, "declares no row_offset but shard %d ('%s') does: run every shard with "
                         "--row-offset, or none", with->idx, with->path);
                shard_error(&sh[i], msg);
            }
        return 1;
    }
    shard **ord = malloc((size_t)n * sizeof *ord);
    if (!ord)
        return 1;
    for (int i = 0; i < n; i++)
        ord[i] = &sh[i];
    qsort(ord, (size_t)n, sizeof *ord, cmp_first);
    *base = ord[0]->info.row_offset;
    int bad = 0;
    for (int i = 0; i < n; i++) {
        ord[i]->first = (size_t)(ord[i]->info.row_offset - *base);
        if (i == 0)
            continue;
        const shard *p = ord[i - 1], *c = ord[i];
        int64_t pend = p->info.row_offset + (int64_t)p->info.n_inputs, cfirst = c->info.row_offset;
        if (cfirst < pend) {
            fprintf(stderr, "mpct merge: error: shards %d ('%s') and %d ('%s') overlap: rows %lld..%lld are in both\n",
                    p->idx, p->path, c->idx, c->path, (long long)cfirst,
                    (long long)(pend < cfirst + (int64_t)c->info.n_inputs ? pend : cfirst + (int64_t)c->info.n_inputs) - 1);
            bad = 1;
        } else if (cfirst > pend) {
            fprintf(stderr, "mpct merge: error: rows %lld..%lld are in no shard (after shard %d ('%s') and before "
                            "shard %d ('%s')): is a shard missing?\n",
                    (long long)pend, (long long)cfirst - 1, p->idx, p->path, c->idx, c->path);
            bad = 1;
        }
    }
    const shard *last = ord[n - 1];
    *rows = (size_t)(last->info.row_offset - *base) + last->info.n_inputs;
    free(ord);
    return bad;
}

/* inputs_sha256 of the merged file: SHA-256 of the shards' inputs_sha256 lines in row order. */
static void combined_sha(const shard *sh, int n, char hex[65])
{
    const shard **ord = malloc((size_t)n * sizeof *ord);
    unsigned char h[32];
    unsigned int hl = 0;
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    hex[0] = 0;
    if (!ord || !c || EVP_DigestInit_ex(c, EVP_sha256(), NULL) != 1) {
        free(ord);
        EVP_MD_CTX_free(c);
        return;
    }
    for (int i = 0; i < n; i++) /* in merged row order */
        ord[i] = &sh[i];
    for (int i = 1; i < n; i++)
        for (int k = i; k > 0 && ord[k]->first < ord[k - 1]->first; k--) {
            const shard *t = ord[k];
            ord[k] = ord[k - 1], ord[k - 1] = t;
        }
    for (int i = 0; i < n; i++) {
        EVP_DigestUpdate(c, ord[i]->info.inputs_sha256, strlen(ord[i]->info.inputs_sha256));
        EVP_DigestUpdate(c, "\n", 1);
    }
    EVP_DigestFinal_ex(c, h, &hl);
    EVP_MD_CTX_free(c);
    free(ord);
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", h[i]);
}

/* The per-row input records (/truncated, /id and how the rows were read) of
 * rows [r, r+k) of src into the merged output; *seen: -1 before the first
 * shard, then whether the shards carry them (they must all, or none). */
static mpct_status copy_inputs(const shard *s, mpct_out_t *src, mpct_out_t *dst, size_t r, size_t k, int *seen)
{
    char *how[3] = {NULL, NULL, NULL}, **ids = calloc(k, sizeof *ids);
    int32_t *trunc = malloc(k * sizeof *trunc);
    int present = 0, has_ids = 0;
    mpct_status st = ids && trunc ? mpct_out_read_inputs(src, r, k, how, trunc, ids, &present, &has_ids)
                                  : mpct_error_set(MPCT_ERR_NOMEM, "merge: out of memory");
    if (st == MPCT_OK && *seen >= 0 && *seen != present)
        st = mpct_error_set(MPCT_ERR_ARG, "%s %s /truncated while the shards before it %s: every shard must come "
                            "from the same mpct (rerun the older ones)", s->path, present ? "has" : "lacks",
                            *seen ? "have it" : "do not");
    if (st == MPCT_OK)
        *seen = present;
    if (st == MPCT_OK && present) {
        const char *h[3] = {how[0] ? how[0] : "", how[1] ? how[1] : "", how[2] ? how[2] : ""};
        st = mpct_out_write_inputs(dst, h, s->first + r, k, trunc, has_ids ? (const char *const *)ids : NULL);
    }
    for (size_t i = 0; ids && i < k; i++)
        free(ids[i]);
    for (int i = 0; i < 3; i++)
        free(how[i]);
    free(ids);
    free(trunc);
    return st;
}

/* Copies every row of shard s into the merged output. */
static mpct_status copy_shard(const shard *s, mpct_out_t *dst, double *emb, double *lg, int32_t *lab, int32_t *tok,
                              int *seen)
{
    mpct_out_t *src = NULL;
    mpct_out_info info;
    MPCT_CALL(mpct_out_open_read(s->path, &src, &info));
    mpct_out_info_free(&info);
    mpct_status st = MPCT_OK;
    size_t nl = s->info.num_labels;
    for (size_t r = 0; st == MPCT_OK && r < s->info.n_inputs; r += MERGE_CHUNK) {
        size_t k = s->info.n_inputs - r < MERGE_CHUNK ? s->info.n_inputs - r : MERGE_CHUNK;
        st = mpct_out_read(src, r, k, emb, nl ? lg : NULL, nl ? lab : NULL, tok);
        if (st == MPCT_OK)
            st = mpct_out_write(dst, s->first + r, k, emb, nl ? lg : NULL, nl ? lab : NULL, tok);
        if (st == MPCT_OK)
            st = copy_inputs(s, src, dst, r, k, seen);
    }
    mpct_status s2 = mpct_out_close(src, 0);
    return st != MPCT_OK ? st : s2;
}

/* Options: the output path and the shards (sh has argc entries); -1 to go
 * on, else the exit status (0 after --help). */
static int merge_parse(int argc, char **argv, shard *sh, int *n, const char **outp, int *quiet)
{
    mpct_opt_iter it = mpct_opt_start(&merge_cmd, argc, argv, 1);
    int rc;
    while (mpct_opt_more(&it, &rc)) {
        if (mpct_opt_is(&it, "quiet")) {
            *quiet = 1;
        } else if (mpct_opt_is(&it, "output")) {
            if (*outp)
                return mpct_opt_usage_error(&merge_cmd, "%s given twice ('%s' and '%s')", it.spelled, *outp,
                                            it.value);
            *outp = it.value;
        } else {
            sh[*n].path = it.value;
            sh[*n].idx = *n;
            (*n)++;
        }
    }
    if (rc >= 0)
        return rc;
    if (!*outp && *n) { /* without -o, the first positional is the output */
        *outp = sh[0].path;
        memmove(sh, sh + 1, (size_t)(*n - 1) * sizeof *sh);
        (*n)--;
        for (int k = 0; k < *n; k++)
            sh[k].idx = k;
    }
    if (!*n) {
        fprintf(stderr, "mpct merge: error: %s (usage: mpct merge OUT.h5 SHARD.h5...)\n",
                *outp ? "no shard files given" : "no output file and no shards given");
        return 2;
    }
    return -1;
}

/* Opens every shard for its info (ok = readable); *bad when one is missing,
 * unreadable or incomplete. 2 when the output is also a shard, else 0. */
static int open_shards(shard *sh, int n, const char *outp, int *bad)
{
    struct stat so, ss;
    int have_out = stat(outp, &so) == 0;
    for (int i = 0; i < n; i++) {
        shard *s = &sh[i];
        if (!strcmp(s->path, outp) ||
            (have_out && stat(s->path, &ss) == 0 && ss.st_dev == so.st_dev && ss.st_ino == so.st_ino)) {
            fprintf(stderr, "mpct merge: error: the output '%s' is also shard %d: expected a new file\n", outp, i);
            return 2;
        }
        mpct_out_t *o = NULL;
        if (stat(s->path, &ss) != 0) {
            shard_error(s, "missing (no such file; did its array task fail?)");
            *bad = 1;
            continue;
        }
        mpct_status st = mpct_out_open_read(s->path, &o, &s->info);
        if (st == MPCT_OK)
            st = mpct_out_close(o, 0);
        if (st != MPCT_OK) {
            shard_error(s, mpct_error_msg());
            *bad = 1;
            continue;
        }
        s->ok = 1;
        if (!s->info.complete || s->info.rows_done != s->info.n_inputs) {
            char msg[256];
            snprintf(msg, sizeof msg, "incomplete: %zu of %zu rows done (finish it with mpct run --resume)",
                     s->info.rows_done, s->info.n_inputs);
            shard_error(s, msg);
            *bad = 1;
        }
    }
    return 0;
}

/* The same shard twice: one file under two names, or two files of the same
 * inputs. 1 when found (each named), else 0. */
static int check_duplicates(const shard *sh, int n)
{
    int bad = 0;
    struct stat *st = calloc((size_t)n + 1, sizeof *st);
    char *have = calloc((size_t)n + 1, 1);
    if (!st || !have) {
        free(st);
        free(have);
        fprintf(stderr, "mpct merge: error: out of memory\n");
        return 1;
    }
    for (int i = 0; i < n; i++) /* once per shard, not once per pair */
        have[i] = stat(sh[i].path, &st[i]) == 0;
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < i; j++) {
            char msg[512];
            if (have[i] && have[j] && st[i].st_dev == st[j].st_dev && st[i].st_ino == st[j].st_ino) {
                snprintf(msg, sizeof msg, "is the same file as shard %d ('%s'): each shard may be given once", j,
                         sh[j].path);
                shard_error(&sh[i], msg);
                bad = 1;
                break;
            }
            /* (declared rows: a copy overlaps, and place_rows says so) */
            if (sh[i].ok && sh[j].ok && !sh[i].info.has_row_offset && !sh[j].info.has_row_offset &&
                sh[i].info.inputs_sha256[0] && !strcmp(sh[i].info.inputs_sha256, sh[j].info.inputs_sha256)) {
                snprintf(msg, sizeof msg, "has the same inputs (inputs_sha256 %.16s...) as shard %d ('%s'): the same "
                         "shard given twice?", sh[i].info.inputs_sha256, j, sh[j].path);
                shard_error(&sh[i], msg);
                bad = 1;
                break;
            }
        }
    }
    free(st);
    free(have);
    return bad;
}

/* Writes the merged file of the checked shards (rows in all, the first at
 * input row base) with ref's metadata; the exit status. */
static int write_merged(const shard *sh, int n, const shard *ref, const char *outp, int64_t base, size_t rows,
                        int quiet)
{
    char sha[65], *names_buf = NULL, *list = NULL;
    const char *names[MPCT_IO_MAX_LABELS];
    size_t nl = ref->info.num_labels, listlen = 0;
    combined_sha(sh, n, sha);
    if (ref->info.label_names && nl <= MPCT_IO_MAX_LABELS && (names_buf = strdup(ref->info.label_names))) {
        char *p = names_buf;
        for (size_t k = 0; k < nl; k++) {
            names[k] = p;
            char *e = strchr(p, '\n');
            if (e)
                *e = 0, p = e + 1;
            else
                p += strlen(p);
        }
    }
    FILE *lf = open_memstream(&list, &listlen);
    for (int i = 0; lf && i < n; i++)
        fprintf(lf, "%zu %zu %s %s\n", sh[i].first, sh[i].info.n_inputs, sh[i].info.inputs_sha256, sh[i].path);
    if (lf)
        fclose(lf);
    mpct_out_meta meta = {rows,  ref->info.dim, nl, ref->info.task, ref->info.model_hash, sha, ref->info.frac_bits,
                          ref->info.seq_len, names_buf ? names : NULL, ref->info.has_row_offset, base, list,
                          ref->info.mode, MPCT_VERSION_STRING, ref->info.insecure_test_keys,
                          ref->info.hide_lengths};
    mpct_out_t *dst = NULL;
    int rcode = 1;
    double *emb = malloc(MERGE_CHUNK * ref->info.dim * sizeof *emb), *lg = malloc(MERGE_CHUNK * (nl + 1) * sizeof *lg);
    int32_t *lab = malloc(MERGE_CHUNK * sizeof *lab), *tok = malloc(MERGE_CHUNK * sizeof *tok);
    mpct_status st = emb && lg && lab && tok && list ? MPCT_OK : mpct_error_set(MPCT_ERR_NOMEM, "out of memory");
    if (st == MPCT_OK)
        st = mpct_out_open(outp, &meta, 0, &dst);
    int seen = -1; /* whether the shards carry the per-row input records */
    for (int i = 0; st == MPCT_OK && i < n; i++)
        st = copy_shard(&sh[i], dst, emb, lg, lab, tok, &seen);
    /* a partial merge is of no use (the shards are still there): all or nothing */
    if (st == MPCT_OK)
        st = mpct_out_close(dst, 2);
    else
        mpct_out_discard(dst);
    if (st != MPCT_OK) {
        mpct_sched_error("merge", st);
    } else {
        rcode = 0;
        if (!quiet)
            printf("mpct merge: %d shard%s, %zu rows -> %s\n", n, n > 1 ? "s" : "", rows, outp);
    }
    free(emb), free(lg), free(lab), free(tok), free(names_buf), free(list);
    return rcode;
}

int mpct_cmd_merge(int argc, char **argv)
{
    const char *outp = NULL;
    int quiet = 0, n = 0, bad = 0;
    shard *sh = calloc((size_t)argc, sizeof *sh);
    if (!sh)
        return 1;
    int prc = merge_parse(argc, argv, sh, &n, &outp, &quiet);
    if (prc < 0)
        prc = open_shards(sh, n, outp, &bad) ? 2 : -1;
    if (prc >= 0) {
        for (int i = 0; i < n; i++) /* the shards opened before the refusal */
            mpct_out_info_free(&sh[i].info);
        free(sh);
        return prc;
    }
    bad |= check_duplicates(sh, n);
    const shard *ref = NULL;
    for (int i = 0; i < n && !ref; i++)
        ref = sh[i].ok ? &sh[i] : NULL;
    for (int i = 0; ref && i < n; i++)
        if (sh[i].ok && &sh[i] != ref)
            bad |= check_same(&sh[i], ref);
    int64_t base = 0;
    size_t rows = 0;
    int rcode = 1;
    if (!bad)
        bad = place_rows(sh, n, &base, &rows);
    if (!bad && !rows) {
        fprintf(stderr, "mpct merge: error: the shards hold no rows to merge\n");
        bad = 1;
    }
    if (bad || !rows)
        fprintf(stderr, "mpct merge: error: nothing merged; %s not written\n", outp);
    else
        rcode = write_merged(sh, n, ref, outp, base, rows, quiet);
    for (int i = 0; i < n; i++)
        mpct_out_info_free(&sh[i].info);
    free(sh);
    return rcode;
}
