/*
 * mpct_mpc.h — 2-out-of-3 replicated secret sharing over Z_2^64
 * (semi-honest, honest majority; the ABY3 / Falcon family).
 *
 * Sharing: x = x0 + x1 + x2 (mod 2^64); party Pi holds (x_i, x_{i+1}), stored
 * as share.s[0] = x_i, share.s[1] = x_{i+1}. Boolean sharings use the same
 * layout with XOR in place of +.
 *
 * Randomness: at start-up each Pi draws a 16-byte key k_i and sends it to
 * P_{i-1}; so Pi holds k_i ("own", shared with prev) and k_{i+1} ("next",
 * shared with next) and never sees k_{i+2}, the key of the pair it is not in.
 * Each key drives one AES-128-CTR stream (mpct_prf.h); pairs consume their
 * common stream in lock step because every party runs the same sequence of
 * operations. A zero-sharing is alpha_i = F(k_i) - F(k_{i+1}).
 * Keys are exchanged in the clear over the transport: like ABY3 we assume
 * private channels between parties (link encryption is a later option).
 *
 * Costs below are per element, per party, in ring elements (8 bytes) sent
 * unless given in bytes; "rounds" are communication rounds (mpct_net_round
 * calls). The protocol files (share_*.c) state them round by round.
 *   input        1 round; owner sends 1 (others 0)
 *   reveal(one)  1 round; one party sends 1
 *   reveal(all)  1 round; every party sends 1
 *   add/sub/const ops: local
 *   mul, matmul  1 round; every party sends 1 per OUTPUT element
 *   matmul_sparse_lift  2 rounds; bytes per output element 4 and 8 from
 *                two parties, 16 from the third (see its declaration)
 *   trunc        exact (default): 2 rounds; bytes per element w, 8 + w
 *                and 8 + 2w from the three parties, w = ceil(d/8) (the
 *                OT words of the wrap term carry only its d significant
 *                bits); the roles rotate call by call, so each party sends
 *                8 + 4w/3 on average. floor(x/2^d) + e, e in {0, 1} ulp,
 *                for every |x| < 2^62 (Dalskov-Escudero-Keller with a known
 *                MSB, the wrap term by a helper-assisted 3-party OT).
 *                probabilistic (config trunc_probabilistic): 1 round, P0 sends
 *                1 (SecureML / ABY3 trunc1); the same {0, 1} ulp except with
 *                probability <= 2^(l_x + 1 - 64) when |x| < 2^l_x, where the
 *                result is wrong by about 2^(64-d).
 *   mul_fxp      2 rounds, 8 + ceil(d/8) bytes per element from two parties,
 *                8 + 2 ceil(d/8) from the third (the product fused with the
 *                exact trunc: mul_trunc_many, matmul_trunc);
 *                also 2 rounds with the probabilistic trunc
 *   msb          8 rounds; 23.6 bytes per element and party (two
 *                components summed by one party and input as a boolean
 *                sharing, 64/3 bits; the generate word from two one-party
 *                halves, 128/3; a carry tree with packed operands);
 *                msb_w on |x| < 2^(w-1): 2 + log2(w) rounds, about 2.9 w
 *                bits per element (w = 16: 5.6 bytes, 32: 11.6)
 *   b2a          2 rounds; every party sends 1 word
 *   ltz/lt       msb + b2a = 10 rounds
 *   select       1 round (mul by a 0/1 share)
 *   relu         11 rounds
 *   decoder operations (mpct_nonlin.h, measured by test_nonlin_dec):
 *   rmsnorm      24 rounds (LayerNorm's); 46 bytes per element at H = 1024
 *   silu, swiglu 35 rounds; 308 / 332 bytes per element (swiglu's gate * up
 *                rides in tanh's rounds: silu then a product would be 37)
 *   gelu_tanh    17 rounds; 85 bytes per element
 *   matmul_rope  2 rounds; 8 + ceil((f + 16)/8) bytes per output element
 *                from two parties, 8 + 2 ceil((f + 16)/8) from the third
 *                (matmul_trunc's with 16 more bits shifted)
 *   softmax_causal  softmax's rounds for the longest kept row; bytes for
 *                the kept entries only (94 per element for 128 x 128 causal,
 *                186 unmasked)
 *   argmax       11 rounds per 4-ary level, ceil(log4 V) levels (32-bit
 *                comparisons; 12 at 64 bits); V = 50257: 88 rounds,
 *                4.25 MB per call from the busiest party; the one-hot
 *                ceil(log4 V) - 1 rounds more (5.32 MB)
 * mul_many / trunc_many / and_many batch independent operations into the
 * same rounds.
 */
#ifndef MPCT_MPC_H
#define MPCT_MPC_H

#include "mpct_core.h"
#include "mpct_kernels.h"
#include "mpct_net.h"
#include "mpct_prf.h"

#define MPCT_ALL_PARTIES (-1)

typedef struct mpct_ctx_config {
    int frac_bits;          /* fixed-point fractional bits, default 16 */
    const char *kernels;    /* kernel backend name, default "cpu" */
    int deterministic;      /* nonzero: keys derived from seed (tests/bench only) */
    uint64_t seed;          /* used when deterministic */
    int trunc_probabilistic;/* nonzero: 1-round truncation with rare large errors
                               (default 0: exact 2-round truncation) */
} mpct_ctx_config;

mpct_ctx_config mpct_ctx_config_default(void);

typedef struct mpct_ctx mpct_ctx_t;

/* Agrees the PRF keys and runs the handshake (protocol version, frac bits,
 * ring size); a mismatch fails on every party with a message naming the
 * field. Takes ownership of nothing; net must outlive the context. */
mpct_status mpct_ctx_init(mpct_ctx_t **out, mpct_net_t *net, const mpct_ctx_config *cfg) MPCT_WUR;
void mpct_ctx_free(mpct_ctx_t *ctx);
int mpct_ctx_party(const mpct_ctx_t *ctx);
int mpct_ctx_frac_bits(const mpct_ctx_t *ctx);
mpct_net_t *mpct_ctx_net(mpct_ctx_t *ctx);
const mpct_kernels *mpct_ctx_kernels(const mpct_ctx_t *ctx);
/* Moves both pairwise PRFs to stream `stream_id` (position 0), on every party
 * at the same point of the protocol. Streams 0 and 1 are used at start-up;
 * callers pick distinct ids per unit of work (e.g. 2 + batch index) so the
 * randomness a unit consumes does not depend on what ran before it. */
void mpct_ctx_set_stream(mpct_ctx_t *ctx, uint64_t stream_id);

/* ---- shares ---- */
typedef struct mpct_share {
    mpct_shape shape;
    size_t n;
    uint64_t *s[2];
    /* 1 + the index j of a component x_j that is zero, when all parties know
     * it (a tensor input by party o has x_{o-1} = 0: mpct_share_input sets
     * this); 0 = not known. A matmul whose right operand has it set splits
     * its terms so that every party runs one GEMM (see matmul_local).
     * Outputs of operations reset it (mpc_out_like), a copy keeps it, and
     * in-place local updates (add_const into a, nl_add_pub) leave it: the
     * split checks this party's copy of x_j at run time, so a stale or
     * wrong value costs speed only, but all three parties must hold the
     * same value. */
    int zero_comp;
} mpct_share;

/* zero_comp for a tensor input by party o (its component x_{o-1} is zero),
 * and back: the owner, or -1 when not known. */
static inline void mpct_share_mark_input(mpct_share *x, int owner) { x->zero_comp = 1 + (owner + 2) % 3; }
static inline int mpct_share_input_owner(const mpct_share *x)
{
    return x->zero_comp >= 1 && x->zero_comp <= 3 ? x->zero_comp % 3 : -1;
}

mpct_status mpct_share_init(mpct_share *x, mpct_shape shape) MPCT_WUR;
/* The same from the scratch cache (zeroed): for temporaries of a forward
 * pass. mpct_share_init stays for long-lived shares (fresh zero pages). */
mpct_status mpct_share_init_scratch(mpct_share *x, mpct_shape shape) MPCT_WUR;
/* The same without the zero fill (contents undefined): for a share the next
 * step writes whole (an input, a transpose). */
mpct_status mpct_share_init_scratch_nofill(mpct_share *x, mpct_shape shape) MPCT_WUR;
void mpct_share_free(mpct_share *x); /* to the scratch cache, wiped when it leaves it (mpct_core.h) */
mpct_status mpct_share_copy(const mpct_share *x, mpct_share *out) MPCT_WUR;
/* out views elements [off, off+len) of x as a 1-D share (no copy; do not free). */
mpct_share mpct_share_view(const mpct_share *x, size_t off, size_t len);
/* Local row operations on x viewed as R x C (R = out->n for the sums, v->n
 * for the broadcast; out is allocated by the caller): out[r] = the sum of
 * row r; out[r, :] = v[r] in every column. The context's kernel table's
 * sum_rows and bcast_rows. */
void mpct_share_row_sums(mpct_ctx_t *ctx, const mpct_share *x, size_t C, mpct_share *out);
void mpct_share_bcast_rows(mpct_ctx_t *ctx, const mpct_share *v, size_t C, mpct_share *out);

/* Input: owner passes plaintext (n ring elements), others pass NULL.
 * out must be initialised with the public shape on every party. */
mpct_status mpct_share_input(mpct_ctx_t *ctx, int owner, const uint64_t *plain, mpct_share *out) MPCT_WUR;
mpct_status mpct_share_input_fxp(mpct_ctx_t *ctx, int owner, const double *plain, mpct_share *out) MPCT_WUR;
/* Input of one-hot rows without a dense plaintext: out (rows x W, W =
 * out->n / rows) gets a 1 at (r, cols[r]) and 0 elsewhere; cols[r] = -1
 * leaves row r zero. The owner passes cols (rows entries), the others NULL.
 * Same messages as mpct_share_input; the owner's work is one pass instead
 * of building, reading and wiping a dense rows x W array (250 MB for 1024
 * tokens of a 30522-word vocabulary). */
mpct_status mpct_share_input_onehot(mpct_ctx_t *ctx, int owner, const int32_t *cols, size_t rows,
                                    mpct_share *out) MPCT_WUR;
/* Input whose PRF component x_{o+1} is words [pos, pos + n) of prf, a stream
 * the owner and its next share (mpct_ctx_pair_key); the owner's prev passes
 * NULL. Same cost as mpct_share_input. Used for the weights, so that a cache
 * can keep the PRF component as (key, pos) instead of its words. */
mpct_status mpct_share_input_stream(mpct_ctx_t *ctx, int owner, const uint64_t *plain, const mpct_prf_t *prf,
                                    uint64_t pos, mpct_share *out) MPCT_WUR;
/* A fresh key known to the owner and its next only, drawn from their
 * pairwise stream (no communication); *have = 0 on the owner's prev, which
 * draws nothing. Both holders must call it at the same point. */
mpct_status mpct_ctx_pair_key(mpct_ctx_t *ctx, int owner, uint8_t key[MPCT_PRF_KEY_BYTES], int *have) MPCT_WUR;
/* Public constant as a sharing (x0 = c, x1 = x2 = 0): local. */
mpct_status mpct_share_public(mpct_ctx_t *ctx, const uint64_t *c, mpct_share *out) MPCT_WUR;
/* Reveal to party `to` (or MPCT_ALL_PARTIES); out is written on receivers. */
mpct_status mpct_share_reveal(mpct_ctx_t *ctx, const mpct_share *x, int to, uint64_t *out) MPCT_WUR;
mpct_status mpct_share_reveal_fxp(mpct_ctx_t *ctx, const mpct_share *x, int to, double *out) MPCT_WUR;

/* ---- linear, local ---- */
mpct_status mpct_share_add(mpct_ctx_t *ctx, const mpct_share *a, const mpct_share *b, mpct_share *out) MPCT_WUR;
mpct_status mpct_share_sub(mpct_ctx_t *ctx, const mpct_share *a, const mpct_share *b, mpct_share *out) MPCT_WUR;
mpct_status mpct_share_neg(mpct_ctx_t *ctx, const mpct_share *a, mpct_share *out) MPCT_WUR;
/* out = a + c (c public: one value per element, or c_len == 1 broadcast). */
mpct_status mpct_share_add_const(mpct_ctx_t *ctx, const mpct_share *a, const uint64_t *c, size_t c_len,
                                 mpct_share *out) MPCT_WUR;
/* out = a * c for a public ring integer c (no truncation). */
mpct_status mpct_share_mul_const(mpct_ctx_t *ctx, const mpct_share *a, uint64_t c, mpct_share *out) MPCT_WUR;

/* ---- products ---- */
/* out = a * b elementwise, no truncation. 1 round. */
mpct_status mpct_share_mul(mpct_ctx_t *ctx, const mpct_share *a, const mpct_share *b, mpct_share *out) MPCT_WUR;
/* k independent products in one round. */
mpct_status mpct_share_mul_many(mpct_ctx_t *ctx, size_t k, const mpct_share *const *a,
                                const mpct_share *const *b, mpct_share *const *out) MPCT_WUR;
/* out[m x n] = a[m x k] * b[k x n] (2-D), or batched over a leading dim when
 * both are 3-D ([B,m,k] x [B,k,n]). No truncation. 1 round. */
mpct_status mpct_share_matmul(mpct_ctx_t *ctx, const mpct_share *a, const mpct_share *b, mpct_share *out) MPCT_WUR;
/* The same product when a is an input of party `client` that is sparse in
 * the clear (the one-hot rows of token ids): the client holds a's whole
 * value (its input's third component is zero), so its share of the product
 * is a row gather instead of a GEMM. The other parties are unchanged; the
 * client's time depends only on how many non-zeros its own input has
 * (one per row for a one-hot). Rows with more than 8 non-zeros make the
 * client fall back to the GEMM. client -1 (owner unknown, see
 * mpct_share_input_owner): the plain product. Opt-in per call, not
 * automatic: where the sparsity is not public, the client's timing would
 * show it. 1 round. */
mpct_status mpct_share_matmul_sparse_input(mpct_ctx_t *ctx, int client, const mpct_share *a, const mpct_share *b,
                                           mpct_share *out) MPCT_WUR;
/* The low 32 bits of a share's two components, kept by the caller for
 * mpct_share_matmul_sparse_lift (made on first use, for the slot this party
 * multiplies, and whether its slot 0 is zero; remade when the share's size
 * changes; a caller that changes the share's values must free it). Secret:
 * free with mpct_share_low32_free, which wipes. */
typedef struct mpct_share_low32 {
    uint32_t *s[2];
    size_t n;
    int b0_zero; /* slot 0 all zero: 1, not: -1, not yet tested: 0 */
} mpct_share_low32;
void mpct_share_low32_free(mpct_share_low32 *l);
/* The product of mpct_share_matmul_sparse_input for a result known to stay
 * below 2^30 in magnitude (each element as a signed ring value; the
 * embedding lookup of a table whose fixed-point entries do): the local
 * products run mod 2^32 (kernels' gemm32, 16 lanes with AVX-512 where the
 * 64-bit GEMM has 8) and the exact truncation's protocol with a 32-bit
 * opening and no shift lifts the sum back to Z_2^64 in place of the
 * resharing. 2 rounds instead of 1; bytes per element: 4 and 8 from two
 * parties, 16 from the third (the roles rotate; share_trunc.c); exact (no error)
 * inside the bound; outside it the result is wrong. Every term is the
 * classic split's (b's owner hint is not used; client -1: nobody
 * gathers). A party whose term is a single product (exactly one of a0, b0
 * zero: with the table input by the client's prev, both non-clients) runs
 * it with gemm32 on b's cached low halves (bl); the client otherwise
 * gathers as in mpct_share_matmul_sparse_input, and the rest, or a backend
 * without gemm32, take the 64-bit terms, whose low halves are the same.
 * 2-D only for the 32-bit path. */
mpct_status mpct_share_matmul_sparse_lift(mpct_ctx_t *ctx, int client, const mpct_share *a, const mpct_share *b,
                                          mpct_share_low32 *bl, mpct_share *out) MPCT_WUR;
/* Products this thread computed with gemm32 there (a counter for tests). */
unsigned long mpct_share_gemm32_count(void);
/* Products this thread computed by that gather, and by the zero_comp split
 * (counters for tests: they show which path a product took). */
unsigned long mpct_share_gather_count(void);
unsigned long mpct_share_hinted_count(void);
/* Truncation by d bits (exact by default, see header). */
mpct_status mpct_share_trunc(mpct_ctx_t *ctx, const mpct_share *x, int d, mpct_share *out) MPCT_WUR;
mpct_status mpct_share_trunc_many(mpct_ctx_t *ctx, size_t k, const mpct_share *const *x, int d,
                                  mpct_share *const *out) MPCT_WUR;
/* The same with one shift per operand (d[i] = 0 copies); out may alias x. */
mpct_status mpct_share_trunc_many_d(mpct_ctx_t *ctx, size_t k, const mpct_share *const *x, const int *d,
                                    mpct_share *const *out) MPCT_WUR;
/* Fixed-point products: product then truncation by frac_bits. */
/* Products fused with the exact truncation by d[i] bits (1..62): each
 * party's additive term feeds the truncation's opening round directly, so
 * there is no resharing round: 2 rounds, 8 + ceil(d/8) bytes per element
 * from two parties and 8 + 2 ceil(d/8) from the third (the roles rotate) (a product then a truncation: 4 rounds, a word more). With the
 * probabilistic truncation (or d = 0) it is the product then the
 * truncation. */
mpct_status mpct_share_mul_trunc_many(mpct_ctx_t *ctx, size_t k, const mpct_share *const *a,
                                      const mpct_share *const *b, const int *d, mpct_share *const *out) MPCT_WUR;
/* out = trunc(sum_i a[i] b[i], d): the products' additive terms are summed
 * locally and truncated once (fused): 2 rounds, 8 + ceil(d/8) bytes per
 * element from two parties and 8 + 2 ceil(d/8) from the third whatever k
 * is. */
mpct_status mpct_share_dot_trunc(mpct_ctx_t *ctx, size_t k, const mpct_share *const *a, const mpct_share *const *b,
                                 int d, mpct_share *out) MPCT_WUR;
mpct_status mpct_share_matmul_trunc(mpct_ctx_t *ctx, const mpct_share *a, const mpct_share *b, int d,
                                    mpct_share *out) MPCT_WUR;
mpct_status mpct_share_mul_fxp(mpct_ctx_t *ctx, const mpct_share *a, const mpct_share *b, mpct_share *out) MPCT_WUR;
mpct_status mpct_share_matmul_fxp(mpct_ctx_t *ctx, const mpct_share *a, const mpct_share *b, mpct_share *out) MPCT_WUR;
/* out = a * c for a public real c (encoded, then truncated). */
mpct_status mpct_share_mul_const_fxp(mpct_ctx_t *ctx, const mpct_share *a, double c, mpct_share *out) MPCT_WUR;

/* ---- boolean and comparison ---- */
/* Boolean sharing of the most significant bit of x, in bit 0 of each word. */
mpct_status mpct_share_msb(mpct_ctx_t *ctx, const mpct_share *x, mpct_share *bits) MPCT_WUR;
/* Boolean bit (bit 0) to arithmetic 0/1 sharing. */
mpct_status mpct_share_b2a(mpct_ctx_t *ctx, const mpct_share *bits, mpct_share *out) MPCT_WUR;
/* out = 1 where x < 0 (as signed), else 0; exact for every ring element. */
mpct_status mpct_share_ltz(mpct_ctx_t *ctx, const mpct_share *x, mpct_share *out) MPCT_WUR;
/* Narrow comparisons: the msb of x mod 2^width (width 8, 16, 32 or 64),
 * i.e. the sign of x whenever |x| < 2^(width-1) -- the CALLER guarantees
 * that bound; outside it the result is the sign of x mod 2^width. Reducing
 * mod 2^width is a ring homomorphism, so the shares need no conversion:
 * 2 + log2(width) rounds, about 2.9 width bits per element and party
 * (width 32: 7 rounds, 11.6 bytes). ltz_w adds b2a (2 rounds, 8 bytes). */
mpct_status mpct_share_msb_w(mpct_ctx_t *ctx, const mpct_share *x, unsigned width, mpct_share *bits) MPCT_WUR;
mpct_status mpct_share_ltz_w(mpct_ctx_t *ctx, const mpct_share *x, unsigned width, mpct_share *out) MPCT_WUR;
/* Windowed comparison: ltz_w on bits [lo, lo + width) of x. Every party
 * shifts the comparison's two operands (two components summed by one
 * party, the third) right by lo locally (the one holding component 0
 * after adding 2^lo); the lost carries of the low parts make it uncertain
 * only for -2^lo <= x < 2^lo. So out = [x < 0] for 2^lo <= x and for
 * x < -2^lo, while |x| < 2^lo (2^(width-1) - 2); either 0 or 1 in the band
 * [-2^lo, 2^lo) (at x = -2^lo the biased sum is 0). For comparisons that may be off by a
 * little (a max whose result only shifts an exp, a clip far from where it
 * matters): width 16 instead of 32 halves msb's bytes and saves a round.
 * lo = 0 is ltz_w. */
mpct_status mpct_share_ltz_win(mpct_ctx_t *ctx, const mpct_share *x, unsigned width, unsigned lo,
                               mpct_share *out) MPCT_WUR;
/* out = 1 where a < b, else 0; exact while |a - b| < 2^63. */
mpct_status mpct_share_lt(mpct_ctx_t *ctx, const mpct_share *a, const mpct_share *b, mpct_share *out) MPCT_WUR;
/* out = cond ? a : b, with cond an arithmetic 0/1 sharing. 1 round. */
mpct_status mpct_share_select(mpct_ctx_t *ctx, const mpct_share *cond, const mpct_share *a,
                              const mpct_share *b, mpct_share *out) MPCT_WUR;
/* out = max(x, 0). */
mpct_status mpct_share_relu(mpct_ctx_t *ctx, const mpct_share *x, mpct_share *out) MPCT_WUR;

/* Boolean AND of k pairs of boolean sharings in one round. */
mpct_status mpct_share_and_many(mpct_ctx_t *ctx, size_t k, const mpct_share *const *a,
                                const mpct_share *const *b, mpct_share *const *out) MPCT_WUR;

/* ---- randomness helpers for protocol code ---- */
/* out[i] = F(k_own) - F(k_next): an additive zero-sharing across the parties. */
mpct_status mpct_ctx_zero_share(mpct_ctx_t *ctx, uint64_t *out, size_t n) MPCT_WUR;
/* XOR zero-sharing. */
mpct_status mpct_ctx_zero_share_xor(mpct_ctx_t *ctx, uint64_t *out, size_t n) MPCT_WUR;
/* Draw from the stream shared with prev (own key) or next (next key). */
mpct_status mpct_ctx_rand_own(mpct_ctx_t *ctx, uint64_t *out, size_t n) MPCT_WUR;
mpct_status mpct_ctx_rand_next(mpct_ctx_t *ctx, uint64_t *out, size_t n) MPCT_WUR;

#endif
