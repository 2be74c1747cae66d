#!/usr/bin/env bash
# Benchmark: the value_ladder job (examples/) in tierscore local mode, DuckDB
# and Polars, each on 2 threads, in the same run; checks that all three give
# every customer the same tiers and prints wall time, CPU time, peak RSS and
# ratios against tierscore measured in this run.
#
#   bash bench/run.sh [BUILD_DIR] [ROWS...]      (default rows: 1000000 10000000)
#   make bench
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
shift || true
ROWS=("$@")
[ ${#ROWS[@]} -gt 0 ] || ROWS=(1000000 10000000)
THREADS=${THREADS:-2}
OUT=bench/out
mkdir -p "$OUT"

if [ ! -d bench/node_modules/@duckdb/node-api ] || [ ! -d bench/node_modules/nodejs-polars-linux-x64-gnu ]; then
  (cd bench && npm install --no-audit --no-fund --loglevel=error)
fi

TS="$BUILD/client/tierscore"
POLICY=examples/policies/value_ladder.yaml
KPIS=examples/kpis/by_tier_segment.yaml

# Runs a command under /usr/bin/time; prints "wall cpu rss_mb".
measure() {
  local log
  log=$(mktemp)
  /usr/bin/time -f "%e %U %S %M" -o "$log" "$@" > /dev/null
  awk '{printf "%.2f %.2f %.0f\n", $1, $2 + $3, $4 / 1024}' "$log"
  rm -f "$log"
}

printf "\n%-10s %-10s %9s %9s %10s %12s %12s\n" rows engine wall_s cpu_s rss_MB wall_ratio rss_ratio
for n in "${ROWS[@]}"; do
  input="$OUT/customers_$n.csv"
  [ -f "$input" ] || "$TS" gen --rows "$n" --seed 42 --out "$input" > /dev/null
  # Warm the page cache so that no engine pays for the first read alone.
  cat "$input" > /dev/null

  read -r tw tc tr < <(measure "$TS" run --input "$input" --policy "$POLICY" --kpis "$KPIS" \
      --threads "$THREADS" --out "$OUT/ts_results.csv" --kpi-out "$OUT/ts_kpis.csv" --quiet)
  read -r dw dc dr < <(measure node bench/duckdb_job.js "$input" "$OUT/duckdb_results.csv" \
      "$OUT/duckdb_kpis.csv" "$THREADS")
  read -r pw pc pr < <(POLARS_MAX_THREADS="$THREADS" measure node bench/polars_job.js \
      "$input" "$OUT/polars_results.csv" "$OUT/polars_kpis.csv")

  printf "%-10s %-10s %9s %9s %10s %12s %12s\n" "$n" tierscore "$tw" "$tc" "$tr" 1.00 1.00
  printf "%-10s %-10s %9s %9s %10s %12.2f %12.2f\n" "$n" duckdb "$dw" "$dc" "$dr" \
      "$(echo "$dw / $tw" | bc -l)" "$(echo "$dr / $tr" | bc -l)"
  printf "%-10s %-10s %9s %9s %10s %12.2f %12.2f\n" "$n" polars "$pw" "$pc" "$pr" \
      "$(echo "$pw / $tw" | bc -l)" "$(echo "$pr / $tr" | bc -l)"
  echo "  duckdb vs tierscore: $("$BUILD/bench/compare_results" "$OUT/ts_results.csv" "$OUT/duckdb_results.csv" ladder abc | tail -1)"
  echo "  polars vs tierscore: $("$BUILD/bench/compare_results" "$OUT/ts_results.csv" "$OUT/polars_results.csv" ladder abc | tail -1)"
done
echo
echo "wall_ratio = engine wall / tierscore wall (higher: tierscore faster);"
echo "rss_ratio = engine peak RSS / tierscore peak RSS (higher: tierscore smaller)."
