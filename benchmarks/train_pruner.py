"""Meta-train the pruner shipped with smp-nb: the offline MiniLM on the train splits of five GLUE tasks, on a CPU.

Usage: python benchmarks/train_pruner.py [--glue DIR] [--steps N] [--lr LR] [--estimator straight-through|score-function]
       [--samples 4] [--out smp_nb/assets] [--ckpt DIR]
(the packaged pruner: the defaults, straight-through, the paper's estimator)
Needs the GLUE TSVs (default: ../shared/glue beside the repository); resumes from benchmarks/runs/pruner-ckpt.

Settings and why (the authors: batch 60 x 8, 6000-8000 steps, lr 2e-2, on GPUs):
- batch 32, accumulation 2: one micro-step of MiniLM with maps, scorer and gated backward takes about 2-4 s on
  2 CPU cores, so 60 minutes buy roughly 600-900 micro-batches (the CPU is shared with other work); smaller optimizer steps, more of them.
- score_examples 16: heads are scored on 16 of the 32 examples (the scorer's convolutions dominate the step).
- lr 0.1 (5x the authors'): 450 steps instead of 6000-8000, with clipping at 1.0 bounding each update.
"""
import argparse, json, os, sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from smp_nb.meta import meta_train, train_texts, plot_history
from smp_nb.models import atomic_write
from smp_nb.models import load_encoder, OFFLINE_ENCODER
from smp_nb.scorer import save_scorer

TASKS = ["sst2", "cola", "mrpc", "stsb", "rte"]
SETTINGS = dict(steps=450, batch_size=32, accumulation=2, lr=0.1, optimizer="sgd", score_examples=16, seed=0, max_length=128,
                estimator="straight-through", samples=4)

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--glue", default=str(ROOT.parent / "shared" / "glue"))
    ap.add_argument("--steps", type=int, default=SETTINGS["steps"])
    ap.add_argument("--lr", type=float, default=SETTINGS["lr"])
    ap.add_argument("--optimizer", default=SETTINGS["optimizer"])
    ap.add_argument("--accumulation", type=int, default=SETTINGS["accumulation"])
    ap.add_argument("--score-examples", type=int, default=SETTINGS["score_examples"])
    ap.add_argument("--estimator", default=SETTINGS["estimator"])
    ap.add_argument("--samples", type=int, default=SETTINGS["samples"])
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--out", default=str(ROOT / "smp_nb" / "assets"))
    ap.add_argument("--ckpt", default=str(ROOT / "benchmarks" / "runs" / "pruner-ckpt"))
    a = ap.parse_args()
    if not Path(a.glue).exists(): sys.exit(f"GLUE data not found at {a.glue}: pass --glue DIR (GLUE TSV layout).")
    settings = dict(SETTINGS, steps=a.steps, lr=a.lr, optimizer=a.optimizer, accumulation=a.accumulation,
                    score_examples=a.score_examples, estimator=a.estimator, samples=a.samples)
    torch.set_num_threads(a.threads)
    model, tok = load_encoder()
    texts = train_texts(TASKS, a.glue)
    res = meta_train(model, tok, texts, ckpt_dir=a.ckpt, ckpt_every=25, resume=True, **settings)
    out = Path(a.out); out.mkdir(parents=True, exist_ok=True)
    final = res.task_losses(last=max(1, settings["steps"] // 10))
    first = {t: sum(v) / len(v) for t, v in
             {t: [r["loss"] for r in res.history if r["task"] == t][:20] for t in texts}.items()}
    card = dict(encoder=OFFLINE_ENCODER, tasks=TASKS, train_sizes={t: len(v) for t, v in texts.items()},
                **settings, softmax="row", repr_dropout=0.8, whole_layers=0.5, ratio=0.5,
                skipped=res.skipped, micro_batches=len(res.history),
                wall_seconds=round(res.seconds, 1),
                first_losses=first, final_losses=final, torch=torch.__version__, threads=torch.get_num_threads())
    save_scorer(res.scorer, out / "pruner.safetensors", **card)
    atomic_write(out / "pruner-history.json", lambda p: Path(p).write_text(json.dumps(res.history)))
    ax = plot_history(res.history, window=50)
    png = ROOT / "benchmarks" / "results" / "pruner_loss.png" if out == ROOT / "smp_nb" / "assets" else out / "pruner_loss.png"
    ax.figure.savefig(png, dpi=120, bbox_inches="tight")
    print(json.dumps(card, indent=1))

if __name__ == "__main__": main()
