#!/usr/bin/env bash
# Builds helm from the Go module proxy into a cache folder keyed by release, outside git, as
# hack/cluster/build.sh does for the control plane. The release is pinned in hack/helm/go.mod
# (the `tool` directive); changing it there changes the cache key.
#
#   hack/helm/build.sh          build helm if missing; print HELM=<path>
#   hack/helm/build.sh --print  print where it is (or would be) without building
#
# A cold build compiles about 900 packages (a few minutes on 2 cores); progress is printed as
# "<done>/<total> packages" so a person watching sees it move.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache_root="${ELASTICWEB_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/elasticweb}"
export GOFLAGS="${GOFLAGS:--buildvcs=false} -mod=mod"
export CGO_ENABLED=0

version=$(cd "$here" && go list -m -f '{{.Version}}' helm.sh/helm/v4)
bin="$cache_root/helm-$version/bin"

if [[ "${1:-}" == "--print" ]]; then
  echo "HELM=$bin/helm"
  exit 0
fi

if [[ -x "$bin/helm" ]]; then
  echo "[build] helm $version: already built" >&2
  echo "HELM=$bin/helm"
  exit 0
fi

pkg=helm.sh/helm/v4/cmd/helm
# What `make build` in the helm repository sets, so `helm version` reports the real release.
ldflags="-s -w -X helm.sh/helm/v4/internal/version.version=$version -X helm.sh/helm/v4/internal/version.gitTreeState=clean"
total=$(cd "$here" && go list -deps -f '{{if not .Standard}}{{.ImportPath}}{{end}}' "$pkg" | grep -c . || true)
echo "[build] helm $version: compiling up to $total packages (cached ones are skipped) into $bin" >&2
tmp="$bin.tmp.$$"
mkdir -p "$tmp"
trap 'rm -rf "$tmp"' EXIT
start=$SECONDS
count=0
last=0
# go build -v names each package as it compiles it; count them for a live progress line.
(cd "$here" && go build -v -trimpath -ldflags "$ldflags" -o "$tmp/helm" "$pkg" 2>&1) | while IFS= read -r line; do
  case "$line" in
    *" "* | *:*) echo "$line" >&2 ;; # compiler messages and errors pass through unchanged
    *)
      count=$((count + 1))
      if ((SECONDS - last >= 5)); then
        last=$SECONDS
        echo "[build] helm $version: $count/$total packages, $((SECONDS - start))s" >&2
      fi
      ;;
  esac
done
# The pipeline's status is the while loop's: check the binary instead.
[[ -x "$tmp/helm" ]] || {
  echo "[build] helm $version was not built" >&2
  exit 1
}
mkdir -p "$bin"
mv "$tmp/helm" "$bin/helm"
echo "[build] helm $version: done in $((SECONDS - start))s" >&2
echo "HELM=$bin/helm"
