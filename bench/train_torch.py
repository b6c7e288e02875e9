"""PyTorch side of bench/train.ts: trains the example MLP and CNN on CPU with
2 threads, batch 128, Adam lr 1e-3, cross-entropy, and prints samples/s as one
JSON line. Same architectures as the TF.js models in bench/train.ts.

Usage: python3 bench/train_torch.py --model mlp|cnn --seconds 6 [--data DIR]
       python3 bench/train_torch.py --info     # which BLAS torch uses, as one JSON line

Debian's python3-torch calls whatever libblas.so.3 the alternatives system
points at: the slow reference BLAS unless an OpenBLAS package is installed
(apt-get install libopenblas0-pthread). blas_info() reports the library this
process actually mapped, OpenBLAS's own configuration string and thread count,
and the speed of a 1024x1024 float32 matmul, so a run on the reference BLAS is
recognisable in the results.
"""
import argparse
import ctypes
import gzip
import json
import os
import time

import numpy as np
import torch
import torch.nn as nn


def load(data_dir):
    img = os.path.join(data_dir, "train-images-idx3-ubyte.gz")
    lab = os.path.join(data_dir, "train-labels-idx1-ubyte.gz")
    if not (os.path.exists(img) and os.path.exists(lab)):
        rng = np.random.default_rng(0)
        return rng.random((60000, 1, 28, 28), dtype=np.float32), rng.integers(0, 10, 60000), "random"
    with gzip.open(img, "rb") as f:
        x = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 1, 28, 28).astype(np.float32) / 255.0
    with gzip.open(lab, "rb") as f:
        y = np.frombuffer(f.read(), np.uint8, offset=8).astype(np.int64)
    return x, y, "fashion-mnist"


def model(kind):
    if kind == "mlp":
        return nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10))
    return nn.Sequential(
        nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(64 * 5 * 5, 128), nn.ReLU(), nn.Linear(128, 10),
    )


def blas_library():
    """Which BLAS shared library this process has mapped (Debian's torch uses the libblas.so.3 alternative)."""
    try:
        with open("/proc/self/maps") as f:
            libs = {line.split()[-1] for line in f if "blas" in line.lower()}
        return ", ".join(sorted(os.path.realpath(l) for l in libs)) or "unknown"
    except OSError:
        return "unknown"


def blas_info(threads):
    """The BLAS torch runs on: mapped library, OpenBLAS config/threads, 1024^2 matmul speed."""
    torch.set_num_threads(threads)
    a, b = torch.randn(1024, 1024), torch.randn(1024, 1024)
    for _ in range(3):
        a @ b
    best = float("inf")
    for _ in range(5):
        t0 = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t0)
    info = {
        "library": blas_library(),
        "kind": "unknown",
        "matmul1024Ms": round(best * 1e3, 2),
        "matmul1024Gflops": round(2 * 1024 ** 3 / best / 1e9, 1),
        "torchThreads": torch.get_num_threads(),
        "torchBlasInfo": next((part.split("=", 1)[1] for part in torch.__config__.show().replace(",", "\n").split()
                               if part.startswith("BLAS_INFO=")), "unknown"),
        "alternative": os.path.realpath("/usr/lib/x86_64-linux-gnu/libblas.so.3"),
    }
    lib = info["library"].lower()
    if "openblas" in lib:
        info["kind"] = "openblas"
        try:
            ob = ctypes.CDLL(next(l for l in info["library"].split(", ") if "libopenblas" in l))
            ob.openblas_get_config.restype = ctypes.c_char_p
            info["openblasConfig"] = ob.openblas_get_config().decode()
            info["openblasThreads"] = ob.openblas_get_num_threads()
        except (OSError, StopIteration, AttributeError):
            pass
    elif "mkl" in lib:
        info["kind"] = "mkl"
    elif "/blas/libblas" in lib:
        info["kind"] = "reference"
    return info


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", choices=["mlp", "cnn"])
    p.add_argument("--info", action="store_true", help="print which BLAS torch uses and exit")
    p.add_argument("--seconds", type=float, default=6.0)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    a = p.parse_args()
    if a.info:
        print(json.dumps({"torch": torch.__version__, "blas": blas_info(a.threads)}))
        return
    if not a.model:
        p.error("--model is required")
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    x, y, source = load(a.data)
    xt, yt = torch.from_numpy(np.ascontiguousarray(x)), torch.from_numpy(y)
    m = model(a.model)
    opt = torch.optim.Adam(m.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    n = xt.shape[0]
    perm = torch.randperm(n)
    pos = 0

    def step():
        nonlocal pos, perm
        if pos + a.batch > n:
            perm, pos = torch.randperm(n), 0
        idx = perm[pos:pos + a.batch]
        pos += a.batch
        xb, yb = xt[idx], yt[idx]
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(m(xb), yb)
        loss.backward()
        opt.step()
        return loss

    for _ in range(a.warmup):
        step()
    steps, t0 = 0, time.perf_counter()
    while True:
        loss = step()
        steps += 1
        el = time.perf_counter() - t0
        if el >= a.seconds and steps >= 5:
            break
    print(json.dumps({
        "model": a.model, "samplesPerSec": steps * a.batch / el, "steps": steps, "seconds": el,
        "loss": float(loss.item()), "torch": torch.__version__, "threads": torch.get_num_threads(),
        "data": source, "blas": blas_library(),
    }))


if __name__ == "__main__":
    main()
