/*
 * peers.c — reads the peers file of a separately launched job
 * (mpct_peers.h). Every error names the file, the line where there is one,
 * and the key.
 */
#include "mpct_peers.h"

#include <errno.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct peers_parse {
    mpct_peers *p;
    FILE *fp;
    int line, err_line;
    char dir[MPCT_PEERS_PATH_MAX];
    char msg[512];
    int seen[3];
} peers_parse;

static char *peers_reader(char *str, int num, void *stream)
{
    peers_parse *pp = stream;
    char *r = fgets(str, num, pp->fp);
    if (r)
        pp->line++;
    return r;
}

static int set_path(peers_parse *pp, char *dst, const char *v)
{
    if ((size_t)snprintf(dst, MPCT_PEERS_PATH_MAX, "%s%s", v[0] == '/' ? "" : pp->dir, v) >= MPCT_PEERS_PATH_MAX) {
        snprintf(pp->msg, sizeof pp->msg, "path too long");
        return 0;
    }
    return 1;
}

static int set_text(peers_parse *pp, char *dst, size_t n, const char *key, const char *v)
{
    if (!*v || strlen(v) >= n) {
        snprintf(pp->msg, sizeof pp->msg, "'%s' must be 1..%zu characters", key, n - 1);
        return 0;
    }
    snprintf(dst, n, "%s", v);
    return 1;
}

static int peers_handler(void *user, const char *section, const char *name, const char *value)
{
    peers_parse *pp = user;
    mpct_peers *p = pp->p;
    int ok = 0;
    if (pp->err_line)
        return 0;
    if (!strcmp(section, "session")) {
        if (!strcmp(name, "id"))
            ok = set_text(pp, p->id, sizeof p->id, name, value);
        else if (!strcmp(name, "tls") && (!strcmp(value, "on") || !strcmp(value, "off")))
            p->tls = !strcmp(value, "on"), ok = 1;
        else if (!strcmp(name, "tls"))
            snprintf(pp->msg, sizeof pp->msg, "tls = '%s': expected on or off", value);
        else if (!strcmp(name, "ca"))
            ok = set_path(pp, p->ca, value);
        else
            snprintf(pp->msg, sizeof pp->msg, "unknown key '%s' in [session] (id, tls, ca)", name);
    } else if (!strncmp(section, "party", 5) && section[5] >= '0' && section[5] <= '2' && !section[6]) {
        const int i = section[5] - '0';
        pp->seen[i] = 1;
        if (!strcmp(name, "host"))
            ok = set_text(pp, p->party[i].host, sizeof p->party[i].host, name, value);
        else if (!strcmp(name, "port")) {
            char *end = NULL;
            errno = 0;
            long v = strtol(value, &end, 10);
            ok = !errno && end != value && !*end && v >= 1 && v <= 65535;
            if (ok)
                p->party[i].port = (int)v;
            else
                snprintf(pp->msg, sizeof pp->msg, "port = '%s': expected 1..65535", value);
        } else if (!strcmp(name, "cert"))
            ok = set_path(pp, p->party[i].cert, value);
        else if (!strcmp(name, "name"))
            ok = set_text(pp, p->party[i].name, sizeof p->party[i].name, name, value);
        else
            snprintf(pp->msg, sizeof pp->msg, "unknown key '%s' in [%s] (host, port, cert, name)", name, section);
    } else
        snprintf(pp->msg, sizeof pp->msg, "unknown section [%s] (session, party0, party1, party2)", section);
    if (!ok)
        pp->err_line = pp->line;
    return ok;
}

mpct_status mpct_peers_load(const char *path, mpct_peers *out)
{
    memset(out, 0, sizeof *out);
    out->tls = 1;
    peers_parse *pp = calloc(1, sizeof *pp);
    if (!pp)
        return mpct_error_set(MPCT_ERR_NOMEM, "out of memory reading %s", path);
    pp->p = out;
    snprintf(out->source, sizeof out->source, "%s", path);
    const char *slash = strrchr(path, '/');
    if (slash)
        snprintf(pp->dir, sizeof pp->dir, "%.*s/", (int)(slash - path), path);
    mpct_status st = MPCT_OK;
    if (!(pp->fp = fopen(path, "r"))) {
        st = mpct_error_set(MPCT_ERR_IO, "%s: cannot open the peers file: %s", path, strerror(errno));
        goto done;
    }
    int r = ini_parse_stream(peers_reader, pp, peers_handler, pp);
    fclose(pp->fp);
    if (pp->err_line)
        st = mpct_error_set(MPCT_ERR_ARG, "%s:%d: %s", path, pp->err_line, pp->msg);
    else if (r != 0)
        st = mpct_error_set(MPCT_ERR_ARG, "%s:%d: expected 'key = value' or a [section] header", path, r);
    else if (!out->id[0])
        st = mpct_error_set(MPCT_ERR_ARG, "%s: [session] needs an id (any text the three operators agree on)", path);
    for (int i = 0; i < 3 && st == MPCT_OK; i++) {
        if (!pp->seen[i] || !out->party[i].host[0] || !out->party[i].port)
            st = mpct_error_set(MPCT_ERR_ARG, "%s: [party%d] needs host and port", path, i);
        else if (out->tls && !out->ca[0] && !out->party[i].cert[0])
            st = mpct_error_set(MPCT_ERR_ARG, "%s: [party%d] needs cert (its certificate), or set ca in [session] "
                                "and a name for every party", path, i);
        else if (out->tls && out->ca[0] && !out->party[i].name[0])
            st = mpct_error_set(MPCT_ERR_ARG, "%s: [party%d] needs name (CA mode: the name on its certificate)",
                                path, i);
        else if (out->tls && out->ca[0] && out->party[i].cert[0]) /* nothing given is left unused */
            st = mpct_error_set(MPCT_ERR_ARG, "%s: [party%d] has cert, which CA mode does not use (it checks the "
                                "name): remove cert, or ca for pinned certificates", path, i);
        else if (out->tls && !out->ca[0] && out->party[i].name[0])
            st = mpct_error_set(MPCT_ERR_ARG, "%s: [party%d] has name, which only CA mode uses (pinned mode checks "
                                "the certificate itself): remove name, or set ca in [session]", path, i);
        else if (!out->tls && (out->ca[0] || out->party[i].cert[0] || out->party[i].name[0]))
            st = mpct_error_set(MPCT_ERR_ARG, "%s: tls = off, but %s is given: plain TCP checks no certificate "
                                "(remove it, or set tls = on)", path, out->ca[0] ? "ca" : out->party[i].cert[0]
                                ? "a party's cert" : "a party's name");
    }
done:
    free(pp);
    return st;
}
