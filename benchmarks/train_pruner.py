"""Train the pruner shipped with smp-nb: the offline MiniLM on the train splits of five GLUE tasks, on a CPU.

Claim: this script makes the two packaged pruners, `smp_nb/assets/pruner.safetensors` (the default, fitted to
  gradient importance; GLUE 67.25 at 50% heads in the table of glue_table.py) and `pruner-similarity.safetensors`
  (the paper's label-free objective read by secants). Shown by the scorer and meta-training pages and the tutorials
  "train your own pruner" and "reproduce the GLUE table".
Run:    python benchmarks/train_pruner.py --method importance --threads 2     # the packaged default (bit for bit on its CPU type)
        python benchmarks/train_pruner.py --method importance --held-out cola --out DIR   # the same, CoLA never seen
        python benchmarks/train_pruner.py --method secant --importance-from smp_nb/assets/pruner-similarity.json
Time:   on the project's 2-core CPU (recorded): the default 17.0 minutes with the committed importances (three fits of
  about 5.6 minutes), 32.5 minutes computing them too (15.5 minutes of fine-tuning); --method secant 34 minutes of
  secants and 7.5 of fitting (only the fit with --importance-from); --method meta 43.7 minutes.
Writes: NAME.safetensors, its card NAME.json and NAME-history.json into --out (NAME: pruner for --method importance,
  the packaged default; pruner-similarity for the label-free objective), and the loss plot into
  benchmarks/results/NAME_loss.png (into --out when --out is not the package's assets folder).

Options: [--glue DIR] [--method importance|secant|meta] [--out smp_nb/assets] and those below. GLUE is read by the
package's loader (`load_task`: $SMP_DATA/glue when SMP_DATA is set, else the Hub) unless --glue names a folder.

--method importance (the packaged pruner): three scorers fitted to the gradient importance of heads (Michel et al.),
their scores averaged; labels used while training the pruner only; pruning a task stays one label-free pass.
- `label_importance`: for each task, the offline MiniLM fine-tuned for 3 epochs (batch 32, lr 5e-5, 128 tokens,
  seed 0; SST-2 on a fixed 8,000 of its rows, the others on all of them: the GLUE table's fine-tuning), then
  |d loss / d gate| on 2,000 of those rows. The readings are committed in benchmarks/results/importance_epochs3/s0/
  (15.5 CPU minutes for the five tasks; an interrupted run resumes task by task), so a rerun only fits (17 minutes
  for the three fits on this project's 2-core CPU).
- A fit is deterministic on one kind of CPU at one thread count (the card records `cpu` and `threads`); on another
  kind of CPU its sums round differently and the 600 steps end at another scorer (benchmarks/results/pruners.md).
- `--importance-epochs 1 --fit-seeds 0` is the recipe packaged earlier (GLUE 65.7; benchmarks/results/pruners.md):
  1 epoch, the protocol of the GLUE table's importance baseline. `--importance-from-glue DIR` reads those 1-epoch
  readings from that table's cache (DIR/<task>__importance__s0.json), as that pruner was made; computed ones are
  cached in benchmarks/runs/importance/ and compared with the table's where it has them.
- `--importance-seeds 0,1,2` repeats that protocol with each seed (the seed also draws the SST-2 rows and the 2,000
  scored rows) and fits the average of each task's readings, each standardised within its layers (`mean_importance`).
  Seed 0 comes from the GLUE table's cache with `--importance-from-glue`; the other seeds' readings are cached in
  benchmarks/results/importance_seeds/s<N>/<task>.json (committed: an interrupted run resumes task by task).
- `--fit-seeds 0,1,2` (the default; `--fit-seeds 0` or `--seed N` fits once, the recipe packaged before) fits the
  scorer once per seed and saves the fits as one pruner whose scores are their mean
  (`fit_ensemble`, `ScorerEnsemble`): the recipe without its fit-seed draw. Each fit is kept in OUT/fits/ as it
  finishes (benchmarks/runs/pruner-fits/ when OUT is the package's assets), so an interrupted run resumes fit by
  fit (about 6 min a fit).
- `--held-out TASK` fits on the other four tasks only: the paper's setting, a pruner that never saw TASK.
  benchmarks/results/importance_epochs3/ensemble3/fit/ holds the five held-out three-fit pruners under the names
  glue_table.py reads (importance_scorer__<tasks>.safetensors); importance_epochs3/fit/ the single fits (seed 0).
- `fit_scorer` as for secants (600 Adam steps at lr 1e-3, stretch48 maps, 16 inputs, 3 layers; fit seeds 0, 1, 2), the tasks
  in turn in the order STS-B, MRPC, CoLA, SST-2, RTE.
- The same recipe is `smp-train --objective importance --tasks stsb,mrpc,cola,sst2,rte --finetune-rows sst2=8000
  --fit-seeds 0,1,2` (its default --importance-epochs is 3 too; its default --fit-seeds is one fit).

--method secant (the packaged label-free pruner, pruner-similarity): the SMP loss read by secants, then a scorer fitted to it.
- `secant_importance` on 128 random training inputs of each task: the loss of 240 random 50% masks (every layer
  pruned, no representation dropout: how the pruner is used), ridge regression of the log loss on the mask bits.
- `fit_scorer`: a fresh scorer with maps stretched to a 48 x 48 corner (`fit="stretch48"`, which scores several
  times faster than stretching to the whole 128 x 128) fitted to those importances, 600 Adam steps at lr 1e-3, one
  task per step in turn, 16 random training inputs per step, 3 random layers.
- `--importance-from CARD` skips the secants and refits from the importances stored in an earlier pruner's card
  (its secant settings and timings are carried over; cards store importances to 5 decimals); only the fit runs.
- Why: within 60 CPU minutes, meta-training with either estimator (straight-through, the paper's, or score-function)
  gave scorers that did not beat an untrained one on every task (benchmarks/results/pruners.md); the secant reading
  of the same objective did, and a stretched-map scorer carries it from task to task.

--method meta: the paper's meta-learning loop (`meta_train`), resumable from --ckpt, with:
- batch 32, accumulation 2: one micro-step of MiniLM with maps, scorer and gated backward takes about 2-4 s on
  2 CPU cores, so 60 minutes buy roughly 600-900 micro-batches; smaller optimizer steps, more of them.
- score_examples 16: heads are scored on 16 of the 32 examples (the scorer's convolutions dominate the step).
- lr 0.1 (5x the authors' 2e-2): 450 steps instead of 6000-8000, with clipping at 1.0 bounding each update.
  (The authors: batch 60 x 8, 6000-8000 steps, lr 2e-2, on GPUs.)
"""
import argparse, json, os, sys, time
from pathlib import Path

import torch

from common import add_glue_arg, check_glue, cpu_model, RESULTS, ROOT, save_png, write_json
from smp_nb.checks import check_number
from smp_nb.cli import parse_seeds, train_texts
from smp_nb.data import get_task
from smp_nb.gating import fit_canvas
from smp_nb.importance import fit_ensemble, fit_scorer, label_importance, mean_importance, secant_importance
from smp_nb.meta import meta_train, plot_history
from smp_nb.models import load_encoder, OFFLINE_ENCODER
from smp_nb.scorer import save_scorer

TASKS = ["sst2", "cola", "mrpc", "stsb", "rte"]
IMPORTANCE_TASKS = ["stsb", "mrpc", "cola", "sst2", "rte"]  # the order fit_scorer takes them in for --method importance
IMPORTANCE = dict(finetune_rows=dict(sst2=8000), score_rows=2000, epochs=3, batch_size=32, lr=5e-5)
GLUE_IMPORTANCE_EPOCHS = 1  # the GLUE table's importance baseline fine-tunes 1 epoch before reading gradients
PACKAGED_FIT_SEEDS = [0, 1, 2]  # the packaged pruner: three fits, their scores averaged
META = dict(steps=450, batch_size=32, accumulation=2, lr=0.1, optimizer="sgd", score_examples=16, seed=0, max_length=128,
            estimator="straight-through", samples=4, fit="pad")
SECANT = dict(rows=128, masks=240, ratio=0.5, steps=600, lr=1e-3, examples=16, layers=3, fit="stretch48", seed=0, max_length=128)
SECANT_KEYS = ("rows", "masks", "ratio", "seed", "max_length")  # what the stored importances depend on

def run_meta(a, model, tok, texts):
    settings = dict(META, **{k: v for k, v in vars(a).items() if k in META and v is not None})
    res = meta_train(model, tok, texts, ckpt_dir=a.ckpt, ckpt_every=25, resume=True, **settings)
    card = dict(method="meta", **settings, softmax="row", repr_dropout=0.8, whole_layers=0.5, ratio=0.5,
                skipped=res.skipped, micro_batches=len(res.history), wall_seconds=round(res.seconds, 1))
    return res, card, "similarity loss"

def run_secant(a, model, tok, texts):
    S = dict(SECANT, **{k: v for k, v in vars(a).items() if k in SECANT and v is not None})
    t0, imp, secs = time.perf_counter(), {}, {}
    if a.importance_from:
        if not Path(a.importance_from).is_file(): sys.exit(f"--importance-from: no pruner card at {a.importance_from}.")
        old = json.loads(Path(a.importance_from).read_text())
        if old.get("method") != "secant" or set(old.get("importance", {})) != set(TASKS):
            sys.exit(f"{a.importance_from} holds no secant importances of {TASKS}: pass the card of a pruner trained with --method secant.")
        S.update({k: old[k] for k in SECANT_KEYS}); secs = old["secant_seconds"]
        imp = {t: torch.tensor(old["importance"][t]) for t in TASKS}
        print(f"importances of {TASKS} read from {a.importance_from}", flush=True)
    for t in (t for t in TASKS if t not in imp):
        g = torch.Generator().manual_seed(S["seed"])
        rows = [texts[t][i] for i in torch.randperm(len(texts[t]), generator=g)[:S["rows"]].tolist()]
        t1 = time.perf_counter()
        imp[t] = secant_importance(model, tok, rows, masks=S["masks"], ratio=S["ratio"], max_length=S["max_length"],
                                   seed=S["seed"], progress=False)
        secs[t] = round(time.perf_counter() - t1, 1)
        print(f"secants of {get_task(t).folder}: {secs[t]:.0f} s", flush=True)
    res = fit_scorer(model, tok, texts, imp, steps=S["steps"], lr=S["lr"], examples=S["examples"], layers=S["layers"],
                     fit=S["fit"], max_length=S["max_length"], seed=S["seed"])
    card = dict(method="secant", **S, secant_seconds=secs, fit_seconds=round(res.seconds, 1),
                importance_from=a.importance_from and Path(a.importance_from).name,
                wall_seconds=round(time.perf_counter() - t0, 1),
                importance={t: [[round(x, 5) for x in r] for r in v.tolist()] for t, v in imp.items()})
    return res, card, "fit loss (squared error)"

def fits_dir(out):
    "Where `--fit-seeds` keeps each finished fit: OUT/fits/, or benchmarks/runs/pruner-fits/ when OUT is the package's assets (never shipped)."
    return ROOT / "benchmarks" / "runs" / "pruner-fits" if Path(out).resolve() == (ROOT / "smp_nb" / "assets").resolve() else Path(out) / "fits"

def run_importance(a, model, tok, texts):
    S = dict(SECANT, **{k: v for k, v in vars(a).items() if k in SECANT and v is not None})
    seeds = parse_seeds(a.importance_seeds, 0)
    fit_tasks = [t for t in IMPORTANCE_TASKS if t != a.held_out]  # --held-out: the paper's setting, a task never seen
    t0, runs, extra = time.perf_counter(), {s: {} for s in seeds}, {t: {} for t in fit_tasks}
    glue_cache = Path(a.importance_from_glue) if a.importance_from_glue else None
    epochs = IMPORTANCE["epochs"] if a.importance_epochs is None else a.importance_epochs
    kw = dict(train_rows=IMPORTANCE["finetune_rows"], score_rows=IMPORTANCE["score_rows"], epochs=epochs,
              batch_size=IMPORTANCE["batch_size"], lr=IMPORTANCE["lr"], progress=False)
    if glue_cache is not None and epochs != GLUE_IMPORTANCE_EPOCHS:
        sys.exit(f"--importance-from-glue holds importances after {GLUE_IMPORTANCE_EPOCHS} epoch of fine-tuning, not {epochs:g}: "
                 f"add --importance-epochs {GLUE_IMPORTANCE_EPOCHS} (the recipe packaged before), or drop --importance-from-glue.")
    for s in seeds:
        if glue_cache is not None and s == 0:  # the GLUE table's importance baseline ran seed 0 of this protocol
            for t in fit_tasks:
                f = glue_cache / f"{t}__importance__s0.json"
                if not f.is_file(): sys.exit(f"--importance-from-glue: {f} is missing (benchmarks/glue_table.py --methods importance computes it).")
                js = json.loads(f.read_text())
                runs[s][t] = torch.tensor(js["scores"])
                extra[t]["0"] = dict(source=f"benchmarks/results/glue/scores/{f.name}", seconds=round(js.get("score_seconds", 0), 1))
            continue
        # other seeds' readings are committed (small JSON): a run that stops resumes task by task
        cache = ROOT / "benchmarks" / ("runs/importance" if epochs == 1 and s == 0 else
                                       "results/importance_seeds" if epochs == 1 else f"results/importance_epochs{epochs:g}") / f"s{s}"
        got = label_importance(None, fit_tasks, a.glue, seed=s, cache_dir=cache, **kw)
        for t in fit_tasks:
            runs[s][t] = got[t]["importance"]
            extra[t][str(s)] = dict(source=str(cache.relative_to(ROOT) / f"{t}.json"), seconds=got[t]["seconds"], rows_used=got[t]["rows_used"])
            ref = ROOT / "benchmarks" / "results" / "glue" / "scores" / f"{t}__importance__s0.json"
            if s == 0 and epochs == 1 and ref.is_file():
                extra[t]["0"]["max_abs_diff_to_glue_table"] = (runs[s][t] - torch.tensor(json.loads(ref.read_text())["scores"])).abs().max().item()
            print(f"importance of {get_task(t).folder}, seed {s}: {extra[t][str(s)]}", flush=True)
    imp = {t: mean_importance([runs[s][t] for s in seeds]) if len(seeds) > 1 else runs[seeds[0]][t] for t in fit_tasks}
    texts = {t: texts[t] for t in fit_tasks}
    fit_seeds = parse_seeds(a.fit_seeds, S["seed"]) if a.fit_seeds or a.seed is not None else PACKAGED_FIT_SEEDS
    res = fit_ensemble(model, tok, texts, imp, seeds=fit_seeds, cache_dir=fits_dir(a.out) if len(fit_seeds) > 1 else None,
                       steps=S["steps"], lr=S["lr"], examples=S["examples"], layers=S["layers"], fit=S["fit"], max_length=S["max_length"])
    card = dict(method="importance", objective="importance", **{k: S[k] for k in ("steps", "lr", "examples", "layers", "fit", "seed", "max_length")},
                finetune=dict(IMPORTANCE, epochs=epochs), importance_runs=extra, fit_seconds=round(res.seconds, 1),
                wall_seconds=round(time.perf_counter() - t0, 1), fit_order=fit_tasks, fit_seeds=fit_seeds,
                importance={t: [[round(x, 6) for x in r] for r in v.tolist()] for t, v in imp.items()}, importance_seeds=seeds, held_out=a.held_out,
                **({} if len(seeds) == 1 else dict(importance_per_seed={t: {str(s): [[round(x, 6) for x in r] for r in runs[s][t].tolist()]
                                                                          for s in seeds} for t in fit_tasks})))
    return res, card, "fit loss (squared error)"

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_glue_arg(ap)
    ap.add_argument("--method", default="importance", choices=("importance", "secant", "meta"))
    ap.add_argument("--importance-from-glue", help="importance: read the importances from the GLUE table's cache (DIR/<task>__importance__s0.json)")
    ap.add_argument("--importance-seeds", help="importance: fine-tuning seeds whose importances are averaged per task, e.g. 0,1,2 (default: 0)")
    ap.add_argument("--importance-epochs", type=float, help="importance: epochs of fine-tuning before the gradients are read (default: 3; 1: the recipe packaged before)")
    ap.add_argument("--fit-seeds", help="importance: fit once per seed and save the fits as one averaged pruner (ScorerEnsemble); each fit is kept in OUT/fits/ and reused (default: 0,1,2, the packaged recipe; --seed alone when --seed is given)")
    ap.add_argument("--held-out", choices=IMPORTANCE_TASKS, help="importance: fit on the other four tasks only (a pruner that never saw this one)")
    ap.add_argument("--steps", type=int); ap.add_argument("--lr", type=float); ap.add_argument("--seed", type=int)
    ap.add_argument("--fit", help="pad, stretch or stretchN (see fit_maps); secant default stretch48, meta default pad")
    ap.add_argument("--importance-from", help="secant: refit from the importances in this pruner card (skips the secants)")
    ap.add_argument("--masks", type=int, help="secant: random masks per task"); ap.add_argument("--rows", type=int, help="secant: inputs per task")
    ap.add_argument("--optimizer", help="meta: sgd or adam"); ap.add_argument("--accumulation", type=int, help="meta")
    ap.add_argument("--score-examples", type=int, help="meta"); ap.add_argument("--estimator", help="meta: straight-through or score-function")
    ap.add_argument("--samples", type=int, help="meta: masks per batch of the score-function estimator")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--out", default=str(ROOT / "smp_nb" / "assets"))
    ap.add_argument("--ckpt", default=str(ROOT / "benchmarks" / "runs" / "pruner-ckpt"), help="meta: checkpoints")
    a = ap.parse_args()
    if a.fit is not None:
        try: fit_canvas(a.fit)
        except ValueError as e: sys.exit(f"--fit: {e}")
    if a.held_out and Path(a.out).resolve() == (ROOT / "smp_nb" / "assets").resolve():
        sys.exit("--held-out pruners are experiments, not the packaged one: give them an --out of their own.")
    try: check_number("--importance-epochs", a.importance_epochs, low=0, low_open=True, optional=True)
    except ValueError as e: sys.exit(f"{e} 3 is the packaged recipe, 1 the one before.")
    if (a.importance_seeds or a.held_out or a.fit_seeds or a.importance_epochs is not None) and a.method != "importance":
        sys.exit("--importance-seeds, --importance-epochs, --fit-seeds and --held-out shape the gradient-importance fit: they work with --method importance only.")
    for flag, spec in (("--fit-seeds", a.fit_seeds), ("--importance-seeds", a.importance_seeds)):
        try: parse_seeds(spec, 0, flag)
        except ValueError as e: sys.exit(str(e))
    if a.importance_from and a.method != "secant":
        sys.exit("--importance-from refits a scorer from secant importances: it works with --method secant only.")
    check_glue(a.glue, "train_pruner")
    torch.set_num_threads(a.threads)
    model, tok = load_encoder()
    texts = train_texts(TASKS, a.glue)
    res, card, ylabel = dict(importance=run_importance, secant=run_secant, meta=run_meta)[a.method](a, model, tok, texts)
    hist = {t: [r["loss"] for r in res.history if r["task"] == t] for t in texts}
    card = dict(encoder=OFFLINE_ENCODER, tasks=TASKS, train_sizes={t: len(v) for t, v in texts.items()}, **card,
                first_losses={t: sum(v[:20]) / len(v[:20]) for t, v in hist.items() if v},
                final_losses=res.task_losses(last=max(1, res.steps // 10)), torch=torch.__version__,
                threads=torch.get_num_threads(), cpu=cpu_model())  # a fit is bit for bit only on the same CPU type
    out = Path(a.out); out.mkdir(parents=True, exist_ok=True)
    name = "pruner" if a.method == "importance" else "pruner-similarity"
    save_scorer(res.scorer, out / f"{name}.safetensors", **card)
    write_json(out / f"{name}-history.json", res.history, indent=None)
    ax = plot_history(res.history, window=50 if a.method == "meta" else 10, ylabel=ylabel)  # secant: 120 steps per task
    png = RESULTS / f"{name.replace('-', '_')}_loss.png" if out == ROOT / "smp_nb" / "assets" else out / f"{name}_loss.png"
    save_png(ax.figure, png)
    print(json.dumps({k: v for k, v in card.items() if k != "importance"}, indent=1))

if __name__ == "__main__": main()
