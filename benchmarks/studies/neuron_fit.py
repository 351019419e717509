"""Can a learned neuron score beat Wanda? A ridge regression from each neuron's label-free features to its label-based
importance, fitted on four GLUE tasks and tested on the fifth.

Usage:
  python benchmarks/studies/neuron_fit.py              # the five tasks, each held out in turn
  python benchmarks/studies/neuron_fit.py --quick      # two tasks on tiny slices, into a temporary folder

Why: the issue asks for a learned neuron score "where it measures better", as the shipped head pruner is fitted to
gradient importance. The targets are `label_importance(..., neurons=True)` with the GLUE table's importance protocol
(MiniLM fine-tuned 1 epoch on the task's training rows, then |d loss / d gate| of every neuron on 2,000 of them, with
labels), cached in benchmarks/results/glue_macs/importance/ (the same readings `glue_macs.py --methods importance`
uses, when run with the same settings). The features come from one label-free pass over the same 2,000 inputs
(`neuron_stats`) and the weights: the log of each neuron's activation norm, of its output and input weight norms, of
its Wanda and FLAP scores, and its activation mean and standard deviation, each standardised within its layer. The
target is the log importance standardised within its layer (only the order within a layer matters to `budget_masks`).

What it reports, per held-out task: Spearman's correlation within each layer (averaged over layers) between the
importance and each score: the fitted one, Wanda (the default), FLAP, weight magnitude. A fitted score that wins on
held-out tasks is worth the fine-tuning proxy next (`neuron_proxy.py`), then full fine-tuning (`glue_macs.py`).
Writes benchmarks/results/neuron_fit.json.

Time: the five importance readings about 10-15 minutes on a 2-core CPU (cached), the passes 1-2 minutes, the fits
seconds; --quick about a minute.
"""
import argparse, json, math, sys, tempfile
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/: common, glue_table
from common import RESULTS, add_glue_arg, log, write_json
from glue_table import QUICK, SETTINGS, importance_protocol
from smp_nb.data import load_task, task_texts
from smp_nb.finetune import _subsample
from smp_nb.importance import label_importance
from smp_nb.models import load_encoder
from smp_nb.neurons import _in_norms, _out_norms, neuron_scores, neuron_stats
from smp_nb.prune import score_heads

TASKS = ["rte", "mrpc", "stsb", "cola", "sst2"]
FEATURES = ["act_norm", "out_norm", "in_norm", "wanda", "flap", "mean", "std"]

def _z(x:torch.Tensor) -> torch.Tensor:
    "`x` standardised (one layer's neurons)."
    return (x - x.mean()) / x.std().clamp_min(1e-12)

def feature_rows(model, st) -> list:
    "Per layer, a `[neurons, features]` tensor of `FEATURES`, each standardised within the layer, from the statistics `st` of a pass over `model`."
    log_ = lambda xs: [x.clamp_min(1e-12).log() for x in xs]
    raw = dict(act_norm=log_(st.norm), out_norm=log_(_out_norms(model)), in_norm=log_(_in_norms(model)),
               wanda=log_(neuron_scores(model, st, "wanda")), flap=log_(neuron_scores(model, st, "flap")),
               mean=st.mean, std=[v.sqrt() for v in st.var])
    return [torch.stack([_z(raw[f][l].double()) for f in FEATURES], 1) for l in range(len(st.sum))]

def fitted_scores(X:list, weights:dict) -> list:
    "Per layer, the fitted score of each neuron: the ridge `weights` (as `neuron_fit.json` records them) applied to `feature_rows`."
    w = torch.tensor([weights[f] for f in FEATURES], dtype=torch.float64)
    return [x @ w + weights["bias"] for x in X]

def features(task:str, glue, S:dict) -> tuple:
    "`(per-layer [neurons, features] tensors, {score name: per-layer scores})` from one label-free pass over the task's scoring inputs."
    model, tok = load_encoder()
    rows = _subsample(_subsample(load_task(task, "train", glue), S["train_rows"].get(task), S["rows_seed"], "train_rows"),
                      S["score_rows"], S["rows_seed"], "score_rows")
    with neuron_stats(model) as st: score_heads(model, tok, task_texts(rows, task), progress=False, max_length=S["max_length"])
    return feature_rows(model, st), dict(wanda=neuron_scores(model, st, "wanda"), flap=neuron_scores(model, st, "flap"),
                   magnitude=neuron_scores(model, None, "magnitude"))

def ridge(X:torch.Tensor, y:torch.Tensor, lam:float=1.0) -> torch.Tensor:
    "Weights (bias last) of a ridge regression of `y` on `X`."
    A = torch.cat([X, torch.ones(len(X), 1, dtype=X.dtype)], 1)
    return torch.linalg.solve(A.T @ A + lam * torch.eye(A.shape[1], dtype=X.dtype), A.T @ y)

def spearman_layers(a:list, b:list) -> float:
    "Spearman's correlation within each layer, averaged over layers."
    rank = lambda x: x.argsort().argsort().double()
    return sum(torch.corrcoef(torch.stack([rank(x), rank(y)]))[0, 1].item() for x, y in zip(a, b)) / len(a)

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_glue_arg(ap)
    ap.add_argument("--results", default=str(RESULTS))
    ap.add_argument("--quick", action="store_true", help="two tasks on tiny slices, into a temporary folder")
    a = ap.parse_args(argv)
    torch.set_num_threads(2)
    S, tasks, res = (QUICK, ["rte", "mrpc"], Path(tempfile.mkdtemp())) if a.quick else (SETTINGS, TASKS, Path(a.results))
    data = {}
    for t in tasks:
        imp = label_importance(None, [t], a.glue, neurons=True, cache_dir=res / "glue_macs" / "importance", **importance_protocol(S, t))[t]
        X, base = features(t, a.glue, S)
        data[t] = (X, [_z(n.double().clamp_min(1e-12).log()) for n in imp["neuron_importance"]], base)
        log(f"{t}: features and importance read")
    out = dict(features=FEATURES, held_out={})
    for t in tasks:
        train = [u for u in tasks if u != t]
        w = ridge(torch.cat([x for u in train for x in data[u][0]]), torch.cat([y for u in train for y in data[u][1]]))
        weights = dict(zip(FEATURES + ["bias"], w.tolist()))
        X, y, base = data[t]
        fitted = fitted_scores(X, weights)
        out["held_out"][t] = dict(fitted=spearman_layers(fitted, y), **{k: spearman_layers(v, y) for k, v in base.items()},
                                  weights=weights)
        log(t, {k: round(v, 3) for k, v in out["held_out"][t].items() if k != "weights"})
    out["mean"] = {k: sum(v[k] for v in out["held_out"].values()) / len(tasks) for k in ("fitted", "wanda", "flap", "magnitude")}
    print(json.dumps(out["mean"], indent=1))
    if not a.quick: write_json(res / "neuron_fit.json", out)

if __name__ == "__main__":
    main()
