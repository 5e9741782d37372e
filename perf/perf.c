/*
 * perf.c — resource usage, medians, and the streaming JSON writer.
 */
#include "mpct_perf.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

uint64_t mpct_perf_peak_rss(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return 0;
    return (uint64_t)ru.ru_maxrss * 1024u; /* Linux reports KiB */
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double mpct_perf_median(const double *v, size_t n)
{
    if (n == 0)
        return 0;
    double *c = malloc(n * sizeof *c);
    if (!c)
        return v[0];
    memcpy(c, v, n * sizeof *c);
    qsort(c, n, sizeof *c, cmp_double);
    double m = n % 2 ? c[n / 2] : 0.5 * (c[n / 2 - 1] + c[n / 2]);
    free(c);
    return m;
}

static void sep(mpct_json *j, const char *key)
{
    if (!j->first[j->depth])
        fputc(',', j->f);
    j->first[j->depth] = 0;
    if (j->pretty) {
        fputc('\n', j->f);
        for (int i = 0; i < j->depth; i++)
            fputs("  ", j->f);
    }
    if (key) {
        fputc('"', j->f);
        fputs(key, j->f);
        fputs(j->pretty ? "\": " : "\":", j->f);
    }
}

static void put_escaped(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

void mpct_json_begin(mpct_json *j, FILE *f, int pretty)
{
    memset(j, 0, sizeof *j);
    j->f = f;
    j->pretty = pretty;
    j->first[0] = 1;
}

static void open_(mpct_json *j, const char *key, char c)
{
    if (j->depth == 0 && j->first[0]) {
        j->first[0] = 0;
    } else {
        sep(j, key);
    }
    fputc(c, j->f);
    if (j->depth < 31)
        j->depth++;
    j->first[j->depth] = 1;
}

static void close_(mpct_json *j, char c)
{
    int empty = j->first[j->depth];
    if (j->depth > 0)
        j->depth--;
    if (j->pretty && !empty) {
        fputc('\n', j->f);
        for (int i = 0; i < j->depth; i++)
            fputs("  ", j->f);
    }
    fputc(c, j->f);
}

void mpct_json_obj_open(mpct_json *j, const char *key) { open_(j, key, '{'); }
void mpct_json_obj_close(mpct_json *j) { close_(j, '}'); }
void mpct_json_arr_open(mpct_json *j, const char *key) { open_(j, key, '['); }
void mpct_json_arr_close(mpct_json *j) { close_(j, ']'); }

void mpct_json_str(mpct_json *j, const char *key, const char *v)
{
    sep(j, key);
    put_escaped(j->f, v ? v : "");
}

void mpct_json_num(mpct_json *j, const char *key, double v)
{
    sep(j, key);
    if (isfinite(v))
        fprintf(j->f, "%.9g", v);
    else
        fputs("null", j->f);
}

void mpct_json_int(mpct_json *j, const char *key, long long v)
{
    sep(j, key);
    fprintf(j->f, "%lld", v);
}

void mpct_json_end(mpct_json *j)
{
    fputc('\n', j->f);
    fflush(j->f);
}
