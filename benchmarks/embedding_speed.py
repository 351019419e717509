"""A faster sentence-embedding model without labels: all-MiniLM-L6-v2 pruned, reloaded in sentence-transformers and
ONNX Runtime, its STS-B quality and its speed.

Claim: with 50% of the heads removed by a packaged pruner (no labels), all-MiniLM-L6-v2 keeps most of its STS-B
  quality (similarity pruner 84.8, default 83.2, against 86.7 full) and encodes about 1.2-1.3x faster in
  sentence-transformers and onnxruntime. Shown by the tutorial "faster embeddings" and the meta-training page.
Run:    python benchmarks/embedding_speed.py            # everything
        python benchmarks/embedding_speed.py --quick    # smoke test: few sentences and repeats, into a temporary folder
Time:   roughly 10-15 minutes on a 2-core CPU (not recorded: 11 pruned models scored on 1,500 pairs, 3 of them timed in
  7 turns); --quick about a minute.
Writes: benchmarks/results/embedding_speed.json and embedding_speed.png.

What is measured, in one run:
- masks: heads scored on 2,000 unlabeled STS-B *training* sentences (no scores read) by each packaged pruner
  ("importance", the default, and "similarity", trained on the paper's label-free objective), 25%, 50% and 75% of the
  heads of every layer removed; at 50% also 3 random masks and the label-free baselines (attention confidence,
  weight magnitude);
- each pruned model is saved as a sentence-transformers folder (`save_sentence_transformer`) and loaded back with
  `SentenceTransformer(folder, trust_remote_code=True)`, as a user would;
- quality: STS-B dev Spearman (cosine) by sentence-transformers' own `EmbeddingSimilarityEvaluator` (1,500 pairs);
- speed: sentences per second encoding 1,024 STS-B dev sentences at batch 32, in sentence-transformers (`encode`) and
  in onnxruntime (`export_onnx(..., sentence_embedding=True)`, the tokenized batches prepared beforehand), full and
  pruned models timed in turns in the same process (median of `--repeats` turns each), so that load from other work
  hits both alike. Ratios are pruned / full throughput of the same turn set.
"""
import argparse, os, statistics, tempfile, time
from pathlib import Path

import torch

from common import add_glue_arg, check_glue, log, RESULTS, save_png, write_json
from smp_nb.baselines import confidence_scores, magnitude_scores, random_scores
from smp_nb.data import load_task
from smp_nb.models import head_grid, load_encoder
from smp_nb.prune import prune_heads, score_heads
from smp_nb.sampling import topk_mask
from smp_nb.stock import export_onnx, save_sentence_transformer, sentence_transformer_source

RATIOS = (0.25, 0.5, 0.75)


def masks(a, tok, train_sents):
    "{name: (mask, ratio)} of every configuration."
    model = load_encoder()[0]
    L, H = head_grid(model)
    out = {}
    for pruner in ("importance", "similarity"):
        s = score_heads(model, tok, train_sents, pruner=pruner, progress=False)
        for r in RATIOS: out[f"{pruner} {int(r * 100)}%"] = (topk_mask(s, r), r)
    for seed in range(3): out[f"random 50% (seed {seed})"] = (topk_mask(random_scores(L, H, seed=seed), 0.5), 0.5)
    out["confidence 50%"] = (topk_mask(confidence_scores(model, tok, train_sents), 0.5), 0.5)
    out["magnitude 50%"] = (topk_mask(magnitude_scores(model), 0.5), 0.5)
    return out

def stsb_spearman(st, dev) -> float:
    from sentence_transformers.sentence_transformer.evaluation import EmbeddingSimilarityEvaluator
    ev = EmbeddingSimilarityEvaluator(list(dev["sentence1"]), list(dev["sentence2"]), [float(x) / 5 for x in dev["label"]],
                                      batch_size=64, name="stsb-dev", write_csv=False)
    res = ev(st)
    return float(next(v for k, v in res.items() if k.endswith("spearman_cosine")))

def turns(fns: dict, repeats: int) -> dict:
    "Median seconds of each function, the functions called in turns `repeats` times (after one warm-up each)."
    for f in fns.values(): f()
    ts = {k: [] for k in fns}
    for _ in range(repeats):
        for k, f in fns.items():
            t = time.perf_counter(); f(); ts[k].append(time.perf_counter() - t)
    return {k: statistics.median(v) for k, v in ts.items()}

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_glue_arg(ap)
    ap.add_argument("--out", default=None, help="results folder (default: benchmarks/results; --quick: a temporary folder)")
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args()
    check_glue(a.glue, "embedding_speed")
    if a.quick: a.repeats = 2
    out = Path(a.out or (tempfile.mkdtemp(prefix="emb-quick-") if a.quick else RESULTS))
    torch.set_num_threads(os.cpu_count())
    from sentence_transformers import SentenceTransformer
    import onnxruntime as ort
    train = load_task("stsb", "train", a.glue)
    train_sents = list(dict.fromkeys(list(train["sentence1"]) + list(train["sentence2"])))
    g = torch.Generator().manual_seed(0)
    train_sents = [train_sents[i] for i in torch.randperm(len(train_sents), generator=g)[:200 if a.quick else 2000].tolist()]
    dev = load_task("stsb", "dev", a.glue)
    if a.quick: dev = dev.select(range(64))
    speed_sents = (list(dev["sentence1"]) + list(dev["sentence2"]))[:128 if a.quick else 1024]
    src = sentence_transformer_source(None)
    _, tok = load_encoder()
    work = Path(tempfile.mkdtemp(prefix="emb-"))
    log(f"scoring heads on {len(train_sents)} unlabeled STS-B training sentences")
    configs = masks(a, tok, train_sents)
    full_st = SentenceTransformer(str(src), device="cpu")
    res = dict(settings=dict(score_sentences=len(train_sents), stsb_dev_pairs=len(dev), speed_sentences=len(speed_sents),
                             batch_size=32, repeats=a.repeats, threads=torch.get_num_threads(),
                             torch=torch.__version__, onnxruntime=ort.__version__),
               full=dict(stsb_spearman=stsb_spearman(full_st, dev)), configs={})
    log(f"full model: STS-B Spearman {res['full']['stsb_spearman']:.4f}")
    # ONNX of the full model, once
    full_enc = load_encoder()[0]
    full_onnx = ort.InferenceSession(str(export_onnx(full_enc, tok, work / "full-onnx", sentence_embedding=True)), providers=["CPUExecutionProvider"])
    batches = [dict(tok(speed_sents[i:i + 32], padding=True, truncation=True, max_length=256, return_tensors="np"))
               for i in range(0, len(speed_sents), 32)]
    def ort_run(sess):
        names = [i.name for i in sess.get_inputs()]
        return lambda: [sess.run(None, {n: b[n] for n in names}) for b in batches]
    def st_run(model): return lambda: model.encode(speed_sents, batch_size=32, convert_to_numpy=True)
    for name, (mask, ratio) in configs.items():
        enc = load_encoder()[0]
        prune_heads(enc, mask)
        folder = save_sentence_transformer(enc, tok, src, work / name.replace(" ", "_").replace("%", "").replace("(", "").replace(")", ""))
        st = SentenceTransformer(str(folder), trust_remote_code=True, device="cpu")
        row = dict(ratio=ratio, heads_kept=[int(x) for x in mask.sum(1).tolist()], stsb_spearman=stsb_spearman(st, dev))
        if not name.startswith(("random", "confidence", "magnitude", "similarity")):  # speed depends on the shapes only
            sess = ort.InferenceSession(str(export_onnx(enc, tok, folder / "onnx", sentence_embedding=True)), providers=["CPUExecutionProvider"])
            check = max(abs(x - y).max() for x, y in zip(sess.run(None, {i.name: batches[0][i.name] for i in sess.get_inputs()}),
                                                           [st.encode(speed_sents[:32], batch_size=32, convert_to_numpy=True)]))
            t = turns({"st_full": st_run(full_st), "st_pruned": st_run(st), "ort_full": ort_run(full_onnx), "ort_pruned": ort_run(sess)}, a.repeats)
            n = len(speed_sents)
            row.update(onnx_max_abs_diff_to_st=float(check),
                       sentences_per_second={k: n / v for k, v in t.items()},
                       speedup_sentence_transformers=t["st_full"] / t["st_pruned"], speedup_onnxruntime=t["ort_full"] / t["ort_pruned"],
                       onnxruntime_over_sentence_transformers_full=t["st_full"] / t["ort_full"])
        res["configs"][name] = row
        log(name, {k: (round(v, 4) if isinstance(v, float) else v) for k, v in row.items() if k != "sentences_per_second"})
    write_json(out / "embedding_speed.json", res)
    plot(res, out / "embedding_speed.png")
    log(f"wrote {out / 'embedding_speed.json'}")

def plot(res, path):
    import matplotlib; matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    full = 100 * res["full"]["stsb_spearman"]
    names = list(res["configs"])
    ax1.barh(range(len(names)), [100 * res["configs"][n]["stsb_spearman"] for n in names], color="tab:blue")
    ax1.axvline(full, color="gray", ls="--", label=f"full model {full:.1f}")
    ax1.set_yticks(range(len(names)), names, fontsize=8); ax1.invert_yaxis()
    ax1.set_xlabel("STS-B dev Spearman x 100 (no fine-tuning)"); ax1.legend(fontsize=8)
    sp = [(n, r) for n, r in res["configs"].items() if "speedup_onnxruntime" in r]
    x = [100 * r["ratio"] for _, r in sp]
    ax2.plot(x, [r["speedup_sentence_transformers"] for _, r in sp], "o-", label="sentence-transformers")
    ax2.plot(x, [r["speedup_onnxruntime"] for _, r in sp], "s-", label="onnxruntime")
    ax2.axhline(1, color="gray", ls=":")
    ax2.set_xlabel("% of heads removed in every layer"); ax2.set_ylabel("throughput, pruned / full")
    ax2.set_title("encoding STS-B dev sentences, batch 32"); ax2.legend(fontsize=8)
    fig.tight_layout()
    save_png(fig, path)
    plt.close(fig)

if __name__ == "__main__": main()
