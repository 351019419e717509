"""Inference speed of the offline MiniLM, full vs 50% of heads physically removed, and the cost of scoring a task.

Claim: removing half the heads makes MiniLM about 1.2x faster at batch 32 x 128 on a CPU (the bound, 1.21x-1.22x,
  is what halving attention can give this model), and scoring 2,000 sentences with the packaged pruner takes under
  30 s. Shown by the home page (README/index) and the pruning page (07_prune).
Run:    python benchmarks/prune_speed.py [--threads 2] [--trials 5]
Time:   roughly 15-20 minutes on a 2-core CPU (not recorded; the scoring part alone about 2.5 minutes).
Writes: benchmarks/results/prune_speed.json and prune_time.png (the run before the packaged three-fit pruner is kept
  as prune_speed_before.json).

Both models run side by side in one process on the same inputs, taking turns (which goes first alternates), and
the median of several timed repeats is kept; the ratio of the two is the speed-up. The quartiles of each repeat's own
ratio (full time / pruned time, measured back to back) show how much one measurement moves, and the ratio of the two
fastest repeats is kept too. Speed-ups on this shared machine also move from one process to the next (by more than
within one), so the target cell, batch 32 x 128, is measured again in `--trials` fresh processes, and their median and
range are reported. Within a process, identical copies of one model also differ in speed by a few percent, so each
trial times three instances of each model in turns and compares the median instances. Each trial also splits both
models' time into attention (timed by `prune_report` with forward hooks) and the rest, which gives the most that
removing these heads can give (`speedup_bound`, Amdahl's law); the split of the median trial is plotted
(`prune_time.png`). Then `score_heads` is timed on 2,000 SST-2 training sentences (read by `load_task`; skipped
with a message if GLUE cannot be read): with the packaged pruner, and, in the same run for comparison, with its weights reading
maps the two other ways (stretched to the whole 128 x 128 grid, and zero-padded as the authors' pruners do).

Options: [--glue DIR] [--threads N] [--trials 5] [--out benchmarks/results/prune_speed.json] (the plot is written beside
the JSON file)
"""
import argparse, copy, json, os, statistics, subprocess, sys, tempfile, time
from pathlib import Path

import torch

from common import add_glue_arg, cpu_model, RESULTS, save_png, write_json
from smp_nb.data import get_task, load_task, task_texts
from smp_nb.models import load_encoder
from smp_nb.prune import load_mask, macs_per_token, prune_heads, prune_report, save_mask, score_heads
from smp_nb.sampling import topk_mask
from smp_nb.scorer import HeadScorer, ScorerEnsemble, load_pruner

@torch.inference_mode()
def bench(models, batch, seq, repeats, warmup=2, seed=0):
    "Median seconds per forward of each model on the same random batch, alternating the order; and each repeat's ratio of the first model's time to the others'."
    g = torch.Generator().manual_seed(seed)
    x = dict(input_ids=torch.randint(1000, 29000, (batch, seq), generator=g), attention_mask=torch.ones(batch, seq, dtype=torch.long))
    times = [[] for _ in models]
    for r in range(warmup + repeats):
        order = range(len(models)) if r % 2 == 0 else reversed(range(len(models)))
        for i in order:
            t = time.perf_counter(); models[i](**x); dt = time.perf_counter() - t
            if r >= warmup: times[i].append(dt)
    ratios = [[a / b for a, b in zip(times[0], t)] for t in times[1:]]
    return [statistics.median(t) for t in times], ratios, [min(t) for t in times]

def plot_split(split, path):
    "Horizontal bars: each model's seconds per batch in attention and in the rest, with the measured and bounded speed-ups."
    import matplotlib; matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(7, 2.4))
    names = ["full (72 heads)", "pruned (36 heads)"]
    att, rest = split["attention_seconds"], split["rest_seconds"]
    ax.barh(names, att, color="tab:orange", label="attention (projections + attention)")
    ax.barh(names, rest, left=att, color="tab:gray", label="the rest (feed-forward, embeddings, norms)")
    for i in range(2):
        ax.text(att[i] / 2, i, f"{att[i] * 1e3:.0f} ms", ha="center", va="center", color="white", fontsize=9)
        ax.text(att[i] + rest[i] / 2, i, f"{rest[i] * 1e3:.0f} ms", ha="center", va="center", color="white", fontsize=9)
    ax.invert_yaxis(); ax.set_xlabel(f"seconds per batch of {split['batch']} x {split['seq']} tokens")
    ax.set_title(f"attention {split['attention_speedup']:.2f}x faster, the rest {split['rest_speedup']:.2f}x: the model "
                 f"{(att[0] + rest[0]) / (att[1] + rest[1]):.2f}x ({split['speedup_bound']:.2f}x with attention halved, "
                 f"the rest unchanged)", fontsize=10)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.3), ncol=2, fontsize=8, frameon=False)
    save_png(fig, path)
    plt.close(fig)

def attention_split(rep) -> dict:
    "Seconds per batch in attention and in the rest for both models of a `PruneReport`, from the same hooked passes."
    rest = [s * (1 - a) / a for s, a in zip(rep.attention_seconds, rep.attention_share)]
    return dict(attention_share=list(rep.attention_share), attention_seconds=list(rep.attention_seconds), rest_seconds=rest,
                attention_speedup=rep.attention_seconds[0] / rep.attention_seconds[1], rest_speedup=rest[0] / rest[1],
                report_speedup=rep.speedup, speedup_bound=rep.speedup_bound)

def trial(mask_path, repeats=20, split_repeats=20, copies=3) -> dict:
    """One fresh process's measurement of the target cell: `copies` instances of each model timed in turns, then
    `prune_report`'s attention split. Identical instances of one model differ in speed by a few percent within a
    process (how their memory happened to be laid out), so one full and one pruned instance would carry that noise into
    the ratio; the median instance of each is compared instead."""
    full, _ = load_encoder()
    mask, _ = load_mask(mask_path)
    pruned = prune_heads(copy.deepcopy(full), mask).eval()
    fulls = [full] + [copy.deepcopy(full).eval() for _ in range(copies - 1)]
    pruneds = [pruned] + [copy.deepcopy(pruned).eval() for _ in range(copies - 1)]
    med, _, fastest = bench(fulls + pruneds, 32, 128, repeats)
    tf, tp = statistics.median(med[:copies]), statistics.median(med[copies:])
    rep = prune_report(full, pruned, batch_size=32, seq_len=128, repeats=split_repeats, warmup=2)
    return dict(batch=32, seq=128, speedup=tf / tp, speedup_fastest=min(fastest[:copies]) / min(fastest[copies:]),
                speedup_first_instances=med[0] / med[copies], full_instance_spread=max(med[:copies]) / min(med[:copies]),
                pruned_instance_spread=max(med[copies:]) / min(med[copies:]), copies=copies, repeats=repeats,
                split_repeats=split_repeats, **attention_split(rep))

def run_trials(mask, n, threads) -> list:
    "`trial` in `n` fresh processes, one after another."
    with tempfile.TemporaryDirectory() as d:
        path = save_mask(mask, Path(d) / "mask.json")
        out = []
        for i in range(n):
            r = subprocess.run([sys.executable, __file__, "--trial", str(path), "--threads", str(threads)],
                               capture_output=True, text=True, check=True)
            out.append(json.loads(r.stdout.strip().splitlines()[-1]))
            t = out[-1]
            print(f"trial {i + 1}/{n} (fresh process), batch 32 x 128: speed-up {t['speedup']:.2f}x (fastest repeats "
                  f"{t['speedup_fastest']:.2f}x, one instance each {t['speedup_first_instances']:.2f}x; instances of the "
                  f"full model differ by up to {t['full_instance_spread']:.2f}x, of the pruned one "
                  f"{t['pruned_instance_spread']:.2f}x); attention {t['attention_share'][0]:.1%} of the full model's time, "
                  f"{t['attention_speedup']:.2f}x faster, the rest {t['rest_speedup']:.2f}x; bound {t['speedup_bound']:.2f}x",
                  flush=True)
    return out

def summarise(trials) -> dict:
    "Median and range over trials of the numbers that matter for the target."
    keys = ("speedup", "speedup_fastest", "speedup_first_instances", "full_instance_spread", "pruned_instance_spread",
            "attention_share_full", "attention_speedup", "rest_speedup", "speedup_bound")
    rows = [dict(t, attention_share_full=t["attention_share"][0]) for t in trials]
    return {k: dict(median=statistics.median(r[k] for r in rows), min=min(r[k] for r in rows), max=max(r[k] for r in rows))
            for k in keys}

def refit(pruner, fit: str):
    "The same weights reading maps fitted another way (`fit`): a `HeadScorer`, or a `ScorerEnsemble` of such members."
    def one(m):
        p = HeadScorer(m.ndf, fit); p.load_state_dict(m.state_dict()); return p.eval()
    return ScorerEnsemble([one(m) for m in pruner.members]).eval() if isinstance(pruner, ScorerEnsemble) else one(pruner)

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_glue_arg(ap)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--out", default=str(RESULTS / "prune_speed.json"))
    ap.add_argument("--trials", type=int, default=5, help="fresh processes measuring batch 32 x 128 again")
    ap.add_argument("--trial", help=argparse.SUPPRESS)  # internal: run one trial with this mask file, print JSON
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    if a.trial:
        print(json.dumps(trial(a.trial)))
        return
    full, tok = load_encoder()
    pruner = load_pruner()
    try: texts = task_texts(load_task("sst2", "train", a.glue), get_task("sst2"))[:2000]
    except Exception as e: texts, why = None, f"{type(e).__name__}: {e}"
    sample = texts[:256] if texts else ["A short sentence to score.", "Another one, a little longer than the first."] * 16
    scores = score_heads(full, tok, sample, pruner=pruner, progress=False)
    mask = topk_mask(scores, 0.5)
    pruned = prune_heads(copy.deepcopy(full), mask).eval()
    rows = []
    for seq in (32, 128):
        for bs in (1, 8, 32):
            reps = 20 if 256 < bs * seq <= 1024 else 40  # 40 for the small cells and for the target, batch 32 x 128
            (tf, tp), (ratios,), (mf, mp) = bench([full, pruned], bs, seq, reps)
            q1, _, q3 = statistics.quantiles(ratios, n=4)
            rows.append(dict(batch=bs, seq=seq, full_seq_per_s=bs / tf, pruned_seq_per_s=bs / tp, speedup=tf / tp,
                             repeat_speedup_quartiles=[q1, statistics.median(ratios), q3], speedup_fastest=mf / mp, repeats=reps))
            print(f"batch {bs:>2} seq {seq:>3}: full {bs / tf:8.1f} seq/s  pruned {bs / tp:8.1f} seq/s  speed-up {tf / tp:.2f}x"
                  f"  (one repeat's ratio: quartiles {q1:.2f}-{q3:.2f}; fastest repeats {mf / mp:.2f}x)", flush=True)
    trials = run_trials(mask, a.trials, a.threads) if a.trials > 0 else []
    summary = summarise(trials) if trials else None
    res = dict(encoder="offline MiniLM (6 x 12, hidden 384)", heads_kept=int(mask.sum()), heads_total=mask.numel(),
               params=[sum(p.numel() for p in m.parameters()) for m in (full, pruned)],
               macs_per_token_seq128=[macs_per_token(m, 128) for m in (full, pruned)],
               threads=torch.get_num_threads(), torch=torch.__version__, cpu=cpu_model(),
               throughput=rows, target_trials=trials, target_summary=summary)
    if texts:
        score_heads(full, tok, texts[:64], pruner=pruner, progress=False)  # warm-up
        res["score_heads_2000_sst2"] = {}
        for fit in dict.fromkeys([pruner.fit, "stretch", "pad"]):
            p = refit(pruner, fit)
            t = time.perf_counter(); score_heads(full, tok, texts, pruner=p, batch_size=32, progress=False)
            res["score_heads_2000_sst2"][fit] = time.perf_counter() - t
            print(f"score_heads on 2,000 SST-2 sentences, maps fitted by {fit!r}: {res['score_heads_2000_sst2'][fit]:.1f} s", flush=True)
        res["score_heads_2000_sst2_seconds"] = res["score_heads_2000_sst2"][pruner.fit]  # the packaged pruner's
        res["pruner_fit"] = pruner.fit
    else: print(f"SST-2 could not be read ({why}): the scoring time is not measured")
    write_json(a.out, res)
    target = next(r for r in rows if r["batch"] == 32 and r["seq"] == 128)["speedup"]
    print(f"batch 32 x 128 speed-up in the grid {target:.2f}x (target 1.25x); parameters {res['params'][0]:,} -> {res['params'][1]:,}")
    if trials:
        mid = sorted(trials, key=lambda t: t["speedup"])[(len(trials) - 1) // 2]
        plot_split(mid, Path(a.out).with_name("prune_time.png"))
        sp, b = summary["speedup"], summary["speedup_bound"]
        print(f"over {len(trials)} fresh processes: speed-up median {sp['median']:.2f}x (range {sp['min']:.2f}-{sp['max']:.2f}); "
              f"bound median {b['median']:.2f}x (range {b['min']:.2f}-{b['max']:.2f})")

if __name__ == "__main__": main()
