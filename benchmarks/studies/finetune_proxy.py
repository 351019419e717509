"""A cheap stand-in for "GLUE score after fine-tuning" of a head mask, validated against the committed GLUE table.

Usage:
  python benchmarks/studies/finetune_proxy.py                 # validate: proxy-score every (task, method) mask of the table
  python benchmarks/studies/finetune_proxy.py --report        # only recompute the correlations from the committed proxy runs
  python benchmarks/studies/finetune_proxy.py --quick         # smoke test on tiny slices, into a temporary folder

Why: a full GLUE cell (3 epochs on the whole training split) costs 3.5-5.5 CPU minutes, too much for a search over
pruner recipes. The proxy fine-tunes the pruned MiniLM the same way (mean-pooled head, AdamW, linear decay, batches
grouped by length) but briefly: PROXY below (a fixed seeded subset of training rows, a higher learning rate, a
capped dev subset). Labels are used only here, to *evaluate* a mask; pruning stays label-free.

Validation: every mask of the 117-run table is re-scored by the proxy (the deterministic methods' one mask per task;
random's three masks, one per seed). The proxy score of a (task, method) cell is the mean over its masks (and proxy
seeds). We report Spearman's rank correlation between proxy and three-seed GLUE score across the 7 methods of each
task, and overall across all 35 cells after subtracting each task's unpruned score from both (so that the task's
scale does not count), next to the table's own noise ceiling: the same correlation between its seed-0 runs and the
mean of its seeds 1-2.

Each proxy run is one JSON file in benchmarks/results/proxy/ (written atomically; an existing file is skipped, so an
interrupted run resumes); the summary goes to benchmarks/results/finetune_proxy.json and a plot to finetune_proxy.png.

Time: 19-60 s a proxy run on a 2-core CPU; the validation (45 runs) about 30 minutes; --report seconds.
"""
import argparse, json, statistics, sys, tempfile, time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/: common
from common import add_glue_arg, encoder_keeping, log, RESULTS, save_png, write_json
from smp_nb.data import load_task
from smp_nb.finetune import finetune, _subsample

TASKS = ["stsb", "mrpc", "cola", "sst2", "rte"]
METHODS = ["unpruned", "smp_ours", "smp_authors", "random", "magnitude", "confidence", "importance"]
PROXY = dict(train_rows=dict(sst2=1000, cola=4000, mrpc=1000, rte=800, stsb=1000), epochs=2, batch_size=16, lr=1e-4, max_length=128, eval_rows=500, rows_seed=0,
             seeds=(0,), sampling="group_by_length")
QUICK = dict(PROXY, train_rows={t: 32 for t in TASKS}, epochs=1, eval_rows=32)




def table_masks(glue_dir: Path) -> dict:
    "{(task, method): [kept_heads or None, ...]}: the masks of the committed GLUE table (one per distinct mask)."
    out = {}
    for p in sorted(glue_dir.glob("*__r*__s*.json")):
        c = json.loads(p.read_text())
        if c["ratio"] not in (0.0, 0.5): continue
        key, kept = (c["task"], c["method"]), c.get("kept_heads")
        if kept not in out.setdefault(key, []): out[key].append(kept)
    return out

def table_scores(glue_dir: Path) -> dict:
    "{(task, method): {seed: GLUE score x 100}} of the committed table."
    out = {}
    for p in sorted(glue_dir.glob("*__r*__s*.json")):
        c = json.loads(p.read_text())
        if c["ratio"] in (0.0, 0.5): out.setdefault((c["task"], c["method"]), {})[c["seed"]] = 100 * c["main"]
    return out


def proxy_score(task: str, kept: list | None, glue, P: dict, seed: int) -> dict:
    "Fine-tune the offline MiniLM, pruned to `kept` heads per layer (None: unpruned), the proxy's way; its dev score."
    train = _subsample(load_task(task, "train", glue), P["train_rows"][task], P["rows_seed"], "train_rows")
    dev = _subsample(load_task(task, "dev", glue), P["eval_rows"], P["rows_seed"], "eval_rows")
    model, tok = encoder_keeping(kept)
    res = finetune(model, tok, task, train_data=train, eval_data=dev, epochs=P["epochs"], batch_size=P["batch_size"],
                   lr=P["lr"], max_length=P["max_length"], seed=seed, device="cpu",
                   train_sampling_strategy=P["sampling"])
    return dict(task=task, kept_heads=kept, seed=seed, main=100 * res["main"], metrics=res["metrics"],
                train_seconds=res["train_seconds"], eval_seconds=res["eval_seconds"],
                settings={k: (list(v) if isinstance(v, tuple) else v) for k, v in P.items()})


def run_key(task, kept):
    "A file-name-safe key of a mask: which heads each layer keeps."
    if kept is None: return f"{task}__full"
    return f"{task}__" + "-".join("".join(f"{h:x}" for h in k) or "_" for k in kept)


class Proxy:
    "Proxy runs cached in a folder, one JSON per (task, mask, seed)."
    def __init__(self, folder: Path, glue, P: dict = PROXY):
        self.folder, self.glue, self.P = Path(folder), glue, P

    def score(self, task, kept) -> float:
        "Mean proxy score of `kept` on `task` over the proxy seeds (runs the missing ones)."
        vals = []
        for s in self.P["seeds"]:
            path = self.folder / f"{run_key(task, kept)}__s{s}.json"
            if not path.is_file():
                t0 = time.perf_counter()
                r = proxy_score(task, kept, self.glue, self.P, s)
                write_json(path, r)
                log(f"proxy {path.stem}: {r['main']:.1f} ({time.perf_counter() - t0:.0f} s)")
            vals.append(json.loads(path.read_text())["main"])
        return statistics.mean(vals)


def spearman(a, b):
    from scipy.stats import spearmanr
    return float(spearmanr(a, b)[0])

def correlations(glue_means: dict, other: dict, tasks) -> dict:
    "Per-task Spearman across methods and overall across cells (scores relative to each task's unpruned)."
    per, xs, ys = {}, [], []
    for t in tasks:
        ms = [m for m in METHODS if (t, m) in glue_means and (t, m) in other]
        if len(ms) < 3: continue
        per[t] = spearman([glue_means[t, m] for m in ms], [other[t, m] for m in ms])
        for m in ms:
            xs.append(glue_means[t, m] - glue_means[t, "unpruned"]); ys.append(other[t, m] - other[t, "unpruned"])
    return dict(per_task=per, mean_per_task=statistics.mean(per.values()) if per else None,
                overall=spearman(xs, ys) if len(xs) > 2 else None, cells=len(xs))


def summarise(res: Path, proxy: Proxy, tasks, run=True) -> dict:
    glue = res / "glue"
    masks, scores = table_masks(glue), table_scores(glue)
    glue_means = {k: statistics.mean(v.values()) for k, v in scores.items()}
    proxy_means, seconds = {}, []
    for t in tasks:
        for m in METHODS:
            if (t, m) not in masks: continue
            if not run and not all((proxy.folder / f"{run_key(t, k)}__s{s}.json").is_file()
                                   for k in masks[t, m] for s in proxy.P["seeds"]): continue
            proxy_means[t, m] = statistics.mean(proxy.score(t, k) for k in masks[t, m])
    for p in proxy.folder.glob("*.json"):
        r = json.loads(p.read_text()); seconds.append(r["train_seconds"] + r["eval_seconds"])
    # the table's own noise ceiling: seed 0 alone against the mean of seeds 1 and 2
    s0 = {k: v[0] for k, v in scores.items() if 0 in v}
    s12 = {k: statistics.mean([v[s] for s in (1, 2) if s in v]) for k, v in scores.items() if 1 in v or 2 in v}
    full_seconds = [json.loads(p.read_text())["train_seconds"] for p in glue.glob("*__r*__s*.json")]
    out = dict(settings={k: (list(v) if isinstance(v, tuple) else v) for k, v in proxy.P.items()},
               proxy=correlations(glue_means, proxy_means, tasks),
               ceiling_seed0_vs_seeds12=correlations({k: s12[k] for k in s0 if k in s12}, s0, tasks),
               cells={f"{t}/{m}": dict(glue=round(glue_means[t, m], 2), proxy=round(v, 2)) for (t, m), v in proxy_means.items()},
               proxy_seconds_median=statistics.median(seconds) if seconds else None,
               full_train_seconds_median=statistics.median(full_seconds) if full_seconds else None)
    return out


def plot(summary: dict, path: Path):
    import matplotlib; matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, len(TASKS), figsize=(3.2 * len(TASKS), 3.2))
    for ax, t in zip(axes, TASKS):
        cs = {k.split("/")[1]: v for k, v in summary["cells"].items() if k.startswith(t + "/")}
        for m, v in cs.items():
            ax.scatter(v["proxy"], v["glue"], s=18); ax.annotate(m, (v["proxy"], v["glue"]), fontsize=6)
        r = summary["proxy"]["per_task"].get(t)
        ax.set_title(f"{t}: rho {r:.2f}" if r is not None else t, fontsize=9)
        ax.set_xlabel("proxy score", fontsize=8)
    axes[0].set_ylabel("GLUE score (3 seeds)", fontsize=8)
    fig.tight_layout()
    save_png(fig, path, dpi=110, tight=False)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_glue_arg(ap)
    ap.add_argument("--results", default=str(RESULTS))
    ap.add_argument("--tasks", default=",".join(TASKS))
    ap.add_argument("--report", action="store_true", help="only summarise the committed proxy runs")
    ap.add_argument("--quick", action="store_true", help="tiny slices, into a temporary folder")
    a = ap.parse_args(argv)
    torch.set_num_threads(2)
    tasks = a.tasks.split(",")
    res = Path(a.results)
    if a.quick:
        tmp = Path(tempfile.mkdtemp())
        px = Proxy(tmp / "proxy", a.glue, QUICK)
        print(json.dumps(summarise(res, px, tasks[:1]), indent=1)); return
    px = Proxy(res / "proxy", a.glue)
    s = summarise(res, px, tasks, run=not a.report)
    write_json(res / "finetune_proxy.json", s)
    plot(s, res / "finetune_proxy.png")
    print(json.dumps({k: s[k] for k in ("proxy", "ceiling_seed0_vs_seeds12", "proxy_seconds_median", "full_train_seconds_median")}, indent=1))

if __name__ == "__main__":
    main()
