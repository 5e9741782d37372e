"""Reading the HDF5 output of `mpct run` (layout: io/OUTPUT.md).

read_output() accepts formats 2 and 3 (format 3's strings are UTF-8 str in
h5py; format 2's fixed-length strings are decoded here), refuses a file that
is not an mpct output, of another format, or not complete (unless
partial=True), and returns every dataset as a numpy array with the root
attributes as a dict.
"""
import os

import h5py
import numpy as np

MAGIC = "MPCT-OUTPUT"
FORMATS = (2, 3)


class OutputError(Exception):
    """An output file that cannot be read as a complete mpct output."""


def _text(v):
    """An attribute value as Python text or number."""
    if isinstance(v, (bytes, np.bytes_)):
        return v.decode("utf-8")
    if isinstance(v, np.ndarray):
        return [_text(x) for x in v.tolist()]
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.floating):
        return float(v)
    return v


class Output:
    """One output file's rows and metadata (see read_output)."""

    def __init__(self, path, meta, data):
        self.path = path
        self.meta = meta
        self.embeddings = data["embedding"]
        self.logits = data.get("logits")
        self.labels = data.get("label")
        self.ids = data["input_id"]
        self.token_counts = data["token_count"]
        self.done = data["done"].astype(bool)
        self.units = data["_units"]
        self.label_names = list(meta.get("label_names", []))

    @property
    def label_strings(self):
        """The predicted label of each row as its name (None without a head)."""
        if self.labels is None:
            return None
        names = self.label_names
        return [names[i] if 0 <= i < len(names) else str(i) for i in self.labels.tolist()]

    @property
    def mode(self):
        return self.meta["mode"]

    @property
    def insecure_test_keys(self):
        return bool(self.meta.get("insecure_test_keys", 0))

    def __len__(self):
        return int(self.embeddings.shape[0])

    def __repr__(self):
        return "Output(%r, %d rows, dim %d, mode %s, task %s)" % (
            self.path, len(self), self.embeddings.shape[1], self.meta.get("mode"), self.meta.get("task"))


def read_output(path, partial=False):
    """Reads an mpct run output. partial=True also accepts an unfinished
    PATH.partial (rows whose done flag is 0 hold zeros)."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise OutputError("%s: no such file" % path)
    try:
        f = h5py.File(path, "r")
    except OSError as e:
        raise OutputError("%s: not an HDF5 file (truncated, or not an mpct run output): %s" % (path, e)) from None
    with f:
        meta = {k: _text(v) for k, v in f.attrs.items()}
        if meta.get("magic") != MAGIC:
            raise OutputError("%s: not an mpct output file (attribute magic is %r, expected %r)"
                              % (path, meta.get("magic"), MAGIC))
        ver = meta.get("format_version")
        if ver not in FORMATS:
            raise OutputError("%s: output format_version %r: this package reads %s"
                              % (path, ver, " and ".join(map(str, FORMATS))))
        if isinstance(meta.get("label_names"), str):  # format 2: one string joined with '\n'
            meta["label_names"] = meta["label_names"].split("\n")
        data, units = {}, {}
        for name in ("embedding", "logits", "label", "input_id", "token_count", "done"):
            if name not in f:
                if name in ("logits", "label"):
                    continue
                raise OutputError("%s: missing dataset /%s" % (path, name))
            ds = f[name]
            data[name] = ds[()]
            units[name] = {k: _text(v) for k, v in ds.attrs.items()}
        data["_units"] = units
    done = data["done"]
    if not partial and (meta.get("complete") != 1 or not done.all()):
        raise OutputError("%s: partial output: %d of %d rows done (complete = %s); finish it with mpct run "
                          "--resume, or pass partial=True" % (path, int(done.sum()), done.size, meta.get("complete")))
    return Output(path, meta, data)
