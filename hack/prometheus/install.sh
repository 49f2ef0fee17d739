#!/usr/bin/env bash
# Makes sure promtool and prometheus are installed (Debian's `prometheus` package, 2.42 on bookworm):
# promtool for the alert rule tests, prometheus for the dashboard test. Does nothing when both are
# there; otherwise installs the package without letting it start its own service.
#
#   hack/prometheus/install.sh   (npm run test:alerts and npm run test:e2e run it first)
set -euo pipefail

if command -v promtool >/dev/null && command -v prometheus >/dev/null; then
  exit 0
fi

sudo=()
if [[ $(id -u) -ne 0 ]]; then sudo=(sudo); fi

echo "[prometheus] installing Debian's prometheus package (promtool, prometheus)" >&2
# The package's init script would start a Prometheus listening on every interface: forbid service
# starts during the install, unless the machine already has a policy (container images do).
policy=/usr/sbin/policy-rc.d
added_policy=false
if [[ ! -e $policy ]]; then
  printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee "$policy" >/dev/null
  "${sudo[@]}" chmod +x "$policy"
  added_policy=true
fi
cleanup() { if $added_policy; then "${sudo[@]}" rm -f "$policy"; fi; }
trap cleanup EXIT

export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends prometheus >/dev/null
promtool --version 2>&1 | head -1 >&2
