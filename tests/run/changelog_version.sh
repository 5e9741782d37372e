#!/usr/bin/env bash
# CHANGELOG.md and `mpct --version` agree: the newest version heading
# ("## [V] - DATE — protocol P, model format M, output format O, generate
# output format G") names the version, protocol and format numbers that the
# program prints.  usage: changelog_version.sh MPCT SRCDIR
set -u
MPCT=$1 SRC=$2
fail() { echo "FAIL: $*"; exit 1; }
v=$("$MPCT" --version) || fail "mpct --version exit $?"
re='^mpct ([0-9]+\.[0-9]+\.[0-9]+) \(protocol version ([0-9]+), model format ([0-9]+), output format ([0-9]+), generate output format ([0-9]+)\)$'
[[ $v =~ $re ]] || fail "mpct --version printed '$v'"
want="${BASH_REMATCH[1]}|${BASH_REMATCH[2]}|${BASH_REMATCH[3]}|${BASH_REMATCH[4]}|${BASH_REMATCH[5]}"
head=$(grep -m1 '^## \[[0-9]' "$SRC/CHANGELOG.md") || fail "CHANGELOG.md has no version heading"
hre='^## \[([0-9.]+)\] - .* — protocol ([0-9]+), model format ([0-9]+), output format ([0-9]+), generate output format ([0-9]+)$'
[[ $head =~ $hre ]] || fail "newest CHANGELOG heading is not in the documented form: '$head'"
got="${BASH_REMATCH[1]}|${BASH_REMATCH[2]}|${BASH_REMATCH[3]}|${BASH_REMATCH[4]}|${BASH_REMATCH[5]}"
[ "$got" = "$want" ] || fail "CHANGELOG.md's newest heading says $got (version|protocol|model|output|generate), mpct --version $want"
grep -q '^## Versioning' "$SRC/CHANGELOG.md" || fail "CHANGELOG.md does not state its versioning rule"
echo "ok: CHANGELOG.md and mpct --version agree on $want"
