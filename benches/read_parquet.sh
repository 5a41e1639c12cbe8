#!/usr/bin/env bash
# Reads a 10-million-row telemetry Parquet file (1000 services x 10,000 steps, 8 columns)
# into the dense (T, N, F) array with holoscale and with pyarrow + pandas + numpy, in the
# same run, and prints both results and their ratio. Usage: benches/read_parquet.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
mkdir -p bench-data
file=bench-data/telemetry-1000x10000.parquet
cargo build --release --quiet
bin=target/release/holoscale
if [ ! -f "$file" ]; then
  "$bin" -q bench gen-telemetry --services 1000 --steps 10000 --seed 1 --out "$file"
fi
if [ ! -x .venv-bench/bin/python ]; then
  python3 -m venv .venv-bench
  .venv-bench/bin/pip install --quiet pyarrow pandas numpy
fi
rust=$("$bin" -q bench read "$file" --runs "$runs")
py=$(.venv-bench/bin/python benches/read_parquet.py "$file" "$runs")
echo "holoscale: $rust"
echo "pyarrow:   $py"
python3 - "$rust" "$py" <<'PY'
import json, sys
r, p = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print(f"speed-up (pyarrow median / holoscale median): {p['median_s'] / r['median_s']:.2f}x; "
      f"peak RSS holoscale {r['peak_rss_mib']:.0f} MiB vs pyarrow {p['peak_rss_mib']:.0f} MiB")
PY
