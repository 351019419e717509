"""Did the packaged pruner learn? Similarity loss of fixed 50% masks on GLUE dev inputs it never saw.

Claim: the label-free objective on held-out dev inputs: the label-free pruner's 50% masks beat the mean random mask
  and every untrained scorer on all five tasks; the default (importance-fitted) pruner beats random on four of five.
  Shown by the home page (README/index) and the meta-training page.
Run:    python benchmarks/pruner_quality.py --pruner similarity --out benchmarks/results/pruner_quality_similarity.json
        python benchmarks/pruner_quality.py --baselines-from benchmarks/results/pruner_quality_similarity.json
Time:   15.3 minutes on a 2-core CPU for the first (recorded: 917 s, eight scorers and 20 random masks on five tasks);
  under a minute for the second (50 s), which reuses the first's baselines.
Writes: benchmarks/results/pruner_quality_similarity.json and pruner_quality.json (or --out).

For each of the five tasks: the dev inputs (first 256), heads scored single-shot by a pruner on those inputs,
its top-k mask (6 of 12 heads in every layer of the offline MiniLM), and the similarity loss between the full and
the masked encoder (no dropout, batches of 64). Compared with 20 random masks of the same budget, with the top-k
mask of an untrained scorer (3 initialisations, with the trained pruner's map fitting and, if that is not "pad", also
with the authors' zero padding; "beats untrained" means better than every one of them), and with the authors'
BERT-base pruner (`authors_checkpoint("base")`) when it can be had.

Options: [--glue DIR] [--pruner PATH or packaged name] [--authors PATH] [--out FILE]; --baselines-from FILE measures
only the pruner and takes the random masks, untrained scorers and the authors' pruner from an earlier run with the
same rows and random masks (they do not depend on the pruner).
"""
import argparse, json, statistics, sys, time
from pathlib import Path

import torch

from common import add_glue_arg, check_glue, RESULTS, write_json
from smp_nb.data import get_task, load_task, task_texts
from smp_nb.meta import mask_similarity_loss
from smp_nb.models import load_encoder
from smp_nb.prune import score_heads
from smp_nb.sampling import topk_mask
from smp_nb.scorer import HeadScorer, authors_checkpoint, load_pruner

TASKS = ["sst2", "cola", "mrpc", "stsb", "rte"]

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_glue_arg(ap)
    ap.add_argument("--authors", default=None, help="the authors' base.bin (default: `authors_checkpoint('base')`)")
    ap.add_argument("--pruner", default=None, help="a scorer file (default: the packaged pruner)")
    ap.add_argument("--rows", type=int, default=256)
    ap.add_argument("--tasks", default=",".join(TASKS))
    ap.add_argument("--random", type=int, default=20)
    ap.add_argument("--out", default=str(RESULTS / "pruner_quality.json"))
    ap.add_argument("--baselines-from", help="an earlier output with the same --rows and --random: reuse its baselines")
    a = ap.parse_args()
    base = None
    if a.baselines_from:
        base = json.loads(Path(a.baselines_from).read_text())
        if (base["rows_per_task"], base["random_masks"]) != (a.rows, a.random):
            sys.exit(f"--baselines-from {a.baselines_from} used {base['rows_per_task']} rows and {base['random_masks']} random masks, "
                     f"not {a.rows} and {a.random}.")
    check_glue(a.glue, "pruner_quality")
    model, tok = load_encoder()
    L, H = 6, 12
    pruners = {"trained": load_pruner(a.pruner)}
    fits = list(dict.fromkeys([pruners["trained"].fit, "pad"]))
    if base is not None and fits != list(dict.fromkeys([base["fit"], "pad"])):
        sys.exit(f"--baselines-from {a.baselines_from} has untrained scorers with fit {base['fit']!r}, not {pruners['trained'].fit!r}.")
    untrained = []
    for fit in fits:
        for s in range(3):
            untrained.append(f"untrained-{s}" if fit == "pad" else f"untrained-{fit}-{s}")
            if base is None: torch.manual_seed(s); pruners[untrained[-1]] = HeadScorer(fit=fit).eval()
    if base is None:
        try: pruners["authors-base"] = load_pruner(a.authors or authors_checkpoint("base"))
        except Exception as e: print(f"the authors' checkpoint could not be loaded ({type(e).__name__}: {e}): that row is skipped")
    res, t0 = {}, time.time()
    for name in a.tasks.split(","):
        task = get_task(name)
        texts = task_texts(load_task(name, "dev", a.glue), task)[:a.rows]
        loss = lambda m: mask_similarity_loss(model, tok, texts, m, batch_size=64)
        r = {}
        for pname, p in pruners.items():
            sc = score_heads(model, tok, texts, pruner=p, progress=False)
            r[pname] = loss(topk_mask(sc, 0.5))
        if base is not None:
            r.update({k: v for k, v in base["tasks"][name].items() if k != "trained" and not k.startswith("beats")})
        else:
            g = torch.Generator().manual_seed(0)
            rnd = [loss(topk_mask(torch.rand(L, H, generator=g), 0.5)) for _ in range(a.random)]
            r["random_mean"], r["random_std"], r["random_min"] = statistics.mean(rnd), statistics.stdev(rnd), min(rnd)
        r["untrained_mean"] = statistics.mean(r[k] for k in untrained)
        r["beats_random"] = r["trained"] < r["random_mean"]
        r["beats_untrained"] = r["trained"] < min(r[k] for k in untrained)
        res[name] = r
        print(name, {k: (round(v, 5) if isinstance(v, float) else v) for k, v in r.items()}, flush=True)
    out = dict(rows_per_task=a.rows, random_masks=a.random, ratio=0.5, encoder="offline MiniLM (6 x 12)",
               pruner=a.pruner or "packaged", fit=pruners["trained"].fit, seconds=round(time.time() - t0, 1),
               baselines_from=a.baselines_from and Path(a.baselines_from).name, tasks=res)
    write_json(a.out, out)
    print("all tasks: beats random", all(r["beats_random"] for r in res.values()),
          "| beats untrained", all(r["beats_untrained"] for r in res.values()))

if __name__ == "__main__": main()
