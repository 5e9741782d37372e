/*
 * mpct_records.h — the inputs file of `mpct run` read record by record:
 * plain text (one input per line), JSON Lines (one object per line, the
 * text in a named string member) or CSV/TSV (a header row naming the
 * columns, then one record per row; RFC 4180 quoting, so a quoted field may
 * hold the delimiter, doubled quotes and line breaks).
 *
 * Prefix: mpct_rec_.
 *
 * Invariants:
 *  - A record is one row of the output, in file order; the CSV/TSV header
 *    is not a record. Nothing is skipped: a malformed record (bad JSON, not
 *    an object, a missing or non-string text member, an id that is neither
 *    a string nor a number, a wrong column count, a stray quote) is an
 *    MPCT_ERR_FORMAT error "PATH:LINE: <problem>".
 *  - Plain text records are the lines exactly as getline reads them (line
 *    ending included), so mpct_tok_encode_line sees what it always saw.
 *  - mpct_rec_sha256 is the SHA-256 of every byte read from the start of
 *    the file to its end (header included): valid only after a pass from
 *    the start that reached the end without a seek.
 *  - mpct_rec_seek goes back to a record start returned earlier by
 *    mpct_rec_next (its offset and line); the header is not read again.
 */
#ifndef MPCT_RECORDS_H
#define MPCT_RECORDS_H

#include <stddef.h>
#include <stdint.h>

#include "mpct_core.h"

/* IDS: read as TEXT (one record per line), each line a row's token ids
 * ("101 7592 102"), which the consumer parses (mpct_rec_parse_ids). */
typedef enum { MPCT_REC_TEXT, MPCT_REC_JSONL, MPCT_REC_CSV, MPCT_REC_TSV, MPCT_REC_IDS } mpct_rec_format;

typedef struct mpct_rec_reader mpct_rec_reader;

typedef struct mpct_rec {
    const char *text; /* the input's text (decoded), text_len bytes; valid until the next call */
    size_t text_len;
    const char *id;   /* the id field's value (a JSON number as written), or NULL without an id field */
    size_t id_len;
    int64_t offset;   /* byte offset of the record's first byte */
    size_t line;      /* 1-based line the record starts on */
} mpct_rec;

/* name: "text", "jsonl", "csv", "tsv", "ids", or "" / "auto" = by the
 * path's extension (.jsonl/.ndjson, .csv, .tsv/.tab; anything else is
 * text; ids only by name). A name not in that list is MPCT_ERR_ARG. */
mpct_status mpct_rec_format_parse(const char *name, const char *path, mpct_rec_format *fmt) MPCT_WUR;
const char *mpct_rec_format_name(mpct_rec_format fmt);

/* Opens path; for CSV/TSV reads the header and finds the columns.
 * text_field names the JSON member or column holding the text (text
 * format: ignored); id_field ("" = none) the one holding the row's id (an
 * id field with the text format is MPCT_ERR_ARG). */
mpct_status mpct_rec_open(const char *path, mpct_rec_format fmt, const char *text_field, const char *id_field,
                          mpct_rec_reader **r) MPCT_WUR;
/* The next record into *rec: *got = 1, or 0 at the end of the file. */
mpct_status mpct_rec_next(mpct_rec_reader *r, mpct_rec *rec, int *got) MPCT_WUR;
/* Goes to a record start (offset and line as mpct_rec_next gave them). */
mpct_status mpct_rec_seek(mpct_rec_reader *r, int64_t offset, size_t line) MPCT_WUR;
/* Hex SHA-256 of the whole file (see the invariants); hex holds 65 bytes. */
mpct_status mpct_rec_sha256(mpct_rec_reader *r, char hex[65]) MPCT_WUR;
/* The token ids of an IDS record (decimal, separated by blanks; a trailing
 * "\r\n" allowed): ids[0..*n) for the first cap of them, *total = all of
 * them. Each must be in [0, vocab); a non-number, an id out of range or a
 * line without ids is MPCT_ERR_FORMAT "PATH:LINE: ..." naming the value. */
mpct_status mpct_rec_parse_ids(const char *path, size_t line, const char *text, size_t len, size_t vocab,
                               int32_t *ids, size_t cap, size_t *n, size_t *total) MPCT_WUR;
/* Closes r (NULL is a no-op), wiping its buffers (the inputs are secret). */
void mpct_rec_close(mpct_rec_reader *r);

#endif
