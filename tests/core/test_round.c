/*
 * test_round.c — the protocol layer's round builder (mpc_round, private to
 * src/mpc), three parties simulated in one process. Every party queues
 * segments of several word widths and shifts to next and a single full
 * word segment to prev (the no-copy path), exchanges once, and checks what
 * arrived against the sender's words, which every party derives from a
 * common seed; also the byte and round counters, the little-endian layout
 * of packed words, an empty round, and a bad width refused before any
 * message.
 */
#include "../mpct_party3.h"
#include "mpc-impl.h"

#include <string.h>

enum { NSEG = 9, MAXN = 40 }; /* more segments than fit inline */

static uint64_t word(int party, size_t seg, size_t i)
{
    uint64_t z = (uint64_t)party * 1000003u + seg * 1009u + i + 1;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static size_t seg_n(size_t s) { return s * 5 % MAXN + 1; }
static unsigned seg_wb(size_t s) { return (unsigned)(s % 8) + 1; }
static unsigned seg_sh(size_t s) { return (unsigned)(s * 7 % 64); }

static int body(mpct_ctx_t *ctx, void *arg)
{
    (void)arg;
    int fails = 0;
    const int me = mpct_ctx_party(ctx), prev = (me + 2) % 3, next = (me + 1) % 3;
    mpct_net_t *net = mpct_ctx_net(ctx);
    static _Thread_local uint64_t out[NSEG][MAXN], in[NSEG][MAXN], big[64], bigin[64];
    size_t sent = 0;
    mpc_round rd;
    mpc_round_begin(&rd, ctx);
    for (size_t s = 0; s < NSEG; s++) {
        for (size_t i = 0; i < seg_n(s); i++)
            out[s][i] = word(me, s, i);
        mpc_round_send(&rd, MPC_NEXT, out[s], seg_n(s), seg_wb(s));
        mpc_round_recv(&rd, MPC_PREV, in[s], seg_n(s), seg_wb(s), seg_sh(s));
        sent += seg_n(s) * seg_wb(s);
    }
    for (size_t i = 0; i < 64; i++)
        big[i] = word(me, 99, i);
    mpc_round_send(&rd, MPC_PREV, big, 64, 8);
    mpc_round_recv(&rd, MPC_NEXT, bigin, 64, 8, 0);
    mpc_round_send(&rd, MPC_PREV, big, 0, 8); /* empty segments add nothing */
    sent += 64 * 8;
    const mpct_net_counters c0 = mpct_net_total(net);
    CHECK_OK(mpc_round_exchange(&rd));
    const mpct_net_counters c1 = mpct_net_total(net);
    CHECK(c1.rounds - c0.rounds == 1, "party %d: %llu rounds for one exchange", me,
          (unsigned long long)(c1.rounds - c0.rounds));
    CHECK(c1.bytes_sent - c0.bytes_sent == sent, "party %d: sent %llu bytes, want %zu", me,
          (unsigned long long)(c1.bytes_sent - c0.bytes_sent), sent);
    CHECK(c1.messages - c0.messages == 2, "party %d: %llu messages, want one per neighbour", me,
          (unsigned long long)(c1.messages - c0.messages));
    for (size_t s = 0; s < NSEG; s++)
        for (size_t i = 0; i < seg_n(s); i++) {
            const uint64_t want = (word(prev, s, i) & mpc_low_mask(8 * seg_wb(s))) << seg_sh(s);
            CHECK(in[s][i] == want, "party %d: segment %zu word %zu from prev is %016llx, want %016llx", me, s, i,
                  (unsigned long long)in[s][i], (unsigned long long)want);
        }
    for (size_t i = 0; i < 64; i++)
        CHECK(bigin[i] == word(next, 99, i), "party %d: full word %zu from next differs", me, i);

    /* packed words are little-endian back to back: four 2-byte words read
     * as one full word (full words travel in memory order) */
    uint64_t four[4], one = 0;
    for (size_t i = 0; i < 4; i++)
        four[i] = word(me, 7, i);
    mpc_round_begin(&rd, ctx);
    mpc_round_send(&rd, MPC_NEXT, four, 4, 2);
    mpc_round_recv(&rd, MPC_PREV, &one, 1, 8, 0);
    CHECK_OK(mpc_round_exchange(&rd));
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    uint64_t want = 0;
    for (size_t i = 0; i < 4; i++)
        want |= (word(prev, 7, i) & 0xffff) << (16 * i);
    CHECK(one == want, "party %d: packed layout %016llx, want %016llx", me, (unsigned long long)one,
          (unsigned long long)want);
#endif

    /* nothing queued: still one round, no bytes */
    const mpct_net_counters c2 = mpct_net_total(net);
    mpc_round_begin(&rd, ctx);
    CHECK_OK(mpc_round_exchange(&rd));
    const mpct_net_counters c3 = mpct_net_total(net);
    CHECK(c3.rounds - c2.rounds == 1 && c3.bytes_sent == c2.bytes_sent, "party %d: an empty round", me);

    /* a bad width is kept and returned by the exchange, which sends nothing */
    mpc_round_begin(&rd, ctx);
    mpc_round_send(&rd, MPC_NEXT, four, 4, 9);
    mpc_round_recv(&rd, MPC_PREV, four, 4, 8, 0);
    CHECK(mpc_round_exchange(&rd) == MPCT_ERR_ARG, "party %d: a 9-byte word accepted", me);
    CHECK(mpct_net_total(net).rounds == c3.rounds, "party %d: a refused round was exchanged", me);

    /* a builder that is never exchanged is released */
    mpc_round_begin(&rd, ctx);
    for (size_t s = 0; s < NSEG; s++)
        mpc_round_send(&rd, MPC_NEXT, out[s], seg_n(s), 8);
    mpc_round_free(&rd);
    CHECK(rd.q[0].n == 0 && rd.q[0].seg == NULL, "party %d: mpc_round_free left segments", me);
    return fails;
}

int main(void)
{
    int fails = mpct_test_run3(body, NULL, NULL);
    if (fails)
        fprintf(stderr, "%d failures\n", fails);
    return fails ? 1 : 0;
}
