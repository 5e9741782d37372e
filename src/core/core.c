/*
 * core.c — status strings, per-thread error messages with a call trace,
 * aligned allocation with a high-water mark, blocks borrowed from files,
 * secure wiping, pre-faulting,
 * shapes, fixed-point encoding, a deterministic test RNG and clocks.
 */
#define _DEFAULT_SOURCE /* madvise (not in POSIX); set before any header */
#include "mpct_core.h"

#include <fcntl.h>
#include <pthread.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <math.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static const char *const status_names[MPCT_STATUS_COUNT] = {
    [MPCT_OK] = "ok",
    [MPCT_ERR_NOMEM] = "out of memory",
    [MPCT_ERR_ARG] = "invalid argument",
    [MPCT_ERR_IO] = "I/O error",
    [MPCT_ERR_FORMAT] = "bad format",
    [MPCT_ERR_NET] = "transport error",
    [MPCT_ERR_PROTOCOL] = "protocol mismatch",
    [MPCT_ERR_CRYPTO] = "cryptographic error",
    [MPCT_ERR_RANGE] = "value out of range",
    [MPCT_ERR_UNSUPPORTED] = "unsupported",
    [MPCT_ERR_TIMEOUT] = "timeout",
};

const char *mpct_status_str(mpct_status s)
{
    if ((int)s < 0 || s >= MPCT_STATUS_COUNT)
        return "unknown status";
    return status_names[s];
}

static _Thread_local char err_msg[1024];
static _Thread_local char err_trace[2048];

mpct_status mpct_error_set(mpct_status s, const char *fmt, ...)
{
    /* Formatted into a local buffer first: the arguments may point into
     * err_msg (a caller adding context: "%s:%zu: %s", path, line,
     * mpct_error_msg()), and vsnprintf's source and destination must not
     * overlap. */
    char msg[sizeof err_msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    memcpy(err_msg, msg, sizeof msg);
    err_trace[0] = '\0';
    return s;
}

const char *mpct_error_msg(void) { return err_msg[0] ? err_msg : "no error message recorded"; }

void mpct_error_clear(void)
{
    err_msg[0] = '\0';
    err_trace[0] = '\0';
}

void mpct_error_trace(const char *file, int line, const char *func)
{
    size_t used = strlen(err_trace);
    if (used + 1 < sizeof err_trace)
        snprintf(err_trace + used, sizeof err_trace - used, "  at %s:%d (%s)\n", file, line, func);
}

const char *mpct_error_traceback(void) { return err_trace; }

static atomic_int log_level = MPCT_LOG_INFO;

void mpct_log_set(mpct_log_level level) { atomic_store(&log_level, (int)level); }

int mpct_log_on(mpct_log_level level) { return (int)level <= atomic_load(&log_level); }

mpct_status mpct_log_parse(const char *name, mpct_log_level *level)
{
    static const char *const names[] = {"error", "warn", "info", "debug"};
    for (int i = 0; i < 4; i++)
        if (name && !strcmp(name, names[i])) {
            *level = (mpct_log_level)i;
            return MPCT_OK;
        }
    return mpct_error_set(MPCT_ERR_ARG, "log level '%s': expected error, warn, info or debug", name ? name : "");
}

void mpct_warnf(const char *fmt, ...)
{
    if (!mpct_log_on(MPCT_LOG_WARN))
        return;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
}

/* ---- memory ---- */
/* A 64-byte header in front of every block stores its size (for the
 * accounting), the pointer the C library returned and a tag; blocks that
 * borrow a file's pages (mpct_map_file) store the mapping's length and the
 * descriptor they keep open instead. */
#define HDR 64
#define TAG_HEAP 0x50414548u /* "HEAP" */
#define TAG_FILE 0x454c4946u /* "FILE" */
#define TAG_CACHED 0x48434143u /* "CACH": heap block in a scratch cache */
#define TAG_SCRATCH 0x52435353u /* "SSCR": heap block handed out by the scratch cache, in use */
typedef struct block_hdr {
    size_t bytes;
    unsigned char *raw; /* heap: what the C library returned; file: the mapping */
    uint32_t tag;
    int fd;          /* file: the descriptor kept open */
    size_t map_len;  /* file: length of the mapping */
} block_hdr;
_Static_assert(sizeof(block_hdr) <= HDR, "block header fits in front of the block");
static atomic_size_t alloc_cur, alloc_peak;
/* scratch blocks in use (TAG_SCRATCH) and their high-water mark */
static atomic_size_t scratch_live, scratch_live_peak;

static void raise_peak(atomic_size_t *peak_var, size_t cur)
{
    size_t peak = atomic_load(peak_var);
    while (cur > peak && !atomic_compare_exchange_weak(peak_var, &peak, cur))
        ;
}

static void *account_hdr(unsigned char *base, const block_hdr *h)
{
    memcpy(base, h, sizeof *h);
    size_t bytes = h->bytes;
    raise_peak(&alloc_peak, atomic_fetch_add(&alloc_cur, bytes) + bytes);
    return base + HDR;
}

static void *account(unsigned char *raw, unsigned char *base, size_t bytes)
{
    const block_hdr h = {bytes, raw, TAG_HEAP, -1, 0};
    return account_hdr(base, &h);
}

void *mpct_alloc(size_t bytes)
{
    if (bytes > SIZE_MAX - 2 * HDR)
        return NULL;
    size_t total = (bytes + HDR + 63) & ~(size_t)63;
    unsigned char *p = aligned_alloc(64, total);
    return p ? account(p, p, bytes) : NULL;
}

/* calloc, then aligned by hand: the C library knows when memory is fresh
 * from the kernel (already zero) and skips clearing it, where
 * alloc + memset would touch every page twice. */
void *mpct_calloc(size_t bytes)
{
    if (bytes > SIZE_MAX - 3 * HDR)
        return NULL;
    unsigned char *raw = calloc(1, bytes + HDR + 64);
    if (!raw)
        return NULL;
    unsigned char *base = (unsigned char *)(((uintptr_t)raw + 63) & ~(uintptr_t)63);
    return account(raw, base, bytes);
}

void *mpct_map_file(int fd, uint64_t offset, size_t bytes)
{
    long page = sysconf(_SC_PAGESIZE);
    if (page <= 0 || page < HDR || !bytes || offset < (uint64_t)page || offset % (uint64_t)page ||
        bytes > SIZE_MAX - (size_t)page)
        return NULL;
    /* one page in front of the block holds the header (written there, so
     * that page alone is copied on write) */
    const size_t len = (size_t)page + bytes;
    unsigned char *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, (off_t)(offset - (uint64_t)page));
    if (m == MAP_FAILED)
        return NULL;
    int keep = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    if (keep < 0) {
        munmap(m, len);
        return NULL;
    }
    const block_hdr h = {bytes, m, TAG_FILE, keep, len};
    return account_hdr(m + page - HDR, &h);
}

static block_hdr header_of(const void *p)
{
    block_hdr h;
    memcpy(&h, (const unsigned char *)p - HDR, sizeof h);
    return h;
}

int mpct_is_file_mapped(const void *p) { return p && header_of(p).tag == TAG_FILE; }

void mpct_free(void *p)
{
    if (!p)
        return;
    const block_hdr h = header_of(p);
    atomic_fetch_sub(&alloc_cur, h.bytes);
    if (h.tag == TAG_SCRATCH)
        atomic_fetch_sub(&scratch_live, h.bytes);
    if (h.tag == TAG_FILE) {
        munmap(h.raw, h.map_len);
        close(h.fd);
    } else {
        free(h.raw);
    }
}

void mpct_wipe(void *p, size_t bytes)
{
    if (!p || !bytes)
        return;
    /* memset at full speed, then a compiler barrier that makes the buffer
     * "used", so the stores cannot be elided (what explicit_bzero does). A
     * volatile byte loop wiped at ~1 byte per cycle: a third of a MiniLM
     * run's CPU time went there. */
    memset(p, 0, bytes);
    __asm__ __volatile__("" : : "r"(p) : "memory");
}

void mpct_free_secret(void *p)
{
    if (!p)
        return;
    /* borrowed file pages hold what the file holds (nothing to wipe); pages
     * the process wrote are private copies that munmap gives back to the
     * kernel, which clears them before any reuse. A heap block is wiped
     * whole, by the size in its header (a scratch block may have held more
     * than this use wrote; a caller's own count could only overrun it). */
    const block_hdr h = header_of(p);
    if (h.tag != TAG_FILE)
        mpct_wipe(p, h.bytes);
    mpct_free(p);
}

/* ---- scratch cache ----
 * Per-thread free lists of heap blocks by size class (4 per power of two,
 * so a block is at most 25 % larger than the request it serves). */
#define SCRATCH_MIN 4096u
#define SCRATCH_CLASSES (4 * 64)

typedef struct scratch_cache {
    void *head[SCRATCH_CLASSES]; /* next pointer in each block's first word */
    size_t bytes;                /* capacity held */
    int hooked;                  /* thread-exit destructor registered */
    int dead;                    /* the thread is exiting: cache nothing */
} scratch_cache;

static _Thread_local scratch_cache tcache;
static pthread_key_t scratch_key;
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;
static size_t scratch_limit; /* MPCT_SCRATCH_CACHE_MB: the floor, or the cap when set */
static int scratch_fixed;     /* a fixed cap: MPCT_SCRATCH_CACHE_MB was set, or 0 without a thread-exit hook */

static size_t class_size(unsigned c)
{
    const unsigned k = c / 4, j = c % 4;
    return ((size_t)1 << k) + j * ((size_t)1 << k) / 4;
}

/* The smallest class whose size is >= bytes. */
static unsigned class_up(size_t bytes)
{
    unsigned k = 63u - (unsigned)__builtin_clzll((unsigned long long)bytes);
    for (unsigned j = 0; j < 4; j++)
        if (class_size(4 * k + j) >= bytes)
            return 4 * k + j;
    return 4 * (k + 1);
}

/* The largest class whose size is <= bytes. */
static unsigned class_down(size_t bytes)
{
    unsigned k = 63u - (unsigned)__builtin_clzll((unsigned long long)bytes);
    for (unsigned j = 4; j-- > 0;)
        if (class_size(4 * k + j) <= bytes)
            return 4 * k + j;
    return 4 * k;
}

static void set_tag(void *p, uint32_t tag)
{
    block_hdr h = header_of(p);
    h.tag = tag;
    memcpy((unsigned char *)p - HDR, &h, sizeof h);
}

static void scratch_release_cache(scratch_cache *c)
{
    for (unsigned i = 0; i < SCRATCH_CLASSES; i++)
        while (c->head[i]) {
            void *p = c->head[i];
            memcpy(&c->head[i], p, sizeof(void *));
            set_tag(p, TAG_HEAP);
            mpct_free_secret(p);
        }
    c->bytes = 0;
}

static void scratch_thread_exit(void *arg)
{
    scratch_cache *c = arg;
    scratch_release_cache(c);
    c->dead = 1; /* a later free in this thread's exit is wiped at once (see mpct_scratch_free) */
}
static void scratch_process_exit(void) { scratch_release_cache(&tcache); }

static void scratch_init_once(void)
{
    const int key_ok = pthread_key_create(&scratch_key, scratch_thread_exit) == 0;
    (void)atexit(scratch_process_exit);
    const char *e = getenv("MPCT_SCRATCH_CACHE_MB");
    char *end = NULL;
    unsigned long long mb = e && *e ? strtoull(e, &end, 10) : 256;
    if ((end && *end) || (e && *e == '-'))
        mb = 256;
    else if (e && *e)
        scratch_fixed = 1;
    if (mb > ((unsigned long long)1 << 20)) /* at most 1 TiB */
        mb = (unsigned long long)1 << 20;
    scratch_limit = (size_t)mb << 20;
    if (!key_ok) /* without a thread-exit hook a thread's cache could outlive it unwiped */
        scratch_fixed = 1, scratch_limit = 0;
}

size_t mpct_scratch_cache_limit(void)
{
    pthread_once(&scratch_once, scratch_init_once);
    if (scratch_fixed)
        return scratch_limit;
    /* twice the peak: the cache must hold every size class's high-water
     * count at once, and phases of a pass use different classes (see
     * mpct_core.h) */
    const size_t peak = atomic_load(&scratch_live_peak);
    const size_t twice = peak > SIZE_MAX / 2 ? SIZE_MAX : 2 * peak;
    return twice > scratch_limit ? twice : scratch_limit;
}

/* A block leaves the cache (or the C library) for a caller: counted live. */
static void *scratch_hand_out(void *p)
{
    if (p) {
        const size_t bytes = header_of(p).bytes;
        set_tag(p, TAG_SCRATCH);
        raise_peak(&scratch_live_peak, atomic_fetch_add(&scratch_live, bytes) + bytes);
    }
    return p;
}

/* A block of its class from the cache, else a new one; zero-filled when
 * asked (a miss then uses mpct_calloc: the C library knows when memory is
 * fresh from the kernel and skips clearing it). */
static void *scratch_get(size_t bytes, int zero)
{
    if (bytes < SCRATCH_MIN || bytes > ((size_t)1 << 62))
        return zero ? mpct_calloc(bytes) : mpct_alloc(bytes);
    const unsigned c = class_up(bytes);
    void *p = tcache.head[c];
    if (!p)
        return scratch_hand_out(zero ? mpct_calloc(class_size(c)) : mpct_alloc(class_size(c)));
    memcpy(&tcache.head[c], p, sizeof(void *));
    tcache.bytes -= header_of(p).bytes;
    if (zero)
        memset(p, 0, bytes);
    return scratch_hand_out(p);
}

void *mpct_scratch_alloc(size_t bytes) { return scratch_get(bytes, 0); }
void *mpct_scratch_calloc(size_t bytes) { return scratch_get(bytes, 1); }

void mpct_scratch_free(void *p)
{
    if (!p)
        return;
    const block_hdr h = header_of(p);
    if (h.tag == TAG_CACHED) { /* a double free would hand one block to two owners */
        fputs("mpct: fatal: a scratch block was freed twice\n", stderr);
        abort();
    }
    if (h.tag == TAG_FILE || h.bytes < SCRATCH_MIN) {
        mpct_free_secret(p);
        return;
    }
    if (h.tag == TAG_SCRATCH) {
        atomic_fetch_sub(&scratch_live, h.bytes);
        set_tag(p, TAG_HEAP);
    }
    if (tcache.dead || tcache.bytes + h.bytes > mpct_scratch_cache_limit()) {
        mpct_free_secret(p);
        return;
    }
    if (!tcache.hooked) { /* thread exit releases this thread's blocks */
        (void)pthread_setspecific(scratch_key, &tcache);
        tcache.hooked = 1;
    }
    const unsigned c = class_down(h.bytes);
    set_tag(p, TAG_CACHED);
    memcpy(p, &tcache.head[c], sizeof(void *));
    tcache.head[c] = p;
    tcache.bytes += h.bytes;
}

void mpct_scratch_release(void) { scratch_release_cache(&tcache); }

void mpct_scratch_restart(void)
{
    scratch_release_cache(&tcache);
    atomic_store(&scratch_live_peak, atomic_load(&scratch_live));
#ifdef __GLIBC__
    /* blocks under the mmap threshold went back to the C library's heap,
     * still resident: return them to the kernel so that a peak RSS measured
     * next starts from what is in use */
    malloc_trim(0);
#endif
}

void mpct_prefault(void *p, size_t bytes, int write)
{
#if defined(__linux__)
#ifndef MADV_POPULATE_READ /* Linux >= 5.14; older kernels answer EINVAL */
#define MADV_POPULATE_READ 22
#define MADV_POPULATE_WRITE 23
#endif
    if (!p || bytes < ((size_t)1 << 20))
        return;
    long page = sysconf(_SC_PAGESIZE); /* glibc: from the aux vector, no system call */
    if (page <= 0)
        page = 4096;
    uintptr_t lo = ((uintptr_t)p + (uintptr_t)page - 1) & ~(uintptr_t)(page - 1);
    uintptr_t hi = ((uintptr_t)p + bytes) & ~(uintptr_t)(page - 1);
    if (hi > lo) /* best effort: on failure the pages fault in on first touch as before */
        (void)madvise((void *)lo, hi - lo, write ? MADV_POPULATE_WRITE : MADV_POPULATE_READ);
#else
    (void)p;
    (void)bytes;
    (void)write;
#endif
}

void mpct_prefault_zero(void *p, size_t bytes)
{
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    if (p && bytes >= ((size_t)4 << 20)) {
        const uintptr_t huge = (uintptr_t)2 << 20;
        uintptr_t lo = ((uintptr_t)p + huge - 1) & ~(huge - 1), hi = ((uintptr_t)p + bytes) & ~(huge - 1);
        if (hi > lo)
            (void)madvise((void *)lo, hi - lo, MADV_HUGEPAGE); /* best effort: THP may be off */
    }
#endif
    mpct_prefault(p, bytes, 0);
}

size_t mpct_alloc_peak(void) { return atomic_load(&alloc_peak); }
size_t mpct_alloc_current(void) { return atomic_load(&alloc_cur); }

/* ---- shapes ---- */
mpct_shape mpct_shape_1d(size_t n) { return (mpct_shape){1, {n, 1, 1, 1}}; }
mpct_shape mpct_shape_2d(size_t m, size_t n) { return (mpct_shape){2, {m, n, 1, 1}}; }
mpct_shape mpct_shape_3d(size_t a, size_t b, size_t c) { return (mpct_shape){3, {a, b, c, 1}}; }

size_t mpct_shape_numel(mpct_shape s)
{
    size_t n = 1;
    for (int i = 0; i < s.ndim; i++)
        n *= s.dim[i];
    return n;
}

int mpct_shape_eq(mpct_shape a, mpct_shape b)
{
    if (a.ndim != b.ndim)
        return 0;
    for (int i = 0; i < a.ndim; i++)
        if (a.dim[i] != b.dim[i])
            return 0;
    return 1;
}

/* ---- fixed point ---- */
uint64_t mpct_fxp_encode(double v, int frac_bits)
{
    double s = ldexp(v, frac_bits);
    double lim = ldexp(1.0, 63) - 1024.0;
    if (s > lim)
        s = lim;
    if (s < -lim)
        s = -lim;
    if (s != s) /* NaN encodes as 0 */
        s = 0;
    return (uint64_t)(int64_t)llround(s);
}

double mpct_fxp_decode(uint64_t x, int frac_bits) { return ldexp((double)(int64_t)x, -frac_bits); }

void mpct_fxp_encode_array(const double *v, uint64_t *x, size_t n, int frac_bits)
{
    for (size_t i = 0; i < n; i++)
        x[i] = mpct_fxp_encode(v[i], frac_bits);
}

void mpct_fxp_decode_array(const uint64_t *x, double *v, size_t n, int frac_bits)
{
    for (size_t i = 0; i < n; i++)
        v[i] = mpct_fxp_decode(x[i], frac_bits);
}

/* ---- test RNG ---- */
uint64_t mpct_rng_next(mpct_rng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

double mpct_rng_uniform(mpct_rng *r) { return (double)(mpct_rng_next(r) >> 11) * 0x1.0p-53; }
double mpct_rng_range(mpct_rng *r, double lo, double hi) { return lo + (hi - lo) * mpct_rng_uniform(r); }

double mpct_time_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

double mpct_time_cpu(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
