"""The mpct Python package (python/) against the real binary and the tiny
synthetic model: pack, a secure and a plaintext run read back, job
validation, errors of mpct as exceptions, refusal of partial and foreign
outputs. Run by run_python_tests.sh inside a venv where python/ was
pip-installed; MPCT_BIN, MPCT_TEST_MPIRUN and MPCT_SRC come from there.
No pytest, no torch: only the standard library, numpy and h5py."""
import os
import re
import shutil
import tempfile
import unittest

import h5py
import numpy as np

import mpct

SRC = os.environ["MPCT_SRC"]
MPIRUN = os.environ.get("MPCT_TEST_MPIRUN", "mpirun")
MPIARGS = ["--oversubscribe", "--allow-run-as-root", "--mca", "btl", "self,vader,tcp"]
TMP = tempfile.mkdtemp(prefix="mpct-py-", dir=os.getcwd())
TINY = os.path.join(TMP, "tiny.h5")
TEXTS = os.path.join(SRC, "datasets", "sample-reviews.txt")


def setUpModule():
    mpct.pack(None, TINY, synthetic="tiny", labels=2, vocab=os.path.join(SRC, "tests/data/vocab.txt"))


def tearDownModule():
    shutil.rmtree(TMP, ignore_errors=True)


def tiny_job(out, **kw):
    return mpct.Job(model=TINY, inputs=TEXTS, output=os.path.join(TMP, out), task="classify", batch=8,
                    seq_len=32, **kw)


class Install(unittest.TestCase):
    def test_installed_not_source(self):
        self.assertIn("site-packages", mpct.__file__)
        self.assertFalse(mpct.__file__.startswith(os.path.join(SRC, "python")))

    def test_keys_match_job_c(self):
        """mpct.KEYS is io/job.c's key table (section, key, flat, kind, range)."""
        text = open(os.path.join(SRC, "io", "job.c"), encoding="utf-8").read()
        table = text[text.index("job_keys[] = {"):text.index("};", text.index("job_keys[] = {"))]
        rows = re.findall(r'\{"(\w+)", "(\w+)", "(\w+)", K_(\w+), F\(\w+\), [^,]+, ([^,]+), ([^}]+)\}', table)
        consts = {"MPCT_FRAC_BITS_MIN": 8, "MPCT_FRAC_BITS_MAX": 20, "1 << 30": 1 << 30}
        c_keys = []
        for sec, name, flat, kind, lo, hi in rows:
            kind = kind.lower()
            lo, hi = (consts.get(x.strip(), None) if x.strip() in consts else int(x) for x in (lo, hi))
            if kind not in ("int", "batch", "bool"):
                lo = hi = 0
            c_keys.append((sec, name, flat, kind, lo, hi))
        self.assertGreater(len(c_keys), 30)
        self.assertEqual(c_keys, [tuple(r) for r in mpct.KEYS])


class Runs(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sec = mpct.run(tiny_job("sec.h5"), ranks=3, mpirun=MPIRUN, mpirun_args=MPIARGS, test_seed=7,
                           extra_args=["--quiet"])
        cls.plain = mpct.run(tiny_job("plain.h5", plaintext=1), extra_args=["--quiet"])

    def test_secure_output(self):
        o, n = self.sec, 16
        self.assertEqual(o.embeddings.shape, (n, 32))
        self.assertEqual(o.embeddings.dtype, np.float64)
        self.assertEqual(o.logits.shape, (n, 2))
        np.testing.assert_array_equal(o.ids, np.arange(n))
        np.testing.assert_array_equal(o.labels, o.logits.argmax(axis=1))
        self.assertTrue(((o.token_counts >= 2) & (o.token_counts <= 32)).all())
        self.assertTrue(o.done.all())
        self.assertEqual(o.mode, "secure")
        self.assertTrue(o.insecure_test_keys)
        self.assertRegex(o.meta["model_hash"], "^[0-9a-f]{64}$")
        self.assertEqual((o.meta["task"], o.meta["seq_len"], o.meta["frac_bits"]), ("classify", 32, 16))
        self.assertRegex(o.meta["mpct_version"], r"^\d+\.\d+\.\d+")
        self.assertEqual(len(o.label_names), 2)
        self.assertTrue(all(isinstance(s, str) for s in o.label_names + o.label_strings))
        self.assertEqual(o.label_strings[0], o.label_names[o.labels[0]])

    def test_h5py_reads_str(self):
        """Format 3 for a plain h5py user: str attributes, units on every dataset."""
        with h5py.File(self.sec.path, "r") as f:
            self.assertIsInstance(f.attrs["mode"], str)
            self.assertEqual(list(f.attrs["label_names"]), self.sec.label_names)
            for name in ("embedding", "logits", "label", "input_id", "token_count", "done"):
                self.assertIsInstance(f[name].attrs["units"], str, name)
                self.assertIsInstance(f[name].attrs["description"], str, name)

    def test_plaintext_agrees(self):
        p, s = self.plain, self.sec
        self.assertEqual(p.mode, "plaintext")
        self.assertFalse(p.insecure_test_keys)
        self.assertEqual(p.meta["model_hash"], s.meta["model_hash"])
        np.testing.assert_array_equal(p.token_counts, s.token_counts)
        cos = (p.embeddings * s.embeddings).sum(1) / np.linalg.norm(p.embeddings, axis=1) / \
            np.linalg.norm(s.embeddings, axis=1)
        self.assertGreater(cos.min(), 0.99)
        np.testing.assert_array_equal(p.labels, s.labels)

    def test_partial_refused(self):
        part = os.path.join(TMP, "part.h5")
        shutil.copy(self.plain.path, part)
        with h5py.File(part, "r+") as f:
            f.attrs["complete"] = np.int64(0)
            f["done"][3] = 0
        with self.assertRaisesRegex(mpct.OutputError, r"partial output: 15 of 16 rows done"):
            mpct.read_output(part)
        self.assertEqual(int(mpct.read_output(part, partial=True).done.sum()), 15)

    def test_run_error_raises(self):
        job = tiny_job("never.h5", plaintext=1).set("model", os.path.join(TMP, "missing.h5"))
        with self.assertRaises(mpct.MpctError) as cm:
            mpct.run(job)
        e = cm.exception
        self.assertEqual(e.returncode, 1)
        self.assertTrue(e.errors and all("error:" in x for x in e.errors), e.stderr)
        self.assertIn("missing.h5", str(e))
        self.assertEqual(len(e.errors), len(set(e.errors)))

    def test_secure_run_error_raises(self):
        job = tiny_job("never2.h5").set("seq_len", 4000)  # beyond the tiny model's 64 positions
        with self.assertRaisesRegex(mpct.MpctError, r"error: seq_len 4000 exceeds"):
            mpct.run(job, mpirun=MPIRUN, mpirun_args=MPIARGS, test_seed=1)


class Outputs(unittest.TestCase):
    def test_foreign_files(self):
        txt = os.path.join(TMP, "not.h5")
        with open(txt, "w") as f:
            f.write("hello\n")
        with self.assertRaisesRegex(mpct.OutputError, "not an HDF5 file"):
            mpct.read_output(txt)
        other = os.path.join(TMP, "other.h5")
        with h5py.File(other, "w") as f:
            f.attrs["magic"] = "SOMETHING"
        with self.assertRaisesRegex(mpct.OutputError, "not an mpct output file"):
            mpct.read_output(other)
        with h5py.File(other, "w") as f:
            f.attrs["magic"] = "MPCT-OUTPUT"
            f.attrs["format_version"] = np.int64(9)
        with self.assertRaisesRegex(mpct.OutputError, "format_version 9"):
            mpct.read_output(other)
        with self.assertRaisesRegex(mpct.OutputError, "no such file"):
            mpct.read_output(os.path.join(TMP, "absent.h5"))


class Jobs(unittest.TestCase):
    def test_unknown_key(self):
        with self.assertRaisesRegex(mpct.JobError, "unknown setting 'batchsize'"):
            mpct.Job(batchsize=4)

    def test_bad_values(self):
        for kw, msg in [({"batch": 0}, "batch = '0': expected an integer from 1 to 1024 or 'auto'"),
                        ({"task": "generate"}, "expected 'embed' or 'classify'"),
                        ({"cache_policy": "fifo"}, "expected 'lru', 'lfu', 'ttl' or 'adaptive'"),
                        ({"resume": "maybe"}, "expected 0 or 1"),
                        ({"timeout_s": "-1"}, "expected a number of seconds > 0")]:
            with self.assertRaisesRegex(mpct.JobError, re.escape(msg)):
                mpct.Job(**kw)
        with self.assertRaisesRegex(mpct.JobError, "only the --test-seed flag"):
            mpct.Job(test_seed=3)

    def test_cross_rules(self):
        with self.assertRaisesRegex(mpct.JobError, "owner and client are both party 1"):
            tiny_job("x.h5", owner=1, client=1).validate()
        with self.assertRaisesRegex(mpct.JobError, "resume and overwrite are both set"):
            tiny_job("x.h5", resume=1, overwrite=1).validate()
        with self.assertRaisesRegex(mpct.JobError, "no output given"):
            mpct.Job(model=TINY, inputs=TEXTS).validate()

    def test_file_roundtrip_and_load(self):
        j = tiny_job("rt.h5", **{"cache.dir": "cache", "batch_max": 16})
        path = j.write(os.path.join(TMP, "rt.ini"))
        back = mpct.Job.load(path)
        self.assertEqual(back.items(), j.items())
        self.assertEqual(back["cache_dir"], os.path.abspath("cache"))
        shipped = mpct.Job.load(os.path.join(SRC, "jobs", "tiny-classify.ini"))
        self.assertEqual(shipped["model"], os.path.join(SRC, "tiny.h5"))
        bad = os.path.join(TMP, "bad.ini")
        with open(bad, "w") as f:
            f.write("[job]\nbatch = 4\nbogus = 1\n")
        with self.assertRaisesRegex(mpct.JobError, r"unknown key 'bogus' in \[job\]"):
            mpct.Job.load(bad)

    def test_sbatch_line(self):
        line = mpct.sbatch_line(tiny_job("sb.h5"), os.path.join(TMP, "sb.ini"), ranks=6)
        self.assertIn("MPCT_JOB=" + os.path.join(TMP, "sb.ini"), line)
        self.assertRegex(line, r"sbatch --nodes=3 --ntasks=6 --ntasks-per-node=2 slurm/mpct-multinode.sbatch$")
        self.assertEqual(mpct.Job.load(os.path.join(TMP, "sb.ini"))["output"], os.path.join(TMP, "sb.h5"))
        with self.assertRaises(ValueError):
            mpct.sbatch_line(tiny_job("sb.h5"), os.path.join(TMP, "sb.ini"), ranks=4)


class Binary(unittest.TestCase):
    def test_locating(self):
        saved = dict(os.environ)
        try:
            os.environ["MPCT_BIN"] = os.path.join(TMP, "no-such-mpct")
            with self.assertRaisesRegex(mpct.MpctNotFound, "MPCT_BIN=.*no-such-mpct is not an executable"):
                mpct.find_binary()
            del os.environ["MPCT_BIN"]
            os.environ["PATH"] = TMP
            with self.assertRaisesRegex(mpct.MpctNotFound, "set MPCT_BIN"):
                mpct.find_binary()
            os.environ["PATH"] = os.path.dirname(saved["MPCT_BIN"])
            self.assertEqual(mpct.find_binary(), saved["MPCT_BIN"])
        finally:
            os.environ.clear()
            os.environ.update(saved)


class Pack(unittest.TestCase):
    def test_pack_dir_and_model_object(self):
        """A Hugging Face directory, and an object with save_pretrained (as a
        transformers model) saved to a temporary directory first."""
        hf = os.path.join(SRC, "tests", "data", "hf", "bert-seqcls")
        a = mpct.pack(hf, os.path.join(TMP, "a.h5"))

        class FakeModel:
            def save_pretrained(self, d, safe_serialization=True):
                for n in os.listdir(hf):
                    shutil.copy(os.path.join(hf, n), d)
        b = mpct.pack(FakeModel(), os.path.join(TMP, "b.h5"))
        with h5py.File(a, "r") as fa, h5py.File(b, "r") as fb:
            self.assertEqual(fa.attrs["content_sha256"], fb.attrs["content_sha256"])
        with self.assertRaisesRegex(mpct.MpctError, "error:"):
            mpct.pack(os.path.join(TMP, "no-such-dir"), os.path.join(TMP, "c.h5"))


if __name__ == "__main__":
    unittest.main()
