/*
 * mpct_prf.h — pseudo-random function streams (AES-128-CTR via OpenSSL EVP).
 *
 * Stream definition (normative; the CUDA PRF must reproduce it bit for bit):
 *   key      16 bytes
 *   IV       16 bytes: bytes 0..7 = stream_id as big-endian uint64,
 *            bytes 8..15 = 0
 *   keystream = AES-128-CTR(key, IV) applied to all-zero plaintext, the
 *            128-bit IV incremented as one big-endian integer per block
 *            (OpenSSL's CTR mode).
 *   words    the keystream read 8 bytes at a time as little-endian uint64;
 *            word w comes from block w/2, bytes 8*(w%2) .. 8*(w%2)+7.
 *   A stream has a position (words consumed so far); mpct_prf_fill continues
 *   from it. mpct_prf_fill_at reads words [pos, pos+n) without moving it.
 *
 * Keys are wiped on free.
 */
#ifndef MPCT_PRF_H
#define MPCT_PRF_H

#include "mpct_core.h"

#define MPCT_PRF_KEY_BYTES 16

typedef struct mpct_prf mpct_prf_t;

mpct_status mpct_prf_init(mpct_prf_t **out, const uint8_t key[MPCT_PRF_KEY_BYTES],
                          uint64_t stream_id) MPCT_WUR;
void mpct_prf_free(mpct_prf_t *p);
/* Next n words of the stream. */
mpct_status mpct_prf_fill(mpct_prf_t *p, uint64_t *out, size_t n) MPCT_WUR;
/* Words [pos, pos + n) of the stream, independent of the position. */
mpct_status mpct_prf_fill_at(const mpct_prf_t *p, uint64_t pos, uint64_t *out, size_t n) MPCT_WUR;
/* out[i] ^= word pos + i of the stream (fill_at without clearing out first:
 * into memory known to be zero it is fill_at minus one pass). */
mpct_status mpct_prf_xor_at(const mpct_prf_t *p, uint64_t pos, uint64_t *out, size_t n) MPCT_WUR;
uint64_t mpct_prf_position(const mpct_prf_t *p);
/* Switches to stream `stream_id` of the same key, at position 0. */
void mpct_prf_reset(mpct_prf_t *p, uint64_t stream_id);

/* Fresh secret key from the OS (OpenSSL RAND_bytes). */
mpct_status mpct_prf_random_key(uint8_t key[MPCT_PRF_KEY_BYTES]) MPCT_WUR;
/* Deterministic key for tests/benchmarks: derived from (seed, index) with
 * SHA-256; never use for production secrets. */
void mpct_prf_derive_key(uint64_t seed, uint64_t index, uint8_t key[MPCT_PRF_KEY_BYTES]);

#endif
