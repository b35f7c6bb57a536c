"""PyTorch autograd against a gradviz attention export.

Reads the export of /api/profile?include=weights&cell=attn&… (a file, or
standard input), rebuilds the model from its weights as tensors
(softmax(q kᵀ/√H) v with the causal mask unless bidir), runs autograd in
float64, and prints the worst relative error of the loss,
‖∂E/∂θ‖ before and after clipping, and every ‖∂E/∂s_k‖ (raw and
clipped). Step clipping is applied the way the export defines it: to
each δ_k = ∂E/∂s_k, before it reaches Wx and b.

    curl -s 'localhost:8080/api/profile?include=weights&cell=attn&T=200' | /usr/bin/python3 bench/torch_check_attn.py

It exits 1 when any number is off by 1e-7 or more. PyTorch 1.13 from
Debian (apt-get install python3-torch) is enough.
"""

import json
import math
import sys

import torch

torch.set_default_dtype(torch.float64)


def num(v):
    return {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}.get(v, v) if isinstance(v, str) else v


def tensor(v):
    fix = lambda x: [fix(e) for e in x] if isinstance(x, list) else float(num(x))
    return torch.tensor(fix(v), dtype=torch.float64)


def act(name, a):
    return {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu, "linear": lambda x: x}[name](a)


def main():
    ex = json.load(open(sys.argv[1]) if len(sys.argv) > 1 else sys.stdin)
    cfg, w = ex["config"], ex["weights"]
    assert cfg["cell"] == "attn", "an attention export is needed"
    T, H = cfg["T"], cfg["H"]
    Wx, b, Wq, Wk, Wv = (tensor(w[n]).requires_grad_() for n in ("Wx", "b", "Wq", "Wk", "Wv"))
    V, c = tensor(w["V"]).requires_grad_(), tensor(w["c"]).requires_grad_()
    X = tensor(ex["inputs"])
    y = torch.tensor(ex["targets"])

    t = torch.arange(1, T + 1, dtype=torch.float64)[:, None]
    i = torch.arange(H)
    angle = t / torch.pow(10000.0, (i - i % 2) / H)
    P = torch.where(i % 2 == 0, torch.sin(angle), torch.cos(angle))

    def run():
        s = act(cfg["act"], X @ Wx.T + b + P)
        s.retain_grad()
        q, k, v = s @ Wq.T, s @ Wk.T, s @ Wv.T
        scores = q @ k.T / math.sqrt(H)
        if not cfg["bidir"]:
            scores = scores.masked_fill(torch.triu(torch.ones(T, T, dtype=torch.bool), 1), -math.inf)
        z = torch.softmax(scores, dim=1) @ v
        o = z @ V.T + c
        logp = torch.log_softmax(o, dim=1)
        scored = range(T) if cfg["loss"] == "sum" else [T - 1]
        loss = -sum(logp[j, y[j]] for j in scored)
        return s, loss

    params = [Wx, b, Wq, Wk, Wv, V, c]
    s, loss = run()
    grads = torch.autograd.grad(loss, params + [s], retain_graph=True)
    delta = grads[-1]
    raw = delta.norm(dim=1)
    grad_norm = torch.sqrt(sum((g * g).sum() for g in grads[:-1]))
    mode, theta = cfg["clip"], cfg["threshold"]
    clipped_norm, clipped = grad_norm, raw
    if mode == "global-norm":
        clipped_norm = min(grad_norm, torch.tensor(theta))
    elif mode in ("step-norm", "step-value"):
        if mode == "step-norm":
            n = delta.norm(dim=1, keepdim=True)
            d = torch.where(n > theta, delta * theta / n, delta)
        else:
            d = delta.clamp(-theta, theta)
        clipped = d.norm(dim=1)
        # Wx and b see the clipped δ; the other weights do not depend on it.
        gx = torch.autograd.grad(s, [Wx, b], grad_outputs=d)
        rest = [g for g, p in zip(grads[:-1], params) if p is not Wx and p is not b]
        clipped_norm = torch.sqrt(sum((g * g).sum() for g in list(gx) + rest))

    prof = ex["profile"]
    worst = {}

    def cmp(name, got, want):
        got, want = float(num(got)), float(want)
        e = 0.0 if got == want else abs(got - want) / max(abs(got), abs(want))
        worst[name] = max(worst.get(name, 0.0), e)

    cmp("loss", ex["loss"], loss)
    cmp("gradNorm", ex["gradNorm"], grad_norm)
    cmp("gradNormClipped", ex["gradNormClipped"], clipped_norm)
    for k in range(T):
        cmp("dE_ds_raw", prof["dE_ds_raw"][k], raw[k])
        cmp("dE_ds", prof["dE_ds"][k], clipped[k])
    for name, e in worst.items():
        print(f"{name:16s} worst relative error {e:.3g}")
    sys.exit(0 if max(worst.values()) < 1e-7 else 1)


if __name__ == "__main__":
    main()
