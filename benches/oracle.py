"""How hard is the `optimal_replicas` label to predict one step ahead?

Reads two simulations of the same run (same app, workload, seed) that differ only in
`--oracle`, and prints, on the last 20% of steps:

- how often each label changes from one step to the next;
- the MAE of persistence (the previous row's label) on each label;
- on the hindsight (`realized`) label, the MAE of a forecaster that knows the workload's
  true intensity for the next interval: the look-ahead (`expected`) label of the previous
  row. No model that sees only telemetry can know more than this, so its ratio to
  persistence is a floor for what any model can reach.

Usage: python benches/oracle.py EXPECTED_DIR REALIZED_DIR
(see BENCHMARKS.md, "Estimator accuracy", for the commands that make the two directories).
"""

import sys

import numpy as np
import pyarrow.parquet as pq


def labels(directory):
    table = pq.read_table(
        f"{directory}/telemetry.parquet", columns=["timestamp", "service", "optimal_replicas"]
    ).to_pandas()
    return table.pivot(index="timestamp", columns="service", values="optimal_replicas")


def mae(truth, prediction):
    return float(np.nanmean(np.abs(truth - prediction)))


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    expected = labels(sys.argv[1])
    realized = labels(sys.argv[2])
    if list(expected.columns) != list(realized.columns) or len(expected) != len(realized):
        sys.exit("the two runs must have the same services and steps")
    e, r = expected.to_numpy(), realized.to_numpy()
    split = int(len(r) * 0.8)
    for name, y in [("expected (look-ahead)", e), ("realized (hindsight)", r)]:
        changes = float(np.nanmean(y[1:] != y[:-1]))
        print(f"{name}: changes at {changes:.1%} of steps, "
              f"persistence MAE {mae(y[split + 1:], y[split:-1]):.4f}")
    persistence = mae(r[split + 1:], r[split:-1])
    ideal = mae(r[split + 1:], e[split:-1])
    print(f"realized label, forecaster that knows the next interval's intensity: "
          f"MAE {ideal:.4f} = {ideal / persistence:.2f} x persistence")


if __name__ == "__main__":
    main()
