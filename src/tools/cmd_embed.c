/*
 * cmd_embed.c — `mpct embed`: plaintext float64 sentence embeddings (the
 * reference forward pass, no MPC) of lines of token ids.
 *
 * MPCT_COMMAND(embed, 0, "plaintext float64 embeddings of token-id lines")
 *
 * Input: one sequence per line, space-separated token ids as printed by
 * `mpct tokenize` ([CLS] ... [SEP] included). Output: one embedding per
 * line, %.9g values separated by spaces (then, with --logits and a model
 * that has a classification head, a tab and the logits).
 * Exit status: 0 success, 1 bad input (names the file and line), 2 usage.
 * Token ids and embeddings are the user's secrets: buffers are wiped.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpct_model.h"
#include "opt.h"
#include "tool_common.h"

int mpct_cmd_embed(int argc, char **argv);

static const mpct_opt embed_opts[] = {
    {"input", 'i', "FILE", "token-id lines (default: standard input)"},
    {"output", 'o', "FILE", "where to write (default: standard output)"},
    {"logits", 0, NULL, "append a tab and the classifier logits"},
};

static const mpct_opt_cmd embed_cmd = {
    .name = "embed",
    .usage = "mpct embed [--input IDS.txt] [--output OUT.txt] [--logits] MODEL.h5",
    .about = "Computes plaintext float64 embeddings with the reference forward pass\n"
             "(pooled and L2-normalised as the model file says) of each line of\n"
             "space-separated token ids, one output line per input line.\n",
    MPCT_OPT_TABLE(embed_opts),
    .exit_fail = "bad input: an unreadable model or input, a malformed line (the message names\n"
                 "the file and line), or an unwritable output",
};

/* Parses space-separated ids; returns count or -1 on a bad token. */
static long embed_parse(char *line, int32_t *ids, size_t cap)
{
    long n = 0;
    char *p = line;
    for (;;) {
        while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n') p++;
        if (!*p) break;
        char *end;
        errno = 0;
        long v = strtol(p, &end, 10);
        if (end == p || errno || v < 0 || v > 0x7fffffffL) return -1;
        if ((size_t)n >= cap) return -2;
        ids[n++] = (int32_t)v;
        p = end;
    }
    return n;
}

int mpct_cmd_embed(int argc, char **argv)
{
    const char *model = NULL, *in = NULL, *outp = NULL;
    int want_logits = 0;
    mpct_opt_iter it = mpct_opt_start(&embed_cmd, argc, argv, 1);
    int rc;
    while (mpct_opt_more(&it, &rc)) {
        if (!it.opt) {
            if (mpct_opt_positional(&it, &model))
                return 2;
        } else if (mpct_opt_is(&it, "input")) {
            in = it.value;
        } else if (mpct_opt_is(&it, "output")) {
            outp = it.value;
        } else if (mpct_opt_is(&it, "logits")) {
            want_logits = 1;
        }
    }
    if (rc >= 0)
        return rc;
    if (!model) {
        fprintf(stderr, "mpct embed: error: give MODEL.h5 (see mpct embed --help)\n");
        return 2;
    }
    mpct_ref_model *m = NULL;
    mpct_status st = mpct_ref_load(model, &m);
    if (st != MPCT_OK) {
        mpct_sched_error("embed", st);
        return 1;
    }
    const mpct_model_config *c = mpct_ref_config(m);
    FILE *fi = in ? fopen(in, "r") : stdin;
    FILE *fo = outp ? fopen(outp, "w") : stdout;
    const char *in_name = in ? in : "(stdin)";
    rc = 0;
    size_t cap = (size_t)c->max_positions, h = (size_t)c->hidden, nl = (size_t)c->num_labels;
    int32_t *ids = malloc(cap * sizeof *ids), *mask = malloc(cap * sizeof *mask);
    double *emb = malloc(h * sizeof *emb), *lg = malloc((nl + 1) * sizeof *lg);
    char *line = NULL;
    size_t lcap = 0, lineno = 0;
    if (!fi || !fo) {
        fprintf(stderr, "mpct embed: error: cannot open %s: %s\n", !fi ? in_name : outp, strerror(errno));
        rc = 1;
        goto out;
    }
    if (!ids || !mask || !emb || !lg) {
        fprintf(stderr, "mpct embed: error: out of memory\n");
        rc = 1;
        goto out;
    }
    for (size_t i = 0; i < cap; i++) mask[i] = 1;
    ssize_t got;
    while ((got = getline(&line, &lcap, fi)) >= 0) {
        lineno++;
        /* a NUL byte would end the parse early: "1 2\0 3" is not "1 2" */
        long n = memchr(line, '\0', (size_t)got) ? -3 : embed_parse(line, ids, cap);
        if (n <= 0) {
            fprintf(stderr, "mpct embed: error: %s:%zu: %s\n", in_name, lineno,
                    n == 0    ? "empty line (expected token ids)"
                    : n == -3 ? "NUL byte in the line (the input must be text)"
                    : n == -2 ? "more token ids than max_positions of the model"
                              : "not a list of non-negative integer token ids");
            rc = 1;
            break;
        }
        st = mpct_ref_forward(m, ids, mask, 1, (size_t)n, emb, want_logits ? lg : NULL);
        if (st != MPCT_OK) {
            fprintf(stderr, "mpct embed: error: %s:%zu: %s\n", in_name, lineno, mpct_error_msg());
            rc = 1;
            break;
        }
        for (size_t j = 0; j < h; j++) fprintf(fo, "%s%.9g", j ? " " : "", emb[j]);
        if (want_logits && nl > 0) {
            fputc('\t', fo);
            for (size_t j = 0; j < nl; j++) fprintf(fo, "%s%.9g", j ? " " : "", lg[j]);
        }
        fputc('\n', fo);
    }
    if (line) mpct_wipe(line, lcap);
out:
    if (ids) mpct_wipe(ids, cap * sizeof *ids);
    if (emb) mpct_wipe(emb, h * sizeof *emb);
    free(line);
    free(ids);
    free(mask);
    free(emb);
    free(lg);
    if (fi && fi != stdin) fclose(fi);
    if (fo && fo != stdout && fclose(fo) != 0) rc = 1;
    mpct_ref_free(m);
    return rc;
}
