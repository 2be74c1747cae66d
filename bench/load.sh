#!/usr/bin/env bash
# A bounded load test (not part of `make test`): MINUTES of mixed traffic
# against a local cluster (Redis with an append-only file, a coordinator, two
# workers), with faults.
#   - jobs: submitted one after another with --wait, alternating two inputs
#     and two policies, each pair published to an alias of its own (a
#     policy with downgrade protection reads its previous run, which is then
#     of the same input, so the reference applies); every fourth one is
#     cancelled a second after it is submitted. Every completed job's
#     results are compared with the single-process reference
#     (bench/reference_results) by bench/compare_results.
#   - lookups: 64 clients keep LookupTier calls (alias load/i0p0) in flight all along
#     (bench/lookup_bench), with p50/p99 latency and errors by code.
#   - faults: a worker is killed (SIGKILL) and restarted on its port every
#     minute, alternating; Redis is killed and restarted once, half-way.
#   - memory: every process's RSS every 10 s, to $OUT/rss.csv. Replaced
#     runs expire after a minute (--run-retention-minutes 1), so Redis holds
#     about a minute of runs once warm.
#   bash bench/load.sh [BUILD_DIR] [MINUTES] [ROWS]
# Writes its report to stdout and, with the raw samples, to bench/out/load/.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
MINUTES=${2:-10}
ROWS=${3:-200000}
DURATION=$((MINUTES * 60))
OUT=bench/out/load
rm -rf "$OUT" && mkdir -p "$OUT"
DIR=$(mktemp -d)
cleanup() {
  for f in "$DIR"/*.pid; do [ -f "$f" ] && kill -TERM "$(cat "$f")" 2>/dev/null || true; done
  jobs -p | xargs -r kill 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$DIR"
}
trap cleanup EXIT
wait_file() { for _ in $(seq 1 200); do [ -s "$1" ] && return 0; sleep 0.1; done; return 1; }
export TIERSCORE_INSECURE=1

# Inputs and their references (same ids in both, so lookups always find one).
INPUTS=() POLICIES=(examples/policies/value_ladder.yaml examples/policies/loyalty.yaml)
for seed in 1 2; do
  f=$DIR/customers_$seed.csv
  "$BUILD/client/tierscore" gen --rows "$ROWS" --seed "$seed" --out "$f" > /dev/null
  INPUTS+=("$f")
done
schemes() { "$BUILD/client/tierscore" policy explain "$1" --format json |
  python3 -c 'import json,sys; print(" ".join(t["name"] for t in json.load(sys.stdin)["tiers"]))'; }
for i in 0 1; do
  for p in 0 1; do
    "$BUILD/bench/reference_results" "${POLICIES[$p]}" "$DIR/ref_${i}_$p.csv" "${INPUTS[$i]}"
  done
done

start_redis() {
  redis-server --port 0 --unixsocket "$DIR/redis.sock" --dir "$DIR" --appendonly yes \
    --save "" --loglevel warning >> "$OUT/redis.log" 2>&1 &
  echo $! > "$DIR/redis.pid"
  for _ in $(seq 1 100); do [ -S "$DIR/redis.sock" ] && break; sleep 0.1; done
}
start_worker() {  # index, port (0: any)
  rm -f "$DIR/w$1.port"
  "$BUILD/worker/tierscore-worker" --listen "127.0.0.1:$2" --port-file "$DIR/w$1.port" \
    --threads 1 --redis "unix://$DIR/redis.sock" --insecure >> "$OUT/w$1.log" 2>&1 &
  echo $! > "$DIR/w$1.pid"
  wait_file "$DIR/w$1.port"
}
start_redis
start_worker 1 0
start_worker 2 0
P1=$(cat "$DIR/w1.port") P2=$(cat "$DIR/w2.port")
"$BUILD/coordinator/tierscore-coordinator" --listen 127.0.0.1:0 --port-file "$DIR/c.port" \
  --workers "127.0.0.1:$P1,127.0.0.1:$P2" --redis "unix://$DIR/redis.sock" --insecure \
  --call-timeout 30 --run-retention-minutes 1 >> "$OUT/coordinator.log" 2>&1 &
echo $! > "$DIR/c.pid"
wait_file "$DIR/c.port"
TARGET="127.0.0.1:$(cat "$DIR/c.port")"
"$BUILD/client/tierscore" submit --target "$TARGET" --input "${INPUTS[0]}" \
  --policy "${POLICIES[0]}" --alias load/i0p0 --wait --quiet > /dev/null
T0=$(date +%s)
END=$((T0 + DURATION))

# Memory: every 10 s, each process's RSS (pids re-read: restarts change them).
(
  echo "second,process,rss_kb" > "$OUT/rss.csv"
  while [ "$(date +%s)" -lt "$END" ]; do
    for p in c w1 w2 redis; do
      rss=$(ps -o rss= -p "$(cat "$DIR/$p.pid")" 2>/dev/null | tr -d ' ' || true)
      [ -n "$rss" ] && echo "$(($(date +%s) - T0)),$p,$rss" >> "$OUT/rss.csv"
    done
    sleep 10
  done
) &

# Faults: a worker every minute, Redis once half-way.
(
  n=0
  while [ $(($(date +%s) + 60)) -lt "$END" ]; do
    sleep 60
    n=$((n + 1))
    w=$((n % 2 + 1)) port=$P1
    [ "$w" = 2 ] && port=$P2
    kill -KILL "$(cat "$DIR/w$w.pid")" 2>/dev/null || true
    sleep 1
    start_worker "$w" "$port" || true
    echo "$(($(date +%s) - T0)) restarted worker $w" >> "$OUT/faults.log"
    if [ "$n" = $((MINUTES / 2)) ]; then
      kill -KILL "$(cat "$DIR/redis.pid")" 2>/dev/null || true
      sleep 2
      start_redis
      echo "$(($(date +%s) - T0)) restarted redis" >> "$OUT/faults.log"
    fi
  done
) &

# Lookups: 64 clients all along.
"$BUILD/bench/lookup_bench" "$TARGET" load/i0p0 "$ROWS" 64 "$DURATION" \
  > "$OUT/lookups.txt" &
LOOKUPS=$!

# Jobs, until the end.
declare -A EXITS=()
completed=0 cancelled=0 equal=0 differ=0 i=0
while [ "$(date +%s)" -lt "$END" ]; do
  i=$((i + 1))
  in=$((i % 2)) pol=$(((i / 2) % 2))
  args=(--target "$TARGET" --input "${INPUTS[$in]}" --policy "${POLICIES[$pol]}" --no-cache
    --alias "load/i${in}p$pol")
  if [ $((i % 4)) = 0 ]; then
    id=$("$BUILD/client/tierscore" submit "${args[@]}" --quiet 2>> "$OUT/jobs.err" || true)
    sleep 1
    code=0
    "$BUILD/client/tierscore" cancel --target "$TARGET" "$id" > /dev/null 2>> "$OUT/jobs.err" || code=$?
    EXITS["cancel:$code"]=$((${EXITS["cancel:$code"]:-0} + 1))
    cancelled=$((cancelled + 1))
    continue
  fi
  code=0
  "$BUILD/client/tierscore" submit "${args[@]}" --wait --quiet --out "$DIR/job.csv" \
    > /dev/null 2>> "$OUT/jobs.err" || code=$?
  EXITS["submit:$code"]=$((${EXITS["submit:$code"]:-0} + 1))
  [ "$code" = 0 ] || continue
  completed=$((completed + 1))
  # shellcheck disable=SC2046
  if "$BUILD/bench/compare_results" "$DIR/ref_${in}_$pol.csv" "$DIR/job.csv" \
    $(schemes "${POLICIES[$pol]}") >> "$OUT/compare.log" 2>&1; then
    equal=$((equal + 1))
  else
    differ=$((differ + 1))
  fi
done
wait "$LOOKUPS"
read -r _ ops p50 p99 errors codes < "$OUT/lookups.txt"

echo "load test: $MINUTES min, $ROWS customers per input, 2 workers, 64 lookup clients"
echo "faults: $(wc -l < "$OUT/faults.log") ($(grep -c redis "$OUT/faults.log" || true) of Redis)"
echo "jobs: $completed completed ($equal equal to the reference, $differ not), $cancelled cancelled"
for k in "${!EXITS[@]}"; do echo "  exit codes $k: ${EXITS[$k]}"; done | sort
echo "lookups: $ops/s over the run, p50 ${p50} us, p99 ${p99} us; $errors failed ($codes)"
echo "RSS (MB) per process: first sample after 2 min, last sample, max after 2 min"
python3 - "$OUT/rss.csv" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
for p in ["c", "w1", "w2", "redis"]:
    late = [int(r["rss_kb"]) for r in rows if r["process"] == p and int(r["second"]) >= 120]
    if late:
        print(f"  {p:6} {late[0] / 1024:8.1f} {late[-1] / 1024:8.1f} {max(late) / 1024:8.1f}")
PY
echo "raw: $OUT (rss.csv, lookups.txt, faults.log, compare.log, logs)"
[ "$differ" = 0 ]
