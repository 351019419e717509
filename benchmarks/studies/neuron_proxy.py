"""Which neuron scores, and which split of a multiply-add budget between heads and neurons: the fine-tuning proxy at 50%.

Usage:
  python benchmarks/studies/neuron_proxy.py              # every task x variant, then the check against glue_macs' cells
  python benchmarks/studies/neuron_proxy.py --report     # only summarise the proxy runs on disk
  python benchmarks/studies/neuron_proxy.py --quick      # tiny slices of RTE and two variants, into a temporary folder

Why: `glue_macs.py` fine-tunes three recipes fully (2-3.5 CPU minutes a cell); choosing among more neuron estimators
and budget splits needs something cheaper. The fine-tuning proxy of `finetune_proxy.py` (its `PROXY` settings: a
seeded subset of training rows, 2 epochs at a higher learning rate, 500 dev rows) ranked head masks within a task
with Spearman 0.63 on average against the three-seed GLUE score. Here it scores, on each task, MiniLM pruned to 50%
of its multiply-adds with the packaged head pruner's heads and the neurons of each estimator (`wanda`, the default;
`flap`, with and without its bias compensation; `similarity`; `magnitude`; `random`, three seeds), and two other
splits of the same budget with Wanda's neurons (4 or 8 heads of 12 per layer instead of 6, the neurons filling the
rest). Labels are used only to evaluate. Then, as a check that the proxy also ranks budgets' masks, it scores the
exact masks of `glue_macs.py`'s cells at 50% and reports Spearman's correlation with their full fine-tuned scores.

Each proxy run is one JSON in benchmarks/results/neuron_proxy/ (written atomically; an existing file is skipped, so an
interrupted run resumes); the summary goes to benchmarks/results/neuron_proxy.json. Choosing the default neuron score
from this table is selection over the variants tried: the summary says how many, and glue_macs' full fine-tuning is
the check.

Time: 19-60 s a proxy run on a 2-core CPU; 5 tasks x 10 variants and the glue_macs masks, about 70 runs, 40-60 minutes;
the scoring passes about 2 minutes; --quick about a minute.
"""
import argparse, copy, json, math, statistics, sys, tempfile, time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/: common, and this folder's finetune_proxy
sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import RESULTS, add_glue_arg, log, write_json
from finetune_proxy import PROXY, QUICK, spearman
from smp_nb.data import load_task, task_texts
from smp_nb.finetune import _subsample, finetune
from smp_nb.models import head_grid, load_encoder, neurons_per_layer
from smp_nb.neurons import (_unit_sizes, budget_masks, compensate_bias, neuron_scores, prune_neurons, score_units,
                            similarity_neuron_scores)
from smp_nb.prune import macs_per_token, prune_heads

TASKS = ["rte", "mrpc", "stsb", "cola", "sst2"]
BUDGET = 0.5
VARIANTS = ["wanda", "flap", "flap_comp", "similarity", "magnitude", "random_s0", "random_s1", "random_s2",
            "wanda_h4", "wanda_h8"]

def split_counts(model, macs:float, heads:int, seq_len:int=128) -> tuple:
    "`(heads, neurons)` per layer within `macs` with `heads` heads kept: the neurons fill what the heads leave."
    sizes, full = _unit_sizes(model, seq_len), macs_per_token(model, seq_len)
    (L, H), head, neuron = head_grid(model), sum(s[1] for s in sizes), sum(s[3] for s in sizes)
    rest = full - H * head - neurons_per_layer(model)[0] * neuron   # what no pruning touches
    return heads, math.floor((macs * full - rest - heads * head) / neuron)

def task_scores(task:str, glue, rows:int) -> dict:
    "The unit scores every variant reads, from one fresh MiniLM and the task's first `rows` training inputs (labels unread)."
    model, tok = load_encoder()
    texts = task_texts(_subsample(load_task(task, "train", glue), rows, 0, "score_rows"), task)
    heads, wanda, st = score_units(model, tok, texts, None, "wanda", progress=False, return_stats=True)
    return dict(heads=heads, stats=st, wanda=wanda, flap=neuron_scores(model, st, "flap"),
                similarity=similarity_neuron_scores(model, tok, texts[:256], seed=0),
                magnitude=neuron_scores(model, None, "magnitude"),
                **{f"random_s{s}": neuron_scores(model, None, "random", seed=s) for s in range(3)})

def plan(variant:str, sc:dict, model) -> tuple:
    "`(head_mask, neuron_keep, bias_means or None)` of a variant on a full model."
    ns = sc["wanda" if variant.startswith("wanda") else "flap" if variant == "flap_comp" else variant]
    hm, keep = budget_masks(model, sc["heads"], ns, BUDGET)
    if variant in ("wanda_h4", "wanda_h8"):
        kh, kn = split_counts(model, BUDGET, int(variant[-1]))
        hm = torch.zeros_like(hm).scatter_(1, sc["heads"].topk(kh, dim=1).indices, 1.)
        keep = [s.topk(kn).indices.sort().values for s in ns]
    return hm, keep, sc["stats"].mean if variant == "flap_comp" else None

def proxy_run(task:str, hm, keep, means, glue, P:dict, seed:int) -> dict:
    "Prune a fresh MiniLM to `hm` and `keep` (compensating with `means` if given), fine-tune it the proxy's way; its dev score."
    train = _subsample(load_task(task, "train", glue), P["train_rows"][task], P["rows_seed"], "train_rows")
    dev = _subsample(load_task(task, "dev", glue), P["eval_rows"], P["rows_seed"], "eval_rows")
    model, tok = load_encoder()
    full = macs_per_token(model)
    if means is not None: compensate_bias(model, keep, means)
    prune_neurons(prune_heads(model, hm), keep)
    res = finetune(model, tok, task, train_data=train, eval_data=dev, epochs=P["epochs"], batch_size=P["batch_size"],
                   lr=P["lr"], max_length=P["max_length"], seed=seed, device="cpu", train_sampling_strategy=P["sampling"])
    return dict(task=task, seed=seed, main=100 * res["main"], macs=macs_per_token(model) / full, train_seconds=res["train_seconds"],
                kept_heads=[r.nonzero().flatten().tolist() for r in hm], neurons=[len(k) for k in keep],
                settings={k: (list(v) if isinstance(v, tuple) else v) for k, v in P.items()})

def cached(path:Path, make) -> dict:
    "The run at `path`, made (and written atomically) if it is not there."
    if not path.is_file():
        t0 = time.perf_counter(); r = make(); write_json(path, r)
        log(f"proxy {path.stem}: {r['main']:.1f} ({time.perf_counter() - t0:.0f} s)")
    return json.loads(path.read_text())

def glue_cells(res:Path) -> dict:
    "{(task, method): [(seed, full score x 100, kept heads, kept neurons)]} of glue_macs' cells at the budget."
    out = {}
    for p in sorted((res / "glue_macs").glob(f"*__m{round(BUDGET * 100)}__s*.json")):
        c = json.loads(p.read_text())
        out.setdefault((c["task"], c["method"]), []).append((c["seed"], 100 * c["main"], c["kept_heads"], c["kept_neurons"]))
    return out

def check_correlation(check:dict) -> float|None:
    "Spearman between full and proxy scores over the (task, method) cells, each relative to its task's mean over methods."
    by = {}
    for k, v in check.items(): by.setdefault(k.split("/")[0], []).append(v)
    xs, ys = [], []
    for vs in by.values():
        if len(vs) < 2: continue
        g, p = statistics.mean(v["glue"] for v in vs), statistics.mean(v["proxy"] for v in vs)
        xs += [v["glue"] - g for v in vs]; ys += [v["proxy"] - p for v in vs]
    return spearman(xs, ys) if len(xs) > 2 else None

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_glue_arg(ap)
    ap.add_argument("--results", default=str(RESULTS))
    ap.add_argument("--tasks", default=",".join(TASKS))
    ap.add_argument("--report", action="store_true", help="only summarise the proxy runs on disk")
    ap.add_argument("--quick", action="store_true", help="tiny slices of RTE, two variants, into a temporary folder")
    a = ap.parse_args(argv)
    torch.set_num_threads(2)
    res, P, variants, tasks, rows = Path(a.results), PROXY, VARIANTS, a.tasks.split(","), 2000
    folder = res / "neuron_proxy"
    if a.quick: folder, P, variants, tasks, rows = Path(tempfile.mkdtemp()) / "neuron_proxy", QUICK, ["wanda", "random_s0"], ["rte"], 64
    folder.mkdir(parents=True, exist_ok=True)
    scores, out = {}, dict(budget=BUDGET, variants=variants, settings={k: (list(v) if isinstance(v, tuple) else v) for k, v in P.items()},
                           proxy={}, glue_check={})
    for t in tasks:
        for v in variants:
            path = folder / f"{t}__{v}__s0.json"
            if a.report and not path.is_file(): continue
            def make(t=t, v=v):
                if t not in scores: scores[t] = task_scores(t, a.glue, rows)
                return proxy_run(t, *plan(v, scores[t], load_encoder()[0]), a.glue, P, 0)
            out["proxy"][f"{t}/{v}"] = cached(path, make)["main"]
    H = head_grid(load_encoder()[0])[1]
    for (t, m), cells in ({} if a.quick else glue_cells(res)).items():
        if t not in tasks: continue
        prox = []
        for seed, score, kh, kn in cells:
            hm = torch.tensor([[1. if h in k else 0. for h in range(H)] for k in kh])
            path = folder / f"{t}__glue-{m}-s{seed}__s0.json"
            if a.report and not path.is_file(): continue
            prox.append(cached(path, lambda: proxy_run(t, hm, [torch.tensor(k) for k in kn], None, a.glue, P, 0))["main"])
        if prox:
            out["glue_check"][f"{t}/{m}"] = dict(glue=statistics.mean(c[1] for c in cells), proxy=statistics.mean(prox), masks=len(prox))
    out["glue_check_spearman"] = check_correlation(out["glue_check"])
    print(json.dumps(out, indent=1))
    if not a.quick: write_json(res / "neuron_proxy.json", out)

if __name__ == "__main__":
    main()
