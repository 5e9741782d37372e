/*
 * share_decoder.h — the set-up the in-process decoder tests share: the
 * owner opens a packed model file, every party gets the public description
 * and its weight shares, and a work area. Include after mpct_party3.h.
 */
#ifndef MPCT_TEST_SHARE_DECODER_H
#define MPCT_TEST_SHARE_DECODER_H

#include "mpct_model.h"

typedef struct test_decoder {
    mpct_model_file *f; /* the owner's only */
    mpct_smodel_info info;
    mpct_smodel *m;
    mpct_smodel_work *w;
} test_decoder;

/* Returns the failures; free d with test_decoder_free whatever they are. */
static inline int test_decoder_share(mpct_ctx_t *ctx, int owner, const char *h5, test_decoder *d)
{
    int fails = 0;
    memset(d, 0, sizeof *d);
    if (mpct_ctx_party(ctx) == owner)
        CHECK_OK(mpct_model_file_open(h5, &d->f));
    CHECK_OK(mpct_smodel_share_info(ctx, owner, d->f, &d->info));
    CHECK_OK(mpct_smodel_share(ctx, owner, d->f, &d->info, &d->m, NULL, NULL));
    CHECK_OK(mpct_smodel_work_new(&d->w));
    return fails;
}

static inline void test_decoder_free(test_decoder *d)
{
    mpct_smodel_work_free(d->w);
    mpct_smodel_free(d->m);
    mpct_model_file_close(d->f);
}

#endif
