"""Correctness checks of TorchClassifier's GPU path, to run next to benchmarks/gpu_check.py on a machine with a CUDA GPU.

1. `device="auto", precision="auto"` resolves to cuda and bf16 (fp16 where the GPU has no bf16), and fit trains there.
2. A network trained on the GPU (the text transformer on data/reviews.csv, the digits CNN) saved with skops loads back
   on the CPU, in this process and in a fresh one that sees no GPU, and predicts what the GPU copy predicts in fp32
   (and, label for label, what it predicts under its mixed precision).
3. fp16 with the gradient scaler and gradient clipping trains to a finite loss; num_workers > 0 (a DataLoader with
   pinned memory) trains to the same weights as rows copied to the GPU up front.
4. A run killed after an epoch and resumed from its checkpoint on the GPU ends with the weights of an uninterrupted run.
5. The transformer's epoch time in fp32 and bf16 (the training loop alone, without loading the pre-trained weights).
Prints one line per check and PASS/FAIL/NOTE; exits 1 if a check FAILs (NOTE lines are reported findings, not failures).
Usage: python benchmarks/gpu_smoke.py
"""
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from sklearn.datasets import load_digits

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from trainpipe.features import ImageNormalizer, TransformerTokens  # noqa: E402
from trainpipe.neural import TRUSTED_TYPES, TorchClassifier, resolve_device, resolve_precision  # noqa: E402

PROJECT = Path(__file__).resolve().parent.parent
failures = []


def check(ok: bool, what: str, note_only: bool = False):
    tag = "PASS" if ok else ("NOTE" if note_only else "FAIL")
    print(f"{tag}  {what}", flush=True)
    if not ok and not note_only: failures.append(what)


def reviews():
    df = pd.read_csv(PROJECT/"data"/"reviews.csv")
    tok = TransformerTokens(max_len=64).fit(df[["text"]])
    train, test = df[df.split == "train"], df[df.split == "test"]
    return tok.transform(train[["text"]]), train.label.to_numpy(), tok.transform(test[["text"]]), test.label.to_numpy()


def digits():
    d = load_digits()
    X = ImageNormalizer((8, 8)).fit_transform(d.data.astype(np.float32))
    return X[:1500], d.target[:1500], X[1500:], d.target[1500:]


def gpu_fp32_proba(est, X):
    "What the GPU copy predicts with autocast off."
    mixed, est.precision_ = est.precision_, "fp32"
    try: return est.predict_proba(X)
    finally: est.precision_ = mixed


CPU_LOAD = """
import sys, numpy as np, torch, skops.io
sys.path.insert(0, sys.argv[1])
from trainpipe.neural import TRUSTED_TYPES
assert not torch.cuda.is_available()
est = skops.io.load(sys.argv[2], trusted=list(TRUSTED_TYPES))
print("device", next(est.module_.parameters()).device, file=sys.stderr)
np.save(sys.argv[4], est.predict_proba(np.load(sys.argv[3])))
"""


def round_trip(name: str, est, X_test, y_test, tmp: Path):
    import skops.io
    p_mixed = est.predict_proba(X_test)
    p_gpu32 = gpu_fp32_proba(est, X_test)
    path = tmp/f"{name.replace(' ', '_')}.skops"
    skops.io.dump(est, path)
    untrusted = set(skops.io.get_untrusted_types(file=path))
    check(untrusted <= set(TRUSTED_TYPES), f"{name}: skops file's untrusted types {sorted(untrusted)} are among TRUSTED_TYPES")
    loaded = skops.io.load(path, trusted=list(TRUSTED_TYPES))
    dev = next(loaded.module_.parameters()).device.type
    check(dev == "cpu", f"{name}: loaded network is on {dev}")
    p_cpu = loaded.predict_proba(X_test)
    diff = float(np.abs(p_cpu - p_gpu32).max())
    same32 = float((p_cpu.argmax(1) == p_gpu32.argmax(1)).mean())
    same_mixed = float((p_cpu.argmax(1) == p_mixed.argmax(1)).mean())
    check(diff < 1e-3 and same32 == 1.0, f"{name}: CPU copy vs GPU fp32: max |proba diff| {diff:.2e}, labels agree {same32:.1%}")
    check(same_mixed >= 0.98, f"{name}: CPU copy (fp32) vs GPU {est.precision_} autocast: labels agree {same_mixed:.1%} "
          f"(max |proba diff| {float(np.abs(p_cpu - p_mixed).max()):.2e})")
    print(f"      {name}: test accuracy GPU {float((est.predict(X_test) == y_test).mean()):.3f}, "
          f"CPU copy {float((loaded.predict(X_test) == y_test).mean()):.3f}", flush=True)
    # a fresh process that sees no GPU
    np.save(tmp/"X.npy", X_test)
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}
    r = subprocess.run([sys.executable, "-c", CPU_LOAD, str(PROJECT), str(path), str(tmp/"X.npy"), str(tmp/"p.npy")],
                       env=env, capture_output=True, text=True)
    if r.returncode: check(False, f"{name}: loading in a process without a GPU failed:\n{r.stderr[-2000:]}"); return
    p_fresh = np.load(tmp/"p.npy")
    check(float(np.abs(p_fresh - p_cpu).max()) < 1e-5 and np.array_equal(p_fresh.argmax(1), p_gpu32.argmax(1)),
          f"{name}: fresh CPU-only process predicts the same (max |diff| to in-process CPU copy {float(np.abs(p_fresh - p_cpu).max()):.2e})")


def same_weights(a, b) -> tuple[bool, float]:
    sa, sb = a.module_.state_dict(), b.module_.state_dict()
    diff = max(float((sa[k].float() - sb[k].float()).abs().max()) for k in sa)
    return all(torch.equal(sa[k], sb[k]) for k in sa), diff


class _Crash:
    def on_epoch_end(self, est, epoch, record):
        if epoch == 1: raise KeyboardInterrupt


def main():
    if not torch.cuda.is_available(): sys.exit("gpu_smoke needs a CUDA GPU; torch sees none here")
    print(f"GPU: {torch.cuda.get_device_name()}, torch {torch.__version__}, bf16 {'yes' if torch.cuda.is_bf16_supported() else 'no'}", flush=True)
    want = "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    check(resolve_device("auto") == "cuda", f"resolve_device('auto') -> {resolve_device('auto')}")
    check(resolve_precision("auto", "cuda") == want, f"resolve_precision('auto', 'cuda') -> {resolve_precision('auto', 'cuda')}")
    tmp = Path(tempfile.mkdtemp())

    Xd, yd, Xd_test, yd_test = digits()
    cnn = dict(module="image_cnn", module__shape=(8, 8), batch_size=128, lr=3e-3, epochs=3)
    est = TorchClassifier(**cnn, device="auto", precision="auto", seed=0)
    est.check_settings()
    est.fit(Xd, yd)
    dev = next(est.module_.parameters()).device.type
    check(dev == "cuda" and est.precision_ == want, f"TorchClassifier(device='auto', precision='auto').fit: network on {dev}, precision_ {est.precision_}")
    round_trip("digits CNN", est, Xd_test, yd_test, tmp)

    Xr, yr, Xr_test, yr_test = reviews()
    text = dict(module="transformer", batch_size=32, lr=5e-5, epochs=2)
    est = TorchClassifier(**text, device="auto", precision="auto", seed=0).fit(Xr, yr)
    dev = next(est.module_.parameters()).device.type
    check(dev == "cuda" and est.precision_ == want, f"transformer auto/auto: network on {dev}, precision_ {est.precision_}, "
          f"history {[round(r['train_loss'], 4) for r in est.history_]}")
    round_trip("transformer", est, Xr_test, yr_test, tmp)

    # fp16 with the gradient scaler and clipping
    est = TorchClassifier(**cnn, device="cuda", precision="fp16", grad_clip=1.0, seed=0).fit(Xd, yd)
    losses = [r["train_loss"] for r in est.history_]
    check(all(np.isfinite(losses)), f"fp16 + GradScaler + grad_clip: train losses {[round(x, 4) for x in losses]}")

    # a DataLoader with pinned memory vs rows copied up front (an MLP in fp32: deterministic kernels)
    mlp = dict(module="mlp", batch_size=64, epochs=2, seed=1, module__dropout=0.0, device="cuda", precision="fp32")
    a = TorchClassifier(**mlp).fit(Xd, yd)
    b = TorchClassifier(**mlp, num_workers=2).fit(Xd, yd)
    eq, diff = same_weights(a, b)
    check(diff < 1e-5, f"num_workers=2 (pinned DataLoader) vs up-front copy: same weights {eq}, max |diff| {diff:.2e}")

    # resume on the GPU after a crash at the end of epoch 1 (dropout draws on the GPU)
    ckpt = dict(module="mlp", batch_size=64, epochs=4, seed=3, module__dropout=0.2, device="cuda", precision="fp32")
    straight = TorchClassifier(**ckpt).fit(Xd, yd)
    again = TorchClassifier(**ckpt).fit(Xd, yd)
    folder = tmp/"ckpt"
    try: TorchClassifier(**ckpt, checkpoint_dir=str(folder), hooks=(_Crash(),)).fit(Xd, yd)
    except KeyboardInterrupt: pass
    resumed = TorchClassifier(**ckpt, checkpoint_dir=str(folder)).fit(Xd, yd)
    eq_again, d_again = same_weights(straight, again)
    eq_resumed, d_resumed = same_weights(straight, resumed)
    print(f"      two uninterrupted GPU runs: identical {eq_again} (max |diff| {d_again:.2e}); resumed epochs {[r['epoch'] for r in resumed.history_]}", flush=True)
    check(eq_resumed or not eq_again, f"GPU run resumed from its epoch-1 checkpoint ends with the uninterrupted weights: {eq_resumed} (max |diff| {d_resumed:.2e})")

    # the transformer's training loop alone, fp32 vs bf16 (fit() also loads the pre-trained weights each time)
    for precision in ("fp32", want):
        TorchClassifier(**text, device="cuda", precision=precision, validation_fraction=0.0, seed=0).fit(Xr, yr)  # warm-up
        torch.cuda.synchronize(); start = time.perf_counter()
        est = TorchClassifier(**{**text, "epochs": 3}, device="cuda", precision=precision, validation_fraction=0.0, seed=0).fit(Xr, yr)
        torch.cuda.synchronize(); wall = time.perf_counter() - start
        epochs = [r["epoch_seconds"] for r in est.history_]
        print(f"      transformer {precision}: fit of 3 epochs {wall:.2f}s wall, epoch seconds {[round(s, 3) for s in epochs]}, "
              f"{len(Xr) / min(epochs):,.0f} samples/s in the best epoch", flush=True)

    print(f"{'FAILED: ' + str(len(failures)) if failures else 'all checks passed'}", flush=True)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
