"""Inference throughput of modern encoders, full vs 50% of heads physically removed, at 128, 512 and 2,048 tokens.

Claim: on encoders whose attention is most of the time, removing half the heads pays more: ModernBERT-base 1.36x at
  128 tokens and 1.55x at 2,048, DeBERTa-v3-base 1.58x and 1.82x; and scoring 4 inputs of 2,048 tokens needs under
  1 GiB more memory, not the 17 GiB every layer's maps would take. Shown by the pruning page (07_prune) and the
  home page.
Run:    python benchmarks/long_context_speed.py
Time:   about 16 minutes on a 2-core CPU (recorded: 14 minutes of timing, 3 runs over 3 lengths of 2 models, and 71 s
  of the memory check).
Writes: benchmarks/results/long_context_speed.json and long_context_speed.png.

Two randomly initialised encoders of the sizes people fine-tune (speed does not depend on the weights): ModernBERT-base
(22 layers x 12 heads, hidden 768, alternating one global and two local layers with a 128-token window) and
DeBERTa-v3-base (12 layers x 12 heads, hidden 768, disentangled attention with 256 position buckets). For each model
and sequence length, the full model and a copy with half the heads of every layer removed run side by side in one
process on the same random batch, taking turns (`prune_report`); the median of `--repeats` timed batches gives the
throughput of each. All lengths are timed `--runs` times over (a slow spell of this shared machine then spreads over
the cells); each cell reports the run with its median speed-up and keeps every run's figures. `prune_report` also times each model's attention modules with forward hooks, which gives the
share of the full model's time spent in attention and the Amdahl bound: the speed-up if attention time fell in
proportion to the heads kept and the rest stayed. The ratio of the measured speed-up to that bound is reported per cell.
Batches hold about the same number of tokens at every length (16 x 128, 4 x 512, 1 x 2,048).

Then the memory of scoring long inputs: `score_heads` on 4 inputs of 2,048 tokens with ModernBERT-base and a scorer
that reads 48 x 48 stretched maps (the packaged pruner's fitting), in a fresh process: its peak resident memory is
reset once the model is built (Linux, /proc/self/clear_refs) and read after scoring, next to the peak of one stock
forward pass of the same batch and the size that every layer's full maps would take.

With `--macs 0.5` (`python benchmarks/long_context_speed.py --macs 0.5 --lengths 512,2048`, about 10 minutes), the
pruned copy instead keeps random heads AND feed-forward neurons, the same share in every layer, to 50% of the full
model's multiply-adds per token counted at each length (`budget_masks`; a longer input gives attention a larger share,
so the copy differs by length, and ModernBERT's local layers are counted as if global), and the bound cuts the
feed-forward blocks' time in proportion to the neurons kept too. It writes long_context_macs.json and .png, with no
memory check. Shown by the neurons results page.

Options: [--repeats 3] [--runs 3] [--lengths 128,512,2048] [--threads N] [--macs F] [--out benchmarks/results/long_context_speed.json]
(the plot is written beside the JSON file)
"""
import argparse, copy, json, os, platform, subprocess, sys, time
from pathlib import Path

import torch

from common import RESULTS, ROOT, save_png, write_json
from smp_nb.models import heads_per_layer, neurons_per_layer
from smp_nb.neurons import budget_masks, prune_neurons
from smp_nb.prune import prune_heads, prune_report
from smp_nb.sampling import topk_mask

BATCH = {128: 16, 512: 4, 2048: 1}

def model_config(name:str):
    "The config of a base-sized `name` ('modernbert' or 'deberta-v3')."
    from transformers import AutoConfig
    if name == "modernbert":   # answerdotai/ModernBERT-base
        return AutoConfig.for_model("modernbert", vocab_size=50368, hidden_size=768, num_hidden_layers=22, num_attention_heads=12,
                                    intermediate_size=1152, max_position_embeddings=8192, global_attn_every_n_layers=3,
                                    local_attention=128, pad_token_id=50283, bos_token_id=50281, eos_token_id=50282,
                                    cls_token_id=50281, sep_token_id=50282)
    if name == "deberta-v3":   # microsoft/deberta-v3-base
        return AutoConfig.for_model("deberta-v2", vocab_size=128100, hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
                                    intermediate_size=3072, max_position_embeddings=512, relative_attention=True,
                                    pos_att_type=["p2c", "c2p"], position_buckets=256, max_relative_positions=-1,
                                    share_att_key=True, norm_rel_ebd="layer_norm", position_biased_input=False, type_vocab_size=0)
    raise ValueError(f"unknown model {name!r}: use 'modernbert' or 'deberta-v3'.")

def build(name:str, macs:float|None=None, seq_len:int=128):
    """A randomly initialised base-sized encoder, and a copy with a random half of the heads of every layer removed; with
    `macs`, a copy with random heads and feed-forward neurons removed to `macs` of its multiply-adds per token at `seq_len`."""
    from transformers import AutoModel
    torch.manual_seed(0)
    cfg = model_config(name)
    if name == "deberta-v3": cfg._attn_implementation = "eager"   # DeBERTa has only its own attention
    full = AutoModel.from_config(cfg).eval()
    L, H = len(heads_per_layer(full)), heads_per_layer(full)[0]
    g = torch.Generator().manual_seed(1)
    if macs is None: return full, prune_heads(copy.deepcopy(full), topk_mask(torch.rand(L, H, generator=g), 0.5))
    mask, keep = budget_masks(full, torch.rand(L, H, generator=g), [torch.rand(n, generator=g) for n in neurons_per_layer(full)], macs, seq_len)
    return full, prune_neurons(prune_heads(copy.deepcopy(full), mask), keep)

SCORE_CHILD = r"""
import json, sys, torch
sys.path[:0] = [{root!r}, {here!r}]
torch.set_num_threads({threads})
from transformers import AutoModel
from long_context_speed import model_config, peak_since_reset, reset_peak
from smp_nb.prune import score_heads
from smp_nb.scorer import HeadScorer
torch.manual_seed(0)
model = AutoModel.from_config(model_config("modernbert")).eval()
class Tok:   # stands in for a tokenizer: each text becomes {seq} random ids
    def __call__(self, first, second=None, truncation=True, max_length=None, padding=False, return_tensors=None):
        ids = torch.randint(1000, 50000, (len(first), {seq}), generator=torch.Generator().manual_seed(0))
        if return_tensors == "pt": return dict(input_ids=ids, attention_mask=torch.ones_like(ids))
        return dict(input_ids=ids.tolist())
batch = Tok()(["x"] * {n}, return_tensors="pt")
rss = reset_peak()
with torch.inference_mode(): model(**batch)   # the stock forward alone, for comparison
forward_mib = peak_since_reset(rss)
import time; t = time.perf_counter()
rss = reset_peak()
s = score_heads(model, Tok(), ["x"] * {n}, pruner=HeadScorer(fit="stretch48"), batch_size={n}, max_length={seq}, progress=False)
print(json.dumps(dict(scoring_mib=peak_since_reset(rss), forward_mib=forward_mib, seconds=time.perf_counter() - t,
                      shape=list(s.shape), finite=bool(torch.isfinite(s).all()))))
"""

def _status_mib(field:str) -> float:
    "A memory field of /proc/self/status (VmRSS, VmHWM), in MiB."
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"): return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} in /proc/self/status")

def reset_peak() -> float:
    "Reset this process's peak resident memory to its current size (Linux: /proc/self/clear_refs); returns that size in MiB."
    Path("/proc/self/clear_refs").write_text("5")
    return _status_mib("VmRSS")

def peak_since_reset(rss:float) -> float:
    "MiB by which the peak resident memory rose above `rss` since `reset_peak`."
    return _status_mib("VmHWM") - rss

def score_memory(threads:int, seq:int=2048, n:int=4) -> dict:
    "Peak memory of scoring `n` inputs of `seq` tokens with ModernBERT-base, in a fresh process."
    code = SCORE_CHILD.format(root=str(ROOT), here=str(Path(__file__).resolve().parent), threads=threads, seq=seq, n=n)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    if r.returncode != 0: raise RuntimeError(r.stderr[-3000:])
    out = json.loads(r.stdout.strip().splitlines()[-1])
    cfg = model_config("modernbert")
    full_maps = cfg.num_hidden_layers * n * cfg.num_attention_heads * seq * seq * 4 / 2**20
    one_input_layer = cfg.num_attention_heads * seq * seq * 4 / 2**20
    return dict(inputs=n, seq=seq, **out, all_maps_mib=full_maps, one_input_one_layer_mib=one_input_layer)

NAMES = {"modernbert": "ModernBERT-base", "deberta-v3": "DeBERTa-v3-base"}

def plot(results:dict, path:Path, what:str="half the heads removed"):
    "Measured speed-up (median run, with the range of the runs) and Amdahl bound per sequence length, one panel per model."
    import matplotlib; matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axs = plt.subplots(1, len(results), figsize=(5.5 * len(results), 4), squeeze=False)
    for ax, (name, cells) in zip(axs[0], results.items()):
        x = range(len(cells))
        runs = [c.get("speedup_runs", [c["speedup"]]) for c in cells]
        lo = [c["speedup"] - min(r) for c, r in zip(cells, runs)]
        hi = [max(r) - c["speedup"] for c, r in zip(cells, runs)]
        ax.bar([i - 0.2 for i in x], [c["speedup"] for c in cells], 0.4, yerr=[lo, hi], capsize=3,
               label="measured (median of the runs; bar: their range)", color="tab:blue")
        ax.bar([i + 0.2 for i in x], [c["speedup_bound"] for c in cells], 0.4, label="bound (Amdahl)", color="tab:gray")
        for i, (c, r) in enumerate(zip(cells, runs)):
            ax.text(i - 0.2, max(r) + 0.03, f"{c['speedup']:.2f}x", ha="center", fontsize=8)
            ax.text(i + 0.2, c["speedup_bound"] + 0.03, f"{c['speedup_bound']:.2f}x\n({c['attention_share'][0]:.0%} attn)", ha="center", fontsize=7)
        ax.axhline(1, color="black", lw=0.6)
        ax.set_ylim(0, 1.22 * max(max(max(r) for r in runs), max(c["speedup_bound"] for c in cells)))
        ax.set_xticks(list(x), [f"{c['seq_len']:,} tokens\n(batch {c['batch_size']})" for c in cells])
        ax.set_ylabel("pruned / full throughput"); ax.set_title(f"{NAMES.get(name, name)}, {what}", fontsize=10)
    handles, labels = axs[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=2, fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.07, 1, 1)); save_png(fig, path, dpi=110, tight=False); plt.close(fig)

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=3, help="timed batches per model in each run")
    ap.add_argument("--runs", type=int, default=3, help="runs over all lengths; each cell reports its median run and keeps all")
    ap.add_argument("--lengths", default="128,512,2048")
    ap.add_argument("--models", default="modernbert,deberta-v3")
    ap.add_argument("--threads", type=int, default=torch.get_num_threads())
    ap.add_argument("--no-memory", action="store_true", help="skip the long-input scoring memory check")
    ap.add_argument("--macs", type=float, default=None, help="remove random heads AND neurons to this fraction of the "
                    "multiply-adds per token at each length (`budget_masks`), instead of half the heads; no memory check")
    ap.add_argument("--out", default=None, help="default: results/long_context_speed.json, or long_context_macs.json with --macs")
    a = ap.parse_args()
    if a.macs is not None and not 0 < a.macs <= 1: raise SystemExit(f"--macs {a.macs} must be in (0, 1], e.g. 0.5")
    if a.out is None: a.out = str(RESULTS / ("long_context_speed.json" if a.macs is None else "long_context_macs.json"))
    torch.set_num_threads(a.threads)
    lengths = [int(s) for s in a.lengths.split(",")]
    bad = [s for s in lengths if s not in BATCH]
    if bad: raise SystemExit(f"--lengths: {bad} not among {sorted(BATCH)}")
    results = {}
    for name in a.models.split(","):
        pairs = {seq: build(name, a.macs, seq) for seq in lengths} if a.macs is not None else dict.fromkeys(lengths, build(name))
        runs = {seq: [] for seq in lengths}
        for run in range(a.runs):   # every length once per run, so that slow spells of the machine spread over the cells
            for seq in lengths:
                full, pruned = pairs[seq]
                t = time.perf_counter()
                r = prune_report(full, pruned, batch_size=BATCH[seq], seq_len=seq, repeats=a.repeats, warmup=1, seed=run).as_dict()
                r["ratio_to_bound"] = r["speedup"] / r["speedup_bound"]
                r["attention_time_ratio"] = r["attention_seconds"][1] / r["attention_seconds"][0]   # pruned / full; the bound assumes the share of heads kept
                r["macs_kept"] = r["macs_per_token"][1] / r["macs_per_token"][0]
                r["seconds"] = time.perf_counter() - t
                runs[seq].append(r)
                print(f"{name:11s} run {run} seq {seq:5d} x {BATCH[seq]:2d}: full {r['throughput'][0]:7.2f} seq/s, pruned {r['throughput'][1]:7.2f}, "
                      f"speed-up {r['speedup']:.2f}x, attention {r['attention_share'][0]:.0%} of the time"
                      + (f", feed-forward {r['ffn_share'][0]:.0%}, multiply-adds kept {r['macs_kept']:.1%}" if r.get("ffn_share") else "")
                      + f", bound {r['speedup_bound']:.2f}x, "
                      f"measured / bound {r['ratio_to_bound']:.2f}; attention time pruned / full {r['attention_time_ratio']:.2f} ({r['seconds']:.0f} s)", flush=True)
        results[name] = []
        for seq in lengths:   # the run with the median speed-up stands for the cell; every run's figures are kept
            rs = sorted(runs[seq], key=lambda r: r["speedup"])
            cell = dict(rs[len(rs) // 2])
            for k in ("speedup", "speedup_bound", "ratio_to_bound", "attention_time_ratio"): cell[k + "_runs"] = [r[k] for r in runs[seq]]
            cell["attention_share_runs"] = [r["attention_share"][0] for r in runs[seq]]
            results[name].append(cell)
        del pairs, full, pruned
    memory = None if a.no_memory or a.macs is not None else score_memory(a.threads)
    if memory:
        print(f"scoring {memory['inputs']} x {memory['seq']} tokens (ModernBERT-base): peak +{memory['scoring_mib']:.0f} MiB over the loaded "
              f"model (the stock forward alone: +{memory['forward_mib']:.0f} MiB); every layer's maps would take {memory['all_maps_mib']:.0f} MiB, "
              f"one input's maps of one layer {memory['one_input_one_layer_mib']:.0f} MiB; {memory['seconds']:.0f} s", flush=True)
    out = Path(a.out)
    doc = dict(benchmark="long_context_speed", models={k: model_config(k).to_dict() | {"_name": k} for k in results},
               macs=a.macs, repeats=a.repeats, runs=a.runs, threads=a.threads, machine=platform.processor() or platform.machine(), cpus=os.cpu_count(),
               torch=torch.__version__, results=results, scoring_memory=memory)
    write_json(out, doc, default=str)
    plot(results, out.with_suffix(".png"), "half the heads removed" if a.macs is None else f"{a.macs:.0%} of the multiply-adds kept")
    print(f"wrote {out} and {out.with_suffix('.png')}")

if __name__ == "__main__": main()
