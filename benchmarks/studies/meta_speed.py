"""Where the time of a meta-training micro-step goes, for the offline MiniLM on this machine.

Runs micro-steps of `smp_loss` (+ backward) on SST-2 (single sentences) and MRPC (pairs) training batches, with the
scorer reading all examples or the first 16, and reports micro-steps per second and the split between
(1) the encoder pass that keeps the attention maps, (2) the scorer with mask sampling, (3) the gated pass with the
loss and its backward.

Usage: python benchmarks/studies/meta_speed.py [--glue DIR] [--steps 6] [--out benchmarks/results/meta_speed.json]

Time: about 2 minutes (6 micro-steps in each of 4 settings, at 0.19-0.78 micro-steps a second).
"""
import argparse, os, sys, time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/: common
from common import add_glue_arg, check_glue, RESULTS, write_json
from smp_nb.data import encode_texts, get_task, load_task, task_texts
from smp_nb.meta import smp_loss
from smp_nb.models import load_encoder
from smp_nb.scorer import HeadScorer

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_glue_arg(ap)
    ap.add_argument("--steps", type=int, default=6)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--out", default=str(RESULTS / "meta_speed.json"))
    a = ap.parse_args()
    check_glue(a.glue, "meta_speed")
    torch.set_num_threads(os.cpu_count())
    model, tok = load_encoder(); model.requires_grad_(False)
    rows = []
    for name in ("sst2", "mrpc"):
        task = get_task(name)
        xs = task_texts(load_task(name, "train", a.glue), task)
        for se in (None, 16):
            torch.manual_seed(0); scorer = HeadScorer().train()
            g = torch.Generator().manual_seed(0)
            tm, tokens = {}, 0
            for i in range(a.steps + 1):
                if i == 1: tm, tokens, t0 = {}, 0, time.perf_counter()  # first step is warm-up
                b = encode_texts(tok, xs[i * a.batch:(i + 1) * a.batch])
                tokens += int(b["attention_mask"].sum())
                loss = smp_loss(model, scorer, b, task.pair, keep=6, score_examples=se, generator=g, timings=tm)
                t = time.perf_counter(); loss.backward(); tm["gated pass+loss"] += time.perf_counter() - t
                scorer.zero_grad()
            wall = time.perf_counter() - t0
            r = dict(task=name, batch=a.batch, score_examples=se or a.batch, micro_steps_per_s=a.steps / wall,
                     seconds_per_micro_step=wall / a.steps, mean_tokens=tokens / a.steps / a.batch,
                     split={k: v / a.steps for k, v in tm.items()},
                     split_fraction={k: v / sum(tm.values()) for k, v in tm.items()})
            rows.append(r)
            print(f"{name} score_examples={r['score_examples']}: {r['micro_steps_per_s']:.2f} micro-steps/s; "
                  + ", ".join(f"{k} {v:.2f}s ({r['split_fraction'][k]:.0%})" for k, v in r["split"].items()), flush=True)
    res = dict(encoder="offline MiniLM (6 x 12)", threads=torch.get_num_threads(), torch=torch.__version__, rows=rows)
    write_json(a.out, res)

if __name__ == "__main__": main()
