/*
 * mpct_check.h — assertions for single-process tests: CHECK counts a failure
 * and goes on (the test's main returns non-zero when `failures` > 0); MUST
 * stops the test at a failed mpct call with its message and trace.
 * (Three-party tests use mpct_party3.h, whose CHECK counts per party.)
 */
#ifndef MPCT_CHECK_H
#define MPCT_CHECK_H

#include <stdio.h>
#include <stdlib.h>

static int failures = 0;

#define CHECK(cond, ...)                                                        \
    do {                                                                        \
        if (!(cond)) {                                                          \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                \
            fprintf(stderr, __VA_ARGS__);                                       \
            fputc('\n', stderr);                                                \
            failures++;                                                         \
        }                                                                       \
    } while (0)

#ifdef MPCT_CORE_H
#define MUST(expr)                                                              \
    do {                                                                        \
        mpct_status s_ = (expr);                                                \
        if (s_ != MPCT_OK) {                                                    \
            fprintf(stderr, "FAIL %s:%d: %s: %s\n%s", __FILE__, __LINE__, #expr, \
                    mpct_error_msg(), mpct_error_traceback());                  \
            exit(1);                                                            \
        }                                                                       \
    } while (0)
#endif

#endif
