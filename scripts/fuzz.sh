#!/usr/bin/env bash
# Runs each libFuzzer target for SECONDS from its seed corpus (fuzz/corpus/
# <name>, read only) and a scratch corpus in BUILD_DIR (where new inputs go).
# A crash, leak, sanitizer report or timeout fails the run; its input is left
# in BUILD_DIR (crash-*, leak-*, timeout-*) and its log is printed.
#   scripts/fuzz.sh BUILD_DIR SECONDS TARGET...
set -euo pipefail
build=$1 seconds=$2
shift 2
src=$(cd "$(dirname "$0")/.." && pwd)
for target in "$@"; do
  name=${target%_fuzz}
  mkdir -p "$build/corpus/$target"
  seeds=()
  [ -d "$src/fuzz/corpus/$name" ] && seeds+=("$src/fuzz/corpus/$name")
  log="$build/$target.log"
  if ! (cd "$build" && "./fuzz/$target" -max_total_time="$seconds" -rss_limit_mb=2048 \
        -timeout=10 -print_final_stats=1 "corpus/$target" "${seeds[@]}") > "$log" 2>&1; then
    echo "fuzz: $target failed:" >&2
    tail -n 60 "$log" >&2
    exit 1
  fi
  echo "fuzz: $target: $(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$') runs in ${seconds}s, no failure"
done
