"""Launching the mpct binary: run (mpirun ... mpct run JOB), the sbatch line
of the same job, and pack. The binary is MPCT_BIN, else `mpct` on PATH.

A non-zero exit raises MpctError with mpct's "error: ..." lines (each once)
and the exit status; nothing here computes anything itself.
"""
import os
import shlex
import shutil
import subprocess
import tempfile

from .job import Job
from .output import read_output


class MpctNotFound(RuntimeError):
    """No mpct binary: neither MPCT_BIN nor `mpct` on PATH."""


class MpctError(RuntimeError):
    """mpct exited non-zero: .returncode, .errors (its "error: ..." lines), .stderr, .cmd."""

    def __init__(self, cmd, returncode, stderr):
        self.cmd, self.returncode, self.stderr = cmd, returncode, stderr
        seen, errs = set(), []
        for line in stderr.splitlines():
            if "error:" in line and line not in seen:
                seen.add(line)
                errs.append(line.strip())
        self.errors = errs
        what = "\n".join(errs) if errs else (stderr.strip().splitlines() or ["(no message)"])[-1]
        super().__init__("%s exited with status %d: %s" % (os.path.basename(cmd[0]), returncode, what))


def find_binary():
    """The mpct executable: $MPCT_BIN, else `mpct` on PATH."""
    env = os.environ.get("MPCT_BIN")
    if env:
        if not (os.path.isfile(env) and os.access(env, os.X_OK)):
            raise MpctNotFound("MPCT_BIN=%s is not an executable file" % env)
        return os.path.abspath(env)
    found = shutil.which("mpct")
    if not found:
        raise MpctNotFound("no mpct binary: set MPCT_BIN to its path (e.g. build/mpct) or put mpct on PATH")
    return found


def _call(cmd, capture=True):
    p = subprocess.run(cmd, stdout=subprocess.PIPE if capture else None, stderr=subprocess.PIPE,
                       universal_newlines=True)
    if p.returncode != 0:
        raise MpctError(cmd, p.returncode, p.stderr)
    return p


def _job_file(job, tmpdir):
    if isinstance(job, Job):
        return job.write(os.path.join(tmpdir, "job.ini")), job
    path = os.fspath(job)
    return path, Job.load(path)


def run(job, ranks=3, mpirun="mpirun", mpirun_args=(), extra_args=(), test_seed=None):
    """Runs `mpirun -np RANKS [mpirun_args] mpct run JOB [extra_args]` (a job
    with plaintext = 1 runs as one process, without mpirun) and returns
    read_output() of the job's output. job: a Job or a job file path.
    test_seed: deterministic insecure keys (--test-seed), for tests only."""
    binary = find_binary()
    if ranks < 3 or ranks % 3:
        raise ValueError("ranks = %d: expected a multiple of 3 (three parties per replica)" % ranks)
    with tempfile.TemporaryDirectory(prefix="mpct-job-") as tmp:
        path, j = _job_file(job, tmp)
        args = [binary, "run", path] + list(extra_args)
        if test_seed is not None:
            args += ["--test-seed", str(int(test_seed))]
        if j["plaintext"]:
            cmd = args
        else:
            cmd = [mpirun, "-np", str(ranks)] + list(mpirun_args) + args
        _call(cmd)
        out = j["output"]
        for i, a in enumerate(extra_args):  # an --output flag overrides the job's
            if a == "--output" and i + 1 < len(extra_args):
                out = os.path.abspath(extra_args[i + 1])
            elif a.startswith("--output="):
                out = os.path.abspath(a.split("=", 1)[1])
        return read_output(out)


def sbatch_line(job, job_path, ranks=3, nodes=3, script="slurm/mpct-multinode.sbatch", sbatch="sbatch"):
    """Writes the job to job_path (a Job) and returns the sbatch command line
    that runs it with the parties of every replica on different nodes."""
    if isinstance(job, Job):
        job.write(job_path)
    if ranks < 3 or ranks % 3 or ranks % nodes:
        raise ValueError("ranks = %d on %d nodes: expected a multiple of 3 spread evenly over the nodes"
                         % (ranks, nodes))
    binary = find_binary()
    words = [sbatch, "--nodes=%d" % nodes, "--ntasks=%d" % ranks]
    if ranks != nodes:
        words.append("--ntasks-per-node=%d" % (ranks // nodes))
    words.append(script)
    return "MPCT_BIN=%s MPCT_JOB=%s %s" % (shlex.quote(binary), shlex.quote(os.path.abspath(job_path)),
                                          " ".join(shlex.quote(w) for w in words))


def pack(model, out, **opts):
    """`mpct pack MODEL -o OUT [--opt value...]`. model: a Hugging Face
    directory (or None with synthetic=...), or a transformers model object,
    saved with save_pretrained to a temporary directory first (pass
    tokenizer=... to save its tokenizer beside it). Options become flags:
    labels=2 -> --labels 2, True -> the bare flag. Returns out."""
    binary = find_binary()
    tokenizer = opts.pop("tokenizer", None)
    flags = []
    for k, v in opts.items():
        if v is None or v is False:
            continue
        flags.append("--" + k.replace("_", "-"))
        if v is not True:
            flags.append(str(v))
    with tempfile.TemporaryDirectory(prefix="mpct-pack-") as tmp:
        if model is not None and hasattr(model, "save_pretrained"):  # transformers is the caller's import
            model.save_pretrained(tmp, safe_serialization=True)
            if tokenizer is not None:
                tokenizer.save_pretrained(tmp)
            src = [tmp]
        else:
            src = [] if model is None else [os.fspath(model)]
        _call([binary, "pack"] + src + flags + ["-o", os.fspath(out)])
    return out
