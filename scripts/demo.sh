#!/usr/bin/env bash
# The main job end to end: generate a customer base and classify it in local
# mode, printing the tier summary and the KPI table.
#   bash scripts/demo.sh BUILD_DIR [ROWS]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
ROWS=${2:-1000000}
OUT=${DEMO_DIR:-$BUILD/demo}
mkdir -p "$OUT"

TS="$BUILD/client/tierscore"
echo "== generating $ROWS customers"
"$TS" gen --rows "$ROWS" --seed 42 --out "$OUT/customers.csv"
echo "== tierscore run (local mode, all cores)"
"$TS" run --input "$OUT/customers.csv" \
  --policy examples/policies/value_ladder.yaml \
  --kpis examples/kpis/by_tier_segment.yaml \
  --out "$OUT/results.csv" --kpi-out "$OUT/kpis.csv" --timings
echo
echo "== first results ($OUT/results.csv)"
head -4 "$OUT/results.csv"
echo "KPI table: $OUT/kpis.csv"
