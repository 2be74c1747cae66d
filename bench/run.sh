#!/usr/bin/env bash
# Benchmark: the value_ladder job (examples/) in tierscore local mode, DuckDB
# and Polars, each on 2 threads, in the same run; checks that all three give
# every customer the same tiers and prints wall time, CPU time, peak RSS and
# ratios against tierscore measured in this run.
#
#   bash bench/run.sh [BUILD_DIR] [ROWS...]      (default rows: 1000000 10000000)
#   ENGINES="cluster polars" bash bench/run.sh build 10000000   (a subset)
#   make bench
# "cluster" is the same job through tierscore-coordinator and two
# tierscore-worker processes (one thread each) on loopback.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
shift || true
ROWS=("$@")
[ ${#ROWS[@]} -gt 0 ] || ROWS=(1000000 10000000)
THREADS=${THREADS:-2}
ENGINES=${ENGINES:-"tierscore cluster duckdb polars"}
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

wait_port() {
  for _ in $(seq 1 100); do
    if [ -s "$1" ]; then cat "$1"; return 0; fi
    sleep 0.1
  done
  echo "bench: no port in $1" >&2
  return 1
}

# The same job through a coordinator and two workers (one thread each) on
# loopback. Prints "wall cpu rss_mb": the submit's wall time, and the CPU
# and summed peak RSS of the three servers (each measured by /usr/bin/time).
measure_cluster() {
  local input=$1 dir
  dir=$(mktemp -d)
  local pids=() workers=()
  for i in 1 2; do
    /usr/bin/time -f "%e %U %S %M" -o "$dir/w$i.time" "$BUILD/worker/tierscore-worker" \
      --listen 127.0.0.1:0 --port-file "$dir/w$i.port" --threads 1 --insecure > "$dir/w$i.log" 2>&1 &
    pids+=($!)
  done
  for i in 1 2; do workers+=("127.0.0.1:$(wait_port "$dir/w$i.port")"); done
  /usr/bin/time -f "%e %U %S %M" -o "$dir/c.time" "$BUILD/coordinator/tierscore-coordinator" \
    --listen 127.0.0.1:0 --port-file "$dir/c.port" --workers "$(IFS=,; echo "${workers[*]}")" \
    --insecure > "$dir/c.log" 2>&1 &
  pids+=($!)
  local target="127.0.0.1:$(wait_port "$dir/c.port")"
  local start end
  start=$(date +%s.%N)
  TIERSCORE_INSECURE=1 "$TS" submit --target "$target" --input "$input" --policy "$POLICY" --kpis "$KPIS" --wait \
    --out "$OUT/cluster_results.csv" --kpi-out "$OUT/cluster_kpis.csv" --quiet --timings \
    > /dev/null 2> "$OUT/cluster_stats.txt"
  end=$(date +%s.%N)
  # Stop the servers (the children of /usr/bin/time, which then reports).
  for pid in "${pids[@]}"; do pkill -TERM -P "$pid" || true; done
  for pid in "${pids[@]}"; do wait "$pid" || true; done
  cat "$dir"/*.time | awk -v wall="$(echo "$end - $start" | bc)" \
    '{cpu += $2 + $3; rss += $4} END {printf "%.2f %.2f %.0f\n", wall, cpu, rss / 1024}'
  rm -rf "$dir"
}

row() {  # row ROWS ENGINE WALL CPU RSS
  printf "%-10s %-10s %9s %9s %10s %12.2f %12.2f\n" "$1" "$2" "$3" "$4" "$5" \
      "$(echo "$3 / $tw" | bc -l)" "$(echo "$5 / $tr" | bc -l)"
}

printf "\n%-10s %-10s %9s %9s %10s %12s %12s\n" rows engine wall_s cpu_s rss_MB wall_ratio rss_ratio
for n in "${ROWS[@]}"; do
  input="$OUT/customers_$n.csv"
  [ -f "$input" ] || "$TS" gen --rows "$n" --seed 42 --out "$input" > /dev/null
  # Warm the page cache so that no engine pays for the first read alone.
  cat "$input" > /dev/null

  read -r tw tc tr < <(measure "$TS" run --input "$input" --policy "$POLICY" --kpis "$KPIS" \
      --threads "$THREADS" --out "$OUT/ts_results.csv" --kpi-out "$OUT/ts_kpis.csv" --quiet)
  row "$n" tierscore "$tw" "$tc" "$tr"
  for engine in $ENGINES; do
    case $engine in
      cluster)
        read -r w c r < <(measure_cluster "$input")
        row "$n" cluster "$w" "$c" "$r"
        echo "  cluster: $(tail -1 "$OUT/cluster_stats.txt")"
        echo "  cluster vs tierscore: $("$BUILD/bench/compare_results" "$OUT/ts_results.csv" "$OUT/cluster_results.csv" ladder abc | tail -1)"
        cmp -s "$OUT/ts_kpis.csv" "$OUT/cluster_kpis.csv" && echo "  cluster KPI table: identical" \
          || echo "  cluster KPI table: DIFFERS"
        ;;
      duckdb)
        read -r w c r < <(measure node bench/duckdb_job.js "$input" "$OUT/duckdb_results.csv" \
            "$OUT/duckdb_kpis.csv" "$THREADS")
        row "$n" duckdb "$w" "$c" "$r"
        echo "  duckdb vs tierscore: $("$BUILD/bench/compare_results" "$OUT/ts_results.csv" "$OUT/duckdb_results.csv" ladder abc | tail -1)"
        ;;
      polars)
        read -r w c r < <(POLARS_MAX_THREADS="$THREADS" measure node bench/polars_job.js \
            "$input" "$OUT/polars_results.csv" "$OUT/polars_kpis.csv")
        row "$n" polars "$w" "$c" "$r"
        echo "  polars vs tierscore: $("$BUILD/bench/compare_results" "$OUT/ts_results.csv" "$OUT/polars_results.csv" ladder abc | tail -1)"
        ;;
    esac
  done
done
echo
echo "wall_ratio = engine wall / tierscore wall (higher: tierscore faster);"
echo "rss_ratio = engine peak RSS / tierscore peak RSS (higher: tierscore smaller)."
