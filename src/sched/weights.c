/*
 * weights.c — the weight step of a job (mpct_sched_weights): replica 0
 * takes its weight shares from the share cache (src/cache, job [cache]) when
 * all three parties hold one complete, agreed sharing generation; otherwise
 * the owner shares the weights afresh and every party stores the new
 * generation. Then each party copies its shares to the other replicas.
 * Design: src/cache/CACHE.md, "The `mpct run` integration".
 *
 * Cached shares are only useful as a set: party i's shares of one sharing
 * and party j's shares of another do not add up to the weights. Every
 * sharing therefore has a generation id G (64 random bits drawn by the owner
 * when it shares), and each party's cache holds
 *   key (model hash, party, frac_bits, protocol, "g<G hex>/<i>")  tensor i
 *   key (model hash, party, frac_bits, protocol, "@generation")   index: G,
 *       tensor count, total words; written only after every tensor of G.
 * Test-key runs (test_seed != 0) use "@generation-test<seed>", so a sharing
 * made with insecure keys is never picked up by a real run.
 *
 * Agreement in replica 0 (MPI collectives on the replica's communicator; no
 * protocol bytes):
 *   1. Allreduce(MAX) of {cache unusable here, owner's index G}: everyone
 *      learns whether all three caches work and the owner's G.
 *   2. Allreduce(MIN) of "my index is G too" (cheap: one small entry).
 *   3. Each party loads its tensors of G (checksummed; a bad or missing file
 *      is a miss) into a model without arrays (mpct_smodel_layout): stored
 *      components borrow the files' pages (cache map_files), PRF components
 *      are regenerated, zero ones map the zero page; Allreduce(MIN) of "all
 *      loaded", sleeping while it waits.
 * Only when step 3 agrees are the cached shares used; the owner never reads
 * the tensors then. Otherwise the owner draws a new G', broadcasts it, shares
 * the weights (mpct_smodel_share), and each party stores the
 * tensors of G', then its index (G' complete), then removes its own previous
 * generation's files. A party whose store fails keeps its old index (or
 * none), so the next run's step 2 or 3 disagrees and re-shares: a mixed set
 * is never used. Replicas > 0 copy their party's shares from replica 0
 * (replicate_weights: MPI_Bcast over the party's communicator, 16 bytes per
 * weight word, counted in the transport's counters as op
 * "replicate_weights").
 */
#include "sched-impl.h"

#include <errno.h>
#include <inttypes.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define GEN_MAGIC 0x4d50435447454e31ull /* "MPCTGEN1" */

/* Copies party p's weight shares of replica 0 to party p of every replica,
 * counted in the replica's transport counters as op "replicate_weights":
 * one round per broadcast; replica 0 sends 8 bytes per word to each other
 * replica, the others receive 8 bytes per word (the logical volume: what the
 * MPI broadcast tree forwards on the way is not visible here). */
static mpct_status replicate_weights(mpct_sched_replica *r, MPI_Comm party_comm, mpct_smodel *m)
{
    const size_t chunk = (size_t)1 << 26;
    const int root = r->replica == 0;
    mpct_status st = MPCT_OK;
    mpct_net_op_enter(r->net, "replicate_weights");
    for (size_t i = 0; i < mpct_smodel_share_count(m) && st == MPCT_OK; i++) {
        mpct_share *s = root ? NULL : mpct_smodel_share_write(m, i);
        const mpct_share *src = root ? mpct_smodel_share_get(m, i) : s;
        for (int k = 0; k < 2 && st == MPCT_OK; k++)
            for (size_t off = 0; off < src->n && st == MPCT_OK; off += chunk) {
                size_t cnt = src->n - off < chunk ? src->n - off : chunk;
                double t0 = mpct_time_now();
                if (MPI_Bcast(src->s[k] + off, (int)cnt, MPI_UINT64_T, 0, party_comm) != MPI_SUCCESS) {
                    st = mpct_error_set(MPCT_ERR_NET, "replica %d: copying weight shares failed", r->replica);
                    break;
                }
                uint64_t bytes = (uint64_t)cnt * sizeof(uint64_t);
                mpct_net_account(r->net, root ? bytes * (uint64_t)(r->nreplicas - 1) : 0, root ? 0 : bytes,
                                 root ? (uint64_t)(r->nreplicas - 1) : 0, mpct_time_now() - t0);
            }
    }
    mpct_net_op_leave(r->net);
    return st;
}

static mpct_cache_policy parse_policy(const char *s)
{
    if (!strcmp(s, "lfu"))
        return MPCT_CACHE_LFU;
    if (!strcmp(s, "ttl"))
        return MPCT_CACHE_TTL;
    if (!strcmp(s, "adaptive"))
        return MPCT_CACHE_ADAPTIVE;
    return MPCT_CACHE_LRU;
}

/* Stores party's share i of a freshly shared model in compact form: only
 * components that carry data are written as words (one of the two on the
 * owner and its prev, none on the owner's next). *bytes: payload words. */
static mpct_status put_weight(mpct_cache_t *c, const mpct_cache_key *key, const mpct_smodel *m, size_t i,
                             uint64_t *bytes)
{
    const mpct_share *x = mpct_smodel_share_get(m, i);
    mpct_smodel_recipe r;
    if (!mpct_smodel_share_recipe(m, i, &r)) {
        *bytes = 2 * x->n * sizeof(uint64_t);
        return mpct_cache_put(c, key, x, "weight");
    }
    mpct_cache_prf_desc d = {r.seed, sizeof r.seed, r.stream_id, r.pos, x->shape, mpct_smodel_regen, NULL};
    *bytes = (uint64_t)__builtin_popcount(r.stored) * x->n * sizeof(uint64_t);
    mpct_status st = mpct_cache_put_compact(c, key, x, &d, r.stored, "weight");
    mpct_wipe(&r, sizeof r);
    return st;
}

/* This party's directory: <cache_dir>/party<p> (one directory per party:
 * two parties' shares of one tensor together reveal it). */
#define PARTY_DIR_MAX (MPCT_JOB_PATH_MAX + 16)
static void party_dir(char dir[PARTY_DIR_MAX], const mpct_job *job, int party)
{
    snprintf(dir, PARTY_DIR_MAX, "%s/party%d", job->cache_dir, party);
}

/* One cache root holding more than one party's folder: under one user id
 * the owner's folder alone (its data and PRF components) or the other two
 * together rebuild the weights at rest. Said by every party launched alone, and in
 * one mpirun by the lowest party whose folder is there. */
static void warn_shared_root(const mpct_job *job, int party)
{
    char dir[PARTY_DIR_MAX];
    int here[3] = {0, 0, 0}, n = 0, lowest = -1;
    char list[32] = "";
    for (int p = 0; p < 3; p++) {
        struct stat sb;
        party_dir(dir, job, p);
        here[p] = p == party || (stat(dir, &sb) == 0 && S_ISDIR(sb.st_mode));
        n += here[p];
        if (here[p] && lowest < 0)
            lowest = p;
        if (here[p])
            snprintf(list + strlen(list), sizeof list - strlen(list), "%sparty%d/", n > 1 ? ", " : "", p);
    }
    if (n < 2 || (job->party < 0 && lowest != party))
        return;
    mpct_warnf("mpct: warning: the cache directory '%s' holds the folders of %d parties (%s): whoever reads "
                    "it can rebuild the weights; give each party a cache directory on storage only that party "
                    "controls (src/cache/CACHE.md)\n",
            job->cache_dir, n, list);
}

/* Opens this party's cache in its directory. */
static mpct_status open_cache(const mpct_job *job, int party, mpct_cache_t **out)
{
    char dir[PARTY_DIR_MAX];
    if (mkdir(job->cache_dir, 0700) != 0 && errno != EEXIST)
        return mpct_error_set(MPCT_ERR_IO, "cannot create cache directory '%s': %s", job->cache_dir, strerror(errno));
    warn_shared_root(job, party);
    party_dir(dir, job, party);
    mpct_cache_config cfg = mpct_cache_config_default();
    cfg.l1_mb = (size_t)job->cache_l1_mb;
    cfg.l2_mb = (size_t)job->cache_l2_mb;
    cfg.policy = parse_policy(job->cache_policy);
    cfg.dir = dir;
    cfg.regen = mpct_smodel_regen;
    cfg.map_files = 1; /* load_gen's shares borrow the stored components' file pages */
    return mpct_cache_init(out, &cfg);
}

typedef struct keys {
    mpct_cache_key k;
    char name[MPCT_CACHE_MAX_NAME];
    char index_name[64];
} keys;

static void keys_init(keys *ks, const mpct_job *job, const mpct_smodel_info *info, int party)
{
    memset(ks, 0, sizeof *ks);
    ks->k.model_hash = info->hash;
    ks->k.party = party;
    ks->k.frac_bits = job->frac_bits;
    ks->k.protocol_version = MPCT_PROTOCOL_VERSION;
    if (job->test_seed)
        snprintf(ks->index_name, sizeof ks->index_name, "@generation-test%lld", job->test_seed);
    else
        snprintf(ks->index_name, sizeof ks->index_name, "@generation");
}

static const mpct_cache_key *key_tensor(keys *ks, uint64_t gen, size_t i)
{
    snprintf(ks->name, sizeof ks->name, "g%016" PRIx64 "/%zu", gen, i);
    ks->k.name = ks->name;
    return &ks->k;
}

static const mpct_cache_key *key_index(keys *ks)
{
    ks->k.name = ks->index_name;
    return &ks->k;
}

static uint64_t total_words(mpct_smodel *m)
{
    uint64_t w = 0;
    for (size_t i = 0; i < mpct_smodel_share_count(m); i++)
        w += mpct_smodel_share_get(m, i)->n;
    return w;
}

/* This party's current generation (0: none, or an index that does not fit
 * this model's layout). */
static mpct_status read_index(mpct_cache_t *c, keys *ks, mpct_smodel *m, uint64_t *gen)
{
    *gen = 0;
    mpct_share x = {0};
    int hit = 0;
    MPCT_CALL(mpct_cache_get(c, key_index(ks), &x, &hit));
    if (hit && x.n == 4 && x.s[0][3] == GEN_MAGIC && x.s[0][1] == mpct_smodel_share_count(m) &&
        x.s[0][2] == total_words(m))
        *gen = x.s[0][0];
    mpct_share_free(&x);
    return MPCT_OK;
}

static mpct_status write_index(mpct_cache_t *c, keys *ks, mpct_smodel *m, uint64_t gen)
{
    mpct_share x = {0};
    MPCT_CALL(mpct_share_init(&x, mpct_shape_1d(4)));
    x.s[0][0] = gen;
    x.s[0][1] = mpct_smodel_share_count(m);
    x.s[0][2] = total_words(m);
    x.s[0][3] = GEN_MAGIC;
    mpct_status st = mpct_cache_put(c, key_index(ks), &x, "index");
    mpct_share_free(&x);
    return st;
}

static int same_shape(const mpct_share *a, const mpct_share *b)
{
    if (a->n != b->n || a->shape.ndim != b->shape.ndim)
        return 0;
    for (int d = 0; d < a->shape.ndim; d++)
        if (a->shape.dim[d] != b->shape.dim[d])
            return 0;
    return 1;
}

/* Loads every tensor of generation gen into m; *all = 1 when each was found
 * with the expected shape. */
static mpct_status load_gen(mpct_cache_t *c, keys *ks, uint64_t gen, mpct_smodel *m, int *all, uint64_t *bytes)
{
    *all = 0;
    mpct_status st = MPCT_OK;
    size_t i = 0, n = mpct_smodel_share_count(m);
    for (; i < n; i++) {
        /* straight into the model's unallocated share (mpct_smodel_layout):
         * stored components borrow the file's pages, the others are
         * regenerated into fresh memory; a cached entry of another size is
         * copied into a share of its size, and the caller then drops m */
        mpct_share *dst = mpct_smodel_share_write(m, i);
        const mpct_share want = {.shape = dst->shape, .n = dst->n};
        int hit = 0;
        MPCT_CALL_GOTO(st, done, mpct_cache_get(c, key_tensor(ks, gen, i), dst, &hit));
        if (!hit)
            break;
        if (!same_shape(dst, &want)) {
            mpct_warnf("mpct run: warning: share cache: party %d tensor %zu of generation %016" PRIx64
                            " has the wrong shape; re-sharing\n", ks->k.party, i, gen);
            break;
        }
    }
    *all = i == n;
done:
    {
        mpct_cache_tier_stats ds;
        mpct_cache_stats(c, MPCT_CACHE_DISK, &ds);
        *bytes = ds.read_bytes;
    }
    return st;
}

/* Stores generation gen, then the index; then drops the old generation's
 * files. A failure is a warning (the run goes on without caching). */
static void store_gen(mpct_cache_t *c, keys *ks, uint64_t gen, uint64_t old, mpct_smodel *m, mpct_sched_cache_stats *s)
{
    size_t n = mpct_smodel_share_count(m);
    for (size_t i = 0; i < n; i++) {
        uint64_t b = 0;
        if (put_weight(c, key_tensor(ks, gen, i), m, i, &b) != MPCT_OK) {
            mpct_warnf("mpct run: warning: share cache: party %d: %s; this run's shares are not cached\n",
                    ks->k.party, mpct_error_msg());
            s->write_errors++;
            return;
        }
        s->bytes_written += b;
    }
    if (write_index(c, ks, m, gen) != MPCT_OK) {
        mpct_warnf("mpct run: warning: share cache: party %d: %s; this run's shares are not cached\n",
                ks->k.party, mpct_error_msg());
        s->write_errors++;
        return;
    }
    if (old && old != gen)
        for (size_t i = 0; i < n; i++)
            if (mpct_cache_remove(c, key_tensor(ks, old, i)) != MPCT_OK)
                break; /* best effort: stale files are never read (other generation) */
}

/* Disk budget (cache_disk_mb): least recently used entries of this party's
 * directory go first; this run's generation was just written or read, so it
 * is the newest. A failure is a warning. */
static void prune_party_dir(const mpct_job *job, int party, mpct_sched_cache_stats *s)
{
    char dir[PARTY_DIR_MAX];
    party_dir(dir, job, party);
    const uint64_t budget = (uint64_t)job->cache_disk_mb << 20;
    mpct_cache_prune_info pi;
    if (mpct_cache_dir_prune(dir, budget, &pi) != MPCT_OK) {
        mpct_warnf("mpct run: warning: share cache: party %d: pruning to %d MiB failed: %s\n", party,
                job->cache_disk_mb, mpct_error_msg());
        return;
    }
    s->pruned_files += pi.removed;
    s->pruned_bytes += pi.bytes_removed;
    if (s->bytes_written > budget || (s->used && s->bytes_read > budget))
        mpct_warnf("mpct run: warning: share cache: party %d: one model's shares (%.1f MB) exceed cache_disk_mb "
                        "= %d MiB; the next run will share again\n", party,
                (double)(s->bytes_written > s->bytes_read ? s->bytes_written : s->bytes_read) / 1e6, job->cache_disk_mb);
}

/* Sums counts and takes the maximum of times over the replica. */
static void reduce_stats(const mpct_sched_replica *r, mpct_sched_cache_stats *s)
{
    enum { NU = 10 + 3 * MPCT_CACHE_TIERS, ND = 3 + 3 * MPCT_CACHE_TIERS };
    uint64_t u[NU] = {s->hits, s->misses, s->bytes_read, s->bytes_written, s->share_bytes, s->corrupt,
                      s->write_errors, s->tensors};
    double d[ND] = {s->lookup_s, s->store_s, s->total_s};
    for (int t = 0; t < MPCT_CACHE_TIERS; t++) {
        u[8 + 3 * t] = s->tier[t].hits;
        u[9 + 3 * t] = s->tier[t].misses;
        u[10 + 3 * t] = s->tier[t].evictions;
        d[3 + 3 * t] = s->tier[t].p50_us;
        d[4 + 3 * t] = s->tier[t].p90_us;
        d[5 + 3 * t] = s->tier[t].p99_us;
    }
    u[NU - 2] = s->pruned_files;
    u[NU - 1] = s->pruned_bytes;
    uint64_t tensors = s->tensors;
    mpct_sched_rallreduce(r, u, NU, MPI_UINT64_T, MPI_SUM);
    s->pruned_files = u[NU - 2];
    s->pruned_bytes = u[NU - 1];
    mpct_sched_rallreduce(r, d, ND, MPI_DOUBLE, MPI_MAX);
    s->hits = u[0], s->misses = u[1], s->bytes_read = u[2], s->bytes_written = u[3], s->share_bytes = u[4];
    s->corrupt = u[5], s->write_errors = u[6], s->tensors = tensors;
    s->lookup_s = d[0], s->store_s = d[1], s->total_s = d[2];
    for (int t = 0; t < MPCT_CACHE_TIERS; t++) {
        s->tier[t].hits = u[8 + 3 * t];
        s->tier[t].misses = u[9 + 3 * t];
        s->tier[t].evictions = u[10 + 3 * t];
        uint64_t q = s->tier[t].hits + s->tier[t].misses;
        s->tier[t].hit_rate = q ? (double)s->tier[t].hits / (double)q : 0;
        s->tier[t].p50_us = d[3 + 3 * t];
        s->tier[t].p90_us = d[4 + 3 * t];
        s->tier[t].p99_us = d[5 + 3 * t];
    }
    s->hit_rate = s->hits + s->misses ? (double)s->hits / (double)(s->hits + s->misses) : 0;
}

/* Allreduce(MIN) of v that sleeps while it waits. The parties finish
 * loading at different times (P2 has the least to do), and MPI's blocking
 * collectives poll: when parties share a node's cores (tests, one-machine
 * runs), a party that is done would take CPU from the ones still loading.
 * A 0.1 ms nap between tests of the request costs at most that much
 * latency once. */
static int min_sleeping(int v, const mpct_sched_replica *r)
{
    int out = v;
    if (r->separate || r->encrypted) { /* between parties over the transport; TCP waits in poll() */
        mpct_sched_rallreduce(r, &out, 1, MPI_INT, MPI_MIN);
        return out;
    }
    MPI_Comm comm = r->comm;
    MPI_Request rq;
    MPI_Iallreduce(&v, &out, 1, MPI_INT, MPI_MIN, comm, &rq); /* MPI's default handler aborts on errors */
    mpct_sched_wait_sleeping(&rq, 100);
    return out;
}

/* Replica 0: cache lookup / agreement, or fresh sharing + store. */
static mpct_status weights_replica0(mpct_sched_replica *r, const mpct_job *job, const mpct_model_file *f,
                                    const mpct_smodel_info *info, void (*progress)(size_t, size_t, void *),
                                    mpct_smodel **out, mpct_sched_cache_stats *s)
{
    const int owner = job->owner;
    mpct_cache_t *c = NULL;
    mpct_smodel *m = NULL;
    mpct_status st = MPCT_OK;
    keys ks;
    keys_init(&ks, job, info, r->party);
    uint64_t my_gen = 0;
    int bad = 0;
    double t0 = mpct_time_now();
    if (job->cache_dir[0]) {
        st = open_cache(job, r->party, &c);
        if (st == MPCT_OK)
            st = mpct_smodel_layout(info, &m);
        if (st == MPCT_OK)
            st = read_index(c, &ks, m, &my_gen);
        if (st != MPCT_OK) {
            mpct_warnf("mpct run: warning: share cache disabled (party %d): %s; sharing the weights "
                            "without caching\n", r->party, mpct_error_msg());
            mpct_cache_free(c);
            c = NULL;
            bad = 1;
        }
    }
    /* 1. all caches usable? the owner's generation */
    uint64_t v[2] = {(uint64_t)(bad || !job->cache_dir[0]), r->party == owner ? my_gen : 0};
    mpct_sched_rallreduce(r, v, 2, MPI_UINT64_T, MPI_MAX);
    s->enabled = v[0] == 0;
    const uint64_t G = v[1];
    int have = 0;
    if (s->enabled && G) {
        /* 2. every index says G */
        have = my_gen == G;
        mpct_sched_rallreduce(r, &have, 1, MPI_INT, MPI_MIN);
        if (!have)
            snprintf(s->why, sizeof s->why, "a party's cache does not hold the owner's generation");
        /* 3. every party loads all of G */
        if (have) {
            int all = 0;
            st = load_gen(c, &ks, G, m, &all, &s->bytes_read);
            if (st != MPCT_OK) { /* e.g. out of memory: a miss, reported */
                mpct_warnf("mpct run: warning: share cache (party %d): %s; re-sharing\n", r->party,
                        mpct_error_msg());
                all = 0;
            }
            have = min_sleeping(all, r);
            if (!have)
                snprintf(s->why, sizeof s->why, "a party's cached shares are missing or damaged");
        }
    } else if (s->enabled) {
        snprintf(s->why, sizeof s->why, "no complete generation in the owner's cache");
    } else if (job->cache_dir[0]) {
        snprintf(s->why, sizeof s->why, "a party's cache directory is unusable");
    }
    s->lookup_s = mpct_time_now() - t0;
    if (have) {
        s->used = 1;
        s->generation = G;
        s->hits = mpct_smodel_share_count(m);
        *out = m;
        m = NULL;
    } else {
        mpct_smodel_free(m);
        m = NULL;
        uint64_t gen = 0;
        if (s->enabled) {
            if (r->party == owner)
                while (gen == 0)
                    if (RAND_bytes((unsigned char *)&gen, sizeof gen) != 1) {
                        gen = 0;
                        break;
                    }
            mpct_sched_rbcast(r, &gen, sizeof gen, owner);
        }
        mpct_net_counters n0 = mpct_net_total(r->net);
        st = mpct_smodel_share(r->ctx, owner, f, info, out, progress, NULL);
        s->share_bytes = mpct_net_total(r->net).bytes_sent - n0.bytes_sent;
        if (st != MPCT_OK) {
            mpct_cache_free(c);
            return st;
        }
        s->misses = mpct_smodel_share_count(*out);
        if (c && gen) {
            double t1 = mpct_time_now();
            store_gen(c, &ks, gen, my_gen, *out, s);
            s->store_s = mpct_time_now() - t1;
            s->generation = gen;
        }
        mpct_smodel_forget_origin(*out); /* the weight key: no use once the cache has its entries */
    }
    s->tensors = mpct_smodel_share_count(*out);
    if (c) {
        for (int t = 0; t < MPCT_CACHE_TIERS; t++)
            mpct_cache_stats(c, (mpct_cache_tier)t, &s->tier[t]);
        s->corrupt = s->tier[MPCT_CACHE_DISK].corrupt;
    }
    s->total_s = mpct_time_now() - t0;
    mpct_cache_free(c);
    if (s->enabled && job->cache_disk_mb > 0)
        prune_party_dir(job, r->party, s);
    reduce_stats(r, s);
    return MPCT_OK;
}

mpct_status mpct_sched_weights_load(mpct_sched_replica *r, MPI_Comm party_comm, const mpct_job *job,
                                    const mpct_model_file *f, const mpct_smodel_info *info, int replicate,
                                    void (*progress)(size_t, size_t, void *), mpct_smodel **out,
                                    mpct_sched_cache_stats *stats)
{
    memset(stats, 0, sizeof *stats);
    *out = NULL;
    mpct_status st;
    if (r->replica == 0)
        st = weights_replica0(r, job, f, info, progress, out, stats);
    else if (replicate)
        st = mpct_smodel_alloc(info, out);
    else
        return MPCT_OK; /* the other replicas take no part */
    if (st != MPCT_OK)
        return st;
    if (replicate && r->nreplicas > 1 && (st = replicate_weights(r, party_comm, *out)) != MPCT_OK) {
        mpct_smodel_free(*out);
        *out = NULL;
        return st;
    }
    mpct_smodel_hint_owner(*out, job->owner); /* cached and copied shares too */
    return MPCT_OK;
}

mpct_status mpct_sched_cache_report(const mpct_sched_cache_stats *s, mpct_perf_report_t *rep)
{
    static const char *tn[MPCT_CACHE_TIERS] = {"l1", "l2", "disk"};
    mpct_status st = MPCT_OK;
#define NUM(k, v) st = st ? st : mpct_perf_report_set_num(rep, k, (double)(v))
    NUM("cache_enabled", s->enabled);
    NUM("cache_used", s->used);
    NUM("cache_hits", s->hits);
    NUM("cache_misses", s->misses);
    NUM("cache_hit_rate", s->hit_rate);
    NUM("cache_bytes_read", s->bytes_read);
    NUM("cache_bytes_written", s->bytes_written);
    NUM("cache_share_bytes_sent", s->share_bytes);
    NUM("cache_corrupt", s->corrupt);
    NUM("cache_write_errors", s->write_errors);
    NUM("cache_lookup_s", s->lookup_s);
    NUM("cache_store_s", s->store_s);
    NUM("cache_pruned_files", s->pruned_files);
    NUM("cache_pruned_bytes", s->pruned_bytes);
    for (int t = 0; t < MPCT_CACHE_TIERS; t++) {
        char k[48];
        snprintf(k, sizeof k, "cache_%s_hits", tn[t]);
        NUM(k, s->tier[t].hits);
        snprintf(k, sizeof k, "cache_%s_misses", tn[t]);
        NUM(k, s->tier[t].misses);
        snprintf(k, sizeof k, "cache_%s_evictions", tn[t]);
        NUM(k, s->tier[t].evictions);
        snprintf(k, sizeof k, "cache_%s_p50_us", tn[t]);
        NUM(k, s->tier[t].p50_us);
        snprintf(k, sizeof k, "cache_%s_p99_us", tn[t]);
        NUM(k, s->tier[t].p99_us);
    }
#undef NUM
    return st;
}

void mpct_sched_cache_print(const mpct_sched_cache_stats *s, const char *cmd, FILE *f)
{
    if (!s->enabled && !s->why[0])
        return;
    if (s->used)
        fprintf(f, "mpct %s: share cache: hit, generation %016" PRIx64 ": %" PRIu64 " tensors per party, %.1f MB read "
                   "by 3 parties in %.2f s, %.1f MB sent\n", cmd, s->generation, s->tensors, (double)s->bytes_read / 1e6,
                s->lookup_s, (double)s->share_bytes / 1e6);
    else
        fprintf(f, "mpct %s: share cache: miss (%s): shared %" PRIu64 " tensors per party (%.1f MB sent), stored %.1f MB%s%s "
                   "in %.2f s\n", cmd, s->why[0] ? s->why : "cache off", s->tensors, (double)s->share_bytes / 1e6,
                (double)s->bytes_written / 1e6, s->generation ? " as a new generation" : "",
                s->write_errors ? " (write errors: not cached)" : "", s->store_s);
}
