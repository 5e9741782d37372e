#!/usr/bin/env bash
# Every environment variable the sources read is documented: each
# getenv("NAME") / secure_getenv("NAME") under src/, io/, perf/ and kernels/ must
# name NAME in backquotes (`NAME`) in docs/ENVIRONMENT.md, and every getenv
# must take a string literal (a computed name could not be checked).
# The check first proves on a copy with an undocumented variable that it
# fails there, so it cannot pass by finding nothing.
#
# usage: env_documented.sh SOURCE_DIR WORKDIR
set -u
SRC=${1:?usage: env_documented.sh SOURCE_DIR WORKDIR}
W=${2:?usage: env_documented.sh SOURCE_DIR WORKDIR}

# check ROOT: prints each problem, exit 1 when there is one
check() {
    local root=$1 bad=0 n=0
    local calls
    calls=$(grep -rnoE --include='*.c' --include='*.h' --include='*.cu' --include='*.cc' --include='*.cpp' \
        '\b(secure_)?getenv *\([^)]*\)' "$root/src" "$root/io" "$root/perf" "$root/kernels")
    while IFS= read -r line; do
        [ -n "$line" ] || continue
        n=$((n + 1))
        local name
        name=$(sed -nE 's/.*getenv *\( *"([A-Za-z_][A-Za-z0-9_]*)" *\).*/\1/p' <<<"$line")
        if [ -z "$name" ]; then
            echo "not a literal variable name: ${line#"$root"/}"
            bad=1
        elif ! grep -qF "\`$name\`" "$root/docs/ENVIRONMENT.md"; then
            echo "undocumented in docs/ENVIRONMENT.md: $name (${line#"$root"/})"
            bad=1
        fi
    done <<<"$calls"
    [ "$n" -gt 0 ] || { echo "no getenv found under $root: wrong source directory?"; bad=1; }
    return $bad
}

rm -rf "$W" && mkdir -p "$W/tree/src" "$W/tree/io" "$W/tree/perf" "$W/tree/kernels" "$W/tree/docs" || exit 1
cp "$SRC/docs/ENVIRONMENT.md" "$W/tree/docs/"
printf 'const char *e = getenv("MPCT_NOT_DOCUMENTED_ANYWHERE");\n' >"$W/tree/src/x.c"
printf 'const char *e = getenv("MPCT_NOT_DOCUMENTED_IN_PERF");\n' >"$W/tree/perf/y.c"
if check "$W/tree" >"$W/self.txt"; then
    echo "FAIL: the check passes a tree with an undocumented variable"
    exit 1
fi
grep -q MPCT_NOT_DOCUMENTED_ANYWHERE "$W/self.txt" && grep -q MPCT_NOT_DOCUMENTED_IN_PERF "$W/self.txt" || { echo "FAIL: self-check names: $(cat "$W/self.txt")"; exit 1; }

check "$SRC" || { echo "FAIL: document these in docs/ENVIRONMENT.md (name, where read, effect, default, for whom)"; exit 1; }
echo "every getenv under src/, io/, perf/, kernels/ is documented in docs/ENVIRONMENT.md"
