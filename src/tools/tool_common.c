/*
 * tool_common.c — option parsing shared by the subcommands (replica set-up,
 * errors and reports: src/sched).
 */
#include "tool_common.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

/* 1 where this process should print a usage error: outside MPI or on world
 * rank 0 (every rank parses the same arguments; one message is enough). */
static int speaks(void)
{
    int init = 0, fin = 0, rank = 0;
    MPI_Initialized(&init);
    MPI_Finalized(&fin);
    if (init && !fin)
        MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    return rank == 0;
}

int mpct_tool_parse_long(const char *cmd, const char *flag, const char *v, long lo, long hi, long *out)
{
    if (!v) {
        if (speaks())
            fprintf(stderr, "mpct %s: error: %s needs a value\n", cmd, flag);
        return 1;
    }
    char *end = NULL;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (errno || !end || *end || end == v || x < lo || x > hi) {
        if (speaks())
            fprintf(stderr, "mpct %s: error: %s expects an integer in [%ld, %ld], got '%s'\n", cmd, flag, lo, hi, v);
        return 1;
    }
    *out = x;
    return 0;
}

int mpct_tool_parse_longs(const char *cmd, const char *flag, const char *v, const char *what, long lo, long hi,
                          long *out, int max)
{
    int n = 0;
    const char *p = v ? v : "";
    for (;;) {
        char *end = NULL;
        errno = 0;
        long x = strtol(p, &end, 10);
        if (errno || end == p || x < lo || x > hi || n == max || (*end && *end != ','))
            break;
        out[n++] = x;
        if (!*end)
            return n;
        p = end + 1;
    }
    if (speaks())
        fprintf(stderr, "mpct %s: error: %s expects 1 to %d comma-separated %s in [%ld, %ld], e.g. 1,8; got '%s'\n",
                cmd, flag, max, what, lo, hi, v ? v : "");
    return -1;
}
