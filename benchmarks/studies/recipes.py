"""Pruner recipes compared by the fine-tuning proxy (benchmarks/studies/finetune_proxy.py), one table.

Usage: python benchmarks/studies/recipes.py            # proxy-score every recipe's 50% mask on the five tasks (resumes)
       python benchmarks/studies/recipes.py --report   # only rebuild the table from the cached proxy runs

A recipe is a way to choose the 50% mask of a task. The reference rows come from the committed GLUE table (their
masks, so their proxy runs are shared with the proxy's validation); the others are computed here:

- `objective (secants)`: the label-free SMP loss itself, read by secants on the task's own inputs (the per-task
  importances stored in the label-free pruner's card, pruner-similarity.json), top 6 heads of every layer, no scorer. If this row is no better
  than the packaged pruner's, the scorer is not what loses the points: the objective, at our settings, is.
- `objective, other tasks (secants)`: the mean of the other four tasks' secant importances: what a perfect scorer of
  our objective could know about a task it never saw, if heads mattered alike across tasks.
- `objective at the paper's settings (secants)`: the same secants (128 inputs of the task, 240 random masks, seed 0)
  read under meta-training's conditions, the paper's: half the layers left whole in each mask, representation
  dropout 0.8 (`secant_importance(whole_layers=0.5, repr_dropout=0.8)`). Computed here for the tasks in
  `--paper-tasks` (cached in results/recipes/); about 2-8 CPU minutes a task.

- `scorer fitted to gradient importance`: a recipe beyond the paper. The scorer is fitted (`fit_scorer`, the
  packaged pruner's settings: 600 Adam steps, stretch48 maps) to read the gradient importance of heads (Michel et
  al.; the table's cached scores, which needed labels and a fine-tuned model) from attention maps, on the five
  training tasks. Labels are used only while training the pruner; pruning a task stays one label-free pass over its
  inputs. With `--held-out`, one scorer per task is fitted on the other four and scores the task it never saw, the
  paper's setting. Scorers are cached in results/recipes/ (about 8 CPU minutes each).

The table (benchmarks/results/recipes.md, recipes.json) gives each recipe's proxy score per task, its mean, and,
where the recipe is in the GLUE table, its three-seed GLUE score.

Time: 19-60 s a proxy run; paper-setting secants 70-275 s a task; a fitted scorer 275-401 s (all cached); --report seconds.
"""
import argparse, json, statistics, sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/: common, train_pruner
import time
from common import add_glue_arg, RESULTS, ROOT, write_json, write_text
from finetune_proxy import Proxy, PROXY, TASKS, run_key, table_masks, table_scores
from smp_nb.cli import train_texts
from smp_nb.importance import fit_scorer, secant_importance
from smp_nb.models import load_encoder
from smp_nb.sampling import topk_mask
from train_pruner import SECANT  # the packaged pruners' fit settings

CARD = ROOT / "smp_nb" / "assets" / "pruner-similarity.json"  # the label-free pruner's card: its per-task secant importances
TABLE_ROWS = dict(unpruned="unpruned", smp_ours="packaged pruner (ours)", smp_authors="authors' base.bin",
                  importance="gradient importance (labels)", confidence="attention confidence", random="random (3 masks)")


def kept(scores) -> list:
    return [r.nonzero().flatten().tolist() for r in topk_mask(torch.as_tensor(scores, dtype=torch.float32), 0.5)]

def paper_secants(res: Path, glue: str, task: str, run: bool = True):
    "Secant importances of `task` at the paper's settings (cached), or None if not cached and `run` is False."
    path = res / "recipes" / f"secants_paper__{task}.json"
    if not path.is_file():
        if not run: return None
        model, tok = load_encoder()
        texts = train_texts([task], glue)[task]
        rows = [texts[i] for i in torch.randperm(len(texts), generator=torch.Generator().manual_seed(0))[:128].tolist()]
        t0 = time.perf_counter()
        imp = secant_importance(model, tok, rows, masks=240, ratio=0.5, max_length=128, seed=0, whole_layers=0.5,
                                repr_dropout=0.8, progress=False)
        write_json(path, dict(task=task, rows=128, masks=240, whole_layers=0.5, repr_dropout=0.8, seed=0,
                              seconds=round(time.perf_counter() - t0, 1), importance=imp.tolist()))
        print(f"paper-setting secants of {task}: {time.perf_counter() - t0:.0f} s", flush=True)
    return json.loads(path.read_text())["importance"]

def importance_scorer(res: Path, glue: str, tasks, run: bool = True):
    "A scorer fitted to the cached gradient importances of `tasks` (cached), or None if not cached and `run` is False."
    from smp_nb.scorer import load_scorer, save_scorer
    path = res / "recipes" / f"importance_scorer__{'-'.join(tasks)}.safetensors"
    if not path.is_file():
        if not run: return None
        model, tok = load_encoder()
        imp = {t: torch.tensor(json.loads((res / "glue" / "scores" / f"{t}__importance__s0.json").read_text())["scores"]) for t in tasks}
        F = SECANT
        r = fit_scorer(model, tok, train_texts(tasks, glue), imp, steps=F["steps"], lr=F["lr"], examples=F["examples"],
                       layers=F["layers"], fit=F["fit"], seed=F["seed"], progress=False)
        save_scorer(r.scorer, path, method="fit to gradient importance", tasks=list(tasks), steps=F["steps"], seconds=round(r.seconds, 1))
        print(f"importance scorer on {tasks}: {r.seconds:.0f} s", flush=True)
    return load_scorer(path)

def scorer_masks(res: Path, glue: str, task: str, scorer) -> list:
    "The 50% mask a scorer picks for `task` from the table's 2,000 label-free scoring inputs."
    from smp_nb.baselines import smp_scores
    from smp_nb.data import load_task, task_texts
    from smp_nb.finetune import _subsample
    model, tok = load_encoder()
    rows = _subsample(load_task(task, "train", glue), 2000, 0, "score_rows")
    return [kept(smp_scores(model, tok, task_texts(rows, task), pruner=scorer, max_length=128, progress=False))]

def recipe_masks(res: Path, glue: str = "", paper_tasks=(), run: bool = True, held_out: bool = False) -> dict:
    "{recipe: {task: [kept_heads, ...]}}"
    out = {}
    tm = table_masks(res / "glue")
    for m, label in TABLE_ROWS.items():
        out[label] = {t: tm[t, m] for t in TASKS if (t, m) in tm}
    imp = json.loads(CARD.read_text())["importance"]
    out["objective (secants, no scorer)"] = {t: [kept(imp[t])] for t in TASKS if t in imp}
    out["objective, other tasks (secants)"] = {
        t: [kept(torch.tensor([imp[o] for o in imp if o != t]).mean(0))] for t in TASKS if t in imp}
    paper = {t: paper_secants(res, glue, t, run) for t in paper_tasks}
    out["objective at the paper's settings (secants)"] = {t: [kept(v)] for t, v in paper.items() if v is not None}
    cache = res / "recipes" / "scorer_masks.json"
    masks = json.loads(cache.read_text()) if cache.is_file() else {}
    def through(label, tasks_for):
        row = {}
        for t in TASKS:
            key = f"{label}|{t}"
            if key not in masks:
                sc = importance_scorer(res, glue, tasks_for(t), run)
                if sc is None: continue
                masks[key] = scorer_masks(res, glue, t, sc)
                write_json(cache, masks)
            row[t] = masks[key]
        out[label] = row
    through("scorer fitted to gradient importance (all five tasks)", lambda t: TASKS)
    if held_out: through("scorer fitted to gradient importance (task held out)", lambda t: [o for o in TASKS if o != t])
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_glue_arg(ap)
    ap.add_argument("--results", default=str(RESULTS))
    ap.add_argument("--report", action="store_true")
    ap.add_argument("--held-out", action="store_true", help="also fit one importance scorer per held-out task")
    ap.add_argument("--paper-tasks", default="stsb,mrpc,cola", help="tasks whose paper-setting secants are computed")
    a = ap.parse_args(argv)
    torch.set_num_threads(2)
    res = Path(a.results)
    px = Proxy(res / "proxy", a.glue, PROXY)
    glue = {k: statistics.mean(v.values()) for k, v in table_scores(res / "glue").items()}
    rows = {}
    paper_tasks = [t for t in a.paper_tasks.split(",") if t]
    for label, masks in recipe_masks(res, a.glue, paper_tasks, run=not a.report, held_out=a.held_out).items():
        row = {}
        for t, ks in masks.items():
            have = all((px.folder / f"{run_key(t, k)}__s{s}.json").is_file()
                       for k in ks for s in PROXY["seeds"])
            if a.report and not have: continue
            row[t] = statistics.mean(px.score(t, k) for k in ks)
        rows[label] = row
    masks_of = recipe_masks(res, a.glue, paper_tasks, run=False, held_out=a.held_out)
    imp_masks = masks_of[TABLE_ROWS["importance"]]
    def overlap(label):
        "Mean number of the 36 kept heads shared with gradient importance's mask (18 expected by chance)."
        xs = [sum(len(set(a) & set(b)) for a, b in zip(k, imp_masks[t][0])) for t, ks in masks_of[label].items()
              for k in ks if k is not None and t in imp_masks]
        return f"{statistics.mean(xs):.1f}" if xs else "-"
    method_of = {v: k for k, v in TABLE_ROWS.items()}
    lines = ["# Pruner recipes, compared by the fine-tuning proxy", "",
             "Proxy score x 100 of each recipe's 50% mask (`benchmarks/studies/finetune_proxy.py`: "
             f"{PROXY['epochs']} epochs on a fixed subset of training rows ({', '.join(f'{t} {n:,}' for t, n in PROXY['train_rows'].items())}) "
             f"at lr {PROXY['lr']}, at most {PROXY['eval_rows']} dev rows); "
             "in brackets, the three-seed GLUE score where the recipe is in the GLUE table. Generated by `benchmarks/studies/recipes.py`.", "",
             "The last column: how many of the 36 heads a recipe keeps are also kept by gradient importance (which needs "
             "labels), averaged over tasks; 18 by chance.", "",
             "| recipe | " + " | ".join(TASKS) + " | mean | shared with importance |", "|---|" + "---:|" * (len(TASKS) + 2)]
    for label, row in rows.items():
        m = method_of.get(label)
        cells = [(f"{row[t]:.1f}" + (f" ({glue[t, m]:.1f})" if m and (t, m) in glue else "")) if t in row else "-" for t in TASKS]
        mean = f"{statistics.mean(row.values()):.1f}" if len(row) == len(TASKS) else "-"
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {mean} | {overlap(label)} |")
    write_json(res / "recipes.json", dict(proxy=PROXY | dict(seeds=list(PROXY["seeds"])), rows=rows))
    write_text(res / "recipes.md", "\n".join(lines) + "\n")
    print("\n".join(lines))

if __name__ == "__main__":
    main()
