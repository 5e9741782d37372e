"""mpct: job files, launching mpct run / pack, and reading run outputs.

A front end of the mpct binary (MPCT_BIN, else `mpct` on PATH); see
python/README.md.
"""
from .job import Job, JobError, KEYS
from .launch import MpctError, MpctNotFound, find_binary, pack, run, sbatch_line
from .output import Output, OutputError, read_output

__all__ = ["Job", "JobError", "KEYS", "MpctError", "MpctNotFound", "Output", "OutputError", "find_binary", "pack",
           "read_output", "run", "sbatch_line"]
__version__ = "0.1.0"
