"""Do heads 2 and 4 of layer 0 explain why two random masks wreck STS-B fine-tuning? A direct test.

In the GLUE table, STS-B random masks scored 38.4 and 42.6 (seeds 0 and 1) and 84.3 (seed 2); every other STS-B
mask scored 78.5 or more. The two wrecked masks are the only ones that drop both head 2 and head 4 of layer 0.
This script fine-tunes STS-B exactly as `glue_table.py` does (settings read from the committed run) with edited masks:

- `putback`: random seed 0's mask with layer-0 heads 2 and 4 swapped in for its last two layer-0 heads;
- `takeout`: gradient importance's mask (84.3) with layer-0 heads 2 and 4 swapped out for the first two layer-0
  heads it drops.

Each run keeps 6 heads per layer and uses seed 0. Results are written, one JSON entry per variant as it finishes,
to benchmarks/results/stsb_heads.json. About 5 minutes per variant on a 2-core CPU.

Usage: python benchmarks/stsb_heads.py [--glue DIR] [--variants putback,takeout]
"""
import argparse, json, sys, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from smp_nb.data import load_task
from smp_nb.finetune import finetune
from smp_nb.models import atomic_write, load_encoder
from smp_nb.prune import prune_heads

HEADS = (2, 4)  # layer 0
SOURCES = dict(putback="stsb__random__r50__s0.json", takeout="stsb__importance__r50__s0.json")

def edited_kept(kept, variant):
    "Layer-0 kept heads with HEADS swapped in (putback) or out (takeout), 6 heads kept either way."
    k0 = list(kept[0])
    if variant == "putback":  # the last heads outside HEADS make room for the missing ones
        add, others = [h for h in HEADS if h not in k0], [h for h in k0 if h not in HEADS]
        k0 = others[:len(others) - len(add)] + [h for h in k0 if h in HEADS] + add
    else:  # the first dropped heads outside HEADS replace the kept ones in HEADS
        gone = [h for h in k0 if h in HEADS]
        k0 = [h for h in k0 if h not in HEADS] + [h for h in range(12) if h not in k0 and h not in HEADS][:len(gone)]
    return [sorted(k0), *kept[1:]]

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--glue", default=str(ROOT.parent / "shared" / "glue"))
    ap.add_argument("--variants", default="putback,takeout")
    a = ap.parse_args()
    if not Path(a.glue).exists(): sys.exit(f"GLUE data not found at {a.glue}: pass --glue DIR (GLUE TSV layout).")
    variants = a.variants.split(",")
    if bad := [v for v in variants if v not in SOURCES]: sys.exit(f"Unknown variants {bad}: use {list(SOURCES)}.")
    out = ROOT / "benchmarks" / "results" / "stsb_heads.json"
    res = json.loads(out.read_text()) if out.exists() else {}
    train, dev = load_task("stsb", "train", a.glue), load_task("stsb", "dev", a.glue)
    for v in variants:
        src = json.loads((ROOT / "benchmarks" / "results" / "glue" / SOURCES[v]).read_text())
        S, kept = src["settings"], edited_kept(src["kept_heads"], v)
        model, tok = load_encoder()
        prune_heads(model, [[1.0 if h in k else 0.0 for h in range(12)] for k in kept])
        t0 = time.time()
        r = finetune(model, tok, "stsb", train_data=train, eval_data=dev, epochs=S["epochs"], batch_size=S["batch_size"],
                     lr=S["lr"], max_length=S["max_length"], pooling=S["pooling"], seed=src["seed"],
                     train_sampling_strategy=S["sampling"])
        res[v] = dict(source=SOURCES[v], source_main=src["main"], source_train_loss=src["train_loss"], kept_heads=kept,
                      main=r["main"], train_loss=r["train_loss"], metrics=r["metrics"], seconds=round(time.time() - t0))
        atomic_write(out, lambda p: Path(p).write_text(json.dumps(res, indent=1)))
        print(f"{v}: STS-B {100 * r['main']:.1f} (train loss {r['train_loss']:.2f}); source {SOURCES[v]}: "
              f"{100 * src['main']:.1f} (train loss {src['train_loss']:.2f}); layer 0 kept {kept[0]}", flush=True)

if __name__ == "__main__": main()
