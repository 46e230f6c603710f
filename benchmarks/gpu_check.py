"""Train the text transformer and the digits CNN on a CUDA GPU with mixed precision (AMP) and in fp32, and on the CPU;
print samples/s and the speed-ups. Goal: AMP >= 1.5x fp32 on the transformer.

Needs a machine with an NVIDIA GPU, torch and transformers, plus trainpipe's own dependencies (numpy, pandas,
scikit-learn, skops): `pip install -e '.[torch,nlp]'`, or on a machine without a package registry, a wheelhouse made
here with `pip download -d wheels -r <(pip freeze)` and installed there with `pip install --no-index -f wheels -e .`.
Each timing is a short fit after a warm-up fit (CUDA kernels compiled, weights cached), medians of --repeats.
Usage: python benchmarks/gpu_check.py [--repeats 3] [--cpu-rows 64]
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
    args = parser.parse_args()
    if not torch.cuda.is_available(): sys.exit("gpu_check needs a CUDA GPU; torch sees none here")
    print(f"GPU: {torch.cuda.get_device_name()}, torch {torch.__version__}, bf16 {'yes' if torch.cuda.is_bf16_supported() else 'no'}")
    print(f"{'model':<14}{'CPU fp32':>12}{'GPU fp32':>12}{'GPU AMP':>12}{'GPU/CPU':>9}{'AMP/fp32':>10}   samples/s")
    for name, (load, settings) in MODELS.items():
        cpu = samples_per_second(load(args.cpu_rows if name == "transformer" else None), settings, "cpu", "fp32", 1)
        full = load()
        fp32 = samples_per_second(full, settings, "cuda", "fp32", args.repeats)
        amp = samples_per_second(full, settings, "cuda", "auto", args.repeats)
        print(f"{name:<14}{cpu:>12,.0f}{fp32:>12,.0f}{amp:>12,.0f}{fp32 / cpu:>8.1f}x{amp / fp32:>9.2f}x")
    print("goal: AMP >= 1.5x fp32 on the transformer")


if __name__ == "__main__":
    main()
