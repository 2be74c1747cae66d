#!/usr/bin/env bash
# Runs each libFuzzer target for SECONDS from its seed corpus (fuzz/corpus/
# <name>, read only; and fuzz/seeds/<name>, requests in protobuf text format
# encoded here, see seed_file) and a scratch corpus in BUILD_DIR (where new
# inputs go).
# A crash, leak, sanitizer report or timeout fails the run; its input is left
# in BUILD_DIR (crash-*, leak-*, timeout-*) and its log is printed.
#   scripts/fuzz.sh BUILD_DIR SECONDS TARGET...
set -euo pipefail
build=$1 seconds=$2
shift 2
src=$(cd "$(dirname "$0")/.." && pwd)

# A seed as the fuzzer reads it. A text seed starts with comment lines:
# `# proto-message: tierscore.v1.X` (the rest is X in text format, sent in
# wire format) or `# raw` (the rest as it is), and `# selector: N` when the
# target's first byte picks the call.
seed_file() {
  local in=$1 out=$2 message selector
  message=$(sed -n 's/^# proto-message: //p' "$in" | head -n 1)
  selector=$(sed -n 's/^# selector: //p' "$in" | head -n 1)
  : > "$out"
  # shellcheck disable=SC2059
  [ -n "$selector" ] && printf "\\$(printf '%03o' "$selector")" >> "$out"
  if [ -n "$message" ]; then
    protoc -I "$src/protos" --encode="$message" "$src"/protos/tierscore/v1/*.proto < "$in" >> "$out"
  else
    grep -v '^# ' "$in" | head -c -1 >> "$out"
  fi
}
for target in "$@"; do
  name=${target%_fuzz}
  mkdir -p "$build/corpus/$target"
  seeds=()
  [ -d "$src/fuzz/corpus/$name" ] && seeds+=("$src/fuzz/corpus/$name")
  if [ -d "$src/fuzz/seeds/$name" ]; then
    rm -rf "$build/seeds/$target" && mkdir -p "$build/seeds/$target"
    for f in "$src/fuzz/seeds/$name"/*; do
      seed_file "$f" "$build/seeds/$target/$(basename "$f")"
    done
    seeds+=("seeds/$target")
  fi
  log="$build/$target.log"
  if ! (cd "$build" && "./fuzz/$target" -max_total_time="$seconds" -rss_limit_mb=2048 \
        -timeout=10 -print_final_stats=1 "corpus/$target" "${seeds[@]}") > "$log" 2>&1; then
    echo "fuzz: $target failed:" >&2
    tail -n 60 "$log" >&2
    exit 1
  fi
  echo "fuzz: $target: $(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$') runs in ${seconds}s, no failure"
done
