"""Is there a signal for the pruner to learn? Head importance read straight from SMP's objective, without a scorer.

For each task: 256 training inputs in 8 batches of 32, each with a random 50% mask (6 of 12 heads in every layer);
the gradient of the similarity loss with respect to the head gates (the quantity the straight-through estimator
passes to the scorer) is averaged over the batches, and the top-k mask of minus that gradient (heads whose removal
raises the loss most are kept) is evaluated on dev exactly like `pruner_quality.py` (first 256 dev inputs, batches of
64). Its loss is printed beside the packaged pruner's, the random masks' and the untrained scorer's from
`results/pruner_quality_similarity.json`. If this mask beats them, the objective carries the information a pruner needs and the
question is how well the scorer learns it.

`--estimate regression` reads the same objective without any derivative: 128 training inputs (2 batches of 64), the
similarity loss of `--masks` random 50% masks on them (forward passes only), a ridge regression of the log loss on
the 72 mask bits, and the top-k mask of the heads whose presence lowers the loss most (the secant, where the gradient
is the tangent; the score-function estimator in `smp_loss` follows the same kind of signal). It also evaluates that
mask on the dev inputs of every other task given, to see whether one task's choice serves the others.

Usage: python benchmarks/studies/pruner_signal.py [--glue DIR] [--threads N] [--estimate gradient|regression] [--tasks mrpc]

Time: --estimate regression on MRPC 21 minutes on one shared core (recorded); the gradient estimate a few minutes a task (not recorded).
"""
import argparse, json, sys, time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/: common
from common import add_glue_arg, check_glue, RESULTS, ROOT
from smp_nb.models import load_encoder
from smp_nb.data import load_task, task_texts, get_task, encode_texts
from smp_nb.importance import secant_regression
from smp_nb.meta import mask_similarity_loss, task_mode
from smp_nb.gating import head_gates
from smp_nb.represent import sentence_repr, similarity_loss
from smp_nb.sampling import topk_mask

def main():
    ap = argparse.ArgumentParser()
    add_glue_arg(ap)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--estimate", choices=["gradient", "regression"], default="gradient")
    ap.add_argument("--masks", type=int, default=240, help="random masks for --estimate regression")
    ap.add_argument("--tasks", default="sst2,cola,mrpc,stsb,rte")
    a = ap.parse_args()
    check_glue(a.glue, "pruner_signal")
    torch.set_num_threads(a.threads)
    model, tok = load_encoder(); model.eval()
    for p in model.parameters(): p.requires_grad_(False)
    q = json.loads((RESULTS / "pruner_quality_similarity.json").read_text())["tasks"]
    if a.estimate == "regression": return regression(model, tok, a, q)
    g = torch.Generator().manual_seed(0)
    for t in a.tasks.split(","):
        t0 = time.time()
        tr = task_texts(load_task(t, "train", a.glue), get_task(t))
        rows = [tr[i] for i in torch.randperm(len(tr), generator=g)[:256].tolist()]
        mode, _ = task_mode(get_task(t).pair)
        imp = torch.zeros(6, 12)
        for k in range(8):
            b = encode_texts(tok, rows[32 * k: 32 * k + 32])
            with torch.no_grad(): full = sentence_repr(model(**b), b["attention_mask"], mode)
            m = topk_mask(torch.rand(6, 12, generator=g), 0.5).requires_grad_(True)
            with head_gates(model, m): pr = sentence_repr(model(**b), b["attention_mask"], mode)
            similarity_loss(full, pr).backward()
            imp -= m.grad / 8
        dev = task_texts(load_task(t, "dev", a.glue), get_task(t))[:256]
        L = mask_similarity_loss(model, tok, dev, topk_mask(imp, 0.5), batch_size=64)
        r = q[t]
        print(f"{t}: gradient-importance mask {L:.5f} | trained {r['trained']:.5f} random {r['random_mean']:.5f} "
              f"untrained {r['untrained_mean']:.5f} ({time.time() - t0:.0f}s)", flush=True)

def regression(model, tok, a, q):
    "Top-k mask of a ridge regression of the log similarity loss of random masks on the mask bits, per task."
    tasks = a.tasks.split(",")
    devs = {t: task_texts(load_task(t, "dev", a.glue), get_task(t))[:256] for t in tasks}
    for t in tasks:
        t0, g = time.time(), torch.Generator().manual_seed(0)
        tr = task_texts(load_task(t, "train", a.glue), get_task(t))
        rows = [tr[i] for i in torch.randperm(len(tr), generator=g)[:128].tolist()]
        mode, _ = task_mode(get_task(t).pair)
        bs = [encode_texts(tok, rows[i:i + 64]) for i in (0, 64)]
        X, y = [], []
        with torch.no_grad():
            fulls = [sentence_repr(model(**b), b["attention_mask"], mode) for b in bs]
            for _ in range(a.masks):
                m = topk_mask(torch.rand(6, 12, generator=g), 0.5)
                with head_gates(model, m):
                    y.append(sum(similarity_loss(f, sentence_repr(model(**b), b["attention_mask"], mode)).item()
                                 for f, b in zip(fulls, bs)) / 2)
                X.append(m.flatten())
        out = ROOT / "benchmarks" / "runs" / "signal-samples"; out.mkdir(parents=True, exist_ok=True)
        torch.save(dict(X=torch.stack(X), y=torch.tensor(y)), out / f"{t}.pt")  # read by scorer_fit.py
        mask = topk_mask(secant_regression(torch.stack(X), torch.tensor(y)).view(6, 12), 0.5)
        res = {u: mask_similarity_loss(model, tok, devs[u], mask, batch_size=64) for u in tasks}
        r = q[t]
        print(f"{t}: regression mask {res[t]:.5f} | trained {r['trained']:.5f} random {r['random_mean']:.5f} "
              f"untrained {r['untrained_mean']:.5f} | on the other tasks' dev: "
              + ", ".join(f"{u} {v:.5f} (untrained {q[u]['untrained_mean']:.5f})" for u, v in res.items() if u != t)
              + f" ({time.time() - t0:.0f}s)", flush=True)

if __name__ == "__main__": main()
