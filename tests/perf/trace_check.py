#!/usr/bin/env python3
"""Checks an `mpct run --trace` file against the Chrome trace event format
and the run's report. Usage: trace_check.py TRACE.json REPORT.json RANKS.
Standard library only."""
import json
import sys


def main():
    trace_path, report_path, ranks = sys.argv[1], sys.argv[2], int(sys.argv[3])
    with open(trace_path) as f:
        doc = json.load(f)
    with open(report_path) as f:
        report = json.load(f)
    errs = []
    evs = doc.get("traceEvents")
    if not isinstance(evs, list) or not evs:
        sys.exit("no traceEvents array")
    per_tid, names, thread_names = {}, set(), {}
    open_be = {}
    for e in evs:
        for k in ("ph", "name", "pid", "tid"):
            if k not in e:
                errs.append("event without %s: %r" % (k, e))
        ph = e.get("ph")
        if ph == "M":
            if e.get("name") == "thread_name":
                thread_names[e["tid"]] = e["args"]["name"]
            continue
        if not isinstance(e.get("ts"), (int, float)):
            errs.append("event without a numeric ts: %r" % e)
            continue
        if ph == "X":
            if not isinstance(e.get("dur"), (int, float)) or e["dur"] < 0:
                errs.append("complete event without dur >= 0: %r" % e)
                continue
            per_tid.setdefault(e["tid"], []).append((e["ts"], e["ts"] + e["dur"], e["cat"], e["name"]))
        elif ph in ("B", "E"):
            key = (e["pid"], e["tid"])
            open_be[key] = open_be.get(key, 0) + (1 if ph == "B" else -1)
            if open_be[key] < 0:
                errs.append("E without B: %r" % e)
        else:
            errs.append("unexpected ph %r" % ph)
        if e.get("cat") == "op":
            names.add(e["name"])
    errs += ["%d B events left open on %r" % (n, k) for k, n in open_be.items() if n]
    if sorted(per_tid) != list(range(ranks)) or sorted(thread_names) != list(range(ranks)):
        errs.append("tids %s / thread names %s: expected ranks 0..%d" % (sorted(per_tid), sorted(thread_names),
                                                                      ranks - 1))
    depth = {"phase": 0, "layer": 1, "op": 2, "comm": 3}
    for tid, spans in per_tid.items():
        cats = {s[2] for s in spans}
        for c in ("phase", "layer", "op", "comm"):
            if c not in cats:
                errs.append("rank %d has no %s events" % (tid, c))
        # spans on one rank nest: an event starting inside another ends inside it (1 us slack for rounding)
        spans.sort(key=lambda s: (s[0], depth[s[2]]))
        stack = []
        for s in spans:
            while stack and s[0] >= stack[-1][1] - 1e-3:
                stack.pop()
            if stack and s[1] > stack[-1][1] + 1.0:
                errs.append("rank %d: %s %s [%g, %g] overlaps %s %s [%g, %g]" % (
                    tid, s[2], s[3], s[0], s[1], stack[-1][2], stack[-1][3], stack[-1][0], stack[-1][1]))
                break
            stack.append(s)
    want = set()
    for party in report["parties"]:
        for r in party["regions"]:
            want.add(r["kind"])
    missing = sorted(want - names)
    if missing:
        errs.append("op regions of the report missing from the trace: %s" % missing)
    if not want:
        errs.append("the report has no regions")
    if doc.get("otherData", {}).get("dropped_events") != 0:
        errs.append("events dropped: %r" % doc.get("otherData"))
    for e in errs[:20]:
        print("trace_check:", e, file=sys.stderr)
    if errs:
        sys.exit(1)
    print("trace_check: %d events, %d ranks, %d op kinds (report: %d)" % (len(evs), len(per_tid), len(names),
                                                                          len(want)))


if __name__ == "__main__":
    main()
