/*
 * mpct.c — the mpct program: dispatches to subcommands. The command table is
 * generated at build time from the MPCT_COMMAND markers in cmd_*.c.
 * Commands that need MPI get MPI_Init/MPI_Finalize here; only this main
 * decides the process exit status.
 */
#include <mpi.h>
#include <stdio.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include "mpct_core.h"
#include "tool_common.h"

#define X(name, needs_mpi, summary) int mpct_cmd_##name(int argc, char **argv);
#include "mpct_cmds_gen.h"
#undef X

typedef struct cmd {
    const char *name;
    int needs_mpi;
    const char *summary;
    int (*fn)(int, char **);
} cmd;

static const cmd cmds[] = {
#define X(name, needs_mpi, summary) {#name, needs_mpi, summary, mpct_cmd_##name},
#include "mpct_cmds_gen.h"
#undef X
};

static void usage(FILE *f)
{
    fprintf(f,
            "mpct %s — transformer inference under secure three-party computation\n\n"
            "usage: mpct <command> [options]      (mpct <command> --help for details)\n"
            "       mpirun -np 3 mpct <command> ... (commands marked * run as MPI parties;\n"
            "                                        every 3 ranks form one replica)\n\ncommands:\n",
            MPCT_VERSION_STRING);
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        fprintf(f, "  %-10s %s %s\n", cmds[i].name, cmds[i].needs_mpi ? "*" : " ", cmds[i].summary);
    fprintf(f, "\nenvironment: MPCT_TRACE=1 prints the call trace with errors.\n");
}

/* The protocols allocate and free megabyte-sized temporaries in every
 * round. glibc serves those above its (dynamic) mmap threshold with fresh
 * mmaps: each one page-faults and is zeroed by the kernel again. A fixed
 * 32 MiB threshold and no heap trimming keep them in the heap for reuse.
 * MPCT_MALLOC_TUNE=0 keeps glibc's defaults (for A/B measurements). */
static void tune_malloc(void)
{
    const char *e = getenv("MPCT_MALLOC_TUNE");
    if (e && !strcmp(e, "0"))
        return;
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 256 << 20);
}

int main(int argc, char **argv)
{
    tune_malloc();
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("mpct %s (protocol version %u)\n", MPCT_VERSION_STRING, MPCT_PROTOCOL_VERSION);
        return 0;
    }
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        if (strcmp(argv[1], cmds[i].name))
            continue;
        if (!cmds[i].needs_mpi)
            return cmds[i].fn(argc - 1, argv + 1);
        MPI_Init(&argc, &argv);
        int rc = cmds[i].fn(argc - 1, argv + 1);
        if (rc == MPCT_EXIT_ABORT) /* peers may be blocked: take the job down */
            MPI_Abort(MPI_COMM_WORLD, rc);
        MPI_Finalize();
        return rc;
    }
    fprintf(stderr, "mpct: unknown command '%s' (see mpct --help)\n", argv[1]);
    return 2;
}
