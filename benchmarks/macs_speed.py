"""Inference speed of the offline MiniLM with heads AND feed-forward neurons removed to a multiply-add budget.

Claim: removing heads and neurons together reaches the speed-up that heads alone cannot (at most 1.21x on MiniLM at
  batch 32 x 128, where attention is about a third of the time): this script measures the speed-up at 60% and 50% of
  the encoder's multiply-adds, beside the bound for that budget. Shown by the neurons page (08_neurons).
Run:    python benchmarks/macs_speed.py [--threads 2] [--trials 3]
Time:   about 3-4 minutes on a 2-core CPU (each trial a fresh process of about a minute).
Writes: benchmarks/results/macs_speed.json

Which heads and neurons go does not change the speed, so each budget keeps the same share of every layer (random
heads and neurons, seeded): `f` of the heads, rounded to whole heads, then as many neurons as bring the multiply-adds
per token at 128 tokens (`macs_per_token`) to the budget. All models run side by side in one process on the same
random batch, taking turns; each model has three instances and the median instance is compared (identical copies
differ by a few percent on this machine). Each trial also times, with forward hooks on the full model, the share of
its time spent in attention and in the feed-forward blocks; the bound for a budget is then Amdahl's law with
attention scaled by the share of heads kept and the feed-forward blocks by the share of neurons kept, the rest
(embeddings, norms, residuals) unchanged. The median and range over `--trials` fresh processes are reported, and
`macs_bound`, the inverse of the multiply-adds kept. Smaller matrices also fit the CPU's caches better, so a measured
speed-up can pass both (it did in the first runs, by a few percent): read them as what the arithmetic alone predicts.
"""
import argparse, copy, json, os, statistics, subprocess, sys, time

import torch

from common import RESULTS, cpu_model, log, write_json
from prune_speed import bench
from smp_nb.models import adapter_for, attention_layers, base_model, head_grid, load_encoder, neurons_per_layer
from smp_nb.neurons import prune_neurons
from smp_nb.prune import macs_per_token, prune_heads

BUDGETS = (0.6, 0.5)

def keep_share(model, heads:int, neurons:int, seed:int=0):
    "A copy of `model` keeping `heads` random heads and `neurons` random neurons of every layer."
    g = torch.Generator().manual_seed(seed)
    (L, H), I = head_grid(model), neurons_per_layer(model)[0]
    hmask = torch.zeros(L, H)
    for l in range(L): hmask[l, torch.randperm(H, generator=g)[:heads]] = 1.0
    keep = [torch.randperm(I, generator=g)[:neurons].sort().values for _ in range(L)]
    m = prune_heads(copy.deepcopy(model), hmask)
    return prune_neurons(m, keep).eval()

def for_budget(model, budget:float, seq:int=128):
    "`(heads, neurons)` per layer whose model comes closest to `budget` of the full model's multiply-adds per token."
    full, H, I = macs_per_token(model, seq), head_grid(model)[1], neurons_per_layer(model)[0]
    heads = max(1, round(budget * H))
    lo, hi = 0, I   # multiply-adds grow with the neurons kept: bisect for the budget
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if macs_per_token(keep_share(model, heads, mid), seq) <= budget * full: lo = mid
        else: hi = mid - 1
    return heads, lo

class _Clock:
    "Seconds spent inside a set of modules, from forward pre-hooks and forward hooks."
    def __init__(self, modules):
        self.seconds, self._t = 0.0, None
        self.handles = [h for m in modules for h in (m.register_forward_pre_hook(self._start), m.register_forward_hook(self._stop))]
    def _start(self, *a): self._t = time.perf_counter()
    def _stop(self, *a): self.seconds += time.perf_counter() - self._t
    def remove(self):
        for h in self.handles: h.remove()

def ffn_blocks(model) -> list:
    "Each layer's feed-forward block as the modules to time: its first input projection through its output projection."
    ad = adapter_for(model)
    return [(ad.ffn_in(layer)[0], ad.ffn_out(layer)) for layer in ad.layers(base_model(model))]

@torch.inference_mode()
def time_shares(model, batch:int=32, seq:int=128, repeats:int=10) -> dict:
    "Share of the full model's time in attention (self-attention modules) and in the feed-forward blocks."
    g = torch.Generator().manual_seed(1)
    x = dict(input_ids=torch.randint(1000, 29000, (batch, seq), generator=g), attention_mask=torch.ones(batch, seq, dtype=torch.long))
    ad = adapter_for(model)
    att = _Clock([ad.self_attention(l) for l in attention_layers(model)] + [ad.out_proj(l) for l in attention_layers(model)])
    starts, stops = zip(*ffn_blocks(model))
    ffn = {"s": 0.0, "t": None}
    hs = [m.register_forward_pre_hook(lambda *a: ffn.update(t=time.perf_counter())) for m in starts] + \
         [m.register_forward_hook(lambda *a: ffn.update(s=ffn["s"] + time.perf_counter() - ffn["t"])) for m in stops]
    for _ in range(2): model(**x)
    att.seconds, ffn["s"], total = 0.0, 0.0, 0.0
    for _ in range(repeats):
        t = time.perf_counter(); model(**x); total += time.perf_counter() - t
    att.remove()
    for h in hs: h.remove()
    return dict(attention=att.seconds / total, ffn=ffn["s"] / total)

def trial(copies:int=3, repeats:int=20) -> dict:
    "One fresh process: the full model and one per budget, `copies` instances each, timed in turns; the time shares."
    full, _ = load_encoder()
    full.eval()
    H, I = head_grid(full)[1], neurons_per_layer(full)[0]
    plans = {b: for_budget(full, b) for b in BUDGETS}
    models = [full] + [keep_share(full, *plans[b]) for b in BUDGETS]
    insts = [[m] + [copy.deepcopy(m).eval() for _ in range(copies - 1)] for m in models]
    med, _, _ = bench([m for ms in insts for m in ms], 32, 128, repeats)
    per = [statistics.median(med[i * copies:(i + 1) * copies]) for i in range(len(models))]
    shares = time_shares(full)
    out = dict(shares=shares, rows=[])
    for b, m, t in zip(BUDGETS, models[1:], per[1:]):
        heads, neurons = plans[b]
        kept = 1 - shares["attention"] * (1 - heads / H) - shares["ffn"] * (1 - neurons / I)
        out["rows"].append(dict(budget=b, heads=heads, neurons=neurons, macs=macs_per_token(m) / macs_per_token(full),
                                params=sum(p.numel() for p in m.parameters()), speedup=per[0] / t, bound=1 / kept,
                                macs_bound=macs_per_token(full) / macs_per_token(m)))
    return out

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--trials", type=int, default=3, help="fresh processes, one after another")
    ap.add_argument("--out", default=str(RESULTS / "macs_speed.json"))
    ap.add_argument("--trial", action="store_true", help=argparse.SUPPRESS)  # internal: one trial, JSON on stdout
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    if a.trial: print(json.dumps(trial())); return
    trials = []
    for i in range(a.trials):
        r = subprocess.run([sys.executable, __file__, "--trial", "--threads", str(a.threads)], capture_output=True, text=True, check=True)
        trials.append(json.loads(r.stdout.strip().splitlines()[-1]))
        log(f"trial {i + 1}/{a.trials}: " + "; ".join(f"{r['budget']:.0%} of MACs ({r['heads']} heads, {r['neurons']} neurons): "
                                                      f"{r['speedup']:.2f}x, bound {r['bound']:.2f}x" for r in trials[-1]["rows"]))
    full, _ = load_encoder()
    summary = []
    for j, b in enumerate(BUDGETS):
        rows = [t["rows"][j] for t in trials]
        def stat(k): v = [r[k] for r in rows]; return dict(median=statistics.median(v), min=min(v), max=max(v))
        summary.append(dict(budget=b, heads=rows[0]["heads"], neurons=rows[0]["neurons"], macs=rows[0]["macs"],
                            params=[sum(p.numel() for p in full.parameters()), rows[0]["params"]],
                            speedup=stat("speedup"), bound=stat("bound"), macs_bound=rows[0]["macs_bound"]))
    shares = {k: statistics.median(t["shares"][k] for t in trials) for k in ("attention", "ffn")}
    write_json(a.out, dict(benchmark="macs_speed", encoder="sentence-transformers/all-MiniLM-L6-v2", batch=32, seq=128,
                           threads=a.threads, torch=torch.__version__, cpu=cpu_model(), trials=trials, shares=shares,
                           summary=summary))
    for s in summary:
        log(f"{s['budget']:.0%} of the multiply-adds ({s['heads']} heads, {s['neurons']} neurons per layer; measured "
            f"{s['macs']:.3f}): {s['speedup']['median']:.2f}x ({s['speedup']['min']:.2f}-{s['speedup']['max']:.2f}), "
            f"bound {s['bound']['median']:.2f}x")
    log(f"wrote {a.out}")

if __name__ == "__main__": main()
