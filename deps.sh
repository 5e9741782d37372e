#!/usr/bin/env bash
# Installs the Debian packages mpct needs to build and test (run as root or
# with sudo). CUDA Toolkit + NCCL are optional and come with the machine.
# --no-update skips `apt-get update` (when the caller has just run it).
set -euo pipefail
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; fi
export DEBIAN_FRONTEND=noninteractive
[ "${1:-}" = "--no-update" ] || $SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends \
  build-essential cmake pkg-config ca-certificates \
  libopenmpi-dev openmpi-bin \
  libssl-dev libhdf5-dev hdf5-tools liblz4-dev libpapi-dev papi-tools \
  libcjson-dev libinih-dev libutf8proc-dev \
  clang python3 python3-pip prometheus librsvg2-bin slurm-wlm munge help2man \
  iproute2 tcpdump \
  python3-venv python3-numpy python3-h5py python3-setuptools python3-wheel >/dev/null
echo "deps.sh: build dependencies installed"
