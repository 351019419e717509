"""The cost of pruning with several pruners, side by side: `score_heads` on the same 2,000 SST-2 training sentences.

Claim: the packaged three-fit pruner scores 2,000 SST-2 sentences in 23.3 s, 2.26x one fit's 10.0 s, under the 30 s
  set for it. Shown by the meta-training page (the packaged pruner's cost).
Run:    python benchmarks/score_time.py --repeats 5 --threads 2 --out benchmarks/results/ensemble_score_time.json \
          --pruners benchmarks/results/importance_epochs3/fit/importance_scorer__stsb-mrpc-cola-sst2-rte.safetensors,benchmarks/results/importance_epochs3/ensemble3/fit/importance_scorer__stsb-mrpc-cola-sst2-rte.safetensors
Time:   about 3 minutes on a 2-core CPU with the CPU to itself (recorded medians 10.0 s and 23.3 s a pass, 5 repeats
  each, plus a warm-up); a loaded CPU says nothing here.
Writes: --out (benchmarks/results/ensemble_score_time.json), and prints the same JSON.

Options: --pruners A.safetensors,B.safetensors [--repeats 3] [--threads 2] [--out FILE.json] [--glue DIR]

The pruners take turns (the order rotates each repeat) in one process on the same inputs and the same encoder, so
each repeat gives every pruner's time under the same load; the medians and each pruner's time relative to the first
(median of the per-repeat ratios) are printed and written to --out. One untimed pass first loads and warms up.
Made to compare one fitted scorer with a `ScorerEnsemble` of several: the attention maps are made once per input
either way, and only the scorer's convolutions run once per member.
"""
import argparse, json, os, statistics, sys, time
import torch

from common import add_glue_arg, check_glue, write_json
from smp_nb.data import load_task, task_texts
from smp_nb.models import load_encoder
from smp_nb.prune import score_heads
from smp_nb.scorer import load_pruner

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pruners", required=True, help="comma-separated pruner files (or packaged names), the first is the reference")
    add_glue_arg(ap)
    ap.add_argument("--rows", type=int, default=2000); ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=os.cpu_count()); ap.add_argument("--out")
    a = ap.parse_args()
    if a.repeats < 1 or a.rows < 1: sys.exit(f"--repeats and --rows must be positive; got {a.repeats} and {a.rows}.")
    check_glue(a.glue, "score_time")
    names = [p for p in a.pruners.split(",") if p.strip()]
    pruners = {}
    for n in names:
        try: pruners[n] = load_pruner(n)
        except (FileNotFoundError, ValueError) as e: sys.exit(f"--pruners: {e}")
    torch.set_num_threads(a.threads)
    model, tok = load_encoder()
    texts = task_texts(load_task("sst2", "train", a.glue), "sst2")[:a.rows]  # the first rows, as prune_speed.py takes them
    score_heads(model, tok, texts[:64], pruner=pruners[names[0]], progress=False)  # warm-up
    times = {n: [] for n in names}
    for r in range(a.repeats):
        for n in names[r % len(names):] + names[:r % len(names)]:
            t = time.perf_counter(); score_heads(model, tok, texts, pruner=pruners[n], progress=False)
            times[n].append(time.perf_counter() - t)
            print(f"repeat {r}: {n}: {times[n][-1]:.1f} s", flush=True)
    ref = names[0]
    out = dict(rows=len(texts), threads=torch.get_num_threads(), torch=torch.__version__, repeats=a.repeats,
               pruners={n: dict(members=len(getattr(p, "members", [p])), seconds=[round(x, 2) for x in times[n]],
                                median_seconds=round(statistics.median(times[n]), 2),
                                ratio_to_first=round(statistics.median(x / y for x, y in zip(times[n], times[ref])), 3))
                        for n, p in pruners.items()})
    print(json.dumps(out, indent=1))
    if a.out: write_json(a.out, out, end="\n")

if __name__ == "__main__": main()
