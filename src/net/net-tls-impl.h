/* net-tls-impl.h — private to the TCP transport: TLS contexts, the peer
 * check after a handshake (net_tls.c) and the link type the round engine
 * (net_tcp.c) moves bytes over. */
#ifndef MPCT_NET_TLS_IMPL_H
#define MPCT_NET_TLS_IMPL_H

#include "mpct_net_tls.h"

#include <openssl/ssl.h>

/* A TLS context for this party: TLS 1.3 only, its key and certificate, the
 * trust anchors (pinned peer certificates or the CA) and mandatory peer
 * certificates. */
mpct_status mpct_tls_ctx_new(const mpct_net_tcp_config *cfg, SSL_CTX **out);

/* After a completed handshake: the peer's certificate is the one pinned for
 * party `peer` (pinned mode) or carries its expected name (CA mode). */
mpct_status mpct_tls_check_peer(const mpct_net_tcp_config *cfg, SSL *ssl, int peer);

/* Runs the handshake on a connected blocking socket (fd's send/receive
 * timeouts bound it); on failure names the peer and the reason, with the
 * certificate verification result where there is one. */
mpct_status mpct_tls_handshake(SSL_CTX *ctx, int fd, int accept, const mpct_net_tcp_config *cfg, int peer,
                               SSL **out);

/* "host:port" of party p, for messages. */
const char *mpct_tcp_addr(const mpct_net_tcp_config *cfg, int p, char *buf, size_t n);

#endif
