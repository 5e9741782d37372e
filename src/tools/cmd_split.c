/*
 * cmd_split.c — `mpct split INPUTS`: cuts an inputs file (plain text, JSON
 * Lines, CSV/TSV) into shards for a job array (slurm/submit-array.sh).
 *
 * MPCT_COMMAND(split, 0, "cut an inputs file into job-array shards (text, JSONL, CSV/TSV)")
 *
 * Records are read with the reader `mpct run` uses (mpct_records.h), so a
 * shard boundary never falls inside a record (a CSV field quoted over
 * several lines stays whole) and a malformed record is refused before any
 * shard is written. Invariants:
 *  - Shard i is DIR/shard-%03d.EXT (EXT = the input's format: txt, jsonl,
 *    csv, tsv), the name slurm/mpct-array.sbatch reads through
 *    MPCT_SHARD_INPUTS; it holds the input's bytes of its records exactly
 *    (line endings, quoting, ids untouched), after the CSV/TSV header,
 *    which every CSV/TSV shard repeats.
 *  - Shards are contiguous and in order: concatenating their records gives
 *    the input's records in the input's order. --shards N gives N shards
 *    whose sizes differ by at most one row (the first ones larger); --rows
 *    M gives shards of M rows, the last one the remainder. No shard is
 *    empty.
 *  - DIR/row-offsets line i+1 is the number of rows before shard i: the
 *    value of `mpct run --row-offset` for shard i, and the MPCT_ROW_OFFSETS
 *    file of mpct-array.sbatch, so that `mpct merge` places every shard's
 *    rows where they are in the input.
 *  - Each file is written under NAME.tmp and renamed when complete; the
 *    copy buffer is wiped (the inputs are secret).
 */
#define _POSIX_C_SOURCE 200809L
#include "mpct_core.h"
#include "mpct_records.h"
#include "opt.h"
#include "tool_common.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define SPLIT_MAX_SHARDS 100000
#define SPLIT_COPY_CHUNK 65536

static const mpct_opt split_opts[] = {
    {"shards", 'n', "N", "cut into N shards of nearly equal rows (1..100000)"},
    {"rows", 0, "M", "cut into shards of M rows each (the last one the remainder)"},
    {"output-dir", 'd', "DIR", "where the shards go (default mpct-shards-in; created)"},
    {"input-format", 0, "auto|text|jsonl|csv|tsv|ids", "how to read INPUTS (default auto: by its extension)"},
    {"text-field", 0, "NAME", "the JSON member or CSV/TSV column holding the text (default text);\n"
                              "every record is checked as mpct run will read it"},
    {"id-field", 0, "NAME", "the member or column holding the ids (checked, kept as written)"},
    {"quiet", 'q', NULL, "no summary line"},
};

static const mpct_opt_cmd split_cmd = {
    .name = "split",
    .usage = "mpct split (--shards N | --rows M) [--output-dir DIR] [--input-format F]\n"
             "           [--text-field NAME] [--id-field NAME] INPUTS",
    .about = "Cuts INPUTS (one text per line, JSON Lines, or CSV/TSV with a header and RFC 4180\n"
             "quoting) into shards DIR/shard-000.EXT, shard-001.EXT, ... that hold its records\n"
             "unchanged and in order (a CSV/TSV shard repeats the header), and writes\n"
             "DIR/row-offsets: line i+1 is the number of rows before shard i (mpct run\n"
             "--row-offset). A record quoted over several lines is never cut; a malformed\n"
             "record is refused (FILE:LINE) before anything is written. Run each shard with\n"
             "--row-offset and join the outputs with mpct merge, or submit them all with\n"
             "  MPCT_SHARD_INPUTS='DIR/shard-%03d.EXT' MPCT_ROW_OFFSETS=DIR/row-offsets \\\n"
             "    MPCT_JOB=job.ini slurm/submit-array.sh N merged.h5\n",
    MPCT_OPT_TABLE(split_opts),
    .exit_ok = "the shards and row-offsets are written",
    .exit_fail = "INPUTS unreadable or malformed (FILE:LINE), fewer rows than shards, or a\n"
                 "shard cannot be written",
};

typedef struct split_opts_t {
    const char *inputs, *dir, *format, *text_field, *id_field;
    long shards, rows;
    int quiet;
} split_opts_t;

/* Options into *o; -1 to go on, else the exit status. */
static int split_parse(int argc, char **argv, split_opts_t *o)
{
    *o = (split_opts_t){.dir = "mpct-shards-in", .format = "auto", .text_field = "text", .id_field = ""};
    mpct_opt_iter it = mpct_opt_start(&split_cmd, argc, argv, 1);
    int rc;
    while (mpct_opt_more(&it, &rc)) {
        if (!it.opt) {
            if (mpct_opt_positional(&it, &o->inputs))
                return 2;
        } else if (mpct_opt_is(&it, "shards")) {
            if (mpct_tool_parse_long("split", "--shards", it.value, 1, SPLIT_MAX_SHARDS, &o->shards))
                return 2;
        } else if (mpct_opt_is(&it, "rows")) {
            if (mpct_tool_parse_long("split", "--rows", it.value, 1, 1L << 40, &o->rows))
                return 2;
        } else if (mpct_opt_is(&it, "quiet")) {
            o->quiet = 1;
        } else if (!mpct_opt_take(&it, "output-dir", &o->dir) && !mpct_opt_take(&it, "input-format", &o->format) &&
                   !mpct_opt_take(&it, "text-field", &o->text_field)) {
            mpct_opt_take(&it, "id-field", &o->id_field);
        }
    }
    if (rc >= 0)
        return rc;
    if (!o->inputs)
        return mpct_opt_usage_error(&split_cmd, "no INPUTS file given");
    if (!o->shards == !o->rows)
        return mpct_opt_usage_error(&split_cmd, "give exactly one of --shards N or --rows M");
    return -1;
}

/* Reads every record of the file (checking each); *n = their count, and
 * when bounds is not NULL, bounds[k] = the byte offset of record at[k]
 * (at ascending, nb entries; records past the end leave theirs alone).
 * *hdr = the offset of the first record (the CSV/TSV header's length). */
static mpct_status split_scan(const split_opts_t *o, mpct_rec_format fmt, const size_t *at, int64_t *bounds,
                              size_t nb, size_t *n, int64_t *hdr)
{
    mpct_rec_reader *r = NULL;
    MPCT_CALL(mpct_rec_open(o->inputs, fmt, o->text_field, o->id_field, &r));
    mpct_status st = MPCT_OK;
    size_t k = 0, b = 0;
    *hdr = -1;
    for (;;) {
        mpct_rec rec;
        int got = 0;
        MPCT_CALL_GOTO(st, done, mpct_rec_next(r, &rec, &got));
        if (!got)
            break;
        if (*hdr < 0)
            *hdr = rec.offset;
        if (bounds && b < nb && at[b] == k)
            bounds[b++] = rec.offset;
        k++;
    }
    *n = k;
done:
    mpct_rec_close(r);
    return st;
}

/* Copies bytes [from, to) of in (at from already) to out. */
static mpct_status split_copy(FILE *in, FILE *out, int64_t from, int64_t to, char *buf, const char *path)
{
    for (int64_t left = to - from; left > 0;) {
        size_t want = left > SPLIT_COPY_CHUNK ? SPLIT_COPY_CHUNK : (size_t)left;
        size_t got = fread(buf, 1, want, in);
        if (got != want)
            return mpct_error_set(MPCT_ERR_IO, "%s: read error (the file changed while it was split?)", path);
        if (fwrite(buf, 1, got, out) != got)
            return mpct_error_set(MPCT_ERR_IO, "write error: %s", strerror(errno));
        left -= (int64_t)got;
    }
    return MPCT_OK;
}

/* Writes path from in: the header bytes [0, hdr) then [from, to). */
static mpct_status split_write(const char *path, FILE *in, int64_t hdr, int64_t from, int64_t to, char *buf,
                               const char *src)
{
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *out = fopen(tmp, "wb");
    if (!out)
        return mpct_error_set(MPCT_ERR_IO, "cannot create '%s': %s", tmp, strerror(errno));
    mpct_status st = MPCT_OK;
    if (hdr > 0)
        st = fseeko(in, 0, SEEK_SET) ? mpct_error_set(MPCT_ERR_IO, "%s: cannot seek", src)
                                     : split_copy(in, out, 0, hdr, buf, src);
    if (st == MPCT_OK && fseeko(in, from, SEEK_SET))
        st = mpct_error_set(MPCT_ERR_IO, "%s: cannot seek", src);
    if (st == MPCT_OK)
        st = split_copy(in, out, from, to, buf, src);
    if (fclose(out) && st == MPCT_OK)
        st = mpct_error_set(MPCT_ERR_IO, "cannot write '%s': %s", tmp, strerror(errno));
    if (st == MPCT_OK && rename(tmp, path))
        st = mpct_error_set(MPCT_ERR_IO, "cannot rename '%s' to '%s': %s", tmp, path, strerror(errno));
    if (st != MPCT_OK)
        remove(tmp);
    return st;
}

/* The first row of every shard (n of them) into at[0..n-1], at[n] = rows. */
static void split_plan(size_t rows, size_t shards, size_t per, size_t *at)
{
    size_t row = 0;
    for (size_t i = 0; i < shards; i++) {
        at[i] = row;
        row += per ? per : rows / shards + (i < rows % shards);
    }
    at[shards] = rows;
}

static mpct_status split_files(const split_opts_t *o, mpct_rec_format fmt, size_t rows, size_t shards,
                               const size_t *at, const int64_t *bounds, int64_t hdr)
{
    static const char *const ext[] = {"txt", "jsonl", "csv", "tsv", "ids"};
    char *buf = malloc(SPLIT_COPY_CHUNK);
    FILE *in = fopen(o->inputs, "rb");
    mpct_status st = MPCT_OK;
    if (!buf || !in) {
        st = !buf ? mpct_error_set(MPCT_ERR_NOMEM, "out of memory")
                  : mpct_error_set(MPCT_ERR_IO, "cannot open '%s'", o->inputs);
        goto done;
    }
    char path[4096];
    for (size_t i = 0; i < shards && st == MPCT_OK; i++) {
        snprintf(path, sizeof path, "%s/shard-%03zu.%s", o->dir, i, ext[fmt]);
        st = split_write(path, in, fmt == MPCT_REC_CSV || fmt == MPCT_REC_TSV ? hdr : 0, bounds[i], bounds[i + 1],
                         buf, o->inputs);
    }
    snprintf(path, sizeof path, "%s/row-offsets", o->dir);
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = st == MPCT_OK ? fopen(tmp, "w") : NULL;
    if (st == MPCT_OK && !f)
        st = mpct_error_set(MPCT_ERR_IO, "cannot create '%s': %s", tmp, strerror(errno));
    for (size_t i = 0; f && i < shards; i++)
        fprintf(f, "%zu\n", at[i]);
    if (f && (fclose(f) || rename(tmp, path)))
        st = mpct_error_set(MPCT_ERR_IO, "cannot write '%s': %s", path, strerror(errno));
    if (st == MPCT_OK && !o->quiet)
        printf("mpct split: %zu rows of '%s' (%s) -> %zu shards %s/shard-%%03d.%s, row offsets in %s\n", rows,
               o->inputs, mpct_rec_format_name(fmt), shards, o->dir, ext[fmt], path);
done:
    if (in)
        fclose(in);
    if (buf)
        mpct_wipe(buf, SPLIT_COPY_CHUNK);
    free(buf);
    return st;
}

int mpct_cmd_split(int argc, char **argv)
{
    split_opts_t o;
    int rc = split_parse(argc, argv, &o);
    if (rc >= 0)
        return rc;
    mpct_rec_format fmt;
    if (mpct_rec_format_parse(o.format, o.inputs, &fmt) != MPCT_OK)
        return mpct_opt_usage_error(&split_cmd, "%s", mpct_error_msg());
    if ((fmt == MPCT_REC_TEXT || fmt == MPCT_REC_IDS) && o.id_field[0])
        return mpct_opt_usage_error(&split_cmd, "--id-field '%s' needs a jsonl, csv or tsv file; '%s' is read as "
                                    "text", o.id_field, o.inputs);
    size_t rows = 0, *at = NULL;
    int64_t hdr = 0, *bounds = NULL;
    mpct_status st = split_scan(&o, fmt, NULL, NULL, 0, &rows, &hdr);
    size_t shards = o.shards ? (size_t)o.shards : rows ? (rows + (size_t)o.rows - 1) / (size_t)o.rows : 0;
    if (st == MPCT_OK && (rows == 0 || rows < shards)) {
        fprintf(stderr, "mpct split: error: '%s' has %zu rows, fewer than the %zu shards asked for\n", o.inputs, rows,
                shards ? shards : 1);
        return 1;
    }
    if (st == MPCT_OK && !(at = calloc(shards + 1, sizeof *at)))
        st = mpct_error_set(MPCT_ERR_NOMEM, "out of memory");
    if (st == MPCT_OK && !(bounds = calloc(shards + 1, sizeof *bounds)))
        st = mpct_error_set(MPCT_ERR_NOMEM, "out of memory");
    struct stat sb;
    if (st == MPCT_OK && stat(o.inputs, &sb))
        st = mpct_error_set(MPCT_ERR_IO, "cannot stat '%s'", o.inputs);
    if (st == MPCT_OK) {
        split_plan(rows, shards, o.rows > 0 ? (size_t)o.rows : 0, at);
        size_t again = 0;
        bounds[shards] = (int64_t)sb.st_size;
        st = split_scan(&o, fmt, at, bounds, shards, &again, &hdr);
        if (st == MPCT_OK && again != rows)
            st = mpct_error_set(MPCT_ERR_IO, "'%s' changed while it was read (%zu rows, then %zu)", o.inputs, rows,
                                again);
    }
    if (st == MPCT_OK && mkdir(o.dir, 0777) && errno != EEXIST)
        st = mpct_error_set(MPCT_ERR_IO, "cannot create the directory '%s': %s", o.dir, strerror(errno));
    if (st == MPCT_OK)
        st = split_files(&o, fmt, rows, shards, at, bounds, hdr);
    free(at);
    free(bounds);
    if (st != MPCT_OK) {
        fprintf(stderr, "mpct split: error: %s\n", mpct_error_msg());
        return 1;
    }
    return 0;
}
