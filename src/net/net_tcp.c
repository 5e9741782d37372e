/*
 * net_tcp.c — the TCP transport's links and rounds (mpct_net_tls.h): listen,
 * dial the lower parties, accept the higher ones, the hello exchange, and a
 * round that moves both links at once over non-blocking sockets with poll().
 *
 * Invariants: link[0] goes to the next party, link[1] to the previous one;
 * every payload is preceded by a 16-byte header (round number, bytes) that
 * the receiver checks; a round either completes on both links or fails with
 * the peer named; SIGPIPE is ignored once a link exists (a closed peer shows
 * as an error, not a signal).
 */
#define _GNU_SOURCE
#include "net-impl.h"
#include "net-tls-impl.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define HELLO_MAGIC 0x314c4c4548544350ull /* "PCTHELL1" */
#define STAGE 16384                      /* header + payload up to this size go as one write */
#define YIELDS 64                        /* passes without progress that yield before poll() sleeps */
#define ACCEPT_S 10.0                    /* at most this long for one accepted connection's handshake and hello */
#define SOCKBUF (4 << 20)                /* socket buffers: a large message needs fewer wake-ups */

typedef struct tcp_link {
    int fd, peer;
    SSL *ssl;        /* NULL: plain TCP */
    int want_out;    /* the last TLS call asked to wait for writability */
    unsigned char stage[STAGE];
} tcp_link;

typedef struct tcp_impl {
    mpct_net_tcp_config cfg; /* pointers borrowed only during init; host/port kept for messages */
    char host[3][256];
    SSL_CTX *ctx;
    tcp_link link[2]; /* [0] next, [1] prev */
    uint64_t round_no;
} tcp_impl;

/* One direction of one round on a link. */
typedef struct xfer {
    unsigned char hdr[16];
    unsigned char *buf; /* payload (send: const in fact) */
    size_t len, done;   /* done counts header + payload */
} xfer;

static void put64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}
static uint64_t get64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

/* Moves up to n bytes; returns bytes moved (> 0), 0 when it would block, -1
 * when the peer closed the link, -2 on another error (errno or the TLS
 * error queue says which). */
static long link_io(tcp_link *L, int out, void *p, size_t n)
{
    if (!L->ssl) {
        ssize_t r = out ? send(L->fd, p, n, MSG_NOSIGNAL) : recv(L->fd, p, n, 0);
        if (r > 0)
            return (long)r;
        if (r == 0 && !out)
            return -1;
        return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : errno == EPIPE || errno == ECONNRESET ? -1 : -2;
    }
    size_t moved = 0;
    ERR_clear_error();
    int ok = out ? SSL_write_ex(L->ssl, p, n, &moved) : SSL_read_ex(L->ssl, p, n, &moved);
    if (ok)
        return (long)moved;
    int e = SSL_get_error(L->ssl, 0);
    L->want_out = e == SSL_ERROR_WANT_WRITE;
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
        return 0;
    if (e == SSL_ERROR_ZERO_RETURN || (e == SSL_ERROR_SYSCALL && (errno == 0 || errno == EPIPE || errno == ECONNRESET)))
        return -1;
    return -2;
}

static mpct_status link_error(const mpct_net_t *net, const tcp_impl *im, const tcp_link *L, long r)
{
    char a[300], why[256] = "";
    unsigned long e = ERR_get_error();
    if (e)
        ERR_error_string_n(e, why, sizeof why);
    ERR_clear_error();
    mpct_tcp_addr(&im->cfg, L->peer, a, sizeof a);
    if (r == -1)
        return mpct_error_set(MPCT_ERR_NET, "party %d: party %d (%s) closed the link in round %llu; it has probably "
                              "stopped", net->party, L->peer, a, (unsigned long long)(im->round_no - 1));
    return mpct_error_set(MPCT_ERR_NET, "party %d: the link to party %d (%s) failed in round %llu: %s", net->party,
                          L->peer, a, (unsigned long long)(im->round_no - 1), *why ? why : strerror(errno));
}

static mpct_status tcp_round(mpct_net_t *net, const mpct_net_msg *m)
{
    tcp_impl *im = net->impl;
    uint64_t rn = im->round_no++;
    xfer sx[2] = {{.buf = (unsigned char *)m->to_next, .len = m->to_next_bytes},
                  {.buf = (unsigned char *)m->to_prev, .len = m->to_prev_bytes}};
    xfer rx[2] = {{.buf = m->from_next, .len = m->from_next_bytes}, {.buf = m->from_prev, .len = m->from_prev_bytes}};
    for (int d = 0; d < 2; d++) {
        put64(sx[d].hdr, rn);
        put64(sx[d].hdr + 8, sx[d].len);
        if (sx[d].len && sx[d].len <= STAGE - 16) { /* one TLS record for a small message */
            memcpy(im->link[d].stage, sx[d].hdr, 16);
            memcpy(im->link[d].stage + 16, sx[d].buf, sx[d].len);
        }
    }
    double deadline = mpct_time_now() + net->timeout_s;
    unsigned idle = 0; /* passes without progress: yield the core a few times before sleeping in poll() */
    for (;;) {
        int progress = 0, pending = 0;
        struct pollfd pf[2];
        for (int d = 0; d < 2; d++) {
            tcp_link *L = &im->link[d];
            xfer *s = &sx[d], *r = &rx[d];
            short ev = 0;
            if (s->len && s->done < 16 + s->len) { /* send: staged, else header then payload */
                const int staged = s->len <= STAGE - 16;
                unsigned char *p = staged ? L->stage + s->done : s->done < 16 ? s->hdr + s->done : s->buf + (s->done - 16);
                size_t n = staged ? 16 + s->len - s->done : s->done < 16 ? 16 - s->done : s->len - (s->done - 16);
                long k = link_io(L, 1, p, n);
                if (k < 0)
                    return link_error(net, im, L, k);
                s->done += (size_t)k;
                progress |= k > 0;
                if (s->done < 16 + s->len)
                    ev |= (short)(POLLOUT | (L->ssl && !L->want_out ? POLLIN : 0)), pending = 1;
            }
            if (r->len && r->done < 16 + r->len) {
                unsigned char *p = r->done < 16 ? r->hdr + r->done : r->buf + (r->done - 16);
                size_t n = r->done < 16 ? 16 - r->done : r->len - (r->done - 16);
                long k = link_io(L, 0, p, n);
                if (k < 0)
                    return link_error(net, im, L, k);
                r->done += (size_t)k;
                progress |= k > 0;
                if (r->done == 16 && k > 0 && (get64(r->hdr) != rn || get64(r->hdr + 8) != r->len)) {
                    char a[300];
                    return mpct_error_set(MPCT_ERR_PROTOCOL,
                                          "party %d: party %d (%s) sent %llu bytes for round %llu, expected %zu "
                                          "bytes for round %llu: the parties disagree",
                                          net->party, L->peer, mpct_tcp_addr(&im->cfg, L->peer, a, sizeof a),
                                          (unsigned long long)get64(r->hdr + 8), (unsigned long long)get64(r->hdr),
                                          r->len, (unsigned long long)rn);
                }
                if (r->done < 16 + r->len)
                    ev |= (short)(L->ssl && L->want_out ? POLLOUT : POLLIN), pending = 1;
            }
            pf[d] = (struct pollfd){ev ? L->fd : -1, ev, 0}; /* a link with nothing pending is not polled */
        }
        if (!pending)
            return MPCT_OK;
        if (progress) {
            idle = 0;
            continue;
        }
        if (++idle < YIELDS) { /* a peer that answers within microseconds costs no sleep and wake-up */
            sched_yield();
            continue;
        }
        double left = deadline - mpct_time_now();
        if (left <= 0) {
            int d = (rx[0].len && rx[0].done < 16 + rx[0].len) || (sx[0].len && sx[0].done < 16 + sx[0].len) ? 0 : 1;
            char a[300];
            return mpct_error_set(MPCT_ERR_TIMEOUT,
                                  "party %d: party %d (%s) did not answer within %.0f s (round %llu); it has "
                                  "probably died or its link is down",
                                  net->party, im->link[d].peer, mpct_tcp_addr(&im->cfg, im->link[d].peer, a, sizeof a),
                                  net->timeout_s, (unsigned long long)rn);
        }
        if (poll(pf, 2, left > 1 ? 1000 : (int)(left * 1000) + 1) < 0 && errno != EINTR)
            return mpct_error_set(MPCT_ERR_NET, "party %d: poll failed: %s", net->party, strerror(errno));
    }
}

static void tcp_free(mpct_net_t *net)
{
    tcp_impl *im = net->impl;
    if (!im)
        return;
    for (int d = 0; d < 2; d++) {
        if (im->link[d].ssl) {
            SSL_shutdown(im->link[d].ssl); /* best effort, non-blocking */
            SSL_free(im->link[d].ssl);
        }
        if (im->link[d].fd >= 0)
            close(im->link[d].fd);
    }
    SSL_CTX_free(im->ctx);
    mpct_wipe(im, sizeof *im); /* the staging buffers held plaintext messages (the PRF key exchange among them) */
    mpct_free(im);
}

static const mpct_net_ops tls_ops = {tcp_round, tcp_free, "tls"};
static const mpct_net_ops plain_ops = {tcp_round, tcp_free, "tcp"};

/* ---- set-up ---- */

static void set_timeouts(int fd, double s)
{
    if (s < 0.001)
        s = 0.001;
    struct timeval tv = {(time_t)s, (suseconds_t)((s - (double)(time_t)s) * 1e6)};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

static mpct_status resolve(const mpct_net_tcp_config *cfg, int p, int passive, struct addrinfo **out)
{
    char port[16], a[300];
    snprintf(port, sizeof port, "%d", cfg->port[p]);
    const char *h = cfg->host[p] && *cfg->host[p] && strcmp(cfg->host[p], "*") ? cfg->host[p] : NULL;
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = passive ? AI_PASSIVE : 0};
    int e = getaddrinfo(passive ? h : h ? h : "localhost", port, &hints, out);
    if (e)
        return mpct_error_set(MPCT_ERR_ARG, "party %d: cannot resolve party %d's address %s: %s", cfg->party, p,
                              mpct_tcp_addr(cfg, p, a, sizeof a), gai_strerror(e));
    return MPCT_OK;
}

static mpct_status listen_on(const mpct_net_tcp_config *cfg, int *fd)
{
    struct addrinfo *ai = NULL;
    char a[300];
    MPCT_CALL(resolve(cfg, cfg->party, 1, &ai));
    int e = 0;
    *fd = -1;
    for (struct addrinfo *p = ai; p && *fd < 0; p = p->ai_next) {
        int s = socket(p->ai_family, p->ai_socktype | SOCK_CLOEXEC, p->ai_protocol), one = 1;
        if (s < 0)
            continue;
        setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(s, p->ai_addr, p->ai_addrlen) == 0 && listen(s, 8) == 0)
            *fd = s;
        else
            e = errno, close(s);
    }
    freeaddrinfo(ai);
    if (*fd < 0)
        return mpct_error_set(MPCT_ERR_NET, "party %d: cannot listen on %s: %s", cfg->party,
                              mpct_tcp_addr(cfg, cfg->party, a, sizeof a), strerror(e ? e : EADDRNOTAVAIL));
    return MPCT_OK;
}

/* Dials party p until it answers or the deadline passes. */
static mpct_status dial(const mpct_net_tcp_config *cfg, int p, double deadline, int *fd)
{
    char a[300];
    int e = 0;
    long nap_ms = 5; /* back off from 5 ms to 500 ms between tries while the peer starts */
    *fd = -1;
    while (*fd < 0) {
        struct addrinfo *ai = NULL;
        MPCT_CALL(resolve(cfg, p, 0, &ai));
        for (struct addrinfo *q = ai; q && *fd < 0; q = q->ai_next) {
            int s = socket(q->ai_family, q->ai_socktype | SOCK_CLOEXEC, q->ai_protocol);
            if (s < 0)
                continue;
            set_timeouts(s, deadline - mpct_time_now());
            if (connect(s, q->ai_addr, q->ai_addrlen) == 0)
                *fd = s;
            else
                e = errno, close(s);
        }
        freeaddrinfo(ai);
        if (*fd >= 0)
            break;
        if (mpct_time_now() > deadline)
            return mpct_error_set(MPCT_ERR_TIMEOUT, "party %d: party %d (%s) did not accept a connection within "
                                  "%.0f s: %s (is it started, with this address and port?)", cfg->party, p,
                                  mpct_tcp_addr(cfg, p, a, sizeof a), cfg->connect_timeout_s, strerror(e));
        nanosleep(&(struct timespec){0, nap_ms * 1000 * 1000}, NULL);
        nap_ms = nap_ms < 250 ? 2 * nap_ms : 500;
    }
    return MPCT_OK;
}

/* Blocking exact transfer of a hello on a fresh link (the socket timeouts bound it). */
static int hello_io(tcp_link *L, int out, unsigned char *p, size_t n)
{
    size_t done = 0;
    while (done < n) {
        long k = link_io(L, out, p + done, n - done);
        if (k <= 0)
            return 0;
        done += (size_t)k;
    }
    return 1;
}

/* The hello exchange on a fresh link. The dialler checks the acceptor's
 * certificate, then sends; the acceptor reads the claimed party, checks that
 * party's certificate, then answers: a refused peer never gets a hello, so
 * neither side goes on with a link the other refused. */
static mpct_status link_open(tcp_impl *im, tcp_link *L, int fd, int accept, double deadline)
{
    const mpct_net_tcp_config *cfg = &im->cfg;
    unsigned char mine[24], theirs[24];
    char a[300];
    L->fd = fd;
    set_timeouts(fd, deadline - mpct_time_now());
    if (!cfg->plain)
        MPCT_CALL(mpct_tls_handshake(im->ctx, fd, accept, cfg, L->peer, &L->ssl));
    put64(mine, HELLO_MAGIC);
    put64(mine + 8, (uint64_t)cfg->party);
    put64(mine + 16, cfg->session);
    if (!accept) {
        if (L->ssl)
            MPCT_CALL(mpct_tls_check_peer(cfg, L->ssl, L->peer));
        if (!hello_io(L, 1, mine, 24) || !hello_io(L, 0, theirs, 24))
            return mpct_error_set(MPCT_ERR_CRYPTO, "party %d: party %d (%s) closed the link instead of answering "
                                  "the hello: it refused this party (its log says why) or stopped", cfg->party,
                                  L->peer, mpct_tcp_addr(cfg, L->peer, a, sizeof a));
    } else if (!hello_io(L, 0, theirs, 24))
        return mpct_error_set(MPCT_ERR_NET, "party %d: a connecting peer sent no hello (it closed the link or timed "
                              "out)", cfg->party);
    const char *who = L->peer >= 0 ? mpct_tcp_addr(cfg, L->peer, a, sizeof a) : "a connecting peer";
    int claimed = (int)get64(theirs + 8);
    if (get64(theirs) != HELLO_MAGIC)
        return mpct_error_set(MPCT_ERR_PROTOCOL, "party %d: %s is not an mpct party (wrong hello)", cfg->party, who);
    if (get64(theirs + 16) != cfg->session)
        return mpct_error_set(MPCT_ERR_PROTOCOL, "party %d: %s belongs to another session (%016llx, this one "
                              "%016llx)", cfg->party, who, (unsigned long long)get64(theirs + 16),
                              (unsigned long long)cfg->session);
    if (accept) {
        if (claimed <= cfg->party || claimed > 2 || im->link[0].peer == claimed || im->link[1].peer == claimed)
            return mpct_error_set(MPCT_ERR_PROTOCOL, "party %d: a peer claims to be party %d, which should not "
                                  "connect here", cfg->party, claimed);
        L->peer = claimed;
        if (L->ssl)
            MPCT_CALL(mpct_tls_check_peer(cfg, L->ssl, L->peer));
        if (!hello_io(L, 1, mine, 24))
            return mpct_error_set(MPCT_ERR_NET, "party %d: party %d closed the link during the hello", cfg->party,
                                  claimed);
    } else if (claimed != L->peer)
        return mpct_error_set(MPCT_ERR_PROTOCOL, "party %d: the peer at %s says it is party %d, not %d", cfg->party,
                              who, claimed, L->peer);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    const int buf = SOCKBUF; /* the kernel caps it at net.core.{w,r}mem_max */
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof buf);
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
    if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0)
        return mpct_error_set(MPCT_ERR_NET, "party %d: cannot make the link non-blocking: %s", cfg->party,
                              strerror(errno));
    return MPCT_OK;
}

static mpct_status accept_one(tcp_impl *im, int lfd, double deadline, const char *refused, int *fd)
{
    const mpct_net_tcp_config *cfg = &im->cfg;
    char a[300];
    for (;;) {
        double left = deadline - mpct_time_now();
        if (left <= 0 && refused[0])
            return mpct_error_set(MPCT_ERR_CRYPTO, "party %d: no acceptable connection from party %d within %.0f s "
                                  "on %s; the last one was refused: %s", cfg->party,
                                  im->link[0].peer < 0 ? (cfg->party + 1) % 3 : (cfg->party + 2) % 3,
                                  cfg->connect_timeout_s, mpct_tcp_addr(cfg, cfg->party, a, sizeof a), refused);
        if (left <= 0)
            return mpct_error_set(MPCT_ERR_TIMEOUT, "party %d: no connection from party %d within %.0f s on %s "
                                  "(is it started, with this party's address?)", cfg->party,
                                  im->link[0].peer < 0 ? (cfg->party + 1) % 3 : (cfg->party + 2) % 3,
                                  cfg->connect_timeout_s, mpct_tcp_addr(cfg, cfg->party, a, sizeof a));
        struct pollfd pf = {lfd, POLLIN, 0};
        if (poll(&pf, 1, left > 1 ? 1000 : (int)(left * 1000) + 1) > 0) {
            *fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
            if (*fd >= 0)
                return MPCT_OK;
        }
    }
}

mpct_status mpct_net_init_tcp(mpct_net_t **out, const mpct_net_tcp_config *cfg)
{
    *out = NULL;
    if (cfg->party < 0 || cfg->party > 2)
        return mpct_error_set(MPCT_ERR_ARG, "party %d: a party index is 0, 1 or 2", cfg->party);
    for (int p = 0; p < 3; p++)
        if (cfg->port[p] <= 0 || cfg->port[p] > 65535 || (cfg->host[p] && strlen(cfg->host[p]) >= 256))
            return mpct_error_set(MPCT_ERR_ARG, "party %d's address: port %d (1..65535) or host name too long", p,
                                  cfg->port[p]);
    tcp_impl *im = mpct_calloc(sizeof *im);
    if (!im)
        return mpct_error_set(MPCT_ERR_NOMEM, "cannot allocate the TCP transport");
    im->cfg = *cfg;
    for (int p = 0; p < 3; p++) {
        snprintf(im->host[p], sizeof im->host[p], "%s", cfg->host[p] ? cfg->host[p] : "");
        im->cfg.host[p] = im->host[p];
    }
    im->link[0] = (tcp_link){.fd = -1, .peer = -1};
    im->link[1] = (tcp_link){.fd = -1, .peer = -1};
    struct sigaction sa;
    if (sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL)
        signal(SIGPIPE, SIG_IGN);
    mpct_status st = cfg->plain ? MPCT_OK : mpct_tls_ctx_new(cfg, &im->ctx);
    int lfd = -1, me = cfg->party;
    double deadline = mpct_time_now() + cfg->connect_timeout_s;
    if (st == MPCT_OK && me < 2)
        st = listen_on(cfg, &lfd);
    /* dial the lower parties in order, then accept the higher ones. A dial that fails does not
     * stop the next: every lower party gets to judge this one (and say why it refuses it); the
     * first error is returned. */
    for (int p = 0; p < me && st == MPCT_OK; p++) {
        tcp_link *L = &im->link[p == (me + 1) % 3 ? 0 : 1];
        int fd = -1;
        L->peer = p;
        mpct_status ds = dial(cfg, p, deadline, &fd);
        if (ds == MPCT_OK)
            ds = link_open(im, L, fd, 0, deadline);
        else
            L->peer = -1;
        if (ds != MPCT_OK && p + 1 < me) {
            char first[512];
            snprintf(first, sizeof first, "%s", mpct_error_msg());
            for (int q = p + 1; q < me; q++) { /* let the others see this party too, then fail */
                tcp_link *Q = &im->link[q == (me + 1) % 3 ? 0 : 1];
                int qfd = -1;
                Q->peer = q;
                if (dial(cfg, q, deadline, &qfd) == MPCT_OK)
                    (void)link_open(im, Q, qfd, 0, deadline);
            }
            ds = mpct_error_set(ds, "%s", first);
        }
        st = ds;
    }
    /* accept the higher parties; a connection that fails (a scanner, a stale or foreign party, a
     * refused certificate) is closed with a warning and the party goes on waiting for the real one */
    char refused[400] = "", dial_err[512] = "";
    /* a failed dial still accepts the higher parties, then closes their links: they fail their ready
     * round at once, naming this party, instead of dialling a closed port until their deadline */
    const mpct_status dial_st = lfd >= 0 ? st : MPCT_OK;
    if (dial_st != MPCT_OK) {
        snprintf(dial_err, sizeof dial_err, "%s", mpct_error_msg());
        st = MPCT_OK;
    }
    for (int k = me + 1; k < 3 && st == MPCT_OK;) {
        int fd = -1;
        tcp_link tmp = {.fd = -1, .peer = -1};
        st = accept_one(im, lfd, deadline, refused, &fd);
        if (st != MPCT_OK)
            break;
        /* one connection may take at most ACCEPT_S of the set-up time: a slow one cannot hold the real peer off */
        const double until = fmin(deadline, mpct_time_now() + ACCEPT_S);
        mpct_status ls = link_open(im, &tmp, fd, 1, until);
        if (ls == MPCT_OK) {
            tcp_link *L = &im->link[tmp.peer == (me + 1) % 3 ? 0 : 1];
            L->fd = tmp.fd, L->ssl = tmp.ssl, L->peer = tmp.peer;
            k++;
            continue;
        }
        snprintf(refused, sizeof refused, "%s", mpct_error_msg());
        mpct_warnf("mpct: warning: %s; closed that connection, waiting for the right peer\n", refused);
        if (tmp.ssl)
            SSL_free(tmp.ssl);
        close(fd);
    }
    if (lfd >= 0)
        close(lfd);
    if (dial_st != MPCT_OK)
        st = mpct_error_set(dial_st, "%s", dial_err);
    if (st == MPCT_OK && !(*out = mpct_net_alloc(cfg->plain ? &plain_ops : &tls_ops, im, me, cfg->timeout_s)))
        st = mpct_error_set(MPCT_ERR_NOMEM, "cannot allocate the TCP transport");
    if (st == MPCT_OK) {
        /* ready: one uncounted byte each way on both links, so that set-up succeeds on all three parties or
         * on none (a party refused by one peer closes its link to the other, which sees it here) */
        unsigned char r = 1, rn = 0, rp = 0;
        mpct_net_msg m = {&r, 1, &r, 1, &rn, 1, &rp, 1};
        st = (*out)->ops->round(*out, &m);
        im->round_no = 0; /* the protocol's rounds count from 0 in messages */
        if (st != MPCT_OK) {
            mpct_net_free(*out);
            *out = NULL;
        }
        return st;
    }
    mpct_net_t tmp = {.impl = im};
    tcp_free(&tmp);
    return st;
}
