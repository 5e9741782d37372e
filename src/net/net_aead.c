/*
 * net_aead.c — link encryption on any backend (mpct_net_encrypt): the links
 * of a single mpirun (MPI), or any other transport that does not encrypt
 * by itself, carry only authenticated ciphertext.
 *
 * Key agreement: one round in which every party sends a fresh X25519 public
 * key to both neighbours. Each pair {i, j} derives a shared secret, and from
 * it with HKDF-SHA256 (salt "mpct link v1", info "i->j") one AES-128-GCM
 * key per direction. The private keys and secrets are wiped at once. The
 * exchange is unauthenticated: it defeats a passive observer of the fabric,
 * not an active one who can replace the public keys in flight (separately
 * launched parties authenticate with certificates over TLS instead).
 *
 * Records: every non-empty message becomes ciphertext of the same length
 * plus a 16-byte tag. The 96-bit nonce is the direction's message counter
 * (64 bits, little endian, then 32 zero bits); a direction has its own key,
 * so no (key, nonce) pair repeats within the 2^64 messages of a run. The
 * receiver's counter must match: a dropped, replayed, reordered or altered
 * message fails authentication and the round returns MPCT_ERR_NET naming
 * the peer.
 *
 * Invariants: the counters see the wire bytes (payload + 16 per message);
 * rounds and messages are those of the protocol. Keys are wiped when the
 * transport is freed.
 */
#include "net-impl.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <stdlib.h>
#include <string.h>

#define TAG 16
#define KEY 16
#define PIECE (1u << 30) /* EVP lengths are int: a long message is sealed in pieces of one record */

struct mpct_net_aead {
    EVP_CIPHER_CTX *seal[2]; /* to next, to prev */
    EVP_CIPHER_CTX *open[2]; /* from next, from prev */
    uint64_t sent[2], recv[2];
    unsigned char *sbuf[2], *rbuf[2];
    size_t scap[2], rcap[2];
};

size_t mpct_net_aead_overhead(void) { return TAG; }

static void nonce(uint64_t ctr, unsigned char iv[12])
{
    for (int i = 0; i < 8; i++)
        iv[i] = (unsigned char)(ctr >> (8 * i));
    memset(iv + 8, 0, 4);
}

/* HKDF-SHA256(secret, salt "mpct link v1", info "from->to") -> KEY bytes */
static mpct_status derive(const unsigned char *secret, size_t slen, int from, int to, unsigned char key[KEY])
{
    char info[16];
    snprintf(info, sizeof info, "%d->%d", from, to);
    EVP_PKEY_CTX *k = EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, NULL);
    size_t len = KEY;
    int ok = k && EVP_PKEY_derive_init(k) > 0 && EVP_PKEY_CTX_set_hkdf_md(k, EVP_sha256()) > 0 &&
             EVP_PKEY_CTX_set1_hkdf_salt(k, (const unsigned char *)"mpct link v1", 12) > 0 &&
             EVP_PKEY_CTX_set1_hkdf_key(k, secret, (int)slen) > 0 &&
             EVP_PKEY_CTX_add1_hkdf_info(k, (const unsigned char *)info, (int)strlen(info)) > 0 &&
             EVP_PKEY_derive(k, key, &len) > 0 && len == KEY;
    EVP_PKEY_CTX_free(k);
    return ok ? MPCT_OK : mpct_error_set(MPCT_ERR_CRYPTO, "link encryption: key derivation failed");
}

static EVP_CIPHER_CTX *cipher(const unsigned char key[KEY], int enc)
{
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    if (c && EVP_CipherInit_ex(c, EVP_aes_128_gcm(), NULL, key, NULL, enc) > 0)
        return c;
    EVP_CIPHER_CTX_free(c);
    return NULL;
}

void mpct_net_aead_free(struct mpct_net_aead *a)
{
    if (!a)
        return;
    for (int d = 0; d < 2; d++) {
        EVP_CIPHER_CTX_free(a->seal[d]); /* clears the key schedule */
        EVP_CIPHER_CTX_free(a->open[d]);
        free(a->sbuf[d]);
        free(a->rbuf[d]);
    }
    mpct_free_secret(a);
}

/* A sealing/opening pair from raw directional keys (also the unit test's entry). */
mpct_status mpct_net_aead_new(const unsigned char send[2][16], const unsigned char recv[2][16],
                              struct mpct_net_aead **out)
{
    struct mpct_net_aead *a = mpct_calloc(sizeof *a);
    if (!a)
        return mpct_error_set(MPCT_ERR_NOMEM, "link encryption: out of memory");
    for (int d = 0; d < 2; d++) {
        a->seal[d] = cipher(send[d], 1);
        a->open[d] = cipher(recv[d], 0);
        if (!a->seal[d] || !a->open[d]) {
            mpct_net_aead_free(a);
            return mpct_error_set(MPCT_ERR_CRYPTO, "link encryption: AES-128-GCM is not available");
        }
    }
    *out = a;
    return MPCT_OK;
}

/* out = ciphertext of n bytes + tag; nonce = counter of direction d */
mpct_status mpct_net_aead_seal(struct mpct_net_aead *a, int d, const void *in, size_t n, unsigned char *out)
{
    unsigned char iv[12];
    nonce(a->sent[d]++, iv);
    EVP_CIPHER_CTX *c = a->seal[d];
    int len = 0, ok = EVP_EncryptInit_ex(c, NULL, NULL, NULL, iv) > 0;
    for (size_t off = 0; ok && off < n; off += PIECE) {
        int piece = (int)(n - off < PIECE ? n - off : PIECE);
        ok = EVP_EncryptUpdate(c, out + off, &len, (const unsigned char *)in + off, piece) > 0 && len == piece;
    }
    ok = ok && EVP_EncryptFinal_ex(c, out + n, &len) > 0 && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, TAG, out + n) > 0;
    return ok ? MPCT_OK : mpct_error_set(MPCT_ERR_CRYPTO, "link encryption: sealing a message failed");
}

/* in = ciphertext of n bytes + tag -> out (n bytes); MPCT_ERR_NET when it does not authenticate */
mpct_status mpct_net_aead_open(struct mpct_net_aead *a, int d, const unsigned char *in, size_t n, void *out,
                               int peer)
{
    unsigned char iv[12], tag[TAG];
    nonce(a->recv[d]++, iv);
    memcpy(tag, in + n, TAG);
    EVP_CIPHER_CTX *c = a->open[d];
    int len = 0, ok = EVP_DecryptInit_ex(c, NULL, NULL, NULL, iv) > 0;
    for (size_t off = 0; ok && off < n; off += PIECE) {
        int piece = (int)(n - off < PIECE ? n - off : PIECE);
        ok = EVP_DecryptUpdate(c, (unsigned char *)out + off, &len, in + off, piece) > 0 && len == piece;
    }
    ok = ok && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, TAG, tag) > 0 && EVP_DecryptFinal_ex(c, tag, &len) > 0;
    if (!ok) {
        OPENSSL_cleanse(out, n);
        return mpct_error_set(MPCT_ERR_NET,
                              "a message from party %d failed authentication (altered, dropped or replayed in "
                              "transit, or the parties' link keys differ)",
                              peer);
    }
    return MPCT_OK;
}

static mpct_status grow(unsigned char **buf, size_t *cap, size_t need)
{
    if (need <= *cap)
        return MPCT_OK;
    unsigned char *p = realloc(*buf, need);
    if (!p)
        return mpct_error_set(MPCT_ERR_NOMEM, "link encryption: out of memory for a %zu-byte message", need);
    *buf = p;
    *cap = need;
    return MPCT_OK;
}

/* The round below encryption: the emulated link when one is set, else the backend. */
static mpct_status inner_round(mpct_net_t *net, const mpct_net_msg *m)
{
    return net->link.rate_bps > 0 ? mpct_net_link_round(net, m) : net->ops->round(net, m);
}

mpct_status mpct_net_aead_round(mpct_net_t *net, const mpct_net_msg *m)
{
    struct mpct_net_aead *a = net->aead;
    const void *to[2] = {m->to_next, m->to_prev};
    const size_t tob[2] = {m->to_next_bytes, m->to_prev_bytes}, fromb[2] = {m->from_next_bytes, m->from_prev_bytes};
    void *from[2] = {m->from_next, m->from_prev};
    const int peer[2] = {(net->party + 1) % 3, (net->party + 2) % 3};
    for (int d = 0; d < 2; d++) {
        if (tob[d]) {
            MPCT_CALL(grow(&a->sbuf[d], &a->scap[d], tob[d] + TAG));
            MPCT_CALL(mpct_net_aead_seal(a, d, to[d], tob[d], a->sbuf[d]));
        }
        if (fromb[d])
            MPCT_CALL(grow(&a->rbuf[d], &a->rcap[d], fromb[d] + TAG));
    }
    mpct_net_msg c = {tob[0] ? a->sbuf[0] : NULL, tob[0] ? tob[0] + TAG : 0,
                      tob[1] ? a->sbuf[1] : NULL, tob[1] ? tob[1] + TAG : 0,
                      fromb[0] ? a->rbuf[0] : NULL, fromb[0] ? fromb[0] + TAG : 0,
                      fromb[1] ? a->rbuf[1] : NULL, fromb[1] ? fromb[1] + TAG : 0};
    MPCT_CALL(inner_round(net, &c));
    for (int d = 0; d < 2; d++)
        if (fromb[d])
            MPCT_CALL(mpct_net_aead_open(a, d, a->rbuf[d], fromb[d], from[d], peer[d]));
    return MPCT_OK;
}

/* X25519 key pair; pub = its 32-byte public key */
static EVP_PKEY *keypair(unsigned char pub[32])
{
    EVP_PKEY *k = NULL;
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_id(EVP_PKEY_X25519, NULL);
    size_t len = 32;
    if (!c || EVP_PKEY_keygen_init(c) <= 0 || EVP_PKEY_keygen(c, &k) <= 0 ||
        EVP_PKEY_get_raw_public_key(k, pub, &len) <= 0 || len != 32) {
        EVP_PKEY_free(k);
        k = NULL;
    }
    EVP_PKEY_CTX_free(c);
    return k;
}

/* shared secret of our key and the peer's public key -> 32 bytes */
static mpct_status agree(EVP_PKEY *mine, const unsigned char pub[32], int peer, unsigned char secret[32])
{
    EVP_PKEY *theirs = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL, pub, 32);
    EVP_PKEY_CTX *c = theirs ? EVP_PKEY_CTX_new(mine, NULL) : NULL;
    size_t len = 32;
    int ok = c && EVP_PKEY_derive_init(c) > 0 && EVP_PKEY_derive_set_peer(c, theirs) > 0 &&
             EVP_PKEY_derive(c, secret, &len) > 0 && len == 32;
    EVP_PKEY_CTX_free(c);
    EVP_PKEY_free(theirs);
    return ok ? MPCT_OK
              : mpct_error_set(MPCT_ERR_NET, "link encryption: party %d sent an unusable X25519 public key", peer);
}

mpct_status mpct_net_encrypt(mpct_net_t *net)
{
    if (net->aead)
        return MPCT_OK;
    unsigned char pub[32], from_next[32], from_prev[32];
    EVP_PKEY *mine = keypair(pub);
    if (!mine)
        return mpct_error_set(MPCT_ERR_CRYPTO, "link encryption: X25519 key generation failed");
    mpct_net_msg m = {pub, 32, pub, 32, from_next, 32, from_prev, 32};
    mpct_net_op_enter(net, "link_keys");
    mpct_status st = mpct_net_round(net, &m);
    mpct_net_op_leave(net);
    const int me = net->party, nb[2] = {(me + 1) % 3, (me + 2) % 3};
    const unsigned char *their[2] = {from_next, from_prev};
    unsigned char secret[32], send[2][KEY], recv[2][KEY];
    for (int d = 0; d < 2 && st == MPCT_OK; d++) {
        st = agree(mine, their[d], nb[d], secret);
        if (st == MPCT_OK)
            st = derive(secret, sizeof secret, me, nb[d], send[d]);
        if (st == MPCT_OK)
            st = derive(secret, sizeof secret, nb[d], me, recv[d]);
    }
    EVP_PKEY_free(mine);
    struct mpct_net_aead *a = NULL;
    if (st == MPCT_OK)
        st = mpct_net_aead_new((const unsigned char(*)[KEY])send, (const unsigned char(*)[KEY])recv, &a);
    OPENSSL_cleanse(secret, sizeof secret);
    OPENSSL_cleanse(send, sizeof send);
    OPENSSL_cleanse(recv, sizeof recv);
    if (st == MPCT_OK)
        net->aead = a;
    return st;
}

int mpct_net_encrypted(const mpct_net_t *net) { return net->aead != NULL; }
