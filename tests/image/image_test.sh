#!/usr/bin/env bash
# The built image at work: a worker and a coordinator run inside it
# (`buildah run --isolation chroot`, the host's network, a data directory
# mounted at the same path), over TLS with tokens and confined inputs, as
# the image's unprivileged user; the host's CLI submits a job to them, and
# the results and KPIs must equal a local run of the same job on the host.
# Where containers cannot run here, SKIPPED with the reason (never a pass).
# Usage: tests/image/image_test.sh BUILD_DIR IMAGE
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
build=$(realpath "${1:?usage: image_test.sh BUILD_DIR IMAGE}")
image=${2:?usage: image_test.sh BUILD_DIR IMAGE}
ts="$build/client/tierscore"
policy="$repo/examples/policies/value_ladder.yaml"
kpis="$repo/examples/kpis/by_tier_segment.yaml"

work=$(mktemp -d /tmp/tierscore-image-XXXXXX)
chmod 755 "$work"
run_dir="$work/run"  # the servers' port files, written as the image's user
install -d -m 0755 -o 10001 -g 10001 "$run_dir"
containers=()
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  for c in "${containers[@]}"; do buildah rm "$c" >/dev/null 2>&1 || true; done
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "image_test: FAILED: $*" >&2; for f in "$work"/*.log; do echo "--- $f"; tail -20 "$f"; done >&2; exit 1; }

# run NAME ARGS...: a server from the image, in the background.
run() {
  local name=$1
  shift
  local c
  c=$(buildah from --pull=never --name "tierscore-test-$name-$$" "$image")
  containers+=("$c")
  buildah run --isolation chroot --network host --volume "$work:$work" "$c" -- "$@" \
    > "$work/$name.log" 2>&1 &
  pids+=($!)
}
wait_port() {
  for _ in $(seq 1 200); do
    if [ -s "$1" ]; then cat "$1"; return 0; fi
    sleep 0.1
  done
  return 1
}

ctr=$(buildah from --pull=never "$image") || { echo "image_test: SKIPPED: buildah cannot make a container of $image"; exit 0; }
containers+=("$ctr")
if ! out=$(buildah run --isolation chroot "$ctr" -- /usr/bin/tierscore --help 2>&1); then
  echo "image_test: SKIPPED: buildah cannot run a container here: $(echo "$out" | tail -1)"
  exit 0
fi
echo "$out" | grep -q "tierscore: classify" || fail "the image's CLI does not run: $out"
[ "$(buildah run --isolation chroot "$ctr" -- /usr/bin/id -u)" = 10001 ] || fail "the image does not run as uid 10001"

# The inputs, certificates and tokens, readable by the image's user.
mkdir -p "$work/data"
"$ts" gen --rows 20000 --seed 7 --out "$work/data/customers.csv" >/dev/null
bash "$repo/scripts/dev-certs.sh" "$work/certs" >/dev/null
chmod 755 "$work/certs" && chmod 644 "$work/certs"/*
token=$(openssl rand -hex 16)
echo "$token submitter image-test customers/image" > "$work/tokens"
chmod 644 "$work/tokens"

certs="$work/certs"
run worker /usr/bin/tierscore-worker --listen 127.0.0.1:0 --port-file "$run_dir/worker.port" \
  --health-listen 127.0.0.1:0 --threads 1 --data-root "$work/data" \
  --tls-cert "$certs/worker.pem" --tls-key "$certs/worker.key" --tls-client-ca "$certs/ca.pem" \
  --tls-client-name tierscore-coordinator
worker_port=$(wait_port "$run_dir/worker.port") || fail "the worker did not start"
run coordinator /usr/bin/tierscore-coordinator --listen 127.0.0.1:0 \
  --port-file "$run_dir/coordinator.port" --health-listen 127.0.0.1:0 \
  --workers "127.0.0.1:$worker_port" --data-root "$work/data" --tokens "$work/tokens" \
  --tls-cert "$certs/coordinator.pem" --tls-key "$certs/coordinator.key" \
  --worker-tls-ca "$certs/ca.pem" --worker-tls-cert "$certs/coordinator.pem" \
  --worker-tls-key "$certs/coordinator.key" --worker-tls-server-name tierscore-worker
coordinator_port=$(wait_port "$run_dir/coordinator.port") || fail "the coordinator did not start"

# Both servers run as the image's user.
for name in tierscore-worker tierscore-coordinator; do
  pid=$(pgrep -f "^/usr/bin/$name " | head -1) || fail "no $name process"
  uid=$(awk '/^Uid:/{print $2}' "/proc/$pid/status")
  [ "$uid" = 10001 ] || fail "$name runs as uid $uid, not 10001"
done

TIERSCORE_TOKEN=$token "$ts" submit --target "127.0.0.1:$coordinator_port" \
  --tls-ca "$certs/ca.pem" --input "$work/data/customers.csv" --policy "$policy" --kpis "$kpis" \
  --no-publish --wait --quiet --out "$work/results.csv" --kpi-out "$work/kpis.csv" \
  > "$work/submit.log" 2>&1 || fail "the job through the image's servers failed"
"$ts" run --input "$work/data/customers.csv" --policy "$policy" --kpis "$kpis" \
  --out "$work/local.csv" --kpi-out "$work/local-kpis.csv" > "$work/local.log" 2>&1 ||
  fail "the local run failed"
cmp "$work/results.csv" "$work/local.csv" || fail "results differ from the local run"
cmp "$work/kpis.csv" "$work/local-kpis.csv" || fail "KPIs differ from the local run"
# Confinement inside the image: a path outside the data root is refused.
if TIERSCORE_TOKEN=$token "$ts" submit --target "127.0.0.1:$coordinator_port" \
  --tls-ca "$certs/ca.pem" --input /etc/passwd --policy "$policy" --no-publish > "$work/escape.log" 2>&1; then
  fail "an input outside the data root was accepted"
fi
grep -q "outside the data roots" "$work/escape.log" || fail "the refusal does not say why: $(cat "$work/escape.log")"
echo "image_test: PASS ($(wc -l < "$work/results.csv") result rows equal the local run; servers as uid 10001 over TLS)"
