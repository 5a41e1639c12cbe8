#!/usr/bin/env python3
"""PyTorch peer of holoscale's EM graph learning (DeepScaler Algorithm 2), for the wall-time
comparison in BENCHMARKS.md.

Written from the paper and SPEC section 4, on the estimator of `stgcn_torch.py`:
each iteration trains the estimator with the affinity fixed (L1, eq. 4), trains the graph
generator G (eq. 5-6: A1 = ReLU(M1 M2^T - M2 M1^T + diag(L)), gate S = sigmoid(h([A1, A])),
A_new = Norm(S*A1 + (1-S)*A) with the epsilon sparsification) with the estimator fixed
(L_G = L_P + ReLU(C/N^2 - delta)/delta, eq. 7-8, C counted as written), pushes G(A) into the
affinity set, scores every member on validation data (eq. 10), drops the worst beyond N_max,
and combines the rest with softmax weights (eq. 9); the last share of iterations takes the
newest matrix.

It reads a model directory written by `holoscale train` (sizes, training settings, target,
features, split, normaliser, and the EM settings in graph_learning.json) and the call edges
the run started from, so both sides run the same loop on the same windows.

    python peers/em_torch.py --model DIR --telemetry FILE --edges FILE [--iterations N]
"""

import argparse
import json
import math
import os
import statistics
import sys
import time

import numpy as np
import pyarrow.parquet as pq
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from stgcn_torch import ModelData, Stgcn  # noqa: E402


def invocation(edges_path, services):
    """Binary call matrix (mean rate > 0), then D^-1/2 (A + I) D^-1/2."""
    t = pq.read_table(edges_path).to_pydict()
    index = {s: i for i, s in enumerate(services)}
    n = len(services)
    total, count = np.zeros((n, n)), np.zeros((n, n))
    for s, d, r in zip(t["source"], t["destination"], t["req_rate"]):
        if s in index and d in index and s != d and r == r:
            total[index[s], index[d]] += r
            count[index[s], index[d]] += 1
    a = (np.divide(total, np.maximum(count, 1)) > 0).astype(np.float64)
    a += np.eye(n)
    inv = 1 / np.sqrt(a.sum(1))
    return (inv[:, None] * a * inv[None, :]).astype(np.float32)


def sym(a):
    d = a.sum(1, keepdim=True)
    inv = torch.where(d > 0, d.clamp_min(1e-12).rsqrt(), torch.zeros_like(d))
    return a * inv * inv.T


def norm_eps(a, eps):
    return sym(torch.relu(sym(a) - eps))


class Generator(torch.nn.Module):
    def __init__(self, n, d, eps, init_std):
        super().__init__()
        std = init_std if init_std is not None else (2 * d) ** -0.25
        self.m1 = torch.nn.Parameter(torch.randn(n, d) * std)
        self.m2 = torch.nn.Parameter(torch.randn(n, d) * std)
        self.lam = torch.nn.Parameter(torch.ones(n))
        self.gate = torch.nn.Conv2d(2, 1, 1)  # h: a 1x1 convolution over [A1, A]
        torch.nn.init.zeros_(self.gate.weight)
        torch.nn.init.zeros_(self.gate.bias)
        self.eps = eps

    def forward(self, a):
        a1 = torch.relu(self.m1 @ self.m2.T - self.m2 @ self.m1.T + torch.diag(self.lam))
        s = torch.sigmoid(self.gate(torch.stack([a1, a])[None]))[0, 0]
        return norm_eps(s * a1 + (1 - s) * a, self.eps)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--telemetry", required=True)
    ap.add_argument("--edges", required=True)
    ap.add_argument("--iterations", type=int, default=None, help="default: the model's")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)

    d = ModelData(args.model, args.telemetry)
    em = d.load("graph_learning.json")["config"]
    model_cfg, train_cfg, services = d.model_cfg, d.train_cfg, d.services
    starts, batch = d.starts, d.batch
    iterations = args.iterations or em["iterations"]
    n = len(services)

    model = Stgcn(model_cfg)
    eps = em["epsilon"] if em["epsilon"] is not None else 0.5 / n
    gen = Generator(n, em["embedding"], eps, em.get("init_std"))
    optim = torch.optim.Adam(model.parameters(), lr=train_cfg["learning_rate"],
                             weight_decay=train_cfg["weight_decay"])
    gen_optim = torch.optim.Adam(gen.parameters(), lr=em["generator_lr"])
    bs = train_cfg["batch_size"]
    lr0, lr_min, t_max = (train_cfg["learning_rate"], train_cfg["min_learning_rate"],
                          train_cfg["cosine_t_max"])
    rng = np.random.default_rng(args.seed)

    def val_loss(a, idx=None):
        idx = starts["validation"] if idx is None else idx
        model.eval()
        total, count = 0.0, 0
        with torch.no_grad():
            for i in range(0, len(idx), bs):
                xs, ys = batch(idx[i:i + bs])
                total += (model(xs, a) - ys).abs().sum().item()
                count += ys.numel()
        model.train()
        return total / max(count, 1)

    a_old = torch.from_numpy(invocation(args.edges, services))
    affinity_set = [a_old.clone()]
    newest_from = iterations - round(em["newest_share"] * iterations) + 1
    epoch = 0
    report = []
    t_start = time.perf_counter()
    best = (float("inf"), None)
    for it in range(1, iterations + 1):
        t0 = time.perf_counter()
        for _ in range(em["epochs_per_iteration"]):  # policy learning
            lr = lr_min + (lr0 - lr_min) * (1 + math.cos(math.pi * epoch / t_max)) / 2
            epoch += 1
            for g in optim.param_groups:
                g["lr"] = lr
            order = rng.permutation(starts["train"])
            for i in range(0, len(order), bs):
                xs, ys = batch(order[i:i + bs])
                loss = (model(xs, a_old) - ys).abs().mean()
                optim.zero_grad()
                loss.backward()
                optim.step()
            v = val_loss(a_old)
            if v < best[0]:
                best = (v, a_old.clone())
        for p in model.parameters():
            p.requires_grad_(False)
        old_mask = (a_old != 0).float()
        for _ in range(em["generator_epochs"]):  # graph learning
            order = rng.permutation(starts["train"])
            for i in range(0, len(order), bs):
                xs, ys = batch(order[i:i + bs])
                a_new = gen(a_old)
                lp = (model(xs, a_new) - ys).abs().mean()
                c = torch.relu((a_new.detach() != 0).float() - old_mask).sum().item()
                loss = lp + max(c / n**2 - em["delta"], 0.0) / em["delta"]
                gen_optim.zero_grad()
                loss.backward()
                gen_optim.step()
        for p in model.parameters():
            p.requires_grad_(True)
        with torch.no_grad():
            a_new = gen(a_old)
        affinity_set.append(a_new)
        losses = [val_loss(m) for m in affinity_set]  # eq. 10
        while len(affinity_set) > em["max_set"]:
            worst = int(np.argmax(losses))
            affinity_set.pop(worst)
            losses.pop(worst)
        if it >= newest_from:
            a_old = a_new
        else:  # eq. 9
            w = torch.softmax((max(losses) - torch.tensor(losses)) / em["temperature"], 0)
            a_old = norm_eps(sum(wi * m for wi, m in zip(w, affinity_set)), eps)
        report.append(time.perf_counter() - t0)
    total = time.perf_counter() - t_start
    print(json.dumps({
        "implementation": f"PyTorch {torch.__version__}",
        "services": n,
        "train_windows": len(starts["train"]),
        "iterations": iterations,
        "epochs_per_iteration": em["epochs_per_iteration"],
        "generator_epochs": em["generator_epochs"],
        "iteration_seconds": report,
        "median_iteration_s": statistics.median(report),
        "total_s": total,
        "best_val_loss": best[0],
        "threads": torch.get_num_threads(),
    }, indent=2))


if __name__ == "__main__":
    main()
