/*
 * cmd_tokenize.c — `mpct tokenize`: token ids of each input line.
 *
 * MPCT_COMMAND(tokenize, 0, "print the token ids of each input line")
 *
 * Reads UTF-8 text line by line with the rules of every inputs file
 * (mpct_tok_encode_line: "\n" separated, a "\r" before it removed, a NUL
 * byte an error, lines without text counted in one warning), prints the ids
 * (the special tokens around the line's pieces) space-separated, one output line per input line.
 * Exit status (tokenize_exits): 0 ok, 1 bad input (unreadable file, bad vocabulary, invalid UTF-8,
 * NUL byte: the message names the file and line), 2 bad usage. Truncation to
 * --max-len is a warning on stderr, not an error.
 *
 * The input lines are the user's secret text: the line buffer is wiped.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpct_core.h"
#include "mpct_tok.h"
#include "opt.h"

int mpct_cmd_tokenize(int argc, char **argv);

#define TOKENIZE_MAX_LEN_LIMIT (1u << 20)

static const mpct_opt tokenize_opts_table[] = {
    {"model", 0, "FILE.h5", "take the tokenizer from an mpct model file\n(dataset " MPCT_TOK_H5_JSON " or "
                            MPCT_TOK_H5_DATASET ")"},
    {"vocab", 0, "FILE", "take the tokenizer from a vocab.txt (BERT uncased WordPiece, one token\n"
                         "per line) or a Hugging Face tokenizer.json"},
    {"max-len", 0, "N", "at most N ids per line including the special tokens\n"
                        "(default 512, 2..1048576); longer lines are truncated with a\n"
                        "warning on stderr"},
    {"input", 'i', "FILE", "read FILE instead of standard input"},
};

static const mpct_opt_cmd tokenize_cmd = {
    .name = "tokenize",
    .usage = "mpct tokenize (--model FILE.h5 | --vocab vocab.txt|tokenizer.json) [--max-len N] [--input FILE]",
    .about = "Prints the token ids (as Hugging Face's tokenizers give them) of each input\n"
             "line, space-separated, one output line per input line: the special tokens\n"
             "around the pieces ([CLS] pieces... [SEP] for BERT). A line without text (empty\n"
             "or only white space) still gives its line, \"101 102\" with a standard BERT vocabulary,\n"
             "and one warning on stderr counts such lines. A NUL byte in the input is an\n"
             "error (the file is not text).\n",
    MPCT_OPT_TABLE(tokenize_opts_table),
    .unknown = "unknown argument",
    .exit_fail = "bad input: an unreadable file, a bad vocabulary, invalid UTF-8 or a NUL byte\n"
                 "(the message names the file and line)",
};

typedef struct tokenize_opts {
    const char *model, *vocab, *input;
    size_t max_len;
} tokenize_opts;

/* Options into *o; -1 to go on, else the exit status (0 after --help). */
static int tokenize_parse(int argc, char **argv, tokenize_opts *o)
{
    const char *max_len_s = NULL;
    *o = (tokenize_opts){.max_len = 512};
    mpct_opt_iter it = mpct_opt_start(&tokenize_cmd, argc, argv, 1);
    int rc;
    while (mpct_opt_more(&it, &rc)) {
        if (!it.opt)
            return mpct_opt_usage_error(&tokenize_cmd, "unexpected argument '%s' (the input is --input FILE)",
                                        it.value);
        if (mpct_opt_is(&it, "model"))
            o->model = it.value;
        else if (mpct_opt_is(&it, "vocab"))
            o->vocab = it.value;
        else if (mpct_opt_is(&it, "max-len"))
            max_len_s = it.value;
        else if (mpct_opt_is(&it, "input"))
            o->input = it.value;
    }
    if (rc >= 0)
        return rc;
    if ((o->model == NULL) == (o->vocab == NULL)) {
        fprintf(stderr, "mpct tokenize: error: give exactly one of --model FILE.h5 or --vocab "
                        "vocab.txt (see mpct tokenize --help)\n");
        return 2;
    }
    if (max_len_s != NULL) {
        char *end = NULL;
        errno = 0;
        unsigned long long v = strtoull(max_len_s, &end, 10);
        if (errno != 0 || end == max_len_s || *end != '\0' || max_len_s[0] == '-' || v < 2 ||
            v > TOKENIZE_MAX_LEN_LIMIT) {
            fprintf(stderr,
                    "mpct tokenize: error: --max-len '%s' is not an integer in 2..%u (it counts "
                    "[CLS] and [SEP])\n",
                    max_len_s, TOKENIZE_MAX_LEN_LIMIT);
            return 2;
        }
        o->max_len = (size_t)v;
    }
    return -1;
}

/* Prints the ids of every line of in (named in_name) with ids and the line
 * buffer as scratch; 0 or 1 (a message on stderr). */
static int tokenize_lines(mpct_tok_t *tok, FILE *in, const char *in_name, size_t max_len, int32_t *ids,
                          char **line, size_t *cap)
{
    int rc = 0;
    mpct_tok_lines ln = {.path = in_name};
    for (;;) {
        errno = 0;
        ssize_t got = getline(line, cap, in);
        if (got < 0) {
            if (ferror(in)) {
                fprintf(stderr, "mpct tokenize: error: %s:%zu: read error: %s\n", in_name, ln.line + 1,
                        strerror(errno));
                rc = 1;
            }
            break;
        }
        size_t n = 0, dropped = 0;
        mpct_status st = mpct_tok_encode_line(tok, &ln, *line, (size_t)got, max_len, ids, NULL, &n, &dropped);
        if (st != MPCT_OK) {
            fprintf(stderr, "mpct tokenize: error: %s\n", mpct_error_msg());
            rc = 1;
            break;
        }
        size_t before = 0, after = 0;
        mpct_tok_affixes(tok, &before, &after);
        if (dropped > 0)
            fprintf(stderr,
                    "mpct tokenize: warning: %s:%zu: %zu word pieces, truncated to the first "
                    "%zu (--max-len %zu counts the %zu special tokens)\n",
                    in_name, ln.line, n - before - after + dropped, n - before - after, max_len, before + after);
        for (size_t k = 0; k < n; k++)
            printf(k ? " %d" : "%d", (int)ids[k]);
        putchar('\n');
    }
    if (rc == 0)
        mpct_tok_lines_warn(&ln, "mpct tokenize");
    return rc;
}

int mpct_cmd_tokenize(int argc, char **argv)
{
    tokenize_opts o;
    int prc = tokenize_parse(argc, argv, &o);
    if (prc >= 0)
        return prc;
    const size_t max_len = o.max_len;

    mpct_tok_t *tok = NULL;
    mpct_status st = o.model ? mpct_tok_load_h5(o.model, &tok) : mpct_tok_load_vocab_file(o.vocab, &tok);
    if (st != MPCT_OK) {
        fprintf(stderr, "mpct tokenize: error: %s\n", mpct_error_msg());
        return 1;
    }

    const char *in_name = o.input ? o.input : "<stdin>";
    FILE *in = stdin;
    if (o.input != NULL) {
        in = fopen(o.input, "rb");
        if (in == NULL) {
            fprintf(stderr, "mpct tokenize: error: cannot open input file %s: %s\n", o.input,
                    strerror(errno));
            mpct_tok_free(tok);
            return 1;
        }
    }

    int rc = 0;
    int32_t *ids = malloc(max_len * sizeof *ids);
    char *line = NULL;
    size_t cap = 0;
    if (ids == NULL) {
        fprintf(stderr, "mpct tokenize: error: out of memory for --max-len %zu\n", max_len);
        rc = 1;
        goto done;
    }
    rc = tokenize_lines(tok, in, in_name, max_len, ids, &line, &cap);
    if (fflush(stdout) != 0) {
        fprintf(stderr, "mpct tokenize: error: cannot write standard output: %s\n", strerror(errno));
        rc = 1;
    }

done:
    if (line != NULL)
        mpct_wipe(line, cap);
    free(line);
    if (ids != NULL)
        mpct_wipe(ids, max_len * sizeof *ids);
    free(ids);
    if (in != stdin)
        fclose(in);
    mpct_tok_free(tok);
    return rc;
}
