/*
 * test_core.c — fixed point, PRF known answers, kernels, allocation counters,
 * blocks borrowed from files (mpct_map_file), pre-faulting.
 */
#include "mpct_core.h"
#include "mpct_kernels.h"
#include "mpct_prf.h"

#include <fcntl.h>
#include <math.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../mpct_check.h"


static void hex(const char *s, uint8_t *out, size_t n)
{
    for (size_t i = 0; i < n; i++)
        sscanf(s + 2 * i, "%2hhx", &out[i]);
}

static void aes_ecb(const uint8_t key[16], const uint8_t in[16], uint8_t out[16])
{
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int len = 0;
    EVP_EncryptInit_ex(c, EVP_aes_128_ecb(), NULL, key, NULL);
    EVP_CIPHER_CTX_set_padding(c, 0);
    EVP_EncryptUpdate(c, out, &len, in, 16);
    EVP_CIPHER_CTX_free(c);
}

/* Word w of the stream (key, sid) by its definition (mpct_prf.h):
 * AES_k(sid || w/2), read as little-endian words. */
static uint64_t stream_word(const uint8_t key[16], uint64_t sid, uint64_t w)
{
    uint8_t ctr[16], blk[16];
    for (int i = 0; i < 8; i++) {
        ctr[i] = (uint8_t)(sid >> (56 - 8 * i));
        ctr[8 + i] = (uint8_t)((w / 2) >> (56 - 8 * i));
    }
    aes_ecb(key, ctr, blk);
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | blk[8 * (w % 2) + (size_t)i];
    return v;
}

static void test_prf(void)
{
    /* NIST SP 800-38A F.1.1 ECB-AES128, block 1: validates the AES setup. */
    uint8_t key[16], pt[16], ct[16], want[16];
    hex("2b7e151628aed2a6abf7158809cf4f3c", key, 16);
    hex("6bc1bee22e409f96e93d7e117393172a", pt, 16);
    hex("3ad77bb40d7a3660a89ecaf32466ef97", want, 16);
    aes_ecb(key, pt, ct);
    CHECK(!memcmp(ct, want, 16), "AES-128 ECB known answer");

    /* The stream must equal AES_k(stream_id || block) read as LE words
     * (mpct_prf.h), at aligned and unaligned positions. */
    const uint64_t sid = 0x0102030405060708ULL;
    mpct_prf_t *p = NULL;
    CHECK(mpct_prf_init(&p, key, sid) == MPCT_OK, "prf init");
    uint64_t words[41];
    CHECK(mpct_prf_fill(p, words, 3) == MPCT_OK, "fill");
    CHECK(mpct_prf_fill(p, words + 3, 38) == MPCT_OK, "fill");
    CHECK(mpct_prf_position(p) == 41, "position %llu", (unsigned long long)mpct_prf_position(p));
    for (uint64_t w = 0; w < 41; w++)
        CHECK(words[w] == stream_word(key, sid, w), "prf word %llu", (unsigned long long)w);
    uint64_t at[5];
    CHECK(mpct_prf_fill_at(p, 7, at, 5) == MPCT_OK, "fill_at");
    CHECK(!memcmp(at, words + 7, sizeof at), "fill_at(7) equals the stream");
    uint64_t x[5] = {1, 2, 3, 0xffffffffffffffffull, 0};
    CHECK(mpct_prf_xor_at(p, 7, x, 5) == MPCT_OK, "xor_at");
    CHECK(x[0] == (at[0] ^ 1) && x[1] == (at[1] ^ 2) && x[2] == (at[2] ^ 3) && x[3] == ~at[3] && x[4] == at[4],
          "xor_at(7) XORs the stream in");
    /* long fills (several 16 KiB keystream chunks) from an odd position:
     * fill_at writes the keystream without clearing first, so it must
     * equal xor_at into zeros, and match the definition at chunk edges */
    enum { LONG = 5000 };
    static uint64_t lf[LONG], lx[LONG];
    memset(lf, 0xa5, sizeof lf); /* garbage: fill_at must overwrite it */
    memset(lx, 0, sizeof lx);
    CHECK(mpct_prf_fill_at(p, 3, lf, LONG) == MPCT_OK && mpct_prf_xor_at(p, 3, lx, LONG) == MPCT_OK, "long fills");
    CHECK(!memcmp(lf, lx, sizeof lf), "long fill_at equals xor_at into zeros");
    /* the chunks are counted from out: edges between words 2047/2048 and 4095/4096 */
    const uint64_t probe[] = {0, 2044, 2045, 2046, 2047, 2048, 4092, 4093, 4095, 4096, LONG - 1};
    for (size_t t = 0; t < sizeof probe / sizeof *probe; t++) {
        const uint64_t w = 3 + probe[t];
        CHECK(lf[probe[t]] == stream_word(key, sid, w), "long fill word %llu", (unsigned long long)w);
    }
    /* Different stream ids and keys give different streams. */
    mpct_prf_t *q = NULL;
    CHECK(mpct_prf_init(&q, key, sid + 1) == MPCT_OK, "prf init");
    uint64_t other[4];
    CHECK(mpct_prf_fill(q, other, 4) == MPCT_OK, "fill");
    CHECK(memcmp(other, words, sizeof other) != 0, "stream ids separate streams");
    mpct_prf_free(p);
    mpct_prf_free(q);
    uint8_t k1[16], k2[16];
    mpct_prf_derive_key(1, 0, k1);
    mpct_prf_derive_key(1, 1, k2);
    CHECK(memcmp(k1, k2, 16) != 0, "derived keys differ by index");
}

static void test_fxp(void)
{
    const int f = 16;
    const double vals[] = {0, 1, -1, 0.5, -0.5, 3.14159, -1234.5678, 1e-5, -1e-5, 32767.99};
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        double back = mpct_fxp_decode(mpct_fxp_encode(vals[i], f), f);
        CHECK(fabs(back - vals[i]) <= ldexp(1.0, -f - 1), "fxp round trip %g -> %g", vals[i], back);
    }
    CHECK(mpct_fxp_encode(-1.0, f) == (uint64_t)0 - 65536, "-1 encodes as two's complement");
    /* saturation instead of undefined behaviour far out of range */
    CHECK(mpct_fxp_decode(mpct_fxp_encode(1e30, f), f) > 1e13, "saturates high");
    CHECK(mpct_fxp_decode(mpct_fxp_encode(-1e30, f), f) < -1e13, "saturates low");
    CHECK(mpct_fxp_encode(NAN, f) == 0, "NaN encodes as 0");
}

static void test_kernels(void)
{
    const mpct_kernels *k = mpct_kernels_get("ref");
    CHECK(k && k->supports_op(MPCT_KOP_GEMM), "ref backend");
    CHECK(mpct_kernels_get("no-such") == NULL, "unknown backend is NULL");
    mpct_rng r = {3};
    enum { M = 5, K = 7, N = 3 };
    uint64_t A[M * K], B[K * N], C[M * N];
    for (int i = 0; i < M * K; i++)
        A[i] = mpct_rng_next(&r);
    for (int i = 0; i < K * N; i++)
        B[i] = mpct_rng_next(&r);
    for (const char *const *name = mpct_kernels_list(); *name; name++) {
        const mpct_kernels *kb = mpct_kernels_get(*name);
        if (!kb)
            continue; /* e.g. cuda without a device */
        kb->gemm(M, N, K, A, B, C, 0);
        int bad = 0;
        for (int i = 0; i < M; i++)
            for (int j = 0; j < N; j++) {
                uint64_t s = 0;
                for (int p = 0; p < K; p++)
                    s += A[i * K + p] * B[p * N + j];
                bad += C[i * N + j] != s;
            }
        CHECK(!bad, "%s gemm wraps mod 2^64 exactly (%d wrong)", *name, bad);
        uint64_t z[4] = {1, 2, 3, 4}, o[4];
        kb->mul_cross(4, A, A + 4, B, B + 4, z, o);
        for (int i = 0; i < 4; i++)
            CHECK(o[i] == A[i] * B[i] + A[i] * B[4 + i] + A[4 + i] * B[i] + z[i], "%s mul_cross", *name);
        kb->and_cross(4, A, A + 4, B, B + 4, z, o);
        for (int i = 0; i < 4; i++)
            CHECK(o[i] == ((A[i] & B[i]) ^ (A[i] & B[4 + i]) ^ (A[4 + i] & B[i]) ^ z[i]), "%s and_cross", *name);
    }
}

static void test_alloc(void)
{
    size_t before = mpct_alloc_current();
    uint64_t *p = mpct_alloc(1000 * sizeof *p);
    CHECK(p && ((uintptr_t)p % 64) == 0, "64-byte aligned");
    CHECK(mpct_alloc_current() == before + 8000, "current counts the block");
    CHECK(mpct_alloc_peak() >= before + 8000, "peak");
    for (int i = 0; i < 1000; i++)
        p[i] = ~0ULL;
    mpct_wipe(p, 8000);
    int nz = 0;
    for (int i = 0; i < 1000; i++)
        nz += p[i] != 0;
    CHECK(nz == 0, "wipe zeroes");
    mpct_free(p);
    CHECK(mpct_alloc_current() == before, "free returns the bytes");
    CHECK(strcmp(mpct_status_str(MPCT_ERR_IO), "I/O error") == 0, "status string");
    CHECK(mpct_error_set(MPCT_ERR_ARG, "x=%d", 5) == MPCT_ERR_ARG && !strcmp(mpct_error_msg(), "x=5"), "error msg");
    /* context added to the current message, which is also an argument */
    (void)mpct_error_set(MPCT_ERR_FORMAT, "invalid UTF-8 at byte %d", 7);
    CHECK(mpct_error_set(MPCT_ERR_FORMAT, "%s:%zu: %s", "/some/longer/path/in.txt", (size_t)3, mpct_error_msg()) ==
                  MPCT_ERR_FORMAT &&
              !strcmp(mpct_error_msg(), "/some/longer/path/in.txt:3: invalid UTF-8 at byte 7"),
          "error message prefixed with itself: '%s'", mpct_error_msg());
}

static void *scratch_thread(void *arg)
{
    (void)arg;
    void *p = mpct_scratch_alloc(100000);
    memset(p, 0xab, 100000);
    mpct_scratch_free(p); /* cached in this thread; thread exit must release it */
    return NULL;
}

/* The scratch cache reuses a freed block for a request of its size class,
 * keeps at most MPCT_SCRATCH_CACHE_MB (1 MiB here, set before first use),
 * and gives everything back on release and on thread exit. */
static void test_scratch(void)
{
    const size_t before = mpct_alloc_current();
    unsigned char *p = mpct_scratch_alloc(10000);
    CHECK(p && ((uintptr_t)p % 64) == 0, "scratch block aligned");
    if (!p)
        return;
    memset(p, 0x5a, 10000);
    mpct_scratch_free(p);
    CHECK(mpct_alloc_current() > before, "a freed scratch block stays cached");
    unsigned char *q = mpct_scratch_alloc(9000);
    CHECK(q == p, "a request of the same size class reuses the cached block");
    unsigned char *r = mpct_scratch_alloc(20000);
    CHECK(r && r != q, "a larger class gets a new block");
    mpct_scratch_free(q);
    mpct_scratch_free(r);
    /* over the 1 MiB limit: the second block is wiped and freed at once */
    unsigned char *big1 = mpct_scratch_alloc(700000), *big2 = mpct_scratch_alloc(700000);
    const size_t with_both = mpct_alloc_current();
    mpct_scratch_free(big1);
    mpct_scratch_free(big2);
    CHECK(mpct_alloc_current() < with_both && mpct_alloc_current() > before, "the cache stays within its limit");
    mpct_scratch_release();
    CHECK(mpct_alloc_current() == before, "release frees every cached block (%zu bytes left)",
          mpct_alloc_current() - before);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, scratch_thread, NULL) == 0, "thread");
    pthread_join(t, NULL);
    CHECK(mpct_alloc_current() == before, "thread exit releases the thread's cache (%zu bytes left)",
          mpct_alloc_current() - before);
    /* small blocks bypass the cache */
    void *s = mpct_scratch_alloc(100);
    mpct_scratch_free(s);
    CHECK(mpct_alloc_current() == before, "small blocks are freed at once");
}

/* Without MPCT_SCRATCH_CACHE_MB the cache grows to twice the most scratch
 * memory in use at once: two 150 MiB blocks (300 MiB, over the 256 MiB
 * floor) both stay cached and are reused, and so does a 200 MiB block of
 * another class used after them. Run in a child, before the parent's first
 * scratch free reads the variable (no earlier test may free a scratch
 * block). The release wipes the ~520 MiB of blocks: ~0.3 s, and the child
 * needs that much memory. */
static void test_scratch_adaptive(void)
{
    pid_t pid = fork();
    if (pid == 0) {
        unsetenv("MPCT_SCRATCH_CACHE_MB");
        int bad = 0;
        const size_t big = (size_t)150 << 20, before = mpct_alloc_current();
        if (mpct_scratch_cache_limit() != (size_t)256 << 20)
            bad |= 1;
        void *a = mpct_scratch_alloc(big), *b = mpct_scratch_alloc(big);
        if (!a || !b)
            _exit(2);
        mpct_scratch_free(a);
        mpct_scratch_free(b);
        if (mpct_scratch_cache_limit() < 2 * big)
            bad |= 4;
        if (mpct_alloc_current() - before < 2 * big) /* both still cached */
            bad |= 8;
        void *a2 = mpct_scratch_alloc(big), *b2 = mpct_scratch_alloc(big);
        if (!((a2 == a && b2 == b) || (a2 == b && b2 == a)))
            bad |= 16;
        mpct_scratch_free(a2);
        mpct_scratch_free(b2);
        /* a later phase's class: 300 + 200 MiB cached, over the peak in
         * use (300) but within twice it, so this block stays cached too */
        void *p2 = mpct_scratch_alloc((size_t)200 << 20);
        if (!p2)
            _exit(2);
        mpct_scratch_free(p2);
        if (mpct_alloc_current() - before < 2 * big + ((size_t)200 << 20))
            bad |= 2;
        if (mpct_scratch_alloc((size_t)200 << 20) != p2)
            bad |= 2;
        mpct_scratch_free(p2);
        mpct_scratch_release();
        if (mpct_alloc_current() != before)
            bad |= 32;
        mpct_scratch_restart(); /* the peak restarts from what is in use: back to the floor */
        if (mpct_scratch_cache_limit() != (size_t)256 << 20)
            bad |= 64;
        /* a scratch block freed by mpct_free is no longer in use either */
        void *c = mpct_scratch_alloc((size_t)300 << 20);
        if (!c)
            _exit(2);
        mpct_free(c);
        mpct_scratch_restart();
        if (mpct_scratch_cache_limit() != (size_t)256 << 20)
            bad |= 128;
        _exit(bad);
    }
    int st = 0;
    CHECK(pid > 0 && waitpid(pid, &st, 0) == pid, "fork for the adaptive scratch check");
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0,
          "adaptive scratch cache: both 150 MiB blocks cached and reused (code %d: 1 floor, 2 later class, "
          "4 limit, 8 cached, 16 reused, 32 released, 64 restart, 128 mpct_free)", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
}

static int open_fds(void)
{
    int k = 0;
    for (int fd = 0; fd < 1024; fd++)
        k += fcntl(fd, F_GETFD) != -1;
    return k;
}

/* mpct_map_file: reads the file's bytes, is counted, writes stay private,
 * outlives the caller's descriptor, frees its own; bad offsets refused. */
static void test_map_file(void)
{
    const size_t page = (size_t)sysconf(_SC_PAGESIZE);
    char path[] = "/tmp/mpct-core-map-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0, "mkstemp");
    if (fd < 0)
        return;
    const size_t n = 3 * page / 8 + 5; /* words: not a whole number of pages */
    const size_t fbytes = page + n * 8;
    uint64_t *w = malloc(fbytes);
    for (size_t i = 0; i < fbytes / 8; i++)
        w[i] = 0x9e3779b97f4a7c15ull * (i + 1);
    CHECK(w && write(fd, w, fbytes) == (ssize_t)fbytes, "write the file");
    const int fds = open_fds();
    const size_t before = mpct_alloc_current();
    uint64_t *b = mpct_map_file(fd, page, n * 8);
    CHECK(b && mpct_is_file_mapped(b), "mapped block");
    if (!b) {
        close(fd);
        unlink(path);
        free(w);
        return;
    }
    CHECK(memcmp(b, w + page / 8, n * 8) == 0, "the block holds the file's bytes");
    CHECK(mpct_alloc_current() == before + n * 8, "current counts the block");
    close(fd); /* the block keeps a descriptor of its own */
    unlink(path);
    b[0] ^= 1;
    b[n - 1] ^= 1;
    CHECK(b[1] == w[page / 8 + 1] && b[0] == (w[page / 8] ^ 1), "block readable and writable after close");
    mpct_free_secret(b);
    CHECK(mpct_alloc_current() == before, "free returns the bytes");
    CHECK(open_fds() == fds - 1, "free closes the block's descriptor (%d open, %d before)", open_fds(), fds);
    uint64_t *h = mpct_alloc(64);
    CHECK(h && !mpct_is_file_mapped(h), "heap block is not mapped");
    mpct_free(h);
    char p2[] = "/tmp/mpct-core-map-XXXXXX";
    int fd2 = mkstemp(p2);
    CHECK(fd2 >= 0 && write(fd2, w, fbytes) == (ssize_t)fbytes, "second file");
    CHECK(mpct_map_file(fd2, page / 2, 8) == NULL, "offset not page aligned: refused");
    CHECK(mpct_map_file(fd2, 0, 8) == NULL, "offset 0 (no page for the header): refused");
    CHECK(mpct_map_file(fd2, page, 0) == NULL, "empty block: refused");
    /* writes to the block never reach the file */
    b = mpct_map_file(fd2, page, 16);
    CHECK(b != NULL, "map second file");
    if (b) {
        b[0] = 7;
        uint64_t v = 0;
        CHECK(pread(fd2, &v, 8, (off_t)page) == 8 && v == w[page / 8], "file unchanged after a write to the block");
        mpct_free(b);
    }
    close(fd2);
    unlink(p2);
    free(w);
}

/* mpct_prefault / mpct_prefault_zero change no contents and leave the
 * memory writable. */
static void test_prefault(void)
{
    const size_t n = (size_t)5 << 17; /* 5 MiB of words */
    uint64_t *a = mpct_alloc(n * 8), *z = mpct_calloc(n * 8);
    CHECK(a && z, "alloc");
    if (!a || !z)
        return;
    for (size_t i = 0; i < n; i++)
        a[i] = i * 0x9e3779b97f4a7c15ull;
    mpct_prefault(a, n * 8, 1);
    mpct_prefault(a, n * 8, 0);
    mpct_prefault_zero(z, n * 8);
    size_t bad = 0;
    for (size_t i = 0; i < n; i++)
        bad += a[i] != i * 0x9e3779b97f4a7c15ull || z[i] != 0;
    CHECK(bad == 0, "prefault changed %zu words", bad);
    z[n / 2] = 5;
    z[n - 1] = 6;
    CHECK(z[n / 2] == 5 && z[n - 1] == 6 && z[0] == 0 && z[n / 2 + 1] == 0, "zero-page memory stays writable");
    mpct_free_secret(a);
    mpct_free_secret(z);
}

int main(void)
{
    test_prf();
    test_fxp();
    test_kernels();
    test_alloc();
    test_scratch_adaptive();
    setenv("MPCT_SCRATCH_CACHE_MB", "1", 1);
    test_scratch();
    test_map_file();
    test_prefault();
    return mpct_check_done("test_core");
}
