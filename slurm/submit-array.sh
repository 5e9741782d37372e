#!/usr/bin/env bash
# Submits a job array over N input shards (slurm/mpct-array.sbatch, tasks
# 0..N-1) and the merge (slurm/merge.sh) that runs only when every array task
# succeeded (--dependency=afterok:<array job id>). Prints both job ids.
#
#   slurm/submit-array.sh N [DEST] [extra sbatch options for the array...]
#   MPCT_JOB=job.ini MPCT_SHARD_INPUTS='data/shard-%03d.txt' slurm/submit-array.sh 8 merged.h5
#   slurm/submit-array.sh 8 merged.out --array=0-7%2     # at most 2 at a time
#
# Shard inputs are inputs files of `mpct run` (text, JSONL, CSV/TSV), e.g.
# made by `mpct split`.
# Each array task runs the 3 parties of its replica on 3 different nodes
# (mpct-array.sbatch asks for --nodes=3).
#
# Settings (environment variables; all those of mpct-array.sbatch pass on):
#   MPCT_SINGLE_NODE=1  the 3 parties on one node instead: the warm job and
#                  the array are submitted with --nodes=1 --overcommit (no
#                  isolation between the parties; a warning says so).
#   MPCT_OUT_DIR   shard output directory. Default: $PWD/mpct-shards.
#   DEST           merged file. Default: $PWD/mpct-merged.h5 with MPCT_JOB
#                  (mpct run shards, merged by mpct merge), else
#                  $PWD/mpct-merged.out.
#   MPCT_CACHE_DIR with MPCT_JOB: a warm job (slurm/mpct-warm.sbatch: `mpct
#                  warm`) runs first and the array waits for it
#                  (afterok), so every shard loads the weight shares from
#                  the cache instead of sharing them again.
#   MPCT_SHARD_INPUTS  when the array's command uses {row_offset} (the
#                  MPCT_JOB default does), every shard input must exist
#                  before anything is submitted, and the row offsets of all
#                  shards are counted here in one pass into
#                  $MPCT_OUT_DIR/row-offsets (MPCT_ROW_OFFSETS for the tasks).
#   MPCT_ROW_OFFSETS  a row-offsets file to use instead of counting lines
#                  (mpct split writes DIR/row-offsets: the rows of JSONL and
#                  CSV/TSV shards, whose records may span lines or follow a
#                  header). `mpct split -n N -d DIR corpus.csv` makes the
#                  shards: MPCT_SHARD_INPUTS='DIR/shard-%03d.csv'.
# If the array fails, the merge job is cancelled by Slurm (its dependency can
# never be met: --kill-on-invalid-dep=yes); run merge.sh by hand to see which
# shards are missing.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
[ $# -ge 1 ] || { echo "usage: submit-array.sh N [DEST] [sbatch options...]" >&2; exit 2; }
n=$1; shift
case $n in ''|*[!0-9]*|0*) echo "submit-array: error: shard count '$n' must be a positive number (no leading 0)" >&2; exit 2 ;; esac
if [ -n "${MPCT_JOB:-}" ]; then dest_default=$PWD/mpct-merged.h5; else dest_default=$PWD/mpct-merged.out; fi
dest=${1:-$dest_default}; [ $# -gt 0 ] && shift
export MPCT_OUT_DIR=${MPCT_OUT_DIR:-$PWD/mpct-shards}
case $MPCT_OUT_DIR in /*) ;; *) MPCT_OUT_DIR=$PWD/$MPCT_OUT_DIR ;; esac  # the tasks may start elsewhere
command -v sbatch >/dev/null 2>&1 || { echo "submit-array: error: sbatch not found" >&2; exit 127; }
one_node=()
case ${MPCT_SINGLE_NODE:-0} in
  0) ;;
  1) one_node=(--nodes=1 --overcommit)
     echo "submit-array: warning: MPCT_SINGLE_NODE=1: the 3 parties of each replica share one node, which gives no isolation between them" >&2 ;;
  *) echo "submit-array: error: MPCT_SINGLE_NODE must be 0 or 1, not '$MPCT_SINGLE_NODE'" >&2; exit 2 ;;
esac

# the array's command: {row_offset} is in the MPCT_JOB default (mpct-array.sbatch) or in MPCT_CMD
if [ -n "${MPCT_CMD:-}" ]; then cmd=$MPCT_CMD; elif [ -n "${MPCT_JOB:-}" ]; then cmd="{row_offset}"; else cmd=""; fi
case $cmd in *'{row_offset}'*) [ -n "${MPCT_SHARD_INPUTS:-}" ] ||
  { echo "submit-array: error: {row_offset} needs MPCT_SHARD_INPUTS (the shard input files to count lines of)" >&2; exit 2; } ;;
  *) cmd="" ;; esac
if [ -n "$cmd" ]; then
  rows=0 offs=()
  for ((k = 0; k < n; k++)); do
    # shellcheck disable=SC2059  # the pattern is the user's printf format
    f=$(printf "$MPCT_SHARD_INPUTS" "$k")
    [ -f "$f" ] || { echo "submit-array: error: input of shard $k not found: '$f' (nothing submitted)" >&2; exit 1; }
    [ -n "${MPCT_ROW_OFFSETS:-}" ] && continue
    offs+=("$rows")
    rows=$((rows + $(awk 'END { print NR }' "$f")))  # lines, a last one without newline too
  done
  if [ -n "${MPCT_ROW_OFFSETS:-}" ]; then   # given (mpct split writes it): rows, not lines, of CSV/JSONL shards
    [ -f "$MPCT_ROW_OFFSETS" ] || { echo "submit-array: error: MPCT_ROW_OFFSETS '$MPCT_ROW_OFFSETS' not found" >&2; exit 1; }
    [ "$(awk 'END { print NR }' "$MPCT_ROW_OFFSETS")" -ge "$n" ] ||
      { echo "submit-array: error: MPCT_ROW_OFFSETS '$MPCT_ROW_OFFSETS' has fewer than $n lines" >&2; exit 1; }
    case $MPCT_ROW_OFFSETS in /*) ;; *) MPCT_ROW_OFFSETS=$PWD/$MPCT_ROW_OFFSETS ;; esac
    export MPCT_ROW_OFFSETS
  else
    mkdir -p "$MPCT_OUT_DIR"
    offsets=$MPCT_OUT_DIR/row-offsets
    printf '%s\n' "${offs[@]}" >"$offsets.tmp"
    mv -f "$offsets.tmp" "$offsets"
    export MPCT_ROW_OFFSETS=$offsets
  fi
fi

dep=() warm=""
if [ -n "${MPCT_JOB:-}" ] && [ -n "${MPCT_CACHE_DIR:-}" ]; then
  warm=$(sbatch --parsable ${one_node[@]+"${one_node[@]}"} "$here/mpct-warm.sbatch")
  warm=${warm%%;*}
  dep=(--dependency="afterok:$warm" --kill-on-invalid-dep=yes)
fi
arr=$(sbatch --parsable --array="0-$((n - 1))" ${one_node[@]+"${one_node[@]}"} ${dep[@]+"${dep[@]}"} "$@" \
      "$here/mpct-array.sbatch")
arr=${arr%%;*}   # "id;cluster" on multi-cluster setups
merge=$(sbatch --parsable --dependency="afterok:$arr" --kill-on-invalid-dep=yes \
        "$here/merge.sh" "$MPCT_OUT_DIR" "$n" "$dest")
[ -z "$warm" ] || echo "submit-array: warm job $warm -> $MPCT_CACHE_DIR"
echo "submit-array: array job $arr (shards 0-$((n - 1)) -> $MPCT_OUT_DIR), merge job ${merge%%;*} -> $dest"
