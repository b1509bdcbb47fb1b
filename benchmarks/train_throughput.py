"""Training throughput: terms/s through forward + backward + optimizer step, CPU (and CUDA if present).

Prints one JSON line: for the tiny random BERT and all-MiniLM-L6-v2, terms/s on
each device, with batches of real ICD-10-CM descriptions (pairs of 2 x batch/2
terms, the tree loss on random categories, max length 25).

    python benchmarks/train_throughput.py [--batch 256] [--steps 5] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path


def _terms(n: int) -> list[str]:
    import simple_icd_10_cm as cm

    codes = [c for c in cm.get_all_codes(with_dots=True) if cm.is_leaf(c)]
    return [cm.get_description(c) for c in codes[:: max(1, len(codes) // n)][:n]]


def measure(model_path: str, device: str, terms: list[str], batch: int, steps: int) -> float:
    import torch

    from ehrfeat.training.losses import TreeLoss
    from ehrfeat.training.model import TermModel

    model = TermModel(model_path, pooling="mean", max_length=25).to(device).train()
    opt = torch.optim.AdamW(model.parameters(), lr=2e-5)
    loss_fn = TreeLoss()
    cats = torch.randint(0, 4, (batch // 2,), device=device)

    def step(i: int) -> None:
        chunk = [terms[(i * batch + j) % len(terms)] for j in range(batch)]
        with torch.autocast(device_type=device, dtype=torch.bfloat16, enabled=device == "cuda"):
            emb = torch.nn.functional.normalize(model(chunk).float(), dim=-1)
            loss = loss_fn((emb[0::2] * emb[1::2]).sum(-1), cats)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)

    step(0)  # warm-up
    if device == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    for i in range(1, steps + 1):
        step(i)
    if device == "cuda":
        torch.cuda.synchronize()
    return batch * steps / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=256, help="terms per step (pairs x 2)")
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    import torch

    from ehrfeat.models.loader import bundled_minilm_path
    from ehrfeat.training.tiny_model import make_tiny_bert

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    terms = _terms(4000)
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    result: dict[str, object] = {"benchmark": "train_throughput", "batch_terms": args.batch, "steps": args.steps,
                                 "threads": args.threads, "unit": "terms/s forward+backward+step"}
    with tempfile.TemporaryDirectory() as tmp:
        models = {"tiny": str(make_tiny_bert(Path(tmp) / "tiny", terms, max_length=25)), "minilm": str(bundled_minilm_path())}
        for name, path in models.items():
            for device in devices:
                result[f"{name}_{device}"] = round(measure(path, device, terms, args.batch, args.steps), 1)
    if "tiny_cpu" in result and "minilm_cpu" in result:
        result["tiny_over_minilm_cpu"] = round(float(result["tiny_cpu"]) / float(result["minilm_cpu"]), 1)  # type: ignore[arg-type]
    print(json.dumps(result))


if __name__ == "__main__":
    main()
