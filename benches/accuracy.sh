#!/usr/bin/env bash
# Estimator accuracy against the realisable baselines (issue 19): for each application, each
# horizon and each training seed, train the estimator on simulated HPA-collected telemetry
# (seed 7, label optimal_replicas, the fixed call graph) and evaluate it with every baseline
# (persistence and seasonal naive, marked not realisable for this label; GRU, T-GCN and the
# trees, trained with the same seed and settings) on the same test windows. Prints one
# line per (app, horizon, model) with the mean and spread (min-max) of the test MAE over the
# seeds, and the ratio of the estimator to the trees and to the GRU; the raw JSON rows stay in
# bench-data/accuracy/.
#
# Usage: benches/accuracy.sh [APPS] [HORIZONS] [SEEDS] [BASELINES]
#   defaults: "online-boutique:48h train-ticket:2d" "1 3" "1 2 3" all
#   FAITHFUL=1 also trains DeepScaler's own configuration (--preset paper), much slower.
#   EXTRA="--batch 16" passes further training flags to every run.
set -euo pipefail
cd "$(dirname "$0")/.."
apps=${1:-"online-boutique:48h train-ticket:2d"}
horizons=${2:-"1 3"}
seeds=${3:-"1 2 3"}
baselines=${4:-all}
bin=${HOLOSCALE:-target/release/holoscale}
[ -n "${HOLOSCALE:-}" ] || cargo build --release --quiet
out=bench-data/accuracy
mkdir -p "$out"
presets="cpu"
[ "${FAITHFUL:-0}" = 1 ] && presets="cpu paper"
tag=$(printf '%s' "${EXTRA:-}" | tr -c 'a-zA-Z0-9' '_')
for spec in $apps; do
  app=${spec%%:*}
  duration=${spec#*:}
  data=bench-data/$app-$duration-hpa-7
  [ -f "$data/telemetry.parquet" ] ||
    "$bin" -q simulate --app "$app" --duration "$duration" --policy hpa --seed 7 --out "$data"
  for h in $horizons; do
    for preset in $presets; do
      for s in $seeds; do
        name=$app-$duration-h$h-$preset-s$s$tag
        [ -f "$out/$name.json" ] && continue
        model=$out/model-$name
        start=$(date +%s)
        # shellcheck disable=SC2086
        "$bin" -q train --telemetry "$data/telemetry.parquet" --edges "$data/edges.parquet" \
          --no-graph-learning --horizon "$h" --preset "$preset" --seed "$s" ${EXTRA:-} \
          --out "$model" --force > /dev/null
        trained=$(date +%s)
        "$bin" -q evaluate --model "$model" --telemetry "$data/telemetry.parquet" \
          --edges "$data/edges.parquet" --baselines "$baselines" --format json \
          > "$out/$name.json.tmp"
        mv "$out/$name.json.tmp" "$out/$name.json"
        echo "$name: train $((trained - start)) s, evaluate $(($(date +%s) - trained)) s" >&2
      done
    done
  done
done
python3 - "$out" "$apps" "$horizons" "$seeds" "$presets" "$tag" <<'EOF'
import json, sys
out, apps, horizons, seeds, presets, tag = sys.argv[1:]
for spec in apps.split():
    app, duration = spec.split(":")
    for h in horizons.split():
        for preset in presets.split():
            runs = []
            for s in seeds.split():
                with open(f"{out}/{app}-{duration}-h{h}-{preset}-s{s}{tag}.json") as f:
                    runs.append(json.load(f))
            steps = sorted({r["horizon"] for r in runs[0]})
            for step in steps:
                maes, marks = {}, {}
                for rows in runs:
                    for r in rows:
                        if r["service"] == "all" and r["horizon"] == step:
                            maes.setdefault(r["model"], []).append(r["mae"])
                            marks[r["model"]] = "" if r.get("realisable", True) else " (*)"
                mean = {m: sum(v) / len(v) for m, v in maes.items()}
                where = "all steps" if step == 0 else f"step {step}"
                print(f"{app} {duration}, horizon {h}, {preset} preset{(' ' + tag) if tag else ''}, {where}, seeds {seeds}:")
                for m, v in maes.items():
                    print(f"  {m + marks[m]:24s} MAE {mean[m]:.4f} (min {min(v):.4f}, max {max(v):.4f})")
                for ref in ["gbdt", "gru"]:
                    if "stgcn" in mean and ref in mean:
                        print(f"  stgcn / {ref}: {mean['stgcn'] / mean[ref]:.3f}")
print("(*) not realisable: needs the target's own recent values, which a live cluster does not report")
EOF
