"""Is there a signal for the pruner to learn? Head importance read straight from SMP's objective, without a scorer.

For each task: 256 training inputs in 8 batches of 32, each with a random 50% mask (6 of 12 heads in every layer);
the gradient of the similarity loss with respect to the head gates (the quantity the straight-through estimator
passes to the scorer) is averaged over the batches, and the top-k mask of minus that gradient (heads whose removal
raises the loss most are kept) is evaluated on dev exactly like `pruner_quality.py` (first 256 dev inputs, batches of
64). Its loss is printed beside the packaged pruner's, the random masks' and the untrained scorer's from
`results/pruner_quality.json`. If this mask beats them, the objective carries the information a pruner needs and the
question is how well the scorer learns it.

Usage: python benchmarks/pruner_signal.py [--glue DIR] [--threads N]
"""
import argparse, json, sys, time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from smp_nb.models import load_encoder
from smp_nb.data import load_task, task_texts, get_task, encode_texts
from smp_nb.meta import mask_similarity_loss, task_mode
from smp_nb.gating import head_gates
from smp_nb.represent import sentence_repr, similarity_loss
from smp_nb.sampling import topk_mask

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--glue", default=str(ROOT.parent / "shared" / "glue"))
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    if not Path(a.glue).exists(): sys.exit(f"GLUE data not found at {a.glue}: pass --glue DIR.")
    torch.set_num_threads(a.threads)
    model, tok = load_encoder(); model.eval()
    for p in model.parameters(): p.requires_grad_(False)
    q = json.loads((ROOT / "benchmarks" / "results" / "pruner_quality.json").read_text())["tasks"]
    g = torch.Generator().manual_seed(0)
    for t in ["sst2", "cola", "mrpc", "stsb", "rte"]:
        t0 = time.time()
        tr = task_texts(load_task(t, "train", a.glue), get_task(t))
        rows = [tr[i] for i in torch.randperm(len(tr), generator=g)[:256].tolist()]
        mode, _ = task_mode(get_task(t).pair)
        imp = torch.zeros(6, 12)
        for k in range(8):
            b = encode_texts(tok, rows[32 * k: 32 * k + 32])
            with torch.no_grad(): full = sentence_repr(model(**b), b["attention_mask"], mode)
            m = topk_mask(torch.rand(6, 12, generator=g), 0.5).requires_grad_(True)
            with head_gates(model, m): pr = sentence_repr(model(**b), b["attention_mask"], mode)
            similarity_loss(full, pr).backward()
            imp -= m.grad / 8
        dev = task_texts(load_task(t, "dev", a.glue), get_task(t))[:256]
        L = mask_similarity_loss(model, tok, dev, topk_mask(imp, 0.5), batch_size=64)
        r = q[t]
        print(f"{t}: gradient-importance mask {L:.5f} | trained {r['trained']:.5f} random {r['random_mean']:.5f} "
              f"untrained {r['untrained_mean']:.5f} ({time.time() - t0:.0f}s)", flush=True)

if __name__ == "__main__": main()
