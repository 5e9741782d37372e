/*
 * test_out.c — the output file of `mpct run` (io/mpct_out.h, io/OUTPUT.md).
 *
 *  1. create, write rows out of order, done flags, close incomplete:
 *     PATH.partial exists and PATH does not; values read back with HDF5;
 *  2. resume: the done flags survive; write the rest; close complete:
 *     PATH exists with complete = 1, the .partial is gone; close complete
 *     with rows missing is refused;
 *  3. resume with a changed model hash / inputs / frac_bits / num_labels:
 *     errors naming the field;
 *  4. an unwritable output path (under a regular file) fails at open;
 *  5. a fork()ed child creates the file, writes some rows and _exits
 *     without closing; the parent resumes and sees exactly those rows done
 *     with their values; a second child does the same on a resumed file;
 *  6. no classification head: no /logits or /label;
 *  7. format 3's self-describing layout (UTF-8 strings, label_names array,
 *     units and description on every dataset); format 2 still read, its
 *     resume refused.
 * Files go to the working directory (the build tree); rio_complete.h5 is
 * left for the h5dump test.
 */
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mpct_out.h"
#include "../mpct_check.h"


#define N 10
#define DIM 4
#define NL 3
#define HASH_A "aaaa0000aaaa0000aaaa0000aaaa0000aaaa0000aaaa0000aaaa0000aaaa0000"
#define HASH_B "bbbb1111bbbb1111bbbb1111bbbb1111bbbb1111bbbb1111bbbb1111bbbb1111"
#define INPUTS "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static const char *const labels3[NL] = {"negative", "neutral", "positive"};

static mpct_out_meta meta_default(void)
{
    mpct_out_meta m = {.n_inputs = N, .dim = DIM, .num_labels = NL, .task = "classify", .model_hash = HASH_A,
                       .inputs_sha256 = INPUTS, .frac_bits = 16, .seq_len = 128, .label_names = labels3,
                       .mode = "secure", .mpct_version = "0.0-test"};
    return m;
}

/* Row r's values: emb[c] = r + c/8, logits[c] = -r - c/4, label r % 3, tokens r + 2. */
static void write_rows(mpct_out_t *o, size_t first, size_t n)
{
    double emb[N * DIM], lg[N * NL];
    int32_t lab[N], tok[N];
    for (size_t i = 0; i < n; i++) {
        size_t r = first + i;
        for (size_t c = 0; c < DIM; c++) emb[i * DIM + c] = (double)r + (double)c / 8.0;
        for (size_t c = 0; c < NL; c++) lg[i * NL + c] = -(double)r - (double)c / 4.0;
        lab[i] = (int32_t)(r % 3);
        tok[i] = (int32_t)(r + 2);
    }
    MUST(mpct_out_write(o, first, n, emb, lg, lab, tok));
}

static int exists(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0;
}

static void check_done(const mpct_out_t *o, const char *want, int line)
{
    uint8_t d[N];
    MUST(mpct_out_done(o, d));
    char got[N + 1];
    for (int i = 0; i < N; i++) got[i] = d[i] ? '1' : '0';
    got[N] = '\0';
    CHECK_AT(line, strcmp(got, want) == 0, "done %s, expected %s", got, want);
}

/* A variable-length UTF-8 string attribute of obj into buf: a scalar when
 * n == 0, else n strings joined with '\n'. 0 when it is one, -1 when not. */
static int vstr_attr(hid_t obj, const char *name, int n, char *buf, size_t size)
{
    buf[0] = '\0';
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    if (a < 0)
        return -1;
    hid_t ft = H5Aget_type(a), sp = H5Aget_space(a);
    int ok = H5Tis_variable_str(ft) > 0 && H5Tget_cset(ft) == H5T_CSET_UTF8 &&
             H5Sget_simple_extent_ndims(sp) == (n ? 1 : 0) && H5Sget_simple_extent_npoints(sp) == (n ? n : 1);
    char *v[8] = {0};
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, H5T_VARIABLE);
    H5Tset_cset(t, H5T_CSET_UTF8);
    if (ok && n <= 8 && H5Aread(a, t, v) >= 0)
        for (int i = 0; i < (n ? n : 1); i++) {
            snprintf(buf + strlen(buf), size - strlen(buf), "%s%s", i ? "\n" : "", v[i] ? v[i] : "");
            H5free_memory(v[i]);
        }
    else
        ok = 0;
    H5Tclose(t);
    H5Tclose(ft);
    H5Sclose(sp);
    H5Aclose(a);
    return ok ? 0 : -1;
}

/* Reads the file with plain HDF5 and checks the rows marked done in `want`. */
static void check_file(const char *path, const char *want, int complete, int line)
{
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    CHECK_AT(line, f >= 0, "cannot open %s", path);
    if (f < 0)
        return;
    double emb[N * DIM], lg[N * NL];
    int32_t lab[N], tok[N];
    int64_t ids[N], c = -1, fv = -1;
    uint8_t done[N];
    hid_t d;
    d = H5Dopen2(f, "embedding", H5P_DEFAULT); H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, emb); H5Dclose(d);
    d = H5Dopen2(f, "logits", H5P_DEFAULT); H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, lg); H5Dclose(d);
    d = H5Dopen2(f, "label", H5P_DEFAULT); H5Dread(d, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, lab); H5Dclose(d);
    d = H5Dopen2(f, "token_count", H5P_DEFAULT); H5Dread(d, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, tok); H5Dclose(d);
    d = H5Dopen2(f, "input_id", H5P_DEFAULT); H5Dread(d, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, ids); H5Dclose(d);
    d = H5Dopen2(f, "done", H5P_DEFAULT); H5Dread(d, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, done); H5Dclose(d);
    hid_t a = H5Aopen(f, "complete", H5P_DEFAULT); H5Aread(a, H5T_NATIVE_INT64, &c); H5Aclose(a);
    a = H5Aopen(f, "format_version", H5P_DEFAULT); H5Aread(a, H5T_NATIVE_INT64, &fv); H5Aclose(a);
    char magic[32] = {0}, names[64] = {0};
    vstr_attr(f, "magic", 0, magic, sizeof magic);
    vstr_attr(f, "label_names", NL, names, sizeof names);
    H5Fclose(f);
    CHECK(c == complete && fv == MPCT_OUT_FORMAT_VERSION && !strcmp(magic, "MPCT-OUTPUT"), "line %d: complete %lld fv %lld magic %s", line,
          (long long)c, (long long)fv, magic);
    CHECK(!strcmp(names, "negative\nneutral\npositive"), "line %d: label_names '%s'", line, names);
    int bad = 0;
    for (int r = 0; r < N; r++) {
        bad += ids[r] != r;
        bad += (done[r] != 0) != (want[r] == '1');
        if (want[r] != '1') continue;
        for (int col = 0; col < DIM; col++) bad += emb[r * DIM + col] != r + col / 8.0;
        for (int col = 0; col < NL; col++) bad += lg[r * NL + col] != -r - col / 4.0;
        bad += lab[r] != r % 3;
        bad += tok[r] != r + 2;
    }
    CHECK(bad == 0, "line %d: %d wrong values in %s", line, bad, path);
}

static void test_create_resume(void)
{
    const char *path = "rio_complete.h5";
    unlink(path);
    unlink("rio_complete.h5.partial");
    mpct_out_meta m = meta_default();
    mpct_out_t *o = NULL;
    MUST(mpct_out_open(path, &m, 0, &o));
    CHECK(exists("rio_complete.h5.partial") && !exists(path), "open creates only the .partial");
    check_done(o, "0000000000", __LINE__);
    write_rows(o, 6, 3); /* out of order */
    write_rows(o, 1, 2);
    check_done(o, "0110001110", __LINE__);
    CHECK(mpct_out_count_done(o) == 5, "count %zu", mpct_out_count_done(o));
    EXPECT_ERR(mpct_out_close(o, 1), MPCT_ERR_ARG, "cannot mark the output complete: 5 of 10 rows not written",
               "rio_complete.h5.partial");
    CHECK(exists("rio_complete.h5.partial") && !exists(path), "refused complete leaves the .partial");
    check_file("rio_complete.h5.partial", "0110001110", 0, __LINE__);

    /* Writing out of range is refused. */
    MUST(mpct_out_open(path, &m, 1, &o));
    double e[DIM * 2] = {0}, l[NL * 2] = {0};
    int32_t z[2] = {0, 0};
    EXPECT_ERR(mpct_out_write(o, 9, 2, e, l, z, z), MPCT_ERR_ARG, "outside the 10 inputs");
    check_done(o, "0110001110", __LINE__); /* survived the close */
    MUST(mpct_out_close(o, 0));
    CHECK(exists("rio_complete.h5.partial") && !exists(path), "close incomplete: .partial only");

    MUST(mpct_out_open(path, &m, 1, &o));
    check_done(o, "0110001110", __LINE__);
    write_rows(o, 0, 1);
    write_rows(o, 3, 3);
    write_rows(o, 9, 1);
    check_done(o, "1111111111", __LINE__);
    MUST(mpct_out_close(o, 1));
    CHECK(exists(path) && !exists("rio_complete.h5.partial"), "complete: PATH only");
    check_file(path, "1111111111", 1, __LINE__);

    /* Resuming a complete file: everything done, stays in place. */
    MUST(mpct_out_open(path, &m, 1, &o));
    CHECK(mpct_out_count_done(o) == N, "complete file resumes all done");
    MUST(mpct_out_close(o, 1));
    CHECK(exists(path) && !exists("rio_complete.h5.partial"), "complete resume keeps PATH");
    check_file(path, "1111111111", 1, __LINE__);
}

static void test_mismatch(void)
{
    const char *path = "rio_mismatch.h5";
    mpct_out_meta m = meta_default();
    mpct_out_t *o = NULL;
    MUST(mpct_out_open(path, &m, 0, &o));
    write_rows(o, 0, 2);
    MUST(mpct_out_close(o, 0));

    mpct_out_meta b = m;
    b.model_hash = HASH_B;
    EXPECT_ERR(mpct_out_open(path, &b, 1, &o), MPCT_ERR_ARG, "cannot resume: the model changed since the interrupted run",
               "model_hash " HASH_A " (then) vs " HASH_B " (now)");
    CHECK(o == NULL, "no handle on error");
    b = m;
    b.inputs_sha256 = "ffff";
    EXPECT_ERR(mpct_out_open(path, &b, 1, &o), MPCT_ERR_ARG, "inputs changed since the interrupted run",
               "sha256 " INPUTS " (then) vs ffff (now)");
    b = m;
    b.frac_bits = 20;
    EXPECT_ERR(mpct_out_open(path, &b, 1, &o), MPCT_ERR_ARG, "frac_bits changed", "frac_bits 16 (then) vs 20 (now)");
    b = m;
    b.n_inputs = N + 1;
    EXPECT_ERR(mpct_out_open(path, &b, 1, &o), MPCT_ERR_ARG, "inputs changed", "10 rows vs 11");
    b = m;
    b.num_labels = 0;
    b.label_names = NULL;
    b.task = "classify";
    EXPECT_ERR(mpct_out_open(path, &b, 1, &o), MPCT_ERR_ARG, "model changed", "num_labels is 0 now");
    b = m;
    static const char *const other[NL] = {"neg", "neutral", "pos"};
    b.label_names = other;
    EXPECT_ERR(mpct_out_open(path, &b, 1, &o), MPCT_ERR_ARG, "label_names differ");
    b = m;
    b.task = "embed";
    EXPECT_ERR(mpct_out_open(path, &b, 1, &o), MPCT_ERR_ARG, "the task changed", "task classify (then) vs embed (now)");
    /* Plaintext rows never join secure ones, nor test-key rows fresh-key ones. */
    b = m;
    b.mode = "plaintext";
    EXPECT_ERR(mpct_out_open(path, &b, 1, &o), MPCT_ERR_ARG, "the mode (secure MPC or --plaintext) changed",
               "mode secure (then) vs plaintext (now)");
    b = m;
    b.insecure_test_keys = 1;
    EXPECT_ERR(mpct_out_open(path, &b, 1, &o), MPCT_ERR_ARG, "the keys (fresh, or insecure --test-seed keys) changed",
               "insecure_test_keys 0 (then) vs 1 (now)");
    b = m;
    b.mode = NULL;
    EXPECT_ERR(mpct_out_open("rio_nomode.h5", &b, 0, &o), MPCT_ERR_ARG, "output mode ''", "'secure' or 'plaintext'");
    /* What a reader learns: the mode, the version and the keys. */
    mpct_out_info info;
    MUST(mpct_out_open_read("rio_mismatch.h5.partial", &o, &info));
    CHECK(!strcmp(info.mode, "secure") && !strcmp(info.mpct_version, "0.0-test") && info.insecure_test_keys == 0,
          "info: mode '%s', version '%s', test keys %d", info.mode, info.mpct_version, info.insecure_test_keys);
    mpct_out_info_free(&info);
    MUST(mpct_out_close(o, 0));
    /* The file is untouched by failed resumes. */
    MUST(mpct_out_open(path, &m, 1, &o));
    check_done(o, "1100000000", __LINE__);
    MUST(mpct_out_close(o, 0));
    /* Not an output file. */
    FILE *f = fopen("rio_notout.h5.partial", "w");
    fputs("hello", f);
    fclose(f);
    EXPECT_ERR(mpct_out_open("rio_notout.h5", &m, 1, &o), MPCT_ERR_IO, "rio_notout.h5.partial: cannot open output file");
}

/* Rewrites a root attribute of an HDF5 file (string when s, else int64). */
static void set_root_attr(const char *path, const char *name, const char *s, long long v)
{
    hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    CHECK(f >= 0, "open %s", path);
    if (f < 0)
        return;
    H5Adelete(f, name);
    hid_t sp = H5Screate(H5S_SCALAR), t = s ? H5Tcopy(H5T_C_S1) : H5T_NATIVE_INT64;
    if (s)
        H5Tset_size(t, strlen(s) + 1);
    hid_t a = H5Acreate2(f, name, t, sp, H5P_DEFAULT, H5P_DEFAULT);
    H5Awrite(a, t, s ? (const void *)s : (const void *)&v);
    H5Aclose(a);
    if (s)
        H5Tclose(t);
    H5Sclose(sp);
    H5Fclose(f);
}

/* A foreign magic or another format version: reading and resuming both
 * refuse the file with the same message (one check serves both). */
static void test_header(void)
{
    mpct_out_meta m = meta_default();
    mpct_out_t *o = NULL;
    mpct_out_info info;
    for (int t = 0; t < 2; t++) {
        MUST(mpct_out_open("rio_hdr.h5", &m, 0, &o));
        write_rows(o, 0, N);
        MUST(mpct_out_close(o, 1));
        MUST(mpct_out_open("rio_hdr2.h5", &m, 0, &o));
        write_rows(o, 0, 1);
        MUST(mpct_out_close(o, 0));
        const char *want = t ? "output format_version 7: expected 2" : "not an mpct output file";
        for (int f = 0; f < 2; f++) {
            const char *path = f ? "rio_hdr2.h5.partial" : "rio_hdr.h5";
            if (t)
                set_root_attr(path, "format_version", NULL, 7);
            else
                set_root_attr(path, "magic", "SOMETHING-ELSE", 0);
        }
        EXPECT_ERR(mpct_out_open_read("rio_hdr.h5", &o, &info), MPCT_ERR_FORMAT, "rio_hdr.h5", want);
        CHECK(o == NULL, "no handle on error");
        EXPECT_ERR(mpct_out_open("rio_hdr2.h5", &m, 1, &o), MPCT_ERR_FORMAT, "rio_hdr2.h5.partial", want);
        CHECK(o == NULL, "no handle on error");
        unlink("rio_hdr.h5");
        unlink("rio_hdr2.h5.partial");
    }
    /* format 1 recorded no mode: refused, with what to do */
    MUST(mpct_out_open("rio_hdr.h5", &m, 0, &o));
    write_rows(o, 0, 1);
    MUST(mpct_out_close(o, 0));
    set_root_attr("rio_hdr.h5.partial", "format_version", NULL, 1);
    EXPECT_ERR(mpct_out_open("rio_hdr.h5", &m, 1, &o), MPCT_ERR_FORMAT, "output format_version 1",
               "does not record whether its rows are secure or plaintext");
    unlink("rio_hdr.h5.partial");
}

/* All-or-nothing close and discard delete the .partial; a plain close
 * with rows missing keeps it for --resume. */
static void test_discard(void)
{
    mpct_out_meta m = meta_default();
    mpct_out_t *o = NULL;
    MUST(mpct_out_open("rio_disc.h5", &m, 0, &o));
    write_rows(o, 0, 3);
    EXPECT_ERR(mpct_out_close(o, 2), MPCT_ERR_ARG, "7 of 10 rows not written");
    CHECK(!exists("rio_disc.h5.partial") && !exists("rio_disc.h5"), "close(2) with rows missing deletes the file");
    MUST(mpct_out_open("rio_disc.h5", &m, 0, &o));
    write_rows(o, 0, N);
    mpct_out_discard(o);
    CHECK(!exists("rio_disc.h5.partial") && !exists("rio_disc.h5"), "discard deletes the file");
    MUST(mpct_out_open("rio_disc.h5", &m, 0, &o));
    write_rows(o, 0, N);
    MUST(mpct_out_close(o, 2));
    CHECK(exists("rio_disc.h5") && !exists("rio_disc.h5.partial"), "close(2) of a full file completes it");
    mpct_out_info info;
    MUST(mpct_out_open_read("rio_disc.h5", &o, &info));
    mpct_out_info_free(&info);
    mpct_out_discard(o); /* opened for reading: only closed */
    CHECK(exists("rio_disc.h5"), "discard of a reader keeps the file");
    unlink("rio_disc.h5");
    mpct_out_discard(NULL);
}

/* A second writer of the same output (two runs given one --output) is
 * refused and leaves the first one's file intact: the first run's rows are
 * all there when it completes. Checked from a second process, as two runs
 * are. */
static void test_second_writer(void)
{
    const char *path = "rio_lock.h5";
    unlink(path);
    mpct_out_meta m = meta_default();
    mpct_out_t *o = NULL;
    MUST(mpct_out_open(path, &m, 0, &o));
    write_rows(o, 0, 4);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) { /* the second run */
        mpct_out_t *o2 = NULL;
        mpct_status st = mpct_out_open(path, &m, 0, &o2);
        int ok = st == MPCT_ERR_IO && strstr(mpct_error_msg(), "another process is writing this file") &&
                 strstr(mpct_error_msg(), "rio_lock.h5.partial");
        if (!ok) fprintf(stderr, "second writer: status %d: %s\n", (int)st, mpct_error_msg());
        _exit(ok ? 0 : 1);
    }
    int wst = 0;
    CHECK(pid > 0 && waitpid(pid, &wst, 0) == pid && WIFEXITED(wst) && WEXITSTATUS(wst) == 0,
          "a second writer of the same output was not refused with the lock message");
    write_rows(o, 4, N - 4);
    MUST(mpct_out_close(o, 1));
    check_file(path, "1111111111", 1, __LINE__);
}

static void test_unwritable(void)
{
    FILE *f = fopen("rio_regular", "w");
    fputs("x", f);
    fclose(f);
    mpct_out_meta m = meta_default();
    mpct_out_t *o = NULL;
    EXPECT_ERR(mpct_out_open("rio_regular/out.h5", &m, 0, &o), MPCT_ERR_IO,
               "rio_regular/out.h5.partial: cannot create output file", "Not a directory");
    CHECK(o == NULL, "no handle");
    EXPECT_ERR(mpct_out_open("rio_regular/out.h5", &m, 1, &o), MPCT_ERR_IO, "cannot create output file");
    mkdir("rio_dir.h5", 0755);
    EXPECT_ERR(mpct_out_open("rio_dir.h5", &m, 0, &o), MPCT_ERR_IO, "rio_dir.h5: output path is a directory");
    EXPECT_ERR(mpct_out_open("rio_no_such_dir/x/out.h5", &m, 0, &o), MPCT_ERR_IO, "No such file or directory");
}

/* The child writes rows and dies without closing. */
static void child_writes(const char *path, int resume, size_t first, size_t n, size_t first2, size_t n2)
{
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        exit(1);
    }
    if (pid == 0) {
        mpct_out_meta m = meta_default();
        mpct_out_t *o = NULL;
        if (mpct_out_open(path, &m, resume, &o) != MPCT_OK) _exit(3);
        write_rows(o, first, n);
        write_rows(o, first2, n2);
        _exit(0); /* no close, no atexit, no HDF5 shutdown */
    }
    int ws = 0;
    waitpid(pid, &ws, 0);
    CHECK(WIFEXITED(ws) && WEXITSTATUS(ws) == 0, "child exit status %d", ws);
}

static void test_killed_writer(void)
{
    const char *path = "rio_killed.h5";
    unlink(path);
    unlink("rio_killed.h5.partial");
    child_writes(path, 0, 4, 2, 8, 1);
    CHECK(exists("rio_killed.h5.partial") && !exists(path), "killed writer leaves the .partial");
    mpct_out_meta m = meta_default();
    mpct_out_t *o = NULL;
    MUST(mpct_out_open(path, &m, 1, &o));
    check_done(o, "0000110010", __LINE__);
    MUST(mpct_out_close(o, 0));
    check_file("rio_killed.h5.partial", "0000110010", 0, __LINE__);

    child_writes(path, 1, 0, 1, 9, 1); /* resumed, then killed again */
    MUST(mpct_out_open(path, &m, 1, &o));
    check_done(o, "1000110011", __LINE__);
    MUST(mpct_out_close(o, 0));
    check_file("rio_killed.h5.partial", "1000110011", 0, __LINE__);
}

static void test_no_labels(void)
{
    mpct_out_meta m = meta_default();
    m.num_labels = 0;
    m.label_names = NULL;
    m.task = "embed";
    mpct_out_t *o = NULL;
    MUST(mpct_out_open("rio_embed.h5", &m, 0, &o));
    double emb[2 * DIM] = {1, 2, 3, 4, 5, 6, 7, 8};
    int32_t tok[2] = {5, 6};
    MUST(mpct_out_write(o, 0, 2, emb, NULL, NULL, tok));
    EXPECT_ERR(mpct_out_close(o, 1), MPCT_ERR_ARG, "8 of 10 rows not written");
    MUST(mpct_out_open("rio_embed.h5", &m, 1, &o));
    double rest[8 * DIM] = {0};
    int32_t tok8[8] = {0};
    MUST(mpct_out_write(o, 2, 8, rest, NULL, NULL, tok8));
    MUST(mpct_out_close(o, 1));
    hid_t f = H5Fopen("rio_embed.h5", H5F_ACC_RDONLY, H5P_DEFAULT);
    CHECK(f >= 0, "open rio_embed.h5");
    CHECK(H5Lexists(f, "logits", H5P_DEFAULT) == 0 && H5Lexists(f, "label", H5P_DEFAULT) == 0 &&
              H5Aexists(f, "label_names") == 0,
          "no classification datasets");
    double back[2 * DIM];
    hid_t d = H5Dopen2(f, "embedding", H5P_DEFAULT);
    hid_t fs = H5Dget_space(d);
    hsize_t st[2] = {0, 0}, cn[2] = {2, DIM};
    H5Sselect_hyperslab(fs, H5S_SELECT_SET, st, NULL, cn, NULL);
    hid_t ms = H5Screate_simple(2, cn, NULL);
    H5Dread(d, H5T_NATIVE_DOUBLE, ms, fs, H5P_DEFAULT, back);
    H5Sclose(ms);
    H5Sclose(fs);
    H5Dclose(d);
    H5Fclose(f);
    CHECK(!memcmp(back, emb, sizeof emb), "embedding rows 0-1 read back");
    /* A fresh run over a complete output keeps it until the new one completes. */
    MUST(mpct_out_open("rio_embed.h5", &m, 0, &o));
    CHECK(exists("rio_embed.h5") && exists("rio_embed.h5.partial"), "fresh run keeps the old output meanwhile");
    MUST(mpct_out_close(o, 0));
}

/* Format 3 for a reader without the docs: every string attribute is
 * variable-length UTF-8 (h5py reads str), label_names an array of them, and
 * every dataset has units and a description. */
static void test_self_describing(void)
{
    mpct_out_meta m = meta_default();
    m.shards = "0 10 abc s.h5\n";
    mpct_out_t *o = NULL;
    MUST(mpct_out_open("rio_self.h5", &m, 0, &o));
    write_rows(o, 0, N);
    MUST(mpct_out_close(o, 1));
    hid_t f = H5Fopen("rio_self.h5", H5F_ACC_RDONLY, H5P_DEFAULT);
    CHECK(f >= 0, "open rio_self.h5");
    char buf[256];
    static const char *const root_str[] = {"magic", "mode", "mpct_version", "task", "model_hash", "inputs_sha256",
                                           "shards"};
    for (size_t i = 0; i < sizeof root_str / sizeof *root_str; i++)
        CHECK(vstr_attr(f, root_str[i], 0, buf, sizeof buf) == 0, "root attribute %s is not a variable-length "
              "UTF-8 string", root_str[i]);
    CHECK(vstr_attr(f, "label_names", NL, buf, sizeof buf) == 0 && !strcmp(buf, "negative\nneutral\npositive"),
          "label_names is not an array of 3 UTF-8 strings: '%s'", buf);
    static const char *const ds[] = {"embedding", "logits", "label", "input_id", "token_count", "done"};
    for (size_t i = 0; i < sizeof ds / sizeof *ds; i++) {
        hid_t d = H5Dopen2(f, ds[i], H5P_DEFAULT);
        CHECK(vstr_attr(d, "units", 0, buf, sizeof buf) == 0 && buf[0], "/%s has no units", ds[i]);
        CHECK(vstr_attr(d, "description", 0, buf, sizeof buf) == 0 && strlen(buf) > 20, "/%s has no description",
              ds[i]);
        H5Dclose(d);
    }
    H5Fclose(f);
    unlink("rio_self.h5");
}

/* A format-2 file (fixed-length strings, label_names one joined string) is
 * still read (merge, compare); resuming it is refused naming the version and
 * what to do. */
static void test_format2(void)
{
    mpct_out_meta m = meta_default();
    mpct_out_t *o = NULL;
    mpct_out_info info;
    MUST(mpct_out_open("rio_v2.h5", &m, 0, &o));
    write_rows(o, 0, 4);
    MUST(mpct_out_close(o, 0));
    const char *p = "rio_v2.h5.partial";
    set_root_attr(p, "format_version", NULL, 2);
    set_root_attr(p, "magic", "MPCT-OUTPUT", 0);
    set_root_attr(p, "mode", "secure", 0);
    set_root_attr(p, "task", "classify", 0);
    set_root_attr(p, "label_names", "negative\nneutral\npositive", 0);
    set_root_attr(p, "mpct_version", "0.9.0", 0);
    MUST(mpct_out_open_read(p, &o, &info));
    CHECK(info.rows_done == 4 && !strcmp(info.mode, "secure") && !strcmp(info.task, "classify") &&
              info.label_names && !strcmp(info.label_names, "negative\nneutral\npositive"),
          "format 2 read back: done %zu mode '%s' task '%s'", info.rows_done, info.mode, info.task);
    double emb[4 * DIM], lg[4 * NL];
    int32_t lab[4], tok[4];
    MUST(mpct_out_read(o, 0, 4, emb, lg, lab, tok));
    CHECK(emb[DIM + 1] == 1.125 && tok[3] == 5, "format 2 rows read back");
    mpct_out_info_free(&info);
    MUST(mpct_out_close(o, 0));
    EXPECT_ERR(mpct_out_open("rio_v2.h5", &m, 1, &o), MPCT_ERR_FORMAT, "output format_version 2 (written by mpct 0.9.0)",
               "cannot be resumed", "--overwrite");
    CHECK(o == NULL, "no handle on error");
    unlink(p);
}

int main(void)
{
    test_create_resume();
    test_mismatch();
    test_header();
    test_discard();
    test_second_writer();
    test_unwritable();
    test_killed_writer();
    test_no_labels();
    test_self_describing();
    test_format2();
    return mpct_check_done("test_out");
}
