/*
 * test_model_desc.c — the model file, the float64 reference and the secure
 * pass read one description (mpct_model_desc.h), and the public model
 * description survives its wire encoding.
 *
 * For tiny BERT models with pooling mean, cls and pooler, each with and
 * without a classifier:
 *  - the canonical table (mpct_io_tensor_count/at) is the description
 *    walked by its rule (entries outside the layers, the layer block once
 *    per layer, absent tensors skipped), with BERT's fixed count
 *    5 + 16 L (+ 2 pooler) (+ 2 classifier);
 *  - the reference holds exactly the table's tensors, each with its size;
 *  - the secure layout has BERT's 9 + 12 L shares in the description's
 *    share order, each present share's shape is its transform applied to
 *    the file shapes of its parts, absent shares are the placeholders, and
 *    every tensor of the file is a part of exactly one share.
 * Then mpct_smodel_info_encode/decode: round trip, the wire layout, and
 * refusals (short, bad magic/version/length, unterminated strings, values
 * out of range), each naming the field and leaving the output untouched.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpct_io.h"
#include "mpct_model.h"
#include "mpct_model_desc.h"
#include "../mpct_check.h"

#define SEED 3u

/* A tiny BERT with the given pooling and labels, weights from the
 * synthetic generator. */
static void write_model(const char *path, const char *pooling, int labels)
{
    mpct_model_config c;
    MUST(mpct_io_synthetic_config("tiny", NULL, &c));
    char vocab[1024];
    size_t vlen = (size_t)snprintf(vocab, sizeof vocab, "[PAD]\n[UNK]\n[CLS]\n[SEP]\n");
    for (int i = 0; i < 40; i++) vlen += (size_t)snprintf(vocab + vlen, sizeof vocab - vlen, "w%d\n", i);
    c.vocab_size = 44;
    snprintf(c.pooling, sizeof c.pooling, "%s", pooling);
    c.num_labels = labels;
    c.normalize = strcmp(pooling, "mean") == 0;
    mpct_model_writer *w = NULL;
    MUST(mpct_model_writer_open(path, &c, 8, 0, &w));
    for (size_t i = 0; i < mpct_io_tensor_count(&c); i++) {
        mpct_io_tensor_desc d;
        MUST(mpct_io_tensor_at(&c, i, &d));
        const size_t n = d.dim[0] * d.dim[1];
        double *buf = malloc(n * sizeof *buf);
        mpct_io_synthetic_tensor(&d, SEED, buf);
        MUST(mpct_model_writer_put(w, d.name, buf, n, NULL));
        free(buf);
    }
    MUST(mpct_model_writer_put_vocab(w, (const uint8_t *)vocab, vlen, 1));
    char hex[65];
    if (labels > 0) {
        const char *names[2] = {"neg", "pos"};
        MUST(mpct_model_writer_set_labels(w, names, (size_t)labels));
    }
    MUST(mpct_model_writer_close(w, hex));
}

/* The description walked by its own rule: the k-th present tensor. */
static int walk_nth(const mpct_model_desc *md, const mpct_model_config *c, size_t k, mpct_io_tensor_desc *out)
{
    size_t seen = 0;
    int block_done = 0;
    for (size_t e = 0; e < md->ntensors; e++) {
        const mpct_md_tensor *t = &md->tensors[e];
        if (t->layer) {
            if (block_done) continue;
            block_done = 1;
            size_t end = e;
            while (end < md->ntensors && md->tensors[end].layer) end++;
            for (int64_t l = 0; l < c->num_layers; l++)
                for (size_t j = e; j < end; j++)
                    if (mpct_md_present(c, md->tensors[j].when) && seen++ == k) {
                        mpct_md_tensor_desc(md, c, &md->tensors[j], l, out);
                        return 1;
                    }
            continue;
        }
        if (mpct_md_present(c, t->when) && seen++ == k) {
            mpct_md_tensor_desc(md, c, t, -1, out);
            return 1;
        }
    }
    return 0;
}

static void check_table(const mpct_model_desc *md, const mpct_model_config *c, const char *tag)
{
    const int pooler = strcmp(c->pooling, "pooler") == 0;
    const size_t want = 5 + 16 * (size_t)c->num_layers + (pooler ? 2 : 0) + (c->num_labels > 0 ? 2 : 0);
    const size_t n = mpct_io_tensor_count(c);
    CHECK(n == want, "%s: %zu tensors, BERT has %zu", tag, n, want);
    for (size_t i = 0; i < n; i++) {
        mpct_io_tensor_desc a, b;
        MUST(mpct_io_tensor_at(c, i, &a));
        CHECK(walk_nth(md, c, i, &b), "%s: the description walk ends before tensor %zu", tag, i);
        CHECK(strcmp(a.name, b.name) == 0 && a.kind == b.kind && a.ndim == b.ndim && a.dim[0] == b.dim[0] &&
                  a.dim[1] == b.dim[1],
              "%s: tensor %zu is %s [%zu x %zu], the description says %s [%zu x %zu]", tag, i, a.name, a.dim[0],
              a.dim[1], b.name, b.dim[0], b.dim[1]);
    }
    mpct_io_tensor_desc x;
    CHECK(!walk_nth(md, c, n, &x), "%s: the description walk has more than %zu tensors", tag, n);
    CHECK(mpct_io_tensor_at(c, n, &x) == MPCT_ERR_ARG, "%s: tensor %zu past the end is refused", tag, n);
}

static void check_ref(const char *path, const mpct_model_config *c, const char *tag)
{
    mpct_ref_model *ref = NULL;
    MUST(mpct_ref_load(path, &ref));
    const size_t n = mpct_ref_tensor_count(ref);
    CHECK(n == mpct_io_tensor_count(c), "%s: the reference holds %zu tensors, the table has %zu", tag, n,
          mpct_io_tensor_count(c));
    unsigned char *seen = calloc(mpct_io_tensor_count(c) + 1, 1);
    for (size_t i = 0; i < n; i++) {
        mpct_io_tensor_desc d, t;
        size_t cnt = 0;
        MUST(mpct_ref_tensor_at(ref, i, &d, &cnt));
        size_t k = 0;
        for (; k < mpct_io_tensor_count(c); k++) {
            MUST(mpct_io_tensor_at(c, k, &t));
            if (strcmp(t.name, d.name) == 0) break;
        }
        CHECK(k < mpct_io_tensor_count(c), "%s: the reference holds '%s', not in the table", tag, d.name);
        if (k == mpct_io_tensor_count(c)) continue;
        CHECK(!seen[k]++, "%s: the reference holds '%s' twice", tag, d.name);
        CHECK(cnt == t.dim[0] * t.dim[1], "%s: '%s' has %zu values in the reference, %zu in the table", tag, d.name,
              cnt, t.dim[0] * t.dim[1]);
    }
    free(seen);
    mpct_ref_free(ref);
}

static void check_secure(const char *path, const mpct_model_desc *md, const mpct_model_config *c, const char *tag)
{
    mpct_model_file *f = NULL;
    MUST(mpct_model_file_open(path, &f));
    mpct_smodel_info info;
    mpct_smodel_info_read(f, 16, &info);
    mpct_smodel *m = NULL;
    MUST(mpct_smodel_layout(&info, &m));
    const size_t n = mpct_smodel_share_count(m), nt = mpct_io_tensor_count(c);
    CHECK(n == 9 + 12 * (size_t)c->num_layers, "%s: %zu shares, the share cache expects %zu", tag, n,
          9 + 12 * (size_t)c->num_layers);
    CHECK(n == mpct_md_share_count(md, c), "%s: %zu shares, the description has %zu", tag, n,
          mpct_md_share_count(md, c));
    unsigned *used = calloc(nt + 1, sizeof *used);
    for (size_t i = 0; i < n; i++) {
        const mpct_md_share *s;
        int64_t layer;
        MUST(mpct_md_share_locate(md, c, i, &s, &layer));
        const mpct_share *x = mpct_smodel_share_get(m, i);
        size_t want[2] = {1, 1};
        int ndim = s->transform == MPCT_MD_ROWS || s->transform == MPCT_MD_TRANSPOSE ? 2 : 1;
        if (!mpct_md_share_present(md, c, s)) { /* placeholder */
            want[0] = mpct_md_dim_value(c, s->absent[0]);
            if (ndim == 2) want[1] = mpct_md_dim_value(c, s->absent[1]);
        }
        for (int p = 0; p < s->nparts && mpct_md_share_present(md, c, s); p++) {
            mpct_io_tensor_desc d, t;
            mpct_md_tensor_desc(md, c, &md->tensors[s->part[p]], layer, &d);
            size_t k = 0; /* the part is a tensor of the file's table */
            for (; k < nt; k++) {
                MUST(mpct_io_tensor_at(c, k, &t));
                if (strcmp(t.name, d.name) == 0) break;
            }
            CHECK(k < nt, "%s: share %zu reads '%s', not in the table", tag, i, d.name);
            if (k < nt) used[k]++;
            const size_t r = t.dim[0], cl = t.dim[1], np = (size_t)s->nparts;
            switch (s->transform) {
            case MPCT_MD_ROWS: want[0] = r, want[1] = cl; break;
            case MPCT_MD_ROW0: want[0] = cl; break;
            case MPCT_MD_TRANSPOSE: want[0] = cl, want[1] = np * r; break;
            case MPCT_MD_VECTOR: want[0] = np * r; break;
            }
        }
        CHECK(x->shape.ndim == ndim && x->shape.dim[0] == want[0] && (ndim == 1 || x->shape.dim[1] == want[1]) &&
                  x->n == want[0] * want[1],
              "%s: share %zu has shape %dd [%zu x %zu], want %dd [%zu x %zu]", tag, i, x->shape.ndim,
              x->shape.dim[0], x->shape.ndim == 2 ? x->shape.dim[1] : 1, ndim, want[0], want[1]);
    }
    /* BERT's share shapes, pinned (share cache entries and the forward
     * pass depend on them): the globals, layer 0, the pooler at the end */
    const size_t h = (size_t)c->hidden, ff = (size_t)c->ffn, L = (size_t)c->num_labels, nl = (size_t)c->num_layers;
    const int pooler = strcmp(c->pooling, "pooler") == 0;
    const struct {
        size_t i, d0, d1; /* d1 0: 1-D */
    } pin[] = {
        {0, (size_t)c->vocab_size, h}, {1, (size_t)c->max_positions, h}, {2, h, 0}, {3, h, 0}, {4, h, 0},
        {5, h, L ? L : 1}, {6, L ? L : 1, 0}, {7, h, 3 * h}, {8, 3 * h, 0}, {9, h, h}, {10, h, 0}, {11, h, 0},
        {12, h, 0}, {13, h, ff}, {14, ff, 0}, {15, ff, h}, {16, h, 0}, {17, h, 0}, {18, h, 0},
        {7 + 12 * nl, pooler ? h : 1, pooler ? h : 1}, {8 + 12 * nl, pooler ? h : 1, 0},
    };
    for (size_t k = 0; k < sizeof pin / sizeof pin[0] && n == 9 + 12 * nl; k++) {
        const mpct_share *x = mpct_smodel_share_get(m, pin[k].i);
        const int nd = pin[k].d1 ? 2 : 1;
        CHECK(x->shape.ndim == nd && x->shape.dim[0] == pin[k].d0 && (nd == 1 || x->shape.dim[1] == pin[k].d1),
              "%s: share %zu has shape %dd [%zu x %zu], BERT's is %dd [%zu x %zu]", tag, pin[k].i, x->shape.ndim,
              x->shape.dim[0], x->shape.ndim == 2 ? x->shape.dim[1] : 1, nd, pin[k].d0, pin[k].d1 ? pin[k].d1 : 1);
    }
    for (size_t k = 0; k < nt; k++) {
        mpct_io_tensor_desc t;
        MUST(mpct_io_tensor_at(c, k, &t));
        CHECK(used[k] == 1, "%s: the secure pass reads '%s' %u times", tag, t.name, used[k]);
    }
    /* the forward pass's attention scale is folded into Q, once */
    const mpct_md_share *qkv = &md->shares[MPCT_BERT_S_QKV_W];
    CHECK(qkv->nparts == 3 && qkv->scale_part0 && qkv->part[0] == MPCT_BERT_Q_W, "%s: Q, K, V with the scale on Q",
          tag);
    free(used);
    mpct_smodel_free(m);
    mpct_model_file_close(f);
}

/* ---- the description's wire encoding ---- */

static int info_equal(const mpct_smodel_info *a, const mpct_smodel_info *b)
{
    const mpct_model_config *x = &a->cfg, *y = &b->cfg;
    int eq = !strcmp(x->architecture, y->architecture) && x->num_layers == y->num_layers && x->hidden == y->hidden &&
             x->heads == y->heads && x->ffn == y->ffn && x->vocab_size == y->vocab_size &&
             x->max_positions == y->max_positions && x->type_vocab_size == y->type_vocab_size &&
             memcmp(&x->layer_norm_eps, &y->layer_norm_eps, sizeof(double)) == 0 && !strcmp(x->pooling, y->pooling) &&
             x->normalize == y->normalize && x->num_labels == y->num_labels && !strcmp(a->hash, b->hash) &&
             a->word_lift == b->word_lift;
    for (int i = 0; i < MPCT_IO_MAX_LABELS; i++) eq = eq && !strcmp(a->labels[i], b->labels[i]);
    return eq;
}

/* Decoding buf (len bytes) fails with status want and a message naming
 * `field`; out stays as it was. */
static void refuse(const uint8_t *buf, size_t len, mpct_status want, const char *field, const char *what)
{
    mpct_smodel_info out;
    memset(&out, 0x5a, sizeof out);
    mpct_status st = mpct_smodel_info_decode(buf, len, &out);
    CHECK(st == want, "%s: decode gives %s, want %s", what, mpct_status_str(st), mpct_status_str(want));
    CHECK(strstr(mpct_error_msg(), field) != NULL, "%s: the message names '%s': %s", what, field, mpct_error_msg());
    const unsigned char *p = (const unsigned char *)&out;
    size_t touched = 0;
    for (size_t i = 0; i < sizeof out; i++) touched += p[i] != 0x5a;
    CHECK(touched == 0, "%s: a refused decode wrote %zu bytes of the output", what, touched);
}

static void check_wire(const char *path)
{
    mpct_model_file *f = NULL;
    MUST(mpct_model_file_open(path, &f));
    mpct_smodel_info a, b;
    mpct_smodel_info_read(f, 16, &a);
    mpct_model_file_close(f);
    a.cfg.layer_norm_eps = 0x1.23456789abcdep-40; /* every mantissa bit travels */
    uint8_t w[MPCT_SMODEL_INFO_WIRE_BYTES + 8], v[sizeof w];
    size_t len = 0;
    MUST(mpct_smodel_info_encode(&a, w, sizeof w, &len));
    CHECK(len == MPCT_SMODEL_INFO_WIRE_BYTES, "encoded %zu bytes, want %d", len, MPCT_SMODEL_INFO_WIRE_BYTES);
    memset(&b, 0, sizeof b);
    MUST(mpct_smodel_info_decode(w, len, &b));
    CHECK(info_equal(&a, &b), "decode(encode(info)) differs from info");
    CHECK(!strcmp(b.labels[1], "pos") && b.cfg.num_labels == 2 && strlen(b.hash) == 64,
          "labels and hash travel: '%s', %lld labels, hash of %zu chars", b.labels[1], (long long)b.cfg.num_labels,
          strlen(b.hash));
    /* the layout: magic, version 1, length, "bert" at 16, num_layers LE at 32 */
    CHECK(!memcmp(w, "MPCTINFO", 8) && w[8] == 1 && w[9] == 0 && w[12] == (MPCT_SMODEL_INFO_WIRE_BYTES & 0xff) &&
              w[13] == (MPCT_SMODEL_INFO_WIRE_BYTES >> 8) && !memcmp(w + 16, "bert\0", 5) &&
              w[32] == (uint8_t)a.cfg.num_layers && w[33] == 0,
          "wire header and first fields as documented");
    { /* the substitutions travel, and an unknown one is refused naming the field */
        mpct_smodel_info s = a, t;
        size_t n = 0;
        snprintf(s.cfg.activation, sizeof s.cfg.activation, "quad");
        snprintf(s.cfg.attention, sizeof s.cfg.attention, "2quad");
        MUST(mpct_smodel_info_encode(&s, v, sizeof v, &n));
        memset(&t, 0, sizeof t);
        MUST(mpct_smodel_info_decode(v, n, &t));
        CHECK(!strcmp(t.cfg.activation, "quad") && !strcmp(t.cfg.attention, "2quad"),
              "activation and attention travel: '%s', '%s'", t.cfg.activation, t.cfg.attention);
        snprintf(s.cfg.activation, sizeof s.cfg.activation, "cubic");
        MUST(mpct_smodel_info_encode(&s, v, sizeof v, &n));
        refuse(v, n, MPCT_ERR_UNSUPPORTED, "activation \"cubic\"", "activation \"cubic\"");
    }
    size_t small = 0;
    CHECK(mpct_smodel_info_encode(&a, w, MPCT_SMODEL_INFO_WIRE_BYTES - 1, &small) == MPCT_ERR_ARG && small == 0,
          "encode refuses a short buffer");
    mpct_smodel_info bad = a;
    memset(bad.cfg.pooling, 'x', sizeof bad.cfg.pooling);
    CHECK(mpct_smodel_info_encode(&bad, v, sizeof v, &small) == MPCT_ERR_ARG && strstr(mpct_error_msg(), "pooling"),
          "encode refuses an unterminated pooling: %s", mpct_error_msg());

    refuse(w, 0, MPCT_ERR_PROTOCOL, "header", "empty");
    refuse(w, 15, MPCT_ERR_PROTOCOL, "header", "15 bytes");
    refuse(w, len - 1, MPCT_ERR_PROTOCOL, "length", "one byte short");
    refuse(w, len + 1, MPCT_ERR_PROTOCOL, "length", "one byte long");
    struct {
        size_t at;
        uint8_t val;
        mpct_status st;
        const char *field, *what;
    } flips[] = {
        {0, 'X', MPCT_ERR_PROTOCOL, "magic", "magic"},
        {8, 2, MPCT_ERR_PROTOCOL, "version", "version 2"},
        {12, 0, MPCT_ERR_PROTOCOL, "length", "length field"},
        {16, 'r', MPCT_ERR_UNSUPPORTED, "architecture", "architecture \"rert\""},
        {40, 0, MPCT_ERR_RANGE, "hidden", "hidden 0 (low byte; tiny's 32 fits one byte)"},
        {16 + 16 + 7 * 8 + 8, 'P', MPCT_ERR_UNSUPPORTED, "pooling", "pooling \"Pooler\""},
        {16 + 16 + 7 * 8 + 8 + 16, 5, MPCT_ERR_RANGE, "normalize", "normalize 5"},
        {len - 4, 2, MPCT_ERR_PROTOCOL, "word_lift", "word_lift 2"},
    };
    for (size_t i = 0; i < sizeof flips / sizeof flips[0]; i++) {
        memcpy(v, w, len);
        v[flips[i].at] = flips[i].val;
        refuse(v, len, flips[i].st, flips[i].field, flips[i].what);
    }
    /* eps: NaN and 0 are out of range */
    memcpy(v, w, len);
    memset(v + 16 + 16 + 7 * 8, 0xff, 8);
    refuse(v, len, MPCT_ERR_RANGE, "layer_norm_eps", "eps NaN");
    /* unterminated string fields */
    const struct {
        size_t at, width;
        const char *field;
    } strs[] = {
        {16, 16, "architecture"},
        {16 + 16 + 7 * 8 + 8, 16, "pooling"},
        {16 + 16 + 7 * 8 + 8 + 16 + 16, 65, "hash"},
        {16 + 16 + 7 * 8 + 8 + 16 + 16 + 65 + 32 * 5, 32, "labels[5]"},
    };
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++) {
        memcpy(v, w, len);
        memset(v + strs[i].at, 'a', strs[i].width);
        refuse(v, len, MPCT_ERR_PROTOCOL, strs[i].field, strs[i].field);
    }
    /* any single corrupted byte: a clean answer, never a crash */
    size_t accepted = 0;
    for (size_t i = 0; i < len; i++) {
        memcpy(v, w, len);
        v[i] ^= 0xa5;
        mpct_smodel_info out;
        accepted += mpct_smodel_info_decode(v, len, &out) == MPCT_OK;
    }
    CHECK(accepted < len, "some corruptions are refused (%zu of %zu accepted)", accepted, len);
}

int main(void)
{
    static const char *const pools[] = {"mean", "cls", "pooler"};
    const mpct_model_desc *md = mpct_md_find("bert");
    CHECK(md != NULL && mpct_md_find("t5") == NULL, "the registry has bert");
    if (!md) return 1;
    for (size_t p = 0; p < 3; p++)
        for (int labels = 0; labels <= 2; labels += 2) {
            char path[64], tag[64];
            snprintf(path, sizeof path, "desc_%s_%d.h5", pools[p], labels);
            snprintf(tag, sizeof tag, "pooling %s, %d labels", pools[p], labels);
            write_model(path, pools[p], labels);
            mpct_model_file *f = NULL;
            MUST(mpct_model_file_open(path, &f));
            const mpct_model_config c = *mpct_model_file_config(f);
            mpct_model_file_close(f);
            check_table(md, &c, tag);
            check_ref(path, &c, tag);
            check_secure(path, md, &c, tag);
        }
    check_wire("desc_pooler_2.h5");
    printf("%s\n", failures ? "FAILED" : "ok");
    return failures ? 1 : 0;
}
