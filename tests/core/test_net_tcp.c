/*
 * test_net_tcp.c — the TCP transport (mpct_net_tls.h), three parties as
 * three threads over loopback:
 *  - keys and certificates made by mpct_net_tls_keygen, their fingerprints;
 *    an existing key is never overwritten;
 *  - TLS 1.3 with pinned certificates and plain TCP: rounds of sizes that
 *    cross the one-record staging limit and reach several MiB in both
 *    directions at once arrive intact, empty directions move nothing, and
 *    the counters count payload bytes and rounds;
 *  - CA mode: the right names connect, a wrong expected name is refused;
 *  - refusals before any round: a party with a certificate nobody pinned,
 *    an expired certificate (refused by both other parties, each naming
 *    the expiry), another session tag; a stray connection (no
 *    TLS, garbage) is closed and the real peers still connect; keygen
 *    overwrites neither file;
 *  - failures mid-job: a party that closes its links, and one that stops
 *    answering, make the others fail with the peer named, within the
 *    deadline, instead of hanging.
 */
#include "../mpct_check.h"
#include "mpct_net_tls.h"

#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static char dir[256];
static char key[4][300], crt[4][300]; /* parties 0..2 and an outsider (3) */

static int free_port(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t n = sizeof a;
    if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) || getsockname(s, (struct sockaddr *)&a, &n))
        return 0;
    close(s);
    return ntohs(a.sin_port);
}

typedef enum { RUN_ROUNDS, QUIT_EARLY, STALL } behaviour;

typedef struct party {
    mpct_net_tcp_config cfg;
    behaviour what;
    mpct_status init_st, round_st;
    char err[512];
    double fail_after_s, init_s;
    uint64_t sent, rounds;
} party;

static const size_t sizes[] = {0, 1, 15, 16352, 16353, 100000, 3u << 20, 7};
#define NSIZE (sizeof sizes / sizeof sizes[0])

static unsigned char pattern(int from, int to, size_t round, size_t i)
{
    return (unsigned char)(from * 131 + to * 31 + round * 7 + i * 2654435761u % 251);
}

static void *run_party(void *arg)
{
    party *P = arg;
    mpct_net_t *net = NULL;
    const int me = P->cfg.party, next = (me + 1) % 3, prev = (me + 2) % 3;
    double ti = mpct_time_now();
    P->init_st = mpct_net_init_tcp(&net, &P->cfg);
    P->init_s = mpct_time_now() - ti;
    if (P->init_st != MPCT_OK) {
        snprintf(P->err, sizeof P->err, "%s", mpct_error_msg());
        return NULL;
    }
    unsigned char *buf[4];
    for (int k = 0; k < 4; k++)
        buf[k] = malloc(3u << 20);
    double t0 = mpct_time_now();
    for (size_t r = 0; r < 2 * NSIZE && P->round_st == MPCT_OK; r++) {
        if (P->what == QUIT_EARLY && r == 3)
            break;
        if (P->what == STALL && r == 3) {
            sleep(3); /* keeps its links open but answers nothing */
            break;
        }
        /* size of the message from a to b in round r: every party computes the same */
        size_t to_next = sizes[(r + (size_t)me) % NSIZE], to_prev = sizes[(r + 3 * (size_t)me + 1) % NSIZE];
        size_t from_next = sizes[(r + 3 * (size_t)next + 1) % NSIZE], from_prev = sizes[(r + (size_t)prev) % NSIZE];
        for (size_t i = 0; i < to_next; i++)
            buf[0][i] = pattern(me, next, r, i);
        for (size_t i = 0; i < to_prev; i++)
            buf[1][i] = pattern(me, prev, r, i);
        mpct_net_msg m = {buf[0], to_next, buf[1], to_prev, buf[2], from_next, buf[3], from_prev};
        P->round_st = mpct_net_round(net, &m);
        if (P->round_st != MPCT_OK) {
            snprintf(P->err, sizeof P->err, "%s", mpct_error_msg());
            P->fail_after_s = mpct_time_now() - t0;
            break;
        }
        for (size_t i = 0; i < from_next; i++)
            if (buf[2][i] != pattern(next, me, r, i)) {
                P->round_st = MPCT_ERR_PROTOCOL;
                snprintf(P->err, sizeof P->err, "round %zu: byte %zu from next differs", r, i);
                break;
            }
        for (size_t i = 0; i < from_prev && P->round_st == MPCT_OK; i++)
            if (buf[3][i] != pattern(prev, me, r, i)) {
                P->round_st = MPCT_ERR_PROTOCOL;
                snprintf(P->err, sizeof P->err, "round %zu: byte %zu from prev differs", r, i);
                break;
            }
        P->sent += to_next + to_prev;
    }
    mpct_net_counters c = mpct_net_total(net);
    if (P->round_st == MPCT_OK && c.bytes_sent != P->sent) {
        P->round_st = MPCT_ERR_PROTOCOL;
        snprintf(P->err, sizeof P->err, "counters: %llu bytes sent, the rounds sent %llu",
                 (unsigned long long)c.bytes_sent, (unsigned long long)P->sent);
    }
    P->rounds = c.rounds;
    for (int k = 0; k < 4; k++)
        free(buf[k]);
    mpct_net_free(net);
    return NULL;
}

/* Three parties with pinned certificates cert_of[p] (indices into key/crt). */
static void setup(party P[3], const int cert_of[3], int plain)
{
    int port[3] = {free_port(), free_port(), free_port()};
    for (int p = 0; p < 3; p++) {
        memset(&P[p], 0, sizeof P[p]);
        mpct_net_tcp_config *c = &P[p].cfg;
        c->party = p;
        c->plain = plain;
        c->session = 0x5eed;
        c->key_file = key[cert_of[p]];
        c->cert_file = crt[cert_of[p]];
        for (int q = 0; q < 3; q++) {
            c->host[q] = "127.0.0.1";
            c->port[q] = port[q];
            c->peer_cert[q] = crt[q]; /* everyone pins the real parties' certificates */
        }
        c->connect_timeout_s = 3;
        c->timeout_s = 2;
    }
}

static void run3(party P[3])
{
    pthread_t t[3];
    for (int p = 0; p < 3; p++)
        pthread_create(&t[p], NULL, run_party, &P[p]);
    for (int p = 0; p < 3; p++)
        pthread_join(t[p], NULL);
}

static void ok_run(party P[3], const char *what)
{
    for (int p = 0; p < 3; p++) {
        if (P[p].init_st != MPCT_OK || P[p].round_st != MPCT_OK)
            fprintf(stderr, "%s: party %d: %s\n", what, p, P[p].err);
        CHECK(P[p].init_st == MPCT_OK && P[p].round_st == MPCT_OK);
        CHECK(P[p].rounds == 2 * NSIZE);
    }
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/mpct_net_tcp_XXXXXX");
    CHECK(mkdtemp(dir) != NULL);
    const char *names[4] = {"party0.example", "party1.example", "party2.example", "mallory.example"};
    char fp[65], fp2[65];
    for (int p = 0; p < 4; p++) {
        snprintf(key[p], sizeof key[p], "%s/p%d.key", dir, p);
        snprintf(crt[p], sizeof crt[p], "%s/p%d.crt", dir, p);
        CHECK(mpct_net_tls_keygen(key[p], crt[p], names[p], 0, 86400, fp) == MPCT_OK);
        CHECK(mpct_net_tls_fingerprint(crt[p], fp2) == MPCT_OK && !strcmp(fp, fp2) && strlen(fp) == 64);
    }
    /* an existing key is never overwritten */
    CHECK(mpct_net_tls_keygen(key[0], crt[3], "x", 0, 86400, NULL) == MPCT_ERR_IO);
    CHECK(strstr(mpct_error_msg(), "never overwritten") != NULL);
    CHECK(mpct_net_tls_keygen("/nonexistent/dir/k", crt[3], "bad name", 0, 86400, NULL) == MPCT_ERR_ARG);
    /* nor is an existing certificate file (it might be another key), nor one path for both */
    char nk[300], same[300];
    snprintf(nk, sizeof nk, "%s/new.key", dir);
    snprintf(same, sizeof same, "%s/same.pem", dir);
    CHECK(mpct_net_tls_keygen(nk, key[1], "x", 0, 86400, NULL) == MPCT_ERR_IO);
    CHECK(strstr(mpct_error_msg(), "never overwritten") != NULL && access(nk, F_OK) != 0,
          "a refused certificate path left the new key behind");
    CHECK(mpct_net_tls_keygen(same, same, "x", 0, 86400, NULL) == MPCT_ERR_ARG && access(same, F_OK) != 0);

    party P[3];
    const int real[3] = {0, 1, 2};
    /* TLS with pinned certificates, then plain TCP */
    setup(P, real, 0);
    run3(P);
    ok_run(P, "tls");
    /* connection set-up (listen, dial, TLS 1.3 handshakes, hellos), three parties on loopback */
    fprintf(stderr, "tls set-up: party 0 %.1f ms, 1 %.1f ms, 2 %.1f ms\n", 1e3 * P[0].init_s, 1e3 * P[1].init_s,
            1e3 * P[2].init_s);
    for (int p = 0; p < 3; p++)
        CHECK(P[p].init_s < 1.0, "party %d: set-up took %.3f s", p, P[p].init_s);
    setup(P, real, 1);
    run3(P);
    ok_run(P, "tcp");

    /* CA mode: a bundle of the three certificates as trust anchors, names checked */
    char ca[300];
    snprintf(ca, sizeof ca, "%s/ca.pem", dir);
    FILE *o = fopen(ca, "w");
    for (int p = 0; p < 3 && o; p++) {
        FILE *i = fopen(crt[p], "r");
        int ch;
        while (i && (ch = fgetc(i)) != EOF)
            fputc(ch, o);
        if (i)
            fclose(i);
    }
    if (o)
        fclose(o);
    setup(P, real, 0);
    for (int p = 0; p < 3; p++) {
        P[p].cfg.ca_file = ca;
        for (int q = 0; q < 3; q++)
            P[p].cfg.peer_name[q] = names[q];
    }
    run3(P);
    ok_run(P, "ca");
    setup(P, real, 0);
    for (int p = 0; p < 3; p++) {
        P[p].cfg.ca_file = ca;
        for (int q = 0; q < 3; q++)
            P[p].cfg.peer_name[q] = names[q];
    }
    P[0].cfg.peer_name[2] = "someone-else.example";
    run3(P);
    CHECK(P[0].init_st == MPCT_ERR_CRYPTO && strstr(P[0].err, "not issued to 'someone-else.example'"));
    CHECK(P[1].init_st != MPCT_OK && P[2].init_st != MPCT_OK);

    /* party 2 presents the outsider's certificate: refused, nothing computed */
    const int mallory[3] = {0, 1, 3};
    setup(P, mallory, 0);
    run3(P);
    for (int p = 0; p < 3; p++)
        CHECK(P[p].init_st != MPCT_OK);
    CHECK(strstr(P[0].err, "certificate") != NULL);
    fprintf(stderr, "unknown certificate: party 0: %s\n", P[0].err);

    /* an expired certificate for party 1 (pinned as it is) */
    char ek[300], ec[300];
    snprintf(ek, sizeof ek, "%s/exp.key", dir);
    snprintf(ec, sizeof ec, "%s/exp.crt", dir);
    CHECK(mpct_net_tls_keygen(ek, ec, "party1.example", -3 * 86400, 86400, NULL) == MPCT_OK);
    setup(P, real, 0);
    for (int p = 0; p < 3; p++)
        P[p].cfg.peer_cert[1] = ec;
    P[1].cfg.key_file = ek;
    P[1].cfg.cert_file = ec;
    run3(P);
    for (int p = 0; p < 3; p++)
        CHECK(P[p].init_st != MPCT_OK);
    /* both others check it (party 0 accepts party 1's connection, party 2 dials party 1) */
    CHECK(strstr(P[0].err, "expired") != NULL && strstr(P[2].err, "expired") != NULL);
    fprintf(stderr, "expired: party 0: %s | party 2: %s\n", P[0].err, P[2].err);

    /* a stray connection to party 0 (a port scanner: no TLS, garbage, then gone) before the real
     * parties: party 0 closes it with a warning and still connects to the right ones */
    setup(P, real, 0);
    {
        pthread_t t0, t12[2];
        pthread_create(&t0, NULL, run_party, &P[0]);
        int s = -1;
        for (int tries = 0; tries < 400 && s < 0; tries++) {
            s = socket(AF_INET, SOCK_STREAM, 0);
            struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)P[0].cfg.port[0]),
                                    .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
            if (connect(s, (struct sockaddr *)&a, sizeof a) != 0) {
                close(s);
                s = -1;
                nanosleep(&(struct timespec){0, 5000000}, NULL);
            }
        }
        CHECK(s >= 0, "the scanner could not connect to party 0");
        if (s >= 0) {
            CHECK(write(s, "GET / HTTP/1.0\r\n\r\n", 18) == 18);
            close(s);
        }
        nanosleep(&(struct timespec){0, 200000000}, NULL);
        for (int p = 1; p < 3; p++)
            pthread_create(&t12[p - 1], NULL, run_party, &P[p]);
        pthread_join(t0, NULL);
        for (int p = 1; p < 3; p++)
            pthread_join(t12[p - 1], NULL);
        ok_run(P, "after a stray connection");
    }

    /* another session's party */
    setup(P, real, 0);
    P[2].cfg.session = 0xbad;
    run3(P);
    CHECK(P[0].init_st != MPCT_OK && strstr(P[0].err, "another session"));

    /* party 2 leaves after 3 rounds: the others fail naming it, well within the deadline */
    setup(P, real, 0);
    P[2].what = QUIT_EARLY;
    run3(P);
    for (int p = 0; p < 2; p++) {
        /* party 1 may stop (having seen party 2 go) before party 0 sees party 2's end */
        CHECK(P[p].init_st == MPCT_OK && P[p].round_st == MPCT_ERR_NET &&
              (strstr(P[p].err, ": party 2 (") || (p == 0 && strstr(P[p].err, ": party 1 ("))));
        CHECK(strstr(P[p].err, "closed the link in round 3") != NULL);
        CHECK(P[p].fail_after_s < 1.5);
        fprintf(stderr, "peer quit: party %d: %s\n", p, P[p].err);
    }
    /* party 2 stalls: the others time out after timeout_s (2 s), naming it */
    setup(P, real, 0);
    P[2].what = STALL;
    run3(P);
    for (int p = 0; p < 2; p++) {
        CHECK(P[p].round_st == MPCT_ERR_TIMEOUT && strstr(P[p].err, "party 2"));
        CHECK(P[p].fail_after_s >= 1.9 && P[p].fail_after_s < 3);
        fprintf(stderr, "peer stalled: party %d after %.2f s: %s\n", p, P[p].fail_after_s, P[p].err);
    }
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
    return mpct_check_done("test_net_tcp");
}
