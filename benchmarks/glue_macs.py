"""GLUE under a multiply-add budget: the offline MiniLM with heads AND feed-forward neurons removed before fine-tuning
to a fraction of its multiply-adds per token (default 50%), chosen by the packaged pruner and by baselines, fine-tuned
and scored on the dev sets of RTE, MRPC, STS-B, CoLA and SST-2 exactly as the GLUE table (glue_table.py) does.

Claim: pruning heads and neurons to a multiply-add budget (`budget_masks`, the same share of heads and neurons in every
  layer) keeps more of the fine-tuned score when the units are chosen by the packaged pruner and neuron estimator
  (`joint`, from unlabeled inputs) than at random or by weight magnitude: above both on the average and on at least
  4 of 5 tasks, with a GLUE average of at least 65.0 at 50% of the multiply-adds and 66.0 at 60% (unpruned 67.0), at
  about 1.9x the full model's inference speed at 50% (half the heads alone: 1.2-1.3x). Each report's "Targets"
  section says where the runs on disk stand; shown by the neurons page (08_neurons) and results/neurons.md.
Run:    python benchmarks/glue_macs.py                     (every task x method x seed; resumes where it stopped)
        python benchmarks/glue_macs.py --methods joint,random --seeds 0 --macs 0.5    (one seed of two methods first)
        python benchmarks/glue_macs.py --macs 0.6          (the other budget; its report is glue_macs_m60.md)
        python benchmarks/glue_macs.py --quick             (smoke test on tiny slices of RTE, into a temporary folder)
        python benchmarks/glue_macs.py --report            (only rewrite the Markdown from the JSON files; no model loaded)
Time:   a cell 2-3.5 minutes on a 2-core CPU at --macs 0.5 (recorded: fine-tuning 108-175 s; the joint scoring pass
  21-47 s, once per task, then cached; the rest loading and timing the inference speed): one seed of joint and random
  on the five tasks 28 minutes, the 45 cells of three methods about 2.5 hours; `importance` adds, once per task, a
  1-epoch fine-tuning and a gradient pass (about 1-3 minutes); --quick under a minute; --report seconds.
Writes: benchmarks/results/glue_macs/<task>__<method>__m<budget %>__s<seed>.json (one per cell, written atomically),
  glue_macs/scores/ (the seed-free unit scores, per task), benchmarks/results/glue_macs_m<budget %>.md (the tables
  and the targets) and .json (the summary pages read), and glue_macs.png (every budget on disk); into --results
  instead when given.

The protocol is the GLUE table's, imported from glue_table.py rather than restated: its `SETTINGS` (3 epochs, batch 32,
lr 5e-5, mean pooling, 128 tokens, batches grouped by length, SST-2 subsampled to 8,000 training rows, the scorers'
2,000 seeded training inputs, the whole dev set), its rows (`Bench.data`), its fine-tuning (`Bench.fit`) and its
record of speed, load and environment (`Bench.record`: throughput at batch 32 x 128 tokens and the inference speed
relative to the full MiniLM timed in turns in the same process). Each cell starts from a fresh offline MiniLM, scores
its heads and neurons, keeps with `budget_masks` the best `k` heads and `n` neurons of every layer that fit `--macs`
of the full model's multiply-adds per token at 128 tokens (`budget_counts`: 6 of 12 heads and 768 of 1,536 neurons
at 0.5), removes the others physically (`prune_heads`, `prune_neurons`), then fine-tunes. `macs` in a cell is measured
on the pruned model (`macs_per_token`, pruned over full).

Methods:
- `joint`: the package's default, as `smp prune --macs` runs it: the packaged head pruner and the default neuron
  estimator (Wanda) from one `score_units` pass over the task's 2,000 training inputs (labels never read);
- `random`: random heads (`baselines.random_scores`) and random neurons (`neuron_scores(..., "random")`), both seeded
  by the cell's seed;
- `magnitude`: weights only: heads by `baselines.magnitude_scores`, neurons by `neurons.magnitude_scores`.
- `importance`: the label-based reference: `label_importance(..., neurons=True)` with the GLUE table's
  `importance_protocol` (a fresh MiniLM fine-tuned for 1 epoch on the cell's training rows, then |d loss / d gate| of
  every head and every feed-forward neuron on the same 2,000 inputs, with their labels).
- `flap_comp` (asked for by name, not in the default list): `joint`'s heads, and neurons by FLAP's fluctuation score
  with its bias compensation (`prune_to_macs(..., neuron_method="flap", compensate=True)`): the best variant of
  `studies/neuron_proxy.py` on the fine-tuning proxy, checked here with full fine-tuning.
- `fitted` (asked for by name, not in the default list): `joint`'s heads, and neurons by the learned score of
  `studies/neuron_fit.py` (a ridge regression from label-free features to label-based importance), with the weights
  fitted on the other four tasks (`neuron_fit.json`'s `held_out`), so that no cell sees its own task's labels.
- `unpruned` (asked for by name, not in the default list): nothing removed, the same protocol on the same machine, so
  that the pruned cells' fine-tuning time has a reference measured on the same machine (cells `*__unpruned__m100__s*`,
  shown in every budget's report).
For every method but `random` the seed is the fine-tuning's alone (their scores are computed once per task).
"""
import argparse, json, os, statistics, sys, tempfile, time, traceback
from pathlib import Path

import torch

from common import RESULTS, add_glue_arg, check_glue, log, save_png, write_json, write_text
from glue_table import Bench, QUICK, SETTINGS, importance_protocol
from smp_nb.baselines import magnitude_scores as head_magnitude, random_scores
from smp_nb.data import get_task
from smp_nb.importance import label_importance
from smp_nb.models import head_grid, heads_per_layer, load_encoder, neurons_per_layer
from smp_nb.neurons import budget_masks, compensate_bias, neuron_scores, prune_neurons, score_units
from smp_nb.prune import macs_per_token, prune_heads

sys.path.insert(0, str(Path(__file__).resolve().parent / "studies"))
from neuron_fit import feature_rows, fitted_scores   # the learned neuron score the `fitted` method tries

TASKS = ["rte", "mrpc", "stsb", "cola", "sst2"]  # small tasks first
METHODS = ["joint", "random", "magnitude", "importance"]
EXTRA = ["flap_comp", "fitted"]  # asked for by name; shown in the reports when cells exist, never counted as missing
BASELINES = ["random", "magnitude"]  # what the targets compare `joint` with
SEEDS = (0, 1, 2)
LABELS = dict(joint="joint (packaged pruner + Wanda neurons)", random="random heads and neurons",
              magnitude="weight magnitude (heads and neurons)", importance="label-based importance (heads and neurons)",
              flap_comp="joint heads + FLAP neurons, bias compensated", fitted="joint heads + learned neuron score (fitted on the other tasks)")
SEQ_LEN = 128  # the length the budget's multiply-adds are counted at (attention's share grows with it)


class MacsBench(Bench):
    "The GLUE table's bench (rows, fine-tuning, record) with cells that prune heads and neurons to a multiply-add budget."
    def __init__(self, a):  # only what `Bench.data`, `settings`, `fit`, `record` and `speedup` read
        self.a, self.glue, self.device, self.macs = a, a.glue, a.device, a.macs
        self.S = QUICK if a.quick else SETTINGS
        self.res = Path(a.results)
        self.cells_dir = self.res / "glue_macs"
        self.scores_dir = self.cells_dir / "scores"
        self._data = {}

    def budget(self, method) -> float:
        "The budget a cell of `method` prunes to: `--macs`, or 1 (nothing removed) for `unpruned`."
        return 1.0 if method == "unpruned" else self.macs

    def cell_path(self, task, method, seed):
        return self.cells_dir / f"{task}__{method}__m{int(round(self.budget(method) * 100))}__s{seed}.json"

    def cells(self, tasks, methods, seeds):
        "Seed by seed, task by task (in `tasks`' order), the methods alternating within each task."
        return [(t, m, s) for s in seeds for t in tasks for m in methods]

    def unit_scores(self, task, method, seed) -> tuple:
        "`(head scores [layers, heads], neuron scores per layer, seconds they took, whether read from the cache)`; joint and magnitude cached per task."
        path = self.scores_dir / f"{task}__{method}.json"
        if method not in ("random", "unpruned") and path.is_file():
            c = json.loads(path.read_text())
            return torch.tensor(c["heads"]), [torch.tensor(n) for n in c["neurons"]], c["score_seconds"], True
        t0, extra = time.perf_counter(), {}
        model, tok = load_encoder()
        model.to(self.device)
        if method == "joint":
            hs, ns = score_units(model, tok, self.data(task)[2], None, "wanda", max_length=self.S["max_length"], device=self.device,
                                 progress=False)
        elif method == "random": hs, ns = random_scores(*head_grid(model), seed=seed), neuron_scores(model, None, "random", seed)
        elif method == "magnitude": hs, ns = head_magnitude(model), neuron_scores(model, None, "magnitude")
        elif method == "flap_comp":   # joint's heads; FLAP's neuron scores, and its bias compensation at removal (run_cell)
            hs, ns, st = score_units(model, tok, self.data(task)[2], None, "flap", max_length=self.S["max_length"], device=self.device,
                                     progress=False, return_stats=True)
            extra = dict(means=[m.tolist() for m in st.mean])
        elif method == "fitted":   # joint's heads; the learned neuron score with weights fitted without this task
            fit = json.loads((self.res / "neuron_fit.json").read_text())["held_out"][task]["weights"]
            hs, _, st = score_units(model, tok, self.data(task)[2], None, "wanda", max_length=self.S["max_length"], device=self.device,
                                    progress=False, return_stats=True)
            ns = [n.float() for n in fitted_scores(feature_rows(model, st), fit)]
        elif method == "unpruned": hs, ns = torch.ones(*head_grid(model)), [torch.ones(n) for n in neurons_per_layer(model)]
        elif method == "importance":
            r = label_importance(None, [task], self.glue, device=self.device, neurons=True, cache_dir=self.cells_dir / "importance",
                                 **importance_protocol(self.S, task))[task]   # the cache: also studies/neuron_fit.py's targets
            hs, ns = r["importance"], r["neuron_importance"]
        else: raise ValueError(method)
        sec = time.perf_counter() - t0
        if method not in ("random", "unpruned"):
            write_json(path, dict(task=task, method=method, score_rows=len(self.data(task)[2]), score_seconds=sec,
                                  heads=hs.tolist(), neurons=[n.tolist() for n in ns], **extra), indent=None)
        return hs, ns, sec, False

    def run_cell(self, task, method, seed) -> bool:
        path = self.cell_path(task, method, seed)
        if path.is_file(): return False
        log(f"run  {path.stem}")
        load0 = os.getloadavg()[0]
        self.data(task)
        hs, ns, score_sec, cached = self.unit_scores(task, method, seed)
        model, tok = load_encoder()
        full = macs_per_token(model, SEQ_LEN)
        head_mask, keep = budget_masks(model, hs, ns, self.budget(method), SEQ_LEN)
        if method == "flap_comp":   # the removed neurons' mean outputs folded into the output biases first
            means = json.loads((self.scores_dir / f"{task}__{method}.json").read_text())["means"]
            compensate_bias(model, keep, [torch.tensor(m, dtype=torch.float64) for m in means])
        prune_neurons(prune_heads(model, head_mask), keep)
        kept = dict(macs=macs_per_token(model, SEQ_LEN) / full, heads=heads_per_layer(model), neurons=neurons_per_layer(model))
        res = self.fit(model, tok, task, seed)
        out = {k: v for k, v in res.items() if k != "model"}
        out.update(method=method, budget=self.budget(method), **kept, seq_len=SEQ_LEN, score_seconds=score_sec, scores_cached=cached)
        out.update(self.record(res["model"].encoder, task, load0))
        out.update(kept_heads=[r.nonzero().flatten().tolist() for r in head_mask], kept_neurons=[k.tolist() for k in keep])
        write_json(path, out)
        log(f"done {path.stem}: main {res['main']:.4f}, macs {kept['macs']:.3f}, {res['train_seconds']:.0f} s fine-tuning, "
            f"{score_sec:.0f} s scoring, {out['inference_speedup']:.2f}x the full model's inference speed")
        return True

    def run(self, cells, tasks, methods, seeds):
        for c in cells:
            try:
                if self.run_cell(*c): report(self.res, self.macs, tasks)
            except KeyboardInterrupt: raise
            except Exception:
                log(f"FAILED {self.cell_path(*c).stem}:"); traceback.print_exc()
                if self.a.quick: raise


def report_path(res_dir, macs) -> Path:
    "Where the report of budget `macs` goes: one Markdown file per budget."
    return Path(res_dir) / f"glue_macs_m{int(round(macs * 100))}.md"

def _fmt(xs) -> str:
    "Mean x 100 (and std over seeds when several), with the seeds counted."
    m = 100 * statistics.mean(xs)
    return f"{m:.1f} ± {100 * statistics.stdev(xs):.1f} (n={len(xs)})" if len(xs) > 1 else f"{m:.1f} (n=1)"

def report(res_dir, macs, tasks=TASKS, methods=METHODS, seeds=SEEDS):
    """Write glue_macs_m<budget %>.md from the JSON files alone: per method the average over tasks, per task the mean over every seed
    on disk; PARTIAL while a cell of `tasks` x `methods` (every method of the protocol, unless told) x (`seeds` and the
    seeds on disk) is missing."""
    res_dir = Path(res_dir)
    r = int(round(macs * 100))
    cells = [json.loads(p.read_text()) for p in sorted((res_dir / "glue_macs").glob(f"*__m{r}__s*.json"))]
    seeds = sorted(set(seeds) | {c["seed"] for c in cells})
    by = lambda t, m, k="main": [c[k] for c in cells if c["task"] == t and c["method"] == m]
    missing = [f"{t}__{m}__m{r}__s{s}" for s in seeds for t in tasks for m in methods
               if not any(c["task"] == t and c["method"] == m and c["seed"] == s for c in cells)]
    status = f"PARTIAL: {len(missing)} of {len(tasks) * len(methods) * len(seeds)} cells missing" if missing else "complete"
    methods = methods + [m for m in EXTRA if m not in methods and any(c["method"] == m for c in cells)]  # tried, outside the protocol
    unp = [json.loads(p.read_text()) for p in sorted((RESULTS / "glue").glob("*__unpruned__r0__s*.json"))] if res_dir == RESULTS else []
    here = [json.loads(p.read_text()) for p in sorted((res_dir / "glue_macs").glob("*__unpruned__m100__s*.json"))]
    lines = [f"# GLUE dev, MiniLM pruned to {r}% of its multiply-adds (heads and neurons)", "",
             f"**{status}** (seeds {', '.join(map(str, seeds))}; tasks {', '.join(get_task(t).folder for t in tasks)}).", "",
             "Written by `benchmarks/glue_macs.py` (see its docstring for the protocol: the GLUE table's, with heads and "
             "feed-forward neurons removed before fine-tuning, the same share in every layer). Scores x 100: mean ± std "
             "over seeds, n = seeds counted. The average is over tasks of the per-task means; \"partial\" when a task "
             "has no cell yet. macs: the multiply-adds per token at 128 tokens kept, measured on the pruned model. "
             "Inference speed (median over cells): throughput relative to the full MiniLM at batch 32 x 128 tokens, timed in turns in the "
             "same process; fine-tuning s: median over cells. A cell whose load average (at its start or end) is well above 2 shared the CPU "
             "with other work: its times (not its score) are disturbed.", ""]
    head = ["method", *[get_task(t).folder for t in tasks], "average", "macs kept", "inference speed", "fine-tuning s"]
    lines += ["| " + " | ".join(head) + " |", "|---|" + "---:|" * (len(head) - 1)]
    for m in methods:
        per = [by(t, m) for t in tasks]
        done = [statistics.mean(x) for x in per if x]
        avg = "-" if not done else f"{100 * statistics.mean(done):.1f}" + ("" if all(per) else f" (partial, {len(done)} tasks)")
        mk, sp, ts = [x for t in tasks for x in by(t, m, "macs")], [x for t in tasks for x in by(t, m, "inference_speedup")], \
                     [x for t in tasks for x in by(t, m, "train_seconds")]
        lines.append("| " + " | ".join([LABELS.get(m, m), *[_fmt(x) if x else "-" for x in per], avg,
                                        f"{statistics.mean(mk):.3f}" if mk else "-", f"{statistics.median(sp):.2f}x" if sp else "-",
                                        f"{statistics.median(ts):.0f}" if ts else "-"]) + " |")
    if unp:
        per = [[c["main"] for c in unp if c["task"] == t and c["seed"] in seeds] for t in tasks]
        avg = f"{100 * statistics.mean(statistics.mean(x) for x in per):.1f}" if all(per) else "-"
        lines.append("| unpruned (the GLUE table's runs) | " + " | ".join(_fmt(x) if x else "-" for x in per) + f" | {avg} | 1.000 | 1.00x | |")
    if here:  # the same protocol on the same machine: the fine-tuning time the pruned cells compare with
        per = [[c["main"] for c in here if c["task"] == t] for t in tasks]
        avg = f"{100 * statistics.mean(statistics.mean(x) for x in per):.1f}" if all(per) else "-"
        lines.append("| unpruned (`--methods unpruned`, same machine) | " + " | ".join(_fmt(x) if x else "-" for x in per) +
                     f" | {avg} | 1.000 | {statistics.mean(c['inference_speedup'] for c in here):.2f}x | "
                     f"{statistics.mean(c['train_seconds'] for c in here):.0f} |")
    lines += ["", "## Every cell", "", "| task | method | seed | main | macs | heads per layer | neurons per layer | "
              "fine-tuning s | scoring s | inference speed | load average (start, end) |", "|---|---|---:|---:|---:|---|---|---:|---:|---:|---|"]
    order = {t: i for i, t in enumerate(TASKS)}
    for c in sorted(cells, key=lambda c: (c["seed"], order.get(c["task"], 9), c["method"])):
        lines.append(f"| {get_task(c['task']).folder} | {c['method']} | {c['seed']} | {100 * c['main']:.1f} | {c['macs']:.3f} | "
                     f"{c['heads']} | {c['neurons']} | {c['train_seconds']:.0f} | {c['score_seconds']:.0f}"
                     f"{' (cached)' if c.get('scores_cached') else ''} | {c['inference_speedup']:.2f}x | "
                     f"{c['load_average'][0]:.1f}, {c['load_average'][1]:.1f} |")
    if missing: lines += ["", f"Cells still to run ({len(missing)}): " + ", ".join(f"`{x}`" for x in missing) + "."]
    summary = summarize(cells, tasks, methods, unp, macs, status)
    summary["finetune_time"] = finetune_time(cells, here)
    lines[6:6] = target_lines(summary)
    write_text(report_path(res_dir, macs), "\n".join(lines) + "\n")
    write_json(report_path(res_dir, macs).with_suffix(".json"), summary)
    plot(res_dir)

TARGETS = {50: 65.0, 60: 66.0}  # the GLUE average targets at these budgets (unpruned 67.0)

def _paired(cells, task, a, b) -> tuple|None:
    "`(mean of a, mean of b, seeds)` over the seeds both methods ran on `task`; None if none."
    got = {m: {c["seed"]: c["main"] for c in cells if c["task"] == task and c["method"] == m} for m in (a, b)}
    common = sorted(set(got[a]) & set(got[b]))
    return (statistics.mean(got[a][s] for s in common), statistics.mean(got[b][s] for s in common), common) if common else None

def summarize(cells, tasks, methods, unp, macs, status) -> dict:
    "Per method and task: mean, std and seeds; the average over tasks; and the joint method against each other method, seed-paired."
    out = dict(macs=macs, status=status, tasks=tasks, methods={}, comparisons={})
    for m in methods:
        per = {t: sorted((c["seed"], c["main"]) for c in cells if c["task"] == t and c["method"] == m) for t in tasks}
        out["methods"][m] = dict(label=LABELS.get(m, m), per_task={t: dict(mean=statistics.mean(v for _, v in x), seeds=[s for s, _ in x])
                                                                   for t, x in per.items() if x},
                                 speedup=[c["inference_speedup"] for c in cells if c["method"] == m])
        pt = out["methods"][m]["per_task"]
        out["methods"][m]["average"] = statistics.mean(v["mean"] for v in pt.values()) if len(pt) == len(tasks) else None
    if unp:
        per = {t: [c["main"] for c in unp if c["task"] == t] for t in tasks}
        out["unpruned"] = dict(per_task={t: statistics.mean(x) for t, x in per.items() if x},
                               average=statistics.mean(statistics.mean(x) for x in per.values()) if all(per.values()) else None)
    for b in (m for m in methods if m != "joint"):
        pairs = {t: _paired(cells, t, "joint", b) for t in tasks}
        if all(pairs.values()):
            out["comparisons"][b] = dict(joint=statistics.mean(p[0] for p in pairs.values()), other=statistics.mean(p[1] for p in pairs.values()),
                                         tasks_joint_higher=sum(p[0] > p[1] for p in pairs.values()), seeds={t: p[2] for t, p in pairs.items()})
    return out

def finetune_time(cells, here) -> dict:
    "Per method, its fine-tuning seconds against the unpruned model's on the same machine, on the (task, seed) pairs both ran."
    ref = {(c["task"], c["seed"]): c["train_seconds"] for c in here}
    out = {}
    for m in sorted({c["method"] for c in cells}):
        pairs = [(c["train_seconds"], ref[c["task"], c["seed"]]) for c in cells if c["method"] == m and (c["task"], c["seed"]) in ref]
        if pairs: out[m] = dict(seconds=sum(a for a, _ in pairs), unpruned_seconds=sum(b for _, b in pairs), cells=len(pairs))
    return out

def target_lines(summary) -> list:
    "The issue's targets at this budget, read from `summary`: the GLUE average, and the joint method against the baselines."
    r, j = int(round(summary["macs"] * 100)), summary["methods"].get("joint", {})
    out = ["## Targets", ""]
    if r in TARGETS and j.get("average") is not None:
        out.append(f"- GLUE average of `joint` >= {TARGETS[r]:.1f}: {100 * j['average']:.1f} "
                   f"({'met' if 100 * j['average'] >= TARGETS[r] else 'NOT met'}; over the seeds on disk).")
    for b, c in summary["comparisons"].items():
        verdict = ("above on the average and on at least 4 tasks" if c["joint"] > c["other"] and c["tasks_joint_higher"] >= 4
                   else "NOT above on the average and on 4 tasks") if b in BASELINES else "a reference, no target"
        out.append(f"- `joint` against `{b}` on the seeds both ran: average {100 * c['joint']:.1f} against {100 * c['other']:.1f}, "
                   f"higher on {c['tasks_joint_higher']} of {len(summary['tasks'])} tasks ({verdict}).")
    for m, f in summary.get("finetune_time", {}).items():
        out.append(f"- Fine-tuning time of `{m}` against the unpruned model's on the same {f['cells']} (task, seed) cells, "
                   f"same machine: {f['seconds']:.0f} s against {f['unpruned_seconds']:.0f} s "
                   f"({f['unpruned_seconds'] / f['seconds']:.2f}x as fast).")
    return out + [""] if len(out) > 2 else []

def plot(res_dir):
    "glue_macs.png: per budget on disk, each method's score per task and its average (mean over seeds), unpruned marked."
    import matplotlib; matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    sums = [json.loads(p.read_text()) for p in sorted(Path(res_dir).glob("glue_macs_m*.json"))]
    if not sums: return
    fig, axs = plt.subplots(1, len(sums), figsize=(6.5 * len(sums), 3.8), squeeze=False)
    for ax, sm in zip(axs[0], sums):
        ms = [m for m, v in sm["methods"].items() if v["per_task"]]
        cols = sm["tasks"] + ["average"]
        for i, m in enumerate(ms):
            v = sm["methods"][m]
            ys = [100 * v["per_task"][t]["mean"] if t in v["per_task"] else float("nan") for t in sm["tasks"]]
            ys.append(100 * v["average"] if v["average"] is not None else float("nan"))
            ax.bar([k + (i - (len(ms) - 1) / 2) * 0.8 / len(ms) for k in range(len(cols))], ys, 0.8 / len(ms), label=v["label"])
        if sm.get("unpruned"):
            u = sm["unpruned"]; ys = [100 * u["per_task"].get(t, float("nan")) for t in sm["tasks"]] + [100 * (u["average"] or float("nan"))]
            ax.scatter(range(len(cols)), ys, marker="_", s=400, color="black", zorder=3, label="unpruned (GLUE table)")
        ax.set_xticks(range(len(cols)), [get_task(t).folder if t != "average" else "average" for t in cols])
        ax.set_ylabel("dev score x 100"); ax.set_ylim(0, 100)
        ax.set_title(f"{sm['macs']:.0%} of the multiply-adds" + ("" if sm["status"] == "complete" else " (PARTIAL)"), fontsize=10)
    handles, labels = axs[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=3, fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.12, 1, 1)); save_png(fig, Path(res_dir) / "glue_macs.png", dpi=110); plt.close(fig)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    add_glue_arg(ap)
    ap.add_argument("--results", default=None, help="results folder (default: benchmarks/results; --quick: a temporary folder)")
    ap.add_argument("--tasks", default=",".join(TASKS), help="comma-separated, run in this order")
    ap.add_argument("--methods", default=",".join(METHODS), help=f"comma-separated, from {METHODS}; alternate within each task")
    ap.add_argument("--seeds", default=",".join(map(str, SEEDS)), help="comma-separated seeds, e.g. 0 or 0,1,2")
    ap.add_argument("--macs", type=float, default=0.5, help="fraction of the full model's multiply-adds per token kept (0, 1]")
    ap.add_argument("--quick", action="store_true", help="smoke test: the GLUE table's quick slices, seed 0, RTE unless --tasks")
    ap.add_argument("--report", action="store_true", help="only rewrite glue_macs_m<budget %>.md from the JSON files")
    ap.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
    a = ap.parse_args()
    try: seeds = sorted({int(x) for x in a.seeds.split(",") if x.strip()})
    except ValueError: sys.exit(f"glue_macs: --seeds takes comma-separated integers such as 0 or 0,1,2, not {a.seeds!r}.")
    if not 0 < a.macs <= 1: sys.exit(f"glue_macs: --macs {a.macs} must be in (0, 1], e.g. 0.5.")
    if a.quick and "--tasks" not in sys.argv: a.tasks = "rte"
    if a.quick and "--seeds" not in sys.argv: seeds = [0]
    if a.results is None: a.results = tempfile.mkdtemp(prefix="glue-macs-quick-") if a.quick else str(RESULTS)
    if a.quick and Path(a.results).resolve() == RESULTS.resolve():
        sys.exit("glue_macs: --quick results are not the benchmark's: give --results a scratch folder (or leave it out).")
    tasks = [get_task(t).name for t in a.tasks.split(",") if t.strip()]
    methods = [m.strip() for m in a.methods.split(",") if m.strip()]
    bad = [m for m in methods if m not in METHODS + EXTRA + ["unpruned"]]
    if bad: sys.exit(f"glue_macs: unknown method(s) {bad}: choose from {METHODS + EXTRA} (or unpruned: the reference on the same machine).")
    if a.report:
        report(Path(a.results), a.macs, tasks); log(f"report: {report_path(a.results, a.macs)}"); return
    check_glue(a.glue, "glue_macs")
    if a.device is None: a.device = "cuda" if torch.cuda.is_available() else "cpu"
    import datasets, transformers
    torch.set_num_threads(os.cpu_count())
    transformers.utils.logging.set_verbosity_error(); transformers.utils.logging.disable_progress_bar()
    datasets.disable_progress_bars()
    bench = MacsBench(a)
    bench.cells_dir.mkdir(parents=True, exist_ok=True)
    log(f"results in {bench.cells_dir}" + (" (quick smoke test)" if a.quick else "") + f"; budget {a.macs:.0%} of the multiply-adds")
    bench.run(bench.cells(tasks, methods, seeds), tasks, methods, seeds)
    report(Path(a.results), a.macs, tasks)
    log(f"report: {report_path(a.results, a.macs)}")

if __name__ == "__main__": main()
