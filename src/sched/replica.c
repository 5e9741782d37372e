/*
 * replica.c — replicas: three world ranks of one mpirun each (world rank =
 * 3 * replica + party, MPI transport), or, for a party launched on its own,
 * one rank per replica connected to the other parties' ranks over TCP with
 * mutual TLS (the peers file, mpct_peers.h); encryption of a single
 * mpirun's links (job key encrypt); the emulated network; error
 * printing, a sleeping MPI wait, and the profiling report gathered from
 * every rank of this launch.
 */
#include "sched-impl.h"

#include "mpct_net_tls.h"
#include "mpct_peers.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void warn_test_keys(const mpct_sched_replica *r, const mpct_ctx_config *cfg)
{
    if (cfg->deterministic) /* every rank says it: each party's operator must see it */
        fprintf(stderr,
                "mpct: WARNING: rank %d (party %d of replica %d): deterministic test keys (--test-seed): INSECURE, "
                "for tests only; outputs and reports are marked insecure_test_keys = 1\n",
                r->world_rank, r->party, r->replica);
}

/* The three parties of one mpirun: replica r = world ranks 3r, 3r+1, 3r+2. */
static mpct_status replica_world(mpct_sched_replica *r, double timeout_s)
{
    if (r->world_size % 3 != 0)
        return mpct_error_set(MPCT_ERR_ARG,
                              "world size %d is not a multiple of 3: mpct needs three ranks (parties) per "
                              "replica; run with mpirun -np 3, 6, 9, ...",
                              r->world_size);
    r->replica = r->world_rank / 3;
    r->nreplicas = r->world_size / 3;
    r->party = r->world_rank % 3;
    MPI_Comm_split(MPI_COMM_WORLD, r->replica, r->party, &r->comm);
    return mpct_net_init_mpi(&r->net, &r->comm, timeout_s);
}

/* A 64-bit tag of what the three launches must share: the peers file's
 * session id, addresses and certificates or names, and the replica count. */
static uint64_t session_tag(const mpct_peers *p, int nreplicas)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    char buf[4096];
    size_t len = (size_t)snprintf(buf, sizeof buf, "mpct-session-1|%s|%d|%d|%s", p->id, nreplicas, p->tls,
                                  p->ca[0] ? "ca" : "pin");
    for (int i = 0; i < 3 && len < sizeof buf; i++) {
        char fp[65] = "";
        if (p->tls && !p->ca[0] && mpct_net_tls_fingerprint(p->party[i].cert, fp) != MPCT_OK)
            fp[0] = 0; /* an unreadable certificate fails later, with its own message */
        len += (size_t)snprintf(buf + len, sizeof buf - len, "|%s|%d|%s|%s", p->party[i].host, p->party[i].port, fp,
                                p->ca[0] ? p->party[i].name : "");
    }
    if (len > sizeof buf)
        len = sizeof buf;
    EVP_Digest(buf, len, md, NULL, EVP_sha256(), NULL);
    uint64_t t = 0;
    memcpy(&t, md, sizeof t);
    return t;
}

/* One party alone: rank r of this launch is replica r; it dials / accepts
 * rank r of the other parties (port + r). */
static mpct_status replica_separate(mpct_sched_replica *r, const mpct_job *job)
{
    mpct_peers *p = calloc(1, sizeof *p);
    if (!p)
        return mpct_error_set(MPCT_ERR_NOMEM, "out of memory");
    mpct_status st = mpct_peers_load(job->peers, p);
    r->replica = r->world_rank;
    r->nreplicas = r->world_size;
    r->party = job->party;
    r->separate = 1;
    mpct_net_tcp_config tc = {.party = job->party, .plain = st == MPCT_OK && !p->tls,
                              .connect_timeout_s = job->timeout_s, .timeout_s = job->timeout_s};
    for (int i = 0; st == MPCT_OK && i < 3; i++) {
        tc.host[i] = p->party[i].host;
        tc.port[i] = p->party[i].port + r->replica;
        if (tc.port[i] > 65535)
            st = mpct_error_set(MPCT_ERR_ARG, "%s: party %d's port %d + replica %d is above 65535", job->peers, i,
                                p->party[i].port, r->replica);
        tc.peer_cert[i] = p->party[i].cert[0] ? p->party[i].cert : NULL;
        tc.peer_name[i] = p->party[i].name[0] ? p->party[i].name : NULL;
    }
    if (st == MPCT_OK && p->tls) {
        tc.ca_file = p->ca[0] ? p->ca : NULL;
        tc.key_file = job->tls_key;
        tc.cert_file = job->tls_cert[0] ? job->tls_cert : p->party[job->party].cert;
        if (!job->tls_key[0])
            st = mpct_error_set(MPCT_ERR_ARG, "party %d: TLS needs this party's private key (key in [parties], or "
                                "--tls-key; make one with mpct keygen)", job->party);
        else if (!tc.cert_file[0])
            st = mpct_error_set(MPCT_ERR_ARG, "party %d: CA mode needs this party's certificate (cert in [parties], "
                                "or --tls-cert)", job->party);
    }
    if (st == MPCT_OK && !p->tls && (job->tls_key[0] || job->tls_cert[0]))
        st = mpct_error_set(MPCT_ERR_ARG, "party %d: %s says tls = off, but %s is given: plain TCP uses no key or "
                            "certificate (drop it, or set tls = on)", job->party, job->peers,
                            job->tls_key[0] ? "--tls-key" : "--tls-cert");
    if (st == MPCT_OK && !p->tls)
        fprintf(stderr, "mpct: WARNING: rank %d (party %d of replica %d): %s says tls = off: the links to the other "
                        "parties are plain TCP, INSECURE (anyone on the network reads every share), for tests only\n",
                r->world_rank, r->party, r->replica, job->peers);
    if (st == MPCT_OK) {
        tc.session = session_tag(p, r->nreplicas);
        st = mpct_net_init_tcp(&r->net, &tc);
    }
    free(p);
    return st;
}

/* How many ranks of comm share this rank's node: the same host name (what
 * Slurm calls a node; a container or UTS namespace with its own name counts
 * as its own node) and the same shared-memory domain as MPI sees it. Only
 * 31 bits of a hash of the name pass between the ranks (a failing split
 * counts as a node of one rank: encrypt under auto). */
static int ranks_on_my_node(MPI_Comm comm)
{
    char host[256] = "";
    unsigned char md[EVP_MAX_MD_SIZE];
    if (gethostname(host, sizeof host - 1) != 0)
        snprintf(host, sizeof host, "unknown");
    EVP_Digest(host, strlen(host), md, NULL, EVP_sha256(), NULL);
    unsigned h = 0;
    memcpy(&h, md, sizeof h);
    int same = 1, shared = 1;
    MPI_Comm node;
    if (MPI_Comm_split(comm, (int)(h & 0x7fffffffu), 0, &node) == MPI_SUCCESS) { /* the ranks with this name */
        MPI_Comm_size(node, &same);
        MPI_Comm_free(&node);
    }
    if (MPI_Comm_split_type(comm, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node) == MPI_SUCCESS) {
        MPI_Comm_size(node, &shared);
        MPI_Comm_free(&node);
    }
    return same < shared ? same : shared;
}

/* Whether this mpirun's links get encrypted: on/off as the job says; auto:
 * when the three ranks of any replica are not all on one node (agreed by
 * every rank). Off across nodes warns. */
static mpct_status replica_encrypt(mpct_sched_replica *r, const mpct_job *job)
{
    const int local = ranks_on_my_node(r->comm);
    /* every rank must take the same decision: the steps below are collective over MPI_COMM_WORLD */
    int spans = local < 3;
    MPI_Allreduce(MPI_IN_PLACE, &spans, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    const int on = job->encrypt < 0 ? spans : job->encrypt;
    if (!on) {
        if (local < 3)
            fprintf(stderr, "mpct: WARNING: rank %d (party %d of replica %d): the parties of this replica run on "
                    "different nodes and their links are not encrypted (encrypt = off): whoever reads the fabric "
                    "sees every share\n", r->world_rank, r->party, r->replica);
        return MPCT_OK;
    }
    MPI_Comm_split(MPI_COMM_WORLD, r->party, r->replica, &r->pcomm);
    /* a party's own ranks exchange weight shares (replication) and results over MPI, unencrypted: they
     * must share a node, or the fabric would carry two parties' shares in the clear */
    int psize = 1, spread[3] = {0, 0, 0};
    MPI_Comm_size(r->pcomm, &psize);
    spread[r->party] = ranks_on_my_node(r->pcomm) < psize;
    MPI_Allreduce(MPI_IN_PLACE, spread, 3, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    for (int p = 0; p < 3; p++)
        if (spread[p])
            return mpct_error_set(MPCT_ERR_ARG,
                                  "encrypted links: party %d's %d ranks run on more than one node, and a party's "
                                  "ranks exchange weight shares and results among themselves unencrypted; place "
                                  "each party's ranks on one node (mpirun --map-by node over 3 nodes, or "
                                  "mpct plan's line), or launch the parties separately over TLS (docs/DEPLOY.md)",
                                  p, psize);
    MPCT_CALL(mpct_net_encrypt(r->net));
    r->encrypted = 1;
    return MPCT_OK;
}

static mpct_status replica_finish(mpct_sched_replica *r, const mpct_ctx_config *cfg, const mpct_net_link *link)
{
    warn_test_keys(r, cfg);
    if (link)
        mpct_net_set_link(r->net, link);
    MPCT_CALL(mpct_ctx_init(&r->ctx, r->net, cfg));
    mpct_sched_coll_bind(r);
    return MPCT_OK;
}

static void replica_start(mpct_sched_replica *r)
{
    *r = (mpct_sched_replica){0};
    r->comm = r->pcomm = MPI_COMM_NULL;
    MPI_Comm_rank(MPI_COMM_WORLD, &r->world_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &r->world_size);
}

mpct_status mpct_sched_replica_init(mpct_sched_replica *r, const mpct_ctx_config *cfg, double timeout_s)
{
    replica_start(r);
    MPCT_CALL(replica_world(r, timeout_s));
    return replica_finish(r, cfg, NULL);
}

mpct_status mpct_sched_replica_open(mpct_sched_replica *r, const mpct_ctx_config *cfg, const mpct_job *job)
{
    mpct_net_link link;
    replica_start(r);
    MPCT_CALL(mpct_net_link_parse(job->network, &link));
    MPCT_CALL(job->party >= 0 ? replica_separate(r, job) : replica_world(r, job->timeout_s));
    if (job->party < 0) {
        if (link.rate_bps > 0) /* the key round runs over the emulated link too */
            mpct_net_set_link(r->net, &link);
        MPCT_CALL(replica_encrypt(r, job));
    }
    MPCT_CALL(replica_finish(r, cfg, link.rate_bps > 0 ? &link : NULL));
    if (r->separate) { /* the three launches must agree on what they run */
        long v[6] = {r->nreplicas, job->owner, job->client, -r->nreplicas, -job->owner, -job->client};
        mpct_sched_rallreduce(r, v, 6, MPI_LONG, MPI_MAX);
        static const char *what[3] = {"replicas (ranks per party)", "owner", "client"};
        for (int i = 0; i < 3; i++)
            if (v[i] != -v[i + 3])
                return mpct_error_set(MPCT_ERR_ARG, "party %d: the parties disagree on %s (from %ld to %ld): every "
                                      "party must launch with the same", r->party, what[i], -v[i + 3], v[i]);
    }
    return MPCT_OK;
}

void mpct_sched_replica_free(mpct_sched_replica *r)
{
    mpct_sched_coll_bind(NULL);
    mpct_ctx_free(r->ctx);
    mpct_net_free(r->net);
    if (r->comm != MPI_COMM_NULL)
        MPI_Comm_free(&r->comm);
    if (r->pcomm != MPI_COMM_NULL)
        MPI_Comm_free(&r->pcomm);
    r->encrypted = 0;
    r->ctx = NULL;
    r->net = NULL;
}

void mpct_sched_wait_sleeping(MPI_Request *rq, long nap_us)
{
    const struct timespec nap = {nap_us / 1000000, (nap_us % 1000000) * 1000};
    for (int done = 0;;) {
        MPI_Test(rq, &done, MPI_STATUS_IGNORE);
        if (done)
            return;
        nanosleep(&nap, NULL);
    }
}

void mpct_sched_error(const char *cmd, mpct_status s)
{
    fprintf(stderr, "mpct %s: error: %s (%s)\n", cmd, mpct_error_msg(), mpct_status_str(s));
    const char *t = getenv("MPCT_TRACE");
    if (t && *t == '1')
        fputs(mpct_error_traceback(), stderr);
}

mpct_status mpct_sched_gather_report(const mpct_sched_replica *r, mpct_perf_t *perf, const char *tool,
                                     mpct_perf_report_t **out)
{
    void *buf = NULL;
    size_t len = 0;
    *out = NULL;
    mpct_perf_sample_memory(perf);
    int mine = mpct_perf_pack(perf, &buf, &len) == MPCT_OK && len < (size_t)1 << 30 ? (int)len : 0;
    int *lens = NULL, *offs = NULL;
    char *all = NULL;
    mpct_sched_wgatherv(r, buf, mine, &all, &lens, &offs);
    free(buf);
    if (r->world_rank != 0)
        return MPCT_OK;
    mpct_perf_report_t *rep = NULL;
    mpct_status st = MPCT_OK;
    if (!lens || !offs || !all) {
        st = mpct_error_set(MPCT_ERR_NOMEM, "out of memory gathering profiles");
        goto done;
    }
    MPCT_CALL_GOTO(st, done, mpct_perf_report_init(&rep, tool));
    MPCT_CALL_GOTO(st, done, mpct_perf_report_set_str(rep, "mpct_version", MPCT_VERSION_STRING));
    MPCT_CALL_GOTO(st, done, mpct_perf_report_set_num(rep, "protocol_version", MPCT_PROTOCOL_VERSION));
    MPCT_CALL_GOTO(st, done, mpct_perf_report_set_num(rep, "world_size", r->world_size));
    MPCT_CALL_GOTO(st, done, mpct_perf_report_set_num(rep, "replicas", r->nreplicas));
    for (int i = 0; i < r->world_size; i++) {
        mpct_perf_t *p = NULL;
        if (lens[i] == 0) {
            st = mpct_error_set(MPCT_ERR_NOMEM, "rank %d could not pack its profile", i);
            goto done;
        }
        MPCT_CALL_GOTO(st, done, mpct_perf_unpack(all + offs[i], (size_t)lens[i], &p));
        MPCT_CALL_GOTO(st, done, mpct_perf_report_add_party(rep, p));
    }
done:
    free(all);
    free(lens);
    free(offs);
    if (st != MPCT_OK) {
        mpct_perf_report_free(rep);
        return st;
    }
    *out = rep;
    return MPCT_OK;
}

mpct_status mpct_sched_save_report(mpct_perf_report_t *rep, const char *json_path, const char *prom_path)
{
    if (json_path && *json_path)
        MPCT_CALL(mpct_perf_report_save(rep, json_path));
    if (prom_path && *prom_path) {
        FILE *f = fopen(prom_path, "w");
        if (!f)
            return mpct_error_set(MPCT_ERR_IO, "cannot write the Prometheus file '%s'", prom_path);
        mpct_perf_report_compute_hints(rep);
        mpct_status st = mpct_perf_report_prometheus(rep, f);
        if (fclose(f) != 0 && st == MPCT_OK)
            st = mpct_error_set(MPCT_ERR_IO, "cannot write the Prometheus file '%s'", prom_path);
        MPCT_CALL(st);
    }
    return MPCT_OK;
}
