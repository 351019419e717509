"""Inference speed of the offline MiniLM, full vs 50% of heads physically removed, and the cost of scoring a task.

Both models run side by side in one process on the same inputs, taking turns (which goes first alternates), and
the median of several timed repeats is kept; the ratio of the two is the speed-up. The quartiles of each repeat's own
ratio (full time / pruned time, measured back to back) show how much one measurement moves. Then `score_heads` is timed on
2,000 SST-2 training sentences (read from ../shared/glue; skipped with a message if absent): with the packaged
pruner, and, in the same run for comparison, with its weights reading maps the two other ways (stretched to the whole
128 x 128 grid, and zero-padded as the authors' pruners do).

Usage: python benchmarks/prune_speed.py [--glue DIR] [--threads N] [--out benchmarks/results/prune_speed.json]
"""
import argparse, copy, json, os, platform, statistics, sys, time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from smp_nb.data import get_task, load_task, task_texts
from smp_nb.models import atomic_write
from smp_nb.models import load_encoder
from smp_nb.prune import macs_per_token, prune_heads, score_heads
from smp_nb.sampling import topk_mask
from smp_nb.scorer import HeadScorer, load_pruner

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
    return [statistics.median(t) for t in times], ratios

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--glue", default=str(ROOT.parent / "shared" / "glue"))
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "prune_speed.json"))
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    full, tok = load_encoder()
    pruner = load_pruner()
    texts = None
    if Path(a.glue).exists():
        texts = task_texts(load_task("sst2", "train", a.glue), get_task("sst2"))[:2000]
    sample = texts[:256] if texts else ["A short sentence to score.", "Another one, a little longer than the first."] * 16
    scores = score_heads(full, tok, sample, pruner=pruner, progress=False)
    mask = topk_mask(scores, 0.5)
    pruned = prune_heads(copy.deepcopy(full), mask).eval()
    rows = []
    for seq in (32, 128):
        for bs in (1, 8, 32):
            reps = 20 if 256 < bs * seq <= 1024 else 40  # 40 for the small cells and for the target, batch 32 x 128
            (tf, tp), (ratios,) = bench([full, pruned], bs, seq, reps)
            q1, _, q3 = statistics.quantiles(ratios, n=4)
            rows.append(dict(batch=bs, seq=seq, full_seq_per_s=bs / tf, pruned_seq_per_s=bs / tp, speedup=tf / tp,
                             repeat_speedup_quartiles=[q1, statistics.median(ratios), q3], repeats=reps))
            print(f"batch {bs:>2} seq {seq:>3}: full {bs / tf:8.1f} seq/s  pruned {bs / tp:8.1f} seq/s  speed-up {tf / tp:.2f}x"
                  f"  (one repeat's ratio: quartiles {q1:.2f}-{q3:.2f})", flush=True)
    res = dict(encoder="offline MiniLM (6 x 12, hidden 384)", heads_kept=int(mask.sum()), heads_total=mask.numel(),
               params=[sum(p.numel() for p in m.parameters()) for m in (full, pruned)],
               macs_per_token_seq128=[macs_per_token(m, 128) for m in (full, pruned)],
               threads=torch.get_num_threads(), torch=torch.__version__, cpu=platform.processor() or platform.machine(),
               throughput=rows)
    if texts:
        score_heads(full, tok, texts[:64], pruner=pruner, progress=False)  # warm-up
        res["score_heads_2000_sst2"] = {}
        for fit in dict.fromkeys([pruner.fit, "stretch", "pad"]):
            p = HeadScorer(pruner.ndf, fit); p.load_state_dict(pruner.state_dict()); p.eval()
            t = time.perf_counter(); score_heads(full, tok, texts, pruner=p, batch_size=32, progress=False)
            res["score_heads_2000_sst2"][fit] = time.perf_counter() - t
            print(f"score_heads on 2,000 SST-2 sentences, maps fitted by {fit!r}: {res['score_heads_2000_sst2'][fit]:.1f} s", flush=True)
        res["score_heads_2000_sst2_seconds"] = res["score_heads_2000_sst2"][pruner.fit]  # the packaged pruner's
        res["pruner_fit"] = pruner.fit
    else: print(f"GLUE data not found at {a.glue}: the scoring time is not measured")
    atomic_write(Path(a.out), lambda p: Path(p).write_text(json.dumps(res, indent=1)))
    target = next(r for r in rows if r["batch"] == 32 and r["seq"] == 128)["speedup"]
    print(f"batch 32 x 128 speed-up {target:.2f}x (target 1.25x); parameters {res['params'][0]:,} -> {res['params'][1]:,}")

if __name__ == "__main__": main()
