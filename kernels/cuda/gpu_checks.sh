#!/usr/bin/env bash
# gpu_checks.sh — one-shot GPU validation and benchmark of the CUDA backend.
#
# Run from the repository root on a machine with an NVIDIA GPU:
#     OUT=/some/dir bash kernels/cuda/gpu_checks.sh
# Needs only CUDA (nvcc, cuBLAS) at $CUDA_HOME (default /usr/local/cuda) and
# gcc; no CMake, MPI, HDF5, cJSON or OpenSSL (the CPU KAT test is built and
# run only if OpenSSL headers happen to exist). Builds into /tmp/gpubuild
# with plain nvcc/gcc, then runs the GPU tests and the benchmark.
#
# Writes to $OUT (default ./gpu-out), six files:
#   nvidia-smi.txt  GPU detection (nvidia-smi output)
#   build.log       compiler commands and messages
#   tests.log       output of test_prf_kat (if built), test_cuda_prf,
#                   test_cuda_kernels, with their exit codes
#   bench.json      benchmark results (JSON, see bench_cuda.cu)
#   bench.log       benchmark table (stderr of the benchmark)
#   summary.txt     the short summary also printed at the end
# Exit status: 0 all passed; 1 a test or the benchmark failed; 2 build
# failed; 3 no GPU (built only). Designed to finish well under 4 minutes.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT="${OUT:-./gpu-out}"
mkdir -p "$OUT" && OUT=$(cd "$OUT" && pwd)
CUDA="${CUDA_HOME:-/usr/local/cuda}"
NVCC="$CUDA/bin/nvcc"
ARCH="${MPCT_CUDA_ARCH:-sm_90}"
B=/tmp/gpubuild
K="$ROOT/kernels"
C="$K/cuda"
T="$ROOT/tests/gpu"
LOG="$OUT/build.log"
TL="$OUT/tests.log"
SUM="$OUT/summary.txt"
T0=$(date +%s)
: >"$LOG"; : >"$TL"; : >"$SUM"
say() { echo "$*" | tee -a "$SUM"; }

# ---- 1. GPU detection ----
HAVE_GPU=0
if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi >"$OUT/nvidia-smi.txt" 2>&1 \
   && nvidia-smi -L >>"$OUT/nvidia-smi.txt" 2>&1; then
  HAVE_GPU=1
else
  echo "nvidia-smi missing or failed: no usable GPU" >>"$OUT/nvidia-smi.txt"
fi
say "gpu_checks: $(date -u +%FT%TZ) host $(hostname) arch $ARCH"
GPU_DESC=$(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null | head -1)
say "gpu: ${GPU_DESC:-none}"

# ---- 2. build ----
if [ ! -x "$NVCC" ]; then say "BUILD FAILED: $NVCC not found"; exit 2; fi
rm -rf "$B" && mkdir -p "$B"
NVFLAGS=(-O3 -std=c++17 -arch="$ARCH" -I"$C" -I"$K" -Xcompiler=-Wall,-Wextra -D_POSIX_C_SOURCE=200809L)
CFLAGS=(-O2 -std=c11 -Wall -Wextra -D_POSIX_C_SOURCE=200809L -I"$C" -I"$K" -I"$CUDA/include")
build_ok=1
pids=()
for f in backend gemm elementwise prf bench_cuda; do
  ( echo "+ nvcc $f.cu"; "$NVCC" "${NVFLAGS[@]}" -c "$C/$f.cu" -o "$B/$f.o" ) >"$B/$f.log" 2>&1 &
  pids+=($!)
done
for f in "$C/mpct_aes.c" "$T/test_cuda_kernels.c" "$T/test_cuda_prf.c"; do
  n=$(basename "$f" .c)
  ( echo "+ gcc $n.c"; gcc "${CFLAGS[@]}" -c "$f" -o "$B/$n.o" ) >"$B/$n.log" 2>&1 &
  pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || build_ok=0; done
cat "$B"/*.log >>"$LOG"
LIB=("$B/backend.o" "$B/gemm.o" "$B/elementwise.o" "$B/prf.o" "$B/mpct_aes.o")
LINK=(-arch="$ARCH" -lcublas -lpthread)
if [ $build_ok = 1 ]; then
  for exe in test_cuda_kernels test_cuda_prf bench_cuda; do
    echo "+ link $exe" >>"$LOG"
    "$NVCC" "$B/$exe.o" "${LIB[@]}" "${LINK[@]}" -o "$B/$exe" >>"$LOG" 2>&1 || build_ok=0
  done
fi
# Optional CPU KAT (needs OpenSSL headers; always run in the CMake build).
HAVE_KAT=0
if echo '#include <openssl/evp.h>' | gcc -E -x c - >/dev/null 2>&1; then
  echo "+ gcc test_prf_kat" >>"$LOG"
  gcc "${CFLAGS[@]}" "$T/test_prf_kat.c" "$C/mpct_aes.c" -lcrypto -o "$B/test_prf_kat" >>"$LOG" 2>&1 && HAVE_KAT=1
else
  echo "OpenSSL headers absent: test_prf_kat not built here (it runs in the CMake build)" >>"$LOG"
fi
if [ $build_ok != 1 ]; then
  say "BUILD FAILED after $(( $(date +%s) - T0 )) s: see $LOG"; tail -30 "$LOG"; exit 2
fi
say "build: OK in $(( $(date +%s) - T0 )) s"
if [ $HAVE_GPU != 1 ]; then
  say "NO GPU: nvidia-smi failed (see nvidia-smi.txt); built everything, ran nothing on a GPU"
  exit 3
fi

# ---- 3. tests ----
fail=0
run_test() { # name timeout
  local t0=$(date +%s) rc
  echo "===== $1" >>"$TL"
  timeout "$2" "$B/$1" >>"$TL" 2>&1; rc=$?
  echo "===== $1 exit $rc ($(( $(date +%s) - t0 )) s)" >>"$TL"
  case $rc in 0) say "test $1: PASS ($(( $(date +%s) - t0 )) s)";;
    77) say "test $1: SKIPPED (no device?)"; fail=1;;
    124) say "test $1: TIMEOUT after $2 s"; fail=1;;
    *) say "test $1: FAIL (exit $rc)"; grep FAIL "$TL" | head -5 | tee -a "$SUM"; fail=1;; esac
}
[ $HAVE_KAT = 1 ] && run_test test_prf_kat 30
run_test test_cuda_prf 60
run_test test_cuda_kernels 100

# ---- 4. benchmark ----
t0=$(date +%s)
timeout 90 "$B/bench_cuda" >"$OUT/bench.json" 2>"$OUT/bench.log"; rc=$?
if [ $rc = 0 ]; then say "bench: OK ($(( $(date +%s) - t0 )) s)"; else say "bench: FAIL (exit $rc)"; fail=1; fi
say "---- benchmark (median us; h2h = host-to-host incl. transfers) ----"
cat "$OUT/bench.log" | tee -a "$SUM"
say "total $(( $(date +%s) - T0 )) s; results in $OUT"
if [ $fail = 0 ]; then say "ALL GPU CHECKS PASSED"; else say "SOME GPU CHECKS FAILED"; fi
exit $fail
