/*
 * test_net_aead.c — link encryption (mpct_net_encrypt, net_aead.c):
 *  - records: a sealed message is not its plaintext (and two seals of one
 *    plaintext differ: fresh nonces), opens to the plaintext, and fails
 *    with MPCT_ERR_NET naming the peer when one ciphertext or tag bit is
 *    flipped, when a message is replayed or skipped (counter nonces), or
 *    when the keys differ; a message over 1 GiB is not needed here (the
 *    piece loop is the same code for every piece);
 *  - three parties as threads on the in-process backend: the key round,
 *    then rounds of random sizes (empty messages included) deliver exactly
 *    what was sent; the counters see the key round and 16 bytes of tag per
 *    message; the emulated link under encryption still delivers.
 */
#include "mpct_net.h"
#include "net-impl.h"
#include "../mpct_check.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static void fill(unsigned char *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (unsigned char)((seed * 2654435761u + (unsigned)i * 40503u) >> 13);
}

static int test_records(void)
{
    unsigned char k1[2][16], k2[2][16];
    for (int d = 0; d < 2; d++)
        for (int i = 0; i < 16; i++)
            k1[d][i] = (unsigned char)(d * 16 + i), k2[d][i] = (unsigned char)(d * 16 + i + (i == 7));
    struct mpct_net_aead *tx = NULL, *rx = NULL, *wrong = NULL;
    CHECK_OK(mpct_net_aead_new((const unsigned char(*)[16])k1, (const unsigned char(*)[16])k1, &tx));
    CHECK_OK(mpct_net_aead_new((const unsigned char(*)[16])k1, (const unsigned char(*)[16])k1, &rx));
    CHECK_OK(mpct_net_aead_new((const unsigned char(*)[16])k2, (const unsigned char(*)[16])k2, &wrong));
    if (!tx || !rx || !wrong)
        return 1;
    enum { N = 4096 };
    const size_t T = mpct_net_aead_overhead();
    CHECK(T == 16);
    static unsigned char msg[N], c1[N + 16], c2[N + 16], out[N];
    fill(msg, N, 1);
    CHECK_OK(mpct_net_aead_seal(tx, 0, msg, N, c1)); /* counter 0 */
    CHECK_OK(mpct_net_aead_seal(tx, 0, msg, N, c2)); /* counter 1: another keystream */
    size_t same1 = 0, same12 = 0;
    for (size_t i = 0; i < N; i++)
        same1 += c1[i] == msg[i], same12 += c1[i] == c2[i];
    CHECK(same1 < N / 64, "ciphertext equals plaintext in %zu of %d bytes", same1, N);
    CHECK(same12 < N / 64, "two seals of one message agree in %zu of %d bytes (nonce reuse?)", same12, N);
    CHECK_OK(mpct_net_aead_open(rx, 0, c1, N, out, 2));
    CHECK(memcmp(out, msg, N) == 0);
    /* replay of message 0 where message 1 is due */
    CHECK(mpct_net_aead_open(rx, 0, c1, N, out, 2) == MPCT_ERR_NET);
    CHECK(strstr(mpct_error_msg(), "from party 2 failed authentication") != NULL);
    /* the receiver's counter moved on: message 2 opens, message 1 skipped does not matter to it */
    unsigned char c3[N + 16];
    CHECK_OK(mpct_net_aead_seal(tx, 0, msg, N, c3)); /* counter 2 */
    CHECK_OK(mpct_net_aead_open(rx, 0, c3, N, out, 2));
    CHECK(memcmp(out, msg, N) == 0);
    /* flipped bits: ciphertext, tag; and the other direction's keystream */
    unsigned char c4[N + 16];
    CHECK_OK(mpct_net_aead_seal(tx, 1, msg, N, c4)); /* direction 1, counter 0 */
    unsigned char bad[N + 16];
    memcpy(bad, c4, sizeof bad);
    bad[100] ^= 1;
    CHECK(mpct_net_aead_open(rx, 1, bad, N, out, 0) == MPCT_ERR_NET);
    CHECK(strstr(mpct_error_msg(), "party 0") != NULL);
    struct mpct_net_aead *rx2 = NULL;
    CHECK_OK(mpct_net_aead_new((const unsigned char(*)[16])k1, (const unsigned char(*)[16])k1, &rx2));
    memcpy(bad, c4, sizeof bad);
    bad[N + 3] ^= 0x80;
    CHECK(rx2 && mpct_net_aead_open(rx2, 1, bad, N, out, 0) == MPCT_ERR_NET);
    mpct_net_aead_free(rx2);
    rx2 = NULL;
    CHECK_OK(mpct_net_aead_new((const unsigned char(*)[16])k1, (const unsigned char(*)[16])k1, &rx2));
    CHECK(rx2 && mpct_net_aead_open(rx2, 1, c4, N, out, 0) == MPCT_OK && memcmp(out, msg, N) == 0);
    /* keys that differ in one byte */
    CHECK(mpct_net_aead_open(wrong, 1, c4, N, out, 1) == MPCT_ERR_NET);
    mpct_net_aead_free(rx2);
    mpct_net_aead_free(tx);
    mpct_net_aead_free(rx);
    mpct_net_aead_free(wrong);
    return 0;
}

static mpct_net_t *nets[3];
static int bad[3];
static mpct_net_counters keys_c[3], tot_c[3];
enum { ROUNDS = 40, MAXB = 70000 };

static size_t size_of(int from, int to, int r)
{
    unsigned h = (unsigned)(from * 7 + to * 13 + r * 31) * 2654435761u;
    return (h >> 7) % 5 == 0 ? 0 : (h >> 11) % MAXB; /* one in five empty */
}

static void *party(void *arg)
{
    const int me = (int)(intptr_t)arg, next = (me + 1) % 3, prev = (me + 2) % 3;
    mpct_net_t *net = nets[me];
    if (mpct_net_encrypt(net) != MPCT_OK || !mpct_net_encrypted(net)) {
        bad[me]++;
        return NULL;
    }
    keys_c[me] = mpct_net_total(net);
    static unsigned char sn[3][MAXB], sp[3][MAXB], rn[3][MAXB], rp[3][MAXB], want[3][MAXB];
    for (int r = 0; r < ROUNDS; r++) {
        if (r == ROUNDS / 2) { /* the second half over an emulated link */
            mpct_net_link l;
            if (mpct_net_link_parse("10gbit:0.2ms", &l) != MPCT_OK)
                bad[me]++;
            mpct_net_set_link(net, &l);
        }
        size_t bn = size_of(me, next, r), bp = size_of(me, prev, r);
        size_t fn = size_of(next, me, r), fp = size_of(prev, me, r);
        fill(sn[me], bn, (unsigned)(me * 100 + next + r * 1000));
        fill(sp[me], bp, (unsigned)(me * 100 + prev + r * 1000));
        mpct_net_msg m = {sn[me], bn, sp[me], bp, rn[me], fn, rp[me], fp};
        if (mpct_net_round(net, &m) != MPCT_OK) {
            bad[me]++;
            return NULL;
        }
        fill(want[me], fn, (unsigned)(next * 100 + me + r * 1000));
        bad[me] += fn && memcmp(rn[me], want[me], fn) != 0;
        fill(want[me], fp, (unsigned)(prev * 100 + me + r * 1000));
        bad[me] += fp && memcmp(rp[me], want[me], fp) != 0;
    }
    tot_c[me] = mpct_net_total(net);
    return NULL;
}

static int test_three_parties(void)
{
    CHECK_OK(mpct_net_init_local(nets, 30));
    pthread_t t[3];
    for (int p = 0; p < 3; p++)
        pthread_create(&t[p], NULL, party, (void *)(intptr_t)p);
    for (int p = 0; p < 3; p++)
        pthread_join(t[p], NULL);
    for (int p = 0; p < 3; p++) {
        CHECK(bad[p] == 0, "party %d: %d rounds delivered something else", p, bad[p]);
        /* key round: 32 bytes to each neighbour, one round, two messages */
        CHECK(keys_c[p].rounds == 1 && keys_c[p].bytes_sent == 64 && keys_c[p].bytes_recv == 64);
        uint64_t sent = 64, recv = 64, msgs = 2;
        const int next = (p + 1) % 3, prev = (p + 2) % 3;
        for (int r = 0; r < ROUNDS; r++) {
            size_t s[2] = {size_of(p, next, r), size_of(p, prev, r)}, g[2] = {size_of(next, p, r), size_of(prev, p, r)};
            for (int d = 0; d < 2; d++) {
                sent += s[d] ? s[d] + 16 : 0;
                recv += g[d] ? g[d] + 16 : 0;
                msgs += s[d] > 0;
            }
        }
        CHECK(tot_c[p].bytes_sent == sent && tot_c[p].bytes_recv == recv && tot_c[p].messages == msgs &&
                      tot_c[p].rounds == 1 + ROUNDS,
                  "party %d: counters %llu/%llu bytes, %llu messages, %llu rounds; expected %llu/%llu, %llu, %d", p,
                  (unsigned long long)tot_c[p].bytes_sent, (unsigned long long)tot_c[p].bytes_recv,
                  (unsigned long long)tot_c[p].messages, (unsigned long long)tot_c[p].rounds,
                  (unsigned long long)sent, (unsigned long long)recv, (unsigned long long)msgs, 1 + ROUNDS);
    }
    for (int p = 0; p < 3; p++)
        mpct_net_free(nets[p]);
    return 0;
}

int main(void)
{
    (void)test_records(); /* failures are counted by the checks */
    (void)test_three_parties();
    return mpct_check_done("test_net_aead");
}
