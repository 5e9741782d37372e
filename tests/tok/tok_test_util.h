/*
 * tok_test_util.h — helpers the tokenizer tests share: reading a whole file
 * (exits through REQUIRE when it cannot) and an independent UTF-8 validity
 * check (utf8proc_iterate), the reference the tokenizer's own decoder is
 * compared with. tok_test_read_all exists when mpct_check.h is included first.
 */
#ifndef MPCT_TOK_TEST_UTIL_H
#define MPCT_TOK_TEST_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <utf8proc.h>

#ifdef REQUIRE
/* The bytes of path, NUL-terminated (free with free); *len excludes the NUL. */
static inline char *tok_test_read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    REQUIRE(f, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    REQUIRE(n >= 0, "cannot size %s", path);
    char *b = malloc((size_t)n + 1);
    REQUIRE(b && fread(b, 1, (size_t)n, f) == (size_t)n, "cannot read %s", path);
    b[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return b;
}
#endif

/* 1 if s[0..n) is valid UTF-8 (utf8proc's decoder), else 0. */
static inline int tok_test_valid_utf8(const uint8_t *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        utf8proc_int32_t c;
        utf8proc_ssize_t k = utf8proc_iterate(s + i, (utf8proc_ssize_t)(n - i), &c);
        if (k <= 0)
            return 0;
        i += (size_t)k;
    }
    return 1;
}

#endif
