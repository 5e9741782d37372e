/*
 * test_peers.c — the peers file (io/peers.c): the example in jobs/ and a
 * CA-mode file parse to the expected values (relative paths resolved
 * against the file's folder, inline comments dropped); each mistake is
 * refused with the file, the line where there is one, and the key.
 * Files go to the working directory (the build tree), under rio_peers/.
 */
#include "mpct_peers.h"
#include "../mpct_check.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

static const char *parties = "[party0]\nhost = a\nport = 1000\ncert = p0.crt\n"
                             "[party1]\nhost = b\nport = 1001\ncert = /abs/p1.crt\n"
                             "[party2]\nhost = c\nport = 1002\ncert = p2.crt\n";

static void bad(const char *name, const char *text, const char *frag1, const char *frag2)
{
    char path[128];
    snprintf(path, sizeof path, "rio_peers/%s.ini", name);
    write_file(path, text);
    mpct_peers p;
    EXPECT_ERR(mpct_peers_load(path, &p), MPCT_ERR_ARG, path, frag1, frag2);
}

int main(void)
{
    mkdir("rio_peers", 0755);
    mpct_peers p;
    char ex[4096];
    snprintf(ex, sizeof ex, "%s/jobs/peers-example.ini", MPCT_SRC_DIR);
    MUST(mpct_peers_load(ex, &p));
    CHECK(!strcmp(p.id, "example-session-1"), "id '%s'", p.id);
    CHECK(p.tls == 1 && !p.ca[0]);
    CHECK(!strcmp(p.party[1].host, "client.example.org") && p.party[1].port == 47100);
    char want[4200];
    snprintf(want, sizeof want, "%s/jobs/party2.crt", MPCT_SRC_DIR);
    CHECK(!strcmp(p.party[2].cert, want), "cert '%s'", p.party[2].cert);

    char ok[1024];
    snprintf(ok, sizeof ok, "[session]\nid = s\n%s", parties);
    write_file("rio_peers/ok.ini", ok);
    MUST(mpct_peers_load("rio_peers/ok.ini", &p));
    CHECK(!strcmp(p.party[0].cert, "rio_peers/p0.crt") && !strcmp(p.party[1].cert, "/abs/p1.crt"));
    write_file("rio_peers/ca.ini", "[session]\nid = s\nca = ca.pem\n[party0]\nhost = a\nport = 1\nname = n0\n"
                                   "[party1]\nhost = b\nport = 2\nname = n1\n[party2]\nhost = c\nport = 3\nname = n2\n");
    MUST(mpct_peers_load("rio_peers/ca.ini", &p));
    CHECK(!strcmp(p.ca, "rio_peers/ca.pem") && !strcmp(p.party[2].name, "n2"));
    write_file("rio_peers/plain.ini", "[session]\nid = s\ntls = off\n[party0]\nhost = a\nport = 1\n"
                                      "[party1]\nhost = b\nport = 2\n[party2]\nhost = c\nport = 3\n");
    MUST(mpct_peers_load("rio_peers/plain.ini", &p));
    CHECK(p.tls == 0);

    char t[1024];
    snprintf(t, sizeof t, "[session]\nid = s\ncolour = red\n%s", parties);
    bad("key", t, ":3:", "unknown key 'colour' in [session]");
    snprintf(t, sizeof t, "[session]\nid = s\n%s[party3]\nhost = d\n", parties);
    bad("section", t, ":16:", "unknown section [party3]");
    snprintf(t, sizeof t, "[session]\nid = s\ntls = maybe\n%s", parties);
    bad("tls", t, ":3:", "tls = 'maybe': expected on or off");
    bad("port", "[session]\nid = s\n[party0]\nport = 70000\n", ":4:", "port = '70000': expected 1..65535");
    bad("noid", parties, "needs an id", NULL);
    bad("missing", "[session]\nid = s\n[party0]\nhost = a\nport = 1\ncert = x\n", "[party1] needs host and port", NULL);
    bad("nocert", "[session]\nid = s\n[party0]\nhost = a\nport = 1\n[party1]\nhost = b\nport = 2\ncert = x\n"
                  "[party2]\nhost = c\nport = 3\ncert = x\n", "[party0] needs cert", NULL);
    bad("noname", "[session]\nid = s\nca = ca.pem\n[party0]\nhost = a\nport = 1\nname = n\n[party1]\nhost = b\n"
                  "port = 2\n[party2]\nhost = c\nport = 3\nname = n\n", "[party1] needs name", NULL);
    /* a key the mode does not use is refused, not ignored */
    bad("cacert", "[session]\nid = s\nca = ca.pem\n[party0]\nhost = a\nport = 1\nname = n\ncert = c\n[party1]\n"
                  "host = b\nport = 2\nname = n\n[party2]\nhost = c\nport = 3\nname = n\n",
        "[party0] has cert, which CA mode does not use", NULL);
    snprintf(t, sizeof t, "[session]\nid = s\n%s", parties);
    char *e = strstr(t, "cert = p2.crt");
    if (e)
        memcpy(e, "name = p2.crt", 13);
    bad("pinname", t, "[party2] needs cert", NULL);
    snprintf(t, sizeof t, "[session]\nid = s\n%s[party2]\nname = x\n", parties);
    bad("pinname2", t, "[party2] has name, which only CA mode uses", NULL);
    snprintf(t, sizeof t, "[session]\nid = s\ntls = off\n%s", parties);
    bad("plaincert", t, "tls = off, but a party's cert is given", NULL);
    EXPECT_ERR(mpct_peers_load("rio_peers/none.ini", &p), MPCT_ERR_IO, "cannot open the peers file");
    return mpct_check_done("test_peers");
}
