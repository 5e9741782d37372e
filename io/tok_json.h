/*
 * tok_json.h — helpers shared by the tokenizer.json reader (io/tok_json.c:
 * vocabulary, model, loading; io/tok_json_pipe.c: normalizer, pre-tokenizer,
 * post-processor). Not installed; only io/tok_json*.c include it.
 *
 * Invariants: every tok_j_ function returns MPCT_OK or an MPCT_ERR_FORMAT /
 * MPCT_ERR_NOMEM error whose message starts with the tokenizer's name and
 * names the JSON path; none keeps a pointer into the cJSON tree.
 */
#ifndef MPCT_TOK_JSON_H
#define MPCT_TOK_JSON_H

#include <cjson/cJSON.h>

#include "tok_internal.h"

struct tok_jctx {
    const char *name; /* the file, for messages */
    int pad_optional; /* 1: a tokenizer without a padding token loads (PAD -1), for decoders */
};

/* Refuses members of o not listed in keys (NULL-terminated). */
mpct_status tok_j_check_keys(const struct tok_jctx *c, const cJSON *o, const char *path,
                             const char *const *keys) MPCT_WUR;
/* Boolean member key of o at path (def when absent or null). */
mpct_status tok_j_get_bool(const struct tok_jctx *c, const cJSON *o, const char *path, const char *key, int def,
                           int *out) MPCT_WUR;
/* The "type" string of o, or NULL. */
const char *tok_j_type_of(const cJSON *o);
/* The refusal of o's type at path, listing the supported ones. */
mpct_status tok_j_unsupported(const struct tok_jctx *c, const char *path, const cJSON *o,
                              const char *supported) MPCT_WUR;
/* A JSON string as code points (*cp malloc'd). */
mpct_status tok_j_to_cp(const struct tok_jctx *c, const char *s, const char *path, int32_t **cp,
                        size_t *n) MPCT_WUR;

/* The pipeline parts (tok_json_pipe.c); o may be NULL or JSON null where allowed. */
mpct_status tok_j_parse_norm(const struct tok_jctx *c, mpct_tok_t *tok, const cJSON *o, const char *path) MPCT_WUR;
mpct_status tok_j_parse_pre(const struct tok_jctx *c, mpct_tok_t *tok, const cJSON *o) MPCT_WUR;
/* Also sets tok->affix_names; needs the vocabulary (ids are checked). */
mpct_status tok_j_parse_post(const struct tok_jctx *c, mpct_tok_t *tok, const cJSON *o) MPCT_WUR;

#endif
