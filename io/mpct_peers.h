/*
 * mpct_peers.h — the peers file: where the three parties of a separately
 * launched job listen and how each is recognised. Every party uses the
 * same file (its own private key is named in its own job, never here).
 *
 *   [session]
 *   id   = any text the three operators agree on (required)
 *   tls  = on | off   [on]   off: plain TCP, INSECURE, for tests only
 *   ca   = PATH              CA mode: certificates issued by this CA, each
 *                            party recognised by its `name`
 *   [party0] [party1] [party2]
 *   host = address           where the party listens (name or IP)
 *   port = 1..65535          replica r of the party listens on port + r
 *   cert = PATH              pinned mode: the party's own certificate
 *   name = NAME              CA mode: the name its certificate carries
 *
 * Relative paths are resolved against the peers file's directory. Unknown
 * sections or keys, a missing party, a party without a certificate (pinned
 * mode) or without a name (CA mode), and a key the mode does not use (cert
 * in CA mode, name in pinned mode, any of them with tls = off) are refused
 * with the file, line and key.
 *
 * Prefix: mpct_peers_.
 */
#ifndef MPCT_PEERS_H
#define MPCT_PEERS_H

#include "mpct_core.h"

#define MPCT_PEERS_PATH_MAX 4096

typedef struct mpct_peers {
    char id[256];
    int tls; /* 1 (default) or 0 */
    char ca[MPCT_PEERS_PATH_MAX];
    struct {
        char host[256];
        int port;
        char cert[MPCT_PEERS_PATH_MAX];
        char name[256];
    } party[3];
    char source[MPCT_PEERS_PATH_MAX];
} mpct_peers;

mpct_status mpct_peers_load(const char *path, mpct_peers *out) MPCT_WUR;

#endif
