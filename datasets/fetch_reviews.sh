#!/usr/bin/env bash
# fetch_reviews.sh — the real labelled movie-review snippets of Hutto &
# Gilbert (ICWSM 2014), shipped inside the vaderSentiment 3.3.2 source
# distribution on PyPI (additional_resources/hutto_ICWSM_2014.tar.gz).
# Writes datasets/cache/reviews/movieReviewSnippets_GroundTruth.txt
# (about 10,600 lines: id <TAB> mean rating in [-4, 4] <TAB> text; CRLF line ends).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cache="$here/cache"
out="$cache/reviews"
name=movieReviewSnippets_GroundTruth.txt
mkdir -p "$cache/sdists" "$out"
if [ ! -f "$out/$name" ]; then
    python3 -m pip download --no-binary :all: --no-deps vaderSentiment==3.3.2 -d "$cache/sdists"
    tmp="$out/unpack"
    rm -rf "$tmp" && mkdir -p "$tmp"
    tar -xzf "$cache/sdists/vaderSentiment-3.3.2.tar.gz" -C "$tmp"
    inner="$tmp/vaderSentiment-3.3.2/additional_resources/hutto_ICWSM_2014.tar.gz"
    [ -f "$inner" ] || { echo "fetch_reviews.sh: $inner missing from the sdist" >&2; exit 1; }
    tar -xzf "$inner" -C "$tmp"
    f="$(find "$tmp" -name "$name" | head -1)"
    [ -n "$f" ] || { echo "fetch_reviews.sh: $name missing from hutto_ICWSM_2014.tar.gz" >&2; exit 1; }
    mv "$f" "$out/$name"
    rm -rf "$tmp"
fi
n="$(wc -l < "$out/$name")"
echo "fetch_reviews.sh: $out/$name ($n lines)"
[ "$n" -ge 10000 ] || { echo "fetch_reviews.sh: expected >= 10000 lines" >&2; exit 1; }
