"""Job files of `mpct run` (INI; the keys of io/job.c, documented in
io/mpct_job.h).

KEYS mirrors io/job.c's key table (section, key, flat name, kind, range);
tests/python checks that the two agree. A Job refuses what `mpct run`
refuses: unknown keys and sections, values of the wrong kind or out of
range, test_seed in a file (a flag only: run(test_seed=...)), and the
cross-key rules of mpct_job_validate. Paths are made absolute when set, so
a written job file runs from any directory.
"""
import configparser
import os

# io/job.c's key table: section, key in the file, flat name, kind, lo, hi
# (the range of int, batch and bool keys; 0 0 for the others).
_TABLE = """
job      task          task           task    0 0
job      batch         batch          batch   1 1024
job      seq_len       seq_len        int     2 4096
job      frac_bits     frac_bits      int     8 20
job      resume        resume         bool    0 1
job      overwrite     overwrite      bool    0 1
job      quiet         quiet          bool    0 1
job      plaintext     plaintext      bool    0 1
job      kernels       kernels        str     0 0
job      timeout_s     timeout_s      dbl     0 0
job      test_seed     test_seed      i64     0 0
job      log_level     log_level      str     0 0
model    path          model          path    0 0
inputs   path          inputs         path    0 0
inputs   row_offset    row_offset     int     -1 2147483647
inputs   hide_lengths  hide_lengths   bool    0 1
inputs   refuse_repeats refuse_repeats bool   0 1
inputs   dedup         dedup          bool    0 1
inputs   format        input_format   str     0 0
inputs   text_field    text_field     str     0 0
inputs   id_field      id_field       field   0 0
output   path          output         path    0 0
output   report        report         path    0 0
output   prometheus    prometheus     path    0 0
output   trace         trace          path    0 0
output   result_cache  result_cache   path    0 0
output   papi          papi           bool    0 1
output   papi_events   papi_events    events  0 0
parties  owner         owner          int     0 2
parties  client        client         int     0 2
parties  party         party          int     -1 2
parties  peers         peers          path    0 0
parties  key           tls_key        path    0 0
parties  cert          tls_cert       path    0 0
parties  encrypt       encrypt        auto    0 0
job      network       network        str     0 0
cache    dir           cache_dir      path    0 0
cache    l1_mb         cache_l1_mb    int     0 65536
cache    l2_mb         cache_l2_mb    int     0 65536
cache    disk_mb       cache_disk_mb  int     0 1073741824
cache    policy        cache_policy   policy  0 0
batch    min           batch_min      int     1 1024
batch    max           batch_max      int     1 1024
batch    mem_limit_mb  mem_limit_mb   int     0 16777216
generate max_new_tokens max_new_tokens int    1 65536
generate stop          stop           str     0 0
generate temperature   temperature    temp    0 0
generate top_k         top_k          int     0 16777216
generate logits        logits         path    0 0
"""
KEYS = [(w[0], w[1], w[2], w[3], int(w[4]), int(w[5])) for w in (ln.split() for ln in _TABLE.strip().splitlines())]
SECTIONS = ["job", "model", "inputs", "output", "parties", "cache", "batch", "generate"]
FLAG_ONLY = {"test_seed"}
_BOOL = {"1": 1, "true": 1, "yes": 1, "on": 1, "0": 0, "false": 0, "no": 0, "off": 0}


class JobError(ValueError):
    """A job key or value mpct run would refuse; the message names it."""


def _find(key):
    k = key.replace("-", "_")
    for row in KEYS:
        if k == row[2] or k == row[0] + "." + row[1]:
            return row
    raise JobError("unknown setting '%s' (known: %s)" % (key, ", ".join(r[2] for r in KEYS if r[2] not in FLAG_ONLY)))


def _convert(row, value, where):
    sec, name, flat, kind, lo, hi = row
    s = str(value).strip() if not isinstance(value, bool) else str(int(value))
    bad = "%s%s = '%s': expected " % (where, flat, s)
    if kind == "task":
        if s not in ("embed", "classify"):
            raise JobError(bad + "'embed' or 'classify'")
        return s
    if kind == "policy":
        if s not in ("lru", "lfu", "ttl", "adaptive"):
            raise JobError(bad + "'lru', 'lfu', 'ttl' or 'adaptive'")
        return s
    if kind == "auto":
        if s.lower() == "auto":
            return "auto"
        if s.lower() not in _BOOL:
            raise JobError(bad + "auto, 0 or 1 (or true/false, on/off)")
        return _BOOL[s.lower()]
    if kind == "bool":
        if s.lower() not in _BOOL:
            raise JobError(bad + "0 or 1 (or true/false)")
        return _BOOL[s.lower()]
    if kind in ("int", "batch"):
        if kind == "batch" and s == "auto":
            return s
        try:
            v = int(s, 10)
        except ValueError:
            v = None
        if v is None or not lo <= v <= hi:
            raise JobError(bad + "an integer from %d to %d%s" % (lo, hi, " or 'auto'" if kind == "batch" else ""))
        return v
    if kind == "dbl":
        try:
            v = float(s)
        except ValueError:
            v = -1.0
        if not v > 0:
            raise JobError(bad + "a number of seconds > 0")
        return v
    if kind == "temp":
        try:
            v = float(s)
        except ValueError:
            v = -1.0
        if not 0 <= v <= 100:
            raise JobError(bad + "a temperature in [0, 100] (0 = greedy)")
        return v
    if kind == "i64":
        try:
            return int(s, 10)
        except ValueError:
            raise JobError(bad + "a 64-bit integer") from None
    if kind == "path":
        return os.path.abspath(s) if s else ""
    if kind == "field":
        if len(s) > 63 or any(ord(c) < 0x20 for c in s):
            raise JobError(bad + "a column or member name of at most 63 characters")
        return s
    if kind == "events":
        if any(c.isspace() for c in s):
            raise JobError(bad + "PAPI event names separated by commas, without spaces")
        return s
    if not s or len(s) > 31:
        raise JobError(bad + "a name of 1 to 31 characters")
    return s


class Job:
    """The settings of one mpct run job. Job(model=..., inputs=..., output=...,
    task="classify", batch=4, **{"cache.dir": ...}); unknown keys raise JobError."""

    def __init__(self, **keys):
        self._v = {}
        for k, v in keys.items():
            self[k] = v

    def __setitem__(self, key, value):
        row = _find(key)
        if row[2] in FLAG_ONLY:
            raise JobError("'%s' cannot be set in a job file: deterministic test keys are insecure and only the "
                           "--test-seed flag turns them on (mpct.run(job, test_seed=S))" % key)
        if value is None:
            self._v.pop(row[2], None)
        else:
            self._v[row[2]] = _convert(row, value, "")

    def __getitem__(self, key):
        return self._v.get(_find(key)[2])

    def set(self, key, value):
        self[key] = value
        return self

    def items(self):
        return dict(self._v)

    @classmethod
    def load(cls, path):
        """Reads a job file as mpct run does (relative paths against its directory)."""
        cp = configparser.ConfigParser(interpolation=None, comment_prefixes=(";", "#"), strict=True)
        cp.optionxform = str
        try:
            with open(path, encoding="utf-8") as f:
                cp.read_file(f)
        except (configparser.Error, OSError) as e:
            raise JobError("%s: %s" % (path, e)) from None
        j, base = cls(), os.path.dirname(os.path.abspath(path))
        for sec in cp.sections():
            if sec not in SECTIONS:
                raise JobError("%s: unknown section [%s] (known: %s)" % (path, sec, ", ".join(SECTIONS)))
            for name, value in cp.items(sec):
                rows = [r for r in KEYS if r[0] == sec and r[1] == name]
                if not rows:
                    known = ", ".join(r[1] for r in KEYS if r[0] == sec)
                    raise JobError("%s: unknown key '%s' in [%s] (known: %s)" % (path, name, sec, known))
                if rows[0][3] == "path" and value and not os.path.isabs(value):
                    value = os.path.join(base, value)
                try:
                    j[sec + "." + name] = value
                except JobError as e:
                    raise JobError("%s: %s" % (path, e)) from None
        return j

    def validate(self):
        """The cross-key rules of mpct_job_validate; returns self."""
        v = self._v
        for k in ("model", "inputs", "output"):
            if not v.get(k):
                raise JobError("job: no %s given (%s path)" % (k, "[model]" if k == "model" else "[%s]" % k))
        if v.get("batch_min", 1) > v.get("batch_max", 64):
            raise JobError("job: batch_min %d > batch_max %d: expected batch_min <= batch_max"
                           % (v.get("batch_min", 1), v.get("batch_max", 64)))
        if v.get("resume") and v.get("overwrite"):
            raise JobError("job: resume and overwrite are both set: expected one")
        if v.get("owner", 0) == v.get("client", 1):
            raise JobError("job: owner and client are both party %d: expected two different parties"
                           % v.get("owner", 0))
        if v.get("party", -1) >= 0 and not v.get("peers"):
            raise JobError("job: party = %d launches one party on its own: it needs the peers file" % v["party"])
        for k in ("model", "inputs"):
            if v["output"] == v[k]:
                raise JobError("job: output '%s' is also the %s: expected a new file" % (v["output"], k))
        extra = [k for k in ("report", "prometheus") if v.get(k)]
        for k in extra:
            for other in ("model", "inputs", "output") + tuple(x for x in extra if x != k):
                if v[k] == v.get(other):
                    raise JobError("job: %s '%s' is also the %s: expected a file of its own" % (k, v[k], other))
        return self

    def text(self):
        """The job file (INI) text."""
        out = []
        for sec in SECTIONS:
            lines = ["%s = %s" % (r[1], self._v[r[2]]) for r in KEYS if r[0] == sec and r[2] in self._v]
            if lines:
                out.append("[%s]\n%s\n" % (sec, "\n".join(lines)))
        return "\n".join(out)

    def write(self, path):
        """Validates and writes the job file; returns its path."""
        self.validate()
        with open(path, "w", encoding="utf-8") as f:
            f.write(self.text())
        return path

    def __repr__(self):
        return "Job(%s)" % ", ".join("%s=%r" % kv for kv in self._v.items())
