/*
 * opt.h — the command-line parser and help printer every `mpct` command
 * uses. Prefix: mpct_opt_*.
 *
 * A command describes itself once (mpct_opt_cmd): its usage lines, a text
 * before and after the options, a table of options (long name, short
 * letter, whether it takes a value, the value's placeholder and a help
 * line) and its exit codes. From that one description the parser reads
 * argv and the help printer writes `--help`, so the help lists exactly the
 * options that are accepted.
 *
 * Conventions (the same in every command):
 *  - `--name value` and `--name=value`; `-x value` and `-xvalue` for an
 *    option with a short letter. A switch (no value) refuses `--name=...`.
 *  - `--` ends the options: every later word is a positional, even one
 *    that starts with '-'. A lone `-` is a positional.
 *  - `-h` and `--help` print the help to stdout (MPCT_OPT_HELP: exit 0);
 *    they are not listed in the tables.
 *  - An unknown option, a missing value or a value given to a switch is
 *    refused with "mpct CMD: error: ..." naming the option (MPCT_OPT_BAD:
 *    exit 2). Values are taken as they are: the value after `--name` may
 *    itself start with '-'.
 *  - Under MPI every rank parses the same argv; messages and help are
 *    printed by world rank 0 only (or by the process outside MPI).
 *  - The help ends with an "exit status:" section built from the exit table.
 */
#ifndef MPCT_TOOL_OPT_H
#define MPCT_TOOL_OPT_H

#include <stddef.h>
#include <stdio.h>

typedef struct mpct_opt {
    const char *name; /* long name without the dashes ("output") */
    char letter;      /* short option letter ('o'), 0 for none */
    const char *meta; /* placeholder of the value ("FILE.h5"); NULL: a switch without a value */
    const char *help; /* one help line; '\n' continues it on an indented line */
} mpct_opt;

typedef struct mpct_opt_exit {
    int code;
    const char *what;
} mpct_opt_exit;

/* Written with designated initializers; fields left out are NULL / 0. */
typedef struct mpct_opt_cmd {
    const char *name;  /* "pack", "bench ops": the messages' "mpct NAME: error: ..." */
    const char *usage; /* usage lines, printed after "usage: " (several lines: '\n' separated) */
    const char *about; /* text between the usage and the options */
    const mpct_opt *opts; /* the options, in help order */
    size_t nopts;
    const char *notes; /* text after the options */
    void (*more)(FILE *f); /* prints text computed at run time after the notes */
    /* the "exit status:" section: 0, 1 and 2 always (NULL: the usual
     * text), then exits_more (codes above 2, ended by what == NULL) */
    const char *exit_ok, *exit_fail, *exit_usage;
    const mpct_opt_exit *exits_more;
    const char *unknown; /* what the refusal calls an unknown option: "unknown option" when NULL */
} mpct_opt_cmd;

#define MPCT_OPT_COUNT(table) (sizeof(table) / sizeof((table)[0]))
/* .opts and .nopts of an mpct_opt_cmd from one static table */
#define MPCT_OPT_TABLE(table) .opts = (table), .nopts = MPCT_OPT_COUNT(table)

typedef enum mpct_opt_result {
    MPCT_OPT_END = 0,   /* argv is consumed */
    MPCT_OPT_OPTION,    /* it->opt and, for a value option, it->value */
    MPCT_OPT_POSITIONAL, /* it->value (it->opt is NULL) */
    MPCT_OPT_HELP,      /* -h/--help: the help was printed; exit 0 */
    MPCT_OPT_BAD        /* refused, the message printed; exit 2 */
} mpct_opt_result;

typedef struct mpct_opt_iter {
    const mpct_opt_cmd *cmd;
    int argc;
    char **argv;
    int next;            /* index of the next word of argv */
    int only_positionals; /* after "--" */
    const mpct_opt *opt; /* the option just read (MPCT_OPT_OPTION) */
    const char *value;   /* its value, or the positional; NULL for a switch */
    char spelled[64];    /* the option as written, without an inline value ("--bits", "-o") */
} mpct_opt_iter;

/* Starts reading argv[first..argc-1] against cmd. */
void mpct_opt_begin(mpct_opt_iter *it, const mpct_opt_cmd *cmd, int argc, char **argv, int first);

/* mpct_opt_begin as an expression: `mpct_opt_iter it = mpct_opt_start(...)`. */
mpct_opt_iter mpct_opt_start(const mpct_opt_cmd *cmd, int argc, char **argv, int first);

/* For a command with one positional: stores the positional just read in
 * *slot and returns 0, or, when *slot is already set, refuses it
 * ("unexpected argument") and returns 2. */
int mpct_opt_positional(const mpct_opt_iter *it, const char **slot);

/* Reads the next option or positional. */
mpct_opt_result mpct_opt_next(mpct_opt_iter *it);

/* The loop form of mpct_opt_next: 1 while an option (it->opt) or a
 * positional (it->opt == NULL, it->value) is ready; 0 when the command
 * stops reading, with *exit_code = -1 at the end of argv (go on), 0 after
 * the help was printed, 2 after a refusal was printed. */
int mpct_opt_more(mpct_opt_iter *it, int *exit_code);

/* For commands that take a job file and options that override it (run,
 * warm, plan): reads all of argv[1..]; the one positional goes to *file
 * (NULL when none; a second one is refused), the options in order to
 * l->opt[k] / l->val[k] (k < l->n). Returns -1 to go on (free l with
 * mpct_opt_list_free), else the exit status (0 after --help, 1 out of
 * memory, 2 bad usage; printed once) with nothing to free. */
typedef struct mpct_opt_list {
    int n;
    const mpct_opt **opt;
    const char **val;
} mpct_opt_list;
int mpct_opt_collect(const mpct_opt_cmd *cmd, int argc, char **argv, const char **file, mpct_opt_list *l);
void mpct_opt_list_free(mpct_opt_list *l);

/* When the option just read is `name`: stores its value in *dst and
 * returns 1; else 0. For chains of options that only keep their value. */
int mpct_opt_take(const mpct_opt_iter *it, const char *name, const char **dst);

/* 1 when the option just read is the one named `name` (its long name). */
int mpct_opt_is(const mpct_opt_iter *it, const char *name);

/* The whole help of cmd: usage, about, options (with -h, --help), notes,
 * exit status. */
void mpct_opt_help(const mpct_opt_cmd *cmd, FILE *f);

/* Only the option lines of cmd's help (without -h, --help). */
void mpct_opt_help_options(const mpct_opt_cmd *cmd, FILE *f);

/* 1 where this process prints usage messages: outside MPI, or on world
 * rank 0 (every rank parses the same arguments; one message is enough). */
int mpct_opt_speaks(void);

/* Prints "mpct CMD: error: MESSAGE (see mpct CMD --help)" once (as
 * mpct_opt_speaks) and returns 2, the bad-usage exit status. */
int mpct_opt_usage_error(const mpct_opt_cmd *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
