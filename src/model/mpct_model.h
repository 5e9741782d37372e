/*
 * mpct_model.h — BERT-family encoder models (BERT, DistilBERT, RoBERTa,
 * XLM-R: one graph, laid out by the architecture's description,
 * mpct_model_desc.h) and the decoders (GPT-2, LLaMA; below). This header
 * holds the plaintext float64 references (prefix mpct_ref_): the simple,
 * readable oracles that the secure passes are checked against; and the
 * secure passes (prefix mpct_smodel_): the encoder's forward pass, the
 * decoder's passes over a secret KV cache and secure greedy generation.
 *
 * Graph (Hugging Face BertModel, then sentence-transformers or BertPooler pooling):
 *   x = LN(word[id] + position[o + i] + token_type[0])
 *         o: the description's position offset (0; RoBERTa 2); no
 *         token_type term without a token-type table (DistilBERT)
 *   per layer: a = softmax(Q K^T / sqrt(d_head) + mask) V   (per head; Q, K, V
 *              are heads x d_head wide: hidden unless heads were pruned)
 *              x = LN(x + a Wo^T + bo)
 *              x = LN(x + gelu_erf(x Wup^T + bup) Wdown^T + bdown)
 *   e = pooling of x by cfg.pooling:
 *         "mean"    mean over real tokens of x (sentence-transformers),
 *         "cls"     x[0], the final hidden state of [CLS],
 *         "pooler"  tanh(Wp x[0] + bp) (Hugging Face BertPooler; the input
 *                   of BertForSequenceClassification's classifier; RoBERTa's
 *                   classifier.dense), ReLU(Wp x[0] + bp) for DistilBERT's
 *                   pre_classifier;
 *   e /= ||e||_2 when normalize;
 *   logits = Wc e + bc when the model has a classification head.
 * Shapes: b = batch, t = tokens per row (padded), h = hidden.
 * Masked (padding) keys are excluded from the softmax; padding rows are
 * computed but excluded from pooling.
 *
 * Uses mpct_io (dequantized weights) and mpct_core.
 */
#ifndef MPCT_MODEL_H
#define MPCT_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "mpct_core.h"
#include "mpct_io.h"

typedef struct mpct_ref_model mpct_ref_model; /* opaque; weights wiped on free */

/* Loads every tensor of an mpct model file, dequantized to double. */
mpct_status mpct_ref_load(const char *path, mpct_ref_model **out) MPCT_WUR;
void mpct_ref_free(mpct_ref_model *m);
const mpct_model_config *mpct_ref_config(const mpct_ref_model *m);
/* The tensors the reference holds (read through the architecture's
 * description): how many, and the i-th's mpct path and shape with its
 * element count, in the order of the description's table (the tensors
 * outside the layers first, then layer by layer). */
size_t mpct_ref_tensor_count(const mpct_ref_model *m);
mpct_status mpct_ref_tensor_at(const mpct_ref_model *m, size_t i, mpct_io_tensor_desc *d, size_t *n) MPCT_WUR;

/* ids, mask: [b x t] row-major (mask 1 = real token, 0 = padding; every row
 * needs at least one real token; t <= max_positions less the position
 * offset; a real token may not be the padding id of an architecture whose
 * positions count from it). emb: [b x h].
 * logits: [b x num_labels] or NULL. Errors name the row and column. */
mpct_status mpct_ref_forward(const mpct_ref_model *m, const int32_t *ids, const int32_t *mask,
                             size_t b, size_t t, double *emb, double *logits) MPCT_WUR;

/* Exact GeLU: x/2 (1 + erf(x / sqrt 2)). */
double mpct_ref_gelu(double x);

/* ---- decoders (GPT-2, LLaMA; mpct_model_desc.h's MPCT_DEC_* tensors) ----
 * Graph (Hugging Face GPT2LMHeadModel / LlamaForCausalLM):
 *   x = word[id] (+ position[p] for GPT-2's learned positions)
 *   per layer: u = N1(x); q, k, v = u Wq^T + bq, u Wk^T + bk, u Wv^T + bv
 *              (LLaMA: no biases; RoPE on q and k at position p, Hugging
 *              Face's rotate_half pairing i with i + d/2, base rope_theta)
 *              per head: softmax(q k^T / sqrt(head_dim)) v over positions
 *              0 .. p (causal), head hd reading key/value head
 *              hd / (heads / kv_heads) (grouped-query attention)
 *              x += ctx Wo^T + bo
 *              u = N2(x); x += down(gelu_tanh(up u)) for GPT-2,
 *                         x += down(silu(gate u) * up u) for LLaMA
 *   logits = NF(x) Whead^T, Whead the word table when tied.
 *   N: LayerNorm (GPT-2) or RMSNorm x / sqrt(mean(x^2) + eps) * g (LLaMA).
 * A KV cache keeps every layer's keys (after RoPE) and values; a pass over
 * n new tokens appends theirs. Prefill (the prompt) and single-token steps
 * are the same call; their logits are bit-identical to one pass over the
 * whole sequence. */
typedef struct mpct_ref_kv mpct_ref_kv; /* opaque; wiped on free */
/* A cache of cap positions (1..max_positions) for decoder m. */
mpct_status mpct_ref_kv_new(const mpct_ref_model *m, size_t cap, mpct_ref_kv **out) MPCT_WUR;
void mpct_ref_kv_free(mpct_ref_kv *kv); /* NULL is a no-op */
size_t mpct_ref_kv_len(const mpct_ref_kv *kv);  /* positions held */
void mpct_ref_kv_reset(mpct_ref_kv *kv);        /* empties it (a new sequence) */
/* Runs n >= 1 new tokens at positions len .. len+n-1 and appends them to
 * kv; logits [vocab_size]: the last new position's. Errors: an encoder, an
 * id outside the vocabulary, a cache too small. */
mpct_status mpct_ref_decode(const mpct_ref_model *m, mpct_ref_kv *kv, const int32_t *ids, size_t n,
                            double *logits) MPCT_WUR;
/* Same with the logits of every new position: [n x vocab_size]. */
mpct_status mpct_ref_decode_all(const mpct_ref_model *m, mpct_ref_kv *kv, const int32_t *ids, size_t n,
                                double *logits) MPCT_WUR;
/* Greedy generation: the prompt (n >= 1 tokens), then up to max_new tokens,
 * each the argmax of the previous logits (the first of equal maxima, as
 * torch.argmax), written to out (capacity max_new); stops after a token of
 * stop[0..nstop) (which is kept in out, as transformers' generate does).
 * *nout: tokens written. n + max_new - 1 <= max_positions. */
mpct_status mpct_ref_generate(const mpct_ref_model *m, const int32_t *prompt, size_t n, size_t max_new,
                              const int32_t *stop, size_t nstop, int32_t *out, size_t *nout) MPCT_WUR;
int32_t mpct_ref_argmax(const double *logits, size_t n);
/* The same with options (NULL: greedy): with sample set and its
 * temperature > 0, token k is mpct_ref_sample(logits, sample, u[k]), u
 * holding max_new draws in [0, 1); on_logits (NULL: none) sees each
 * step's logits (vocab_size values) before its token is chosen. */
typedef struct mpct_sample_cfg mpct_sample_cfg;
typedef struct mpct_ref_gen_opts {
    const mpct_sample_cfg *sample;
    const double *u;
    mpct_status (*on_logits)(const double *logits, size_t V, void *arg);
    void *arg;
} mpct_ref_gen_opts;
mpct_status mpct_ref_generate_opts(const mpct_ref_model *m, const int32_t *prompt, size_t n, size_t max_new,
                                   const int32_t *stop, size_t nstop, const mpct_ref_gen_opts *o, int32_t *out,
                                   size_t *nout) MPCT_WUR;
/* GPT-2's "gelu_new": x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))). */
double mpct_ref_gelu_tanh(double x);
/* x / (1 + exp(-x)). */
double mpct_ref_silu(double x);

/* ---- the secure model (prefix mpct_smodel_) ----
 * Weights as replicated shares, laid out for X * W (W is [in x out], the
 * transpose of the file's [out x in]); Q's weight and bias carry the
 * 1/sqrt(d_head) attention scale, and Q, K, V are one [h x 3h] matrix so
 * their products share one round. Weight values are secret; the config
 * (shape) and the content hash are public to the parties. */
#include "mpct_mpc.h"

typedef struct mpct_smodel mpct_smodel; /* opaque; shares wiped on free */

/* The public model description every party of a replica needs. */
typedef struct mpct_smodel_info {
    mpct_model_config cfg;
    char hash[65];
    char labels[MPCT_IO_MAX_LABELS][32];
    /* 1 when the owner found every word-embedding entry below 2^(29-f) in
     * magnitude: the lookup then runs mod 2^32 and is lifted to Z_2^64
     * (mpct_share_matmul_sparse_lift), else it takes the one-round 64-bit
     * product. Public: one bit about the table, which real tables (entries
     * below 10; f = 16 allows 8192) always set. */
    int32_t word_lift;
} mpct_smodel_info;

/* Owner: f is the open model file; others pass NULL. Everyone gets info
 * (one round from the owner to both other parties: the encoded description,
 * MPCT_SMODEL_INFO_WIRE_BYTES bytes each). The owner also reads
 * the word-embedding table to set info->word_lift. */
mpct_status mpct_smodel_share_info(mpct_ctx_t *ctx, int owner, const mpct_model_file *f,
                                   mpct_smodel_info *info) MPCT_WUR;
/* Its two halves, for callers that move info themselves (the tools
 * broadcast it over MPI_COMM_WORLD to every replica): the owner fills info
 * from its file (word_lift 0 when the table cannot be read: sharing it
 * reports that), and every party checks what it received. */
void mpct_smodel_info_read(const mpct_model_file *f, int frac_bits, mpct_smodel_info *info);
mpct_status mpct_smodel_info_accept(mpct_smodel_info *info) MPCT_WUR;
/* The description as bytes, for every transport (the parties' round, an
 * MPI broadcast): an explicit little-endian encoding with magic, version
 * and length, of exactly MPCT_SMODEL_INFO_WIRE_BYTES bytes (src/model/
 * info_wire.c gives the layout). encode needs cap >= that and sets *len;
 * decode checks the header, every field and then runs
 * mpct_smodel_info_accept, naming the field in errors, and writes info only
 * on success. */
#define MPCT_SMODEL_INFO_WIRE_BYTES 2293
mpct_status mpct_smodel_info_encode(const mpct_smodel_info *info, uint8_t *buf, size_t cap, size_t *len) MPCT_WUR;
mpct_status mpct_smodel_info_decode(const uint8_t *buf, size_t len, mpct_smodel_info *info) MPCT_WUR;
/* Owner reads each tensor once and secret-shares it (others pass f = NULL).
 * Progress callback (may be NULL) gets (tensors done, total). */
mpct_status mpct_smodel_share(mpct_ctx_t *ctx, int owner, const mpct_model_file *f,
                              const mpct_smodel_info *info, mpct_smodel **out,
                              void (*progress)(size_t done, size_t total, void *arg), void *arg) MPCT_WUR;
void mpct_smodel_free(mpct_smodel *m);

/* How this party's share i of a freshly shared model (mpct_smodel_share)
 * can be remade without storing it whole: component s[c] with bit c of
 * `stored` set carries data and must be kept as words; the others are
 * remade by mpct_smodel_regen from the recipe (seed, stream_id, pos), whose
 * seed is opaque to callers and holds the weight-sharing key on the two
 * parties that know it (wipe it after use; a cache that keeps it is that
 * party's secret, src/cache/CACHE.md). */
#define MPCT_SMODEL_SEED_BYTES 18
typedef struct mpct_smodel_recipe {
    uint8_t seed[MPCT_SMODEL_SEED_BYTES];
    uint64_t stream_id, pos;
    unsigned stored; /* bit c: s[c] is data */
} mpct_smodel_recipe;
/* 1 and fills *r for share i when m came from mpct_smodel_share (and its
 * origin is not forgotten); 0 for a model that was copied or loaded. No
 * side effects. */
int mpct_smodel_share_recipe(const mpct_smodel *m, size_t i, mpct_smodel_recipe *r);
/* Remakes component comp (0 or 1, not stored) of n words from a recipe's
 * seed (seed_len bytes), stream_id and pos into out, which is zero on entry;
 * MPCT_ERR_FORMAT for a seed that is not a recipe's or a stored component.
 * The signature of the share cache's regenerator (user unused). */
mpct_status mpct_smodel_regen(void *user, const uint8_t *seed, size_t seed_len, uint64_t stream_id, uint64_t pos,
                              int comp, uint64_t *out, size_t n) MPCT_WUR;
/* Wipes the origin (the weight key among it): mpct_smodel_share_recipe
 * answers 0 from then on. Called as soon as the shares are stored. */
void mpct_smodel_forget_origin(mpct_smodel *m);
const mpct_smodel_info *mpct_smodel_get_info(const mpct_smodel *m);
/* Every weight share of the model in a fixed order, for copying a party's
 * shares to the same party of another replica (count, then i-th): _get
 * reads it; _write hands it out to be changed (a cache fill, a copy from
 * another replica; a work space made before is then stale: free it). */
size_t mpct_smodel_share_count(const mpct_smodel *m);
const mpct_share *mpct_smodel_share_get(const mpct_smodel *m, size_t i);
mpct_share *mpct_smodel_share_write(mpct_smodel *m, size_t i);
/* Marks every weight share as input by party `owner` (its component
 * x_{owner-1} is zero: mpct_share.zero_comp), for shares that came from the
 * cache or another replica; products with them then run one GEMM per party.
 * A wrong mark costs speed, never correctness (see matmul_local). */
void mpct_smodel_hint_owner(mpct_smodel *m, int owner);
/* Allocates a model with the shapes of info (zero shares), to receive copies. */
mpct_status mpct_smodel_alloc(const mpct_smodel_info *info, mpct_smodel **out) MPCT_WUR;
/* The same shapes without arrays: every share has shape and n set and
 * s[0] = s[1] = NULL, for the share cache to fill (mpct_cache_get with
 * map_files allocates or maps each). mpct_smodel_free frees what is set. */
mpct_status mpct_smodel_layout(const mpct_smodel_info *info, mpct_smodel **out) MPCT_WUR;

/* The client's inputs of a batch as shares (3 input rounds, the client sends
 * b*t*V + b*t + b words): one-hot rows, padding mask and 1/n as described
 * for mpct_smodel_forward. ids and counts are read on the client only (NULL
 * elsewhere): row r's tokens are ids[r*ld .. r*ld + counts[r]), each count in
 * 1..t. The plaintext staging buffers are wiped. */
mpct_status mpct_smodel_input(mpct_ctx_t *ctx, int client, const mpct_smodel_info *info, const int32_t *ids,
                              size_t ld, const int32_t *counts, size_t b, size_t t, mpct_share *onehot,
                              mpct_share *mask, mpct_share *inv_n) MPCT_WUR;

/* What forward passes of one model derive from it and keep between batches
 * (the word table's low halves for the lifted lookup): owned by the caller,
 * so the model itself is never changed by a forward pass. A work space
 * belongs to one model and one party; free it (it wipes) when the model's
 * shares change or the model is freed. */
typedef struct mpct_smodel_work mpct_smodel_work;
mpct_status mpct_smodel_work_new(mpct_smodel_work **out) MPCT_WUR;
void mpct_smodel_work_free(mpct_smodel_work *w); /* NULL is a no-op */

/* Secure forward pass of a batch of b rows of t tokens.
 *   w:                the model's work space (NULL: none kept; the lifted
 *                     lookup then multiplies 64-bit words, same result)
 *   onehot [b*t x V]: arithmetic 0/1 integers (not fixed point), row r has a
 *                     1 at its token id (all zero rows allowed for padding)
 *   mask   [b x t]:   arithmetic 0/1 integers, 1 = real token
 *   inv_n  [b]:       fixed point 1 / (real tokens of the row)
 *   emb    [b x h]:   mean-pooled (and L2-normalised when cfg.normalize)
 *   logits [b x L]:   classification head (only when num_labels > 0; else NULL)
 * Output shares are allocated when passed zeroed. */
mpct_status mpct_smodel_forward(mpct_ctx_t *ctx, const mpct_smodel *m, mpct_smodel_work *w, const mpct_share *onehot,
                                const mpct_share *mask, const mpct_share *inv_n, size_t b, size_t t,
                                mpct_share *emb, mpct_share *logits) MPCT_WUR;

/* ---- the secure decoders (GPT-2, LLaMA; src/model/secure_decoder.c) ----
 * mpct_smodel_share shares a decoder through its description's share table
 * (mpct_model_desc.h, MPCT_DEC_S_*) like an encoder, so the share cache,
 * replica copies and mpct_smodel_layout work alike; mpct_smodel_forward
 * refuses a decoder. Same graph as mpct_ref_decode, over shares. */

/* A secret KV cache: per layer the shares of K (after RoPE) and V rows of
 * up to cap positions (1..max_positions); opaque, wiped on free. */
typedef struct mpct_smodel_kv mpct_smodel_kv;
mpct_status mpct_smodel_kv_new(const mpct_smodel *m, size_t cap, mpct_smodel_kv **out) MPCT_WUR;
void mpct_smodel_kv_free(mpct_smodel_kv *kv); /* NULL is a no-op */
size_t mpct_smodel_kv_len(const mpct_smodel_kv *kv); /* positions held (public) */
void mpct_smodel_kv_reset(mpct_smodel_kv *kv);       /* empties it (a new sequence) */
/* A view (no copy, do not free) of layer's K (value 0) or V (value 1)
 * rows 0 .. len-1, [len x kv_heads head_dim] flattened. */
mpct_status mpct_smodel_kv_rows(const mpct_smodel_kv *kv, size_t layer, int value, mpct_share *view) MPCT_WUR;

/* The client's n tokens as one-hot rows [n x V] (1 round, the client sends
 * n V words); ids read on the client only (NULL elsewhere), each checked
 * against the vocabulary there. */
mpct_status mpct_smodel_input_tokens(mpct_ctx_t *ctx, int client, const mpct_smodel_info *info, const int32_t *ids,
                                     size_t n, mpct_share *onehot) MPCT_WUR;

/* One pass over n >= 1 new tokens (onehot [n x V]) at the public positions
 * len .. len+n-1 of kv, appending their K and V rows: a prefill (the
 * prompt, causal attention among the new rows) or a step (n = 1, attending
 * to the whole cache). logits [1 x V]: the last new position's, as shares;
 * idx (NULL to skip): their argmax (mpct_nl_argmax, exact 64-bit
 * comparisons, the lowest index of equal maxima) as an integer share.
 * Errors: an encoder, a full cache, a one-hot of the wrong size. */
mpct_status mpct_smodel_decode(mpct_ctx_t *ctx, const mpct_smodel *m, mpct_smodel_work *w, mpct_smodel_kv *kv,
                               const mpct_share *onehot, size_t n, mpct_share *logits, mpct_share *idx) MPCT_WUR;

/* Sampling settings: temperature T > 0 (0 in a caller's settings means
 * greedy, which does not come here); top_k 0 or >= V: every entry, else
 * the k largest (and every entry equal to the k-th). */
struct mpct_sample_cfg {
    double temperature;
    size_t top_k;
};
/* Secure sampling (src/model/secure_sample.c, where the protocol and its
 * costs are): per row of logits [R x V], idx (R integer shares) gets a token drawn from
 * softmax(logits / T) restricted to the top k, with u uniform in [0, 1)
 * on f bits drawn from the parties' PRF streams (no party knows or chooses
 * it; no communication for the draw itself). u_out (NULL to skip) gets the R u's
 * shares (tests). Valid while |logits| / T < 256; probabilities below 2^-f
 * are never drawn. Rounds: 2 + softmax's + 2 (b2a) + 9, and with top-k
 * 18 (9 + f) + 9 more. */
mpct_status mpct_smodel_sample(mpct_ctx_t *ctx, const mpct_share *logits, const mpct_sample_cfg *c, mpct_share *idx,
                               mpct_share *u_out) MPCT_WUR;
/* The float64 twin given u: the index of the first prefix sum of
 * softmax(logits / T) (top-k restricted) above u, i.e. #{j < V-1 : c_j <= u}. */
mpct_status mpct_ref_sample(const double *logits, size_t V, const mpct_sample_cfg *c, double u,
                            int32_t *out) MPCT_WUR;

/* Secure greedy generation. The prompt's n tokens and every chosen token
 * are the client's alone: after each pass the argmax is revealed to the
 * client only, and the client inputs that token's one-hot row as the next
 * step's input. Why revealed to the client rather than kept shared: the
 * client is the one party entitled to the output, it learns nothing it
 * would not learn from the generated text, and feeding its one-hot back
 * costs one input round (V words from the client) where keeping the token
 * shared would need the one-hot from mpct_nl_argmax (log4 V more rounds);
 * the other parties see neither the tokens nor the logits in either case.
 * Public to all parties: the prompt length n, the number of tokens
 * generated and so when a stop token ended generation early: after each
 * step the client sends both others one public bit (continue or stop).
 * prompt, stop[0..nstop) and out (capacity max_new) are read and written
 * on the client only (NULL elsewhere); *nout (tokens generated, a stop
 * token included as in mpct_ref_generate) on every party.
 * n + max_new - 1 <= max_positions. */
typedef struct mpct_smodel_gen_opts {
    /* called after each pass with its logits shares (every party, same
     * point of the protocol): tests and tools that report them; NULL: none */
    mpct_status (*on_logits)(mpct_ctx_t *ctx, const mpct_share *logits, void *arg);
    void *arg;
    /* sampling (NULL or temperature 0: greedy, the argmax): each token is
     * mpct_smodel_sample's draw, revealed to the client only */
    const mpct_sample_cfg *sample;
    /* called after each draw with u's shares (tests that replay the draw
     * with mpct_ref_sample); NULL: none */
    mpct_status (*on_sample)(mpct_ctx_t *ctx, const mpct_share *u, void *arg);
} mpct_smodel_gen_opts;
mpct_status mpct_smodel_generate(mpct_ctx_t *ctx, const mpct_smodel *m, mpct_smodel_work *w, int client,
                                 const int32_t *prompt, size_t n, size_t max_new, const int32_t *stop, size_t nstop,
                                 const mpct_smodel_gen_opts *o, int32_t *out, size_t *nout) MPCT_WUR;

#endif
