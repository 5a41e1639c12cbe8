#!/usr/bin/env bash
# Training throughput, test accuracy and one-decision latency of the estimator: holoscale
# (burn, default CPU backend) against the PyTorch peer (peers/stgcn_torch.py) with the same
# architecture, hyperparameters, windows, normaliser and affinity, in the same run.
#
# Usage: benches/estimator.sh [EPOCHS] [PRESET] [DURATION]
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
rust=$("$bin" -q bench train --telemetry "$data/telemetry.parquet" --edges "$data/edges.parquet" \
  --preset "$preset" --epochs "$epochs" --patience 1000 --device "$device" --threads "$threads" \
  --out "$model" --force)
peer=$(.venv-peer/bin/python peers/stgcn_torch.py --model "$model" \
  --telemetry "$data/telemetry.parquet" --epochs "$epochs" --threads "$threads")
echo "holoscale: $rust"
echo "pytorch:   $peer"
python3 - "$rust" "$peer" <<'PY'
import json, sys
r, p = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print(f"training windows/s: holoscale {r['windows_per_s']:.1f} ({r['device']}), "
      f"PyTorch {p['windows_per_s']:.1f} -> ratio {r['windows_per_s'] / p['windows_per_s']:.2f}x")
print(f"decision latency p50/p99 ms: holoscale {r['decision_p50_ms']:.2f}/{r['decision_p99_ms']:.2f}, "
      f"PyTorch {p['decision_p50_ms']:.2f}/{p['decision_p99_ms']:.2f} -> p50 ratio "
      f"{p['decision_p50_ms'] / r['decision_p50_ms']:.2f}x")
print(f"test MAE after {r['epochs']} epochs: holoscale {r['test_mae']:.4f}, PyTorch {p['test_mae']:.4f}")
PY
