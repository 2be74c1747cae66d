#!/usr/bin/env bash
# Installs tierscore into a temporary prefix, builds client/examples from
# outside the tree against the installed SDK alone, and runs the example
# against a worker and a coordinator started from that prefix.
set -euo pipefail
BUILD=$1
SRC=$2
tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

wait_port() {
  for _ in $(seq 200); do
    [[ -s $1 ]] && { cat "$1"; return; }
    sleep 0.05
  done
  echo "no port in $1" >&2
  exit 1
}

cmake --install "$BUILD" --prefix "$tmp/prefix" >/dev/null
cp -r "$SRC/client/examples" "$tmp/examples-src"  # outside the tree
cmake -S "$tmp/examples-src" -B "$tmp/examples" -DCMAKE_PREFIX_PATH="$tmp/prefix" \
  -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$tmp/examples" -j2 >/dev/null
if grep -rq -- "$SRC" "$tmp/examples/CMakeCache.txt" "$tmp/examples/CMakeFiles"/*/flags.make \
     2>/dev/null; then
  echo "the example was built with paths into the source tree" >&2
  exit 1
fi

"$tmp/prefix/bin/tierscore-worker" --listen 127.0.0.1:0 --port-file "$tmp/w.port" \
  --threads 1 --insecure 2>"$tmp/worker.log" &
pids+=($!)
wport=$(wait_port "$tmp/w.port")
"$tmp/prefix/bin/tierscore-coordinator" --listen 127.0.0.1:0 --port-file "$tmp/c.port" \
  --workers "127.0.0.1:$wport" --data-dir "$tmp/data" --insecure 2>"$tmp/coordinator.log" &
pids+=($!)
cport=$(wait_port "$tmp/c.port")
"$tmp/prefix/bin/tierscore" gen --rows 5000 --seed 3 --out "$tmp/customers.csv" >/dev/null

out=$(TIERSCORE_INSECURE=1 "$tmp/examples/nightly" "127.0.0.1:$cport" "$tmp/customers.csv" \
  "$SRC/examples/policies/value_ladder.yaml")
echo "$out"
grep -q "succeeded: 5000 customers" <<<"$out"
grep -q "ladder=" <<<"$out"
[[ ! -e $tmp/data/datasets/nightly-example.csv ]]  # the example deleted its dataset
echo "PASS"
