"""Can any model that sees telemetry beat persistence on a simulated `optimal_replicas` label?

A strong generic learner (LightGBM gradient-boosted trees, L1 objective, early stopping on
the validation range) is fitted to the same split the estimator uses (70% train, 10%
validation, last 20% test) and scored one or more steps ahead, twice:

- with the label's own history (the last 6 values; the trees predict the change from the
  current label): what an autoregressive model could reach;
- with telemetry only (the estimator's default features: request rate over the last 10
  steps, replicas, CPU, latency): what the estimator's inputs allow.

Per row (time t, service s) the features are the service's index (categorical), the request
rate over the last 10 steps divided by its latest value, the latest rate, the rate's
relative slope, and replicas, CPU cores and mean latency at t.

It prints persistence's MAE and each model's MAE (raw and rounded to the nearest replica)
and ratio to persistence. The ratio is the figure to compare with the issue's target.

Usage: python benches/label_ceiling.py TELEMETRY_DIR [--horizon H] [--seed S]
(benches/label_ceiling.sh makes the runs and the virtual environment; see BENCHMARKS.md).
"""

import argparse

import lightgbm as lgb
import numpy as np
import pyarrow.parquet as pq

HISTORY = 6
RATE_WINDOW = 10


def load(directory):
    table = pq.read_table(f"{directory}/telemetry.parquet").to_pandas()
    wide = {}
    for column in ["optimal_replicas", "req_rate", "replicas", "cpu_cores", "latency_ms"]:
        if column in table:
            wide[column] = table.pivot(index="timestamp", columns="service", values=column)
    services = list(wide["optimal_replicas"].columns)
    return {c: w[services].to_numpy(dtype=float) for c, w in wide.items()}, services


def rows(data, start, stop, horizon):
    """Feature rows for every (t, s) with t in [start, stop) and t + horizon in range."""
    y = data["optimal_replicas"]
    rate = data["req_rate"]
    steps, services = y.shape
    first = max(start, HISTORY, RATE_WINDOW)
    last = min(stop, steps - horizon)
    times = np.arange(first, last)
    x = np.arange(RATE_WINDOW, dtype=float)
    telemetry, history, current, target = [], [], [], []
    for s in range(services):
        window = np.stack([rate[times - k, s] for k in range(RATE_WINDOW - 1, -1, -1)], 1)
        latest = np.where(window[:, -1] > 0, window[:, -1], 1.0)
        slope = np.polyfit(x, window.T, 1)[0] / np.maximum(window.mean(1), 1e-9)
        extra = [data[c][times, s] for c in ["replicas", "cpu_cores", "latency_ms"] if c in data]
        telemetry.append(
            np.column_stack([np.full(len(times), s), window / latest[:, None], window[:, -1],
                             slope, *extra]))
        history.append(np.column_stack([y[times - k, s] for k in range(HISTORY)]))
        current.append(y[times, s])
        target.append(y[times + horizon, s])
    return (np.concatenate(telemetry), np.concatenate(history), np.concatenate(current),
            np.concatenate(target))


def fit_predict(train, valid, test, seed):
    (xt, yt), (xv, yv), xs = train, valid, test
    model = lgb.LGBMRegressor(objective="l1", n_estimators=1000, learning_rate=0.05,
                              num_leaves=31, random_state=seed, verbose=-1)
    model.fit(xt, yt, eval_X=(xv,), eval_y=(yv,), categorical_feature=[0],
              callbacks=[lgb.early_stopping(50, verbose=False)])
    return model.predict(xs)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("telemetry_dir")
    parser.add_argument("--horizon", type=int, default=1)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    data, services = load(args.telemetry_dir)
    steps = data["optimal_replicas"].shape[0]
    train_end, valid_end = int(steps * 0.7), int(steps * 0.8)
    parts = [rows(data, a, b, args.horizon)
             for a, b in [(0, train_end), (train_end, valid_end), (valid_end, steps)]]
    (tel_t, his_t, cur_t, y_t), (tel_v, his_v, cur_v, y_v), (tel_s, his_s, cur_s, y_s) = parts
    persistence = float(np.mean(np.abs(y_s - cur_s)))
    changes = float(np.mean(y_s != cur_s))
    print(f"{args.telemetry_dir}: {len(services)} services, test rows {len(y_s)}, "
          f"horizon {args.horizon}, label changes at {changes:.1%} of test rows")
    print(f"persistence                       MAE {persistence:.4f}")
    with_history = cur_s + fit_predict(
        (np.column_stack([tel_t, his_t]), y_t - cur_t),
        (np.column_stack([tel_v, his_v]), y_v - cur_v),
        np.column_stack([tel_s, his_s]), args.seed)
    telemetry_only = fit_predict((tel_t, y_t), (tel_v, y_v), tel_s, args.seed)
    for name, prediction in [("trees, label history + telemetry", with_history),
                             ("trees, telemetry only", telemetry_only)]:
        raw = float(np.mean(np.abs(prediction - y_s)))
        rounded = float(np.mean(np.abs(np.round(prediction) - y_s)))
        print(f"{name:33s} MAE {raw:.4f} ({raw / persistence:.2f}x persistence), "
              f"rounded {rounded:.4f} ({rounded / persistence:.2f}x)")


if __name__ == "__main__":
    main()
