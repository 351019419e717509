"""Why do two random masks wreck STS-B fine-tuning? Direct tests, one fine-tuning run per variant.

In the GLUE table, STS-B random masks scored 38.4 and 42.6 (seeds 0 and 1) and 84.3 (seed 2); every other STS-B
mask scored 78.5 or more. Each variant fine-tunes STS-B exactly as `glue_table.py` does (settings read from the
committed run it starts from), keeping 6 heads per layer, and changes one thing:

- `putback`: random seed 0's mask with layer-0 heads 2 and 4 (the two wrecked masks are the only ones dropping both)
  swapped in for its last two other layer-0 heads;
- `takeout`: gradient importance's mask (84.3) with layer-0 heads 2 and 4 swapped out for the first two layer-0
  heads it drops;
- `curve`: random seed 0's run as it is, scoring dev after every epoch (does it never learn, or learn and diverge?);
- `seed1`, `seed2`: random seed 0's mask, fine-tuned with seed 1 or 2 (is it the mask or the fine-tuning seed?);
- `bias`: random seed 0's run with the regression head's bias started at the mean training label instead of 0;
- `lr4x`: random seed 0's run at 4 times the learning rate (2e-4): does the mask learn too slowly, or not at all?
- `ours_curve`, `ours_lr4x`: SMP (ours) seed 0's run as it is and at 2e-4, both scoring dev after every epoch, for
  comparison;
- `cross` (no fine-tuning): does a mask fail because it keeps too little attention between the two sentences of a
  pair? The full model's attention from each sentence's tokens to the other's, per head, on 128 STS-B training pairs,
  and the share of it that each committed STS-B 50% mask keeps, next to that run's score.

Every variant but `putback` and `takeout` scores dev after every epoch (`finetune(eval_each_epoch=True)`, which
leaves training as it is: `curve` reproduces the table's run exactly).

Results are written, one JSON entry per variant as it finishes, to benchmarks/results/stsb_collapse.json (the dev
curve where there is one). About 5 minutes per variant on a 2-core CPU.

Usage: python benchmarks/studies/stsb_collapse.py [--glue DIR] [--variants putback,takeout,curve,...]

Time: 265-330 s a variant on a 2-core CPU (recorded in stsb_collapse.json); about 45 minutes for all.
"""
import argparse, json, sys, time
from pathlib import Path

import torch
from scipy.stats import spearmanr

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/: common
from common import add_glue_arg, check_glue, encoder_keeping, RESULTS, write_json
from smp_nb.data import load_task
from smp_nb.finetune import EncoderClassifier, finetune
from smp_nb.gating import attention_maps
from smp_nb.models import load_encoder

HEADS = (2, 4)  # layer 0
RANDOM0, IMPORTANCE0, OURS0 = "stsb__random__r50__s0.json", "stsb__importance__r50__s0.json", "stsb__smp_ours__r50__s0.json"
# variant: the run it starts from, and what changes (edit of the kept heads, fine-tuning seed, learning rate, regression
# bias at the label mean, dev curve); unset: as in the run
VARIANTS = dict(putback=dict(source=RANDOM0, edit="putback"), takeout=dict(source=IMPORTANCE0, edit="takeout"),
                curve=dict(source=RANDOM0, curve=True), seed1=dict(source=RANDOM0, seed=1, curve=True),
                seed2=dict(source=RANDOM0, seed=2, curve=True), bias=dict(source=RANDOM0, bias=True, curve=True),
                lr4x=dict(source=RANDOM0, lr=2e-4, curve=True), ours_curve=dict(source=OURS0, curve=True),
                ours_lr4x=dict(source=OURS0, lr=2e-4, curve=True))

def edited_kept(kept, variant):
    "Layer-0 kept heads with HEADS swapped in (putback) or out (takeout), 6 heads kept either way; others as they are."
    if variant is None: return kept
    k0 = list(kept[0])
    if variant == "putback":  # the last heads outside HEADS make room for the missing ones
        add, others = [h for h in HEADS if h not in k0], [h for h in k0 if h not in HEADS]
        k0 = others[:len(others) - len(add)] + [h for h in k0 if h in HEADS] + add
    else:  # the first dropped heads outside HEADS replace the kept ones in HEADS
        gone = [h for h in k0 if h in HEADS]
        k0 = [h for h in k0 if h not in HEADS] + [h for h in range(12) if h not in k0 and h not in HEADS][:len(gone)]
    return [sorted(k0), *kept[1:]]

def cross_segment(train, n=128, batch=32):
    "Per head, the mean attention mass a token of one sentence of a pair gives to the other sentence `[layers, heads]`."
    model, tok = load_encoder()
    model.eval()
    total = 0
    with torch.no_grad():
        for i in range(0, n, batch):
            b = tok(list(train["sentence1"][i:i + batch]), list(train["sentence2"][i:i + batch]), padding=True,
                    truncation=True, max_length=128, return_tensors="pt")
            A = attention_maps(model, **b)  # [layers, batch, heads, query, key]
            s1 = ((b["token_type_ids"] == 0) & (b["attention_mask"] == 1)).float()
            s2 = ((b["token_type_ids"] == 1) & (b["attention_mask"] == 1)).float()
            one = torch.einsum("lbhqk,bq,bk->lbh", A, s1, s2) / s1.sum(1)[None, :, None]
            two = torch.einsum("lbhqk,bq,bk->lbh", A, s2, s1) / s2.sum(1)[None, :, None]
            total = total + ((one + two) / 2).sum(1)
    return total / n

def cross_report(train):
    "The `cross` variant: the full model's cross-sentence attention per head and the share of it each STS-B mask keeps."
    cross = cross_segment(train)
    rows = []
    for f in sorted((RESULTS / "glue").glob("stsb__*__r50__*.json")):
        d = json.loads(f.read_text())
        kept = sum(float(cross[layer, h]) for layer, hs in enumerate(d["kept_heads"]) for h in hs)
        rows.append(dict(run=f.name, main=d["main"], cross_share_kept=kept / float(cross.sum())))
        print(f"{f.name:36s} STS-B {100 * d['main']:5.1f}  keeps {100 * rows[-1]['cross_share_kept']:.1f}% of the cross-sentence attention")
    rho = float(spearmanr([r["main"] for r in rows], [r["cross_share_kept"] for r in rows])[0])
    print(f"Spearman correlation of score and share kept over {len(rows)} runs: {rho:.2f}")
    return dict(pairs=128, per_head=cross.tolist(), runs=rows, spearman=rho)

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_glue_arg(ap)
    ap.add_argument("--variants", default="putback,takeout")
    a = ap.parse_args()
    check_glue(a.glue, "stsb_collapse")
    variants = a.variants.split(",")
    if bad := [v for v in variants if v not in VARIANTS and v != "cross"]: sys.exit(f"Unknown variants {bad}: use {[*VARIANTS, 'cross']}.")
    out = RESULTS / "stsb_collapse.json"
    res = json.loads(out.read_text()) if out.exists() else {}
    train, dev = load_task("stsb", "train", a.glue), load_task("stsb", "dev", a.glue)
    for v in variants:
        if v == "cross":
            res[v] = cross_report(train)
            write_json(out, res)
            continue
        V = VARIANTS[v]
        source, bias, curve = V["source"], V.get("bias", False), V.get("curve", False)
        src = json.loads((RESULTS / "glue" / source).read_text())
        S, kept = src["settings"], edited_kept(src["kept_heads"], V.get("edit"))
        seed, lr = V.get("seed", src["seed"]), V.get("lr", S["lr"])
        encoder, tok = encoder_keeping(kept)
        torch.manual_seed(seed)  # as finetune does before building the head
        model = EncoderClassifier(encoder, 1, pooling=S["pooling"])
        if bias:
            with torch.no_grad(): model.classifier.bias.fill_(float(torch.tensor(train["label"]).mean()))
        t0 = time.time()
        r = finetune(model, tok, "stsb", train_data=train, eval_data=dev, epochs=S["epochs"], batch_size=S["batch_size"],
                     lr=lr, max_length=S["max_length"], seed=seed, train_sampling_strategy=S["sampling"],
                     eval_each_epoch=curve)
        res[v] = dict(source=source, source_main=src["main"], source_train_loss=src["train_loss"], kept_heads=kept,
                      seed=seed, lr=lr, bias_at_label_mean=bias, main=r["main"], train_loss=r["train_loss"], metrics=r["metrics"],
                      history=r["history"], seconds=round(time.time() - t0))
        write_json(out, res)
        steps = " ".join(f"{h['train_loss']:.2f}" + (f"/{100 * h['main']:.1f}" if "main" in h else "") for h in r["history"])
        print(f"{v}: STS-B {100 * r['main']:.1f} (train loss {r['train_loss']:.2f}; per epoch, loss/dev: {steps}); "
              f"source {source}: {100 * src['main']:.1f} (train loss {src['train_loss']:.2f})", flush=True)

if __name__ == "__main__": main()
