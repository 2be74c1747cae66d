#!/usr/bin/env bash
# Online lookup benchmark: publishes a run of ROWS customers to a fresh
# redis-server through a local cluster, then measures LookupTier at 1, 16
# and 64 concurrent clients next to two baselines from the same run:
# redis-benchmark GET on the same Redis, and an empty gRPC call (health
# Check) on the same coordinator. Also BatchLookupTier with 50 ids per call.
#   bash bench/lookup.sh [BUILD_DIR] [ROWS] [SECONDS]
# LANES=n sets the coordinator's --lookup-lanes.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
ROWS=${2:-1000000}
SECONDS_PER=${3:-5}
DIR=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$DIR"
}
trap cleanup EXIT
wait_file() { for _ in $(seq 1 100); do [ -s "$1" ] && return 0; sleep 0.1; done; return 1; }

INPUT=bench/out/customers_$ROWS.csv
mkdir -p bench/out
[ -f "$INPUT" ] || "$BUILD/client/tierscore" gen --rows "$ROWS" --seed 42 --out "$INPUT" > /dev/null
SOCK=$DIR/redis.sock
redis-server --port 0 --unixsocket "$SOCK" --save "" --appendonly no --loglevel warning \
  > "$DIR/redis.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do [ -S "$SOCK" ] && break; sleep 0.1; done
REDIS="unix://$SOCK"
before=$(redis-cli -s "$SOCK" info memory | awk -F: '/^used_memory:/ {print $2}' | tr -d '\r')
workers=()
for i in 1 2; do
  "$BUILD/worker/tierscore-worker" --listen 127.0.0.1:0 --port-file "$DIR/w$i.port" --threads 1 \
    --redis "$REDIS" --insecure > "$DIR/w$i.log" 2>&1 &
  pids+=($!)
done
for i in 1 2; do wait_file "$DIR/w$i.port"; workers+=("127.0.0.1:$(cat "$DIR/w$i.port")"); done
"$BUILD/coordinator/tierscore-coordinator" --listen 127.0.0.1:0 --port-file "$DIR/c.port" \
  --workers "$(IFS=,; echo "${workers[*]}")" --redis "$REDIS" --lookup-lanes "${LANES:-0}" \
  --insecure > "$DIR/c.log" 2>&1 &
pids+=($!)
wait_file "$DIR/c.port"
TARGET="127.0.0.1:$(cat "$DIR/c.port")"
TIERSCORE_INSECURE=1 "$BUILD/client/tierscore" submit --target "$TARGET" --input "$INPUT" \
  --policy examples/policies/value_ladder.yaml --wait --quiet > /dev/null
after=$(redis-cli -s "$SOCK" info memory | awk -F: '/^used_memory:/ {print $2}' | tr -d '\r')
echo "published $ROWS customers: $(( (after - before) / ROWS )) bytes per customer in Redis"

printf "\n%-8s %-12s %12s %10s %10s %10s %10s\n" clients what ops_per_s p50_us p99_us vs_redis vs_grpc
for c in 1 16 64; do
  read -r _ ops p50 p99 errors _ < <("$BUILD/bench/lookup_bench" "$TARGET" customers/default "$ROWS" "$c" "$SECONDS_PER")
  read -r _ hops hp50 hp99 _ _ < <("$BUILD/bench/lookup_bench" "$TARGET" customers/default "$ROWS" "$c" "$SECONDS_PER" health)
  read -r _ bops bp50 bp99 berrors _ < <("$BUILD/bench/lookup_bench" "$TARGET" customers/default "$ROWS" "$c" "$SECONDS_PER" 50)
  # Raw Redis GETs on the same server, same concurrency.
  rops=$(redis-benchmark -s "$SOCK" -t get -c "$c" -n $((c * 20000)) --csv 2>/dev/null \
    | awk -F'"' '$2 == "GET" {print $4}')
  printf "%-8s %-12s %12s %10s %10s %10.2f %10.2f\n" "$c" lookup "$ops" "$p50" "$p99" \
    "$(echo "$ops / $rops" | bc -l)" "$(echo "$ops / $hops" | bc -l)"
  printf "%-8s %-12s %12s %10s %10s %10.2f\n" "$c" batch50_ids "$bops" "$bp50" "$bp99" \
    "$(echo "$bops / $rops" | bc -l)"
  printf "%-8s %-12s %12s %10s %10s\n" "$c" grpc_empty "$hops" "$hp50" "$hp99"
  printf "%-8s %-12s %12.0f %10s %10s\n" "$c" redis_get "$rops" - -
  [ "$errors" = 0 ] && [ "$berrors" = 0 ] || echo "  $errors + $berrors lookup calls failed or found nothing"
done
