#!/usr/bin/env bash
# The generated bash completion (and man page, when help2man made one) against
# the program's help: completing the first word offers every command of
# `mpct --help`; completing "--" after `mpct run` offers every flag of
# `mpct run --help`, and so for every other command.
# usage: completion.sh MPCT COMPLETION_FILE MANPAGE
set -u
MPCT=$1 COMP=$2 MAN=$3
fail() { echo "FAIL: $*"; exit 1; }
export OMPI_MCA_btl=self OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
[ -f "$COMP" ] || fail "no completion file '$COMP' (built by the mpct_help_files target)"
# shellcheck disable=SC1090
source "$COMP"
complete -p mpct >/dev/null 2>&1 || fail "the file does not register a completion for mpct"
offer() { COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMPREPLY=(); _mpct; printf '%s\n' "${COMPREPLY[@]}" | sort -u; }
cmds=$("$MPCT" --help | sed -n '/^commands:/,/^$/p' | awk 'NF >= 2 && $1 ~ /^[a-z]+$/ { print $1 }')
[ "$(wc -w <<<"$cmds")" -ge 10 ] || fail "too few commands in mpct --help: $cmds"
got=$(offer mpct "")
for c in $cmds; do grep -qx "$c" <<<"$got" || fail "command '$c' not offered"; done
[ "$(offer mpct sp)" = split ] || fail "'mpct sp<TAB>' does not complete to split: $(offer mpct sp)"
for c in $cmds; do
    want=$("$MPCT" "$c" --help </dev/null | grep -oE '^ +(-[a-zA-Z], )?--[a-z0-9][a-z0-9-]*' | grep -oE -- '--[a-z0-9-]+' | sort -u)
    got=$(offer mpct "$c" --)
    for f in $want; do grep -qx -- "$f" <<<"$got" || fail "mpct $c: flag $f of its --help not offered"; done
    [ "$c" != run ] || [ "$(wc -l <<<"$want")" -ge 40 ] || fail "mpct run --help lists only $(wc -l <<<"$want") flags"
done
grep -qx -- --result-cache <<<"$(offer mpct run --res)" || fail "'mpct run --res<TAB>' does not offer --result-cache"
echo "ok: completion offers the $(wc -w <<<"$cmds") commands and every flag of each command's --help"
if [ -f "$MAN" ]; then
    grep -q '^\.TH MPCT' "$MAN" || fail "man page without .TH"
    for c in $cmds; do grep -q "^\.SS mpct $c\$" "$MAN" || fail "man page lacks the section of mpct $c"; done
    grep -qE -- 'result(\\)?-cache' "$MAN" || fail "man page lacks run's --result-cache"
    echo "ok: man page has a section per command"
else
    echo "no man page (help2man not installed): only the completion checked"
fi
