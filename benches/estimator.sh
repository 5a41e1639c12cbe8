#!/usr/bin/env bash
# Training throughput, test accuracy and one-decision latency of the estimator: holoscale
# (burn, default CPU backend) against the PyTorch peer (peers/stgcn_torch.py) with the same
# architecture, hyperparameters, windows, normaliser and affinity, in the same run.
#
# Usage: [ROUNDS=3] [THREADS=2] benches/estimator.sh [EPOCHS] [PRESET] [DURATION]
#   defaults: 3 epochs, the cpu preset (32 filters, window 24), 1 simulated day of
#   Train-Ticket (41 services, 30 s interval, DeepScaler workload, HPA).
# THREADS (default 2) is the thread count of both: holoscale's --threads (each batch split
# over that many threads) and the peer's torch.set_num_threads.
# Set DEVICE=cuda (with a binary built with --features cuda) to train holoscale on a GPU.
set -euo pipefail
cd "$(dirname "$0")/.."
epochs=${1:-3}
preset=${2:-cpu}
duration=${3:-1d}
device=${DEVICE:-cpu}
threads=${THREADS:-2}
bin=${HOLOSCALE:-target/release/holoscale}
[ -n "${HOLOSCALE:-}" ] || cargo build --release --quiet
data=bench-data/tt-$duration
mkdir -p bench-data
if [ ! -f "$data/telemetry.parquet" ]; then
  "$bin" -q simulate --app train-ticket --duration "$duration" --seed 7 --out "$data"
fi
if [ ! -x .venv-peer/bin/python ]; then
  python3 -m venv .venv-peer
  .venv-peer/bin/pip install --quiet torch pyarrow numpy
fi
model=bench-data/tt-model-$preset
# ROUNDS (default 3) alternating runs of both; the ratio reported is the median of the
# rounds' ratios (this machine's throughput moves 10-20% between minutes).
rounds=${ROUNDS:-3}
results=()
for round in $(seq "$rounds"); do
  rust=$("$bin" -q bench train --telemetry "$data/telemetry.parquet" --edges "$data/edges.parquet" \
    --preset "$preset" --epochs "$epochs" --patience 1000 --device "$device" --threads "$threads" \
    --out "$model" --force | tr -d '\n')
  peer=$(.venv-peer/bin/python peers/stgcn_torch.py --model "$model" \
    --telemetry "$data/telemetry.parquet" --epochs "$epochs" --threads "$threads" | tr -d '\n')
  echo "round $round holoscale: $rust"
  echo "round $round pytorch:   $peer"
  results+=("$rust" "$peer")
done
python3 - "${results[@]}" <<'PY'
import json, statistics, sys
runs = [json.loads(x) for x in sys.argv[1:]]
pairs = list(zip(runs[0::2], runs[1::2]))
ratios = []
for i, (r, p) in enumerate(pairs, 1):
    ratio = r['windows_per_s'] / p['windows_per_s']
    ratios.append(ratio)
    print(f"round {i}: training windows/s holoscale {r['windows_per_s']:.1f} ({r['device']}), "
          f"PyTorch {p['windows_per_s']:.1f} -> {ratio:.2f}x")
med = statistics.median
r0 = pairs[-1][0]
print(f"training windows/s, median of {len(pairs)} rounds: holoscale "
      f"{med(r['windows_per_s'] for r, _ in pairs):.1f}, PyTorch "
      f"{med(p['windows_per_s'] for _, p in pairs):.1f}; ratio median {med(ratios):.2f}x "
      f"(rounds {min(ratios):.2f}-{max(ratios):.2f})")
print(f"decision latency p50/p99 ms (medians): holoscale "
      f"{med(r['decision_p50_ms'] for r, _ in pairs):.2f}/{med(r['decision_p99_ms'] for r, _ in pairs):.2f}, "
      f"PyTorch {med(p['decision_p50_ms'] for _, p in pairs):.2f}/{med(p['decision_p99_ms'] for _, p in pairs):.2f}")
print(f"test MAE after {r0['epochs']} epochs: holoscale {r0['test_mae']:.4f}, "
      f"PyTorch {pairs[-1][1]['test_mae']:.4f}; peak RSS holoscale {r0['peak_rss_mib']:.0f} MiB")
PY
