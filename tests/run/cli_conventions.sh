#!/usr/bin/env bash
# The command-line conventions every `mpct` command shares (src/tools/opt.h):
#  - `mpct help CMD` prints exactly `mpct CMD --help` (and -h), exit 0, with an
#    "exit status:" section; `mpct help` is `mpct --help`; `mpct help nosuch`
#    exits 2;
#  - an unknown option, `--name=value` given to a switch, and a value option
#    without its value exit 2 with "mpct CMD: error:" naming the option;
#  - `--opt=value` reads the value as `--opt value` does (same message, same
#    status), `-xVALUE` as `-x VALUE`;
#  - `--` ends the options: a later word starting with '-' is a positional.
# Every command listed by `mpct --help` is checked (a new one must follow the
# conventions); commands that need MPI start as MPI singletons (no mpirun).
#
# usage: cli_conventions.sh MPCT WORKDIR
set -u
MPCT=${1:?usage: cli_conventions.sh MPCT WORKDIR}
W=${2:?usage: cli_conventions.sh MPCT WORKDIR}
rm -rf "$W" && mkdir -p "$W" && cd "$W" || exit 1
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# run CMD...: sets rc, out, err
run() {
    "$MPCT" "$@" >out.txt 2>err.txt
    rc=$?
    out=$(cat out.txt)
    err=$(cat err.txt)
}

mapfile -t cmds < <("$MPCT" --help | sed -n '/^commands:/,/^$/p' | awk 'NF >= 2 && $1 != "commands:" {print $1}')
[ "${#cmds[@]}" -ge 12 ] || fail "mpct --help lists ${#cmds[@]} commands, expected at least 12"

# ---- help ----
run help; [ "$rc" -eq 0 ] && [ "$out" = "$("$MPCT" --help)" ] || fail "mpct help differs from mpct --help"
grep -q "docs/ENVIRONMENT.md" out.txt || fail "mpct --help does not name docs/ENVIRONMENT.md"
run help nosuch; [ "$rc" -eq 2 ] && grep -q "nosuch" err.txt || fail "mpct help nosuch: rc $rc, '$err'"
run nosuch; [ "$rc" -eq 2 ] || fail "mpct nosuch: rc $rc"

helps=("${cmds[@]}" "bench ops" "bench model" "report diff")
for c in "${helps[@]}"; do
    # shellcheck disable=SC2086
    run $c --help
    [ "$rc" -eq 0 ] || fail "mpct $c --help: rc $rc ($err)"
    [ -z "$err" ] || fail "mpct $c --help wrote to stderr: $err"
    grep -q "^usage: " out.txt || fail "mpct $c --help has no usage line"
    grep -q "^exit status:$" out.txt || fail "mpct $c --help has no 'exit status:' section"
    sed -n '/^exit status:$/,$p' out.txt | grep -q "^  0 " || fail "mpct $c --help: exit status lacks 0"
    sed -n '/^exit status:$/,$p' out.txt | grep -q "^  2 " || fail "mpct $c --help: exit status lacks 2"
    h=$out
    # shellcheck disable=SC2086
    run help $c; [ "$rc" -eq 0 ] && [ "$out" = "$h" ] || fail "mpct help $c differs from mpct $c --help"
    # shellcheck disable=SC2086
    run $c -h; [ "$rc" -eq 0 ] && [ "$out" = "$h" ] || fail "mpct $c -h differs from mpct $c --help"
done
run run --help
for code in 1 3 130 143; do
    sed -n '/^exit status:$/,$p' out.txt | grep -q "^  $code " || fail "mpct run --help: exit status lacks $code"
done
run bench --help
grep -q -- "--calibrate" out.txt && grep -q -- "--shape" out.txt && grep -q -- "--filter" out.txt ||
    fail "mpct bench --help does not cover both bench ops and bench model"
sed -n '/^exit status:$/,$p' out.txt | grep -q "^  3 " || fail "mpct bench --help: exit status lacks 3"

# ---- refusals: unknown option, a value given to a switch, a missing value ----
for c in "${cmds[@]}" "bench ops" "bench model" "report diff"; do
    # shellcheck disable=SC2086
    run $c --no-such-option
    [ "$rc" -eq 2 ] || fail "mpct $c --no-such-option: rc $rc"
    grep -q "^mpct $c: error: .*'--no-such-option'" err.txt || fail "mpct $c --no-such-option: message '$err'"
    [ "$(wc -l <err.txt)" -eq 1 ] || fail "mpct $c --no-such-option: not one message line: '$err'"
    # shellcheck disable=SC2086
    run $c --no-such=1
    [ "$rc" -eq 2 ] && grep -q "'--no-such'" err.txt || fail "mpct $c --no-such=1: rc $rc, '$err'"
    # shellcheck disable=SC2086
    run $c -Z
    [ "$rc" -eq 2 ] && grep -q "'-Z'" err.txt || fail "mpct $c -Z: rc $rc, '$err'"
done
# a switch ('-': none) and a value option of each command
while read -r c sw val; do
    c=${c//_/ } # bench_ops: mpct bench ops
    # shellcheck disable=SC2086
    [ "$sw" = - ] || run $c "--$sw=1"
    [ "$sw" = - ] || { [ "$rc" -eq 2 ] && grep -q "^mpct $c: error: option '--$sw' takes no value" err.txt; } ||
        fail "mpct $c --$sw=1: rc $rc, '$err'"
    # shellcheck disable=SC2086
    run $c "--$val"
    [ "$rc" -eq 2 ] && grep -q "^mpct $c: error: option '--$val' needs a value" err.txt ||
        fail "mpct $c --$val (no value): rc $rc, '$err'"
done <<'EOF'
pack compress bits
compare quiet min-cosine
embed logits input
cache json dir
demo quiet rows
merge quiet output
report quiet top
tokenize - max-len
warm quiet cache-dir
plan json nodes
run resume seq-len
bench_ops json reps
bench_model json seq
EOF

# ---- --opt=value reads the value as --opt value ----
"$MPCT" pack --synthetic tiny -o tiny.h5 >/dev/null || fail "pack --synthetic tiny"
same() { # same ARGS_A -- ARGS_B: status and stderr equal, and a refusal (not unknown)
    local a=() b=() seen=0
    for x in "$@"; do
        if [ "$x" = "::" ]; then seen=1; elif [ $seen = 0 ]; then a+=("$x"); else b+=("$x"); fi
    done
    run "${a[@]}"; local ra=$rc ea=$err
    run "${b[@]}"
    [ "$ra" = "$rc" ] && [ "$ea" = "$err" ] || fail "'${a[*]}' (rc $ra: $ea) differs from '${b[*]}' (rc $rc: $err)"
    case $ea in *"unknown option"* | *"needs a value"* | "") fail "'${a[*]}' was not read as a value: '$ea'" ;; esac
}
same pack tiny-dir -o x.h5 --bits=7 :: pack tiny-dir -o x.h5 --bits 7
same compare --min-cosine=x a.h5 b.h5 :: compare --min-cosine x a.h5 b.h5
same embed tiny.h5 --input=missing.txt :: embed tiny.h5 --input missing.txt
same embed tiny.h5 -imissing.txt :: embed tiny.h5 -i missing.txt
same cache prune --dir=. --max-mb=-3 :: cache prune --dir . --max-mb -3
same demo --rows=0 :: demo --rows 0
same demo -m0 :: demo -m 0
same merge --output=o.h5 missing1.h5 :: merge --output o.h5 missing1.h5
same merge -oo.h5 missing1.h5 :: merge o.h5 missing1.h5
same report --top=0 r.json :: report --top 0 r.json
same tokenize --max-len=1 --vocab=v.txt :: tokenize --max-len 1 --vocab v.txt
same warm --frac-bits=99 :: warm --frac-bits 99
same plan --nodes=0 :: plan --nodes 0
same run --seq-len=1 :: run --seq-len 1
same bench ops --reps=0 :: bench ops --reps 0
same bench model --seq=0 :: bench model --seq 0
# a value that starts with '-' is still the value
same run --row-offset=-2 :: run --row-offset -2
# accepted values: the same model written both ways
run pack --synthetic=tiny --bits=8 --seed=3 -oa.h5; ra=$rc; oa=$(grep -v '^wrote' out.txt)
run pack --synthetic tiny --bits 8 --seed 3 -o b.h5
[ "$ra" -eq 0 ] && [ "$rc" -eq 0 ] && [ "$oa" = "$(grep -v '^wrote' out.txt)" ] ||
    fail "pack --synthetic=tiny --bits=8 -oa.h5 differs from the spaced form"
echo "12 13" >ids.txt
run embed --input=ids.txt tiny.h5; ea=$out
run embed tiny.h5 -i ids.txt
[ "$rc" -eq 0 ] && [ -n "$ea" ] && [ "$ea" = "$out" ] || fail "embed --input=ids.txt differs from -i ids.txt"

# ---- `--` ends the options ----
run compare -- -a.h5 -b.h5
[ "$rc" -eq 1 ] && grep -q -- "-a.h5" err.txt && ! grep -q "unknown option" err.txt ||
    fail "compare -- -a.h5 -b.h5: rc $rc, '$err'"
run embed --input ids.txt -- tiny.h5
[ "$rc" -eq 0 ] && [ "$out" = "$ea" ] || fail "embed --input ids.txt -- tiny.h5: rc $rc"
run merge -o o.h5 -- -shard.h5
[ "$rc" -eq 1 ] && grep -q -- "-shard.h5" err.txt && ! grep -q "unknown option" err.txt ||
    fail "merge -o o.h5 -- -shard.h5: rc $rc, '$err'"
run run -- -job.ini
[ "$rc" -eq 2 ] && grep -q -- "-job.ini" err.txt && ! grep -q "unknown option" err.txt ||
    fail "run -- -job.ini: rc $rc, '$err'"

[ "$fails" -eq 0 ] || { echo "$fails failure(s)"; exit 1; }
echo "cli conventions: ${#cmds[@]} commands OK"
