#!/usr/bin/env bash
# The Prometheus file of real `mpct run`s and the Grafana dashboard shipped
# for it (perf/grafana-mpct.json).
# usage: grafana_dashboard.sh MPIEXEC MPCT SRCDIR WORKDIR
#   - two runs of the tiny model (another output, another SLURM_JOB_ID) write
#     their --prometheus files into one directory, as node_exporter's textfile
#     collector reads them: every sample carries job, model and slurm_job_id,
#     and no series (name + labels) is in both files; promtool accepts each
#     (when installed);
#   - the dashboard is valid JSON, every panel has a Prometheus target, and
#     every metric that a panel or a template variable queries is in the
#     files the runs wrote.
set -u
MPIEXEC=$1 MPCT=$2 SRC=$3 WORK=$4
fail() { echo "FAIL: $*"; exit 1; }
rm -rf "$WORK" && mkdir -p "$WORK/textfile" && cd "$WORK" || exit 1
"$MPCT" pack --synthetic tiny --vocab "$SRC/tests/data/vocab.txt" -o tiny.h5 >/dev/null || fail "pack"
head -4 "$SRC/tests/data/minilm_golden_text.txt" > in.txt
for k in 1 2; do
    SLURM_JOB_ID=$((4100 + k)) timeout 300 "$MPIEXEC" --oversubscribe --allow-run-as-root --mca btl self,vader,tcp \
        -x SLURM_JOB_ID -n 3 "$MPCT" run --model tiny.h5 --inputs in.txt --output run$k.h5 --seq-len 32 --quiet \
        --cache-dir cache --prometheus textfile/run$k.prom 2>run$k.log || { cat run$k.log; fail "run $k"; }
    if command -v promtool >/dev/null 2>&1; then
        promtool check metrics < textfile/run$k.prom || fail "promtool: run$k.prom"
    fi
done
grep -q '^mpct_inferences_total{job="run1",model="tiny",slurm_job_id="4101"} 4$' textfile/run1.prom ||
    { grep inferences textfile/run1.prom; fail "run 1's labels (job from the output, model file, SLURM_JOB_ID)"; }
python3 - "$SRC/perf/grafana-mpct.json" textfile/run1.prom textfile/run2.prom <<'PY' || fail "dashboard or metrics"
import json, re, sys
dash = json.load(open(sys.argv[1]))
series, names = {}, set()
for path in sys.argv[2:]:
    for line in open(path):
        if line.startswith("#") or not line.strip():
            continue
        key = line.rsplit(" ", 1)[0]
        assert re.match(r'^[a-z_0-9]+\{job="[^"]*",model="[^"]*",slurm_job_id="[^"]*"', key), ("no run labels", key)
        assert key not in series, ("the same series in %s and %s" % (series[key], path), key)
        series[key] = path
        names.add(key.split("{")[0])
queries = []
for p in dash["panels"]:
    assert p.get("targets"), ("panel without targets", p["title"])
    assert p["datasource"]["type"] == "prometheus", p["title"]
    queries += [t["expr"] for t in p["targets"]]
queries += [v["query"]["query"] for v in dash["templating"]["list"] if v["type"] == "query"]
used = set(m for q in queries for m in re.findall(r"\bmpct_[a-z0-9_]+", q))
missing = sorted(used - names)
assert not missing, ("the dashboard queries metrics no run writes", missing)
print("dashboard: %d panels, %d metrics queried, all written; %d series in 2 files, none shared"
      % (len(dash["panels"]), len(used), len(series)))
PY
