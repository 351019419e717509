"""The GLUE table: the offline MiniLM with 50% of the heads of every layer removed before fine-tuning, chosen by SMP
and by the baselines, fine-tuned and scored on the dev sets of SST-2, CoLA, MRPC, RTE and STS-B.

Claim: with half the heads removed, the packaged pruner's model fine-tunes to 67.3 averaged over the five tasks
  (three seeds), against 66.2 for the authors' pruner and 67.0 unpruned, and 66.5 on a task the pruner never saw;
  and every other row of the table. Shown by the README and home page, the tutorial "reproduce the GLUE table" and
  the meta-training page (benchmarks/results/glue.md discusses it).
Run:    python benchmarks/glue_table.py --all --seeds 0,1,2     (resumes; --quick for a smoke test)
Time:   a run (one cell) 2-15 minutes on a 2-core CPU (recorded train_seconds 123-924 s); the 147 committed runs about
  11 hours of fine-tuning, plus 33 minutes of choosing heads; --report seconds; --quick a few minutes.
Writes: benchmarks/results/glue/*.json (one per run), glue/scores/, repr/, glue_table.md and glue_table.png,
  glue_held_out.png, glue_sweep.png, glue_repr.png (into --results instead when given).

Usage:
  python benchmarks/glue_table.py            # the table (every task x method x seed); resumes where it stopped
  python benchmarks/glue_table.py --sweep    # MRPC at 25%, 50%, 75% of heads pruned: SMP (ours) vs random
  python benchmarks/glue_table.py --repr     # STS-B dev Spearman of mean-pooled embeddings, no fine-tuning
  python benchmarks/glue_table.py --all      # all three, in that order
  python benchmarks/glue_table.py --all --seeds 0   # one seed of everything first; later seeds with --seeds 1,2
  python benchmarks/glue_table.py --tasks stsb --methods smp_fit,confidence --seeds 3,4 --results DIR
                                             # seeds beyond the table's three run only when named, best into a folder of their own
  python benchmarks/glue_table.py --methods unpruned --seeds 0 --results benchmarks/results/timing_ref
                                             # on a new machine or library version: unpruned time references (see below)
  python benchmarks/glue_table.py --quick    # smoke test on tiny slices, into a temporary folder
  python benchmarks/glue_table.py --report   # only regenerate the Markdown and the plots from the JSON files

Cells (task x method x ratio x seed) are independent runs; each finished cell is one JSON file in
benchmarks/results/glue/, written atomically. A cell whose file exists is skipped, so an interrupted run resumes.
After every cell benchmarks/results/glue_table.md and the plots are regenerated from all the files.

Settings and why:
- every cell starts from a fresh copy of the offline MiniLM (6 layers x 12 heads); pruned cells keep the top 6
  heads of every layer by the method's scores (`topk_mask`) and remove the others physically (`prune_heads`);
- fine-tuning: 3 epochs, batch 32, lr 5e-5 (AdamW, linear decay, no warm-up), mean-pooled head, max 128 tokens;
  the usual BERT recipe; the same for every method, so differences come from the heads kept; training batches are
  grouped by length (`train_sampling_strategy="group_by_length"`), which cuts padding 1.5x (MRPC) to 3x (SST-2) and
  with it most of the CPU time;
- SST-2's 67,349 training sentences are subsampled to 8,000 (a fixed seeded subset, the same for every cell) to fit
  a CPU; the other tasks train on their whole training split; every task is scored on its whole dev set;
- the label-free scorers (SMP, confidence) read 2,000 training inputs (fixed seeded subset; all of them for smaller
  sets); the importance baseline is the package's `label_importance` (`smp_nb.importance`): the full model fine-tuned
  for 1 epoch on the cell's training rows, then gradients on the same 2,000 inputs with their labels (scores cached
  per task in results/glue/scores/);
- SMP rows: `smp_ours`, the pruner trained on the paper's label-free objective (`pruner-similarity.safetensors`,
  the packaged default until the `smp_fit` rows); `smp_authors`, the authors' base.bin; `smp_fit`, the packaged
  default (`smp_nb/assets/pruner.safetensors`): three scorers fitted (seeds 0, 1, 2) to gradient importance read
  after 3 epochs of fine-tuning on the five tasks, their scores averaged; `smp_heldout`, for each task the same
  recipe on the other four tasks (the paper's setting: the pruner never saw the task;
  `results/importance_epochs3/ensemble3/fit/importance_scorer__<four tasks>.safetensors`). Recipes tried before
  have their rows in their own folders (`results/importance_epochs3/glue/`: one fit, seed 0, packaged before;
  `results/importance_epochs1/`: importance after 1 epoch); `--results` and `--fit-dir` point the script at such
  a folder, whose `smp_fit` rows then read `--fit-dir`'s five-task scorer;
- seeds 0, 1, 2 for every method (for random the seed also draws the mask; for the others it is the fine-tuning's
  alone: their head scores are computed once per task);
- fine-tuning time: a run's wall time is compared only with unpruned runs made in the same environment (device,
  thread count, torch and transformers versions, CPU model where recorded); runs added later on another machine get
  their reference from unpruned reruns in `results/timing_ref/glue/`, whose scores also show whether the environment
  changes results (it did not: the 2026-12-03 reruns match the table's seed-0 scores to 1e-6);
- inference: the fine-tuned encoder's throughput at batch 32 x 128 random tokens (median of 5 passes), and its speed
  relative to the full MiniLM timed in turns with it in the same process (median of 7 each), which stays fair when
  other work shares the CPU.
"""
import argparse, json, math, os, statistics, sys, tempfile, time, traceback
from datetime import datetime, timezone
from pathlib import Path

import torch

from common import add_glue_arg, check_glue, cpu_model, encoder_keeping, log, RESULTS, save_png, write_json, write_text
import transformers, datasets
from smp_nb.models import load_encoder, head_grid, OFFLINE_ENCODER
from smp_nb.data import get_task, load_task, task_texts
from smp_nb.sampling import topk_mask
from smp_nb.prune import prune_heads, prune_report
from smp_nb.scorer import PACKAGED_PRUNERS, authors_checkpoint
from smp_nb.represent import sentence_repr
from smp_nb.baselines import random_scores, magnitude_scores, confidence_scores, smp_scores
from smp_nb.finetune import finetune, _subsample
from smp_nb.importance import label_importance

TASKS = ["sst2", "cola", "mrpc", "rte", "stsb"]
METHODS = ["unpruned", "smp_ours", "smp_authors", "random", "magnitude", "confidence", "importance", "smp_fit", "smp_heldout"]
FIT_TASKS = ["stsb", "mrpc", "cola", "sst2", "rte"]  # the order in the fitted scorers' file names (train_pruner.py, recipes.py)
LABELS = dict(unpruned="unpruned", smp_ours="SMP, similarity objective (ours)", smp_authors="SMP (authors' base.bin)", random="random",
              magnitude="magnitude", confidence="confidence", importance="importance (Michel)",
              smp_fit="SMP, fit to importance (ours, packaged)", smp_heldout="SMP, fit to importance (task held out)")
SEEDS = dict(unpruned=3, smp_ours=3, smp_authors=3, random=3, magnitude=3, confidence=3, importance=3, smp_fit=3, smp_heldout=3)
SWEEP_TASK, SWEEP_RATIOS, SWEEP_METHODS = "mrpc", (0.25, 0.5, 0.75), ("smp_ours", "random")
SETTINGS = dict(ratio=0.5, epochs=3, batch_size=32, lr=5e-5, max_length=128, pooling="mean", train_rows=dict(sst2=8000),
                sampling="group_by_length", eval_rows=None, score_rows=2000, importance_epochs=1, rows_seed=0)
QUICK = dict(SETTINGS, epochs=1, train_rows={t: 64 for t in TASKS}, eval_rows=64, score_rows=32)
DEFAULT_FIT_DIR = RESULTS / "importance_epochs3" / "ensemble3" / "fit"  # the held-out scorers of the main table


class Bench:
    def __init__(self, a):
        self.a, self.glue, self.device = a, a.glue, a.device
        self.S = QUICK if a.quick else SETTINGS
        self.res = Path(a.results)
        self.cells_dir, self.scores_dir, self.repr_dir = self.res / "glue", self.res / "glue" / "scores", self.res / "repr"
        self.authors = Path(a.authors_pruner) if a.authors_pruner else authors_path()
        self.ours = Path(a.ours_pruner)
        self._data = {}

    # ---- data ---------------------------------------------------------------------------------------------------
    def data(self, task):
        "(train rows used for fine-tuning, dev rows, the texts the label-free scorers read) of `task`, cached."
        if task not in self._data:
            S = self.S
            train = _subsample(load_task(task, "train", self.glue), S["train_rows"].get(task), S["rows_seed"], "train_rows")
            dev = _subsample(load_task(task, "dev", self.glue), S["eval_rows"], S["rows_seed"], "eval_rows")
            sc = _subsample(train, S["score_rows"], S["rows_seed"], "score_rows")
            self._data[task] = (train, dev, task_texts(sc, task))
        return self._data[task]

    def settings(self, task):
        S = self.S
        return dict(encoder=OFFLINE_ENCODER, epochs=S["epochs"], batch_size=S["batch_size"], lr=S["lr"],
                    max_length=S["max_length"], pooling=S["pooling"], sampling=S["sampling"], train_rows=len(self.data(task)[0]),
                    eval_rows=len(self.data(task)[1]), score_rows=S["score_rows"], rows_seed=S["rows_seed"])

    def pruner(self, method, task):
        "The pruner file of an SMP method on `task` (None for the other methods)."
        if method == "smp_ours": return self.ours
        if method == "smp_authors": return self.authors
        if method == "smp_fit" and self.a.fit_dir is None: return PACKAGED_PRUNERS["importance"]
        if method in ("smp_fit", "smp_heldout"):
            tasks = [t for t in FIT_TASKS if method == "smp_fit" or t != task]
            return Path(self.a.fit_dir or DEFAULT_FIT_DIR) / f"importance_scorer__{'-'.join(tasks)}.safetensors"
        return None

    def available(self, method, task=None):
        "None if `method` can run here, else the reason it cannot."
        if method in ("smp_fit", "smp_heldout"):
            for t in ([task] if task else TASKS):
                if not self.pruner(method, t).is_file(): return f"{self.pruner(method, t)} is missing (benchmarks/train_pruner.py --held-out fits it)"
        if method == "smp_ours" and not self.ours.is_file(): return f"our pruner {self.ours} is missing"
        if method == "smp_authors" and (self.authors is None or not self.authors.is_file()): return f"the authors' pruner {self.authors} is missing"
        return None

    # ---- head scores --------------------------------------------------------------------------------------------
    def scores(self, task, method, seed):
        "Head scores `[6, 12]` of `method` on `task` (cached on disk; only random depends on the seed)."
        mseed = seed if method == "random" else 0
        path = self.scores_dir / f"{task}__{method}__s{mseed}.json"
        pruner = self.pruner(method, task)
        sha = file_sha(pruner) if pruner is not None else None
        if path.is_file():
            cached = json.loads(path.read_text())
            if cached.get("pruner_sha256") != sha:
                sys.exit(f"glue_table: {path} was scored with another pruner than {pruner}: "
                         f"remove {self.scores_dir}/*__{method}__* and {self.cells_dir}/*__{method}__* (and {self.repr_dir}/*__{method}__*) to redo {method}.")
            return torch.tensor(cached["scores"])
        t0 = time.perf_counter()
        if method == "importance":  # the package's protocol: fine-tune the full model, then read |d loss / d gate|
            log(f"  importance on {task}: fine-tuning the full model for {self.S['importance_epochs']} epoch(s) first")
            s = label_importance(None, [task], self.glue, device=self.device, **importance_protocol(self.S, task))[task]["importance"]
        else:
            model, tok = load_encoder()
            model.to(self.device)
            texts = self.data(task)[2]
            if method == "random": s = random_scores(*head_grid(model), seed=mseed)
            elif method == "magnitude": s = magnitude_scores(model)
            elif method == "confidence": s = confidence_scores(model, tok, texts, max_length=self.S["max_length"])
            elif pruner is not None: s = smp_scores(model, tok, texts, pruner=pruner, max_length=self.S["max_length"])
            else: raise ValueError(method)
        write_json(path, dict(task=task, method=method, seed=mseed, scores=s.tolist(), pruner_sha256=sha,
                              score_seconds=time.perf_counter() - t0))
        return s

    # ---- one cell -----------------------------------------------------------------------------------------------
    def cell_path(self, task, method, ratio, seed):
        r = 0 if method == "unpruned" else int(round(ratio * 100))
        return self.cells_dir / f"{task}__{method}__r{r}__s{seed}.json"

    def run_cell(self, task, method, ratio, seed):
        path = self.cell_path(task, method, ratio, seed)
        if path.is_file(): return False
        why = self.available(method, task)
        if why: log(f"skip {path.stem}: {why}"); return False
        log(f"run  {path.stem}")
        load0 = os.getloadavg()[0]
        train, dev, _ = self.data(task)
        info = {}
        if method != "unpruned":
            s = self.scores(task, method, seed)
            mask = topk_mask(s, ratio)
            info = dict(scores=s.tolist(), kept_heads=[r.nonzero().flatten().tolist() for r in mask])
        model, tok = load_encoder()
        if method != "unpruned": prune_heads(model, mask)
        res = self.fit(model, tok, task, seed)
        out = {k: v for k, v in res.items() if k != "model"}
        out.update(method=method, ratio=0.0 if method == "unpruned" else ratio)
        out.update(self.record(res["model"].encoder, task, load0), **info)
        write_json(path, out)
        log(f"done {path.stem}: main {res['main']:.4f}, {res['train_seconds']:.0f} s fine-tuning, {out['throughput']:.1f} seq/s, "
            f"{out['inference_speedup']:.2f}x the full model's inference speed")
        return True

    def fit(self, model, tok, task, seed):
        "`finetune`'s result for `model` on `task`'s cell rows with the table's settings, scored on its dev rows."
        train, dev, _ = self.data(task)
        S = self.S
        return finetune(model, tok, task, train_data=train, eval_data=dev, epochs=S["epochs"], batch_size=S["batch_size"],
                        lr=S["lr"], max_length=S["max_length"], pooling=S["pooling"], seed=seed, device=self.device,
                        train_sampling_strategy=S["sampling"])

    def record(self, encoder, task, load0) -> dict:
        "What a cell records beside its scores: the fine-tuned `encoder`'s speed, the load, the settings and the environment."
        thr = throughput(encoder)
        speedup = self.speedup(encoder)
        return dict(throughput=thr, inference_speedup=speedup, load_average=[load0, os.getloadavg()[0]], settings=self.settings(task),
                    torch=torch.__version__, transformers=transformers.__version__, threads=torch.get_num_threads(),
                    cpu=cpu_model(), finished=datetime.now(timezone.utc).isoformat(timespec="seconds"))

    def speedup(self, encoder):
        "Inference speed of `encoder` relative to the full MiniLM, both timed side by side in turns (robust to other load)."
        if not hasattr(self, "_full"): self._full = load_encoder()[0].to(self.device).eval()
        return prune_report(self._full, encoder, repeats=7, attention=False).speedup

    def backfill_speedups(self):
        "Give finished cells without `inference_speedup` one, from a model with the same heads (speed depends on shapes only)."
        for path in sorted(self.cells_dir.glob("*.json")):
            c = json.loads(path.read_text())
            if "inference_speedup" in c: continue
            model = encoder_keeping(c.get("kept_heads"))[0]
            c["inference_speedup"] = self.speedup(model.to(self.device))
            c["inference_speedup_note"] = "measured after the run, on a model with the same kept heads"
            write_json(path, c)
            log(f"inference speed of {path.stem}: {c['inference_speedup']:.2f}x the full model's")

    def cells(self, tasks, methods, all_seeds=False):
        "The table's cells, seed by seed, so that a partial run covers every task and method early (`--seeds` only, unless `all_seeds`)."
        out = []
        named = sorted(self.a.seeds or ())
        for seed in range(max(3, named[-1] + 1 if named else 0)):
            extra = seed >= 3 and not self.a.quick and seed in named  # seeds beyond the table's, only when named
            for task in tasks:
                for m in methods:
                    if (seed < (1 if self.a.quick else SEEDS.get(m, 1)) or extra) and (all_seeds or self.want_seed(seed)):
                        out.append((task, m, self.S["ratio"], seed))
        return out

    def want_seed(self, seed):
        "Whether `--seeds` (default: all) asks for this seed."
        return self.a.seeds is None or seed in self.a.seeds

    def sweep_cells(self, all_seeds=False):
        n = 1 if self.a.quick else 3
        seeds = [s for s in range(n) if all_seeds or self.want_seed(s)]
        return [(SWEEP_TASK, m, r, s) for s in seeds for r in SWEEP_RATIOS for m in SWEEP_METHODS] + \
               [(SWEEP_TASK, "unpruned", 0.0, s) for s in seeds]

    def run(self, cells):
        for c in cells:
            try:
                if self.run_cell(*c): report(self.res, self)
            except KeyboardInterrupt: raise
            except Exception:
                log(f"FAILED {self.cell_path(*c).stem}:"); traceback.print_exc()
                if self.a.quick: raise

    # ---- representation quality ---------------------------------------------------------------------------------
    def run_repr(self, methods):
        dev = _subsample(load_task("stsb", "dev", self.glue), self.S["eval_rows"], self.S["rows_seed"], "eval_rows")
        pairs, gold = task_texts(dev, "stsb"), list(dev["label"])
        for m in methods:
            for seed in range(1 if (self.a.quick or m != "random") else 3):
                if not self.want_seed(seed): continue
                path = self.repr_dir / f"stsb__{m}__s{seed}.json"
                if path.is_file(): continue
                why = self.available(m)
                if why: log(f"skip repr {m}: {why}"); continue
                log(f"repr {m} seed {seed}")
                model, tok = load_encoder()
                info = {}
                if m != "unpruned":
                    mask = topk_mask(self.scores("stsb", m, seed), self.S["ratio"])
                    prune_heads(model, mask)
                    info = dict(kept_heads=[r.nonzero().flatten().tolist() for r in mask])
                sims = pair_similarities(model.to(self.device), tok, pairs, self.S["max_length"])
                from scipy.stats import pearsonr, spearmanr
                write_json(path, dict(method=m, seed=seed, spearman=float(spearmanr(sims, gold)[0]),
                                      pearson=float(pearsonr(sims, gold)[0]), rows=len(gold), **info))
            report(self.res, self)


def importance_protocol(S, task) -> dict:
    """The importance baseline's settings for `label_importance`: the cell's training rows (the table's seeded subset),
    `score_rows` of them whose gradients are read, `importance_epochs` of fine-tuning with the table's batch, lr and
    length; one seed draws the rows and seeds the fine-tuning (the table's `rows_seed`, 0)."""
    return dict(train_rows=S["train_rows"].get(task), score_rows=S["score_rows"], epochs=S["importance_epochs"],
                batch_size=S["batch_size"], lr=S["lr"], max_length=S["max_length"], seed=S["rows_seed"])

def authors_path():
    "The authors' base.bin (`authors_checkpoint`: the offline copy under $SMP_DATA, else downloaded once); None if it cannot be had."
    try: return authors_checkpoint("base")
    except Exception as e:
        log(f"the authors' base.bin is not available ({type(e).__name__}: {e}): smp_authors is skipped"); return None

def file_sha(path):
    import hashlib
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()

def throughput(model, batch_size=32, seq_len=128, repeats=5):
    "Median sequences per second of `model` on random `batch_size x seq_len` inputs."
    dev = next(model.parameters()).device
    ids = torch.randint(1000, model.config.vocab_size, (batch_size, seq_len), generator=torch.Generator().manual_seed(0)).to(dev)
    batch = dict(input_ids=ids, attention_mask=torch.ones_like(ids))
    ts = []
    model.eval()
    with torch.inference_mode():
        model(**batch)
        for _ in range(repeats):
            if dev.type == "cuda": torch.cuda.synchronize(dev)
            t = time.perf_counter(); model(**batch)
            if dev.type == "cuda": torch.cuda.synchronize(dev)
            ts.append(time.perf_counter() - t)
    return batch_size / statistics.median(ts)

def pair_similarities(model, tok, pairs, max_length=128, batch_size=64):
    "Cosine similarity of the mean-pooled last hidden states of each pair's two sentences."
    dev, out = next(model.parameters()).device, []
    with torch.inference_mode():
        for i in range(0, len(pairs), batch_size):
            chunk = pairs[i:i + batch_size]
            reps = []
            for side in (0, 1):
                b = tok([p[side] for p in chunk], padding=True, truncation=True, max_length=max_length, return_tensors="pt").to(dev)
                reps.append(sentence_repr(model(**b), b["attention_mask"], "mean"))
            out += torch.nn.functional.cosine_similarity(*reps).tolist()
    return out


# ---- the report ----------------------------------------------------------------------------------------------------
def _load(folder):
    return [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))] if folder.is_dir() else []

def timing_ok(c):
    "Did run `c` have the CPU to itself (so that its wall time means something)?"
    la = c.get("load_average")
    return not c.get("timing_contended") and la is not None and max(la) <= c.get("threads", 1) + 0.5

ENV_KEYS = ("device", "threads", "torch", "transformers")

def env_key(c):
    "A run's environment without its CPU: (device, threads, torch, transformers)."
    return tuple(c.get(k) for k in ENV_KEYS)

def same_env(a, b):
    "Were runs `a` and `b` made where wall times compare: same device, thread count, library versions and (where both record it) CPU?"
    return env_key(a) == env_key(b) and (a.get("cpu") is None or b.get("cpu") is None or a["cpu"] == b["cpu"])

def env_text(key):
    "An `env_key`, in words."
    device, threads, torch_v, transformers_v = key
    return f"{device}, torch {torch_v}, transformers {transformers_v}, {threads} threads"

def time_ratios(runs, refs):
    """Each quiet run's fine-tuning wall time over the mean of the quiet unpruned `refs` of its task made in the same
    environment (`same_env`); runs without such a reference give no ratio. Returns {task: [ratios]}."""
    out = {}
    for c in runs:
        if not timing_ok(c): continue
        r = [u["train_seconds"] for u in refs if u["task"] == c["task"] and timing_ok(u) and same_env(c, u)]
        if r: out.setdefault(c["task"], []).append(c["train_seconds"] / statistics.mean(r))
    return out

def _ms(xs):
    "mean and sample standard deviation (0 for a single value)."
    return statistics.mean(xs), (statistics.stdev(xs) if len(xs) > 1 else 0.0)

def _self_timing_note(main):
    "What the unpruned runs, each timed against the full model it equals, say about the noise of one run's speed ratio."
    own = [c["inference_speedup"] for c in main if c["method"] == "unpruned" and "inference_speedup" in c]
    if len(own) < 2: return ""
    return (f" The unpruned row times the full model against itself: its {len(own)} runs give {min(own):.2f}x to "
            f"{max(own):.2f}x, the noise of a single run's ratio; the rows are means over runs.")

def _cell_text(xs, scale=100):
    if not xs: return "-"
    m, s = _ms([x * scale for x in xs])
    return f"{m:.1f} ± {s:.1f} ({len(xs)})" if len(xs) > 1 else f"{m:.1f} (1)"

def labels_for(res_dir: Path) -> dict:
    "Row labels: outside the main table's folder, `smp_fit` and `smp_heldout` are the recipe under test, not the packaged pruner."
    if res_dir.resolve() == RESULTS.resolve(): return LABELS
    return dict(LABELS, smp_fit="SMP, fit to importance (the recipe under test)",
                smp_heldout="SMP, fit to importance (the recipe under test, task held out)")

def environments_section(main, refs, L=LABELS) -> list:
    """Where the runs were made, and the unpruned reruns (`timing_ref/glue/`) that give later environments a time
    reference: their scores against the table's run with the same seed, and their wall times against it."""
    envs = list(dict.fromkeys(env_key(c) for c in main + refs))
    lines = ["", "### Environments", "",
             "The runs were made in these environments; the fine-tuning-time column compares wall times only within one.", "",
             "| environment | CPU | runs in the table | methods | unpruned time references |", "|---|---|---:|---|---:|"]
    for e in envs:
        mine = [c for c in main if env_key(c) == e]
        ms = sorted({c["method"] for c in mine}, key=METHODS.index)
        nref = sum(1 for c in main + refs if c["method"] == "unpruned" and env_key(c) == e)
        cpus = sorted({c["cpu"] for c in mine + refs if env_key(c) == e and c.get("cpu")})
        lines.append(f"| {env_text(e)} | {', '.join(cpus) or 'not recorded'} | {len(mine)} | "
                     f"{', '.join(L[m] for m in ms) or '-'} | {nref} |")
    pairs = [(r, o) for r in refs for o in main if o["method"] == "unpruned" and (o["task"], o["seed"]) == (r["task"], r["seed"])]
    if pairs:
        lines += ["", "Unpruned runs repeated later (`timing_ref/glue/`, same seed and settings): they give the "
                  "environment they ran in a time reference, and show whether it changes the scores. Their scores stay "
                  "out of the table above.", "",
                  "| task | seed | score in the table | score rerun | wall time in the table | rerun | rerun / table |",
                  "|---|---:|---:|---:|---:|---:|---:|"]
        for r, o in sorted(pairs, key=lambda p: (TASKS.index(p[0]["task"]), p[0]["seed"])):
            lines.append(f"| {get_task(r['task']).folder} | {r['seed']} | {100 * o['main']:.2f} | {100 * r['main']:.2f} | "
                         f"{o['train_seconds']:.0f} s | {r['train_seconds']:.0f} s | {r['train_seconds'] / o['train_seconds']:.2f} |")
        d = max(abs(r["main"] - o["main"]) for r, o in pairs)
        lines += ["", f"The largest difference between a rerun's score and the table's is {100 * d:.5f} points (x 100): "
                  + ("the environments give the same scores, so their rows compare; only their wall times do not."
                     if d < 1e-3 else "the environments do not give the same scores: read rows from different ones with care.")]
    return lines

HELD_OUT_ROWS = ["unpruned", "smp_heldout", "smp_fit", "smp_authors", "smp_ours", "importance", "confidence", "magnitude", "random"]

def held_out_section(main, res_dir: Path, plt, L=LABELS) -> list:
    "The paper's setting: each task pruned by a pruner that never saw it, against the other methods (Markdown lines; writes glue_held_out.png)."
    tasks = [t for t in TASKS if any(c["task"] == t and c["method"] == "smp_heldout" for c in main)]
    score = lambda t, m: [100 * c["main"] for c in main if c["task"] == t and c["method"] == m]
    rows = [m for m in HELD_OUT_ROWS if any(score(t, m) for t in tasks)]
    lines = ["", "## A task the pruner never saw (leave one task out)", "",
             "`SMP, scorer fit to importance (task held out)`: for each task, a scorer fitted (`fit_scorer`, 600 steps, stretch48) "
             "to the gradient importance of the *other four* tasks (`benchmarks/train_pruner.py --held-out TASK`; the 1-epoch "
             "recipe's scorers came from `benchmarks/studies/recipes.py --held-out`) picks the 50% mask "
             "from the task's unlabeled training inputs. It never saw the task's inputs or labels. The authors' checkpoint "
             "was trained on other data again (BERT-base, their tasks). Mean ± standard deviation over seeds; the last "
             "column is the difference to the held-out pruner's average on the same tasks"
             + (" (partial: not every task has its runs yet)." if len(tasks) < len(TASKS) else "."), "",
             "| method | " + " | ".join(get_task(t).folder for t in tasks) + " | average | vs held out |",
             "|---|" + "---:|" * (len(tasks) + 2)]
    ref = statistics.mean(statistics.mean(score(t, "smp_heldout")) for t in tasks)
    for m in rows:
        per = [score(t, m) for t in tasks]
        avg = statistics.mean(statistics.mean(x) for x in per) if all(per) else None
        lines.append(f"| {L[m]} | " + " | ".join(_cell_text([x / 100 for x in v]) for v in per) +
                     (f" | {avg:.1f} | {avg - ref:+.1f} |" if avg is not None else " | - | - |"))
    fig, ax = plt.subplots(figsize=(max(6, 1.7 * len(tasks) + 2), 4))
    w = 0.8 / len(rows)
    for i, m in enumerate(rows):
        ys = [_ms(score(t, m)) if score(t, m) else (math.nan, 0) for t in tasks]
        ax.bar([j + i * w for j in range(len(tasks))], [y[0] for y in ys], w, yerr=[y[1] for y in ys], capsize=2, label=L[m],
               edgecolor="black" if m == "smp_heldout" else None, linewidth=1.2)
    ax.set_xticks([j + w * (len(rows) - 1) / 2 for j in range(len(tasks))], [get_task(t).folder for t in tasks])
    ax.set_ylabel("GLUE dev score x 100"); ax.set_title("50% of heads removed; SMP's scorer never saw the task (outlined)")
    ax.legend(fontsize=7, ncol=2); save_png(fig, res_dir / "glue_held_out.png"); plt.close(fig)
    return lines + ["", "![leave one task out](glue_held_out.png)"]

def report(res_dir: Path, bench=None):
    "Regenerate glue_table.md and the plots from the JSON files under `res_dir`."
    import matplotlib; matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    cells = _load(res_dir / "glue")
    L = labels_for(res_dir)
    tasks = [t for t in TASKS if any(c["task"] == t for c in cells)]
    main = [c for c in cells if c["ratio"] in (0.0, 0.5)]
    by = lambda t, m, key="main", cs=main: [c[key] for c in cs if c["task"] == t and c["method"] == m and key in c]
    methods = [m for m in METHODS if any(c["method"] == m for c in main)]
    lines = ["# GLUE dev results: 50% of attention heads removed before fine-tuning", "",
             f"Generated {datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC')} by `benchmarks/glue_table.py` "
             f"from {len(cells)} runs in `{(res_dir / 'glue').name}/`.", "",
             "Offline MiniLM (all-MiniLM-L6-v2, 6 layers x 12 heads). Pruned rows: the top 6 heads of every layer by the "
             "method's scores, the other 6 removed physically, then fine-tuned like the unpruned model (3 epochs, batch 32, "
             "lr 5e-5, mean-pooled head, batches grouped by length). SST-2 trains on a fixed random 8,000 of its 67,349 training sentences; the other "
             "tasks on their full training sets; all on the full dev sets. Scores are the GLUE score of each task x 100 "
             "(CoLA: Matthews corr.; SST-2, RTE: accuracy; MRPC: mean of accuracy and F1; STS-B: mean of Pearson and "
             "Spearman), as mean ± standard deviation over seeds (number of seeds in brackets).", ""]
    if main:
        timing_refs = [c for c in main + _load(res_dir / "timing_ref" / "glue") if c["method"] == "unpruned"]
        head = ["method", *[get_task(t).folder for t in tasks], "average", "fine-tuning time", "inference speed"]
        lines += ["| " + " | ".join(head) + " |", "|" + "---|" + "---:|" * (len(head) - 1)]
        for m in methods:
            per = [by(t, m) for t in tasks]
            avg = f"{100 * statistics.mean(statistics.mean(x) for x in per):.1f}" if all(per) else "-"
            if all(per) and len(tasks) < len(TASKS): avg += " (partial)"
            rt = [statistics.mean(v) for v in time_ratios([c for c in main if c["method"] == m], timing_refs).values()]
            rq = [statistics.mean(by(t, m, "inference_speedup")) for t in tasks if by(t, m)]
            lines.append("| " + " | ".join([L[m], *[_cell_text(x) for x in per], avg,
                                            f"{statistics.mean(rt):.2f}x" if rt else "-",
                                            f"{statistics.mean(rq):.2f}x" if rq else "-"]) + " |")
        lines += ["", "Fine-tuning time: each run's wall time over that of the unpruned model on the same task *in the same "
                  "environment* (the same torch and transformers versions, thread count and CPU), averaged over runs and "
                  "then over tasks; only runs that had the CPU to itself count (a 1-minute load average at most 0.5 above "
                  "its thread count at the start and at the end; runs that shared the CPU with other work keep their scores "
                  "but not their timings). Wall times from different machines or library versions are never compared: "
                  "see \"Environments\" below. "
                  "Inference speed: throughput relative to the full MiniLM at batch 32 x 128 tokens, the two models timed "
                  "in turns in the same process, which keeps the ratio fair under load." + _self_timing_note(main), "", "![GLUE dev results](glue_table.png)", "", "### Every metric", "",
                  "| task | method | metric | value |", "|---|---|---|---:|"]
        for t in tasks:
            for m in methods:
                cs = [c for c in main if c["task"] == t and c["method"] == m]
                for k in (cs[0]["metrics"] if cs else {}):
                    if k != "main": lines.append(f"| {get_task(t).folder} | {L[m]} | {k} | {_cell_text([c['metrics'][k] for c in cs])} |")
        sc = _load(res_dir / "glue" / "scores")
        if sc:
            lines += ["", "### Cost of choosing the heads (seconds, once per task)", "", "| task | method | seconds |", "|---|---|---:|"]
            for s in sc:
                extra = f" (of which {s['finetune_seconds']:.0f} s fine-tuning the full model for 1 epoch)" if s.get("finetune_seconds") else ""
                lines.append(f"| {get_task(s['task']).folder} | {L[s['method']]}{' seed ' + str(s['seed']) if s['method'] == 'random' else ''} | {s['score_seconds']:.1f}{extra} |")
        fig, ax = plt.subplots(figsize=(max(6, 1.6 * len(tasks) + 2), 4))
        w = 0.8 / max(1, len(methods))
        for i, m in enumerate(methods):
            ys = [_ms([100 * x for x in by(t, m)]) if by(t, m) else (math.nan, 0) for t in tasks]
            ax.bar([j + i * w for j in range(len(tasks))], [y[0] for y in ys], w, yerr=[y[1] for y in ys], label=L[m], capsize=2)
        ax.set_xticks([j + w * (len(methods) - 1) / 2 for j in range(len(tasks))], [get_task(t).folder for t in tasks])
        ax.set_ylabel("GLUE dev score x 100"); ax.set_title("MiniLM, 50% of heads per layer removed before fine-tuning")
        ax.legend(fontsize=7, ncol=2); save_png(fig, res_dir / "glue_table.png"); plt.close(fig)
    if main: lines += environments_section(main, _load(res_dir / "timing_ref" / "glue"), L)
    if any(c["method"] == "smp_heldout" for c in main): lines += held_out_section(main, res_dir, plt, L)
    sweep = [c for c in cells if c["task"] == SWEEP_TASK and c["method"] in (*SWEEP_METHODS, "unpruned")]
    if any(c["ratio"] not in (0.0, 0.5) for c in sweep):
        lines += ["", f"## Ratio sweep on {get_task(SWEEP_TASK).folder}", "", "| method | " +
                  " | ".join(f"{int(r * 100)}% pruned" for r in SWEEP_RATIOS) + " |", "|---|" + "---:|" * len(SWEEP_RATIOS)]
        u = [c["main"] for c in sweep if c["method"] == "unpruned"]
        fig, ax = plt.subplots(figsize=(5, 3.5))
        if u: ax.axhline(100 * statistics.mean(u), color="gray", ls="--", label=f"unpruned ({len(u)} seed{'s' if len(u) > 1 else ''})")
        for m in SWEEP_METHODS:
            vals = [[c["main"] for c in sweep if c["method"] == m and c["ratio"] == r] for r in SWEEP_RATIOS]
            lines.append(f"| {L[m]} | " + " | ".join(_cell_text(v) for v in vals) + " |")
            pts = [(100 * r, *_ms([100 * x for x in v])) for r, v in zip(SWEEP_RATIOS, vals) if v]
            if pts: ax.errorbar([p[0] for p in pts], [p[1] for p in pts], yerr=[p[2] for p in pts], marker="o", capsize=3, label=L[m])
        if u: lines.append(f"| unpruned | {_cell_text(u)} (no heads pruned) | | |")
        ax.set_xlabel("% of heads removed in every layer"); ax.set_ylabel(f"{get_task(SWEEP_TASK).folder} dev score x 100")
        ax.legend(fontsize=8); save_png(fig, res_dir / "glue_sweep.png"); plt.close(fig)
        lines += ["", "![ratio sweep](glue_sweep.png)"]
    rep = _load(res_dir / "repr")
    if rep:
        lines += ["", "## Representation quality without fine-tuning", "",
                  "STS-B dev: Spearman (and Pearson) correlation x 100 between the gold similarity and the cosine similarity "
                  "of the two sentences' mean-pooled last hidden states, for the unpruned MiniLM and each method's 50% model "
                  "(heads chosen on STS-B's training inputs; importance needs STS-B labels and a fine-tuning pass).", "",
                  "| method | Spearman | Pearson |", "|---|---:|---:|"]
        ms = [m for m in METHODS if any(r["method"] == m for r in rep)]
        for m in ms:
            rs = [r for r in rep if r["method"] == m]
            lines.append(f"| {L[m]} | {_cell_text([r['spearman'] for r in rs])} | {_cell_text([r['pearson'] for r in rs])} |")
        fig, ax = plt.subplots(figsize=(6, 3.5))
        st = [_ms([100 * r["spearman"] for r in rep if r["method"] == m]) for m in ms]
        ax.bar(range(len(ms)), [s[0] for s in st], yerr=[s[1] for s in st], capsize=3)
        ax.set_xticks(range(len(ms)), [L[m] for m in ms], rotation=30, ha="right", fontsize=8)
        ax.set_ylabel("STS-B dev Spearman x 100"); ax.set_title("Mean-pooled embeddings, no fine-tuning")
        save_png(fig, res_dir / "glue_repr.png"); plt.close(fig)
        lines += ["", "![representation quality](glue_repr.png)"]
    todo = []
    if bench is not None:
        for c in bench.cells(TASKS, METHODS, all_seeds=True) + bench.sweep_cells(all_seeds=True):  # whatever --seeds this run has
            if not bench.cell_path(*c).is_file() and bench.available(c[1]) is None: todo.append(bench.cell_path(*c).stem)
        lines += ["", f"Cells still to run: {len(set(todo))}."]
    write_text(res_dir / "glue_table.md", "\n".join(lines) + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    add_glue_arg(ap)
    ap.add_argument("--results", default=None, help="results folder (default: benchmarks/results; --quick: a temporary folder)")
    ap.add_argument("--authors-pruner", default=None, help="the authors' base.bin (default: `authors_checkpoint('base')`)")
    ap.add_argument("--ours-pruner", default=str(PACKAGED_PRUNERS["similarity"]),
                    help="the pruner of the smp_ours rows (default: the packaged similarity-objective pruner; smp_fit is the packaged default)")
    ap.add_argument("--fit-dir", default=None,
                    help="folder of scorers fitted to gradient importance, importance_scorer__<tasks>.safetensors: smp_heldout reads "
                         "the four-task ones, smp_fit the five-task one (default: results/importance_epochs3/ensemble3/fit, "
                         "with smp_fit reading the packaged pruner instead)")
    ap.add_argument("--tasks", default=",".join(TASKS)); ap.add_argument("--methods", default=",".join(METHODS))
    ap.add_argument("--sweep", action="store_true"); ap.add_argument("--repr", action="store_true")
    ap.add_argument("--all", action="store_true"); ap.add_argument("--report", action="store_true")
    ap.add_argument("--quick", action="store_true", help="smoke test: 64 train and dev rows, 1 epoch, 1 seed, task RTE unless --tasks")
    ap.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
    ap.add_argument("--seeds", default=None, help="only these seeds, e.g. 0 or 1,2 (default: all); "
                    "`--all --seeds 0` fills every section once before later seeds")
    a = ap.parse_args()
    try: a.seeds = None if a.seeds is None else {int(x) for x in a.seeds.split(",") if x.strip()}
    except ValueError: sys.exit(f"glue_table: --seeds takes comma-separated integers such as 0 or 1,2, not {a.seeds!r}.")
    if a.quick and "--tasks" not in sys.argv: a.tasks = "rte"
    if a.results is None: a.results = tempfile.mkdtemp(prefix="glue-quick-") if a.quick else str(RESULTS)
    if a.quick and Path(a.results).resolve() == RESULTS.resolve():
        sys.exit("glue_table: --quick results are not the table's: give --results a scratch folder (or leave it out).")
    if a.device is None: a.device = "cuda" if torch.cuda.is_available() else "cpu"
    tasks = [get_task(t).name for t in a.tasks.split(",") if t.strip()]
    methods = [m.strip() for m in a.methods.split(",") if m.strip()]
    bad = [m for m in methods if m not in METHODS]
    if bad: sys.exit(f"glue_table: unknown method(s) {bad}: choose from {METHODS}.")
    check_glue(a.glue, "glue_table")
    torch.set_num_threads(os.cpu_count())
    transformers.utils.logging.set_verbosity_error(); transformers.utils.logging.disable_progress_bar()
    datasets.disable_progress_bars()
    bench = Bench(a)
    Path(a.results).mkdir(parents=True, exist_ok=True)
    log(f"results in {a.results}" + (" (quick smoke test)" if a.quick else ""))
    for m in methods:
        why = bench.available(m)
        if why: log(f"method {m} will be skipped: {why}")
    if a.report: report(Path(a.results), bench); return
    bench.backfill_speedups()
    if not (a.sweep or a.repr) or a.all: bench.run(bench.cells(tasks, methods))
    if a.sweep or a.all: bench.run(bench.sweep_cells())
    if a.repr or a.all: bench.run_repr(methods)
    report(Path(a.results), bench)
    log(f"report: {Path(a.results) / 'glue_table.md'}")

if __name__ == "__main__": main()
