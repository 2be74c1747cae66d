#!/usr/bin/env bash
# The main job end to end: generate a customer base, start a local cluster (a
# coordinator and two workers on loopback), classify the base through it,
# print the tier summary and the KPI table, and stop the cluster.
#   bash scripts/demo.sh BUILD_DIR [ROWS]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
ROWS=${2:-1000000}
OUT=$(realpath -m "${DEMO_DIR:-$BUILD/demo}")
mkdir -p "$OUT"
TS="$BUILD/client/tierscore"

pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT

wait_port() {  # wait_port FILE: the port a server wrote once serving
  for _ in $(seq 1 100); do
    if [ -s "$1" ]; then cat "$1"; return 0; fi
    sleep 0.1
  done
  echo "demo: no port in $1" >&2
  return 1
}

echo "== generating $ROWS customers"
"$TS" gen --rows "$ROWS" --seed 42 --out "$OUT/customers.csv"

echo "== starting a local cluster: two workers and a coordinator on 127.0.0.1"
rm -f "$OUT"/*.port
workers=()
for i in 1 2; do
  "$BUILD/worker/tierscore-worker" --listen 127.0.0.1:0 --port-file "$OUT/worker$i.port" \
    --threads 1 > "$OUT/worker$i.log" 2>&1 &
  pids+=($!)
done
for i in 1 2; do workers+=("127.0.0.1:$(wait_port "$OUT/worker$i.port")"); done
"$BUILD/coordinator/tierscore-coordinator" --listen 127.0.0.1:0 \
  --port-file "$OUT/coordinator.port" --workers "$(IFS=,; echo "${workers[*]}")" \
  > "$OUT/coordinator.log" 2>&1 &
pids+=($!)
coordinator="127.0.0.1:$(wait_port "$OUT/coordinator.port")"
echo "   workers ${workers[*]}, coordinator $coordinator"

echo "== tierscore submit --wait"
start=$(date +%s.%N)
"$TS" submit --target "$coordinator" --input "$OUT/customers.csv" \
  --policy examples/policies/value_ladder.yaml \
  --kpis examples/kpis/by_tier_segment.yaml \
  --wait --out "$OUT/results.csv" --kpi-out "$OUT/kpis.csv"
echo "done in $(echo "$(date +%s.%N) - $start" | bc) s"
echo
echo "== first results ($OUT/results.csv)"
head -4 "$OUT/results.csv"
echo "KPI table: $OUT/kpis.csv"
echo "== stopping the cluster"
