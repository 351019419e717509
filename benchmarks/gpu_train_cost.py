"""Training cost on a GPU: the paper's meta-learning loop at the authors' batch, and the packaged importance recipe.

Claim: on one H200 the paper's loop costs 35-46 GPU minutes for MiniLM and 89-119 for BERT-base (6,000-8,000 steps of
  60 x 8), and the packaged pruner's whole recipe 1.8 GPU minutes (32.5 minutes on the 2-core CPU). Shown by the
  meta-training page and the tutorial "train your own pruner".
Run:    python benchmarks/gpu_train_cost.py --vocab DIR [--glue DIR]    (on a machine with a CUDA GPU)
Time:   about 3 minutes on one H200 (recorded: one 3-minute run).
Writes: benchmarks/results/gpu_train_cost.json (or --out), after every section.

Options: --vocab DIR [--glue DIR] [--out FILE.json] [--sections meta,resume,importance]

Times are taken on encoders of the real shapes with random weights (`BertModel(config)`): a step costs the same
whatever the weights hold, and a GPU machine may not reach the Hub. Shapes: MiniLM (6 layers x 12 heads, hidden 384,
the offline encoder) and BERT-base (12 x 12, hidden 768, the authors' encoder). --vocab is a folder with a BERT
tokenizer (the offline MiniLM's: tokenizer.json, vocab.txt and their configs); --glue a folder in the GLUE TSV layout
(train splits are enough; default: the package's loader, $SMP_DATA/glue or the Hub).

- meta: `meta_train` with the authors' settings (micro-batches of 60, accumulation 8, SGD at 2e-2, clipping 1.0,
  padded maps), on five GLUE tasks, after a 1-step warm-up for 3 and then 13 optimizer steps from scratch; the difference over 10 steps is
  the time of a step without the start-up. GPU minutes for 6,000-8,000 steps (the paper's) follow from it.
- resume: on MiniLM, 6 steps at once against 3 steps, a checkpoint, and 3 more resumed from it; the largest
  difference between the two scorers (on a CPU they are equal bit for bit; GPU kernels need not be deterministic).
- importance: the packaged pruner's recipe on MiniLM: `label_importance` (3 epochs of fine-tuning per task, SST-2 on
  8,000 rows, then gradients on 2,000 rows) on the GPU, and `fit_ensemble` (three fits of 600 steps, stretch48) with
  the encoder on the GPU.
Each section's result is written to --out as soon as it finishes; a section that fails records its error.
"""
import argparse, json, sys, tempfile, time, traceback
from pathlib import Path

import torch

from common import add_glue_arg, check_glue, RESULTS, write_json
from smp_nb.cli import train_texts
from smp_nb.importance import fit_ensemble, label_importance
from smp_nb.meta import meta_train
from smp_nb.models import load_encoder
from train_pruner import IMPORTANCE, IMPORTANCE_TASKS, PACKAGED_FIT_SEEDS, SECANT  # the packaged recipe's settings

TASKS = ["sst2", "cola", "mrpc", "stsb", "rte"]
SHAPES = dict(minilm=dict(hidden_size=384, num_hidden_layers=6, num_attention_heads=12, intermediate_size=1536),
              bert_base=dict(hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072))
AUTHORS = dict(batch_size=60, accumulation=8, lr=2e-2, optimizer="sgd", clip=1.0, fit="pad")


def random_encoder(shape: str, vocab: Path, root: Path) -> Path:
    "A folder holding a random-weight BERT of `shape` and the BERT tokenizer of `vocab`, loadable by `load_encoder`."
    from transformers import AutoTokenizer, BertConfig, BertModel
    out = root / shape
    torch.manual_seed(0)
    BertModel(BertConfig(vocab_size=30522, max_position_embeddings=512, **SHAPES[shape])).save_pretrained(out)
    AutoTokenizer.from_pretrained(vocab).save_pretrained(out)
    return out


def timed_meta(folder: Path, texts: dict, steps: int, **kw) -> tuple:
    "(GPU wall seconds, `MetaResult`) of a fresh `meta_train` run of `steps` steps on the encoder in `folder`."
    model, tok = load_encoder(folder)
    torch.cuda.synchronize(); t = time.perf_counter()
    res = meta_train(model, tok, texts, steps=steps, progress=False, seed=0, **kw)
    torch.cuda.synchronize()
    return time.perf_counter() - t, res


def section_meta(a, enc, texts):
    out = {}
    for shape in ("minilm", "bert_base"):
        timed_meta(enc[shape], texts, 1, **AUTHORS)  # warm-up: CUDA context, kernels, allocator
        short, _ = timed_meta(enc[shape], texts, 3, **AUTHORS)
        long, res = timed_meta(enc[shape], texts, 13, **AUTHORS)
        step = (long - short) / 10
        out[shape] = dict(seconds_3_steps=round(short, 2), seconds_13_steps=round(long, 2), seconds_per_step=round(step, 3),
                          seconds_per_micro_batch=round(step / AUTHORS["accumulation"], 4), skipped=res.skipped,
                          final_loss=res.history[-1]["loss"], gpu_minutes_6000_steps=round(6000 * step / 60, 1),
                          gpu_minutes_8000_steps=round(8000 * step / 60, 1),
                          peak_gpu_memory_gib=round(torch.cuda.max_memory_allocated() / 2**30, 2))
        torch.cuda.reset_peak_memory_stats()
        print(shape, out[shape], flush=True)
    return dict(settings=AUTHORS, tasks=TASKS, **out)


def section_resume(a, enc, texts):
    kw = dict(AUTHORS, batch_size=16, accumulation=2)
    with tempfile.TemporaryDirectory() as d:
        _, whole = timed_meta(enc["minilm"], texts, 6, **kw)
        timed_meta(enc["minilm"], texts, 3, ckpt_dir=Path(d), ckpt_every=3, **kw)
        _, resumed = timed_meta(enc["minilm"], texts, 6, ckpt_dir=Path(d), ckpt_every=3, resume=True, **kw)
    sa, sb = whole.scorer.state_dict(), resumed.scorer.state_dict()
    diff = max((sa[k].float() - sb[k].float()).abs().max().item() for k in sa)
    loss_diff = max(abs(x["loss"] - y["loss"]) for x, y in zip(whole.history, resumed.history))
    return dict(settings=kw, steps=6, resumed_at=3, max_abs_weight_diff=diff, max_abs_loss_diff=loss_diff,
                bit_identical=all(torch.equal(sa[k], sb[k]) for k in sa))


def section_importance(a, enc, texts):
    torch.cuda.synchronize(); t0 = time.perf_counter()
    I, F = IMPORTANCE, SECANT
    imp = label_importance(str(enc["minilm"]), TASKS, a.glue, train_rows=I["finetune_rows"], score_rows=I["score_rows"],
                           epochs=I["epochs"], batch_size=I["batch_size"], lr=I["lr"], device="cuda")
    torch.cuda.synchronize(); t1 = time.perf_counter()
    model, tok = load_encoder(enc["minilm"]); model.cuda()
    order = IMPORTANCE_TASKS
    res = fit_ensemble(model, tok, {t: texts[t] for t in order}, {t: imp[t]["importance"] for t in order}, seeds=PACKAGED_FIT_SEEDS,
                       steps=F["steps"], lr=F["lr"], examples=F["examples"], layers=F["layers"], fit=F["fit"],
                       max_length=F["max_length"], progress=False)
    torch.cuda.synchronize(); t2 = time.perf_counter()
    return dict(importance_seconds={t: imp[t]["seconds"] for t in TASKS}, importance_total_seconds=round(t1 - t0, 1),
                fit_seconds_three_fits=round(t2 - t1, 1), total_minutes=round((t2 - t0) / 60, 2),
                fit_final_loss=res.history[-1]["loss"])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_glue_arg(ap); ap.add_argument("--vocab", required=True, help="a folder with a BERT tokenizer")
    ap.add_argument("--out", default=str(RESULTS / "gpu_train_cost.json"))
    ap.add_argument("--sections", default="meta,resume,importance")
    a = ap.parse_args()
    check_glue(a.glue, "gpu_train_cost")
    if not torch.cuda.is_available(): sys.exit("gpu_train_cost: no GPU here (torch.cuda.is_available() is False).")
    import transformers
    out = dict(gpu=torch.cuda.get_device_name(0), torch=torch.__version__, transformers=transformers.__version__,
               note="random weights of the real shapes: a step's cost does not depend on the weights")
    root = Path(tempfile.mkdtemp())
    enc = {s: random_encoder(s, Path(a.vocab), root) for s in SHAPES}
    texts = train_texts(TASKS, a.glue)
    for name in a.sections.split(","):
        t = time.perf_counter()
        try: out[name] = dict(globals()[f"section_{name}"](a, enc, texts), wall_seconds=round(time.perf_counter() - t, 1))
        except Exception as e: out[name] = dict(error=f"{type(e).__name__}: {e}", traceback=traceback.format_exc()[-2000:])
        print(name, json.dumps(out[name])[:1500], flush=True)
        write_json(a.out, out, end="\n")

if __name__ == "__main__": main()
