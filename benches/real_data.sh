#!/usr/bin/env bash
# The estimator on real public telemetry (issue 19): the per-minute HTTP request counts of
# the NASA Kennedy Space Center web server (July 1995, 3,000 minutes) and of the FIFA World
# Cup 1998 site (5,001 minutes), from ../shared/data/traces (the Internet Traffic Archive's
# logs). Each trace becomes one service's `req_rate` (requests/s) at a 1-minute interval; the
# estimator predicts the next minute's rate from its own last WINDOW minutes, an observed
# column, so persistence is a realisable baseline here. Prints the test MAE of every model
# per trace and keeps the JSON rows in bench-data/real/.
#
# Usage: benches/real_data.sh [SEEDS] [BASELINES]
#   defaults: "1 2 3" persistence,gru,gbdt
#   EXTRA="--relative" passes further training flags (and tags the result files).
set -euo pipefail
cd "$(dirname "$0")/.."
seeds=${1:-"1 2 3"}
baselines=${2:-persistence,gru,gbdt}
bin=${HOLOSCALE:-target/release/holoscale}
[ -n "${HOLOSCALE:-}" ] || cargo build --release --quiet
traces=../shared/data/traces
out=bench-data/real
mkdir -p "$out"
tag=$(printf '%s' "${EXTRA:-}" | tr -c 'a-zA-Z0-9' '_')
for trace in nasa-http-1995 worldcup98; do
  csv=$out/$trace.csv
  if [ ! -f "$csv" ]; then
    # timestamp,count per minute -> the telemetry schema (RFC 3339, service, req_rate).
    awk -F, 'BEGIN { print "timestamp,service,req_rate" }
      { sub(" ", "T", $1); printf "%sZ,web,%.6f\n", $1, $2 / 60 }' \
      "$traces/$trace-per-minute.csv" > "$csv.tmp"
    mv "$csv.tmp" "$csv"
  fi
  for s in $seeds; do
    name=$trace-s$s$tag
    [ -f "$out/$name.json" ] && continue
    # shellcheck disable=SC2086
    "$bin" -q train --telemetry "$csv" --target req_rate --feature-columns req_rate \
      --no-graph-learning --seed "$s" ${EXTRA:-} --out "$out/model-$name" --force > /dev/null
    "$bin" -q evaluate --model "$out/model-$name" --telemetry "$csv" \
      --baselines "$baselines" --format json > "$out/$name.json.tmp"
    mv "$out/$name.json.tmp" "$out/$name.json"
  done
done
python3 - "$out" "$seeds" "$tag" <<'PY'
import json, sys
out, seeds, tag = sys.argv[1], sys.argv[2].split(), sys.argv[3]
for trace in ["nasa-http-1995", "worldcup98"]:
    maes = {}
    for s in seeds:
        for r in json.load(open(f"{out}/{trace}-s{s}{tag}.json")):
            if r["service"] == "all" and r["horizon"] == 0:
                maes.setdefault(r["model"], []).append(r["mae"])
    print(f"{trace}, next-minute req_rate (req/s), seeds {' '.join(seeds)} {tag}:")
    for m, v in maes.items():
        print(f"  {m:12s} MAE {sum(v) / len(v):.4f} (min {min(v):.4f}, max {max(v):.4f})")
    if "stgcn" in maes and "persistence" in maes:
        ratio = (sum(maes["stgcn"]) / len(maes["stgcn"])) / (sum(maes["persistence"]) / len(maes["persistence"]))
        print(f"  stgcn / persistence: {ratio:.3f}")
PY
