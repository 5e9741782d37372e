#!/bin/sh
# Validates the Prometheus file with promtool (Debian package prometheus);
# skips (77) where promtool is not installed. Usage: promtool.sh TEST_PERF DIR
set -eu
command -v promtool >/dev/null 2>&1 || { echo "promtool not installed: skipping"; exit 77; }
rm -rf "$2" && mkdir -p "$2"
"$1" "$2" >/dev/null
promtool check metrics < "$2/a.prom"
echo "promtool: ok"
