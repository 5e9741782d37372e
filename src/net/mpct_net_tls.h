/*
 * mpct_net_tls.h — the TCP transport between parties launched separately:
 * mutual TLS 1.3 on every link (or, for tests and measurements only, plain
 * TCP), the same round API and counters as the MPI backend (mpct_net.h).
 *
 * Links: party i and party j > i share one TCP connection; j connects to i's
 * listening address, i accepts. Every party first listens, then dials the
 * lower parties in order (retrying until connect_timeout_s while they
 * start), then accepts the higher ones, so no two parties wait on each
 * other. After the TLS handshake the dialling party sends a hello (magic,
 * its party index, the session tag) and the acceptor answers with its own.
 * A dialler that meets a wrong certificate, magic, party or tag fails with a
 * message naming the peer; an acceptor closes such a connection with a
 * warning and keeps waiting for the right peer until connect_timeout_s (one
 * connection gets at most 10 s), so a scanner or a stale party cannot stop
 * it.
 *
 * Trust: each party has a private key and a certificate (mpct_net_tls_keygen
 * makes an EC P-256 pair). Peers are trusted either
 *  - pinned: peer_cert[j] is party j's own certificate; the handshake
 *    verifies the presented certificate against it as the only trust anchor
 *    (validity dates included) and its SHA-256 fingerprint must equal the
 *    pinned one, or
 *  - by a CA: ca_file verifies the chain and the certificate must carry
 *    peer_name[j] exactly (subjectAltName DNS name, else common name; no
 *    wildcard certificate stands for a party).
 * Either way the peer must present a certificate; TLS 1.3 only, so every
 * link's keys come from an ephemeral (EC)DHE exchange authenticated by the
 * certificates, and every record is AEAD-encrypted.
 *
 * Wire: per round and direction, a 16-byte header (round number, payload
 * bytes) and the payload; nothing when the payload is empty. The receiver
 * checks both against what it expects (MPCT_ERR_PROTOCOL on a mismatch).
 * Sockets are non-blocking; a round moves both links at once with poll(),
 * so large messages in both directions cannot deadlock, and a peer that
 * stops answering yields MPCT_ERR_TIMEOUT after timeout_s, one that closes
 * its link MPCT_ERR_NET, each naming the peer.
 */
#ifndef MPCT_NET_TLS_H
#define MPCT_NET_TLS_H

#include "mpct_net.h"

typedef struct mpct_net_tcp_config {
    int party;                /* this party: 0, 1 or 2 */
    const char *host[3];      /* each party's address (this party's: where it listens; "" or "*": any) */
    int port[3];              /* each party's listening port */
    uint64_t session;         /* must be equal on all three (e.g. a job tag): connections of another are refused */
    int plain;                /* 1: plain TCP, no TLS (INSECURE: tests and measurements only) */
    const char *key_file;     /* this party's private key (PEM) */
    const char *cert_file;    /* this party's certificate (PEM) */
    const char *peer_cert[3]; /* pinned mode: each peer's certificate (PEM); this party's entry unused */
    const char *ca_file;      /* CA mode (when set): trusted CA certificates (PEM) */
    const char *peer_name[3]; /* CA mode: each peer's expected name */
    double connect_timeout_s; /* how long to keep dialling and accepting while the others start */
    double timeout_s;         /* a round's deadline */
} mpct_net_tcp_config;

/* Connects this party to the other two (see above); *out is a transport with
 * mpct_net_backend() "tls" or "tcp". */
mpct_status mpct_net_init_tcp(mpct_net_t **out, const mpct_net_tcp_config *cfg) MPCT_WUR;

/* Writes a new EC P-256 private key (mode 0600) and a self-signed
 * certificate for `name` (common name and subjectAltName DNS), valid from
 * now + from_s for valid_s seconds; fingerprint (may be NULL) receives the
 * certificate's SHA-256 fingerprint as 64 hex digits. Refuses to overwrite an
 * existing file (either one), and one path for both. */
mpct_status mpct_net_tls_keygen(const char *key_file, const char *cert_file, const char *name, long from_s,
                                long valid_s, char fingerprint[65]) MPCT_WUR;

/* The SHA-256 fingerprint of the certificate in a PEM file, 64 hex digits. */
mpct_status mpct_net_tls_fingerprint(const char *cert_file, char fingerprint[65]) MPCT_WUR;

#endif
