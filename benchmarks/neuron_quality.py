"""Which feed-forward neurons keep a task's sentence representations? Label-free neuron scores against random and weight magnitude.

Claim: scored label-free from the pass that scores heads (Wanda; FLAP with bias compensation) or from a few passes
  of the paper's objective (similarity), the kept neurons keep the offline MiniLM's sentence representations closer
  to the full model's than random neurons and weight magnitude, at 50% and at 25% of the neurons of every layer, on
  all five tasks; the similarity estimator is best on most of them, FLAP on the rest. Shown by the neurons page.
Run:    python benchmarks/neuron_quality.py      (--rows 50 --dev 64 --out /tmp/q.json for a quick check)
Time:   14 minutes on one thread of a 2-core CPU (recorded: 834 s); `timings` in the result holds,
  per task, the scoring pass with and without the neuron statistics and the similarity estimator's passes.
Writes: benchmarks/results/neuron_quality.json and neuron_quality.md (or --out, and the same name with .md).

For each task: the first --rows training inputs (default 1,000; labels never read) go through `score_units` with
the packaged head pruner, which scores the heads and collects the neuron statistics in one pass; the same inputs go
through `score_heads` alone, to time the pass without the statistics. The "similarity" estimator reads the first
--similarity-rows of them (default 256), with --samples random half-masks per batch (passes of its own, timed).
Each method keeps 50% and 25% of the 1,536 neurons of every layer (`topk_mask`); the others are removed
(`prune_neurons`; "flap" first moves their means into the bias, `compensate_bias`; "flap-nobias" does not). On the
first --dev inputs of the dev split (default 500): the similarity loss between the full and the pruned encoder's
sentence representations (as pruner_quality.py: row softmax, no dropout, batches of 64; pooled for pair tasks,
mean-pooled for single sentences) and their mean cosine. Random neurons: --random seeds (default 5), mean and std.

Options: [--rows 1000] [--dev 500] [--similarity-rows 256] [--samples 4] [--random 5] [--tasks ...] [--threads 1]
  [--glue DIR] [--out FILE.json]
"""
import argparse, copy, statistics, time
from pathlib import Path

import torch
import torch.nn.functional as F

from common import RESULTS, add_glue_arg, check_glue, cpu_model, log, write_json, write_text
from smp_nb.data import encode_texts, get_task, load_task, task_texts
from smp_nb.meta import task_mode
from smp_nb.models import load_encoder
from smp_nb.neurons import compensate_bias, neuron_scores, prune_neurons, score_units, similarity_neuron_scores
from smp_nb.prune import score_heads
from smp_nb.represent import sentence_repr, similarity_loss
from smp_nb.sampling import topk_mask

TASKS = ["sst2", "cola", "mrpc", "stsb", "rte"]
KEEPS = (0.5, 0.25)
METHODS = ["wanda", "flap", "flap-nobias", "similarity", "magnitude"]

def dev_batches(model, tok, texts, mode, bs=64):
    "The dev inputs tokenized in batches of `bs`, each with the full model's representations."
    out = []
    for i in range(0, len(texts), bs):
        b = encode_texts(tok, texts[i:i + bs])
        with torch.no_grad(): out.append((b, sentence_repr(model(**b), b["attention_mask"], mode)))
    return out

def quality(pruned, batches, mode) -> dict:
    "Similarity loss (mean over inputs) and mean cosine between the pruned and the full representations."
    loss = cos = n = 0.
    with torch.no_grad():
        for b, full in batches:
            r = sentence_repr(pruned(**b), b["attention_mask"], mode)
            loss += similarity_loss(full, r).item() * len(full); cos += F.cosine_similarity(full, r).sum().item(); n += len(full)
    return dict(loss=loss / n, cos=cos / n)

def pruned_copy(model, scores, keep_frac, means=None):
    "A copy of `model` keeping the top `keep_frac` of each layer's neurons by `scores` (bias-compensated if `means`)."
    keep = topk_mask(torch.stack([s.float() for s in scores]), 1 - keep_frac)
    m = copy.deepcopy(model)
    if means is not None: compensate_bias(m, keep, means)
    return prune_neurons(m, keep)

def run_task(model, tok, name, a) -> dict:
    task = get_task(name)
    train = task_texts(load_task(name, "train", a.glue), task)[:a.rows]
    dev = task_texts(load_task(name, "dev", a.glue), task)[:a.dev]
    mode, _ = task_mode(isinstance(dev[0], (tuple, list)))
    t = time.perf_counter(); score_heads(model, tok, train, progress=False); t_heads = time.perf_counter() - t
    t = time.perf_counter(); _, wanda, stats = score_units(model, tok, train, None, "wanda", progress=False, return_stats=True); t_units = time.perf_counter() - t
    t = time.perf_counter(); sim = similarity_neuron_scores(model, tok, train[:a.similarity_rows], samples=a.samples); t_sim = time.perf_counter() - t
    scores = dict(wanda=wanda, flap=neuron_scores(model, stats, "flap"), similarity=sim, magnitude=neuron_scores(model, None, "magnitude"))
    scores["flap-nobias"] = scores["flap"]
    batches, res = dev_batches(model, tok, dev, mode), {}
    for kf in KEEPS:
        r = {m: quality(pruned_copy(model, scores[m], kf, stats.mean if m == "flap" else None), batches, mode) for m in METHODS}
        rnd = [quality(pruned_copy(model, neuron_scores(model, None, "random", seed=s), kf), batches, mode) for s in range(a.random)]
        for k in ("loss", "cos"):
            vals = [q[k] for q in rnd]
            r["random"] = {**r.get("random", {}), f"{k}": statistics.mean(vals), f"{k}_std": statistics.stdev(vals) if len(vals) > 1 else 0.}
        r["best"] = min(METHODS, key=lambda m: r[m]["loss"])
        res[str(kf)] = r
        log(name, f"keep {kf:.0%}:", {m: round(r[m]["loss"], 5) for m in METHODS + ["random"]}, "best", r["best"])
    timing = dict(heads_s=round(t_heads, 2), heads_and_neuron_stats_s=round(t_units, 2), similarity_s=round(t_sim, 2),
                  train_rows=len(train), similarity_rows=min(len(train), a.similarity_rows))
    log(name, timing)
    return dict(results=res, timings=timing, mode=mode, dev_rows=len(dev))

def table(out) -> str:
    "A Markdown table: similarity loss (and cosine) per task, kept fraction and method; the lowest loss in bold."
    cols = METHODS + ["random"]
    lines = ["| task | kept | " + " | ".join(cols) + " |", "|---|---|" + "---|" * len(cols)]
    for name, t in out["tasks"].items():
        for kf, r in t["results"].items():
            cell = lambda m: (f"{r[m]['loss']:.4f}" + (f" ± {r[m]['loss_std']:.4f}" if m == "random" else "") + f" ({r[m]['cos']:.3f})")
            lines.append(f"| {name} | {float(kf):.0%} | " + " | ".join(f"**{cell(m)}**" if m == r["best"] else cell(m) for m in cols) + " |")
    return ("Similarity loss between the pruned and the full offline MiniLM's sentence representations on dev inputs "
            "(lower is better; mean cosine in brackets); neurons scored label-free on training inputs.\n\n" + "\n".join(lines) + "\n")

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_glue_arg(ap)
    for k, v in dict(rows=1000, dev=500, similarity_rows=256, samples=4, random=5, threads=1).items():
        ap.add_argument("--" + k.replace("_", "-"), type=int, default=v)
    ap.add_argument("--tasks", default=",".join(TASKS))
    ap.add_argument("--out", default=str(RESULTS / "neuron_quality.json"))
    a = ap.parse_args()
    check_glue(a.glue, "neuron_quality")
    torch.set_num_threads(a.threads)
    model, tok = load_encoder()
    t0, tasks = time.time(), {}
    for name in a.tasks.split(","): tasks[name] = run_task(model, tok, name, a)
    out = dict(encoder="offline MiniLM (6 layers x 1,536 neurons)", rows_per_task=a.rows, dev_rows=a.dev, similarity_rows=a.similarity_rows,
               samples=a.samples, random_seeds=a.random, keeps=list(KEEPS), methods=METHODS, threads=a.threads, cpu=cpu_model(),
               seconds=round(time.time() - t0, 1), tasks=tasks)
    write_json(a.out, out)
    write_text(Path(a.out).with_suffix(".md"), table(out))
    print(table(out))

if __name__ == "__main__": main()
