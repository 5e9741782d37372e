/*
 * provenance.c — how a party's weight shares were made, as recipes the
 * share cache can store instead of the words (src/sched/weights.c): which
 * components are data, and how to remake the others (the weight PRF stream
 * at a position, or zeros).
 *
 * A recipe's seed is [type of s[0], type of s[1], 16-byte key]
 * (MPCT_ORIGIN_*, secure-impl.h; the key is zero on the party without it).
 * Cache entries on disk keep this layout: changing it orphans them.
 * Invariants: the getter has no side effects; the key leaves the model only
 * inside a recipe, and mpct_smodel_forget_origin wipes the model's copy.
 */
#include "mpct_prf.h"
#include "secure-impl.h"

#include <string.h>

_Static_assert(MPCT_SMODEL_SEED_BYTES == 2 + MPCT_PRF_KEY_BYTES, "a recipe's seed: two types and the key");
_Static_assert(sizeof(((smodel_origin *)0)->key) == MPCT_PRF_KEY_BYTES, "the weight key is a PRF key");

int mpct_smodel_share_recipe(const mpct_smodel *m, size_t i, mpct_smodel_recipe *r)
{
    if (!m->origin.known || !m->wpos || i >= m->nshares)
        return 0;
    const uint64_t pos = m->wpos[i];
    int comp[2] = {m->origin.comp[0], m->origin.comp[1]};
    if (pos == UINT64_MAX) /* never input: both components are zero */
        comp[0] = comp[1] = MPCT_ORIGIN_ZERO;
    memset(r, 0, sizeof *r);
    r->seed[0] = (uint8_t)comp[0];
    r->seed[1] = (uint8_t)comp[1];
    if (m->origin.has_key)
        memcpy(r->seed + 2, m->origin.key, MPCT_PRF_KEY_BYTES);
    r->stream_id = m->origin.stream_id;
    r->pos = pos == UINT64_MAX ? 0 : pos;
    r->stored = (comp[0] == MPCT_ORIGIN_DATA) | (unsigned)(comp[1] == MPCT_ORIGIN_DATA) << 1;
    return 1;
}

mpct_status mpct_smodel_regen(void *user, const uint8_t *seed, size_t seed_len, uint64_t stream_id, uint64_t pos,
                              int comp, uint64_t *out, size_t n)
{
    (void)user;
    if (seed_len != MPCT_SMODEL_SEED_BYTES || comp < 0 || comp > 1 || seed[comp] == MPCT_ORIGIN_DATA ||
        seed[comp] > MPCT_ORIGIN_ZERO)
        return mpct_error_set(MPCT_ERR_FORMAT, "share cache: bad weight descriptor");
    if (seed[comp] == MPCT_ORIGIN_ZERO) {
        /* out is zero on entry (regenerator contract): nothing to write.
         * Map the kernel's (huge) zero page under it now: left untouched,
         * the first matmul would fault it in 4 KiB at a time (measured:
         * +0.07 s of inference on a warm MiniLM run, interleaved A/B of 6
         * runs each, commit 392da07) */
        mpct_prefault_zero(out, n * sizeof *out);
        return MPCT_OK;
    }
    mpct_prefault(out, n * sizeof *out, 1); /* fresh share memory, written in full below */
    mpct_prf_t *p = NULL;
    MPCT_CALL(mpct_prf_init(&p, seed + 2, stream_id));
    mpct_status st = mpct_prf_xor_at(p, pos, out, n); /* out is zero: XOR = fill */
    mpct_prf_free(p);
    return st;
}

void mpct_smodel_forget_origin(mpct_smodel *m)
{
    if (m)
        mpct_wipe(&m->origin, sizeof m->origin);
}
