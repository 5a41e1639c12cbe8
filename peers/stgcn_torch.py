#!/usr/bin/env python3
"""PyTorch peer of holoscale's estimator, for the speed comparison in BENCHMARKS.md.

The spatio-temporal attention GCN of DeepScaler (section IV-C), written from the paper and
SPEC section 3 in idiomatic PyTorch: stacked blocks of T-Attention (eq. 11-12), a
two-direction Chebyshev graph convolution of order K (eq. 13) with ReLU, a length-preserving
time convolution (Conv2d, kernel 5 along time), a residual 1x1 projection, ReLU and
LayerNorm over channels (eq. 14), then one linear map per service from window x channels to
the horizon.

To compare like with like it reads a model directory written by `holoscale bench train`
(or `holoscale train`): the network sizes, training settings, target, features, split,
normaliser and affinity matrix all come from there, so both implementations train the same
architecture with the same hyperparameters on the same windows. It trains for the same
number of epochs (L1 loss on standardised targets, Adam with L2 weight decay, cosine
learning rate per epoch), evaluates MAE/RMSE on the test range in target units, and times
one-step decisions on the latest window (raw window -> standardise -> forward -> invert).

Prints one JSON object with the same fields as `holoscale bench train`.

    python peers/stgcn_torch.py --model DIR --telemetry FILE [--epochs 3] [--decisions 200]
"""

import argparse
import json
import math
import os
import resource
import statistics
import time

import numpy as np
import pyarrow.parquet as pq
import torch
from torch import nn


# ----------------------------------------------------------------------------- data


def read_dense(path, services, columns):
    """Telemetry Parquet (long format) -> float64 array [T, N, C] on the time grid."""
    table = pq.read_table(path, columns=["timestamp", "service", *columns])
    ts = table.column("timestamp").cast("int64").to_numpy()
    svc = table.column("service").to_pylist()
    steps = np.unique(ts)
    t_index = {t: i for i, t in enumerate(steps)}
    s_index = {s: i for i, s in enumerate(services)}
    missing = sorted(set(services) - set(svc))
    if missing:
        raise SystemExit(f"{path}: services {missing} of the model are not in the data")
    out = np.full((len(steps), len(services), len(columns)), np.nan)
    rows = np.array([t_index[t] for t in ts])
    cols = np.array([s_index.get(s, -1) for s in svc])
    keep = cols >= 0
    for c, name in enumerate(columns):
        values = table.column(name).to_numpy(zero_copy_only=False).astype(np.float64)
        out[rows[keep], cols[keep], c] = values[keep]
    if np.isnan(out).any():
        raise SystemExit(f"{path}: missing values; the peer expects complete telemetry")
    return out


def split_ranges(length, train, validation):
    t1 = min(int(round(length * train)), length)
    t2 = min(max(int(round(length * (train + validation))), t1), length)
    return (0, t1), (t1, t2), (t2, length)


def window_starts(tau, horizon, stride, targets):
    start, end = targets
    first = max(start - tau, 0)
    if end < tau + horizon:
        return []
    last = end - tau - horizon
    return list(range(first, last + 1, stride)) if first <= last else []


def affinity_matrix(model_dir, services):
    table = pq.read_table(os.path.join(model_dir, "affinity.parquet")).to_pydict()
    index = {s: i for i, s in enumerate(services)}
    a = np.zeros((len(services), len(services)), dtype=np.float32)
    for s, d, w in zip(table["source"], table["destination"], table["weight"]):
        a[index[s], index[d]] = w
    return a


class ModelData:
    """What a holoscale model directory and a telemetry file give both peers: the
    configuration, services, normaliser, standardised series, split windows and batches."""

    def __init__(self, model_dir, telemetry):
        def load(name):
            with open(os.path.join(model_dir, name)) as f:
                return json.load(f)

        self.load = load
        config = load("config.json")
        self.model_cfg, self.train_cfg, data_cfg = config["model"], config["train"], config["data"]
        if self.model_cfg["kind"] != "stgcn":
            raise SystemExit("the peer implements the stgcn model only")
        services = load("services.json")
        self.services = services["services"] if isinstance(services, dict) else services
        norm = load("normalizer.json")
        self.mean = dict(zip(norm["features"], norm["mean"]))
        self.std = dict(zip(norm["features"], norm["std"]))
        self.features, self.target = data_cfg["features"], data_cfg["target"]
        self.tau, self.horizon = data_cfg["window"], data_cfg["horizon"]
        stride = data_cfg["stride"]
        self.raw = read_dense(telemetry, self.services, self.features + [self.target])
        self.f_mean = np.array([self.mean[f] for f in self.features])
        self.f_std = np.array([self.std[f] for f in self.features])
        self.x_t = torch.from_numpy(((self.raw[:, :, :-1] - self.f_mean) / self.f_std).astype(np.float32))
        self.y_raw = self.raw[:, :, -1]
        self.y_t = torch.from_numpy(
            ((self.y_raw - self.mean[self.target]) / self.std[self.target]).astype(np.float32))
        ranges = split_ranges(
            self.raw.shape[0], data_cfg["split"]["train"], data_cfg["split"]["validation"])
        self.starts = {
            name: window_starts(self.tau, self.horizon, stride, r)
            for name, r in zip(["train", "validation", "test"], ranges)
        }

    def batch(self, idx):
        """Inputs [b, tau, n, f] and targets [b, horizon, n] of the windows starting at idx."""
        tau, h = self.tau, self.horizon
        return (torch.stack([self.x_t[s:s + tau] for s in idx]),
                torch.stack([self.y_t[s + tau:s + tau + h] for s in idx]))


# ---------------------------------------------------------------------------- model


class TAttention(nn.Module):
    """E = V_e sigmoid((X^T U1) U2 (U3 X) + b_e), softmax over the last axis, X' = E' X."""

    def __init__(self, window, services, channels):
        super().__init__()
        self.u1 = nn.Parameter(torch.randn(services) / math.sqrt(services))
        self.u2 = nn.Parameter(torch.empty(channels, services))
        self.u3 = nn.Parameter(torch.randn(channels) / math.sqrt(channels))
        self.be = nn.Parameter(torch.zeros(window, window))
        self.ve = nn.Parameter(torch.empty(window, window))
        nn.init.xavier_normal_(self.u2)
        nn.init.xavier_normal_(self.ve)

    def forward(self, x):  # x: [b, t, n, c]
        b, t, n, c = x.shape
        lhs = torch.einsum("btnc,n->btc", x, self.u1) @ self.u2  # [b, t, n]
        rhs = torch.einsum("btnc,c->bnt", x, self.u3)  # [b, n, t]
        e = self.ve @ torch.sigmoid(lhs @ rhs + self.be)  # [b, t, t]
        e = torch.softmax(e, dim=2)
        return (e @ x.reshape(b, t, n * c)).reshape(b, t, n, c)


class ChebConv(nn.Module):
    """Chebyshev terms T0 = X, T1 = AX, Tk = 2A T(k-1) - T(k-2) for A and for A^T."""

    def __init__(self, c_in, c_out, k):
        super().__init__()
        half = c_out // 2
        self.k = k
        self.theta_fwd = nn.Parameter(torch.empty(k * c_in, half))
        self.theta_bwd = nn.Parameter(torch.empty(k * c_in, half))
        self.bias = nn.Parameter(torch.zeros(c_out))
        nn.init.xavier_normal_(self.theta_fwd)
        nn.init.xavier_normal_(self.theta_bwd)

    def terms(self, x, a):
        out = [x]
        if self.k > 1:
            out.append(a @ x)
        for _ in range(2, self.k):
            out.append(2 * (a @ out[-1]) - out[-2])
        return torch.cat(out, dim=-1)

    def forward(self, x, a):  # x: [b, t, n, c]
        b, t, n, c = x.shape
        rows = x.reshape(b * t, n, c)
        fwd = self.terms(rows, a) @ self.theta_fwd
        bwd = self.terms(rows, a.T) @ self.theta_bwd
        return (torch.cat([fwd, bwd], dim=-1) + self.bias).reshape(b, t, n, -1)


class Block(nn.Module):
    def __init__(self, window, services, c_in, cheb, time_filters, k, kernel):
        super().__init__()
        self.attention = TAttention(window, services, c_in)
        self.cheb = ChebConv(c_in, cheb, k)
        self.time = nn.Conv2d(cheb, time_filters, (kernel, 1), padding=(kernel // 2, 0))
        self.residual = nn.Linear(c_in, time_filters)
        self.norm = nn.LayerNorm(time_filters)

    def forward(self, x, a):  # [b, t, n, c_in] -> [b, t, n, time]
        spatial = torch.relu(self.cheb(self.attention(x), a))
        temporal = self.time(spatial.permute(0, 3, 1, 2)).permute(0, 2, 3, 1)
        return self.norm(torch.relu(temporal + self.residual(x)))


class Stgcn(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        blocks = []
        for i in range(cfg["blocks"]):
            c_in = cfg["features"] if i == 0 else cfg["time_filters"]
            blocks.append(
                Block(
                    cfg["window"],
                    cfg["services"],
                    c_in,
                    cfg["cheb_filters"],
                    cfg["time_filters"],
                    cfg["cheb_k"],
                    cfg["time_kernel"],
                )
            )
        self.blocks = nn.ModuleList(blocks)
        self.output = nn.Linear(cfg["window"] * cfg["time_filters"], cfg["horizon"])

    def forward(self, x, a):  # [b, t, n, f] -> [b, horizon, n]
        for block in self.blocks:
            x = block(x, a)
        b, t, n, c = x.shape
        return self.output(x.transpose(1, 2).reshape(b, n, t * c)).transpose(1, 2)


# ------------------------------------------------------------------------------ run


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True, help="model directory of holoscale")
    ap.add_argument("--telemetry", required=True)
    ap.add_argument("--epochs", type=int, default=None, help="default: as many as the model ran")
    ap.add_argument("--decisions", type=int, default=200)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)

    d = ModelData(args.model, args.telemetry)
    model_cfg, train_cfg = d.model_cfg, d.train_cfg
    services, mean, std, target = d.services, d.mean, d.std, d.target
    tau, horizon, raw, y_raw, starts, batch = d.tau, d.horizon, d.raw, d.y_raw, d.starts, d.batch
    epochs = args.epochs
    if epochs is None:
        history = pq.read_table(os.path.join(args.model, "training.parquet"))
        epochs = history.num_rows

    a = torch.from_numpy(affinity_matrix(args.model, services))
    model = Stgcn(model_cfg)
    lr0, lr_min, t_max = (
        train_cfg["learning_rate"],
        train_cfg["min_learning_rate"],
        train_cfg["cosine_t_max"],
    )
    optim = torch.optim.Adam(model.parameters(), lr=lr0, weight_decay=train_cfg["weight_decay"])
    bs = train_cfg["batch_size"]
    rng = np.random.default_rng(args.seed)

    def predict(idx_list):
        model.eval()
        out = []
        with torch.no_grad():
            for i in range(0, len(idx_list), bs):
                out.append(model(batch(idx_list[i : i + bs])[0], a))
        model.train()
        return torch.cat(out) if out else torch.zeros(0, horizon, len(services))

    epoch_seconds = []
    for epoch in range(epochs):
        t0 = time.perf_counter()
        lr = lr_min + (lr0 - lr_min) * (1 + math.cos(math.pi * epoch / t_max)) / 2
        for g in optim.param_groups:
            g["lr"] = lr
        order = rng.permutation(starts["train"])
        for i in range(0, len(order), bs):
            xs, ys = batch(order[i : i + bs])
            loss = (model(xs, a) - ys).abs().mean()
            optim.zero_grad()
            loss.backward()
            optim.step()
        if starts["validation"]:
            val = predict(starts["validation"])
            _ = (val - batch(starts["validation"])[1]).abs().mean().item()
        epoch_seconds.append(time.perf_counter() - t0)

    # Test accuracy in target units, where the truth is non-zero (DeepScaler's masking).
    pred = predict(starts["test"]).numpy() * std[target] + mean[target]
    truth = np.stack([y_raw[s + tau : s + tau + horizon] for s in starts["test"]])
    mask = truth != 0
    err = (pred - truth)[mask]
    test_mae = float(np.abs(err).mean())
    test_rmse = float(np.sqrt((err**2).mean()))

    # One decision: the latest raw window -> standardise -> forward -> invert.
    latest = raw[-tau:, :, :-1]
    f_mean, f_std = d.f_mean, d.f_std
    model.eval()

    def decide():
        with torch.no_grad():
            z = torch.from_numpy(((latest - f_mean) / f_std).astype(np.float32))[None]
            return model(z, a)[0].numpy() * std[target] + mean[target]

    for _ in range(min(10, args.decisions)):
        decide()
    times = []
    for _ in range(args.decisions):
        t0 = time.perf_counter()
        decide()
        times.append((time.perf_counter() - t0) * 1e3)
    times.sort()

    def pct(q):
        return times[round((len(times) - 1) * q)] if times else float("nan")

    per_window = statistics.median(s / max(len(starts["train"]), 1) for s in epoch_seconds)
    print(
        json.dumps(
            {
                "implementation": f"PyTorch {torch.__version__}",
                "device": "cpu",
                "services": len(services),
                "features": len(d.features),
                "window": tau,
                "filters": model_cfg["cheb_filters"],
                "train_windows": len(starts["train"]),
                "epochs": epochs,
                "epoch_seconds": epoch_seconds,
                "windows_per_s": 1.0 / per_window,
                "test_mae": test_mae,
                "test_rmse": test_rmse,
                "decisions": args.decisions,
                "decision_p50_ms": pct(0.5),
                "decision_p99_ms": pct(0.99),
                "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                "threads": torch.get_num_threads(),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
