"""Where the time of scoring heads and neurons goes, and whether flushing denormal numbers would shorten it.

Usage:
  python benchmarks/studies/score_profile.py              # profile, count and time; writes benchmarks/results/score_profile.json
  python benchmarks/studies/score_profile.py --rows 64 --repeats 1 --out ""   # a smoke test that only prints

Why: `unit_score_time.py` puts `score_units` (the packaged three-fit pruner and Wanda's neuron statistics, the
pruner's convolutions in bfloat16) at 15.0-16.7 s for 2,000 SST-2 sentences on a 2-core CPU, against a target of at
most 15 s. This study asks what is left to remove:
- a profile of one pass over the first half of those sentences (`torch.profiler`, self time per operator), and the
  floating-point operations of the pruner's convolutions counted by `torch.utils.flop_counter` on the same inputs:
  their throughput is what the CPU delivers on them;
- a census of denormal numbers (non-zero, below float32's smallest normal) in the attention maps and in the inputs of
  every attention output and feed-forward output projection, on 256 sentences: the inputs where denormals would slow
  a CPU down;
- for reference, what the CPU computes on one large matrix product (2,048 x 2,048, 20 times) in float32 and bfloat16;
- `score_units` on all the rows with `torch.set_flush_denormal(False)` and `(True)`, taking turns, `--repeats` times
  each (the flag reaches only the calling thread).
Time: about 3.5 minutes on a 2-core CPU with the CPU to itself.
"""
import argparse, json, statistics, sys, time
from pathlib import Path

import torch
from torch.profiler import ProfilerActivity, profile
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/: common
from common import RESULTS, add_glue_arg, check_glue, cpu_model, write_json
from smp_nb.data import encode_texts, load_task, task_texts
from smp_nb.gating import attention_maps
from smp_nb.models import adapter_for, attention_layers, load_encoder
from smp_nb.neurons import score_units
from smp_nb.scorer import load_pruner

def denormal_census(model, tok, texts:list) -> dict:
    "`{where: [denormals, values]}` over one pass of `texts`: the attention maps and the inputs of both output projections."
    tiny, count = torch.finfo(torch.float32).tiny, {}
    def tally(name, x):
        c = count.setdefault(name, [0, 0]); c[0] += int(((x != 0) & (x.abs() < tiny)).sum()); c[1] += x.numel()
    ad, layers = adapter_for(model), attention_layers(model)
    hooks = [ad.ffn_out(l).register_forward_pre_hook(lambda m, a: tally("feed-forward output input", a[0])) for l in layers]
    hooks += [ad.out_proj(l).register_forward_pre_hook(lambda m, a: tally("attention output input", a[0])) for l in layers]
    try:
        with torch.inference_mode(): tally("attention maps", attention_maps(model, **encode_texts(tok, texts, max_length=128)))
    finally:
        for h in hooks: h.remove()
    return count

def matmul_rate(dtype, n:int=2048, times:int=20) -> float:
    "GFLOP/s of `times` products of two `n x n` random matrices in `dtype`, after one warm-up."
    x, y = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
    x @ y
    t = time.perf_counter()
    for _ in range(times): x @ y
    return round(2 * n ** 3 * times / (time.perf_counter() - t) / 1e9, 1)

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_glue_arg(ap)
    ap.add_argument("--rows", type=int, default=2000); ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", default=str(RESULTS / "score_profile.json"))
    a = ap.parse_args()
    check_glue(a.glue, "score_profile")
    torch.set_num_threads(2)
    model, tok, pruner = *load_encoder(), load_pruner()
    texts = task_texts(load_task("sst2", "train", a.glue), "sst2")[:a.rows]
    run = lambda xs: score_units(model, tok, xs, pruner, "wanda", progress=False, precision="bfloat16")
    run(texts[:128])  # warm-up
    census = denormal_census(model, tok, texts[:256])
    half = texts[:len(texts) // 2]
    with profile(activities=[ProfilerActivity.CPU]) as p: run(half)
    ops = sorted(p.key_averages(), key=lambda e: -e.self_cpu_time_total)
    total = sum(e.self_cpu_time_total for e in ops)
    top = {e.key: dict(share=round(e.self_cpu_time_total / total, 4), seconds=round(e.self_cpu_time_total / 1e6, 3), calls=e.count)
           for e in ops[:12]}
    with FlopCounterMode(display=False) as fc: run(half)
    flops = {str(k): v for k, v in fc.get_flop_counts().get("Global", {}).items()}
    conv_flops = sum(v for k, v in flops.items() if "convolution" in k)
    conv_sec = sum(e.self_cpu_time_total for e in ops if "convolution" in e.key) / 1e6
    reference = {str(d).removeprefix("torch."): matmul_rate(d) for d in (torch.float32, torch.bfloat16)}
    times = {False: [], True: []}
    for r in range(a.repeats):
        for flush in ((False, True) if r % 2 == 0 else (True, False)):
            torch.set_flush_denormal(flush)
            t = time.perf_counter(); run(texts); times[flush].append(round(time.perf_counter() - t, 2))
            print(f"repeat {r}: flush {flush}: {times[flush][-1]} s", flush=True)
    torch.set_flush_denormal(False)
    out = dict(rows=len(texts), profiled_rows=len(half), threads=torch.get_num_threads(), torch=torch.__version__, cpu=cpu_model(),
               profile_top_ops=top, profile_seconds=round(total / 1e6, 3), flops_by_op={k: int(v) for k, v in flops.items()},
               convolution_flops=int(conv_flops), convolution_seconds=round(conv_sec, 3),
               convolution_gflops_per_second=round(conv_flops / conv_sec / 1e9, 1) if conv_sec else None,
               linear_flops=int(flops.get("aten.addmm", 0)),
               linear_seconds=round(sum(e.self_cpu_time_total for e in ops if e.key == "aten::addmm") / 1e6, 3),
               matmul_gflops_per_second=reference,
               denormals={k: dict(denormal=v[0], values=v[1]) for k, v in census.items()},
               flush_denormal=dict(seconds_off=times[False], seconds_on=times[True], median_off=statistics.median(times[False]),
                                   median_on=statistics.median(times[True]),
                                   ratio_on_to_off=round(statistics.median(x / y for x, y in zip(times[True], times[False])), 3)))
    print(json.dumps(out, indent=1))
    if a.out: write_json(a.out, out, end="\n")

if __name__ == "__main__": main()
