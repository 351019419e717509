"""The cost of scoring heads and neurons together, side by side with scoring as it was: `score_units` (the packaged
three-fit head pruner and Wanda neuron statistics from one pass) and `score_heads`, in float32 and with the pruner's
convolutions in bfloat16, on the same 2,000 SST-2 training sentences of the offline MiniLM.

Claim: heads and neurons of MiniLM score from 2,000 SST-2 sentences in about 15 s on a 2-core CPU with native
  bfloat16 (the default `precision="auto"` there; 15.0 s in one run, 16.6-16.7 s in two slower ones), 0.68x-0.71x the
  time of the heads alone in float32; and bfloat16 keeps the same heads as float32 at 25%, 50% and 75% pruned, on all five GLUE
  tasks. Shown by the scorer page (half the bits) and the neurons results page.
Run:    python benchmarks/unit_score_time.py --repeats 5 --out benchmarks/results/unit_score_time.json
Time:   about 8 minutes on a 2-core CPU with the CPU to itself (4 runs x 5 repeats, a warm-up, and the agreement
  check on 500 inputs of four more tasks); a loaded CPU says nothing here.
Writes: --out (benchmarks/results/unit_score_time.json), and prints the same JSON.

Options: [--rows 2000] [--repeats 3] [--threads N] [--agree-rows 500] [--out FILE.json] [--glue DIR]

Runs, taking turns (the order rotates each repeat) in one process on the same inputs and encoder:
- `heads float32`: `score_heads(..., precision="float32")`, scoring as every version before bfloat16 did;
- `heads+neurons float32`: `score_units(..., neuron_method="wanda", precision="float32")`;
- `heads bfloat16`, `heads+neurons bfloat16`: the same with `precision="bfloat16"` (what "auto" picks where the CPU has
  AVX-512 BF16 or AMX; `native_bf16` is recorded).
Medians, ranges and each run's time relative to the first (median of the per-repeat ratios) are written. Agreement
between the precisions: on the timed SST-2 runs and on the first `--agree-rows` training inputs of RTE, MRPC, STS-B
and CoLA, the largest gap between the head scores (and relative to their spread), whether the packaged per-layer
choice (`topk_mask`) keeps the same heads at 25%, 50% and 75% pruned, and the largest gap between the neuron scores.
"""
import argparse, json, os, statistics, sys, time
import torch

from common import add_glue_arg, check_glue, cpu_model, write_json
from smp_nb.data import load_task, task_texts
from smp_nb.models import load_encoder
from smp_nb.neurons import score_units
from smp_nb.prune import score_heads
from smp_nb.sampling import topk_mask
from smp_nb.scorer import load_pruner, native_bf16

RUNS = {"heads float32": ("heads", "float32"), "heads+neurons float32": ("units", "float32"),
        "heads bfloat16": ("heads", "bfloat16"), "heads+neurons bfloat16": ("units", "bfloat16")}
AGREE_TASKS = ("rte", "mrpc", "stsb", "cola")

def score(model, tok, texts, pruner, what:str, precision:str) -> tuple:
    "`(head scores, neuron scores or None)` of one run."
    kw = dict(progress=False, precision=precision)
    if what == "heads": return score_heads(model, tok, texts, pruner, **kw), None
    return score_units(model, tok, texts, pruner, "wanda", **kw)

def agreement(a:tuple, b:tuple) -> dict:
    "How far two runs' scores are apart, and whether they keep the same heads."
    (ha, na), (hb, nb) = a, b
    d = dict(max_head_gap=float((ha - hb).abs().max()), head_spread=float(ha.max() - ha.min()),
             same_kept_heads={f"{q}%": bool(torch.equal(topk_mask(ha, q / 100), topk_mask(hb, q / 100))) for q in (25, 50, 75)})
    if na is not None and nb is not None: d["max_neuron_gap"] = max(float((x - y).abs().max()) for x, y in zip(na, nb))
    return d

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_glue_arg(ap)
    ap.add_argument("--rows", type=int, default=2000); ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--agree-rows", type=int, default=500)
    ap.add_argument("--threads", type=int, default=os.cpu_count()); ap.add_argument("--out")
    a = ap.parse_args()
    if min(a.repeats, a.rows, a.agree_rows) < 1: sys.exit(f"--repeats, --rows and --agree-rows must be positive.")
    check_glue(a.glue, "unit_score_time")
    torch.set_num_threads(a.threads)
    model, tok, pruner = *load_encoder(), load_pruner()
    texts = task_texts(load_task("sst2", "train", a.glue), "sst2")[:a.rows]  # the first rows, as score_time.py takes them
    for what, prec in RUNS.values(): score(model, tok, texts[:128], pruner, what, prec)  # warm-up
    labels, times, last = list(RUNS), {k: [] for k in RUNS}, {}
    for r in range(a.repeats):
        for k in labels[r % len(labels):] + labels[:r % len(labels)]:
            t = time.perf_counter(); last[k] = score(model, tok, texts, pruner, *RUNS[k])
            times[k].append(time.perf_counter() - t)
            print(f"repeat {r}: {k}: {times[k][-1]:.1f} s", flush=True)
    agree = {"sst2": {"heads": agreement(last["heads float32"], last["heads bfloat16"]),
                      "heads+neurons": agreement(last["heads+neurons float32"], last["heads+neurons bfloat16"])}}
    for t in AGREE_TASKS:
        xs = task_texts(load_task(t, "train", a.glue), t)[:a.agree_rows]
        agree[t] = {"heads+neurons": agreement(*(score(model, tok, xs, pruner, "units", p) for p in ("float32", "bfloat16")))}
        print(t, agree[t], flush=True)
    ref = labels[0]
    out = dict(rows=len(texts), agree_rows=a.agree_rows, threads=torch.get_num_threads(), torch=torch.__version__,
               cpu=cpu_model(), native_bf16=native_bf16(), repeats=a.repeats,
               runs={k: dict(what=w, precision=p, seconds=[round(x, 2) for x in times[k]],
                             median_seconds=round(statistics.median(times[k]), 2),
                             range_seconds=[round(min(times[k]), 2), round(max(times[k]), 2)],
                             ratio_to_first=round(statistics.median(x / y for x, y in zip(times[k], times[ref])), 3))
                     for k, (w, p) in RUNS.items()},
               agreement=agree)
    print(json.dumps(out, indent=1))
    if a.out: write_json(a.out, out, end="\n")

if __name__ == "__main__": main()
