"""Train the text transformer and the digits CNN on a CUDA GPU with mixed precision (AMP) and in fp32, and on the CPU;
print samples/s and the speed-ups. Goal: AMP >= 1.5x fp32 on the transformer.

Needs a machine with an NVIDIA GPU, torch and transformers, plus trainpipe's own dependencies (numpy, pandas,
scikit-learn, skops): `pip install -e '.[torch,nlp]'`, or on a machine without a package registry, a wheelhouse made
here with `pip download -d wheels -r <(pip freeze)` and installed there with `pip install --no-index -f wheels -e .`.
Each timing is a short fit after a warm-up fit (CUDA kernels compiled, weights cached), medians of --repeats.
AMP pays where the matrix products dominate a step: at the transformer's batch of 32 the per-step overhead of a
model this small (all-MiniLM-L6-v2, 22M parameters) outweighs them and bf16's casts make it slower (an H200 measured
0.74x at 32, 0.76x at 128, 2.25x at 512 per epoch; whole fits, weight loading included: 1.30x at 256, 1.97x at 512),
so the transformer is timed at --batch-size (512 by default) on the training reviews repeated --tile times (16).
Usage: python benchmarks/gpu_check.py [--repeats 3] [--cpu-rows 64] [--batch-size 512] [--tile 16]
"""
import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from sklearn.datasets import load_digits

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from trainpipe.features import ImageNormalizer, TransformerTokens  # noqa: E402
from trainpipe.neural import TorchClassifier  # noqa: E402

PROJECT = Path(__file__).resolve().parent.parent


def reviews(rows: int | None = None):
    df = pd.read_csv(PROJECT/"data"/"reviews.csv")
    df = df[df.split == "train"].head(rows) if rows else df[df.split == "train"]
    X = TransformerTokens(max_len=64).fit(df[["text"]]).transform(df[["text"]])
    return X, df.label.to_numpy()


def digits(rows: int | None = None):
    d = load_digits()
    X = ImageNormalizer((8, 8)).fit_transform(d.data.astype(np.float32))
    return (X[:rows], d.target[:rows]) if rows else (X, d.target)


MODELS = {
    "transformer": (reviews, dict(module="transformer", batch_size=32, lr=5e-5, epochs=1)),
    "digits CNN": (digits, dict(module="image_cnn", module__shape=(8, 8), batch_size=128, lr=3e-3, epochs=3)),
}


def samples_per_second(data, settings: dict, device: str, precision: str, repeats: int) -> float:
    X, y = data
    est = lambda: TorchClassifier(**settings, device=device, precision=precision, validation_fraction=0.0, seed=0)
    est().fit(X, y)  # warm-up
    times = []
    for _ in range(repeats):
        if device == "cuda": torch.cuda.synchronize()
        start = time.perf_counter()
        est().fit(X, y)
        if device == "cuda": torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return len(X) * settings["epochs"] / statistics.median(times)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--cpu-rows", type=int, default=64, help="rows for the CPU timing of the transformer (it is slow there)")
    parser.add_argument("--batch-size", type=int, default=512, help="the transformer's batch size on the GPU")
    parser.add_argument("--tile", type=int, default=16, help="repeat the 600 training reviews this many times for the GPU timings, so an epoch has enough steps")
    args = parser.parse_args()
    if not torch.cuda.is_available(): sys.exit("gpu_check needs a CUDA GPU; torch sees none here")
    print(f"GPU: {torch.cuda.get_device_name()}, torch {torch.__version__}, bf16 {'yes' if torch.cuda.is_bf16_supported() else 'no'}")
    MODELS["transformer"][1]["batch_size"] = args.batch_size
    print(f"transformer: batch size {args.batch_size}, the 600 training reviews x{args.tile} on the GPU; digits CNN: batch size {MODELS['digits CNN'][1]['batch_size']}")
    print(f"{'model':<14}{'CPU fp32':>12}{'GPU fp32':>12}{'GPU AMP':>12}{'GPU/CPU':>9}{'AMP/fp32':>10}   samples/s")
    for name, (load, settings) in MODELS.items():
        cpu = samples_per_second(load(args.cpu_rows if name == "transformer" else None), settings, "cpu", "fp32", 1)
        full = load()
        if name == "transformer" and args.tile > 1: full = (np.concatenate([full[0]] * args.tile), np.concatenate([full[1]] * args.tile))
        fp32 = samples_per_second(full, settings, "cuda", "fp32", args.repeats)
        amp = samples_per_second(full, settings, "cuda", "auto", args.repeats)
        print(f"{name:<14}{cpu:>12,.0f}{fp32:>12,.0f}{amp:>12,.0f}{fp32 / cpu:>8.1f}x{amp / fp32:>9.2f}x")
    print("goal: AMP >= 1.5x fp32 on the transformer")


if __name__ == "__main__":
    main()
