#!/usr/bin/python3
"""Replays a gradviz training export in PyTorch and compares the losses.

Reads the JSON of GET /api/train.json (a file, or standard input),
rebuilds every model from its initial weights as float64 tensors, runs
the export's batches through it with autograd, applies the export's
clipping rule and optimizer, and prints, per run, the worst absolute
difference between its loss at each iteration and the export's:

    curl -s 'localhost:8080/api/train.json?task=recall&cells=rnn,lstm&T=40&K=8&iterations=300' > run.json
    /usr/bin/python3 docs/replay_train.py run.json

It exits 1 when a difference reaches --tol (1e-7). The optimizers are
written out as the export's rules say, in the engine's order of
operations, and the cross-entropy as the engine computes it (see
CrossEntropy); --torch-optim uses torch.optim.SGD and torch.optim.Adam
instead, and --torch-loss torch.nn.functional.cross_entropy, which round
differently in the last bits (and the loss, once a model is confident,
in many more). docs/replay.md describes the format. PyTorch 1.13 (Debian's python3-torch) is enough.
"""

import argparse
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


ACT = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu, "linear": lambda x: x}


class Model:
    """One model of the export: its parameters, by name, and its forward pass."""

    def __init__(self, m):
        self.cfg = m["config"]
        if self.cfg.get("bidir"):
            sys.exit("a bidirectional model is not replayed by this script")
        self.cell, self.H = self.cfg["cell"], self.cfg["H"]
        w = m["weights"]
        self.p = {}
        if self.cell in ("lstm", "gru"):
            gates = "ifgo" if self.cell == "lstm" else "rzn"
            # Gate-stacked, in the engine's order, as PyTorch stacks them.
            self.p["Wx"] = torch.cat([tensor(w["Wx"][g]) for g in gates])
            self.p["Wh"] = torch.cat([tensor(w["Wh"][g]) for g in gates])
            self.p["b"] = torch.cat([tensor(w["b"][g]) for g in gates])
            if self.cell == "gru":
                self.p["bh_n"] = tensor(w["b"]["bh_n"])
        else:
            for name in ("Wx", "Wh", "b", "Wq", "Wk", "Wv"):
                if name in w:
                    self.p[name] = tensor(w[name])
        self.p["V"], self.p["c"] = tensor(w["V"]), tensor(w["c"])
        for t in self.p.values():
            t.requires_grad_()

    def params(self):
        return list(self.p.values())

    def forward(self, X, hook):
        """X: steps × B × D. Returns o: steps × B × K. hook(s) is called on
        every state s_t, for the step clipping rules."""
        p, H = self.p, self.H
        T, B, _ = X.shape
        if self.cell == "attn":
            t = torch.arange(1, T + 1, dtype=torch.float64)[:, None]
            i = torch.arange(H)
            angle = t / torch.pow(10000.0, (i - i % 2) / H)
            P = torch.where(i % 2 == 0, torch.sin(angle), torch.cos(angle))
            s = ACT[self.cfg["act"]](X @ p["Wx"].T + p["b"] + P[:, None, :])  # T × B × H
            hook(s)
            q, k, v = s @ p["Wq"].T, s @ p["Wk"].T, s @ p["Wv"].T
            q, k, v = (a.transpose(0, 1) for a in (q, k, v))  # B × T × H
            scores = q @ k.transpose(1, 2) / math.sqrt(H)
            scores = scores.masked_fill(torch.triu(torch.ones(T, T, dtype=torch.bool), 1), -math.inf)
            z = (torch.softmax(scores, dim=2) @ v).transpose(0, 1)
            return z @ p["V"].T + p["c"]
        s = torch.zeros(B, H)
        c = torch.zeros(B, H)
        outs = []
        for t in range(T):
            x = X[t]
            if self.cell == "rnn":
                s = ACT[self.cfg["act"]](x @ p["Wx"].T + s @ p["Wh"].T + p["b"])
            elif self.cell == "lstm":
                g = x @ p["Wx"].T + s @ p["Wh"].T + p["b"]
                i, f, gg, o = torch.sigmoid(g[:, :H]), torch.sigmoid(g[:, H:2 * H]), torch.tanh(g[:, 2 * H:3 * H]), torch.sigmoid(g[:, 3 * H:])
                c = f * c + i * gg
                s = o * torch.tanh(c)
            else:
                gx, gh = x @ p["Wx"].T + p["b"], s @ p["Wh"].T
                r = torch.sigmoid(gx[:, :H] + gh[:, :H])
                z = torch.sigmoid(gx[:, H:2 * H] + gh[:, H:2 * H])
                n = torch.tanh(gx[:, 2 * H:] + r * (gh[:, 2 * H:] + p["bh_n"]))
                s = (1 - z) * n + z * s
            hook(s)
            outs.append(s @ p["V"].T + p["c"])
        return torch.stack(outs)


def batch_tensors(ex, b, steps):
    """The inputs (steps × B × D) and targets of one exported batch."""
    task, B, K = ex["task"], ex["batch"], ex["keys"]
    if task == "adding":
        X = torch.zeros(steps, B, 2)
        X[:, :, 0] = tensor(b["values"]).T
        for r, (m1, m2) in enumerate(b["marks"]):
            X[m1 - 1, r, 1] = 1
            X[m2 - 1, r, 1] = 1
        return X, tensor(b["targets"])
    D = K + 4 if task == "recall" else 10
    X = torch.zeros(steps, B, D)
    tok = torch.tensor(b["tokens"]).T  # steps × B
    X.scatter_(2, tok.unsqueeze(2), 1)
    return X, torch.tensor(b["classes"]).T  # (1 or steps) × B


class CrossEntropy(torch.autograd.Function):
    """The mean cross-entropy of softmax(o) as the engine computes it. For
    a confident model, torch.nn.functional.cross_entropy's gradient at the
    target, ŷ_y − 1, rounds away its digits, and Adam, which scales every
    weight's step to its gradient's size, turns that rounding into whole
    steps: a replay drifts off once a model has learned. The engine takes
    log1p(Σ_{j≠y} e^{o_j−o_y}) for the loss and −Σ_{j≠y} ŷ_j for that
    entry of the gradient; so does this."""

    @staticmethod
    def forward(ctx, o, y):
        m = o.max(dim=1, keepdim=True).values
        lse = m + torch.log(torch.exp(o - m).sum(dim=1, keepdim=True))
        p = torch.exp(o - lse)
        others = torch.ones_like(o, dtype=torch.bool).scatter_(1, y[:, None], False)
        oy = o.gather(1, y[:, None])
        rest = torch.where(others, torch.exp(o - oy), torch.zeros_like(o)).sum(dim=1)
        per = torch.where(o.argmax(dim=1) == y, torch.log1p(rest), (lse - oy)[:, 0])
        ctx.save_for_backward(p, others, y)
        return per.mean()

    @staticmethod
    def backward(ctx, g):
        p, others, y = ctx.saved_tensors
        rest = torch.where(others, p, torch.zeros_like(p)).sum(dim=1)
        d = p.scatter(1, y[:, None], -rest[:, None])
        return g * d / p.shape[0], None


def loss_of(task, o, y, torch_loss):
    if task == "adding":
        return ((o[-1, :, 0] - y) ** 2).mean()
    ce = torch.nn.functional.cross_entropy if torch_loss else CrossEntropy.apply
    if task == "recall":
        return ce(o[-1], y[0])
    return ce(o.reshape(-1, o.shape[2]), y.reshape(-1))


class Optimizer:
    """The export's rule, element for element in the engine's order."""

    def __init__(self, spec, params, torch_optim):
        self.spec, self.params, self.t = spec, params, 0
        self.m = [torch.zeros_like(p) for p in params]
        self.v = [torch.zeros_like(p) for p in params]
        self.torch = None
        if torch_optim:
            if spec["kind"] == "adam":
                self.torch = torch.optim.Adam(params, lr=spec["lr"], betas=(spec["beta1"], spec["beta2"]), eps=spec["epsilon"])
            else:
                self.torch = torch.optim.SGD(params, lr=spec["lr"], momentum=spec.get("momentum", 0))

    @torch.no_grad()
    def step(self):
        if self.torch:
            return self.torch.step()
        sp, self.t = self.spec, self.t + 1
        for p, m, v in zip(self.params, self.m, self.v):
            g = p.grad
            if sp["kind"] == "adam":
                b1, b2 = sp["beta1"], sp["beta2"]
                c1, c2 = 1 - b1 ** self.t, 1 - b2 ** self.t
                m.copy_(b1 * m + (1 - b1) * g)
                v.copy_(b2 * v + (1 - b2) * g * g)
                p.sub_(sp["lr"] * (m / c1) / (torch.sqrt(v / c2) + sp["epsilon"]))
            else:
                m.copy_(sp.get("momentum", 0) * m + g)
                p.sub_(sp["lr"] * m)


def replay(ex, mi, torch_optim, torch_loss):
    model = Model(ex["models"][mi])
    run = ex["runs"][mi]
    params = model.params()
    opt = Optimizer(ex["optimizer"], params, torch_optim)
    clip = ex["clipping"]
    mode, theta = clip["mode"], clip["threshold"]

    def hook(s):
        if mode == "step-norm":
            s.register_hook(lambda d: torch.where(d.norm(dim=-1, keepdim=True) > theta, d * theta / d.norm(dim=-1, keepdim=True), d))
        elif mode == "step-value":
            s.register_hook(lambda d: d.clamp(-theta, theta))

    steps = model.cfg["T"]
    worst = 0.0
    for it in range(run["iterations"]):
        X, y = batch_tensors(ex, ex["batches"][it], steps)
        for p in params:
            p.grad = None
        loss = loss_of(ex["task"], model.forward(X, hook), y, torch_loss)
        loss.backward()
        if mode == "global-norm":
            norm = torch.sqrt(sum((p.grad * p.grad).sum() for p in params))
            if norm > theta and not torch.isinf(norm):
                for p in params:
                    p.grad.mul_(theta / norm)
        opt.step()
        want = float(num(run["loss"][it]))
        got = loss.item()
        if math.isnan(want) or math.isnan(got):
            if not (math.isnan(want) and math.isnan(got)):
                worst = math.inf
            break
        worst = max(worst, abs(got - want))
    return worst


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("file", nargs="?")
    ap.add_argument("--tol", type=float, default=1e-7)
    ap.add_argument("--torch-optim", action="store_true", help="torch.optim.SGD and Adam instead of the rules written out")
    ap.add_argument("--torch-loss", action="store_true", help="torch.nn.functional.cross_entropy instead of the engine's")
    args = ap.parse_args()
    ex = json.load(open(args.file) if args.file else sys.stdin)
    if ex.get("batches") is None:
        sys.exit("the export has no batches: " + ex.get("batchesOmitted", ""))
    bad = False
    for mi, m in enumerate(ex["models"]):
        d = replay(ex, mi, args.torch_optim, args.torch_loss)
        run = ex["runs"][mi]
        print(f"{m['cell']:5s} {ex['task']} {ex['optimizer']['kind']} clip={ex['clipping']['mode']} iterations={run['iterations']} worst |Δloss| {d:.3g}")
        bad = bad or not d < args.tol
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
