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
#include "mpct_gen_out.h"
#include "mpct_io.h"
#include "mpct_out.h"
#include "mpct_sched.h"

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
            "usage: mpct <command> [options]      (mpct <command> --help, or mpct help <command>)\n"
            "       mpirun -np 3 mpct <command> ... (commands marked * run as MPI parties;\n"
            "                                        every 3 ranks form one replica)\n"
            "       mpct --version\n\ncommands:\n",
            MPCT_VERSION_STRING);
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        fprintf(f, "  %-10s %s %s\n", cmds[i].name, cmds[i].needs_mpi ? "*" : " ", cmds[i].summary);
    fprintf(f, "\nEvery command takes --name VALUE or --name=VALUE, -h/--help, and -- to end its options.\n"
               "environment: the variables mpct reads (MPCT_TRACE=1 prints the call trace with errors,\n"
               "OMP_NUM_THREADS, ...) are listed in docs/ENVIRONMENT.md.\n"
               "\nexit status:\n"
               "  0    success (each command's --help lists its own codes)\n"
               "  2    bad usage: no command, an unknown command\n");
}

static const cmd *find_cmd(const char *name)
{
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        if (!strcmp(name, cmds[i].name))
            return &cmds[i];
    return NULL;
}

/* Runs command c on argv (argv[0] = its name); MPI around it if it needs it.
 * Only this decides the process exit status. */
static int run_cmd(const cmd *c, int argc, char **argv)
{
    if (!c->needs_mpi)
        return c->fn(argc, argv);
    MPI_Init(NULL, NULL);
    int rc = c->fn(argc, argv);
    if (rc == MPCT_SCHED_EXIT_ABORT) /* peers may be blocked: take the job down */
        MPI_Abort(MPI_COMM_WORLD, rc);
    MPI_Finalize();
    return rc;
}

/* `mpct help [CMD [MODE]]`: the list, or exactly what `mpct CMD [MODE] --help` prints. */
static int help(int argc, char **argv)
{
    if (argc < 3) {
        usage(stdout);
        return 0;
    }
    const cmd *c = find_cmd(argv[2]);
    if (!c || argc > 4) {
        if (!c)
            fprintf(stderr, "mpct help: error: unknown command '%s' (see mpct --help)\n", argv[2]);
        else
            fprintf(stderr, "mpct help: error: expected a command and at most one mode, got '%s' after '%s %s'\n",
                    argv[4], argv[2], argv[3]);
        return 2;
    }
    char flag[] = "--help";
    char *sub[] = {argv[2], argc == 4 ? argv[3] : flag, flag, NULL};
    return run_cmd(c, argc == 4 ? 3 : 2, sub);
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
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "help"))
        return help(argc, argv);
    if (!strcmp(argv[1], "--version")) {
        /* the numbers a CHANGELOG.md release heading carries (its versioning rule) */
        printf("mpct %s (protocol version %u, model format %d, output format %d, generate output format %d)\n",
               MPCT_VERSION_STRING, MPCT_PROTOCOL_VERSION, MPCT_MODEL_FORMAT_VERSION, MPCT_OUT_FORMAT_VERSION,
               MPCT_GOUT_FORMAT_VERSION);
        return 0;
    }
    const cmd *c = find_cmd(argv[1]);
    if (c)
        return run_cmd(c, argc - 1, argv + 1);
    fprintf(stderr, "mpct: error: unknown command '%s' (see mpct --help)\n", argv[1]);
    return 2;
}
