#!/usr/bin/env bash
# The main job end to end: generate a customer base, start a local cluster (a
# coordinator and two workers on loopback, publishing to a redis-server on a
# unix socket), classify the base through it, print the tier summary and the
# KPI table, run the next period's base with downgrade protection to show
# the migration between runs, look customers up, and stop the cluster.
# Every connection is TLS (certificates from scripts/dev-certs.sh; the workers
# accept only the coordinator's certificate), and every call carries a
# bearer token (a submitter's, then a reader's).
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

echo "== making a private CA and certificates (scripts/dev-certs.sh $OUT/certs)"
scripts/dev-certs.sh "$OUT/certs"
CERTS="$OUT/certs"
export TIERSCORE_TLS_CA="$CERTS/ca.pem"  # the CLI checks the coordinator with it
# Bearer tokens: the demo submits as a submitter that may publish to
# customers/default, and looks up as a reader.
SUBMITTER_TOKEN=$(openssl rand -hex 16)
READER_TOKEN=$(openssl rand -hex 16)
(umask 077; printf '%s submitter demo customers/default\n%s reader lookups\n' \
  "$SUBMITTER_TOKEN" "$READER_TOKEN" > "$OUT/tokens")

echo "== starting Redis and a local cluster: two workers and a coordinator on 127.0.0.1"
rm -f "$OUT"/*.port "$OUT/redis.sock"
redis-server --port 0 --unixsocket "$OUT/redis.sock" --save "" --appendonly no \
  --loglevel warning > "$OUT/redis.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do [ -S "$OUT/redis.sock" ] && break; sleep 0.1; done
REDIS="unix://$OUT/redis.sock"
workers=()
for i in 1 2; do
  "$BUILD/worker/tierscore-worker" --listen 127.0.0.1:0 --port-file "$OUT/worker$i.port" \
    --threads 1 --redis "$REDIS" --tls-cert "$CERTS/worker.pem" --tls-key "$CERTS/worker.key" \
    --tls-client-ca "$CERTS/ca.pem" --tls-client-name tierscore-coordinator \
    > "$OUT/worker$i.log" 2>&1 &
  pids+=($!)
done
for i in 1 2; do workers+=("127.0.0.1:$(wait_port "$OUT/worker$i.port")"); done
"$BUILD/coordinator/tierscore-coordinator" --listen 127.0.0.1:0 \
  --port-file "$OUT/coordinator.port" --workers "$(IFS=,; echo "${workers[*]}")" \
  --redis "$REDIS" --tls-cert "$CERTS/coordinator.pem" --tls-key "$CERTS/coordinator.key" \
  --worker-tls-ca "$CERTS/ca.pem" --worker-tls-cert "$CERTS/coordinator.pem" \
  --worker-tls-key "$CERTS/coordinator.key" --worker-tls-server-name tierscore-worker \
  --tokens "$OUT/tokens" > "$OUT/coordinator.log" 2>&1 &
pids+=($!)
coordinator="127.0.0.1:$(wait_port "$OUT/coordinator.port")"
echo "   workers ${workers[*]}, coordinator $coordinator"

echo "== tierscore submit --wait"
start=$(date +%s.%N)
TIERSCORE_TOKEN=$SUBMITTER_TOKEN "$TS" submit --target "$coordinator" --input "$OUT/customers.csv" \
  --policy examples/policies/loyalty.yaml \
  --kpis examples/kpis/by_tier_segment.yaml \
  --wait --out "$OUT/results.csv" --kpi-out "$OUT/kpis.csv"
echo "done in $(echo "$(date +%s.%N) - $start" | bc) s"
echo
echo "== first results ($OUT/results.csv)"
head -4 "$OUT/results.csv"
echo "KPI table: $OUT/kpis.csv"
echo
echo "== the next period: the same customers with new figures, published over the first run"
"$TS" gen --rows "$ROWS" --seed 43 --out "$OUT/customers_next.csv"
TIERSCORE_TOKEN=$SUBMITTER_TOKEN "$TS" submit --target "$coordinator" \
  --input "$OUT/customers_next.csv" \
  --policy examples/policies/loyalty.yaml --wait --migration-out "$OUT/migration.csv" \
  | sed -n '/^migration of/,$p'
echo
echo "== online lookups"
TIERSCORE_TOKEN=$READER_TOKEN "$TS" lookup --target "$coordinator" C0000001 C0000002
echo "== stopping the cluster"
