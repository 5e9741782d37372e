"""python3 -m mpct.optimize — a cheaper sentence encoder for MPC: structured
pruning of a BERT sentence-transformers model (all-MiniLM-L6-v2) ranked on a
calibration corpus, then distillation from the original, then fidelity,
parameters and (with --mpct) the secure cost measured by `mpct bench model`.

One command makes one point (fixed seed, CPU, pure PyTorch/transformers):
  python3 -m mpct.optimize --teacher datasets/cache/minilm/model \\
      --corpus datasets/cache/reviews/movieReviewSnippets_GroundTruth.txt \\
      --layers 3 --out opt/L3 [--mpct build/mpct --bench 3]
writes opt/L3/model/ (config.json + model.safetensors + tokenizer and
sentence-transformers files: an ordinary Hugging Face directory for
`mpct pack`), opt/L3/point.json, and opt/report.md over every point.json
under opt/.

Pruning (each ranked on the calibration sentences against the teacher's
normalised mean-pooled embeddings):
  --layers K   keep the K layers whose removal (one at a time) lowers the
               embedding cosine the most
  --heads H    keep H heads in every layer (uniform: mpct runs one
               attention width per model), those whose removal (one head
               at a time, its context zeroed) lowers the cosine the most
  --ffn F      keep F neurons in every layer, ranked by mean |GeLU output|
               on the calibration tokens times the norm of the neuron's
               column of the down projection
MPC-friendly substitutions (subst.py; applied to every layer after the
pruning, before the distillation, recorded in config.json for mpct pack):
  --activation quad|relu   the FFN's GeLU becomes Quad (0.125 x^2 + 0.25 x
                           + 0.5) or ReLU
  --attention 2quad        softmax becomes 2Quad ((s + 5)^2 normalised over
                           the row's real tokens)
Distillation: AdamW on loss = MSE + (1 - cosine) between the student's and
the teacher's mean-pooled embeddings, --steps batches of --batch sentences.

Data: the corpus lines (id TAB rating TAB text, as datasets/fetch_reviews.sh
writes the Hutto & Gilbert movie-review snippets shipped in vaderSentiment
3.3.2, MIT licence), shuffled by --seed: the first --heldout sentences are
held out for fidelity only, the next --calib rank the pruning, the rest
train. Fidelity on the held-out set: mean (and min) cosine of the student's
embedding to the teacher's, and nearest-neighbour agreement: how often a
sentence's nearest other held-out sentence is the same under both models.
"""
import argparse
import glob
import json
import os
import random
import subprocess
import sys
import time

import torch

from . import prune, subst


def read_corpus(path):
    rows = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            parts = line.rstrip("\r\n").split("\t")
            text = parts[-1].strip()
            if text:
                rows.append(text)
    return rows


def embed(model, tok, texts, bs=64, grad=False):
    out = []
    for i in range(0, len(texts), bs):
        x = tok(texts[i:i + bs], padding=True, truncation=True, max_length=128, return_tensors="pt")
        with torch.set_grad_enabled(grad):
            h = model(input_ids=x["input_ids"], attention_mask=x["attention_mask"]).last_hidden_state
            m = x["attention_mask"].unsqueeze(-1).to(h.dtype)
            out.append((h * m).sum(1) / m.sum(1))
    return torch.cat(out)


def cosine_to(model, tok, texts, target):
    e = torch.nn.functional.normalize(embed(model, tok, texts), dim=1)
    return (e * target).sum(1)


def rank_layers(model, tok, calib, target, keep):
    layers = list(model.encoder.layer)
    loss = []
    for l in range(len(layers)):
        model.encoder.layer = torch.nn.ModuleList(layers[:l] + layers[l + 1:])
        loss.append(1 - cosine_to(model, tok, calib, target).mean().item())
    model.encoder.layer = torch.nn.ModuleList(layers)
    return sorted(sorted(range(len(layers)), key=lambda l: -loss[l])[:keep]), loss


def rank_heads(model, tok, calib, target, keep):
    removed, scores = {}, {}
    for l, layer in enumerate(model.encoder.layer):
        sa = layer.attention.self
        dh, nh = sa.attention_head_size, sa.num_attention_heads
        loss = []
        for h in range(nh):
            def zero(mod, args, h=h):
                x = args[0].clone()
                x[..., h * dh:(h + 1) * dh] = 0
                return (x,)
            hook = layer.attention.output.dense.register_forward_pre_hook(zero)
            loss.append(1 - cosine_to(model, tok, calib, target).mean().item())
            hook.remove()
        removed[l] = sorted(sorted(range(nh), key=lambda h: loss[h])[:nh - keep])
        scores[l] = loss
    return removed, scores


def rank_ffn(model, tok, calib, keep):
    acts = [torch.zeros(layer.intermediate.dense.out_features) for layer in model.encoder.layer]
    hooks = []
    for l, layer in enumerate(model.encoder.layer):
        def grab(mod, args, out, l=l):
            acts[l] += out.detach().abs().sum(dim=(0, 1))
        hooks.append(layer.intermediate.register_forward_hook(grab))
    embed(model, tok, calib)  # padding tokens count too: a small bias shared by every neuron
    for hk in hooks:
        hk.remove()
    keep_idx = []
    for l, layer in enumerate(model.encoder.layer):
        score = acts[l] * layer.output.dense.weight.detach().norm(dim=0)
        keep_idx.append(torch.topk(score, keep).indices.sort().values.tolist())
    return keep_idx


def distill(student, teacher, tok, train, steps, bs, lr, seed):
    g = random.Random(seed)
    opt = torch.optim.AdamW(student.parameters(), lr=lr, weight_decay=0.0)
    student.train()
    t0 = time.time()
    for s in range(steps):
        batch = g.sample(train, bs)
        with torch.no_grad():
            te = embed(teacher, tok, batch, bs)
        se = embed(student, tok, batch, bs, grad=True)
        loss = torch.nn.functional.mse_loss(se, te) + (1 - torch.nn.functional.cosine_similarity(se, te)).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        if s % 50 == 0 or s == steps - 1:
            print("step %d/%d loss %.5f (%.0f s)" % (s + 1, steps, loss.item(), time.time() - t0), flush=True)
    student.eval()


def fidelity(student, teacher, tok, held):
    with torch.no_grad():
        t = torch.nn.functional.normalize(embed(teacher, tok, held), dim=1)
        s = torch.nn.functional.normalize(embed(student, tok, held), dim=1)
    cos = (t * s).sum(1)
    eye = torch.eye(len(held), dtype=torch.bool)
    nn_t = (t @ t.T).masked_fill(eye, -2).argmax(1)
    nn_s = (s @ s.T).masked_fill(eye, -2).argmax(1)
    return {"cosine_mean": cos.mean().item(), "cosine_min": cos.min().item(),
            "nn_agreement": (nn_t == nn_s).double().mean().item(), "heldout": len(held)}


def bench(mpct, model_h5, seq, mpirun):
    cmd = mpirun + [mpct, "bench", "model", "--model", model_h5, "--seq", str(seq), "--reps", "1", "--json"]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit("mpct.optimize: %s failed (exit %d):\n%s" % (" ".join(cmd), r.returncode, r.stderr[-2000:]))
    d = json.loads(r.stdout)
    out = {k: d[k] for k in ("median_latency_per_inference_s", "bytes_total_per_batch", "rounds_per_batch")}
    out["cpu_s"] = max(d["cpu_s_per_party_per_batch"])  # the busiest party's CPU seconds: robust to other load
    return out


def measure(a, out_h5, teacher_h5):
    """--bench rounds of teacher then student, one secure pass each."""
    mpirun = ["mpirun", "-np", "3", "--oversubscribe"] + (["--allow-run-as-root"] if os.geteuid() == 0 else [])
    t, s = [], []
    for _ in range(a.bench):
        t.append(bench(a.mpct, teacher_h5, a.seq, mpirun))
        s.append(bench(a.mpct, out_h5, a.seq, mpirun))
    med = lambda v: sorted(v)[len(v) // 2]  # noqa: E731
    tt = [x["median_latency_per_inference_s"] for x in t]
    ss = [x["median_latency_per_inference_s"] for x in s]
    tc, sc = [x["cpu_s"] for x in t], [x["cpu_s"] for x in s]
    return {"seq": a.seq, "rounds": a.bench, "teacher_s": tt, "student_s": ss, "teacher_cpu_s": tc,
            "student_cpu_s": sc, "speedup_median_of_ratios": med([x / y for x, y in zip(tt, ss)]),
            "cpu_speedup_median_of_ratios": med([x / y for x, y in zip(tc, sc)]),
            "teacher_bytes": t[0]["bytes_total_per_batch"], "student_bytes": s[0]["bytes_total_per_batch"],
            "teacher_rounds": t[0]["rounds_per_batch"], "student_rounds": s[0]["rounds_per_batch"]}


def write_report(root):
    pts = []
    for p in sorted(glob.glob(os.path.join(root, "*", "point.json"))):
        with open(p) as f:
            pts.append(json.load(f))
    lines = ["# mpct.optimize points", "",
             "Teacher: %s. Fidelity on held-out sentences (not used for ranking or training); secure cost from "
             "`mpct bench model --seq 128`, teacher and student interleaved (speed-up: median of per-round "
             "ratios of wall seconds; CPU: of the busiest party's CPU seconds, which other load on the machine "
             "hardly moves)." % (pts[0]["teacher"] if pts else "-"), "",
             "| point | layers x heads x ffn, activation, attention | parameters | cosine mean (min) | NN agreement | secure s teacher / "
             "student | speed-up wall (CPU) | MB teacher / student | rounds teacher / student | distillation |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for p in pts:
        f, b, s = p["fidelity"], p.get("bench"), p["shape"]
        sec = ("%.2f / %.2f" % (sorted(b["teacher_s"])[len(b["teacher_s"]) // 2],
                                sorted(b["student_s"])[len(b["student_s"]) // 2]) if b else "-")
        lines.append("| %s | %d x %d x %d, %s, %s | %.2f M (teacher %.2f M) | %.4f (%.4f) | %.1f %% | %s | %s | %s | %s | %d "
                     "steps x %d, %.0f s |" % (
                         p["name"], s["layers"], s["heads"], s["ffn"], s.get("activation", "gelu"),
                         s.get("attention", "softmax"), p["params"] / 1e6, p["teacher_params"] / 1e6,
                         f["cosine_mean"], f["cosine_min"], 100 * f["nn_agreement"], sec,
                         "%.2fx (%s)" % (b["speedup_median_of_ratios"], "%.2fx" % b["cpu_speedup_median_of_ratios"]
                                         if "cpu_speedup_median_of_ratios" in b else "-") if b else "-",
                         "%.1f / %.1f" % (b["teacher_bytes"] / 1e6, b["student_bytes"] / 1e6) if b else "-",
                         "%d / %d" % (b["teacher_rounds"], b["student_rounds"]) if b else "-",
                         p["distill"]["steps"], p["distill"]["batch"], p["distill"]["seconds"]))
    lines += ["", "Commands:", ""] + ["    " + p["command"] for p in pts]
    with open(os.path.join(root, "report.md"), "w") as f:
        f.write("\n".join(lines) + "\n")


def main():
    ap = argparse.ArgumentParser(prog="python3 -m mpct.optimize", description=__doc__.splitlines()[0])
    ap.add_argument("--teacher", required=True, help="Hugging Face BERT sentence-transformers directory")
    ap.add_argument("--corpus", required=True, help="text corpus, one sentence per line (last TAB field)")
    ap.add_argument("--out", required=True, help="point directory (its parent gets report.md)")
    ap.add_argument("--layers", type=int, default=0, help="layers kept (default: all)")
    ap.add_argument("--heads", type=int, default=0, help="heads kept per layer (default: all)")
    ap.add_argument("--ffn", type=int, default=0, help="FFN neurons kept per layer (default: all)")
    ap.add_argument("--activation", choices=subst.ACTIVATIONS, help="substitute the FFN activation")
    ap.add_argument("--attention", choices=subst.ATTENTIONS, help="substitute the attention softmax")
    ap.add_argument("--steps", type=int, default=300, help="distillation steps (0: pruning only)")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--calib", type=int, default=256, help="calibration sentences")
    ap.add_argument("--heldout", type=int, default=500, help="held-out sentences for fidelity")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (default: torch's)")
    ap.add_argument("--mpct", help="mpct binary: pack the student (16 bits) and, with --bench, measure it")
    ap.add_argument("--teacher-h5", help="the teacher packed by mpct (default: pack it into the out directory)")
    ap.add_argument("--bench", type=int, default=0, help="interleaved teacher/student rounds of mpct bench model")
    ap.add_argument("--seq", type=int, default=128)
    a = ap.parse_args()
    from transformers import AutoTokenizer

    torch.manual_seed(a.seed)
    if a.threads:
        torch.set_num_threads(a.threads)
    rows = read_corpus(a.corpus)
    random.Random(a.seed).shuffle(rows)
    if len(rows) < a.heldout + a.calib + a.batch:
        sys.exit("mpct.optimize: %s has %d sentences, fewer than --heldout + --calib + --batch" % (a.corpus, len(rows)))
    held, calib, train = rows[:a.heldout], rows[a.heldout:a.heldout + a.calib], rows[a.heldout + a.calib:]
    tok = AutoTokenizer.from_pretrained(a.teacher)
    teacher = prune.load_pruned(a.teacher)
    student = prune.load_pruned(a.teacher)
    for p in teacher.parameters():
        p.requires_grad_(False)
    with torch.no_grad():
        target = torch.nn.functional.normalize(embed(teacher, tok, calib), dim=1)
    L0 = len(student.encoder.layer)
    H0 = student.encoder.layer[0].attention.self.num_attention_heads
    F0 = student.config.intermediate_size
    info = {}
    with torch.no_grad():
        if a.layers and a.layers < L0:
            keep, loss = rank_layers(student, tok, calib, target, a.layers)
            prune.drop_layers(student, keep)
            info["layers_kept"], info["layer_removal_loss"] = keep, loss
        removed = {}
        if a.heads and a.heads < H0:
            removed, scores = rank_heads(student, tok, calib, target, a.heads)
            prune.prune_heads(student, removed)
            info["heads_removed"] = {str(k): v for k, v in removed.items()}
        if a.ffn and a.ffn < F0:
            prune.prune_ffn(student, rank_ffn(student, tok, calib, a.ffn))
    subst.apply(student, a.activation, a.attention)
    before = fidelity(student, teacher, tok, held)
    print("after pruning: held-out cosine %.4f, NN agreement %.3f" % (before["cosine_mean"], before["nn_agreement"]))
    t0 = time.time()
    if a.steps:
        distill(student, teacher, tok, train, a.steps, a.batch, a.lr, a.seed)
    secs = time.time() - t0
    fid = fidelity(student, teacher, tok, held)
    print("after distillation: held-out cosine %.4f (min %.4f), NN agreement %.3f" % (
        fid["cosine_mean"], fid["cosine_min"], fid["nn_agreement"]))
    model_dir = os.path.join(a.out, "model")
    prune.save_pruned(student, removed, model_dir, a.teacher)
    nparam = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    point = {"name": os.path.basename(os.path.normpath(a.out)), "teacher": a.teacher, "seed": a.seed,
             "command": "python3 -m mpct.optimize " + " ".join(sys.argv[1:]),
             "shape": {"layers": len(student.encoder.layer),
                       "heads": student.encoder.layer[0].attention.self.num_attention_heads,
                       "ffn": student.config.intermediate_size,
                       "activation": a.activation or "gelu", "attention": a.attention or "softmax"},
             "params": nparam(student), "teacher_params": nparam(teacher), "pruning": info,
             "fidelity_before_distillation": before, "fidelity": fid,
             "distill": {"steps": a.steps, "batch": a.batch, "lr": a.lr, "seconds": secs,
                         "train_sentences": len(train), "calib_sentences": len(calib)},
             "data": {"corpus": a.corpus, "licence": "vaderSentiment 3.3.2 (MIT) for the review snippets"}}
    if a.mpct:
        out_h5 = os.path.join(a.out, "student-16.h5")
        subprocess.run([a.mpct, "pack", model_dir, "-o", out_h5, "--bits", "16"], check=True,
                       stdout=subprocess.DEVNULL)
        teacher_h5 = a.teacher_h5 or os.path.join(a.out, "teacher-16.h5")
        if not a.teacher_h5:
            subprocess.run([a.mpct, "pack", a.teacher, "-o", teacher_h5, "--bits", "16"], check=True,
                           stdout=subprocess.DEVNULL)
        if a.bench:
            point["bench"] = measure(a, out_h5, teacher_h5)
    with open(os.path.join(a.out, "point.json"), "w") as f:
        json.dump(point, f, indent=2)
    write_report(os.path.dirname(os.path.normpath(a.out)) or ".")
    print("wrote", model_dir, os.path.join(a.out, "point.json"))


if __name__ == "__main__":
    main()
