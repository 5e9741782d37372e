/*
 * mpct_check.h — the assertions every C test uses, and its summary line.
 *
 *   CHECK(cond)                  a failed check prints one record on stderr,
 *   CHECK(cond, fmt, ...)        "FAIL file:line: check failed: cond" or
 *                                "FAIL file:line: message (check failed:
 *                                cond)", counts, and the test goes on
 *   CHECK_NEAR(a, b, tol)        |a - b| <= tol, printing both values
 *   REQUIRE(cond[, fmt, ...])    a check the rest of the test depends on:
 *                                prints and counts, then exits 1
 *   CHECK_AT(line, ...)          CHECK reported at the caller's line (for
 *                                helpers that are passed __LINE__)
 *   EXPECT_ERR(expr, status, "fragment", ...)                           (*)
 *                                expr returns `status` and the thread's error
 *                                message contains every fragment (a NULL
 *                                fragment ends the list early)
 *   EXPECT_ERR_AT(line, ...)     the same at the caller's line          (*)
 *   MUST(expr)                   an mpct call that must return MPCT_OK:  (*)
 *                                prints its status, message and trace, exits 1
 *   CHECK_OK(expr)               MUST in a function that returns its     (*)
 *                                failure count (a three-party body): returns
 *                                count + 1 instead of exiting
 *   CUDA_OK(expr)                MUST for mpct_cuda_status (with mpct_cuda.h
 *                                included first)
 *   mpct_check_context(fmt, ...) a prefix for this thread's FAIL records
 *                                ("rank 3"; mpct_party3.h sets "party N")
 *   return mpct_check_done("test_x");
 *                                prints "test_x: 100% checks passed, 0 checks
 *                                failed out of N" (CTest's form; on stderr when
 *                                a check failed) and returns the exit status:
 *                                0, or 1 when a check failed
 *   (*) with mpct_core.h included first (the module headers include it).
 *
 * Invariants: a failed check is always counted and printed, so every test
 * exits non-zero on one. Failures count into MPCT_CHECK_COUNTER, an
 * identifier looked up where the check is written: `failures`, this file's
 * counter, unless a test defines MPCT_CHECK_COUNTER before including this
 * header (mpct_party3.h makes it `fails`: each party's body counts into its
 * own local, main and file-level helpers into theirs). Passed checks count
 * per thread (mpct_check_passed); mpct_test_run3 adds its parties' counts to
 * its caller's. Tests that skip return 77 themselves (CTest's
 * SKIP_RETURN_CODE). An MPI test defines MPCT_CHECK_EXIT(code) as MPI_Abort
 * before the include, so that a fatal check stops every rank.
 */
#ifndef MPCT_CHECK_H
#define MPCT_CHECK_H

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef MPCT_CHECK_COUNTER
#define MPCT_CHECK_COUNTER failures
static int failures;
#endif

#ifndef MPCT_CHECK_EXIT
#define MPCT_CHECK_EXIT(code) exit(code)
#endif

#define MPCT_CHECK_PRINTF_(a, b) __attribute__((format(printf, a, b)))

static _Thread_local long mpct_check_passed;
static _Thread_local char mpct_check_where[64];

static inline void mpct_check_context(const char *fmt, ...) MPCT_CHECK_PRINTF_(1, 2);
static inline void mpct_check_context(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(mpct_check_where, sizeof mpct_check_where, fmt, ap);
    va_end(ap);
}

/* Prints one FAIL record (a single write, so parties' records do not mix). */
static inline void mpct_check_fail(const char *file, int line, const char *fmt, ...) MPCT_CHECK_PRINTF_(3, 4);
static inline void mpct_check_fail(const char *file, int line, const char *fmt, ...)
{
    char buf[4096];
    int n = snprintf(buf, sizeof buf, "FAIL %s%s%s:%d: ", mpct_check_where, mpct_check_where[0] ? " " : "", file,
                     line);
    if (n < 0 || (size_t)n >= sizeof buf)
        n = 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + n, sizeof buf - (size_t)n, fmt, ap);
    va_end(ap);
    size_t len = strlen(buf);
    if (len == sizeof buf - 1 || buf[len - 1] != '\n') {
        if (len == sizeof buf - 1)
            len--;
        buf[len] = '\n';
        buf[len + 1] = '\0';
    }
    fputs(buf, stderr);
}

/* The length of the condition in "cond, fmt, args" (#__VA_ARGS__ of a
 * check): up to the first comma outside parentheses and literals, where the
 * preprocessor split the arguments. */
static inline int mpct_check_cond_len(const char *t)
{
    int depth = 0;
    for (const char *p = t; *p; p++) {
        if (*p == '"' || *p == '\'') {
            const char q = *p;
            for (p++; *p && *p != q; p++)
                if (*p == '\\' && p[1])
                    p++;
            if (!*p)
                break;
        } else if (*p == '(') {
            depth++;
        } else if (*p == ')') {
            depth--;
        } else if (*p == ',' && depth == 0) {
            return (int)(p - t);
        }
    }
    return (int)strlen(t);
}

/* The FAIL record of a check with a message: "message (check failed: cond)". */
static inline void mpct_check_fail_msg(const char *file, int line, const char *text, const char *fmt, ...)
    MPCT_CHECK_PRINTF_(4, 5);
static inline void mpct_check_fail_msg(const char *file, int line, const char *text, const char *fmt, ...)
{
    char msg[3072];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    mpct_check_fail(file, line, "%s (check failed: %.*s)", msg, mpct_check_cond_len(text), text);
}

#define MPCT_CHECK_IF_(line, cond, report, ...)                                                             \
    do {                                                                                                    \
        if (!(cond)) {                                                                                      \
            report(__FILE__, (line), __VA_ARGS__);                                                          \
            MPCT_CHECK_COUNTER++;                                                                           \
        } else {                                                                                            \
            mpct_check_passed++;                                                                            \
        }                                                                                                   \
    } while (0)

/* CHECK(cond) or CHECK(cond, fmt, ...): picks by the number of arguments; the
 * condition is stringified before any macro in it expands. */
#define MPCT_CHECK_NTH_(a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15, a16, a17, a18, a19, a20, \
                        a21, a22, a23, a24, a25, a26, a27, a28, a29, a30, a31, a32, kind, ...)                     \
    kind
#define MPCT_CHECK_KIND_(...)                                                                                      \
    MPCT_CHECK_NTH_(__VA_ARGS__, MSG_, MSG_, MSG_, MSG_, MSG_, MSG_, MSG_, MSG_, MSG_, MSG_, MSG_, MSG_, MSG_,     \
                    MSG_, MSG_, MSG_, MSG_, MSG_, MSG_, MSG_, MSG_, MSG_, MSG_, MSG_, MSG_, MSG_, MSG_, MSG_, MSG_, \
                    MSG_, MSG_, BARE_, unused)
#define MPCT_CHECK_PASTE_(a, b) a##b
#define MPCT_CHECK_PICK2_(kind) MPCT_CHECK_PASTE_(MPCT_CHECK_, kind)
#define MPCT_CHECK_PICK_(...) MPCT_CHECK_PICK2_(MPCT_CHECK_KIND_(__VA_ARGS__))
#define MPCT_CHECK_BARE_(line, text, cond) MPCT_CHECK_IF_(line, cond, mpct_check_fail, "check failed: %s", text)
#define MPCT_CHECK_MSG_(line, text, cond, ...) MPCT_CHECK_IF_(line, cond, mpct_check_fail_msg, text, __VA_ARGS__)

#define CHECK(...) MPCT_CHECK_PICK_(__VA_ARGS__)(__LINE__, #__VA_ARGS__, __VA_ARGS__)
#define CHECK_AT(line, ...) MPCT_CHECK_PICK_(__VA_ARGS__)(line, #__VA_ARGS__, __VA_ARGS__)

#define REQUIRE(...)                                                                                        \
    do {                                                                                                    \
        const int mpct_require_f_ = MPCT_CHECK_COUNTER;                                                     \
        MPCT_CHECK_PICK_(__VA_ARGS__)(__LINE__, #__VA_ARGS__, __VA_ARGS__);                                 \
        if (MPCT_CHECK_COUNTER != mpct_require_f_)                                                          \
            MPCT_CHECK_EXIT(1);                                                                             \
    } while (0)

#define CHECK_NEAR(a, b, tol)                                                                               \
    do {                                                                                                    \
        const double mpct_near_a_ = (double)(a), mpct_near_b_ = (double)(b);                                \
        MPCT_CHECK_IF_(__LINE__, fabs(mpct_near_a_ - mpct_near_b_) <= (tol), mpct_check_fail,               \
                       "|%s - %s| = |%.17g - %.17g| > %g", #a, #b, mpct_near_a_, mpct_near_b_,              \
                       (double)(tol));                                                                      \
    } while (0)

/* What needs mpct_status (*). */
#ifdef MPCT_CORE_H
/* The FAIL record of an mpct call that did not return MPCT_OK. */
static inline void mpct_check_fail_status(const char *file, int line, const char *expr, mpct_status s)
{
    mpct_check_fail(file, line, "%s -> %s: %s\n%s", expr, mpct_status_str(s), mpct_error_msg(),
                    mpct_error_traceback());
}

/* Checks status and message fragments (const char *, NULL-terminated);
 * returns the number of failures to count. */
static inline int mpct_check_err(const char *file, int line, const char *expr, mpct_status got, int want, ...)
{
    const char *m = mpct_error_msg();
    if (got != (mpct_status)want) {
        mpct_check_fail(file, line, "%s -> %s, expected %s%s%s", expr, mpct_status_str(got),
                        mpct_status_str((mpct_status)want), got == MPCT_OK ? "" : ": ", got == MPCT_OK ? "" : m);
        return 1;
    }
    int bad = 0;
    va_list ap;
    va_start(ap, want);
    for (const char *frag; (frag = va_arg(ap, const char *)) != NULL;)
        if (!strstr(m, frag)) {
            mpct_check_fail(file, line, "%s: message lacks '%s': %s", expr, frag, m);
            bad++;
        }
    va_end(ap);
    if (!bad)
        mpct_check_passed++;
    return bad;
}

#define EXPECT_ERR_AT(line, expr, ...) \
    (MPCT_CHECK_COUNTER += mpct_check_err(__FILE__, (line), #expr, (expr), __VA_ARGS__, (const char *)NULL))
#define EXPECT_ERR(expr, ...) EXPECT_ERR_AT(__LINE__, expr, __VA_ARGS__)

#define MUST(expr)                                                                                          \
    do {                                                                                                    \
        mpct_status mpct_must_s_ = (expr);                                                                  \
        if (mpct_must_s_ != MPCT_OK) {                                                                      \
            mpct_check_fail_status(__FILE__, __LINE__, #expr, mpct_must_s_);                                \
            MPCT_CHECK_EXIT(1);                                                                             \
        }                                                                                                   \
    } while (0)

#define CHECK_OK(expr)                                                                                      \
    do {                                                                                                    \
        mpct_status mpct_must_s_ = (expr);                                                                  \
        if (mpct_must_s_ != MPCT_OK) {                                                                      \
            mpct_check_fail_status(__FILE__, __LINE__, #expr, mpct_must_s_);                                \
            return MPCT_CHECK_COUNTER + 1;                                                                  \
        }                                                                                                   \
    } while (0)
#endif

#ifdef MPCT_CUDA_H
#define CUDA_OK(expr)                                                                                       \
    do {                                                                                                    \
        mpct_cuda_status mpct_cuda_s_ = (expr);                                                             \
        if (mpct_cuda_s_ != MPCT_CUDA_OK) {                                                                 \
            mpct_check_fail(__FILE__, __LINE__, "%s -> %s: %s", #expr, mpct_cuda_status_str(mpct_cuda_s_),  \
                            mpct_cuda_error_msg());                                                         \
            MPCT_CHECK_EXIT(1);                                                                             \
        }                                                                                                   \
    } while (0)
#endif

/* The summary line; returns the test's exit status. */
static inline int mpct_check_summary(const char *name, int failed)
{
    const long total = mpct_check_passed + failed;
    int pct = total ? (int)(100 * mpct_check_passed / total) : 100;
    if (failed && pct == 100)
        pct = 99;
    FILE *out = failed ? stderr : stdout;
    fprintf(out, "%s%s%s: %d%% checks passed, %d checks failed out of %ld\n", mpct_check_where,
            mpct_check_where[0] ? " " : "", name, pct, failed, total);
    fflush(out);
    return failed ? 1 : 0;
}

#define mpct_check_done(name) mpct_check_summary((name), MPCT_CHECK_COUNTER)

#endif
