"""Which neuron scores, and which split of a multiply-add budget between heads and neurons: the fine-tuning proxy at 50% (splits also at 60%).

Usage:
  python benchmarks/studies/neuron_proxy.py              # every task x variant, then the check against glue_macs' cells
  python benchmarks/studies/neuron_proxy.py --report     # only summarise the proxy runs on disk
  python benchmarks/studies/neuron_proxy.py --quick      # tiny slices of RTE and two variants, into a temporary folder
  python benchmarks/studies/neuron_proxy.py --macs 0.6 --skip-check   # the split of a 60% budget (SPLITS), no GLUE check

Why: `glue_macs.py` fine-tunes three recipes fully (2-3.5 CPU minutes a cell); choosing among more neuron estimators
and budget splits needs something cheaper. The fine-tuning proxy of `finetune_proxy.py` (its `PROXY` settings: a
seeded subset of training rows, 2 epochs at a higher learning rate, 500 dev rows) ranked head masks within a task
with Spearman 0.63 on average against the three-seed GLUE score. Here it scores, on each task, MiniLM pruned to 50%
of its multiply-adds with the packaged head pruner's heads and the neurons of each estimator (`wanda`, the default;
`flap`, with and without its bias compensation; `similarity`; `magnitude`; `random`, three seeds), and two other
splits of the same budget with Wanda's neurons (4 or 8 heads of 12 per layer instead of 6, the neurons filling the
rest), and two that spend it unevenly across layers: `wanda_global` (6 heads per layer, the same total of neurons chosen
by Wanda's scores of all layers ranked together, each layer keeping at least one) and `heads_global` (the same total
of heads chosen by the pruner's scores ranked together, `topk_mask(per_layer=False)`, Wanda's neurons per layer).
Last, `fitted`: the learned neuron score of `neuron_fit.py`, with the weights fitted on the other four tasks (read
from `neuron_fit.json`; skipped until that study has run). Labels are used only to evaluate. Then, as a check that
the proxy also ranks budgets' masks, it scores the exact masks of `glue_macs.py`'s cells at 50% (once per distinct
mask: label-free and label-based scores give every seed the same one) and reports Spearman's correlation with their
full fine-tuned scores. With `--macs 0.6` it runs only the splits of that budget (`SPLITS`: Wanda's neurons with 4, 5,
7 (the default's equal shares) or 9 heads per layer), into files and a summary tagged `m60`
(`neuron_proxy_m60.json`), with the same check unless `--skip-check`.

Each proxy run is one JSON in benchmarks/results/neuron_proxy/ (written atomically; an existing file is skipped, so an
interrupted run resumes); the summary goes to benchmarks/results/neuron_proxy.json. Choosing the default neuron score
from this table is selection over the variants tried: the summary says how many, and glue_macs' full fine-tuning is
the check.

Time: 19-60 s a proxy run on a 2-core CPU; 5 tasks x 13 variants and the glue_macs masks, about 90 runs, 45-70 minutes;
the scoring passes about 2 minutes; --macs 0.6 --skip-check 20 runs, about 18 minutes; --quick about a minute.
"""
import argparse, copy, json, math, statistics, sys, tempfile, time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/: common, and this folder's finetune_proxy
sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import RESULTS, add_glue_arg, log, write_json
from finetune_proxy import PROXY, QUICK, spearman
from neuron_fit import feature_rows, fitted_scores
from smp_nb.data import load_task, task_texts
from smp_nb.finetune import _subsample, finetune
from smp_nb.models import head_grid, load_encoder, neurons_per_layer
from smp_nb.neurons import (_unit_sizes, budget_masks, compensate_bias, neuron_scores, prune_neurons, score_units,
                            similarity_neuron_scores)
from smp_nb.prune import macs_per_token, prune_heads
from smp_nb.sampling import topk_mask

TASKS = ["rte", "mrpc", "stsb", "cola", "sst2"]
BUDGET = 0.5
VARIANTS = ["wanda", "flap", "flap_comp", "similarity", "magnitude", "random_s0", "random_s1", "random_s2",
            "wanda_h4", "wanda_h8", "wanda_global", "heads_global", "fitted"]
SPLITS = {0.6: ["wanda", "wanda_h4", "wanda_h5", "wanda_h9"]}   # --macs 0.6: the split of the budget (the default keeps 7 heads)

def split_counts(model, macs:float, heads:int, seq_len:int=128) -> tuple:
    "`(heads, neurons)` per layer within `macs` with `heads` heads kept: the neurons fill what the heads leave."
    sizes, full = _unit_sizes(model, seq_len), macs_per_token(model, seq_len)
    (L, H), head, neuron = head_grid(model), sum(s[1] for s in sizes), sum(s[3] for s in sizes)
    rest = full - H * head - neurons_per_layer(model)[0] * neuron   # what no pruning touches
    return heads, math.floor((macs * full - rest - heads * head) / neuron)

def global_keep(scores:list, total:int) -> list:
    "Kept neuron indices per layer: the `total` best of all layers' `scores` ranked together, each layer's best one kept first."
    flat = torch.cat([s.float() for s in scores])
    first = torch.tensor([sum(map(len, scores[:l])) + int(s.argmax()) for l, s in enumerate(scores)])
    rank = flat.clone(); rank[first] = float("inf")
    top, out, at = rank.topk(total).indices, [], 0
    for s in scores: out.append(top[(top >= at) & (top < at + len(s))].sort().values - at); at += len(s)
    return out

def task_scores(task:str, glue, rows:int, fit:dict) -> dict:
    "The unit scores every variant reads, from one fresh MiniLM and the task's first `rows` training inputs (labels unread); `fit`: `neuron_fit.json`'s held-out weights per task."
    model, tok = load_encoder()
    texts = task_texts(_subsample(load_task(task, "train", glue), rows, 0, "score_rows"), task)
    heads, wanda, st = score_units(model, tok, texts, None, "wanda", progress=False, return_stats=True)
    fitted = {} if task not in fit else dict(fitted=fitted_scores(feature_rows(model, st), fit[task]["weights"]))
    return dict(heads=heads, stats=st, wanda=wanda, flap=neuron_scores(model, st, "flap"), **fitted,
                similarity=similarity_neuron_scores(model, tok, texts[:256], seed=0),
                magnitude=neuron_scores(model, None, "magnitude"),
                **{f"random_s{s}": neuron_scores(model, None, "random", seed=s) for s in range(3)})

def plan(variant:str, sc:dict, model, budget:float=BUDGET) -> tuple:
    "`(head_mask, neuron_keep, bias_means or None)` of a variant on a full model, at `budget` of its multiply-adds."
    ns = sc["wanda" if variant.startswith("wanda") or variant == "heads_global" else "flap" if variant == "flap_comp" else variant]
    hm, keep = budget_masks(model, sc["heads"], ns, budget)
    if variant.startswith("wanda_h"):
        kh, kn = split_counts(model, budget, int(variant[len("wanda_h"):]))
        hm = torch.zeros_like(hm).scatter_(1, sc["heads"].topk(kh, dim=1).indices, 1.)
        keep = [s.topk(kn).indices.sort().values for s in ns]
    if variant == "wanda_global": keep = global_keep(ns, sum(map(len, keep)))
    if variant == "heads_global": hm = topk_mask(sc["heads"], 1 - hm.sum().item() / hm.numel(), per_layer=False)
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

def glue_cells(res:Path, budget:float=BUDGET) -> dict:
    "{(task, method): [(seed, full score x 100, kept heads, kept neurons)]} of glue_macs' cells at `budget`."
    out = {}
    for p in sorted((res / "glue_macs").glob(f"*__m{round(budget * 100)}__s*.json")):
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
    ap.add_argument("--macs", type=float, default=BUDGET, help=f"the budget; other than {BUDGET}, only the splits of SPLITS")
    ap.add_argument("--skip-check", action="store_true", help="skip the proxy runs of glue_macs' masks")
    a = ap.parse_args(argv)
    if a.macs != BUDGET and a.macs not in SPLITS: sys.exit(f"--macs must be {BUDGET} or one of {sorted(SPLITS)}; got {a.macs}.")
    torch.set_num_threads(2)
    res, P, tasks, rows = Path(a.results), PROXY, a.tasks.split(","), 2000
    variants, tag = (VARIANTS, "") if a.macs == BUDGET else (SPLITS[a.macs], f"__m{round(a.macs * 100)}")
    folder = res / "neuron_proxy"
    if a.quick: folder, P, variants, tasks, rows = Path(tempfile.mkdtemp()) / "neuron_proxy", QUICK, ["wanda", "random_s0"], ["rte"], 64
    folder.mkdir(parents=True, exist_ok=True)
    fit = json.loads((res / "neuron_fit.json").read_text())["held_out"] if (res / "neuron_fit.json").is_file() else {}
    scores, out = {}, dict(budget=a.macs, variants=variants, settings={k: (list(v) if isinstance(v, tuple) else v) for k, v in P.items()},
                           proxy={}, glue_check={})
    for t in tasks:
        for v in variants:
            path = folder / f"{t}__{v}{tag}__s0.json"
            if a.report and not path.is_file(): continue
            if v == "fitted" and t not in fit: continue   # needs studies/neuron_fit.py's weights fitted without this task
            def make(t=t, v=v):
                if t not in scores: scores[t] = task_scores(t, a.glue, rows, fit)
                return proxy_run(t, *plan(v, scores[t], load_encoder()[0], a.macs), a.glue, P, 0)
            out["proxy"][f"{t}/{v}"] = cached(path, make)["main"]
    H = head_grid(load_encoder()[0])[1]
    for (t, m), cells in ({} if a.quick or a.skip_check else glue_cells(res, a.macs)).items():
        if t not in tasks: continue
        prox, seen = [], {}
        for seed, score, kh, kn in cells:
            key = json.dumps([kh, kn])   # joint, magnitude and importance give every seed the same mask: one proxy run
            if key not in seen:
                hm = torch.tensor([[1. if h in k else 0. for h in range(H)] for k in kh])
                path = folder / f"{t}__glue-{m}-s{seed}{tag}__s0.json"
                if a.report and not path.is_file(): continue
                seen[key] = cached(path, lambda: proxy_run(t, hm, [torch.tensor(k) for k in kn], None, a.glue, P, 0))["main"]
            prox.append(seen[key])
        if prox:
            out["glue_check"][f"{t}/{m}"] = dict(glue=statistics.mean(c[1] for c in cells), proxy=statistics.mean(prox), cells=len(prox),
                                                 masks=len(seen))
    out["glue_check_spearman"] = check_correlation(out["glue_check"])
    done = [t for t in tasks if all(f"{t}/{v}" in out["proxy"] for v in variants if v != "fitted" or t in fit)]
    out["mean"] = {v: statistics.mean(out["proxy"][f"{t}/{v}"] for t in done) for v in variants if all(f"{t}/{v}" in out["proxy"] for t in done) and done}
    out["tasks_above_wanda"] = {v: sum(out["proxy"][f"{t}/{v}"] > out["proxy"][f"{t}/wanda"] for t in done) for v in out["mean"]}
    out["tasks"] = done
    print(json.dumps(out, indent=1))
    if not a.quick: write_json(res / f"neuron_proxy{tag.replace('__', '_')}.json", out)

if __name__ == "__main__":
    main()
