"""GLUE rows of pruner recipes side by side, with how far apart they could be by chance.

Claim: the packaged three-fit pruner's five-task average (67.25 ± 0.12) is above the authors' checkpoint by
  1.03 ± 0.35 and level with unpruned; rows closer than about 0.9 cannot be told apart. Shown by the meta-training
  page ("how far apart the rows are").
Run:    python benchmarks/compare_rows.py
Time:   seconds (it reads finished GLUE cells; no run happens here).
Writes: benchmarks/results/compare_rows.md, compare_rows.json and compare_rows.png.

Reads finished GLUE cells (benchmarks/glue_table.py's JSON files, same protocol: 50% heads, 3 epochs at 5e-5,
fine-tuning seeds 0, 1, 2) from several result folders: the main table's (whose smp_fit and smp_heldout rows are the
packaged recipe: importance read after 3 epochs, three fits with seeds 0, 1 and 2 averaged in one `ScorerEnsemble`)
and the recipe experiments' (importance_epochs3/: one fit, seed 0, packaged before; importance_epochs3/fit_seed1/:
one fit, seed 1; importance_epochs3/ensemble3/: the three fits averaged, fits 0 and 1 made on another CPU type, whose
arithmetic ends the fit elsewhere; importance_epochs1/: importance read after 1 epoch, packaged earlier). Rows are
labelled by what they change. For every row:
the mean GLUE score per task, the five-task average, and its standard error (each task's seed-to-seed variance
divided by its number of seeds, summed, square-rooted, divided by 5). For every row against the authors' checkpoint:
the difference of the averages and the standard error of that difference. No run happens here; the figures move
only when new cells are added.
"""
import argparse, json, math, statistics
from pathlib import Path

from common import RESULTS as RES, ROOT, save_png, write_json, write_text
TASKS = ["sst2", "cola", "mrpc", "rte", "stsb"]
NAMES = dict(sst2="SST-2", cola="CoLA", mrpc="MRPC", rte="RTE", stsb="STS-B")
# (label, results folder, method in that folder)
ROWS = [
    ("unpruned", RES, "unpruned"),
    ("SMP (authors' base.bin)", RES, "smp_authors"),
    ("importance (Michel; labels on the task)", RES, "importance"),
    ("3 fits averaged (packaged; fit seeds 0, 1, 2)", RES, "smp_fit"),
    ("3 fits averaged, task held out", RES, "smp_heldout"),
    ("3 fits averaged, fits 0-1 made on another CPU", RES / "importance_epochs3" / "ensemble3", "smp_fit"),
    ("one fit, seed 0 (packaged before)", RES / "importance_epochs3", "smp_fit"),
    ("one fit, seed 0, task held out", RES / "importance_epochs3", "smp_heldout"),
    ("one fit, seed 1", RES / "importance_epochs3" / "fit_seed1", "smp_fit"),
    ("one fit, seed 1, task held out", RES / "importance_epochs3" / "fit_seed1", "smp_heldout"),
    ("importance after 1 epoch, one fit (packaged earlier)", RES / "importance_epochs1", "smp_fit"),
    ("importance after 1 epoch, fit seed 1", RES / "fit_seeds" / "seed1", "smp_fit"),
    ("importance after 1 epoch, 3 fine-tuning seeds averaged", RES / "importance_seeds", "smp_fit"),
    ("importance after 1 epoch, task held out", RES / "importance_epochs1", "smp_heldout"),
    ("attention confidence", RES, "confidence"),
]
REFERENCE = "SMP (authors' base.bin)"


def cells(folder: Path, method: str) -> dict:
    "{task: [GLUE score x 100 per fine-tuning seed]} of one method's finished cells in `folder`."
    out = {}
    for t in TASKS:
        ratio = "r0" if method == "unpruned" else "r50"
        fs = sorted((folder / "glue").glob(f"{t}__{method}__{ratio}__s*.json"))
        out[t] = [100 * json.loads(f.read_text())["main"] for f in fs]
    return out


def row_stats(runs: dict) -> dict | None:
    "Means per task, the average and its standard error; None unless every task has at least 2 seeds."
    if any(len(v) < 2 for v in runs.values()): return None
    means = {t: statistics.mean(v) for t, v in runs.items()}
    se = math.sqrt(sum(statistics.variance(v) / len(v) for v in runs.values())) / len(runs)
    return dict(means=means, average=statistics.mean(means.values()), se=se, seeds={t: len(v) for t, v in runs.items()})


def main():
    argparse.ArgumentParser(description=__doc__.split("\n\n")[0]).parse_args()
    rows = {}
    for label, folder, method in ROWS:
        runs = cells(folder, method)
        st = row_stats(runs)
        rows[label] = dict(folder=str(folder.relative_to(ROOT)), method=method, runs=runs, **(st or {}))
    ref = rows[REFERENCE]
    lines = ["| recipe | " + " | ".join(NAMES[t] for t in TASKS) + " | average ± s.e. | minus the authors' ± s.e. |",
             "|---|" + "---:|" * (len(TASKS) + 2)]
    for label, r in rows.items():
        if "average" not in r:
            done = sum(len(v) for v in r["runs"].values())
            lines.append(f"| {label} | " + " | ".join("-" for _ in TASKS) + f" | ({done} of 15 cells) | - |")
            continue
        d = r["average"] - ref["average"]
        r["minus_reference"] = d; r["minus_reference_se"] = math.hypot(r["se"], ref["se"])
        vs = "-" if label == REFERENCE else f"{d:+.2f} ± {r['minus_reference_se']:.2f}"
        n = sum(r["seeds"].values())
        if n < 15: label = f"{label} (partial: {n} of 15 cells)"
        lines.append(f"| {label} | " + " | ".join(f"{r['means'][t]:.1f}" for t in TASKS) + f" | {r['average']:.2f} ± {r['se']:.2f} | {vs} |")
    text = "\n".join(lines) + "\n"
    write_text(RES / "compare_rows.md", text)
    write_json(RES / "compare_rows.json", rows)
    import matplotlib; matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    done = [(k, r) for k, r in rows.items() if "average" in r]
    fig, ax = plt.subplots(figsize=(7, 0.45 * len(done) + 1.2))
    for i, (k, r) in enumerate(done):
        ax.errorbar(r["average"], i, xerr=r["se"], fmt="o", capsize=3, color="black" if k == REFERENCE else "C0")
    ax.axvline(ref["average"], color="grey", lw=0.8, ls="--")
    ax.set_yticks(range(len(done)), [k for k, _ in done], fontsize=8); ax.invert_yaxis()
    ax.set_xlabel("GLUE average x 100, five tasks (mean ± standard error over fine-tuning seeds)")
    ax.set_title("MiniLM, 50% of heads removed, then fine-tuned", fontsize=9)
    save_png(fig, RES / "compare_rows.png")
    print(text)


if __name__ == "__main__": main()
