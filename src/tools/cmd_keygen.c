/*
 * cmd_keygen.c — `mpct keygen`: a party's private key and self-signed
 * certificate for separately launched jobs (docs/DEPLOY.md), and the
 * SHA-256 fingerprint operators compare over another channel; `--show`
 * prints the fingerprint of an existing certificate.
 *
 * MPCT_COMMAND(keygen, 0, "make a party's TLS key and certificate, print its fingerprint")
 */
#include <stdio.h>
#include <stdlib.h>

#include "mpct_net_tls.h"
#include "opt.h"
#include "tool_common.h"

int mpct_cmd_keygen(int argc, char **argv);

static const mpct_opt keygen_opts[] = {
    {"name", 'n', "NAME", "the party's name, written into the certificate (a host or organisation\n"
                          "name: letters, digits, '.', '-', no spaces)"},
    {"key", 'k', "FILE", "where to write the private key (mode 0600; never overwritten)"},
    {"cert", 'c', "FILE", "where to write the certificate (give it to the other parties; never\noverwritten)"},
    {"days", 0, "N", "validity in days, 1..3650 (default 365)"},
    {"show", 0, "CERT", "only print the SHA-256 fingerprint of an existing certificate"},
};

static const mpct_opt_cmd keygen_cmd = {
    .name = "keygen",
    .usage = "mpct keygen --name NAME --key PARTY.key --cert PARTY.crt [--days N]\n"
             "mpct keygen --show PARTY.crt",
    .about = "Makes an EC P-256 private key and a self-signed certificate for one party of a\n"
             "separately launched job (mpct run --party P --peers FILE --tls-key PARTY.key).\n"
             "Keep the key at the party's site; give the certificate to the other two parties,\n"
             "whose peers file pins it. Compare the printed fingerprint over another channel\n"
             "(phone, signed mail) before trusting a certificate you received.\n",
    MPCT_OPT_TABLE(keygen_opts),
    .exit_fail = "the key or certificate could not be written (an existing file is never\n"
                 "overwritten), or --show's certificate could not be read",
};

int mpct_cmd_keygen(int argc, char **argv)
{
    const char *name = NULL, *key = NULL, *cert = NULL, *days_s = NULL, *show = NULL;
    mpct_opt_iter it = mpct_opt_start(&keygen_cmd, argc, argv, 1);
    int rc;
    while (mpct_opt_more(&it, &rc)) {
        if (!it.opt) {
            fprintf(stderr, "mpct keygen: error: unexpected argument '%s' (see mpct keygen --help)\n", it.value);
            return 2;
        }
        if (!mpct_opt_take(&it, "name", &name) && !mpct_opt_take(&it, "key", &key) &&
            !mpct_opt_take(&it, "cert", &cert) && !mpct_opt_take(&it, "days", &days_s))
            mpct_opt_take(&it, "show", &show);
    }
    if (rc >= 0)
        return rc;
    char fp[65];
    mpct_status st;
    if (show) {
        if (name || key || cert || days_s) {
            fprintf(stderr, "mpct keygen: error: --show takes no other option\n");
            return 2;
        }
        if ((st = mpct_net_tls_fingerprint(show, fp)) != MPCT_OK) {
            mpct_sched_error("keygen", st);
            return 1;
        }
        printf("%s  SHA-256 %s\n", show, fp);
        return 0;
    }
    if (!name || !key || !cert) {
        fprintf(stderr, "mpct keygen: error: give --name, --key and --cert (see mpct keygen --help)\n");
        return 2;
    }
    long days = 365;
    if (days_s && mpct_tool_parse_long("keygen", "--days", days_s, 1, 3650, &days))
        return 2;
    if ((st = mpct_net_tls_keygen(key, cert, name, 0, days * 86400L, fp)) != MPCT_OK) {
        mpct_sched_error("keygen", st);
        return 1;
    }
    printf("mpct keygen: wrote %s (private key: keep it at this party's site) and %s (certificate for '%s', "
           "valid %ld days)\n%s  SHA-256 %s\n",
           key, cert, name, days, cert, fp);
    return 0;
}
