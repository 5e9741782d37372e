#!/usr/bin/env bash
# Installs python/ with pip into a fresh venv (--system-site-packages: numpy
# and h5py come from the system, no network) and runs test_mpct_py.py
# against the tiny synthetic model. Exit 77 (skip) only when no python3 has
# venv, numpy, h5py and the build tools (deps.sh installs them all).
# Usage: run_python_tests.sh MPCT MPIRUN SOURCE_DIR WORK_DIR
set -euo pipefail
MPCT=$1 MPIRUN=$2 SRC=$3 WORK=$4
need='import venv, ensurepip, numpy, h5py, setuptools, wheel'
PY=
for cand in /usr/bin/python3 "$(command -v python3 || true)"; do
  if [ -n "$cand" ] && [ -x "$cand" ] && "$cand" -c "$need" 2>/dev/null; then PY=$cand; break; fi
done
if [ -z "$PY" ]; then
  echo "SKIP: no python3 with venv, numpy, h5py, setuptools and wheel (deps.sh installs python3-venv python3-numpy python3-h5py python3-wheel)"
  exit 77
fi
rm -rf "$WORK" && mkdir -p "$WORK"
cp -r "$SRC/python" "$WORK/src"   # pip builds in the tree: keep the checkout clean
"$PY" -m venv --system-site-packages "$WORK/venv"
"$WORK/venv/bin/pip" install -q --no-build-isolation --no-index --no-deps "$WORK/src" \
  || { echo "FAIL: pip install ./python"; exit 1; }
cd "$WORK"
cp "$SRC/tests/python/test_mpct_py.py" "$WORK/"
MPCT_BIN=$MPCT MPCT_TEST_MPIRUN=$MPIRUN MPCT_SRC=$SRC PYTHONDONTWRITEBYTECODE=1 \
  "$WORK/venv/bin/python" -m unittest -v test_mpct_py 2>&1
