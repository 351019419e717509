"""Did the packaged pruner learn? Similarity loss of fixed 50% masks on GLUE dev inputs it never saw.

For each of the five tasks: the dev inputs (first 256), heads scored single-shot by a pruner on those inputs,
its top-k mask (6 of 12 heads in every layer of the offline MiniLM), and the similarity loss between the full and
the masked encoder (no dropout, batches of 64). Compared with 20 random masks of the same budget, with the top-k
mask of an untrained scorer (3 initialisations, with the trained pruner's map fitting and, if that is not "pad", also
with the authors' zero padding; "beats untrained" means better than every one of them), and with the authors'
BERT-base pruner when ../shared is present.

Usage: python benchmarks/pruner_quality.py [--glue DIR] [--pruner PATH] [--out benchmarks/results/pruner_quality.json]
       python benchmarks/pruner_quality.py --baselines-from benchmarks/results/pruner_quality_similarity.json
           # measure only the pruner; take the random masks, untrained scorers and the authors' pruner from an earlier
           # run with the same rows and random masks (they do not depend on the pruner; about 1 minute instead of 15)
"""
import argparse, json, statistics, sys, time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from smp_nb.data import get_task, load_task, task_texts
from smp_nb.meta import mask_similarity_loss
from smp_nb.models import atomic_write
from smp_nb.models import load_encoder
from smp_nb.prune import score_heads
from smp_nb.sampling import topk_mask
from smp_nb.scorer import HeadScorer, load_pruner

TASKS = ["sst2", "cola", "mrpc", "stsb", "rte"]

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--glue", default=str(ROOT.parent / "shared" / "glue"))
    ap.add_argument("--authors", default=str(ROOT.parent / "shared" / "reference" / "thunlp-smp" / "base.bin"))
    ap.add_argument("--pruner", default=None, help="a scorer file (default: the packaged pruner)")
    ap.add_argument("--rows", type=int, default=256)
    ap.add_argument("--tasks", default=",".join(TASKS))
    ap.add_argument("--random", type=int, default=20)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "pruner_quality.json"))
    ap.add_argument("--baselines-from", help="an earlier output with the same --rows and --random: reuse its baselines")
    a = ap.parse_args()
    base = None
    if a.baselines_from:
        base = json.loads(Path(a.baselines_from).read_text())
        if (base["rows_per_task"], base["random_masks"]) != (a.rows, a.random):
            sys.exit(f"--baselines-from {a.baselines_from} used {base['rows_per_task']} rows and {base['random_masks']} random masks, "
                     f"not {a.rows} and {a.random}.")
    if not Path(a.glue).exists(): sys.exit(f"GLUE data not found at {a.glue}: pass --glue DIR.")
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
    if base is not None: pass
    elif Path(a.authors).exists(): pruners["authors-base"] = load_pruner(a.authors)
    else: print(f"authors' checkpoint not found at {a.authors}: that row is skipped")
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
    atomic_write(Path(a.out), lambda p: Path(p).write_text(json.dumps(out, indent=1)))
    print("all tasks: beats random", all(r["beats_random"] for r in res.values()),
          "| beats untrained", all(r["beats_untrained"] for r in res.values()))

if __name__ == "__main__": main()
