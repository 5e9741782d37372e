/*
 * test_gguf.c — the GGUF import (io/gguf*.c) against gguf-py and
 * transformers goldens (tests/data/gguf, datasets/make_gguf_goldens.py).
 *
 *   test_gguf DATA_DIR WORK_DIR            unit checks:
 *     quant      every supported type dequantizes bit-exactly as
 *                gguf.quants.dequantize; Q5_0 is refused naming tensor and type
 *     malformed  hand-built broken files: each refused naming the problem
 *     mutations  3000 random corruptions of tiny_llama.gguf never crash and,
 *                when they open, every supported tensor dequantizes
 *     convert    tiny_llama.gguf -> Hugging Face directory: every tensor's
 *                float32 bytes have transformers' SHA-256 (Q/K rotary rows
 *                undone), no other tensor is written, and the converted
 *                tokenizer.json encodes 21 strings (digits, unicode, white
 *                space runs, special tokens) to Hugging Face's ids
 *     refusals   another architecture, unknown keys, an unknown
 *                pre-tokenizer, a missing tensor, each named
 *   test_gguf DATA_DIR WORK_DIR SMOLLM2.gguf   the real SmolLM2-135M file
 *                (skipped, 77, when it is absent): a few tensors' SHA-256,
 *                the tokenizer ids
 */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mpct_gguf.h"
#include "mpct_io.h"
#include "mpct_tok.h"
#include "../mpct_check.h"

static const char *data_dir, *work_dir;

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    REQUIRE(f != NULL, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    REQUIRE(b && fread(b, 1, (size_t)n, f) == (size_t)n, "cannot read %s", path);
    b[n] = 0;
    fclose(f);
    *len = (size_t)n;
    return b;
}

static void spit(const char *path, const void *b, size_t n)
{
    FILE *f = fopen(path, "wb");
    REQUIRE(f && fwrite(b, 1, n, f) == n && fclose(f) == 0, "cannot write %s", path);
}

static void data_path(char *buf, size_t size, const char *name) { snprintf(buf, size, "%s/gguf/%s", data_dir, name); }
static void work_path(char *buf, size_t size, const char *name) { snprintf(buf, size, "%s/%s", work_dir, name); }

/* ------------------------------------------------------------------ quant */

static void test_quant(void)
{
    char p[4096];
    data_path(p, sizeof p, "quant.gguf");
    mpct_gguf_file *f = NULL;
    MUST(mpct_gguf_open(p, &f));
    CHECK(mpct_gguf_version(f) == 3 && mpct_gguf_alignment(f) == 32 && mpct_gguf_tensor_count(f) == 7);
    size_t len;
    data_path(p, sizeof p, "quant_expected.txt");
    char *txt = slurp(p, &len), *save = NULL;
    int tensors = 0;
    for (char *line = strtok_r(txt, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (line[0] == '#') continue;
        char *sp = strchr(line, ' ');
        REQUIRE(sp != NULL);
        *sp = 0;
        const mpct_gguf_tensor *t = mpct_gguf_find_tensor(f, line);
        REQUIRE(t != NULL, "tensor %s", line);
        float *v = malloc(t->numel * sizeof *v);
        MUST(mpct_gguf_dequant(f, t, v, (size_t)t->numel));
        char *q = sp + 1;
        size_t diff = 0, k = 0;
        for (; k < t->numel && *q; k++) {
            uint32_t want = (uint32_t)strtoul(q, &q, 16), got;
            memcpy(&got, &v[k], 4);
            diff += got != want;
        }
        CHECK(k == t->numel && diff == 0, "%s: %zu of %zu values differ from gguf.quants", line, diff, k);
        free(v);
        tensors++;
    }
    CHECK(tensors == 6, "%d tensors in quant_expected.txt", tensors);
    float v[64];
    EXPECT_ERR(mpct_gguf_dequant(f, mpct_gguf_find_tensor(f, "q5_0"), v, 128), MPCT_ERR_UNSUPPORTED, "quant.gguf",
               "tensor q5_0", "Q5_0");
    free(txt);
    mpct_gguf_close(f);
}

/* ------------------------------------------------------------------ malformed */

struct wbuf {
    uint8_t b[1024];
    size_t n;
};
static void put(struct wbuf *w, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++) w->b[w->n++] = (uint8_t)(v >> (8 * i));
}
static void put_str(struct wbuf *w, const char *s)
{
    put(w, strlen(s), 8);
    memcpy(w->b + w->n, s, strlen(s));
    w->n += strlen(s);
}
static void header(struct wbuf *w, uint32_t version, uint64_t nt, uint64_t nkv)
{
    w->n = 0;
    memcpy(w->b, "GGUF", 4);
    w->n = 4;
    put(w, version, 4);
    put(w, nt, 8);
    put(w, nkv, 8);
}
static void tensor_info(struct wbuf *w, const char *name, uint64_t d0, uint64_t d1, uint32_t type, uint64_t off)
{
    put_str(w, name);
    put(w, 2, 4);
    put(w, d0, 8);
    put(w, d1, 8);
    put(w, type, 4);
    put(w, off, 8);
}
static void data_section(struct wbuf *w, size_t bytes)
{
    while (w->n % 32) w->b[w->n++] = 0;
    memset(w->b + w->n, 0, bytes);
    w->n += bytes;
}

#define EXPECT_OPEN_ERR(w, ...)                                                          \
    do {                                                                                 \
        mpct_gguf_file *f_ = NULL;                                                       \
        EXPECT_ERR(mpct_gguf_open_mem((w).b, (w).n, "bad.gguf", &f_), MPCT_ERR_FORMAT, \
                   "bad.gguf", __VA_ARGS__);                                             \
        CHECK(f_ == NULL);                                                               \
    } while (0)

static void test_malformed(void)
{
    struct wbuf w;
    header(&w, 3, 0, 0);
    memcpy(w.b, "GGUG", 4);
    EXPECT_OPEN_ERR(w, "not a GGUF file");
    header(&w, 1, 0, 0);
    EXPECT_OPEN_ERR(w, "GGUF version 1");
    header(&w, 3, 0, 0);
    w.n -= 3;
    EXPECT_OPEN_ERR(w, "header metadata_kv_count", "the file ends");
    header(&w, 3, 0, 1000000);
    EXPECT_OPEN_ERR(w, "1000000 metadata entries", "cannot fit");
    header(&w, 3, 0, 1); /* nested array */
    put_str(&w, "a.nested");
    put(&w, MPCT_GGUF_ARRAY, 4);
    put(&w, MPCT_GGUF_ARRAY, 4);
    put(&w, 1, 8);
    put(&w, 0, 8);
    EXPECT_OPEN_ERR(w, "metadata a.nested", "nested arrays");
    header(&w, 3, 0, 2); /* duplicate key */
    for (int k = 0; k < 2; k++) {
        put_str(&w, "a.key");
        put(&w, MPCT_GGUF_U8, 4);
        put(&w, 1, 1);
    }
    EXPECT_OPEN_ERR(w, "metadata key a.key appears twice");
    header(&w, 3, 0, 1); /* string longer than the file */
    put_str(&w, "a.s");
    put(&w, MPCT_GGUF_STRING, 4);
    put(&w, 1000, 8);
    EXPECT_OPEN_ERR(w, "metadata a.s", "needs 1000 bytes");
    header(&w, 3, 0, 1); /* unknown value type */
    put_str(&w, "a.t");
    put(&w, 13, 4);
    EXPECT_OPEN_ERR(w, "metadata a.t", "value type 13");
    header(&w, 3, 0, 1); /* alignment */
    put_str(&w, "general.alignment");
    put(&w, MPCT_GGUF_U32, 4);
    put(&w, 48, 4);
    EXPECT_OPEN_ERR(w, "general.alignment = 48 is not a power of two");
    header(&w, 3, 2, 0); /* duplicate tensor */
    tensor_info(&w, "t", 32, 1, MPCT_GGML_F32, 0);
    tensor_info(&w, "t", 32, 1, MPCT_GGML_F32, 128);
    data_section(&w, 256);
    EXPECT_OPEN_ERR(w, "tensor name t appears twice");
    header(&w, 3, 2, 0); /* overlap */
    tensor_info(&w, "a", 32, 2, MPCT_GGML_F32, 0);
    tensor_info(&w, "b", 32, 1, MPCT_GGML_F32, 128);
    data_section(&w, 384);
    EXPECT_OPEN_ERR(w, "tensors a and b overlap");
    header(&w, 3, 1, 0); /* misaligned */
    tensor_info(&w, "a", 32, 1, MPCT_GGML_F32, 4);
    data_section(&w, 256);
    EXPECT_OPEN_ERR(w, "tensor a: offset 4 is not a multiple of the alignment 32");
    header(&w, 3, 1, 0); /* past the end */
    tensor_info(&w, "a", 32, 4, MPCT_GGML_F32, 0);
    data_section(&w, 256);
    EXPECT_OPEN_ERR(w, "tensor a: bytes 0..512", "past its end");
    header(&w, 3, 1, 0); /* element count overflow */
    tensor_info(&w, "a", 1ull << 40, 1ull << 40, MPCT_GGML_F32, 0);
    EXPECT_OPEN_ERR(w, "tensor a: dimension 1", "overflows");
    header(&w, 3, 1, 0); /* block size */
    tensor_info(&w, "a", 40, 1, MPCT_GGML_Q4_1, 0);
    EXPECT_OPEN_ERR(w, "tensor a: first dimension 40 is not a multiple of Q4_1's block of 32");
    header(&w, 3, 1, 0); /* unknown type */
    tensor_info(&w, "a", 32, 1, 99, 0);
    EXPECT_OPEN_ERR(w, "tensor a: ggml type 99");
    header(&w, 3, 1, 0); /* a good file: one F32 tensor */
    tensor_info(&w, "a", 32, 1, MPCT_GGML_F32, 0);
    data_section(&w, 128);
    mpct_gguf_file *f = NULL;
    MUST(mpct_gguf_open_mem(w.b, w.n, "good.gguf", &f));
    CHECK(mpct_gguf_tensor_count(f) == 1 && mpct_gguf_data_offset(f) % 32 == 0);
    mpct_gguf_close(f);
}

/* ------------------------------------------------------------------ mutations */

static void test_mutations(void)
{
    char p[4096];
    data_path(p, sizeof p, "tiny_llama.gguf");
    size_t n;
    unsigned char *good = (unsigned char *)slurp(p, &n), *buf = malloc(n);
    mpct_rng r = {4242};
    int ok = 0, bad = 0;
    static float v[4096];
    for (int it = 0; it < 3000; it++) {
        memcpy(buf, good, n);
        size_t len = n;
        const int flips = 1 + (int)(mpct_rng_next(&r) % 4);
        /* most mutations hit the metadata and tensor infos, the first 8 KiB */
        for (int k = 0; k < flips; k++) buf[mpct_rng_next(&r) % (it % 2 ? 8192 : n)] = (unsigned char)mpct_rng_next(&r);
        if (mpct_rng_next(&r) % 4 == 0) len = (size_t)(mpct_rng_next(&r) % n);
        unsigned char *exact = malloc(len ? len : 1); /* exact size: ASan sees reads past the end */
        memcpy(exact, buf, len);
        mpct_gguf_file *f = NULL;
        if (mpct_gguf_open_mem(exact, len, "fuzz", &f) == MPCT_OK) {
            ok++;
            for (size_t i = 0; i < mpct_gguf_tensor_count(f); i++) {
                const mpct_gguf_tensor *t = mpct_gguf_tensor_at(f, i);
                if (t->numel <= 4096 && mpct_gguf_type_supported(t->type))
                    CHECK(mpct_gguf_dequant(f, t, v, (size_t)t->numel) == MPCT_OK);
            }
            mpct_gguf_close(f);
        } else {
            bad++;
            CHECK(strstr(mpct_error_msg(), "fuzz") != NULL, "message without the file: %s", mpct_error_msg());
        }
        free(exact);
    }
    printf("mutations: %d opened, %d refused\n", ok, bad);
    CHECK(bad > 500 && ok > 100, "%d refused, %d opened of 3000", bad, ok);
    free(good);
    free(buf);
}

/* ------------------------------------------------------------------ conversion */

static void sha_hex(const void *b, size_t n, char hex[65])
{
    unsigned char d[32];
    unsigned int dl = 0;
    REQUIRE(EVP_Digest(b, n, d, &dl, EVP_sha256(), NULL) == 1 && dl == 32);
    for (int i = 0; i < 32; i++) snprintf(hex + 2 * i, 3, "%02x", d[i]);
}

/* "\n", "\t", "\\" escapes of tok_strings.txt */
static size_t unescape(char *s)
{
    size_t o = 0;
    for (size_t i = 0; s[i]; i++) {
        if (s[i] == '\\' && s[i + 1]) {
            i++;
            s[o++] = s[i] == 'n' ? '\n' : s[i] == 't' ? '\t' : s[i];
        } else {
            s[o++] = s[i];
        }
    }
    s[o] = 0;
    return o;
}

/* Checks dir's model.safetensors and tokenizer.json against an expected
 * file; all_tensors: the expected file lists every tensor written. */
static void check_converted(const char *dir, const char *expected, int all_tensors)
{
    char p[4096];
    snprintf(p, sizeof p, "%s/model.safetensors", dir);
    mpct_st_file *st = NULL;
    MUST(mpct_st_open(p, &st));
    size_t len, ns;
    char *txt = slurp(expected, &len), *save = NULL;
    data_path(p, sizeof p, "tok_strings.txt");
    char *strs = slurp(p, &ns), *lines[64];
    int nl = 0;
    for (char *q = strs; *q && nl < 64;) { /* one string a line, the empty string too */
        lines[nl++] = q;
        char *e = strchr(q, '\n');
        if (!e) break;
        *e = 0;
        q = e + 1;
    }
    snprintf(p, sizeof p, "%s/tokenizer.json", dir);
    size_t tl;
    char *tj = slurp(p, &tl);
    mpct_tok_t *tok = NULL;
    MUST(mpct_tok_load_json_mem(tj, tl, "tokenizer.json", &tok));
    int ntensors = 0, nids = 0;
    for (char *line = strtok_r(txt, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char name[128], hex[65];
        int idx;
        if (sscanf(line, "tensor %127s %64s", name, hex) == 2) {
            const mpct_st_tensor *t = mpct_st_find(st, name);
            CHECK(t != NULL, "%s: tensor %s is missing", dir, name);
            if (!t) continue;
            double *d = malloc(t->numel * sizeof *d);
            float *fl = malloc(t->numel * sizeof *fl);
            MUST(mpct_st_read_f64(st, t, d, (size_t)t->numel));
            for (size_t i = 0; i < t->numel; i++) fl[i] = (float)d[i];
            char got[65];
            sha_hex(fl, t->numel * 4, got);
            CHECK(strcmp(got, hex) == 0, "%s: %s differs from transformers' tensor", dir, name);
            free(d);
            free(fl);
            ntensors++;
        } else if (sscanf(line, "ids %d", &idx) == 1) {
            REQUIRE(idx >= 0 && idx < 64);
            static char s[1024];
            const char *src = idx < nl ? lines[idx] : NULL;
            REQUIRE(src != NULL, "string %d is not in tok_strings.txt", idx);
            snprintf(s, sizeof s, "%s", src ? src : "");
            size_t sl = unescape(s);
            int32_t ids[256];
            size_t n = 0, dropped = 0;
            MUST(mpct_tok_encode(tok, s, sl, 256, ids, NULL, &n, &dropped));
            char *q = line + 4;
            while (*q && *q != ' ') q++;
            size_t k = 0, diff = 0;
            for (;;) {
                char *e;
                long want = strtol(q, &e, 10);
                if (e == q) break;
                q = e;
                diff += k >= n || ids[k] != want;
                k++;
            }
            CHECK(k == n && diff == 0, "string %d (\"%s\"): %zu ids, %zu expected, %zu differ", idx, s, n, k, diff);
            nids++;
        }
    }
    if (all_tensors) CHECK((size_t)ntensors == mpct_st_count(st), "%zu tensors written, %d expected", mpct_st_count(st), ntensors);
    CHECK(nids == 21, "%d strings", nids);
    mpct_tok_free(tok);
    mpct_st_close(st);
    free(tj);
    free(strs);
    free(txt);
}

static void test_convert(void)
{
    char g[4096], dir[4096], exp[4096];
    data_path(g, sizeof g, "tiny_llama.gguf");
    work_path(dir, sizeof dir, "gguf_tiny_hf");
    data_path(exp, sizeof exp, "tiny_llama_expected.txt");
    mpct_gguf_convert_info info;
    MUST(mpct_gguf_to_hf(g, dir, NULL, &info));
    CHECK(strcmp(info.arch, "llama") == 0 && info.tensors == 20);
    CHECK(info.type_count[MPCT_GGML_Q4_1] == 6 && info.type_count[MPCT_GGML_Q4_0] == 2 &&
          info.type_count[MPCT_GGML_Q8_0] == 3 && info.type_count[MPCT_GGML_F16] == 2 &&
          info.type_count[MPCT_GGML_BF16] == 2 && info.type_count[MPCT_GGML_F32] == 5);
    check_converted(dir, exp, 1);
    size_t n;
    char p[4200];
    snprintf(p, sizeof p, "%s/config.json", dir);
    char *cfg = slurp(p, &n);
    CHECK(strstr(cfg, "\"LlamaForCausalLM\"") && strstr(cfg, "\"num_key_value_heads\":\t2") &&
          strstr(cfg, "\"tie_word_embeddings\":\ttrue") && strstr(cfg, "\"head_dim\":\t8"), "config.json: %s", cfg);
    free(cfg);
}

/* tiny_llama.gguf with one same-length string replaced, converted. */
static void refuse_patched(const char *from, const char *to, mpct_status want, const char *frag1, const char *frag2)
{
    char g[4096], p[4096], dir[4096];
    data_path(g, sizeof g, "tiny_llama.gguf");
    size_t n;
    char *b = slurp(g, &n);
    char *at = NULL;
    for (size_t i = 0; !at && i + strlen(from) <= n; i++)
        if (memcmp(b + i, from, strlen(from)) == 0) at = b + i;
    REQUIRE(at && strlen(from) == strlen(to), "%s", from);
    memcpy(at, to, strlen(to));
    work_path(p, sizeof p, "gguf_patched.gguf");
    spit(p, b, n);
    work_path(dir, sizeof dir, "gguf_patched_hf");
    EXPECT_ERR(mpct_gguf_to_hf(p, dir, NULL, NULL), want, "gguf_patched.gguf", frag1, frag2);
    free(b);
}

static void test_refusals(void)
{
    char g[4096], dir[4096];
    data_path(g, sizeof g, "quant.gguf");
    work_path(dir, sizeof dir, "gguf_quant_hf");
    EXPECT_ERR(mpct_gguf_to_hf(g, dir, NULL, NULL), MPCT_ERR_UNSUPPORTED,
               "general.architecture = \"quanttest\"", "llama is");
    refuse_patched("llama.vocab_size", "llama.vocab_sizf", MPCT_ERR_UNSUPPORTED, "metadata llama.vocab_sizf is not understood", NULL);
    refuse_patched("smollm", "smollx", MPCT_ERR_UNSUPPORTED, "tokenizer.ggml.pre = \"smollx\"", "smollm");
    refuse_patched("blk.1.ffn_up.weight", "blk.1.ffn_uq.weight", MPCT_ERR_FORMAT, "tensor blk.1.ffn_up.weight is missing",
                   NULL);
    refuse_patched("tokenizer.ggml.pre", "tokenizer.ggml.prf", MPCT_ERR_UNSUPPORTED, "tokenizer.ggml.prf", NULL);
    { /* general.quantization_version 1: older block layouts */
        char p[4096];
        size_t n;
        data_path(g, sizeof g, "tiny_llama.gguf");
        char *b = slurp(g, &n);
        const char *key = "general.quantization_version";
        size_t i = 0;
        while (i + strlen(key) + 8 <= n && memcmp(b + i, key, strlen(key)) != 0) i++;
        REQUIRE(i + strlen(key) + 8 <= n);
        b[i + strlen(key) + 4] = 1; /* after the uint32 value type */
        work_path(p, sizeof p, "gguf_qv.gguf");
        spit(p, b, n);
        work_path(dir, sizeof dir, "gguf_qv_hf");
        EXPECT_ERR(mpct_gguf_to_hf(p, dir, NULL, NULL), MPCT_ERR_UNSUPPORTED, "general.quantization_version = 1");
        free(b);
    }
    EXPECT_ERR(mpct_gguf_to_hf(g, "/nonexistent/dir/x", NULL, NULL), MPCT_ERR_IO, "/nonexistent/dir/x",
               "cannot create the directory");
}

static int test_smollm2(const char *g)
{
    struct stat sb;
    if (stat(g, &sb) != 0) {
        printf("skipped: %s is absent (datasets/fetch_smollm2.sh fetches it)\n", g);
        return 77;
    }
    char dir[4096], exp[4096];
    work_path(dir, sizeof dir, "gguf_smollm2_hf");
    data_path(exp, sizeof exp, "smollm2_golden.txt");
    mpct_gguf_convert_info info;
    MUST(mpct_gguf_to_hf(g, dir, NULL, &info));
    CHECK(info.tensors == 272 && info.type_count[MPCT_GGML_Q4_1] == 210 && info.type_count[MPCT_GGML_Q8_0] == 1);
    check_converted(dir, exp, 0);
    static const char *const files[] = {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"};
    for (int i = 0; i < 4; i++) {
        char p[4200];
        snprintf(p, sizeof p, "%s/%s", dir, files[i]);
        unlink(p);
    }
    rmdir(dir);
    return mpct_check_done("test_gguf_smollm2");
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: test_gguf DATA_DIR WORK_DIR [SMOLLM2.gguf]\n");
        return 2;
    }
    data_dir = argv[1];
    work_dir = argv[2];
    if (argc > 3) return test_smollm2(argv[3]);
    test_quant();
    test_malformed();
    test_mutations();
    test_convert();
    test_refusals();
    return mpct_check_done("test_gguf");
}
