/*
 * cmd_generate.c — `mpct generate`: secure text generation (greedy, or
 * sampled with --temperature / --top-k) with a decoder (GPT-2, LLaMA
 * family) for a file of prompts.
 *
 * MPCT_COMMAND(generate, 1, "secure text generation: continuations of a file of prompts")
 *
 * Roles as in `mpct run`: the owner (default P0) alone opens the model file
 * and shares the weights (job layer, src/sched: replica, description,
 * vocabulary, weights and the share cache); the client (default P1) alone
 * reads and tokenizes the prompts, receives every generated token
 * (mpct_smodel_generate: the argmax, or a draw of mpct_smodel_sample whose
 * randomness no party knows, revealed to the client only, its one-hot fed
 * back) and writes the output (io/mpct_gen_out.h).
 *
 * Public to every party: the model's shape and hash, the number of prompts,
 * each prompt's token count, the number of tokens generated per prompt (a
 * stop token ends a generation early: one public bit per step), which
 * replica computes which prompt. Before each prompt the client sends its
 * replica two public words, the prompt's index and token count (-1 for a
 * prompt it cannot feed), so the other parties learn a refusal in the same
 * round and every party stops alike (no hang).
 *
 * Replicas (every three ranks): each replica's client reads the prompts;
 * the clients take prompts one at a time from the work dispenser
 * (mpct_sched_tickets, a counter on world rank 0), prompt i runs on PRF
 * stream 2 + i (so under test keys the output does not depend on the
 * number of replicas), and the other clients send each prompt's ids to the
 * writer (replica 0's client, MPI tag GEN_TAG_ROW), which writes rows in
 * prompt order as they become contiguous.
 *
 * Invariants: rows reach OUTPUT.partial prompt by prompt, and the
 * file is renamed to OUTPUT when every prompt is done; --resume continues
 * after the last prompt written; --plaintext runs the float64 reference
 * (mpct_ref_generate) of the same graph in one process, world rank 0.
 */
#include "mpct_gen_out.h"
#include "mpct_job.h"
#include "mpct_model.h"
#include "mpct_model_desc.h"
#include "mpct_sched.h"
#include "mpct_tok.h"
#include "tool_common.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const mpct_opt_exit gen_exits_more[] = {
    {MPCT_SCHED_EXIT_ABORT, "a failure that may leave peers blocked (a transport or protocol error\n"
                            "mid-run): the job is taken down with MPI_Abort"},
    {130, "interrupted by SIGINT (128 + 2): OUTPUT.partial keeps the prompts done"},
    {143, "interrupted by SIGTERM (128 + 15): OUTPUT.partial keeps the prompts done and the\n"
          "message prints the command that resumes"},
    {0, NULL},
};

static mpct_opt_cmd gen_cmd = {
    .name = "generate",
    .usage = "mpirun -np 3N mpct generate [JOB.ini] --model M.h5 --inputs PROMPTS.txt -o OUT.jsonl|OUT.h5",
    .about = "Secure generation: the model owner's decoder weights and the client's prompts are\n"
             "secret-shared among three parties; the client alone sees the prompts and the generated\n"
             "tokens, each the argmax of the logits (greedy, the default) or, with --temperature, a draw\n"
             "from softmax(logits / T) over the --top-k largest whose randomness no party knows or\n"
             "chooses (under --test-seed the draws repeat, for tests). --inputs holds one prompt per line\n"
             "(UTF-8; the tokenizer's BOS rule applies). The output (io/OUTPUT.md) has per prompt the\n"
             "prompt, its token count, the generated ids, their text and what stopped it: JSON Lines when\n"
             "it ends in .jsonl, else HDF5. Settings come from the job file ([generate] max_new_tokens,\n"
             "stop, temperature, top_k, logits) and these flags:\n",
    .notes = "--logits FILE (a diagnostic): the client also receives and writes every step's\n"
             "next-token logits (records: int32 prompt, int32 step, int32 V, V float32; native byte\n"
             "order); the client may see them, the other parties still see nothing. One replica only.\n"
             "Every 3 ranks are one replica; replicas take prompts one at a time and the output stays in\n"
             "prompt order (after a signal OUTPUT.partial keeps the prompts before the first not done).\n"
             "A prompt longer than the model's positions minus --max-new-tokens (plus one) is refused\n"
             "naming its line. Rows are written prompt by prompt\n"
             "to OUTPUT.partial, renamed to OUTPUT at the end; on SIGTERM or SIGINT the prompt in\n"
             "progress is finished, the run prints the command that resumes it (--resume) and exits\n"
             "128 + the signal. Progress (tokens/s) goes to stderr unless --quiet.\n",
    .exit_ok = "every prompt generated and written",
    .exit_fail = "a failure every rank saw alike: an unreadable model or prompts file, an encoder\n"
                 "model, an empty prompts file, an empty or too long prompt, a NUL byte, an unwritable\n"
                 "output, OUTPUT.partial holding prompts without --resume or --overwrite, a resume\n"
                 "with other settings, --logits with several replicas (the message names the cause)",
    .exit_usage = "bad usage or a bad job file: an unknown option or key, a missing or malformed value",
    .exits_more = gen_exits_more,
};

/* ---- prompts (client) ---- */
typedef struct prompts {
    size_t n;
    char **text;      /* the lines without their endings */
    size_t *len;
    int32_t **ids;    /* tokens of each */
    size_t *count;
    char sha[65];
} prompts;

static void prompts_free(prompts *p)
{
    for (size_t i = 0; i < p->n; i++) {
        if (p->text) mpct_free_secret(p->text[i]);
        if (p->ids) mpct_free_secret(p->ids[i]);
    }
    free(p->text);
    free(p->len);
    free(p->ids);
    free(p->count);
    memset(p, 0, sizeof *p);
}

static mpct_status prompts_grow(prompts *p, size_t *cap)
{
    if (p->n < *cap)
        return MPCT_OK;
    const size_t c = *cap ? 2 * *cap : 64;
    char **t = realloc(p->text, c * sizeof *t);
    if (t) p->text = t;
    size_t *l = realloc(p->len, c * sizeof *l);
    if (l) p->len = l;
    int32_t **ids = realloc(p->ids, c * sizeof *ids);
    if (ids) p->ids = ids;
    size_t *cnt = realloc(p->count, c * sizeof *cnt);
    if (cnt) p->count = cnt;
    if (!t || !l || !ids || !cnt)
        return mpct_error_set(MPCT_ERR_NOMEM, "prompts: out of memory");
    *cap = c;
    return MPCT_OK;
}

/* One prompt: its line (ending removed), its tokens (at most limit). */
static mpct_status prompt_add(prompts *p, const mpct_tok_t *tok, mpct_tok_lines *ln, const char *line, size_t len,
                              size_t limit, size_t positions, size_t max_new)
{
    char *t = mpct_alloc(len + 1);
    int32_t *ids = mpct_alloc((limit + 1) * sizeof *ids);
    uint8_t *mask = mpct_alloc(limit + 1);
    if (!t || !ids || !mask) {
        mpct_free(t), mpct_free(ids), mpct_free(mask);
        return mpct_error_set(MPCT_ERR_NOMEM, "prompts: out of memory");
    }
    size_t got = 0, dropped = 0;
    mpct_status st = mpct_tok_encode_line(tok, ln, line, len, limit + 1, ids, mask, &got, &dropped);
    if (st == MPCT_OK && got == 0)
        st = mpct_error_set(MPCT_ERR_ARG, "%s:%zu: an empty prompt (a decoder needs at least one token)", ln->path,
                            ln->line);
    if (st == MPCT_OK && (got > limit || dropped))
        st = mpct_error_set(MPCT_ERR_ARG, "%s:%zu: the prompt has more than %zu tokens: the model's %zu positions "
                                          "less --max-new-tokens %zu leave %zu for it", ln->path, ln->line, limit,
                            positions, max_new, limit);
    mpct_free(mask);
    if (st != MPCT_OK) {
        mpct_free_secret(t), mpct_free_secret(ids);
        return st;
    }
    while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
        len--;
    memcpy(t, line, len);
    t[len] = '\0';
    p->text[p->n] = t, p->len[p->n] = len, p->ids[p->n] = ids, p->count[p->n] = got;
    p->n++;
    return MPCT_OK;
}

/* Reads and tokenizes the prompts file (rules: mpct_tok_encode_line; an
 * empty line is an empty prompt, refused). */
static mpct_status read_prompts(const char *path, const mpct_tok_t *tok, size_t positions, size_t max_new,
                                prompts *p)
{
    if (max_new > positions)
        return mpct_error_set(MPCT_ERR_ARG, "--max-new-tokens %zu exceeds the model's %zu positions", max_new,
                              positions);
    const size_t limit = positions - max_new + 1;
    mpct_tok_lines ln = {.path = path};
    FILE *f = fopen(path, "rb");
    if (!f)
        return mpct_error_set(MPCT_ERR_IO, "cannot open the prompts file '%s'", path);
    EVP_MD_CTX *sc = EVP_MD_CTX_new();
    mpct_status st = sc && EVP_DigestInit_ex(sc, EVP_sha256(), NULL) == 1
                         ? MPCT_OK : mpct_error_set(MPCT_ERR_CRYPTO, "prompts: SHA-256 unavailable");
    char *line = NULL;
    size_t lcap = 0, cap = 0;
    ssize_t len;
    while (st == MPCT_OK && (len = getline(&line, &lcap, f)) >= 0) {
        EVP_DigestUpdate(sc, line, (size_t)len);
        st = prompts_grow(p, &cap);
        if (st == MPCT_OK)
            st = prompt_add(p, tok, &ln, line, (size_t)len, limit, positions, max_new);
    }
    if (line) {
        mpct_wipe(line, lcap);
        free(line);
    }
    fclose(f);
    unsigned char h[32];
    unsigned int hl = 0;
    if (sc)
        EVP_DigestFinal_ex(sc, h, &hl);
    EVP_MD_CTX_free(sc);
    for (unsigned i = 0; i < hl && i < 32; i++)
        snprintf(p->sha + 2 * i, 3, "%02x", h[i]);
    if (st == MPCT_OK && p->n == 0)
        st = mpct_error_set(MPCT_ERR_ARG, "the prompts file '%s' is empty: nothing to generate", path);
    return st;
}

/* The stop ids: the job's list, "none", or the tokenizer's end-of-text tokens. */
static mpct_status parse_stop(const char *s, const mpct_tok_t *tok, size_t vocab, int32_t *stop, size_t *n)
{
    *n = 0;
    if (!strcmp(s, "eos")) {
        *n = mpct_tok_eos_ids(tok, stop, MPCT_GOUT_MAX_STOP);
        return MPCT_OK;
    }
    if (!strcmp(s, "none"))
        return MPCT_OK;
    for (const char *p = s;;) {
        char *end = NULL;
        const long v = strtol(p, &end, 10);
        if (end == p || v < 0 || (size_t)v >= vocab || *n == MPCT_GOUT_MAX_STOP || (*end && *end != ','))
            return mpct_error_set(MPCT_ERR_ARG, "stop = '%s': expected eos, none or up to %d comma-separated token ids "
                                                "in [0, %zu)", s, MPCT_GOUT_MAX_STOP, vocab);
        stop[(*n)++] = (int32_t)v;
        if (!*end)
            return MPCT_OK;
        p = end + 1;
    }
}

/* ---- the job ---- */
typedef struct gen_ctx {
    mpct_job job;
    int argc;
    char **argv;
    mpct_sched_t *s;
    mpct_tok_t *tok;
    prompts p;
    int32_t stop[MPCT_GOUT_MAX_STOP];
    size_t nstop;
    mpct_gout_t *out;
    int32_t *gen;     /* max_new_tokens ids of the prompt in progress */
    size_t tokens;    /* generated so far in this run (progress) */
    FILE *lf;         /* --logits (the client's): records of every step's logits */
    double *lbuf;     /* one step's logits, revealed to the client */
    size_t lprompt, lstep; /* the prompt and step of the next record */
} gen_ctx;

/* --logits: one record per step, in native byte order (little-endian on
 * x86): int32 prompt index, int32 step, int32 V, then V float32 logits. */
static mpct_status logits_put(gen_ctx *g, const double *lg, size_t V)
{
    const int32_t h[3] = {(int32_t)g->lprompt, (int32_t)g->lstep++, (int32_t)V};
    int ok = fwrite(h, sizeof h, 1, g->lf) == 1;
    for (size_t j = 0; ok && j < V; j++) {
        const float x = (float)lg[j];
        ok = fwrite(&x, sizeof x, 1, g->lf) == 1;
    }
    return ok && fflush(g->lf) == 0 ? MPCT_OK
                                     : mpct_error_set(MPCT_ERR_IO, "cannot write the logits file '%s'", g->job.logits);
}

/* the reference's logits (--plaintext) */
static mpct_status logits_plain(const double *lg, size_t V, void *arg)
{
    return logits_put(arg, lg, V);
}

/* the secure logits: revealed to the client, who writes them */
static mpct_status logits_secure(mpct_ctx_t *ctx, const mpct_share *lg, void *arg)
{
    gen_ctx *g = arg;
    const int client = mpct_ctx_party(ctx) == g->job.client;
    MPCT_CALL(mpct_share_reveal_fxp(ctx, lg, g->job.client, client ? g->lbuf : NULL));
    return client ? logits_put(g, g->lbuf, lg->n) : MPCT_OK;
}

/* Keys of `run` that generate does not use: set, they are refused, not ignored. */
static mpct_status check_job(const mpct_job *j)
{
    const char *k = strcmp(j->task, "embed") ? "task" : j->batch != 8 || j->batch_auto ? "batch"
                  : j->seq_len != 128 ? "seq_len" : j->row_offset >= 0 ? "row_offset" : j->report[0] ? "report"
                  : j->prometheus[0] ? "prometheus" : j->trace[0] ? "trace" : j->dedup ? "dedup"
                  : j->result_cache[0] ? "result_cache" : j->hide_lengths ? "hide_lengths"
                  : strcmp(j->input_format, "auto") && strcmp(j->input_format, "text") ? "input_format"
                  : strcmp(j->text_field, "text") ? "text_field" : j->id_field[0] ? "id_field" : NULL;
    if (k)
        return mpct_error_set(MPCT_ERR_ARG, "%s%skey %s is not used by generate: remove it", j->source,
                              j->source[0] ? ": " : "", k);
    if (j->top_k && !(j->temperature > 0))
        return mpct_error_set(MPCT_ERR_ARG, "%s%stop_k = %d needs a temperature > 0 (greedy takes the argmax)",
                              j->source, j->source[0] ? ": " : "", j->top_k);
    return MPCT_OK;
}

/* The client's (or --plaintext's) part before any work: tokenizer, prompts,
 * stop ids; the writer also checks and opens the output. */
static mpct_status client_setup(gen_ctx *g, const uint8_t *vocab, size_t vlen, const mpct_model_config *mc,
                                const char *hash, const char *mode, int writer)
{
    const mpct_job *j = &g->job;
    MPCT_CALL(mpct_md_is_decoder(mc) ? MPCT_OK
                                     : mpct_error_set(MPCT_ERR_UNSUPPORTED, "%s is an encoder (%s): generate needs a "
                                                      "decoder (gpt2, llama)", j->model, mc->architecture));
    if (!vlen)
        return mpct_error_set(MPCT_ERR_FORMAT, "%s has no tokenizer: generate reads text prompts", j->model);
    MPCT_CALL(mpct_tok_load_json_mem_pad(vocab, vlen, "the model's tokenizer", 0, &g->tok));
    MPCT_CALL(mpct_tok_can_decode(g->tok));
    MPCT_CALL(parse_stop(j->stop, g->tok, (size_t)mc->vocab_size, g->stop, &g->nstop));
    MPCT_CALL(read_prompts(j->inputs, g->tok, (size_t)mc->max_positions, (size_t)j->max_new_tokens, &g->p));
    g->gen = malloc((size_t)j->max_new_tokens * sizeof *g->gen);
    g->lbuf = j->logits[0] ? mpct_alloc((size_t)mc->vocab_size * sizeof *g->lbuf) : NULL;
    if (!g->gen || (j->logits[0] && !g->lbuf))
        return mpct_error_set(MPCT_ERR_NOMEM, "generate: out of memory");
    if (j->logits[0] && !(g->lf = fopen(j->logits, j->resume ? "ab" : "wb")))
        return mpct_error_set(MPCT_ERR_IO, "cannot write the logits file '%s'", j->logits);
    if (!writer)
        return MPCT_OK;
    MPCT_CALL(mpct_gout_ready(j->output, j->resume, j->overwrite));
    mpct_gout_meta m = {g->p.n, (const char *const *)g->p.text, g->p.len, mode, hash, g->p.sha,
                        MPCT_VERSION_STRING, j->test_seed != 0, j->frac_bits, (size_t)j->max_new_tokens,
                        g->stop, g->nstop, j->temperature, (size_t)j->top_k};
    MPCT_CALL(mpct_gout_open(j->output, &m, j->resume, &g->out));
    if (j->resume && !j->quiet)
        fprintf(stderr, "mpct generate: resuming: %zu of %zu prompts already done\n", mpct_gout_done(g->out), g->p.n);
    return MPCT_OK;
}

/* The writer's row for prompt i from its generated ids[0..n). */
static mpct_status put_row(gen_ctx *g, size_t i, const int32_t *ids, size_t n)
{
    char *text = NULL;
    size_t tl = 0;
    MPCT_CALL(mpct_tok_decode(g->tok, ids, n, &text, &tl));
    int32_t by = -1;
    for (size_t k = 0; n && k < g->nstop; k++)
        by = ids[n - 1] == g->stop[k] ? g->stop[k] : by;
    const mpct_gout_row r = {g->p.count[i], ids, n, text, tl, by};
    const mpct_status st = mpct_gout_write(g->out, &r);
    mpct_wipe(text, tl);
    free(text);
    g->tokens += n;
    return st;
}

/* After the loop: the output renamed when complete, else kept for --resume. */
static int finish(gen_ctx *g, int code, size_t done, int sig, int nranks, int separate, double t0)
{
    const int complete = !code && !sig && done == g->p.n;
    const mpct_status st = mpct_gout_close(g->out, complete);
    g->out = NULL;
    if (st != MPCT_OK) {
        mpct_sched_error("generate", st);
        return code ? code : 1;
    }
    const double el = mpct_time_now() - t0;
    if (!g->job.quiet && !code)
        fprintf(stderr, "mpct generate: %zu tokens in %.1f s (%.2f tokens/s)\n", g->tokens, el,
                el > 0 ? (double)g->tokens / el : 0.0);
    if (sig)
        mpct_sched_stop_message(sig, done, g->p.n, g->job.output, nranks, separate, g->argc, g->argv);
    else if (complete && !g->job.quiet)
        fprintf(stderr, "mpct generate: %zu prompts, wrote %s\n", g->p.n, g->job.output);
    return code ? code : sig ? 128 + sig : 0;
}

static void progress(const gen_ctx *g, size_t i, double t0)
{
    const double el = mpct_time_now() - t0;
    if (!g->job.quiet)
        fprintf(stderr, "mpct generate: prompt %zu/%zu, %zu tokens, %.2f tokens/s\n", i + 1, g->p.n, g->tokens,
                el > 0 ? (double)g->tokens / el : 0.0);
}

/* --plaintext with sampling: n draws u in [0, 1) for prompt i, from the OS
 * (RAND_bytes), or under --test-seed from a splitmix64 stream of (seed, i)
 * so that test runs repeat. */
static mpct_status plain_draws(const mpct_job *j, size_t i, double *u, size_t n)
{
    uint64_t x = (uint64_t)j->test_seed * 0x9e3779b97f4a7c15ULL + i;
    for (size_t k = 0; k < n; k++) {
        uint64_t r = 0;
        if (j->test_seed) {
            uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
            z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
            z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
            r = z ^ (z >> 31);
        } else if (RAND_bytes((unsigned char *)&r, sizeof r) != 1) {
            return mpct_error_set(MPCT_ERR_CRYPTO, "generate: no random bytes for sampling");
        }
        u[k] = (double)(r >> 11) * 0x1.0p-53;
    }
    return MPCT_OK;
}

/* --plaintext: the float64 reference on world rank 0. */
static int gen_plaintext(gen_ctx *g)
{
    const mpct_job *j = &g->job;
    mpct_model_file *mf = NULL;
    mpct_ref_model *ref = NULL;
    uint8_t *vocab = NULL;
    double *u = NULL;
    size_t vlen = 0, i = 0;
    int lower = 1, code = 1, sig = 0;
    const double t0 = mpct_time_now();
    mpct_status st;
    MPCT_CALL_GOTO(st, done, mpct_model_file_open(j->model, &mf));
    MPCT_CALL_GOTO(st, done, mpct_model_file_read_vocab(mf, &vocab, &vlen, &lower));
    MPCT_CALL_GOTO(st, done, client_setup(g, vocab, vlen, mpct_model_file_config(mf), mpct_model_file_hash(mf),
                                          "plaintext", 1));
    MPCT_CALL_GOTO(st, done, mpct_ref_load(j->model, &ref));
    const mpct_sample_cfg sc = {j->temperature, (size_t)j->top_k};
    u = malloc((size_t)j->max_new_tokens * sizeof *u);
    if (!u)
        MPCT_CALL_GOTO(st, done, mpct_error_set(MPCT_ERR_NOMEM, "generate: out of memory"));
    for (i = mpct_gout_done(g->out); i < g->p.n && !(sig = mpct_sched_stop_signal()); i++) {
        size_t n = 0;
        MPCT_CALL_GOTO(st, done, plain_draws(j, i, u, (size_t)j->max_new_tokens));
        const mpct_ref_gen_opts o = {&sc, u, g->lf ? logits_plain : NULL, g};
        g->lprompt = i, g->lstep = 0;
        MPCT_CALL_GOTO(st, done, mpct_ref_generate_opts(ref, g->p.ids[i], g->p.count[i], (size_t)j->max_new_tokens,
                                                        g->stop, g->nstop, &o, g->gen, &n));
        MPCT_CALL_GOTO(st, done, put_row(g, i, g->gen, n));
        progress(g, i, t0);
    }
    code = 0;
done:
    if (st != MPCT_OK)
        mpct_sched_error("generate", st);
    code = g->out ? finish(g, code, i, sig, 1, 0, t0) : code;
    free(u);
    mpct_free(vocab);
    mpct_ref_free(ref);
    mpct_model_file_close(mf);
    return code;
}

/* Every rank: the description, the client's setup agreed (every replica's
 * client reads the prompts; replica 0's writes the output), the weights
 * (shared in replica 0, copied to the others). todo: prompts, done. */
static int secure_setup(gen_ctx *g, mpct_smodel **model, unsigned long long *todo)
{
    const mpct_sched_replica *r = mpct_sched_replica_of(g->s);
    const int client = r->party == g->job.client, writer = client && r->replica == 0;
    if (r->nreplicas > 1 && g->job.logits[0]) { /* every client would write the one file */
        if (r->world_rank == 0)
            fprintf(stderr, "mpct generate: error: --logits %s needs one replica: %d ranks make %d; use -np 3\n",
                    g->job.logits, r->world_size, r->nreplicas);
        return 1;
    }
    int code = mpct_sched_describe(g->s);
    uint8_t *vocab = NULL;
    size_t vlen = 0;
    code = code ? code : mpct_sched_vocab(g->s, &vocab, &vlen);
    if (code)
        return code;
    const mpct_smodel_info *info = mpct_sched_info(g->s);
    int ok = 1;
    if (client) {
        const mpct_status st = client_setup(g, vocab, vlen, &info->cfg, info->hash, "secure", writer);
        ok = st == MPCT_OK ? 1 : mpct_sched_fail(g->s, st);
    }
    mpct_free(vocab);
    if (!mpct_sched_agree(ok))
        return 1;
    unsigned long long span[2] = {writer ? g->p.n : 0, writer ? mpct_gout_done(g->out) : 0};
    mpct_sched_wbcast(r, span, sizeof span, g->job.client);
    todo[0] = span[0], todo[1] = span[1];
    return mpct_sched_weights(g->s, model, NULL);
}

/* Results of the other replicas to the writer: int32 [prompt, n, ids...];
 * [-1, 0] when a replica's client is done. */
#define GEN_TAG_ROW 4243

/* The writer's rows that arrived out of order, written in prompt order. */
typedef struct gen_rows {
    int32_t *ids;   /* [prompts x max_new] */
    size_t *n;
    uint8_t *have;
    size_t next;    /* the next prompt to write */
    int ends;       /* other replicas done */
} gen_rows;

/* Writes the rows that are next in order; progress per row written. */
static mpct_status rows_flush(gen_ctx *g, gen_rows *w, double t0)
{
    const size_t M = (size_t)g->job.max_new_tokens;
    for (; w->next < g->p.n && w->have[w->next]; w->next++) {
        MPCT_CALL(put_row(g, w->next, w->ids + w->next * M, w->n[w->next]));
        progress(g, w->next, t0);
    }
    return MPCT_OK;
}

/* The writer takes the other replicas' messages (block: until one came). */
static mpct_status rows_drain(gen_ctx *g, gen_rows *w, int block, double t0)
{
    const size_t M = (size_t)g->job.max_new_tokens;
    int32_t *m = malloc((M + 2) * sizeof *m);
    if (!m)
        return mpct_error_set(MPCT_ERR_NOMEM, "generate: out of memory");
    mpct_status st = MPCT_OK;
    for (;;) {
        int flag = 0, cnt = 0;
        MPI_Status ms;
        if (block)
            MPI_Probe(MPI_ANY_SOURCE, GEN_TAG_ROW, MPI_COMM_WORLD, &ms), flag = 1;
        else
            MPI_Iprobe(MPI_ANY_SOURCE, GEN_TAG_ROW, MPI_COMM_WORLD, &flag, &ms);
        if (!flag)
            break;
        MPI_Get_count(&ms, MPI_INT32_T, &cnt);
        if (cnt < 2 || (size_t)cnt > M + 2) {
            st = mpct_error_set(MPCT_ERR_PROTOCOL, "generate: a result message of %d words", cnt);
            break;
        }
        MPI_Recv(m, cnt, MPI_INT32_T, ms.MPI_SOURCE, GEN_TAG_ROW, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        if (m[0] < 0) {
            w->ends++;
        } else if ((size_t)m[0] < g->p.n && m[1] >= 0 && (size_t)m[1] == (size_t)cnt - 2) {
            memcpy(w->ids + (size_t)m[0] * M, m + 2, (size_t)m[1] * sizeof *m);
            w->n[m[0]] = (size_t)m[1];
            w->have[m[0]] = 1;
        } else {
            st = mpct_error_set(MPCT_ERR_PROTOCOL, "generate: a result for prompt %d of %d ids", m[0], m[1]);
            break;
        }
        if (block)
            break;
    }
    free(m);
    return st == MPCT_OK ? rows_flush(g, w, t0) : st;
}

/* One prompt: the client takes the next from the tickets and tells its
 * replica (public: the index and its token count; -1 for no more work;
 * count -1 when the client cannot go on: every party then returns
 * MPCT_ERR_ARG with *refused set); each prompt runs on PRF stream
 * 2 + index, so its result does not depend on the replica. */
static mpct_status secure_prompt(gen_ctx *g, mpct_smodel *model, mpct_smodel_work *w, mpct_sched_tickets *tk,
                                 long long *idx, size_t *nout, int can, int *refused)
{
    const mpct_sched_replica *r = mpct_sched_replica_of(g->s);
    const int client = r->party == g->job.client;
    long long m[2] = {-1, -1};
    if (client) {
        m[0] = can ? mpct_sched_tickets_next(tk) : -1;
        m[1] = m[0] >= 0 && (size_t)m[0] < g->p.n ? (long long)g->p.count[m[0]] : -1;
        m[0] = can ? m[0] : 0;
    }
    mpct_sched_rbcast(r, m, sizeof m, g->job.client);
    *idx = m[0];
    if (m[0] < 0) /* no more work */
        return MPCT_OK;
    if (m[1] <= 0) { /* the client's refusal, public: every party stops here */
        *refused = 1;
        return MPCT_ERR_ARG;
    }
    mpct_ctx_set_stream(r->ctx, 2 + (uint64_t)m[0]);
    const size_t i = (size_t)m[0];
    const mpct_sample_cfg sc = {g->job.temperature, (size_t)g->job.top_k};
    const mpct_smodel_gen_opts o = {.on_logits = g->job.logits[0] ? logits_secure : NULL, .arg = g, .sample = &sc};
    g->lprompt = i, g->lstep = 0;
    return mpct_smodel_generate(r->ctx, model, w, g->job.client, client ? g->p.ids[i] : NULL, (size_t)m[1],
                                (size_t)g->job.max_new_tokens, client ? g->stop : NULL, client ? g->nstop : 0, &o,
                                client ? g->gen : NULL, nout);
}

/* A client's prompt done: the writer keeps it for its turn, another client
 * sends it to the writer. */
static mpct_status prompt_done(gen_ctx *g, gen_rows *rows, long long i, size_t n, double t0)
{
    const size_t M = (size_t)g->job.max_new_tokens;
    if (rows) {
        memcpy(rows->ids + (size_t)i * M, g->gen, n * sizeof *g->gen);
        rows->n[i] = n;
        rows->have[i] = 1;
        return rows_drain(g, rows, 0, t0);
    }
    int32_t *m = malloc((n + 2) * sizeof *m);
    if (!m)
        return mpct_error_set(MPCT_ERR_NOMEM, "generate: out of memory");
    m[0] = (int32_t)i, m[1] = (int32_t)n;
    memcpy(m + 2, g->gen, n * sizeof *m);
    MPI_Send(m, (int)n + 2, MPI_INT32_T, g->job.client, GEN_TAG_ROW, MPI_COMM_WORLD);
    free(m);
    return MPCT_OK;
}

static int gen_secure(gen_ctx *g)
{
    const mpct_sched_config cfg = {"generate", &g->job, g->argc, g->argv, 1, 0};
    int code = mpct_sched_open(&g->s, &cfg);
    if (code)
        return code;
    mpct_smodel *model = NULL;
    mpct_smodel_work *w = NULL;
    unsigned long long todo[2] = {0, 0};
    code = secure_setup(g, &model, todo);
    if (code)
        return code;
    const mpct_sched_replica *r = mpct_sched_replica_of(g->s);
    const int client = r->party == g->job.client, writer = client && r->replica == 0;
    const size_t M = (size_t)g->job.max_new_tokens;
    gen_rows rows = {0};
    if (writer) {
        rows.ids = malloc(todo[0] * M * sizeof *rows.ids + 1);
        rows.n = calloc(todo[0] + 1, sizeof *rows.n);
        rows.have = calloc(todo[0] + 1, 1);
        rows.next = (size_t)todo[1];
    }
    mpct_sched_tickets *tk = NULL;
    mpct_status st = mpct_sched_agree(!writer || (rows.ids && rows.n && rows.have)) &&
                             !mpct_sched_tickets_open((long)todo[1], (long)todo[0], &tk)
                         ? mpct_smodel_work_new(&w) : mpct_error_set(MPCT_ERR_NOMEM, "generate: out of memory");
    const double t0 = mpct_time_now();
    int sig = 0, refused = 0;
    mpct_status wst = MPCT_OK; /* the writer's failure: its next prompt word (-1) tells its replica */
    while (st == MPCT_OK) {
        sig = mpct_sched_stop_signal(); /* the replica's parties stop at the same prompt */
        mpct_sched_rallreduce(r, &sig, 1, MPI_INT, MPI_MAX);
        if (sig)
            break;
        size_t n = 0;
        long long i = -1;
        st = secure_prompt(g, model, w, tk, &i, &n, wst == MPCT_OK, &refused);
        if (st != MPCT_OK || i < 0)
            break;
        if (client && wst == MPCT_OK) {
            wst = prompt_done(g, writer ? &rows : NULL, i, n, t0);
            if (wst != MPCT_OK)
                mpct_sched_error("generate", wst);
        }
    }
    mpct_smodel_work_free(w);
    if (client && !writer) {
        const int32_t end[2] = {-1, 0};
        MPI_Send(end, 2, MPI_INT32_T, g->job.client, GEN_TAG_ROW, MPI_COMM_WORLD);
    }
    while (writer && rows.ends < r->nreplicas - 1) { /* every other replica's rows, then its end */
        const mpct_status ds = rows_drain(g, &rows, 1, t0);
        if (ds != MPCT_OK && wst == MPCT_OK)
            mpct_sched_error("generate", wst = ds);
    }
    mpct_sched_tickets_close(tk);
    free(rows.ids), free(rows.n), free(rows.have);
    if (st != MPCT_OK && !refused) { /* a protocol or transport failure */
        mpct_sched_error("generate", st);
        code = MPCT_SCHED_EXIT_ABORT;
    } else if (refused || wst != MPCT_OK) { /* said once, by the writer */
        code = 1;
    }
    return writer ? finish(g, code, mpct_gout_done(g->out), sig, r->world_size, r->separate, t0)
                  : code ? code : sig ? 128 + sig : 0;
}

int mpct_cmd_generate(int argc, char **argv)
{
    int wrank = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &wrank);
    gen_ctx g;
    memset(&g, 0, sizeof g);
    gen_cmd.opts = mpct_tool_job_opts(MPCT_TOOL_JOB_GENERATE, &gen_cmd.nopts);
    int rc = mpct_tool_job_parse(&gen_cmd, argc, argv, 1, &g.job);
    mpct_status st;
    if (rc < 0 && (st = check_job(&g.job)) != MPCT_OK) {
        if (wrank == 0)
            mpct_sched_error("generate", st);
        rc = 2;
    }
    if (rc >= 0)
        return rc;
    g.argc = argc;
    g.argv = argv;
    mpct_sched_catch_signals();
    if (g.job.plaintext)
        rc = wrank == 0 ? gen_plaintext(&g) : 0;
    else
        rc = gen_secure(&g);
    if (g.out && mpct_gout_close(g.out, 0) != MPCT_OK) /* keeps PATH.partial for --resume */
        mpct_sched_error("generate", MPCT_ERR_IO);
    mpct_sched_close(g.s, rc);
    mpct_tok_free(g.tok);
    prompts_free(&g.p);
    free(g.gen);
    if (g.lbuf)
        mpct_free_secret(g.lbuf);
    if (g.lf && fclose(g.lf) != 0 && rc == 0) {
        mpct_sched_error("generate", mpct_error_set(MPCT_ERR_IO, "cannot write the logits file '%s'", g.job.logits));
        rc = 1;
    }
    if (g.job.plaintext)
        MPI_Bcast(&rc, 1, MPI_INT, 0, MPI_COMM_WORLD);
    return rc;
}
