/*
 * tok_decode.c — token ids back to text, and a decoder tokenizer's
 * end-of-text tokens (what `mpct generate` writes and where it stops).
 *
 * Decoding implements Hugging Face's ByteLevel decoder (GPT-2, LLaMA-3,
 * SmolLM2): each model token's code points are GPT-2's printable byte
 * characters (bytes_to_unicode), mapped back to the bytes they stand for;
 * an added token (special tokens such as <|endoftext|>) is written as its
 * content, as tokenizer.decode(ids) does with skip_special_tokens=False.
 * Byte sequences that are not UTF-8 (a generation cut inside a character)
 * become U+FFFD per bad sequence, as bytes.decode("utf-8", "replace"), so
 * the text is always valid UTF-8.
 *
 * Invariants: the output is NUL-terminated, its length excludes the NUL;
 * tokenizers other than byte-level BPE are refused (MPCT_ERR_UNSUPPORTED)
 * by mpct_tok_can_decode before any work.
 */
#include "tok_internal.h"

#include <stdlib.h>
#include <string.h>

/* The byte a ByteLevel code point stands for (inverse of bytes_to_unicode), -1 if none. */
static int byte_of(int32_t c)
{
    if ((c >= 33 && c <= 126) || (c >= 161 && c <= 172) || (c >= 174 && c <= 255))
        return c;
    if (c >= 256 && c <= 256 + 32)
        return c - 256;
    if (c >= 256 + 33 && c <= 256 + 33 + 33)
        return c - 256 - 33 + 127;
    if (c == 256 + 33 + 34)
        return 173;
    return -1;
}

mpct_status mpct_tok_can_decode(const mpct_tok_t *tok)
{
    if (tok->pre != TOK_PRE_BYTELEVEL || tok->model != TOK_MODEL_BPE)
        return mpct_error_set(MPCT_ERR_UNSUPPORTED, "the model's tokenizer (%s) cannot turn ids back into text: "
                                                    "mpct decodes byte-level BPE tokenizers only",
                              mpct_tok_model_name(tok));
    return MPCT_OK;
}

static const struct tok_added *added_of(const mpct_tok_t *tok, int32_t id)
{
    for (size_t i = 0; i < tok->nadded; i++)
        if (tok->added[i].id == id)
            return &tok->added[i];
    return NULL;
}

/* Decodes one UTF-8 code point of s[0..n); its length, 0 when invalid. */
static size_t utf8_next(const unsigned char *s, size_t n, uint32_t *cp)
{
    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    }
    size_t k = (s[0] & 0xE0) == 0xC0 ? 2 : (s[0] & 0xF0) == 0xE0 ? 3 : (s[0] & 0xF8) == 0xF0 ? 4 : 0;
    if (!k || k > n)
        return 0;
    uint32_t c = s[0] & (0x7F >> k);
    for (size_t i = 1; i < k; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        c = c << 6 | (s[i] & 0x3F);
    }
    static const uint32_t min[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (c < min[k] || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
        return 0;
    *cp = c;
    return k;
}

static size_t put_utf8(char *o, uint32_t c)
{
    if (c < 0x80) {
        o[0] = (char)c;
        return 1;
    }
    if (c < 0x800) {
        o[0] = (char)(0xC0 | c >> 6), o[1] = (char)(0x80 | (c & 0x3F));
        return 2;
    }
    if (c < 0x10000) {
        o[0] = (char)(0xE0 | c >> 12), o[1] = (char)(0x80 | ((c >> 6) & 0x3F)), o[2] = (char)(0x80 | (c & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | c >> 18), o[1] = (char)(0x80 | ((c >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((c >> 6) & 0x3F)), o[3] = (char)(0x80 | (c & 0x3F));
    return 4;
}

mpct_status mpct_tok_decode(const mpct_tok_t *tok, const int32_t *ids, size_t n, char **text, size_t *len)
{
    *text = NULL;
    *len = 0;
    MPCT_CALL(mpct_tok_can_decode(tok));
    size_t raw_cap = 1;
    for (size_t i = 0; i < n; i++) {
        if (ids[i] < 0 || (size_t)ids[i] >= tok->n)
            return mpct_error_set(MPCT_ERR_ARG, "decode: id %d outside the tokenizer's %zu tokens", (int)ids[i],
                                  tok->n);
        raw_cap += tok->len[ids[i]];
    }
    unsigned char *raw = malloc(raw_cap);
    char *out = malloc(3 * raw_cap + 1); /* each raw byte becomes at most U+FFFD (3 bytes) */
    if (!raw || !out) {
        free(raw);
        free(out);
        return mpct_error_set(MPCT_ERR_NOMEM, "decode: out of memory");
    }
    size_t r = 0;
    for (size_t i = 0; i < n; i++) {
        const unsigned char *s = (const unsigned char *)tok->arena + tok->off[ids[i]];
        const size_t sl = tok->len[ids[i]];
        if (added_of(tok, ids[i]) || (size_t)ids[i] >= tok->n_model) { /* literal content */
            memcpy(raw + r, s, sl);
            r += sl;
            continue;
        }
        for (size_t k = 0; k < sl;) {
            uint32_t cp = 0;
            size_t step = utf8_next(s + k, sl - k, &cp);
            const int b = step ? byte_of((int32_t)cp) : -1;
            if (b < 0) { /* not a byte character: keep the token's own bytes */
                step = step ? step : 1;
                memcpy(raw + r, s + k, step);
                r += step;
            } else {
                raw[r++] = (unsigned char)b;
            }
            k += step;
        }
    }
    size_t o = 0;
    for (size_t k = 0; k < r;) {
        uint32_t cp = 0;
        const size_t step = utf8_next(raw + k, r - k, &cp);
        if (step) {
            memcpy(out + o, raw + k, step);
            o += step, k += step;
        } else {
            o += put_utf8(out + o, 0xFFFD);
            k++;
        }
    }
    out[o] = '\0';
    mpct_wipe(raw, raw_cap);
    free(raw);
    *text = out;
    *len = o;
    return MPCT_OK;
}

/* The end-of-text tokens decoders' tokenizers use, in the order tried. */
static const char *const eos_names[] = {"<|endoftext|>", "<|end_of_text|>", "<|im_end|>", "<|eot_id|>", "</s>",
                                        "<eos>"};

size_t mpct_tok_eos_ids(const mpct_tok_t *tok, int32_t *ids, size_t cap)
{
    size_t n = 0;
    for (size_t k = 0; k < sizeof eos_names / sizeof eos_names[0] && n < cap; k++) {
        const size_t l = strlen(eos_names[k]);
        int32_t id = mpct_tok_lookup(tok, eos_names[k], l);
        for (size_t i = 0; id < 0 && i < tok->nadded; i++)
            if (tok->len[tok->added[i].id] == l && !memcmp(tok->arena + tok->off[tok->added[i].id], eos_names[k], l))
                id = tok->added[i].id;
        if (id >= 0)
            ids[n++] = id;
    }
    return n;
}
