"""PyTorch on the work of a gradviz profile, for the benchmark command.

One sequence of T steps, D=4 inputs, K=4 classes, float64: the forward
pass, cross-entropy at the last step, and backpropagation through time
by autograd, keeping ∂E/∂s_k at every step (retain_grad, as a profile
needs every one) and every parameter gradient; then the norms of the
∂E/∂s_k. PyTorch's fused nn.RNN/nn.LSTM/nn.GRU cannot give ∂E/∂s_k for
every step, so the cells run step by step, as any autograd profile must.

Prints Go benchmark lines named like gradviz's BenchmarkPasses, so
benchstat puts the two side by side:

    /usr/bin/python3 bench/torch_profile.py --threads 1 > torch.txt
"""

import argparse
import statistics
import time

import torch

CELLS = {"rnn": torch.nn.RNNCell, "lstm": torch.nn.LSTMCell, "gru": torch.nn.GRUCell}


def profile(cell, head, xs, y):
    """One profile: forward, loss at T, backward, every ‖∂E/∂s_k‖."""
    for p in list(cell.parameters()) + list(head.parameters()):
        p.grad = None
    H = cell.hidden_size
    h = torch.zeros(1, H, dtype=torch.float64)
    c = torch.zeros(1, H, dtype=torch.float64)
    states = []
    for x in xs:
        if isinstance(cell, torch.nn.LSTMCell):
            h, c = cell(x, (h, c))
        else:
            h = cell(x, h)
        h.retain_grad()
        states.append(h)
    loss = torch.nn.functional.cross_entropy(head(h), y)
    loss.backward()
    return [s.grad.norm().item() for s in states]


def blas_name():
    """Names the BLAS library this process loaded, from /proc/self/maps."""
    try:
        with open("/proc/self/maps") as maps:
            for line in maps:
                path = line.split()[-1]
                if any(n in path for n in ("libblas", "libopenblas", "libblis", "libmkl")):
                    return path
    except OSError:
        pass
    return "unknown"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--count", type=int, default=6, help="benchmark lines per size, as go test -count")
    ap.add_argument("--runs", type=int, default=10, help="profiles timed per line")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    D, K = 4, 4
    print(f"# PyTorch {torch.__version__}, {args.threads} thread(s), float64, autograd, BLAS: {blas_name()}")
    print("goos: linux")
    print("pkg: gradviz/internal/engine")
    for name, Cell in CELLS.items():
        for T, H in [(100, 32), (1000, 128)]:
            kwargs = {"nonlinearity": "tanh"} if name == "rnn" else {}
            cell = Cell(D, H, dtype=torch.float64, **kwargs)
            head = torch.nn.Linear(H, K, dtype=torch.float64)
            xs = [torch.randn(1, D, dtype=torch.float64) for _ in range(T)]
            y = torch.tensor([1])
            with torch.enable_grad():
                for _ in range(2):
                    profile(cell, head, xs, y)  # warm-up
                for _ in range(args.count):
                    times = []
                    for _ in range(args.runs):
                        start = time.perf_counter()
                        profile(cell, head, xs, y)
                        times.append(time.perf_counter() - start)
                    ns = statistics.median(times) * 1e9
                    print(f"BenchmarkPasses/cell={name}/T={T}/H={H}-2 \t{args.runs}\t{ns:.0f} ns/op")


if __name__ == "__main__":
    main()
