"""Can the scorer learn a head ranking from the maps at all? Fit a fresh scorer to a known good ranking and look.

The ranking: the regression estimate of `pruner_signal.py --estimate regression` for one task (its random masks and
losses, saved in benchmarks/runs/signal-samples/TASK.pt), turned into targets `1 + 0.4 * z` (z: the per-layer
standardised importance, clipped to the scorer's range (0, 2)). A fresh `HeadScorer` is fitted by mean squared error on
the attention maps of the same 128 training inputs (Adam, 3 random layers per step, channel of the task's kind,
batch-norm in training mode as in meta-training), then scores the dev inputs of each task given: rank correlation of
its scores with the target ranking, and the dev similarity loss of its top-k 50% mask.

`--fit stretch` gives the scorer maps stretched to 128 x 128 (`fit_maps(how="stretch")`) instead of zero-padded, so that
a head's pattern lands in the same place whatever the sentence length; `--fit stretchN` (e.g. stretch48, the packaged
pruner's) stretches them to the top-left N x N corner.

Usage: python benchmarks/studies/scorer_fit.py [--task mrpc] [--eval mrpc,stsb,rte] [--steps 300] [--lr 1e-3] [--threads 1] [--fit pad|stretch|stretchN]

Time: a few minutes (300 steps on 128 inputs; not recorded). Needs the samples of `pruner_signal.py --estimate regression`.
"""
import argparse, sys, time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/: common
from common import add_glue_arg, check_glue, ROOT
from smp_nb.models import load_encoder
from smp_nb.data import load_task, task_texts, get_task, encode_texts
from smp_nb.importance import importance_targets, secant_regression
from smp_nb.meta import mask_similarity_loss, task_mode
from smp_nb.gating import attention_maps, fit_canvas
from smp_nb.scorer import HeadScorer, head_scores
from smp_nb.prune import score_heads
from smp_nb.sampling import topk_mask

def rank_corr(a, b):
    "Mean over layers of the Spearman correlation between the rows of `a` and `b`."
    ra, rb = a.argsort(1).argsort(1).float(), b.argsort(1).argsort(1).float()
    return torch.stack([torch.corrcoef(torch.stack([x, y]))[0, 1] for x, y in zip(ra, rb)]).mean().item()

def main():
    ap = argparse.ArgumentParser()
    add_glue_arg(ap)
    ap.add_argument("--task", default="mrpc"); ap.add_argument("--eval", default="mrpc,stsb,rte")
    ap.add_argument("--steps", type=int, default=300); ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--threads", type=int, default=1); ap.add_argument("--fit", default="pad", help="pad, stretch or stretchN (see fit_maps)")
    a = ap.parse_args()
    try: fit_canvas(a.fit)
    except ValueError as e: sys.exit(f"--fit: {e}")
    check_glue(a.glue, "scorer_fit")
    samples = ROOT / "benchmarks" / "runs" / "signal-samples" / f"{a.task}.pt"
    if not samples.is_file(): sys.exit(f"{samples} is missing: run pruner_signal.py --estimate regression --tasks {a.task} first.")
    torch.set_num_threads(a.threads)
    d = torch.load(samples)
    imp = secant_regression(d["X"], d["y"]).view(6, 12)
    target = importance_targets(imp)
    model, tok = load_encoder()
    _, channel = task_mode(get_task(a.task).pair)
    g = torch.Generator().manual_seed(0)
    tr = task_texts(load_task(a.task, "train", a.glue), get_task(a.task))
    rows = [tr[i] for i in torch.randperm(len(tr), generator=g)[:128].tolist()]  # the rows pruner_signal.py used
    with torch.no_grad(): maps = [attention_maps(model, **encode_texts(tok, rows[i:i + 16])) for i in range(0, 128, 16)]
    torch.manual_seed(0); sc = HeadScorer(fit=a.fit).train()
    opt = torch.optim.Adam(sc.parameters(), lr=a.lr)
    t0 = time.time()
    for step in range(a.steps):
        lay = torch.randperm(6, generator=g)[:3]
        loss = ((head_scores(sc, maps[step % len(maps)][lay], channel) - target[lay]) ** 2).mean()
        opt.zero_grad(); loss.backward(); torch.nn.utils.clip_grad_norm_(sc.parameters(), 1.0); opt.step()
        if step % 50 == 0 or step == a.steps - 1: print(f"step {step}: fit loss {loss.item():.4f} ({time.time() - t0:.0f}s)", flush=True)
    sc.eval()
    for t in a.eval.split(","):
        dev = task_texts(load_task(t, "dev", a.glue), get_task(t))[:256]
        s = score_heads(model, tok, dev, pruner=sc, progress=False)
        print(f"{t} dev: top-k mask loss {mask_similarity_loss(model, tok, dev, topk_mask(s, 0.5), batch_size=64):.5f}, "
              f"rank correlation with the {a.task} target {rank_corr(s, imp):.3f}", flush=True)

if __name__ == "__main__": main()
