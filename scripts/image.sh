#!/usr/bin/env bash
# Builds the image (Dockerfile) from Debian's packages alone and tests it:
# no container registry is reachable here, so the base is made with
# `mmdebstrap --variant=minbase bookworm` and imported with podman; the
# image is built with `podman build --isolation chroot` and then run by
# tests/image/image_test.sh. Where this machine cannot build images, it
# says SKIPPED with the reason (never a pass) and exits 0.
# Usage: scripts/image.sh BUILD_DIR [TAG]   (BUILD_DIR: the host's build, for the CLI)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
build=$(realpath "${1:?usage: image.sh BUILD_DIR [TAG]}")
tag=${2:-localhost/tierscore:dev}
base=localhost/tierscore-base:bookworm
out="$build/image"
mkdir -p "$out"

skip() { echo "image: SKIPPED: $*"; exit 0; }
for tool in mmdebstrap podman buildah; do
  command -v "$tool" >/dev/null || skip "$tool is not installed (scripts/install-deps.sh check)"
done
[ "$(id -u)" -eq 0 ] || skip "building from mmdebstrap's root mode needs root"

if ! podman image exists "$base"; then
  echo "image: making the Debian 12 base with mmdebstrap"
  mmdebstrap --quiet --variant=minbase --mode=root bookworm "$out/base.tar" \
    > "$out/mmdebstrap.log" 2>&1 || skip "mmdebstrap failed: $(tail -1 "$out/mmdebstrap.log")"
  podman import --quiet "$out/base.tar" "$base" >/dev/null ||
    skip "podman import cannot store images here"
  rm -f "$out/base.tar"
fi

echo "image: podman build --isolation chroot -t $tag"
start=$(date +%s)
podman build --quiet --isolation chroot --build-arg "BASE=$base" \
  --build-arg "REVISION=$(git -C "$repo" rev-parse HEAD 2>/dev/null || echo unknown)" \
  -t "$tag" "$repo" > "$out/build.log" 2>&1 ||
  { tail -30 "$out/build.log"; echo "image: the build failed (log: $out/build.log)"; exit 1; }
echo "image: built in $(( $(date +%s) - start )) s, $(podman image inspect --format '{{.Size}}' "$tag") bytes"
bash "$repo/tests/image/image_test.sh" "$build" "$tag"
