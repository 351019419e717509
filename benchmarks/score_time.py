"""The cost of pruning with several pruners, side by side: `score_heads` on the same 2,000 SST-2 training sentences.

Usage: python benchmarks/score_time.py --pruners A.safetensors,B.safetensors [--repeats 3] [--threads 2] [--out FILE.json]

The pruners take turns (the order rotates each repeat) in one process on the same inputs and the same encoder, so
each repeat gives every pruner's time under the same load; the medians and each pruner's time relative to the first
(median of the per-repeat ratios) are printed and written to --out. One untimed pass first loads and warms up.
Made to compare one fitted scorer with a `ScorerEnsemble` of several: the attention maps are made once per input
either way, and only the scorer's convolutions run once per member.
"""
import argparse, json, os, statistics, sys, time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from smp_nb.data import load_task, task_texts
from smp_nb.models import atomic_write, load_encoder
from smp_nb.prune import score_heads
from smp_nb.scorer import load_pruner

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pruners", required=True, help="comma-separated pruner files (or packaged names), the first is the reference")
    ap.add_argument("--glue", default=str(ROOT.parent / "shared" / "glue"))
    ap.add_argument("--rows", type=int, default=2000); ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=os.cpu_count()); ap.add_argument("--out")
    a = ap.parse_args()
    if a.repeats < 1 or a.rows < 1: sys.exit(f"--repeats and --rows must be positive; got {a.repeats} and {a.rows}.")
    if not Path(a.glue).exists(): sys.exit(f"GLUE data not found at {a.glue}: pass --glue DIR (GLUE TSV layout).")
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
    if a.out: atomic_write(Path(a.out), lambda p: Path(p).write_text(json.dumps(out, indent=1) + "\n"))

if __name__ == "__main__": main()
