#!/usr/bin/env bash
# How much can any affinity matrix improve the estimator over the fixed invocation graph?
# Trains the same estimator with the same number of epochs on fixed graphs (the call graph,
# the planted truth = calls + latent pairs, the identity, the complete graph) and with EM
# (the paper's loop and the joint variant, iterations x (E + E) epochs with the same
# estimator epochs in all), for several training seeds, and prints test MAE per run, the
# mean per variant and its ratio to the call graph's. The joint variant also updates the
# estimator in every generator epoch, so it makes twice the estimator updates; `calls2x` is
# the call graph with twice the epochs, its fair comparison.
#
# Usage: benches/graph_ceiling.sh [APP] [DURATION] [EPOCHS] [EM_EPOCHS] [SEEDS] [DATA_SEED]
#          defaults: online-boutique 12h, 45 epochs (a minimum of the cosine schedule),
#          EM 9 x (5 + 5), training seeds "1 2 3", simulation seed 11
#        VARIANTS="calls truth em" benches/graph_ceiling.sh ...   runs a subset (calls needed)
#        APP may be an application file (tests/data/quick-follow-up-shop.toml);
#        WORKLOAD=constant simulates under that workload instead of the app's default
#        EXTRA="--target req_rate" passes further training flags to every run (results go to
#        results-<flags>.txt)
set -euo pipefail
cd "$(dirname "$0")/.."
app=${1:-online-boutique}
duration=${2:-12h}
epochs=${3:-45}
em_epochs=${4:-5}
seeds=${5:-1 2 3}
data_seed=${6:-11}
variants=${VARIANTS:-calls truth identity complete em joint calls2x}
bin=${HOLOSCALE:-target/release/holoscale}
[ -n "${HOLOSCALE:-}" ] || cargo build --release --quiet
if [ ! -x .venv-bench/bin/python ]; then
  python3 -m venv .venv-bench
  .venv-bench/bin/pip install --quiet pyarrow pandas numpy
fi
py=.venv-bench/bin/python
case " $variants " in
  *" calls "*) ;;
  *) echo "VARIANTS must include calls (the ratios are to the call graph)" >&2; exit 2 ;;
esac
d=bench-data/ceiling-$(basename "$app" .toml)${WORKLOAD:+-$WORKLOAD}-$duration-s$data_seed
[ -f "$d/telemetry.parquet" ] ||
  "$bin" -q simulate --app "$app" ${WORKLOAD:+--workload "$WORKLOAD"} --duration "$duration" \
    --seed "$data_seed" --out "$d"

# The planted truth and the complete graph as static call-edge files (every pair a "call";
# latent pairs in both directions), so `train --edges` builds their binary matrices.
"$py" - "$d" <<'PY'
import sys
import pyarrow as pa, pyarrow.parquet as pq
d = sys.argv[1]
t = pq.read_table(f"{d}/truth.parquet").to_pylist()
pairs = []
for e in t:
    pairs.append((e["source"], e["destination"]))
    if e["kind"] != "call":
        pairs.append((e["destination"], e["source"]))
services = sorted(set(pq.read_table(f"{d}/telemetry.parquet", columns=["service"]).column("service").to_pylist()))
def write(name, ps):
    pq.write_table(pa.table({"source": [s for s, _ in ps], "destination": [x for _, x in ps],
                             "req_rate": [1.0] * len(ps)}), f"{d}/{name}")
write("truth-edges.parquet", pairs)
write("complete-edges.parquet", [(a, b) for a in services for b in services if a != b])
PY

iterations=$((epochs / em_epochs))
fixed="--no-graph-learning --epochs $epochs --patience 1000"
em="--em-iterations $iterations --em-epochs $em_epochs --generator-epochs $em_epochs"
tag=$(printf '%s' "${EXTRA:-}" | tr -c 'a-zA-Z0-9' '_')
out=$d/results$tag.txt
: > "$out"
for seed in $seeds; do
  for variant in $variants; do
    case $variant in
      calls) args="--edges $d/edges.parquet $fixed" ;;
      calls2x) args="--edges $d/edges.parquet --no-graph-learning --epochs $((2 * epochs)) --patience 1000" ;;
      truth) args="--edges $d/truth-edges.parquet $fixed" ;;
      identity) args="$fixed" ;;
      complete) args="--edges $d/complete-edges.parquet $fixed" ;;
      em) args="--edges $d/edges.parquet $em --paper-graph-learning" ;;
      joint) args="--edges $d/edges.parquet $em --joint-graph-learning" ;;
      *) echo "VARIANTS: unknown variant '$variant'" >&2; exit 2 ;;
    esac
    model=$d/model-$variant-$seed$tag
    # shellcheck disable=SC2086
    "$bin" -q train --telemetry "$d/telemetry.parquet" $args ${EXTRA:-} --seed "$seed" \
      --out "$model" --force \
      > /dev/null 2>&1
    mae=$("$bin" -q evaluate --model "$model" --telemetry "$d/telemetry.parquet" --baselines none \
      --format json 2>/dev/null | "$py" -c 'import json, sys
print([r["mae"] for r in json.load(sys.stdin) if r["service"] == "all" and r["horizon"] == 0][0])')
    echo "$seed $variant $mae" | tee -a "$out"
  done
done
"$py" - "$out" "$app" "$duration" "$epochs" "$iterations" "$em_epochs" "$variants" <<'PY'
import statistics, sys
path, app, duration, epochs, its, e, variants = sys.argv[1:]
rows = [l.split() for l in open(path) if l.strip()]
seeds = sorted({int(r[0]) for r in rows})
variants = variants.split()
mae = {(int(s), v): float(m) for s, v, m in rows}
base = statistics.mean(mae[(s, "calls")] for s in seeds)
print(f"\n{app}, {duration}: test MAE, {epochs} estimator epochs (EM: {its} x ({e} + {e}))")
print("| graph | " + " | ".join(f"seed {s}" for s in seeds) + " | mean | vs calls |")
print("|---|" + "---|" * (len(seeds) + 2))
for v in variants:
    vals = [mae[(s, v)] for s in seeds]
    m = statistics.mean(vals)
    print(f"| {v} | " + " | ".join(f"{x:.4f}" for x in vals) + f" | {m:.4f} | {m / base:.3f}x |")
PY
