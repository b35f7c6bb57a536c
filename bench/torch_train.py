#!/usr/bin/python3
"""Times one training iteration of the recall task in PyTorch.

The work matches engine.Trainer.Step on BenchmarkTrainStep's settings: a
fresh batch of B recall sequences (one of K keys at t = 1, then T−1 of 4
distractor tokens, one-hot, so D = K + 4), a fused nn.RNN (tanh), nn.LSTM
or nn.GRU over all T steps, a linear read-out and cross-entropy at the
last step, backward through time, and one Adam step (lr 0.01, betas 0.9,
0.999), in float64 on --threads threads (one by default).

Prints one line per cell:

    torch train cell=lstm T=50 H=64 B=32 blas=openblas-serial ms=12.345

where ms is the median over --runs runs of the mean time per iteration of
--iters iterations, after --warmup iterations, and blas names the BLAS
library the process loaded (Debian's python3-torch uses whichever
libblas.so.3 the system's alternatives select: the reference BLAS unless
an optimised one such as libopenblas0-serial is installed), since the
float64 products go through it.

With --go it prints instead one Go benchmark line per run, named like
BenchmarkTrainStep's, so that benchstat sets the two side by side:

    /usr/bin/python3 bench/torch_train.py --go > torch.txt
"""

import argparse
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

NOISE = 4  # engine.recallNoise


def make_batch(T, B, K, gen):
    D = K + NOISE
    keys = torch.randint(K, (B,), generator=gen)
    noise = torch.randint(NOISE, (T - 1, B), generator=gen)
    x = torch.zeros(T, B, D)
    x[0, torch.arange(B), keys] = 1
    x[1:].scatter_(2, (K + noise).unsqueeze(2), 1)
    return x, keys


def build(cell, D, H):
    if cell == "rnn":
        return nn.RNN(D, H, nonlinearity="tanh")
    if cell == "lstm":
        return nn.LSTM(D, H)
    return nn.GRU(D, H)


def time_cell(cell, T, H, B, K, warmup, iters, runs):
    torch.manual_seed(1)
    gen = torch.Generator().manual_seed(1)
    rnn = build(cell, K + NOISE, H)
    head = nn.Linear(H, K)
    opt = torch.optim.Adam(list(rnn.parameters()) + list(head.parameters()), lr=0.01, betas=(0.9, 0.999))

    def step():
        x, y = make_batch(T, B, K, gen)
        out, _ = rnn(x)
        loss = F.cross_entropy(head(out[-1]), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    for _ in range(warmup):
        step()
    per_iter = []
    for _ in range(runs):
        start = time.perf_counter()
        for _ in range(iters):
            step()
        per_iter.append((time.perf_counter() - start) / iters)
    return per_iter


def blas_name():
    """Returns the directory naming the loaded libblas, e.g. openblas-serial."""
    torch.ones(8, 8) @ torch.ones(8, 8)
    with open("/proc/self/maps") as maps:
        for line in maps:
            path = line.split()[-1]
            if "libblas" in path or "libopenblas" in path or "libblis" in path or "libmkl" in path:
                return path.split("/")[-2]
    return "unknown"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cells", default="rnn,lstm,gru")
    ap.add_argument("-T", type=int, default=50)
    ap.add_argument("-H", type=int, default=64)
    ap.add_argument("-B", type=int, default=32)
    ap.add_argument("-K", type=int, default=8)
    ap.add_argument("--warmup", type=int, default=20)
    ap.add_argument("--iters", type=int, default=20)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--go", action="store_true", help="print Go benchmark lines, one a run")
    ap.add_argument("--threads", type=int, default=1, help="torch.set_num_threads")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.set_default_dtype(torch.float64)
    blas = blas_name()
    for cell in a.cells.split(","):
        runs = time_cell(cell, a.T, a.H, a.B, a.K, a.warmup, a.iters, a.runs)
        if a.go:
            for sec in runs:
                print(f"BenchmarkTrainStep/cell={cell}/T={a.T}/H={a.H}/batch={a.B}-2 {a.iters} {sec * 1e9:.0f} ns/op", flush=True)
            continue
        ms = 1000 * statistics.median(runs)
        print(f"torch train cell={cell} T={a.T} H={a.H} B={a.B} blas={blas} ms={ms:.3f}", flush=True)


if __name__ == "__main__":
    main()
