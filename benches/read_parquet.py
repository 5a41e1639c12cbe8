"""Baseline for `holoscale bench read`: the same Parquet telemetry into a dense (T, N, F)
array with pyarrow + pandas + numpy, the way Python pipelines do it today:
pq.read_table(...).to_pandas(), then a pivot to one column per (feature, service).

Usage: python benches/read_parquet.py FILE [RUNS]
Prints one JSON object: median seconds, rows per second, peak RSS (MiB).
"""
import json
import resource
import statistics
import sys
import time

import numpy as np
import pyarrow.parquet as pq


def read_dense(path):
    df = pq.read_table(path).to_pandas()
    features = [c for c in df.columns if c not in ("timestamp", "service")]
    wide = df.pivot(index="timestamp", columns="service", values=features)
    steps = wide.shape[0]
    services = wide.columns.get_level_values(1).unique()
    # Columns are (feature, service), features outermost: reshape then move features last.
    arr = wide.to_numpy().reshape(steps, len(features), len(services)).transpose(0, 2, 1)
    return np.ascontiguousarray(arr), len(df)


def main():
    path = sys.argv[1]
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    times = []
    shape, rows = None, 0
    for _ in range(runs):
        start = time.perf_counter()
        arr, rows = read_dense(path)
        times.append(time.perf_counter() - start)
        shape = arr.shape
        del arr
    median = statistics.median(times)
    print(json.dumps({
        "file": path,
        "rows": rows,
        "steps": shape[0],
        "services": shape[1],
        "columns": shape[2],
        "runs": runs,
        "median_s": median,
        "min_s": min(times),
        "rows_per_s": rows / median,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
    }))


if __name__ == "__main__":
    main()
