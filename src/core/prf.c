/*
 * prf.c — AES-128-CTR PRF streams through OpenSSL EVP (see mpct_prf.h for the
 * normative stream definition). Keys are wiped on free.
 */
#include "mpct_prf.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <string.h>

struct mpct_prf {
    uint8_t key[MPCT_PRF_KEY_BYTES];
    uint64_t stream_id;
    uint64_t pos; /* words consumed */
    EVP_CIPHER_CTX *ctx; /* set up for block 0; re-initialised per fill */
};

mpct_status mpct_prf_init(mpct_prf_t **out, const uint8_t key[MPCT_PRF_KEY_BYTES], uint64_t stream_id)
{
    mpct_prf_t *p = mpct_calloc(sizeof *p);
    if (!p)
        return mpct_error_set(MPCT_ERR_NOMEM, "cannot allocate a PRF stream");
    memcpy(p->key, key, MPCT_PRF_KEY_BYTES);
    p->stream_id = stream_id;
    p->ctx = EVP_CIPHER_CTX_new();
    if (!p->ctx) {
        mpct_prf_free(p);
        return mpct_error_set(MPCT_ERR_CRYPTO, "EVP_CIPHER_CTX_new failed");
    }
    *out = p;
    return MPCT_OK;
}

void mpct_prf_free(mpct_prf_t *p)
{
    if (!p)
        return;
    if (p->ctx)
        EVP_CIPHER_CTX_free(p->ctx);
    mpct_free_secret(p);
}

uint64_t mpct_prf_position(const mpct_prf_t *p) { return p->pos; }

void mpct_prf_reset(mpct_prf_t *p, uint64_t stream_id)
{
    p->stream_id = stream_id;
    p->pos = 0;
}

/* IV for block b: (stream_id || 0) + b as a 128-bit big-endian integer. */
static void iv_for_block(uint64_t stream_id, uint64_t block, uint8_t iv[16])
{
    for (int i = 0; i < 8; i++) {
        iv[i] = (uint8_t)(stream_id >> (56 - 8 * i));
        iv[8 + i] = (uint8_t)(block >> (56 - 8 * i));
    }
}

/* Keystream words [pos, pos + n) XORed into out (zeros == 0) or written to
 * out (zeros == 1: the cipher reads a zero block instead of out, which saves
 * clearing out first). */
static mpct_status prf_apply(const mpct_prf_t *p, uint64_t pos, uint64_t *out, size_t n, int zeros)
{
    static const unsigned char zero_src[16384];
    if (n == 0)
        return MPCT_OK;
    uint8_t iv[16];
    uint64_t block = pos / 2;
    size_t skip = (size_t)(pos % 2) * 8;
    iv_for_block(p->stream_id, block, iv);
    if (EVP_EncryptInit_ex(p->ctx, EVP_aes_128_ctr(), NULL, p->key, iv) != 1)
        return mpct_error_set(MPCT_ERR_CRYPTO, "EVP_EncryptInit_ex(aes-128-ctr) failed");
    /* CTR mode XORs the keystream into its input: out itself (xor), or the
     * static zero block (zeros), written to out. Little-endian host assumed
     * (x86-64, aarch64); words are read as little-endian. */
    unsigned char *buf = (unsigned char *)out;
    int len = 0;
    if (skip) {
        unsigned char tmp[8] = {0};
        if (EVP_EncryptUpdate(p->ctx, tmp, &len, tmp, 8) != 1)
            return mpct_error_set(MPCT_ERR_CRYPTO, "EVP_EncryptUpdate failed");
    }
    size_t bytes = n * 8;
    size_t done = 0;
    const size_t cap = zeros ? sizeof zero_src : (size_t)1 << 30;
    while (done < bytes) {
        size_t chunk = bytes - done > cap ? cap : bytes - done;
        if (EVP_EncryptUpdate(p->ctx, buf + done, &len, zeros ? zero_src : buf + done, (int)chunk) != 1)
            return mpct_error_set(MPCT_ERR_CRYPTO, "EVP_EncryptUpdate failed");
        done += chunk;
    }
    mpct_wipe(iv, sizeof iv);
    return MPCT_OK;
}

mpct_status mpct_prf_xor_at(const mpct_prf_t *p, uint64_t pos, uint64_t *out, size_t n)
{
    return prf_apply(p, pos, out, n, 0);
}

mpct_status mpct_prf_fill_at(const mpct_prf_t *p, uint64_t pos, uint64_t *out, size_t n)
{
    return prf_apply(p, pos, out, n, 1); /* encrypting zeros gives the keystream */
}

mpct_status mpct_prf_fill(mpct_prf_t *p, uint64_t *out, size_t n)
{
    MPCT_CALL(mpct_prf_fill_at(p, p->pos, out, n));
    p->pos += n;
    return MPCT_OK;
}

mpct_status mpct_prf_random_key(uint8_t key[MPCT_PRF_KEY_BYTES])
{
    if (RAND_bytes(key, MPCT_PRF_KEY_BYTES) != 1)
        return mpct_error_set(MPCT_ERR_CRYPTO, "RAND_bytes failed: no entropy for a PRF key");
    return MPCT_OK;
}

void mpct_prf_derive_key(uint64_t seed, uint64_t index, uint8_t key[MPCT_PRF_KEY_BYTES])
{
    uint8_t in[24] = "mpct-key";
    uint8_t h[SHA256_DIGEST_LENGTH];
    memcpy(in + 8, &seed, 8);
    memcpy(in + 16, &index, 8);
    SHA256(in, sizeof in, h);
    memcpy(key, h, MPCT_PRF_KEY_BYTES);
    mpct_wipe(h, sizeof h);
}
