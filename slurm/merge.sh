#!/usr/bin/env bash
#SBATCH --job-name=mpct-merge
#SBATCH --ntasks=1
#SBATCH --time=00:10:00
#SBATCH --output=mpct-merge-%j.out
#
# Final step of a job array over input shards (slurm/mpct-array.sbatch):
# checks that every shard 0..N-1 left its output DIR/shard-i.EXT and joins
# them, in shard order, into DEST. Runs as a plain script or as a Slurm job
# (submit it with --dependency=afterok:<array job id>, see submit-array.sh).
#
#   merge.sh DIR N DEST
#   sbatch --dependency=afterok:1234 slurm/merge.sh mpct-shards 8 merged.h5
#
# HDF5 shards (`mpct run` outputs; recognised by the HDF5 signature) are
# merged with `mpct merge DEST shard-0 ... shard-N-1`, which checks that
# every shard is complete, of the same model, task and shape, and that the
# rows they declare (mpct run --row-offset) neither overlap nor leave a gap,
# names each shard that fails, and writes DEST atomically. Other shards
# (text, e.g. `mpct demo` or `bench --json` output) are concatenated.
# Settings (environment variables):
#   MPCT_BIN              mpct executable for HDF5 shards. Default: `mpct`
#                         on PATH, else $SLURM_SUBMIT_DIR/build/mpct.
#   MPCT_MERGE_HEADERS=1  text shards: put a line "# shard i" before each
#                         shard's output (default 0: plain concatenation).
#   MPCT_SHARD_EXT        extension of the shard files (as in
#                         mpct-array.sbatch). Default: h5 when MPCT_JOB is
#                         set (the array ran mpct run), else out.
# Exit status: 0 merged; 1 a shard is missing (each missing shard is named),
# incomplete or mismatched, or DEST could not be written; 2 bad usage; 127
# mpct not found (HDF5 shards).
set -euo pipefail

usage() { echo "usage: merge.sh DIR NSHARDS DEST" >&2; exit 2; }
[ $# -eq 3 ] || usage
dir=$1 n=$2 dest=$3
if [ -n "${MPCT_JOB:-}" ]; then ext=${MPCT_SHARD_EXT:-h5}; else ext=${MPCT_SHARD_EXT:-out}; fi
case $n in ''|*[!0-9]*) echo "merge: error: shard count '$n' is not a number" >&2; exit 2 ;; esac
[ "$n" -gt 0 ] || { echo "merge: error: shard count must be at least 1" >&2; exit 2; }
[ -d "$dir" ] || { echo "merge: error: shard directory '$dir' not found (no shard finished?)" >&2; exit 1; }

missing=()
for ((i = 0; i < n; i++)); do
  [ -f "$dir/shard-$i.$ext" ] || missing+=("$i")
done
if [ ${#missing[@]} -gt 0 ]; then
  for i in "${missing[@]}"; do
    echo "merge: error: shard $i is missing (no $dir/shard-$i.$ext; did array task $i fail?)" >&2
  done
  echo "merge: error: ${#missing[@]} of $n shard(s) missing: ${missing[*]}; nothing merged" >&2
  exit 1
fi
for f in "$dir"/shard-*."$ext"; do  # outputs beyond N: probably a wrong N
  [ -e "$f" ] || continue
  i=${f##*/shard-}; i=${i%."$ext"}
  case $i in *[!0-9]*) continue ;; esac
  [ "$i" -lt "$n" ] || echo "merge: warning: $f is beyond the $n shards asked for; not merged" >&2
done

# HDF5 shards: mpct merge checks and joins them (and names any bad shard)
if [ "$(head -c 4 "$dir/shard-0.$ext" | tail -c 3)" = "HDF" ]; then
  if [ -z "${MPCT_BIN:-}" ]; then
    if command -v mpct >/dev/null 2>&1; then MPCT_BIN=$(command -v mpct)
    else MPCT_BIN=${SLURM_SUBMIT_DIR:-$PWD}/build/mpct; fi
  fi
  [ -x "$MPCT_BIN" ] || { echo "merge: error: mpct not found or not executable: '$MPCT_BIN' (set MPCT_BIN)" >&2; exit 127; }
  shards=()
  for ((i = 0; i < n; i++)); do shards+=("$dir/shard-$i.$ext"); done
  rc=0
  "$MPCT_BIN" merge "$dest" "${shards[@]}" || rc=$?
  [ "$rc" -eq 0 ] && echo "merge: $n HDF5 shard(s) from $dir -> $dest" || echo "merge: error: mpct merge failed (exit $rc)" >&2
  exit "$rc"
fi

tmp=$dest.partial.$$
trap 'rm -f "$tmp"' EXIT
: >"$tmp"
for ((i = 0; i < n; i++)); do
  if [ "${MPCT_MERGE_HEADERS:-0}" = 1 ]; then echo "# shard $i" >>"$tmp"; fi
  cat "$dir/shard-$i.$ext" >>"$tmp"
done
mv -f "$tmp" "$dest"
trap - EXIT
echo "merge: $n shard(s) from $dir -> $dest ($(wc -c <"$dest") bytes)"
