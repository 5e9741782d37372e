/*
 * test_tok_json.c — tokenizers built from Hugging Face tokenizer.json files
 * against the ids Hugging Face `tokenizers` gives (tests/data/tok/NAME/,
 * made by datasets/make_tok_goldens.py): for every row of golden.txt
 * ("MAXLEN<TAB>HEX<TAB>IDS"; MAXLEN 0 = no truncation) the ids, their count,
 * the attention mask, the padding after them and the number of dropped pieces
 * must match exactly, and a second encode must give the same ids.
 *
 * Usage: test_tok_json DATA_DIR NAME...; exits 1 on any mismatch, printing the
 * row, the text (hex), expected and got ids.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpct_core.h"
#include "mpct_tok.h"
#include "../mpct_check.h"
#include "tok_test_util.h"

#define BIG 8192

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Checks one golden row; returns 1 if it matches. */
static int check_row(const mpct_tok_t *tok, size_t row, char *line)
{
    char *t1 = strchr(line, '\t'), *t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
    REQUIRE(t1 && t2, "row %zu is not MAXLEN<TAB>HEX<TAB>IDS", row);
    size_t maxlen = strtoul(line, NULL, 10), hexlen = (size_t)(t2 - t1 - 1);
    REQUIRE(hexlen < (1u << 24), "row %zu: text too long", row);
    char *text = malloc(hexlen / 2 + 1);
    REQUIRE(text, "out of memory");
    for (size_t i = 0; i < hexlen / 2; i++)
        text[i] = (char)(hexval(t1[1 + 2 * i]) * 16 + hexval(t1[2 + 2 * i]));
    static int32_t want[BIG], ids[BIG], ids2[BIG];
    static uint8_t mask[BIG];
    size_t nwant = 0;
    for (char *p = t2 + 1; *p;) {
        char *e;
        long v = strtol(p, &e, 10);
        if (e == p)
            break;
        want[nwant++] = (int32_t)v;
        p = e;
    }
    size_t cap = maxlen ? maxlen : BIG, n = 0, dropped = 0, n2 = 0, d2 = 0;
    mpct_status st = mpct_tok_encode(tok, text, hexlen / 2, cap, ids, mask, &n, &dropped);
    int ok = st == MPCT_OK && n == nwant && (maxlen || dropped == 0);
    for (size_t i = 0; ok && i < cap; i++)
        ok = i < n ? ids[i] == want[i] && mask[i] == 1
                   : ids[i] == mpct_tok_special_id(tok, MPCT_TOK_PAD) && mask[i] == 0;
    if (ok && maxlen) { /* dropped = pieces beyond the cut: the untruncated count minus the kept */
        size_t full = 0, fd = 0;
        static int32_t big[BIG];
        ok = mpct_tok_encode(tok, text, hexlen / 2, BIG, big, NULL, &full, &fd) == MPCT_OK && full - n == dropped;
    }
    ok = ok && mpct_tok_encode(tok, text, hexlen / 2, cap, ids2, NULL, &n2, &d2) == MPCT_OK && n2 == n &&
         memcmp(ids, ids2, n * sizeof *ids) == 0;
    if (!ok) {
        fprintf(stderr, "row %zu (max_len %zu, text %.*s): %s\n  want", row, maxlen, (int)hexlen, t1 + 1,
                st == MPCT_OK ? "ids differ" : mpct_error_msg());
        for (size_t i = 0; i < nwant; i++)
            fprintf(stderr, " %d", (int)want[i]);
        fprintf(stderr, "\n  got ");
        for (size_t i = 0; i < n; i++)
            fprintf(stderr, " %d", (int)ids[i]);
        fprintf(stderr, " (dropped %zu)\n", dropped);
    }
    free(text);
    return ok;
}

static void check_tokenizer(const char *dir, const char *name)
{
    char path[4096];
    size_t len = 0;
    snprintf(path, sizeof path, "%s/tok/%s/tokenizer.json", dir, name);
    char *json = tok_test_read_all(path, &len);
    mpct_tok_t *tok = NULL;
    mpct_status st = mpct_tok_load_vocab_mem(json, len, path, &tok);
    REQUIRE(st == MPCT_OK, "%s: %s", path, mpct_error_msg());
    free(json);
    snprintf(path, sizeof path, "%s/tok/%s/golden.txt", dir, name);
    char *g = tok_test_read_all(path, &len);
    size_t rows = 0, bad = 0;
    for (char *line = g, *nl; *line; line = nl + 1) {
        nl = strchr(line, '\n');
        REQUIRE(nl, "%s: last line has no newline", path);
        *nl = '\0';
        rows++;
        if (!check_row(tok, rows, line) && ++bad >= 10)
            break;
    }
    CHECK(bad == 0, "%s: %zu of %zu golden rows differ (first ones above)", name, bad, rows);
    CHECK(rows > 100, "%s: only %zu golden rows", name, rows);
    printf("%s: %zu rows, %zu differ\n", name, rows, bad);
    free(g);
    mpct_tok_free(tok);
}

int main(int argc, char **argv)
{
    REQUIRE(argc >= 3, "usage: test_tok_json DATA_DIR NAME...");
    for (int i = 2; i < argc; i++)
        check_tokenizer(argv[1], argv[i]);
    return mpct_check_done("test_tok_json");
}
