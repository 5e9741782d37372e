/*
 * gen_out.c — the output of `mpct generate` (mpct_gen_out.h): the checks
 * before any work, the partial-file life cycle shared by both formats, and
 * the JSON Lines writer. The HDF5 writer is io/gen_out_h5.c.
 *
 * JSONL line i (in this key order, which resume relies on):
 *   {"index":i,"mode":M,"model_hash":H,"insecure_test_keys":B,
 *    "max_new_tokens":N,"stop":[ids],["temperature":T,"top_k":K,]
 *    "prompt":P,                                   <- the settings prefix
 *    (temperature and top_k only when sampling: a greedy line has neither)
 *    "prompt_tokens":n,"generated_ids":[ids],"text":T,"stopped_by":id|"length"}
 * Resuming rebuilds each stored line's settings prefix from the current
 * meta and compares bytes, so a line of another mode, model, test-key
 * setting, limit, stop list or prompt is refused, naming the line and the
 * first field that differs.
 */
#include "gen_out-impl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int mpct_gout_is_jsonl(const char *path)
{
    const size_t n = strlen(path);
    return n >= 6 && !strcmp(path + n - 6, ".jsonl");
}

void gout_sampling(const mpct_gout_meta *m, char *s, size_t cap)
{
    if (m->temperature > 0)
        snprintf(s, cap, "temperature=%.17g top_k=%zu", m->temperature, m->top_k);
    else
        snprintf(s, cap, "greedy");
}

mpct_status gout_partial_path(const char *path, char *partial, size_t cap)
{
    if ((size_t)snprintf(partial, cap, "%s.partial", path) >= cap)
        return mpct_error_set(MPCT_ERR_ARG, "output path too long: %s", path);
    return MPCT_OK;
}

/* ---- a growable byte buffer (JSON lines) ---- */

static mpct_status sb_put(gout_sb *b, const void *p, size_t n)
{
    if (b->n + n + 1 > b->cap) {
        size_t c = b->cap ? b->cap : 256;
        while (c < b->n + n + 1)
            c *= 2;
        char *v = realloc(b->v, c);
        if (!v)
            return mpct_error_set(MPCT_ERR_NOMEM, "output: out of memory");
        b->v = v;
        b->cap = c;
    }
    memcpy(b->v + b->n, p, n);
    b->n += n;
    b->v[b->n] = '\0';
    return MPCT_OK;
}

static mpct_status sb_fmt(gout_sb *b, const char *fmt, long long x, const char *s)
{
    char t[160];
    const int k = s ? snprintf(t, sizeof t, fmt, s) : snprintf(t, sizeof t, fmt, x);
    return sb_put(b, t, (size_t)k < sizeof t ? (size_t)k : sizeof t - 1);
}

/* A JSON string: quotes, backslash and control characters escaped; UTF-8 kept. */
static mpct_status sb_json_str(gout_sb *b, const char *s, size_t n)
{
    MPCT_CALL(sb_put(b, "\"", 1));
    for (size_t i = 0; i < n; i++) {
        const unsigned char c = (unsigned char)s[i];
        char e[8];
        if (c == '"' || c == '\\')
            e[0] = '\\', e[1] = (char)c, e[2] = 0;
        else if (c == '\n')
            memcpy(e, "\\n", 3);
        else if (c == '\t')
            memcpy(e, "\\t", 3);
        else if (c == '\r')
            memcpy(e, "\\r", 3);
        else if (c < 0x20)
            snprintf(e, sizeof e, "\\u%04x", c);
        else
            e[0] = (char)c, e[1] = 0;
        MPCT_CALL(sb_put(b, e, strlen(e)));
    }
    return sb_put(b, "\"", 1);
}

static mpct_status sb_ids(gout_sb *b, const int32_t *ids, size_t n)
{
    MPCT_CALL(sb_put(b, "[", 1));
    for (size_t i = 0; i < n; i++)
        MPCT_CALL(sb_fmt(b, i ? ",%lld" : "%lld", ids[i], NULL));
    return sb_put(b, "]", 1);
}

/* Line i's settings prefix (see the top of this file), ending with the prompt. */
static mpct_status jsonl_prefix(const mpct_gout_meta *m, size_t i, gout_sb *b)
{
    b->n = 0;
    MPCT_CALL(sb_fmt(b, "{\"index\":%lld,\"mode\":", (long long)i, NULL));
    MPCT_CALL(sb_json_str(b, m->mode, strlen(m->mode)));
    MPCT_CALL(sb_put(b, ",\"model_hash\":", 14));
    MPCT_CALL(sb_json_str(b, m->model_hash, strlen(m->model_hash)));
    MPCT_CALL(sb_fmt(b, ",\"insecure_test_keys\":%s", 0, m->insecure_test_keys ? "true" : "false"));
    MPCT_CALL(sb_fmt(b, ",\"max_new_tokens\":%lld,\"stop\":", (long long)m->max_new_tokens, NULL));
    MPCT_CALL(sb_ids(b, m->stop, m->nstop));
    if (m->temperature > 0) {
        char t[40];
        snprintf(t, sizeof t, "%.17g", m->temperature);
        MPCT_CALL(sb_fmt(b, ",\"temperature\":%s", 0, t));
        MPCT_CALL(sb_fmt(b, ",\"top_k\":%lld", (long long)m->top_k, NULL));
    }
    MPCT_CALL(sb_put(b, ",\"prompt\":", 10));
    return sb_json_str(b, m->prompts[i], m->prompt_lens[i]);
}

/* The field of line in which byte at lies (*pos: where its key starts). */
static const char *jsonl_field_in(const char *line, size_t at, size_t *pos)
{
    static const char *const keys[] = {"prompt", "top_k", "temperature", "stop", "max_new_tokens",
                                       "insecure_test_keys", "model_hash", "mode", "index"};
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
        char q[40];
        snprintf(q, sizeof q, "\"%s\":", keys[k]);
        const char *p = strstr(line, q);
        if (p && (size_t)(p - line) <= at) {
            *pos = (size_t)(p - line);
            return keys[k];
        }
    }
    *pos = 0;
    return "index";
}

/* The first field where a stored line and the expected prefix part: the
 * one that starts later of the two lines' fields at that byte; where one
 * line has an optional key (temperature) and the other goes on with the
 * prompt, both start there: the optional key is named. */
static const char *jsonl_field_at(const char *stored, const char *expected, size_t at)
{
    size_t ps = 0, pe = 0;
    const char *s = jsonl_field_in(stored, at, &ps), *e = jsonl_field_in(expected, at, &pe);
    return ps > pe || (ps == pe && strcmp(s, "prompt")) ? s : e;
}

/* Reads PATH.partial's lines, checks each against the meta, cuts off a
 * last line without its newline; o->done = the lines kept. */
static mpct_status jsonl_resume(mpct_gout_t *o, const char *partial)
{
    FILE *f = fopen(partial, "rb");
    if (!f)
        return errno == ENOENT ? MPCT_OK : mpct_error_set(MPCT_ERR_IO, "cannot read %s: %s", partial, strerror(errno));
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    long keep = 0;
    mpct_status st = MPCT_OK;
    while (st == MPCT_OK && (len = getline(&line, &cap, f)) > 0 && line[len - 1] == '\n') {
        if (o->done >= o->meta.n_prompts) {
            st = mpct_error_set(MPCT_ERR_ARG, "%s holds more lines than the %zu prompts: not this job's output",
                                partial, o->meta.n_prompts);
            break;
        }
        st = jsonl_prefix(&o->meta, o->done, &o->sb);
        if (st != MPCT_OK)
            break;
        size_t at = 0;
        while (at < o->sb.n && at < (size_t)len && line[at] == o->sb.v[at])
            at++;
        if (at < o->sb.n) {
            st = mpct_error_set(MPCT_ERR_ARG, "%s:%zu: its %s differs from this job's: not resumable with these "
                                              "settings (add --overwrite to start again)",
                                partial, o->done + 1, jsonl_field_at(line, o->sb.v, at));
            break;
        }
        o->done++;
        keep = ftell(f);
    }
    free(line);
    fclose(f);
    if (st == MPCT_OK && truncate(partial, keep) != 0)
        st = mpct_error_set(MPCT_ERR_IO, "cannot cut %s to its complete lines: %s", partial, strerror(errno));
    return st;
}

static mpct_status jsonl_open(mpct_gout_t *o, const char *partial, int resume)
{
    if (resume)
        MPCT_CALL(jsonl_resume(o, partial));
    o->f = fopen(partial, resume ? "ab" : "wb");
    if (!o->f)
        return mpct_error_set(MPCT_ERR_IO, "cannot write %s: %s", partial, strerror(errno));
    return MPCT_OK;
}

static mpct_status jsonl_write(mpct_gout_t *o, const mpct_gout_row *r)
{
    gout_sb *b = &o->sb;
    MPCT_CALL(jsonl_prefix(&o->meta, o->done, b));
    MPCT_CALL(sb_fmt(b, ",\"prompt_tokens\":%lld,\"generated_ids\":", (long long)r->prompt_tokens, NULL));
    MPCT_CALL(sb_ids(b, r->ids, r->n_ids));
    MPCT_CALL(sb_put(b, ",\"text\":", 8));
    MPCT_CALL(sb_json_str(b, r->text, r->text_len));
    if (r->stopped_by >= 0)
        MPCT_CALL(sb_fmt(b, ",\"stopped_by\":%lld}\n", r->stopped_by, NULL));
    else
        MPCT_CALL(sb_put(b, ",\"stopped_by\":\"length\"}\n", 24));
    if (fwrite(b->v, 1, b->n, o->f) != b->n || fflush(o->f) != 0 || fsync(fileno(o->f)) != 0)
        return mpct_error_set(MPCT_ERR_IO, "cannot write %s.partial: %s", o->path, strerror(errno));
    return MPCT_OK;
}

/* ---- both formats ---- */

/* Rows an existing PATH.partial holds (0 when none); an unreadable one is an error. */
static mpct_status partial_rows(const char *path, const char *partial, size_t *rows)
{
    *rows = 0;
    if (!mpct_gout_is_jsonl(path))
        return gout_h5_rows(partial, rows);
    FILE *f = fopen(partial, "rb");
    if (!f)
        return mpct_error_set(MPCT_ERR_IO, "cannot read %s: %s", partial, strerror(errno));
    int c;
    while ((c = fgetc(f)) != EOF)
        *rows += c == '\n';
    fclose(f);
    return MPCT_OK;
}

mpct_status mpct_gout_ready(const char *path, int resume, int overwrite)
{
    char partial[4200];
    MPCT_CALL(gout_partial_path(path, partial, sizeof partial));
    struct stat sb;
    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode))
        return mpct_error_set(MPCT_ERR_IO, "%s: cannot write the output file: it is a directory", path);
    const int exists = stat(partial, &sb) == 0;
    if (exists && !resume && !overwrite) {
        size_t rows = 0;
        if (partial_rows(path, partial, &rows) != MPCT_OK)
            return mpct_error_set(MPCT_ERR_IO, "%s exists but is not a readable mpct generate output (%s): add "
                                               "--overwrite to discard it and start again", partial, mpct_error_msg());
        if (rows > 0)
            return mpct_error_set(MPCT_ERR_ARG, "%s holds %zu prompts of an earlier run: add --resume to continue it, "
                                                "or --overwrite to discard them and start again", partial, rows);
    }
    if (exists)
        return access(partial, W_OK) == 0 ? MPCT_OK
                                           : mpct_error_set(MPCT_ERR_IO, "cannot write the output %s: %s", partial,
                                                            strerror(errno));
    FILE *f = fopen(partial, "ab");
    if (!f)
        return mpct_error_set(MPCT_ERR_IO, "cannot write the output %s: %s", partial, strerror(errno));
    fclose(f);
    unlink(partial);
    return MPCT_OK;
}

mpct_status mpct_gout_open(const char *path, const mpct_gout_meta *meta, int resume, mpct_gout_t **out)
{
    *out = NULL;
    mpct_gout_t *o = calloc(1, sizeof *o);
    if (!o)
        return mpct_error_set(MPCT_ERR_NOMEM, "output: out of memory");
    o->meta = *meta;
    o->jsonl = mpct_gout_is_jsonl(path);
    o->h5 = -1;
    snprintf(o->path, sizeof o->path, "%s", path);
    char partial[4200];
    mpct_status st = gout_partial_path(path, partial, sizeof partial);
    if (st == MPCT_OK)
        st = o->jsonl ? jsonl_open(o, partial, resume) : gout_h5_open(o, partial, resume);
    if (st != MPCT_OK) {
        const mpct_status cs = mpct_gout_close(o, 0);
        (void)cs;
        return st;
    }
    *out = o;
    return MPCT_OK;
}

size_t mpct_gout_done(const mpct_gout_t *o) { return o->done; }

mpct_status mpct_gout_write(mpct_gout_t *o, const mpct_gout_row *row)
{
    if (o->done >= o->meta.n_prompts)
        return mpct_error_set(MPCT_ERR_ARG, "output: all %zu prompts are written", o->meta.n_prompts);
    if (row->n_ids > o->meta.max_new_tokens)
        return mpct_error_set(MPCT_ERR_ARG, "output: %zu ids exceed max_new_tokens %zu", row->n_ids,
                              o->meta.max_new_tokens);
    MPCT_CALL(o->jsonl ? jsonl_write(o, row) : gout_h5_write(o, row));
    o->done++;
    return MPCT_OK;
}

mpct_status mpct_gout_close(mpct_gout_t *o, int complete)
{
    if (!o)
        return MPCT_OK;
    mpct_status st = MPCT_OK;
    if (complete && o->done != o->meta.n_prompts)
        st = mpct_error_set(MPCT_ERR_ARG, "output: %zu of %zu prompts done: not complete", o->done, o->meta.n_prompts);
    const int fin = complete && st == MPCT_OK;
    if (o->f && fclose(o->f) != 0 && st == MPCT_OK)
        st = mpct_error_set(MPCT_ERR_IO, "cannot write %s.partial: %s", o->path, strerror(errno));
    if (o->h5 >= 0) {
        const mpct_status hs = gout_h5_close(o, fin);
        st = st == MPCT_OK ? hs : st;
    }
    char partial[4200];
    if (st == MPCT_OK && fin && gout_partial_path(o->path, partial, sizeof partial) == MPCT_OK &&
        rename(partial, o->path) != 0)
        st = mpct_error_set(MPCT_ERR_IO, "cannot rename %s to %s: %s", partial, o->path, strerror(errno));
    free(o->sb.v);
    free(o);
    return st;
}
