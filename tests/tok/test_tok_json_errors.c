/*
 * test_tok_json_errors.c — tokenizer.json files mpct must refuse, each with
 * a message naming the JSON path and the value (unsupported normalizer,
 * pre-tokenizer, model type or option, added-token option, post-processor
 * shape, unknown keys, broken vocabulary or merges, invalid JSON), and known
 * answers on a hand-written BPE (merge ranks, lstrip/rstrip of added tokens,
 * the padding id, the special token counts).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpct_core.h"
#include "mpct_tok.h"
#include "../mpct_check.h"

#define ADDED                                                                                                \
    "[{\"id\":0,\"content\":\"<pad>\",\"single_word\":false,\"lstrip\":false,\"rstrip\":false,"            \
    "\"normalized\":false,\"special\":true},{\"id\":5,\"content\":\"<m>\",\"single_word\":false,"           \
    "\"lstrip\":true,\"rstrip\":true,\"normalized\":false,\"special\":true}]"
#define PAD0 "[{\"id\":0,\"content\":\"<pad>\"}]"
#define BPE                                                                                                  \
    "{\"type\":\"BPE\",\"dropout\":null,\"unk_token\":null,\"continuing_subword_prefix\":null,"            \
    "\"end_of_word_suffix\":null,\"fuse_unk\":false,\"byte_fallback\":false,\"ignore_merges\":false,"      \
    "\"vocab\":{\"<pad>\":0,\"a\":1,\"b\":2,\"ab\":3,\"ba\":4},\"merges\":[\"a b\",[\"b\",\"a\"]]}"
#define POST "{\"type\":\"TemplateProcessing\",\"single\":[{\"Sequence\":{\"id\":\"A\",\"type_id\":0}}," \
             "{\"SpecialToken\":{\"id\":\"<pad>\",\"type_id\":0}}],\"pair\":[],\"special_tokens\":"       \
             "{\"<pad>\":{\"id\":\"<pad>\",\"ids\":[0],\"tokens\":[\"<pad>\"]}}}"

static char buf[8192];

static const char *json(const char *added, const char *norm, const char *pre, const char *post, const char *model,
                        const char *extra)
{
    snprintf(buf, sizeof buf,
             "{\"version\":\"1.0\",\"truncation\":null,\"padding\":null,\"added_tokens\":%s,\"normalizer\":%s,"
             "\"pre_tokenizer\":%s,\"post_processor\":%s,\"decoder\":null,\"model\":%s%s}",
             added, norm, pre, post, model, extra);
    return buf;
}

static mpct_status load(const char *s, mpct_tok_t **t)
{
    return mpct_tok_load_vocab_mem(s, strlen(s), "t.json", t);
}

#define REFUSED(text, ...)                                                                                   \
    do {                                                                                                     \
        mpct_tok_t *t_ = NULL;                                                                               \
        EXPECT_ERR(load(text, &t_), MPCT_ERR_FORMAT, "t.json: ", __VA_ARGS__);                               \
        CHECK(t_ == NULL);                                                                                   \
    } while (0)

static void test_refusals(void)
{
    REFUSED(json(ADDED, "{\"type\":\"Nmt\"}", "null", "null", BPE, ""), "normalizer.type = \"Nmt\" is not supported");
    REFUSED(json(ADDED, "{\"type\":\"Sequence\",\"normalizers\":[{\"type\":\"NFKC\"},{\"type\":\"Prepend\"}]}", "null",
                 "null", BPE, ""),
            "normalizer.normalizers[1].type = \"Prepend\"");
    REFUSED(json(ADDED, "{\"type\":\"Replace\",\"pattern\":{\"Regex\":\"\\\\s+\"},\"content\":\" \"}", "null", "null", BPE, ""),
            "normalizer.pattern = \\s+ is not supported by mpct");
    REFUSED(json(ADDED, "{\"type\":\"Precompiled\",\"precompiled_charsmap\":\"AAAA\"}", "null", "null", BPE, ""),
            "normalizer.precompiled_charsmap: trie size 0");
    REFUSED(json(ADDED, "null", "{\"type\":\"Split\",\"pattern\":{\"Regex\":\"x\"}}", "null", BPE, ""),
            "pre_tokenizer.type = \"Split\"");
    REFUSED(json(ADDED, "null", "{\"type\":\"ByteLevel\",\"add_prefix_space\":true,\"shiny\":1}", "null", BPE, ""),
            "pre_tokenizer.shiny is not supported");
    REFUSED(json(ADDED, "null", "null", "{\"type\":\"Sequence\",\"processors\":[{\"type\":\"ByteLevel\"},{\"type\":\"Mystery\"}]}",
                 BPE, ""),
            "post_processor.processors[1].type = \"Mystery\"");
    REFUSED(json(ADDED, "null", "null", "null", "{\"type\":\"WordLevel\",\"vocab\":{},\"unk_token\":\"x\"}", ""),
            "model.type = \"WordLevel\"");
    REFUSED(json(PAD0, "null", "null", "null", "{\"type\":\"BPE\",\"dropout\":0.5,\"vocab\":{\"<pad>\":0},\"merges\":[]}",
                 ""),
            "model.dropout = 0.5");
    REFUSED(json(PAD0, "null", "null", "null",
                 "{\"type\":\"BPE\",\"vocab\":{\"<pad>\":0,\"a\":1},\"merges\":[\"a q\"]}", ""),
            "model.merges[0]", "\"q\" is not in model.vocab");
    REFUSED(json(ADDED, "null", "null", "null", "{\"type\":\"BPE\",\"vocab\":{\"<pad>\":0,\"a\":3},\"merges\":[]}", ""),
            "model.vocab[\"a\"]", "dense");
    REFUSED(json(PAD0, "null", "null", "null", "{\"type\":\"Unigram\",\"unk_id\":null,\"vocab\":[[\"<pad>\",0.0]]}",
                 ""),
            "model.unk_id");
    REFUSED(json("[{\"id\":0,\"content\":\"<pad>\",\"single_word\":true}]", "null", "null", "null", BPE, ""),
            "added_tokens[0].single_word = true");
    REFUSED(json("[{\"id\":0,\"content\":\"<pad>\",\"normalized\":true}]", "{\"type\":\"NFC\"}", "null", "null", BPE,
                 ""),
            "added_tokens[0].normalized = true");
    REFUSED(json(ADDED, "null", "{\"type\":\"Metaspace\",\"replacement\":\"__\",\"prepend_scheme\":\"always\"}",
                 "null", BPE, ""),
            "pre_tokenizer.replacement = \"__\" must be one character");
    REFUSED(json(ADDED, "null", "null",
                 "{\"type\":\"TemplateProcessing\",\"single\":[{\"Sequence\":{\"id\":\"B\"}}],\"special_tokens\":{}}",
                 BPE, ""),
            "post_processor.single[0]: Sequence \"B\"");
    REFUSED(json(ADDED, "null", "null", "null", BPE, ",\"extra\":1"), "extra is not supported");
    REFUSED(json("[]", "null", "null", "null",
                 "{\"type\":\"BPE\",\"vocab\":{\"a\":0,\"b\":1},\"merges\":[]}", ""),
            "no padding token");
    REFUSED("{\"model\": [1, 2", "not valid JSON");
}

static void expect(const mpct_tok_t *t, const char *text, size_t max_len, const int32_t *want, size_t nwant)
{
    int32_t ids[32];
    size_t n = 0, d = 0;
    MUST(mpct_tok_encode(t, text, strlen(text), max_len, ids, NULL, &n, &d));
    int ok = n == nwant;
    for (size_t i = 0; ok && i < n; i++)
        ok = ids[i] == want[i];
    CHECK(ok, "\"%s\": got %zu ids, first %d", text, n, n ? (int)ids[0] : -1);
}

static void test_known_answers(void)
{
    mpct_tok_t *t = NULL;
    MUST(load(json(ADDED, "null", "null", POST, BPE, ""), &t));
    size_t before = 9, after = 9;
    mpct_tok_affixes(t, &before, &after);
    CHECK(before == 0 && after == 1 && mpct_tok_vocab_size(t) == 6 && mpct_tok_special_id(t, MPCT_TOK_PAD) == 0);
    /* "aba": pairs (a,b) rank 0 and (b,a) rank 1: ab wins, then a */
    expect(t, "aba", 16, (const int32_t[]){3, 1, 0}, 3);
    /* "bab": (b,a) at 0 rank 1, (a,b) at 1 rank 0: ab wins */
    expect(t, "bab", 16, (const int32_t[]){2, 3, 0}, 3);
    /* <m> strips the spaces around it; a space is not in the vocabulary and is dropped */
    expect(t, "ab  <m>  ba", 16, (const int32_t[]){3, 5, 4, 0}, 4);
    expect(t, "ab ba", 16, (const int32_t[]){3, 4, 0}, 3);
    expect(t, "ababab", 3, (const int32_t[]){3, 3, 0}, 3);
    int32_t ids[4];
    size_t n = 0;
    EXPECT_ERR(mpct_tok_encode(t, "a", 1, 0, ids, NULL, &n, NULL), MPCT_ERR_ARG, "max_len 0 is too small");
    mpct_tok_free(t);
}

/* LLaMA-3's Split: (?i:'s) also takes "'\u017f" (long s folds to s), so "'\u017fx" is
 * "'\u017f" + "x", not one letter run "'\u017fx" (bytes: \u017f = C5 BF = "\u00c5\u00bf"). */
static void test_llama3_split(void)
{
    static const char j[] =
        "{\"version\":\"1.0\",\"truncation\":null,\"padding\":null,\"added_tokens\":[{\"id\":0,\"content\":\"<pad>\"},"
        "{\"id\":1,\"content\":\"<bos>\"}],\"normalizer\":null,\"decoder\":null,"
        "\"pre_tokenizer\":{\"type\":\"Sequence\",\"pretokenizers\":[{\"type\":\"Split\",\"pattern\":{\"Regex\":"
        "\"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\\\r\\\\n\\\\p{L}\\\\p{N}]?\\\\p{L}+|\\\\p{N}{1,3}| ?[^\\\\s\\\\p{L}\\\\p{N}]+[\\\\r\\\\n]*|"
        "\\\\s*[\\\\r\\\\n]+|\\\\s+(?!\\\\S)|\\\\s+\"},\"behavior\":\"Isolated\",\"invert\":false},"
        "{\"type\":\"ByteLevel\",\"add_prefix_space\":false,\"trim_offsets\":true,\"use_regex\":false}]},"
        "\"post_processor\":{\"type\":\"Sequence\",\"processors\":[{\"type\":\"ByteLevel\",\"add_prefix_space\":true,"
        "\"trim_offsets\":false,\"use_regex\":true},{\"type\":\"TemplateProcessing\",\"single\":[{\"SpecialToken\":"
        "{\"id\":\"<bos>\",\"type_id\":0}},{\"Sequence\":{\"id\":\"A\",\"type_id\":0}}],\"pair\":[],\"special_tokens\":"
        "{\"<bos>\":{\"id\":\"<bos>\",\"ids\":[1],\"tokens\":[\"<bos>\"]}}}]},"
        "\"model\":{\"type\":\"BPE\",\"ignore_merges\":true,\"vocab\":{\"<pad>\":0,\"<bos>\":1,\"'\":2,\"\u00c5\":3,"
        "\"\u00bf\":4,\"x\":5,\"\u00c5\u00bf\":6,\"\u00c5\u00bfx\":7,\"'\u00c5\u00bf\":8},"
        "\"merges\":[[\"\u00c5\",\"\u00bf\"],[\"\u00c5\u00bf\",\"x\"],[\"'\",\"\u00c5\u00bf\"]]}}";
    mpct_tok_t *t = NULL;
    MUST(load(j, &t));
    expect(t, "'\xc5\xbfx", 16, (const int32_t[]){1, 8, 5}, 3);
    /* ignore_merges: a word in the vocabulary is one token */
    expect(t, "\xc5\xbfx", 16, (const int32_t[]){1, 7}, 2);
    mpct_tok_free(t);
    char bad[sizeof j + 16];
    snprintf(bad, sizeof bad, "%s", j);
    memcpy(strstr(bad, "(?i:'s"), "(?i:'x", 6);
    REFUSED(bad, "pre_tokenizer.pretokenizers[0].pattern = (?i:'x", "GPT-2's and LLaMA-3's regex");
}

int main(void)
{
    test_refusals();
    test_known_answers();
    test_llama3_split();
    return mpct_check_done("test_tok_json_errors");
}
