/*
 * mpct_core.h — status codes, error trace, ring elements over Z_2^64 and
 * tensor shapes, fixed-point encode/decode and secure memory wiping.
 *
 * Invariants:
 *  - Ring elements are uint64_t; all arithmetic wraps mod 2^64.
 *  - A signed value v is encoded as round(v * 2^f) mod 2^64 (two's complement);
 *    f ("frac bits") is a run-time setting, default MPCT_FRAC_BITS_DEFAULT.
 *  - Shape letters used across mpct: m = rows, n = columns of an output,
 *    k = inner (reduction) dimension, t = tokens, h = hidden width.
 *
 * Uses libc only.
 */
#ifndef MPCT_CORE_H
#define MPCT_CORE_H

#include <stddef.h>
#include <stdint.h>

#define MPCT_WUR __attribute__((warn_unused_result))
#define MPCT_PRINTF(a, b) __attribute__((format(printf, a, b)))

/* Bumped whenever a party's messages change meaning or size, so that
 * mixed builds stop at the handshake (and share caches of another version
 * are not used). 2: one-word b2a, windowed comparisons, narrow truncation
 * messages (2026-11-26). 3: the embedding lookup lifted from Z_2^32, its
 * word_lift bit in the model description (2026-11-27). */
#define MPCT_PROTOCOL_VERSION 3u
#define MPCT_FRAC_BITS_DEFAULT 16
#define MPCT_GEN_FRAC_BITS_DEFAULT 20 /* mpct generate (decoders' logits need the finer grid) */
/* The fractional bits a model runs at: the L2 normalisation's rsqrt over
 * [2^-8, 2^20) (src/model/secure.c) needs 2^-8 representable (f >= 8) and
 * its output, up to 16, to fit the 43-bit working range at f - 2 bits
 * beside nonlin.c's 20 internal bits (f <= 20). */
#define MPCT_FRAC_BITS_MIN 8
#define MPCT_FRAC_BITS_MAX 20

typedef enum mpct_status {
    MPCT_OK = 0,
    MPCT_ERR_NOMEM,       /* allocation failed */
    MPCT_ERR_ARG,         /* bad argument from a user (flag, value) */
    MPCT_ERR_IO,          /* a file could not be read or written */
    MPCT_ERR_FORMAT,      /* a file or message has the wrong layout */
    MPCT_ERR_NET,         /* transport failed (peer gone, MPI error) */
    MPCT_ERR_PROTOCOL,    /* parties disagree (version, settings) */
    MPCT_ERR_CRYPTO,      /* PRF / OpenSSL failure */
    MPCT_ERR_RANGE,       /* a value outside a documented range */
    MPCT_ERR_UNSUPPORTED, /* feature not built in or not supported */
    MPCT_ERR_TIMEOUT,     /* a peer did not answer in time */
    MPCT_STATUS_COUNT
} mpct_status;

const char *mpct_status_str(mpct_status s);

/* Last error message of the calling thread (a sentence naming the problem).
 * mpct_error_set() records it and returns s so callers can `return` it; its
 * arguments may include mpct_error_msg() itself, to add context to the
 * current message (mpct_error_set(st, "%s:%zu: %s", path, line,
 * mpct_error_msg())). */
mpct_status mpct_error_set(mpct_status s, const char *fmt, ...) MPCT_PRINTF(2, 3);
const char *mpct_error_msg(void);
void mpct_error_clear(void);
/* Appends "  at file:line (func)" to the thread's trace; MPCT_CALL uses it. */
void mpct_error_trace(const char *file, int line, const char *func);
const char *mpct_error_traceback(void);

/* What the process prints besides errors (`--log-level`): ERROR errors
 * only, WARN also warnings (mpct_warnf), INFO also progress and summaries
 * (the default), DEBUG also per-range detail. Security warnings (test
 * keys, unencrypted links, parties sharing a node) are printed at every
 * level. Process-wide; set once before any work. */
typedef enum { MPCT_LOG_ERROR, MPCT_LOG_WARN, MPCT_LOG_INFO, MPCT_LOG_DEBUG } mpct_log_level;
void mpct_log_set(mpct_log_level level);
/* 1 when messages of this level are printed. */
int mpct_log_on(mpct_log_level level);
/* "error", "warn", "info", "debug" -> *level; MPCT_ERR_ARG otherwise. */
mpct_status mpct_log_parse(const char *name, mpct_log_level *level) MPCT_WUR;
/* A warning on stderr (the caller's "prog: warning: ..." text), unless the level is ERROR. */
void mpct_warnf(const char *fmt, ...) MPCT_PRINTF(1, 2);

#define MPCT_CALL(expr)                                                  \
    do {                                                                 \
        mpct_status mpct_call_s_ = (expr);                               \
        if (mpct_call_s_ != MPCT_OK) {                                   \
            mpct_error_trace(__FILE__, __LINE__, __func__);              \
            return mpct_call_s_;                                         \
        }                                                                \
    } while (0)

/* Same, but jumps to a cleanup label with the status stored in `st`. */
#define MPCT_CALL_GOTO(st, label, expr)                                  \
    do {                                                                 \
        (st) = (expr);                                                   \
        if ((st) != MPCT_OK) {                                           \
            mpct_error_trace(__FILE__, __LINE__, __func__);              \
            goto label;                                                  \
        }                                                                \
    } while (0)

/* ---- memory ---- */
/* 64-byte aligned allocation; NULL on failure (or n == 0 gives a valid ptr). */
void *mpct_alloc(size_t bytes);
void *mpct_calloc(size_t bytes);
void mpct_free(void *p);
/* A block that borrows a file's pages instead of allocating: bytes at
 * offset of fd (offset a multiple of the page size, at least one page:
 * the page in front holds the block's header), mapped private and
 * writable: writes are copy-on-write and never reach the file; reads see
 * the page cache, so nothing is allocated, copied or cleared. The caller
 * must have verified the bytes and keep the file unmodified in place (a
 * file replaced by rename, or unlinked, is fine). fd is duplicated and the
 * duplicate stays open until the block is freed, so a flock() the caller
 * holds on fd lasts as long as the block. Free with mpct_free or
 * mpct_free_secret (which does not wipe it: see core.c). NULL on failure
 * (e.g. misaligned offset): the caller then allocates and copies. */
void *mpct_map_file(int fd, uint64_t offset, size_t bytes);
/* Whether p came from mpct_map_file. */
int mpct_is_file_mapped(const void *p);
/* Zeroes memory in a way the compiler cannot elide. */
void mpct_wipe(void *p, size_t bytes);
/* Wipes the whole block (its size is in the block's header) then frees;
 * blocks of mpct_map_file are freed only. NULL is a no-op. */
void mpct_free_secret(void *p);
/* Faults in the whole pages of [p, p + bytes) with one system call (Linux
 * MADV_POPULATE_WRITE, or _READ when !write) instead of one page fault per
 * page on first touch: for a large fresh buffer about to be written (or
 * read) in full. Reading untouched memory maps the shared zero page, so a
 * read prefault allocates nothing. Below 1 MiB, or where unsupported, it
 * does nothing; contents are unchanged either way. */
void mpct_prefault(void *p, size_t bytes, int write);
/* For fresh, untouched memory that stays zero and is only read (e.g. a
 * share component known to be zero): a read prefault that, where
 * transparent huge pages are available (MADV_HUGEPAGE on the 2 MiB aligned
 * interior), maps the kernel's huge zero page: one entry per 2 MiB, no
 * memory. 173 MB: 0.0004-0.0006 s instead of 0.019-0.022 s for a read
 * prefault (3 reps, calloc'd blocks, this 2-core VM with THP "madvise"). Writes still work (copy
 * on write, which may then allocate huge pages in that range). */
void mpct_prefault_zero(void *p, size_t bytes);
/* Scratch blocks for protocol temporaries. Freeing one does not wipe it: it
 * goes to a per-thread cache (size classes; counted by mpct_alloc_current)
 * and the next scratch allocation of its class reuses it, so hot loops
 * neither clear nor page-fault memory. A thread's cache holds at most
 * mpct_scratch_cache_limit(): MPCT_SCRATCH_CACHE_MB when that is set, else
 * the larger of 256 MiB and twice the most scratch memory the process has
 * had in use at once since the last mpct_scratch_restart. A batch whose
 * temporaries outgrow 256 MiB thus still reuses them (`bench model --shape
 * minilm --batch 8`, this 2-core VM, the same binary with
 * MPCT_SCRATCH_CACHE_MB=256 against a limit of once the peak: 1.673 against
 * 1.406 s per inference; the kernel's page clearing and the wipes on free
 * had taken ~15 % of a party's perf samples). Twice, not once: the phases
 * of a pass use different size classes, and the cache must hold each
 * class's high-water count at once. At once the peak, MiniLM at batch 8
 * still missed and evicted its two 256 MiB one-hot blocks every pass (131 k
 * page faults per pass on P0 and P2, perf stat; 1.6 k at twice), BERT-base
 * at batch 8 ~2.9 GB in ~120 blocks. Without a cap neither missed once, the
 * cache then held 1.17x (MiniLM) and 1.3x (BERT-base) the peak, and the
 * peak RSS of the secure passes did not grow (those freed blocks had stayed
 * resident in the C library's heap or come straight back). Cached blocks are wiped
 * when they leave the cache: mpct_scratch_release (mpct_ctx_free calls it),
 * thread exit, process exit (the exiting thread's cache: threads still
 * running then keep theirs), or a free that would exceed the limit. The
 * contents stay inside the party's own process in the meantime, as they
 * would in a buffer kept alive. mpct_scratch_free takes any block of
 * mpct_alloc/mpct_calloc (file blocks are freed unwiped, as by
 * mpct_free_secret); contents of a scratch block are undefined. */
void *mpct_scratch_alloc(size_t bytes);
/* The same, zero-filled: clearing a reused block beats faulting in fresh
 * pages for a short-lived buffer. */
void *mpct_scratch_calloc(size_t bytes);
void mpct_scratch_free(void *p);
void mpct_scratch_release(void);
size_t mpct_scratch_cache_limit(void);
/* Releases this thread's cache (wiped), returns free heap memory to the
 * kernel and restarts the peak from the scratch memory in use now: for a
 * caller whose working set changes (after the weight sharing; mpct run
 * --batch auto or bench model moving to another batch size), so that
 * neither the cache nor the resident set carries the previous phase's
 * temporaries (a peak RSS measured next still needs its own window:
 * mpct_perf_rss_window_start). Call it while no other thread uses scratch
 * blocks. */
void mpct_scratch_restart(void);
/* High-water mark and current bytes allocated through mpct_alloc. */
size_t mpct_alloc_peak(void);
size_t mpct_alloc_current(void);

/* ---- shapes ---- */
#define MPCT_MAX_DIMS 4
typedef struct mpct_shape {
    int ndim;
    size_t dim[MPCT_MAX_DIMS];
} mpct_shape;

mpct_shape mpct_shape_1d(size_t n);
mpct_shape mpct_shape_2d(size_t m, size_t n);
mpct_shape mpct_shape_3d(size_t a, size_t b, size_t c);
size_t mpct_shape_numel(mpct_shape s);
int mpct_shape_eq(mpct_shape a, mpct_shape b);

/* ---- fixed point ---- */
/* Largest |v| encodable with f frac bits without overflow: 2^(63-f). */
uint64_t mpct_fxp_encode(double v, int frac_bits);
double mpct_fxp_decode(uint64_t x, int frac_bits);
void mpct_fxp_encode_array(const double *v, uint64_t *x, size_t n, int frac_bits);
void mpct_fxp_decode_array(const uint64_t *x, double *v, size_t n, int frac_bits);

/* ---- deterministic test RNG (not for secrets): splitmix64 ---- */
typedef struct mpct_rng {
    uint64_t s;
} mpct_rng;
uint64_t mpct_rng_next(mpct_rng *r);
double mpct_rng_uniform(mpct_rng *r); /* [0,1) */
double mpct_rng_range(mpct_rng *r, double lo, double hi);

/* Monotonic wall clock and process CPU clock in seconds. */
double mpct_time_now(void);
double mpct_time_cpu(void);

#endif
