/*
 * share_wire.c — ring words on the wire: packing each word's low wb bytes
 * (1..8) back to back, and the inverse with a shift. The truncation's
 * rounds 2 and 3 and the lift's 32-bit opening carry only the significant
 * low bytes of their words this way.
 *
 * Communication: none (the packed buffers are sent by the callers).
 * Invariant: the byte layout is little-endian whatever the machine, so
 * parties on different machines agree.
 */
#include "mpc-impl.h"

#include <string.h>

/* The low wb bytes (1..8) of each word, little-endian, back to back. On
 * little-endian machines whole words are stored at a stride of wb bytes
 * (each store's excess bytes are overwritten by the next one) and the
 * common widths use 2- and 4-byte stores, which vectorise; the last words
 * and other machines go byte by byte. */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define MPCT_LE 1
#else
#define MPCT_LE 0
#endif
void mpc_pack_low(const uint64_t *restrict v, size_t n, unsigned wb, uint8_t *restrict out)
{
    size_t j = 0;
    if (MPCT_LE && wb == 8) {
        memcpy(out, v, n * 8);
        return;
    }
    if (MPCT_LE && wb == 2)
        for (; j < n; j++) {
            const uint16_t h = (uint16_t)v[j];
            memcpy(out + 2 * j, &h, 2);
        }
    else if (MPCT_LE && wb == 4)
        for (; j < n; j++) {
            const uint32_t h = (uint32_t)v[j];
            memcpy(out + 4 * j, &h, 4);
        }
    else if (MPCT_LE)
        for (; j * wb + 8 <= n * wb; j++)
            memcpy(out + j * wb, &v[j], 8);
    for (; j < n; j++)
        for (unsigned b = 0; b < wb; b++)
            out[j * wb + b] = (uint8_t)(v[j] >> (8 * b));
}

/* v's words as wb-byte wire words: v itself when wb is 8, else packed into
 * tmp (n * wb bytes). */
const void *mpc_wire(const uint64_t *v, size_t n, unsigned wb, uint8_t *tmp)
{
    if (wb == 8)
        return v;
    mpc_pack_low(v, n, wb, tmp);
    return tmp;
}

/* The inverse of mpc_pack_low, each word shifted left by sh on the way. */
void mpc_unpack_low(const uint8_t *restrict in, size_t n, unsigned wb, unsigned sh, uint64_t *restrict v)
{
    size_t j = 0;
    if (MPCT_LE && wb == 2)
        for (; j < n; j++) {
            uint16_t h;
            memcpy(&h, in + 2 * j, 2);
            v[j] = (uint64_t)h << sh;
        }
    else if (MPCT_LE && wb == 4)
        for (; j < n; j++) {
            uint32_t h;
            memcpy(&h, in + 4 * j, 4);
            v[j] = (uint64_t)h << sh;
        }
    else if (MPCT_LE) {
        const uint64_t mask = mpc_low_mask(8 * wb);
        for (; j * wb + 8 <= n * wb; j++) {
            uint64_t w;
            memcpy(&w, in + j * wb, 8);
            v[j] = (w & mask) << sh;
        }
    }
    for (; j < n; j++) {
        uint64_t w = 0;
        for (unsigned b = 0; b < wb; b++)
            w |= (uint64_t)in[j * wb + b] << (8 * b);
        v[j] = w << sh;
    }
}
