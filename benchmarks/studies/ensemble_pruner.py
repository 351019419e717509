"""Average fitted scorers into one pruner: the same-named scorer files of several fit folders, one ScorerEnsemble each.

Usage: python benchmarks/studies/ensemble_pruner.py --members DIR0,DIR1,DIR2 --out DIR
       python benchmarks/studies/ensemble_pruner.py --members benchmarks/results/importance_epochs3/fit,benchmarks/results/importance_epochs3/fit_seed1/fit,benchmarks/results/importance_epochs3/fit_seed2/fit --out benchmarks/results/importance_epochs3/ensemble3/fit

Every `*.safetensors` scorer of the first folder must be in all the others, fitted with the same settings but a
different seed (the cards are compared, all but `seed`, timings and the losses); the ensemble of each is written to
--out under the same name, its card the first member's with `fit_seeds` and `members`. This is what
`train_pruner.py --fit-seeds 0,1,2` makes in one go (`fit_ensemble`); combining finished fits saves refitting them.

Time: seconds.
"""
import argparse, sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/: common
from common import ROOT
from smp_nb.scorer import ScorerEnsemble, load_scorer, save_scorer

VARY = {"seed", "fit_seeds", "fit_seconds", "wall_seconds", "first_losses", "final_losses", "threads", "torch", "importance_runs"}

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--members", required=True, help="comma-separated folders of fitted scorers, one per fit seed")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    dirs = [Path(d) for d in a.members.split(",") if d.strip()]
    if len(dirs) < 2: sys.exit(f"--members: name at least two folders of fitted scorers, comma-separated; got {a.members!r}.")
    missing = [str(d) for d in dirs if not d.is_dir()]
    if missing: sys.exit(f"--members: no such folder: {', '.join(missing)}.")
    names = sorted(p.name for p in dirs[0].glob("*.safetensors"))
    if not names: sys.exit(f"--members: {dirs[0]} holds no .safetensors scorer.")
    plan = []
    for name in names:
        paths = [d / name for d in dirs]
        absent = [str(p) for p in paths if not p.is_file()]
        if absent: sys.exit(f"{name} is missing from {', '.join(absent)}: every folder needs the same scorers.")
        members = [load_scorer(p) for p in paths]
        seeds = [m.card.get("seed") for m in members]
        if len(set(seeds)) != len(seeds): sys.exit(f"{name}: the members were fitted with the same seed ({seeds}); an ensemble needs different ones.")
        same = [{k: v for k, v in m.card.items() if k not in VARY} for m in members]
        for p, c in zip(paths[1:], same[1:]):
            diff = sorted(k for k in set(c) | set(same[0]) if c.get(k) != same[0].get(k))
            if diff: sys.exit(f"{p} was fitted differently from {paths[0]} (card keys {diff}): members must differ in their seed only.")
        plan.append((name, members, seeds, paths))
    out = Path(a.out); out.mkdir(parents=True, exist_ok=True)
    for name, members, seeds, paths in plan:
        card = {k: v for k, v in members[0].card.items() if k not in ("seed", "first_losses", "final_losses")}
        card.update(fit_seeds=seeds, fit_seconds=round(sum(m.card.get("fit_seconds", 0) for m in members), 1),
                    member_files=[str(p.resolve().relative_to(ROOT)) if p.resolve().is_relative_to(ROOT) else str(p) for p in paths])
        save_scorer(ScorerEnsemble(members), out / name, **card)
        print(f"{out / name}: {len(members)} fits, seeds {seeds}")

if __name__ == "__main__": main()
