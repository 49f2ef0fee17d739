#!/usr/bin/env bash
# Builds the local control plane (etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok)
# from the Go module proxy into a cache folder keyed by release, outside git.
#
#   hack/cluster/build.sh               build whatever is missing, print the bin folder of each program
#   hack/cluster/build.sh --real-node   also the real node's programs: kubelet and kube-proxy (from the
#                                       same k8s.io/kubernetes module and go.mod as the control plane)
#                                       and the CNI plugins bridge, host-local, loopback and portmap
#   hack/cluster/build.sh --print       print where the binaries are (or would be) without building
#
# The versions live in the go.mod files next to this script (hack/cluster/{k8s,etcd,kwok,cni}/go.mod);
# changing a version there changes the cache key, so an old build is never mistaken for a new one.
# A cold build takes a long time on 2 cores, so progress is printed as "<program> <done>/<total> packages".
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache_root="${ELASTICWEB_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/elasticweb}"
export GOFLAGS="${GOFLAGS:--buildvcs=false} -mod=mod"
export CGO_ENABLED=0

mode="${1:-build}"

# module_version <dir> <module>: the version of <module> that <dir>/go.mod resolves to.
module_version() {
  (cd "$1" && go list -m -f '{{.Version}}' "$2")
}

# binary_name <package>: the file name go build gives a main package (a trailing /vN is skipped).
binary_name() {
  local name="${1##*/}"
  [[ "$name" =~ ^v[0-9]+$ ]] && name="$(basename "$(dirname "$1")")"
  echo "$name"
}

# build_with_progress <label> <module dir> <out dir> <ldflags> <packages...>
# Builds each package into <out dir>, printing how many packages have been compiled so far.
build_with_progress() {
  local label="$1" dir="$2" out="$3" ldflags="$4"
  shift 4
  local total pkg
  # The packages to count: every non-standard package the programs import. go build -v also names
  # standard-library packages it recompiles (-trimpath keys them apart), which this list leaves out;
  # only names in it are counted below, so the counter never passes its total.
  local -A wanted=()
  while IFS= read -r pkg; do
    [[ -n "$pkg" ]] && wanted[$pkg]=1
  done < <(cd "$dir" && go list -deps -f '{{if not .Standard}}{{.ImportPath}}{{end}}' "$@")
  total=${#wanted[@]}
  echo "[build] $label: compiling up to $total packages (cached ones are skipped) into $out"
  mkdir -p "$out.tmp"
  local start=$SECONDS count=0 last=0
  # go build -v names each package as it compiles it; count them for a live progress line.
  (cd "$dir" && go build -v -trimpath -ldflags "$ldflags" -o "$out.tmp/" "$@" 2>&1) | while IFS= read -r line; do
    case "$line" in
      *" "* | *:*) echo "$line" ;; # compiler messages and errors pass through unchanged
      *)
        # A standard-library package is not counted, but still shows that the build moves.
        [[ -n "${wanted[$line]:-}" ]] && count=$((count + 1))
        if ((SECONDS - last >= 5)); then
          last=$SECONDS
          if [[ -n "${wanted[$line]:-}" ]]; then
            echo "[build] $label: $count/$total packages, $((SECONDS - start))s"
          else
            echo "[build] $label: $count/$total packages (now the standard library: $line), $((SECONDS - start))s"
          fi
        fi
        ;;
    esac
  done
  # The pipeline's status is the while loop's; check the binaries exist instead.
  for pkg in "$@"; do
    [[ -x "$out.tmp/$(binary_name "$pkg")" ]] || { echo "[build] $label: $(binary_name "$pkg") was not built" >&2; return 1; }
  done
  mkdir -p "$out"
  mv "$out.tmp"/* "$out/" && rmdir "$out.tmp"
  echo "[build] $label: done in $((SECONDS - start))s"
}

k8s_version=$(module_version "$here/k8s" k8s.io/kubernetes)
etcd_version=$(module_version "$here/etcd" go.etcd.io/etcd/server/v3)
kwok_version=$(module_version "$here/kwok" sigs.k8s.io/kwok)
cni_version=$(module_version "$here/cni" github.com/containernetworking/plugins)

k8s_bin="$cache_root/kubernetes-$k8s_version/bin"
etcd_bin="$cache_root/etcd-$etcd_version/bin"
kwok_bin="$cache_root/kwok-$kwok_version/bin"
cni_bin="$cache_root/cni-plugins-$cni_version/bin"

print_paths() {
  echo "KUBERNETES_BIN=$k8s_bin"
  echo "ETCD_BIN=$etcd_bin"
  echo "KWOK_BIN=$kwok_bin"
  echo "CNI_BIN=$cni_bin"
}

if [[ "$mode" == "--print" ]]; then
  print_paths
  exit 0
fi

# Two builds into one cache folder would share the *.tmp folders: the second waits for the first.
mkdir -p "$cache_root"
exec 9>"$cache_root/.build.lock"
flock 9

# The k8s version ldflags make /version and --version report the real release
# (hack/lib/version.sh in kubernetes sets the same keys).
k8s_ldflags() {
  local v="$1" major minor
  major=$(echo "${v#v}" | cut -d. -f1)
  minor=$(echo "${v#v}" | cut -d. -f2)
  local date flags="-s -w"
  date=$(date -u +%Y-%m-%dT%H:%M:%SZ)
  local pkg
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    flags+=" -X $pkg.gitVersion=$v -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
    flags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=$date"
  done
  echo "$flags"
}

if [[ -x "$etcd_bin/etcd" ]]; then
  echo "[build] etcd $etcd_version: already built"
else
  build_with_progress "etcd $etcd_version" "$here/etcd" "$etcd_bin" "-s -w" go.etcd.io/etcd/server/v3
  mv "$etcd_bin/server" "$etcd_bin/etcd"
fi

k8s_programs=(kube-apiserver kube-controller-manager kube-scheduler)
# A real node's programs come from the same module and go.mod, so they share most packages (and the
# Go build cache) with the control plane: about 150 more packages.
[[ "$mode" == "--real-node" ]] && k8s_programs+=(kubelet kube-proxy)
missing=()
for p in "${k8s_programs[@]}"; do
  [[ -x "$k8s_bin/$p" ]] || missing+=("k8s.io/kubernetes/cmd/$p")
done
if ((${#missing[@]} == 0)); then
  echo "[build] kubernetes $k8s_version: already built"
else
  build_with_progress "kubernetes $k8s_version" "$here/k8s" "$k8s_bin" "$(k8s_ldflags "$k8s_version")" "${missing[@]}"
fi

if [[ -x "$kwok_bin/kwok" ]]; then
  echo "[build] kwok $kwok_version: already built"
else
  kwok_flags="-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=$kwok_version"
  build_with_progress "kwok $kwok_version" "$here/kwok" "$kwok_bin" "$kwok_flags" sigs.k8s.io/kwok/cmd/kwok
fi

# kwok ships no stages in its binary; kwokctl embeds these defaults from the module's kustomize folder.
# Taken from the module at build time (never committed): nodes turn Ready and keep a heartbeat lease,
# pods turn Ready, and deleted pods go away.
stages="$kwok_bin/stages.yaml"
if [[ ! -s "$stages" ]]; then
  kwok_dir=$(cd "$here/kwok" && go mod download -json sigs.k8s.io/kwok | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
  for f in node/fast/node-initialize node/heartbeat-with-lease/node-heartbeat-with-lease \
    pod/fast/pod-ready pod/fast/pod-complete pod/fast/pod-delete; do
    echo "---"
    cat "$kwok_dir/kustomize/stage/$f.yaml"
  done >"$stages.tmp"
  mv "$stages.tmp" "$stages"
fi

if [[ "$mode" == "--real-node" ]]; then
  cni_plugins=(main/bridge ipam/host-local main/loopback meta/portmap)
  missing=()
  for p in "${cni_plugins[@]}"; do
    [[ -x "$cni_bin/${p#*/}" ]] || missing+=("github.com/containernetworking/plugins/plugins/$p")
  done
  if ((${#missing[@]} == 0)); then
    echo "[build] cni plugins $cni_version: already built"
  else
    cni_flags="-s -w -X github.com/containernetworking/plugins/pkg/utils/buildversion.BuildVersion=$cni_version"
    build_with_progress "cni plugins $cni_version" "$here/cni" "$cni_bin" "$cni_flags" "${missing[@]}"
  fi
fi

print_paths
