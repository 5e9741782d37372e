/*
 * opt.c — the shared command-line parser and help printer (opt.h).
 *
 * Invariants: the parser never changes argv; a value is a pointer into
 * argv (after the '=' of `--name=value`, or after the letter of `-xVALUE`);
 * every refusal is printed once, by the process that speaks, and names the
 * option as it was spelled.
 */
#include "opt.h"

#include <mpi.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

int mpct_opt_speaks(void)
{
    int init = 0, fin = 0, rank = 0;
    MPI_Initialized(&init);
    MPI_Finalized(&fin);
    if (init && !fin)
        MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    return rank == 0;
}

int mpct_opt_usage_error(const mpct_opt_cmd *cmd, const char *fmt, ...)
{
    if (!mpct_opt_speaks())
        return 2;
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "mpct %s: error: ", cmd->name);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, " (see mpct %s --help)\n", cmd->name);
    va_end(ap);
    return 2;
}

void mpct_opt_begin(mpct_opt_iter *it, const mpct_opt_cmd *cmd, int argc, char **argv, int first)
{
    memset(it, 0, sizeof *it);
    it->cmd = cmd;
    it->argc = argc;
    it->argv = argv;
    it->next = first;
}

int mpct_opt_more(mpct_opt_iter *it, int *exit_code)
{
    const mpct_opt_result r = mpct_opt_next(it);
    *exit_code = r == MPCT_OPT_END ? -1 : r == MPCT_OPT_HELP ? 0 : 2;
    return r == MPCT_OPT_OPTION || r == MPCT_OPT_POSITIONAL;
}

int mpct_opt_collect(const mpct_opt_cmd *cmd, int argc, char **argv, const char **file, mpct_opt_list *l)
{
    *file = NULL;
    l->n = 0;
    l->opt = calloc((size_t)argc + 1, sizeof *l->opt);
    l->val = calloc((size_t)argc + 1, sizeof *l->val);
    if (!l->opt || !l->val) {
        mpct_opt_list_free(l);
        if (mpct_opt_speaks())
            fprintf(stderr, "mpct %s: error: out of memory reading the command line\n", cmd->name);
        return 1;
    }
    mpct_opt_iter it;
    mpct_opt_begin(&it, cmd, argc, argv, 1);
    int rc;
    while (mpct_opt_more(&it, &rc)) {
        if (!it.opt && *file) {
            rc = mpct_opt_usage_error(cmd, "two job files given ('%s' and '%s')", *file, it.value);
            break;
        }
        if (!it.opt)
            *file = it.value;
        else
            l->opt[l->n] = it.opt, l->val[l->n++] = it.value;
    }
    if (rc >= 0)
        mpct_opt_list_free(l);
    return rc;
}

void mpct_opt_list_free(mpct_opt_list *l)
{
    free(l->opt);
    free(l->val);
    l->opt = NULL;
    l->val = NULL;
    l->n = 0;
}

mpct_opt_iter mpct_opt_start(const mpct_opt_cmd *cmd, int argc, char **argv, int first)
{
    mpct_opt_iter it;
    mpct_opt_begin(&it, cmd, argc, argv, first);
    return it;
}

int mpct_opt_positional(const mpct_opt_iter *it, const char **slot)
{
    if (*slot)
        return mpct_opt_usage_error(it->cmd, "unexpected argument '%s'", it->value);
    *slot = it->value;
    return 0;
}

int mpct_opt_take(const mpct_opt_iter *it, const char *name, const char **dst)
{
    if (!mpct_opt_is(it, name))
        return 0;
    *dst = it->value;
    return 1;
}

int mpct_opt_is(const mpct_opt_iter *it, const char *name) { return it->opt && !strcmp(it->opt->name, name); }

/* The option of cmd with long name [name, name+len) or, when len is 0, the
 * short letter *name; NULL when there is none. */
static const mpct_opt *find(const mpct_opt_cmd *cmd, const char *name, size_t len)
{
    for (size_t k = 0; k < cmd->nopts; k++) {
        const mpct_opt *o = &cmd->opts[k];
        if (len ? strlen(o->name) == len && !strncmp(o->name, name, len) : o->letter && o->letter == *name)
            return o;
    }
    return NULL;
}

/* Sets it->spelled to the option as written, without an inline value. */
static void spell(mpct_opt_iter *it, const char *a, size_t len)
{
    if (len >= sizeof it->spelled)
        len = sizeof it->spelled - 1;
    memcpy(it->spelled, a, len);
    it->spelled[len] = '\0';
}

mpct_opt_result mpct_opt_next(mpct_opt_iter *it)
{
    it->opt = NULL;
    it->value = NULL;
    it->spelled[0] = '\0';
    if (it->next >= it->argc)
        return MPCT_OPT_END;
    const char *a = it->argv[it->next++];
    if (it->only_positionals || a[0] != '-' || !a[1]) {
        it->value = a;
        return MPCT_OPT_POSITIONAL;
    }
    if (!strcmp(a, "--")) {
        it->only_positionals = 1;
        return mpct_opt_next(it);
    }
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
        if (mpct_opt_speaks())
            mpct_opt_help(it->cmd, stdout);
        return MPCT_OPT_HELP;
    }
    const char *inline_value = NULL;
    const mpct_opt *o;
    if (a[1] == '-') {
        const char *eq = strchr(a + 2, '=');
        const size_t len = eq ? (size_t)(eq - a) : strlen(a);
        spell(it, a, len);
        o = find(it->cmd, a + 2, len - 2);
        if (eq)
            inline_value = eq + 1;
    } else {
        spell(it, a, 2);
        o = find(it->cmd, a + 1, 0);
        if (a[2])
            inline_value = a + 2;
    }
    if (!o) {
        mpct_opt_usage_error(it->cmd, "%s '%s'", it->cmd->unknown ? it->cmd->unknown : "unknown option",
                             it->spelled);
        return MPCT_OPT_BAD;
    }
    if (!o->meta && inline_value) {
        mpct_opt_usage_error(it->cmd, "option '%s' takes no value (got '%s')", it->spelled, inline_value);
        return MPCT_OPT_BAD;
    }
    if (o->meta && !inline_value) {
        if (it->next >= it->argc) {
            mpct_opt_usage_error(it->cmd, "option '%s' needs a value (%s)", it->spelled, o->meta);
            return MPCT_OPT_BAD;
        }
        inline_value = it->argv[it->next++];
    }
    it->opt = o;
    it->value = inline_value;
    return MPCT_OPT_OPTION;
}

/* Prints text with every line indented by `indent` spaces (the first too). */
static void put_indented(FILE *f, const char *text, int indent)
{
    for (const char *p = text; *p;) {
        const char *nl = strchr(p, '\n');
        const size_t len = nl ? (size_t)(nl - p) : strlen(p);
        fprintf(f, "%*s%.*s\n", len ? indent : 0, "", (int)len, p);
        p += len + (nl != NULL);
    }
}

#define HELP_COLUMN 26 /* where the options' help lines start */

static void put_option(FILE *f, char letter, const char *name, const char *meta, const char *help)
{
    char head[96];
    int n = snprintf(head, sizeof head, "  %c%c%s--%s%s%s", letter ? '-' : ' ', letter ? letter : ' ',
                     letter ? ", " : "  ", name, meta ? " " : "", meta ? meta : "");
    if (n + 2 > HELP_COLUMN)
        fprintf(f, "%s\n%*s", head, HELP_COLUMN, "");
    else
        fprintf(f, "%-*s", HELP_COLUMN, head);
    const char *nl = strchr(help, '\n');
    fprintf(f, "%.*s\n", nl ? (int)(nl - help) : (int)strlen(help), help);
    if (nl)
        put_indented(f, nl + 1, HELP_COLUMN);
}

static void put_exit(FILE *f, int code, const char *what)
{
    const char *nl = strchr(what, '\n');
    fprintf(f, "  %-5d%.*s\n", code, nl ? (int)(nl - what) : (int)strlen(what), what);
    if (nl)
        put_indented(f, nl + 1, 7);
}

void mpct_opt_help_options(const mpct_opt_cmd *cmd, FILE *f)
{
    for (size_t k = 0; k < cmd->nopts; k++)
        put_option(f, cmd->opts[k].letter, cmd->opts[k].name, cmd->opts[k].meta, cmd->opts[k].help);
}

void mpct_opt_help(const mpct_opt_cmd *cmd, FILE *f)
{
    const char *u = cmd->usage;
    for (int first = 1; *u; first = 0) {
        const char *nl = strchr(u, '\n');
        const size_t len = nl ? (size_t)(nl - u) : strlen(u);
        fprintf(f, "%s%.*s\n", first ? "usage: " : "       ", (int)len, u);
        u += len + (nl != NULL);
    }
    if (cmd->about)
        fprintf(f, "\n%s", cmd->about);
    fprintf(f, "\noptions:\n");
    mpct_opt_help_options(cmd, f);
    put_option(f, 'h', "help", NULL, "print this help and exit");
    fprintf(f, "Options take their value as --name VALUE or --name=VALUE (short: -x VALUE or -xVALUE);\n"
               "-- ends the options.\n");
    if (cmd->notes)
        fprintf(f, "\n%s", cmd->notes);
    if (cmd->more)
        cmd->more(f);
    fprintf(f, "\nexit status:\n");
    put_exit(f, 0, cmd->exit_ok ? cmd->exit_ok : "success");
    put_exit(f, 1, cmd->exit_fail ? cmd->exit_fail : "failure (the message says why)");
    put_exit(f, 2, cmd->exit_usage ? cmd->exit_usage
                                   : "bad usage: an unknown option, a missing or malformed value (the message\n"
                                     "names it)");
    for (const mpct_opt_exit *e = cmd->exits_more; e && e->what; e++)
        put_exit(f, e->code, e->what);
}
