#!/usr/bin/env bash
# Installs the Debian packages a real node and its images need, only those that are missing, so it
# is cheap to call before every `up --real` (make test and make run do).
#
#   hack/cluster/real-node/packages.sh           install what is missing (root, apt-get)
#   hack/cluster/real-node/packages.sh --check   exit 1 and name what is missing, install nothing
#
# containerd and runc run the pods; iptables is what kube-proxy programs (Debian's is the nf_tables
# flavour) and nftables gives `nft`, to list and clean up the tables it made; iproute2 makes the
# node's bridge; debootstrap builds the Debian root filesystems of the local images; buildah builds
# the operator's image from the Dockerfile without a Docker engine; gcc compiles the pause program
# statically (libc6-dev brings the static libc); util-linux gives unshare and nsenter.
set -euo pipefail

packages=(containerd runc iptables nftables iproute2 debootstrap buildah gcc libc6-dev util-linux ca-certificates)

missing=()
for p in "${packages[@]}"; do
  # dpkg-query prints "install ok installed" for a package that is fully installed.
  if [[ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)" != "install ok installed" ]]; then
    missing+=("$p")
  fi
done

if ((${#missing[@]} == 0)); then
  exit 0
fi
if [[ "${1:-}" == "--check" ]]; then
  echo "missing Debian packages: ${missing[*]}"
  exit 1
fi
if [[ "$(id -u)" != 0 ]]; then
  echo "[packages] missing Debian packages: ${missing[*]}; installing them needs root (apt-get)" >&2
  exit 1
fi
echo "[packages] installing ${missing[*]} (apt-get)"
start=$SECONDS
export DEBIAN_FRONTEND=noninteractive
# A machine that never ran apt-get update has no package lists: fetch them once.
if ! compgen -G '/var/lib/apt/lists/*_Packages' >/dev/null; then
  apt-get update -qq
fi
# The packages' own services are not wanted (the node starts its own containerd): policy-rc.d
# answers 101 ("action forbidden") to invoke-rc.d for the duration of the install.
policy=/usr/sbin/policy-rc.d
made_policy=0
if [[ ! -e "$policy" ]]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy"
  chmod 755 "$policy"
  made_policy=1
fi
trap '((made_policy)) && rm -f "$policy"' EXIT
# Package lists that are too old name files the mirror no longer has: refresh them once and retry.
if ! apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; then
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
echo "[packages] installed in $((SECONDS - start))s"
