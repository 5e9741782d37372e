/*
 * test_leak.c — security sanity check: while the owner (P0) shares a secret,
 * the bytes each other party receives must look the same whatever the secret.
 * The owner shares S1 (all zeros) and S2 (fixed-point encodings of small
 * values, highly structured); for P1 and P2 we histogram what they hold
 * and compute a two-sample chi-square statistic (255 degrees of freedom).
 * It must stay below 400 (p < 1e-8 under the null). As a control, the same
 * statistic on the plaintexts themselves (what a leak would show) must exceed
 * it by far, so this test can fail if plaintext reaches the wire.
 */
#include "../mpct_party3.h"

#include <string.h>

#define NE 65536
#define THRESH 400.0

static double chi2_two_sample(const unsigned char *a, const unsigned char *b, size_t n)
{
    double ha[256] = {0}, hb[256] = {0}, s = 0;
    for (size_t i = 0; i < n; i++) {
        ha[a[i]]++;
        hb[b[i]]++;
    }
    for (int i = 0; i < 256; i++)
        if (ha[i] + hb[i] > 0)
            s += (ha[i] - hb[i]) * (ha[i] - hb[i]) / (ha[i] + hb[i]);
    return s;
}

static uint64_t secrets[2][NE];
static uint64_t received[2][3][NE]; /* [secret][party][elem] */

static int body(mpct_ctx_t *ctx, void *arg)
{
    (void)arg;
    int fails = 0;
    const int me = mpct_ctx_party(ctx);
    for (int s = 0; s < 2; s++) {
        mpct_share X = {0};
        CHECK_OK(mpct_share_init(&X, mpct_shape_1d(NE)));
        CHECK_OK(mpct_share_input(ctx, 0, me == 0 ? secrets[s] : NULL, &X));
        /* each party's whole view: P2 receives x_0 from the owner (its s[1]);
         * P1 receives nothing and holds (F(k_1), 0). Compare the part that
         * is not constant: P1's s[0], P2's s[1]. */
        if (me == 1)
            memcpy(received[s][1], X.s[0], sizeof received[s][1]);
        if (me == 2)
            memcpy(received[s][2], X.s[1], sizeof received[s][2]);
        mpct_share_free(&X);
    }
    return fails;
}

int main(void)
{
    mpct_rng r = {5};
    for (size_t i = 0; i < NE; i++) {
        secrets[0][i] = 0;
        secrets[1][i] = mpct_fxp_encode((double)(i % 17) - 8.0 + 0.25 * (double)(mpct_rng_next(&r) % 4), 16);
    }
    int fails = mpct_test_run3(body, NULL, NULL);
    for (int p = 1; p <= 2; p++) {
        double c = chi2_two_sample((const unsigned char *)received[0][p], (const unsigned char *)received[1][p],
                                   NE * 8);
        printf("party %d: chi-square(received | S1, received | S2) = %.1f (threshold %.0f)\n", p, c, THRESH);
        CHECK(c < THRESH, "party %d's received bytes depend on the secret", p);
    }
    double ctrl = chi2_two_sample((const unsigned char *)secrets[0], (const unsigned char *)secrets[1], NE * 8);
    printf("control: chi-square(S1, S2) on plaintext = %.1f (must exceed %.0f)\n", ctrl, THRESH);
    CHECK(ctrl > 10 * THRESH, "the statistic cannot tell the two secrets apart; the test is blind");
    return mpct_check_done("test_leak");
}
