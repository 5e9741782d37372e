/*
 * records.c — the inputs file read record by record (mpct_records.h): plain
 * text lines, JSON Lines objects (cJSON), CSV/TSV rows after a header.
 *
 * The reader holds one raw record (its physical lines joined, for CSV a
 * quoted field may span lines) and the decoded fields of the last record;
 * both are wiped when replaced or freed. A UTF-8 byte order mark at the
 * start of the file is not part of the first JSON line or header.
 *
 * Uses cJSON, OpenSSL (SHA-256) and mpct_core.
 */
#define _POSIX_C_SOURCE 200809L
#include "mpct_records.h"

#include <cjson/cJSON.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#define REC_MAX_COLS 4096

struct mpct_rec_reader {
    FILE *f;
    char *path;
    mpct_rec_format fmt;
    char *text_field, *id_field;
    EVP_MD_CTX *sha;
    int sha_ok;           /* no seek happened: the digest covers the file from its start */
    size_t line;          /* lines read so far */
    int64_t pos;          /* byte offset of the next unread byte */
    char *raw;            /* the record's bytes */
    size_t raw_len, raw_cap;
    char *lbuf;           /* getline's buffer */
    size_t lcap;
    char *field;          /* decoded fields, NUL-separated */
    size_t field_cap;
    size_t ncols;         /* CSV/TSV: columns of the header */
    long text_col, id_col; /* CSV/TSV: column indices (-1: none) */
};

mpct_status mpct_rec_format_parse(const char *name, const char *path, mpct_rec_format *fmt)
{
    static const char *const names[] = {"text", "jsonl", "csv", "tsv", "ids"};
    for (int i = 0; i < 5; i++)
        if (name && !strcmp(name, names[i])) {
            *fmt = (mpct_rec_format)i;
            return MPCT_OK;
        }
    if (name && name[0] && strcmp(name, "auto"))
        return mpct_error_set(MPCT_ERR_ARG, "input format '%s': expected text, jsonl, csv, tsv, ids or auto", name);
    const char *dot = strrchr(path, '.'), *slash = strrchr(path, '/');
    *fmt = MPCT_REC_TEXT;
    if (!dot || (slash && dot < slash))
        return MPCT_OK;
    if (!strcmp(dot, ".jsonl") || !strcmp(dot, ".ndjson"))
        *fmt = MPCT_REC_JSONL;
    else if (!strcmp(dot, ".csv"))
        *fmt = MPCT_REC_CSV;
    else if (!strcmp(dot, ".tsv") || !strcmp(dot, ".tab"))
        *fmt = MPCT_REC_TSV;
    return MPCT_OK;
}

const char *mpct_rec_format_name(mpct_rec_format fmt)
{
    static const char *const names[] = {"text", "jsonl", "csv", "tsv", "ids"};
    return (unsigned)fmt < 5 ? names[fmt] : "?";
}

/* Appends the next physical line to raw: 1, or 0 at the end of the file. */
static mpct_status read_line(mpct_rec_reader *r, int *got)
{
    ssize_t len = getline(&r->lbuf, &r->lcap, r->f);
    *got = len >= 0;
    if (len < 0)
        return ferror(r->f) ? mpct_error_set(MPCT_ERR_IO, "%s: read error after line %zu", r->path, r->line) : MPCT_OK;
    if (r->raw_len + (size_t)len + 1 > r->raw_cap) {
        size_t nc = 2 * (r->raw_len + (size_t)len + 1);
        char *nr = mpct_alloc(nc);
        if (!nr)
            return mpct_error_set(MPCT_ERR_NOMEM, "%s:%zu: out of memory", r->path, r->line + 1);
        if (r->raw) {
            memcpy(nr, r->raw, r->raw_len);
            mpct_free_secret(r->raw);
        }
        r->raw = nr;
        r->raw_cap = nc;
    }
    memcpy(r->raw + r->raw_len, r->lbuf, (size_t)len);
    r->raw_len += (size_t)len;
    r->raw[r->raw_len] = '\0';
    if (r->sha_ok)
        EVP_DigestUpdate(r->sha, r->lbuf, (size_t)len);
    r->pos += len;
    r->line++;
    return MPCT_OK;
}

static mpct_status field_room(mpct_rec_reader *r, size_t need)
{
    if (need <= r->field_cap)
        return MPCT_OK;
    char *nf = mpct_alloc(need);
    if (!nf)
        return mpct_error_set(MPCT_ERR_NOMEM, "%s: out of memory", r->path);
    mpct_free_secret(r->field);
    r->field = nf;
    r->field_cap = need;
    return MPCT_OK;
}

/* Splits raw (without its line ending) into NUL-terminated fields in
 * r->field; starts[k] indexes field k. *open = 1: a quoted field runs past
 * the end (the record continues on the next line). */
static mpct_status csv_split(mpct_rec_reader *r, size_t end, size_t line, size_t *starts, size_t *n, int *open)
{
    const char delim = r->fmt == MPCT_REC_TSV ? '\t' : ',';
    MPCT_CALL(field_room(r, end + 1));
    size_t i = 0, o = 0;
    *n = 0;
    *open = 0;
    for (;;) {
        if (*n == REC_MAX_COLS)
            return mpct_error_set(MPCT_ERR_FORMAT, "%s:%zu: more than %d fields", r->path, line, REC_MAX_COLS);
        starts[(*n)++] = o;
        if (i < end && r->raw[i] == '"') {
            for (i++;; i++) {
                if (i >= end) {
                    *open = 1;
                    return MPCT_OK;
                }
                if (r->raw[i] == '"' && i + 1 < end && r->raw[i + 1] == '"')
                    r->field[o++] = '"', i++;
                else if (r->raw[i] == '"')
                    break;
                else
                    r->field[o++] = r->raw[i];
            }
            i++;
            if (i < end && r->raw[i] != delim)
                return mpct_error_set(MPCT_ERR_FORMAT, "%s:%zu: field %zu: text after its closing quote",
                                      r->path, line, *n);
        } else {
            while (i < end && r->raw[i] != delim) {
                if (r->raw[i] == '"')
                    return mpct_error_set(MPCT_ERR_FORMAT, "%s:%zu: field %zu: a quote inside an unquoted field "
                                          "(quote the whole field and double the quote)", r->path, line, *n);
                r->field[o++] = r->raw[i++];
            }
        }
        r->field[o++] = '\0';
        if (i >= end)
            return MPCT_OK;
        i++; /* the delimiter */
    }
}

/* Reads one CSV/TSV record (lines joined while a quote is open). */
static mpct_status csv_record(mpct_rec_reader *r, size_t *starts, size_t *n, size_t *line, int *got)
{
    r->raw_len = 0;
    MPCT_CALL(read_line(r, got));
    if (!*got)
        return MPCT_OK;
    *line = r->line;
    for (;;) {
        size_t end = r->raw_len, skip = (*line == 1 && end >= 3 && !memcmp(r->raw, "\xEF\xBB\xBF", 3)) ? 3 : 0;
        if (end && r->raw[end - 1] == '\n')
            end--;
        if (end && r->raw[end - 1] == '\r')
            end--;
        if (skip) { /* the byte order mark */
            memmove(r->raw, r->raw + 3, r->raw_len - 3);
            r->raw_len -= 3, end -= 3;
        }
        int open = 0, more = 0;
        MPCT_CALL(csv_split(r, end, *line, starts, n, &open));
        if (!open)
            return MPCT_OK;
        MPCT_CALL(read_line(r, &more));
        if (!more)
            return mpct_error_set(MPCT_ERR_FORMAT, "%s:%zu: a quoted field is not closed before the end of the file",
                                  r->path, *line);
    }
}

static mpct_status csv_header(mpct_rec_reader *r)
{
    size_t starts[REC_MAX_COLS], n = 0, line = 0;
    int got = 0;
    MPCT_CALL(csv_record(r, starts, &n, &line, &got));
    if (!got)
        return mpct_error_set(MPCT_ERR_FORMAT, "%s: empty: a %s file needs a header row naming its columns",
                              r->path, mpct_rec_format_name(r->fmt));
    r->ncols = n;
    r->text_col = r->id_col = -1;
    for (size_t k = 0; k < n; k++) {
        const char *name = r->field + starts[k];
        const char *want[2] = {r->text_field, r->id_field};
        long *col[2] = {&r->text_col, &r->id_col};
        for (int w = 0; w < 2; w++)
            if (want[w][0] && !strcmp(name, want[w])) {
                if (*col[w] >= 0)
                    return mpct_error_set(MPCT_ERR_FORMAT, "%s:1: column '%s' appears twice in the header", r->path,
                                          name);
                *col[w] = (long)k;
            }
    }
    if (r->text_col < 0 || (r->id_field[0] && r->id_col < 0)) {
        char list[512] = "";
        for (size_t k = 0; k < n && strlen(list) < sizeof list - 64; k++)
            snprintf(list + strlen(list), sizeof list - strlen(list), "%s'%s'", k ? ", " : "", r->field + starts[k]);
        return mpct_error_set(MPCT_ERR_FORMAT, "%s:1: no column '%s' in the header (columns: %s)", r->path,
                              r->text_col < 0 ? r->text_field : r->id_field, list);
    }
    return MPCT_OK;
}

mpct_status mpct_rec_open(const char *path, mpct_rec_format fmt, const char *text_field, const char *id_field,
                          mpct_rec_reader **out)
{
    *out = NULL;
    if ((fmt == MPCT_REC_TEXT || fmt == MPCT_REC_IDS) && id_field && id_field[0])
        return mpct_error_set(MPCT_ERR_ARG, "--id-field '%s' needs a jsonl, csv or tsv inputs file; '%s' is read as "
                              "%s (one input per line)", id_field, path, fmt == MPCT_REC_IDS ? "token ids" : "text");
    mpct_rec_reader *r = calloc(1, sizeof *r);
    if (!r)
        return mpct_error_set(MPCT_ERR_NOMEM, "inputs: out of memory");
    r->fmt = fmt;
    r->sha_ok = 1;
    r->path = strdup(path);
    r->text_field = strdup(text_field && text_field[0] ? text_field : "text");
    r->id_field = strdup(id_field ? id_field : "");
    r->sha = EVP_MD_CTX_new();
    mpct_status st = MPCT_OK;
    if (!r->path || !r->text_field || !r->id_field)
        st = mpct_error_set(MPCT_ERR_NOMEM, "inputs: out of memory");
    else if (!r->sha || EVP_DigestInit_ex(r->sha, EVP_sha256(), NULL) != 1)
        st = mpct_error_set(MPCT_ERR_CRYPTO, "inputs: SHA-256 unavailable");
    else if (!(r->f = fopen(path, "rb")))
        st = mpct_error_set(MPCT_ERR_IO, "cannot open the inputs file '%s'", path);
    else if (fmt == MPCT_REC_CSV || fmt == MPCT_REC_TSV)
        st = csv_header(r);
    if (st != MPCT_OK) {
        mpct_rec_close(r);
        return st;
    }
    *out = r;
    return MPCT_OK;
}

/* The JSON object of one line: the text member and the id. */
static mpct_status jsonl_fields(mpct_rec_reader *r, mpct_rec *rec)
{
    size_t len = r->raw_len, skip = (rec->line == 1 && len >= 3 && !memcmp(r->raw, "\xEF\xBB\xBF", 3)) ? 3 : 0;
    cJSON *o = cJSON_ParseWithLength(r->raw + skip, len - skip);
    mpct_status st = MPCT_OK;
    if (!o || !cJSON_IsObject(o)) {
        st = mpct_error_set(MPCT_ERR_FORMAT, "%s:%zu: %s", r->path, rec->line,
                            o ? "not a JSON object (one object per line)" : "not valid JSON");
        goto done;
    }
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(o, r->text_field);
    if (!cJSON_IsString(t)) {
        st = mpct_error_set(MPCT_ERR_FORMAT, "%s:%zu: %s '%s'", r->path, rec->line,
                            t ? "not a string: member" : "no member", r->text_field);
        goto done;
    }
    const char *id = NULL;
    char numbuf[64];
    if (r->id_field[0]) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, r->id_field);
        if (cJSON_IsString(v))
            id = v->valuestring;
        else if (cJSON_IsNumber(v)) {
            double d = v->valuedouble;
            if (d == (double)(long long)d)
                snprintf(numbuf, sizeof numbuf, "%lld", (long long)d);
            else
                snprintf(numbuf, sizeof numbuf, "%.17g", d);
            id = numbuf;
        } else {
            st = mpct_error_set(MPCT_ERR_FORMAT, "%s:%zu: %s '%s'", r->path, rec->line,
                                v ? "not a string or number: id member" : "no id member", r->id_field);
            goto done;
        }
    }
    size_t tl = strlen(t->valuestring), il = id ? strlen(id) : 0;
    MPCT_CALL_GOTO(st, done, field_room(r, tl + il + 2));
    memcpy(r->field, t->valuestring, tl + 1);
    rec->text = r->field, rec->text_len = tl;
    if (id) {
        memcpy(r->field + tl + 1, id, il + 1);
        rec->id = r->field + tl + 1, rec->id_len = il;
    }
done:
    if (o) {
        const cJSON *tw = cJSON_GetObjectItemCaseSensitive(o, r->text_field);
        if (cJSON_IsString(tw))
            mpct_wipe(tw->valuestring, strlen(tw->valuestring));
    }
    cJSON_Delete(o);
    return st;
}

mpct_status mpct_rec_next(mpct_rec_reader *r, mpct_rec *rec, int *got)
{
    memset(rec, 0, sizeof *rec);
    rec->offset = r->pos;
    if (r->fmt == MPCT_REC_CSV || r->fmt == MPCT_REC_TSV) {
        size_t starts[REC_MAX_COLS], n = 0;
        MPCT_CALL(csv_record(r, starts, &n, &rec->line, got));
        if (!*got)
            return MPCT_OK;
        if (n != r->ncols)
            return mpct_error_set(MPCT_ERR_FORMAT, "%s:%zu: %zu field%s, the header has %zu", r->path, rec->line, n,
                                  n == 1 ? "" : "s", r->ncols);
        rec->text = r->field + starts[r->text_col];
        rec->text_len = strlen(rec->text);
        if (r->id_col >= 0)
            rec->id = r->field + starts[r->id_col], rec->id_len = strlen(rec->id);
        return MPCT_OK;
    }
    r->raw_len = 0;
    MPCT_CALL(read_line(r, got));
    if (!*got)
        return MPCT_OK;
    rec->line = r->line;
    if (r->fmt == MPCT_REC_TEXT || r->fmt == MPCT_REC_IDS) {
        rec->text = r->raw, rec->text_len = r->raw_len;
        return MPCT_OK;
    }
    return jsonl_fields(r, rec);
}

mpct_status mpct_rec_parse_ids(const char *path, size_t line, const char *text, size_t len, size_t vocab,
                               int32_t *ids, size_t cap, size_t *n, size_t *total)
{
    *n = *total = 0;
    for (size_t i = 0; i < len;) {
        const char c = text[i];
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
            i++;
            continue;
        }
        size_t j = i;
        unsigned long long v = 0;
        while (j < len && text[j] >= '0' && text[j] <= '9' && v <= vocab)
            v = v * 10 + (unsigned long long)(text[j++] - '0');
        const size_t tok_end = j;
        while (j < len && !(text[j] == ' ' || text[j] == '\t' || text[j] == '\r' || text[j] == '\n'))
            j++;
        if (tok_end == i || tok_end != j)
            return mpct_error_set(MPCT_ERR_FORMAT, "%s:%zu: token id '%.*s' is not a non-negative integer", path, line,
                                  (int)(j - i > 40 ? 40 : j - i), text + i);
        if (v >= vocab)
            return mpct_error_set(MPCT_ERR_FORMAT, "%s:%zu: token id %.*s is outside the vocabulary (0..%zu)", path,
                                  line, (int)(j - i > 40 ? 40 : j - i), text + i, vocab - 1);
        if (*n < cap)
            ids[(*n)++] = (int32_t)v;
        (*total)++;
        i = j;
    }
    if (!*total)
        return mpct_error_set(MPCT_ERR_FORMAT, "%s:%zu: no token ids on the line (a row needs at least one)", path,
                              line);
    return MPCT_OK;
}

mpct_status mpct_rec_seek(mpct_rec_reader *r, int64_t offset, size_t line)
{
    if (fseeko(r->f, (off_t)offset, SEEK_SET) != 0)
        return mpct_error_set(MPCT_ERR_IO, "%s: cannot seek to byte %lld", r->path, (long long)offset);
    r->pos = offset;
    r->line = line - 1;
    r->sha_ok = 0;
    return MPCT_OK;
}

mpct_status mpct_rec_sha256(mpct_rec_reader *r, char hex[65])
{
    unsigned char h[32];
    unsigned int hl = 0;
    if (!r->sha_ok || EVP_DigestFinal_ex(r->sha, h, &hl) != 1)
        return mpct_error_set(MPCT_ERR_CRYPTO, "%s: the SHA-256 of the inputs needs one pass from the start",
                              r->path);
    r->sha_ok = 0;
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", h[i]);
    return MPCT_OK;
}

void mpct_rec_close(mpct_rec_reader *r)
{
    if (!r)
        return;
    if (r->f)
        fclose(r->f);
    if (r->lbuf) {
        mpct_wipe(r->lbuf, r->lcap);
        free(r->lbuf);
    }
    mpct_free_secret(r->raw);
    mpct_free_secret(r->field);
    EVP_MD_CTX_free(r->sha);
    free(r->path);
    free(r->text_field);
    free(r->id_field);
    free(r);
}
