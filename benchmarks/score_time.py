"""The cost of scoring heads, side by side: `score_heads` on the same 2,000 SST-2 training sentences, per pruner and per way of scoring an ensemble.

Claim: the packaged three-fit pruner scores 2,000 SST-2 sentences faster with the shared pass (maps stretched once,
  the members' first convolutions run as one, batch norm folded) than member by member, with the same scores (to
  1e-5) and the same kept heads. Shown by the scorer page (one pass for all members).
Run:    python benchmarks/score_time.py --repeats 5 --threads 2 --out benchmarks/results/score_time.json
Time:   about 4 minutes on a 2-core CPU with the CPU to itself (5 repeats of each way, plus a warm-up); a loaded CPU
  says nothing here.
Writes: --out (benchmarks/results/score_time.json), and prints the same JSON.

Options: [--pruners importance] [--ways each,shared] [--rows 2000] [--repeats 3] [--threads 2] [--out FILE.json] [--glue DIR]

Every pruner of --pruners (files or packaged names) is timed each way of --ways that applies to it: "shared" is
today's `score_maps` (for an ensemble in eval mode, one pass shared by the members), "each" scores an ensemble
member by member (`ScorerEnsemble._score_each`, as every version before the shared pass did); a single scorer has
one way only. The runs take turns (the order rotates each repeat) in one process on the same inputs and the same
encoder, so each repeat gives every run's time under the same load; medians, ranges and each run's time relative
to the first (median of the per-repeat ratios) are printed and written to --out, with the largest gap between the
ways' scores and whether they keep the same heads. One untimed pass first loads and warms up.
`benchmarks/results/ensemble_score_time.json` (one fit against three, member by member) came from this script's
earlier version; `--pruners A,B --ways each` runs the same comparison.
"""
import argparse, json, os, statistics, sys, time
import torch

from common import add_glue_arg, check_glue, write_json
from smp_nb.data import load_task, task_texts
from smp_nb.models import load_encoder
from smp_nb.prune import score_heads
from smp_nb.scorer import ScorerEnsemble, load_pruner

WAYS = ("each", "shared")

class MemberByMember(ScorerEnsemble):
    "An ensemble scored as before the shared pass: each member's `score_maps` in turn, then the mean."
    def score_maps(self, maps): return self._score_each(maps)

def as_way(pruner, way:str):
    "`pruner` scored the way `way`: the member-by-member twin of an ensemble (sharing its members) for \"each\"."
    if way == "each" and isinstance(pruner, ScorerEnsemble):
        twin = MemberByMember(list(pruner.members)).eval()
        twin.card = getattr(pruner, "card", None)
        return twin
    return pruner

def runs_of(names:list, ways:list) -> dict:
    "`{label: (name, way, pruner)}` for every pruner and every way that applies to it."
    runs = {}
    for n in names:
        try: p = load_pruner(n)
        except (FileNotFoundError, ValueError) as e: sys.exit(f"--pruners: {e}")
        for w in (ways if isinstance(p, ScorerEnsemble) else ways[:1]):
            runs[f"{n} ({w})" if isinstance(p, ScorerEnsemble) else n] = (n, w, as_way(p, w))
    return runs

def agreement(model, tok, texts, runs:dict) -> dict:
    "Per pruner with both ways: the largest gap between their head scores on `texts`, and whether they keep the same heads."
    out, by_name = {}, {}
    for label, (n, w, p) in runs.items(): by_name.setdefault(n, {})[w] = p
    for n, ps in by_name.items():
        if len(ps) < 2: continue
        s = {w: score_heads(model, tok, texts, pruner=p, progress=False) for w, p in ps.items()}
        a, b = s["each"], s["shared"]
        kept = lambda x, k: set(x.flatten().topk(k).indices.tolist())
        out[n] = dict(max_abs_gap=float((a - b).abs().max()),
                      same_kept_heads={f"{q}%": kept(a, round(a.numel() * q / 100)) == kept(b, round(b.numel() * q / 100))
                                       for q in (25, 50, 75)})
    return out

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pruners", default="importance", help="comma-separated pruner files (or packaged names), the first is the reference")
    ap.add_argument("--ways", default="each,shared", help=f"comma-separated ways of scoring an ensemble, of {WAYS}; the first is the reference")
    add_glue_arg(ap)
    ap.add_argument("--rows", type=int, default=2000); ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=os.cpu_count()); ap.add_argument("--out")
    a = ap.parse_args()
    if a.repeats < 1 or a.rows < 1: sys.exit(f"--repeats and --rows must be positive; got {a.repeats} and {a.rows}.")
    ways = [w for w in a.ways.split(",") if w.strip()]
    if not ways or any(w not in WAYS for w in ways): sys.exit(f"--ways: use some of {', '.join(WAYS)}; got {a.ways!r}.")
    check_glue(a.glue, "score_time")
    runs = runs_of([p for p in a.pruners.split(",") if p.strip()], ways)
    torch.set_num_threads(a.threads)
    model, tok = load_encoder()
    texts = task_texts(load_task("sst2", "train", a.glue), "sst2")[:a.rows]  # the first rows, as prune_speed.py takes them
    agree = agreement(model, tok, texts[:256], runs)  # also the warm-up
    labels, times = list(runs), {k: [] for k in runs}
    for r in range(a.repeats):
        for k in labels[r % len(labels):] + labels[:r % len(labels)]:
            t = time.perf_counter(); score_heads(model, tok, texts, pruner=runs[k][2], progress=False)
            times[k].append(time.perf_counter() - t)
            print(f"repeat {r}: {k}: {times[k][-1]:.1f} s", flush=True)
    ref = labels[0]
    out = dict(rows=len(texts), threads=torch.get_num_threads(), torch=torch.__version__, repeats=a.repeats,
               runs={k: dict(pruner=n, way=w, members=len(getattr(p, "members", [p])), seconds=[round(x, 2) for x in times[k]],
                             median_seconds=round(statistics.median(times[k]), 2),
                             range_seconds=[round(min(times[k]), 2), round(max(times[k]), 2)],
                             ratio_to_first=round(statistics.median(x / y for x, y in zip(times[k], times[ref])), 3))
                     for k, (n, w, p) in runs.items()},
               agreement=agree)
    print(json.dumps(out, indent=1))
    if a.out: write_json(a.out, out, end="\n")

if __name__ == "__main__": main()
