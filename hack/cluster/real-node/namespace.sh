#!/usr/bin/env bash
# The first process of a real node's private mount and cgroup namespace (started by containerd.ts
# as `unshare --mount --cgroup --propagation private -- bash namespace.sh ...`). It makes the
# namespace, then becomes the node's containerd; the kubelet joins it later (nsenter).
#
#   namespace.sh <node dir> <name>:<mount options>... -- <containerd command...>
#
# In the namespace:
#  - each cgroup v1 hierarchy is mounted again on a private tmpfs at /sys/fs/cgroup/<name>: in a
#    new cgroup namespace its root is this process's own cgroup, so the `realnode` cgroup made
#    here, and every pod cgroup below it, nests under the caller's cgroups (nothing is moved);
#  - the three kernel settings the kubelet wants machine-wide (vm.overcommit_memory=1,
#    kernel.panic=10, kernel.panic_on_oops=1) read as those values from read-only files, so it
#    finds them set and writes nothing to the machine;
#  - the folders containerd, the CNI plugins and the kubelet use at fixed paths are private tmpfs
#    mounts, so nothing they write there reaches the machine's disk. The folders must exist.
# Mounts made here vanish with the namespace, when its last process exits.
set -euo pipefail

dir="$1"
shift
mount -t tmpfs -o mode=755 elasticweb-cgroups /sys/fs/cgroup
while [[ "$1" != "--" ]]; do
  name="${1%%:*}"
  options="${1#*:}"
  shift
  mkdir -p "/sys/fs/cgroup/$name"
  mount -t cgroup -o "$options" cgroup "/sys/fs/cgroup/$name"
  mkdir -p "/sys/fs/cgroup/$name/realnode"
  if [[ ",$options," == *",cpuset,"* ]]; then
    # A new cpuset cgroup has no CPUs or memory nodes until given its parent's.
    cat "/sys/fs/cgroup/$name/cpuset.cpus" >"/sys/fs/cgroup/$name/realnode/cpuset.cpus"
    cat "/sys/fs/cgroup/$name/cpuset.mems" >"/sys/fs/cgroup/$name/realnode/cpuset.mems"
  fi
done
shift

mkdir -p "$dir/sysctl"
for setting in vm/overcommit_memory=1 kernel/panic=10 kernel/panic_on_oops=1; do
  path="${setting%%=*}"
  file="$dir/sysctl/${path//\//.}"
  echo "${setting#*=}" >"$file"
  mount --bind "$file" "/proc/sys/$path"
  mount -o remount,bind,ro "/proc/sys/$path"
done

for private in /run/containerd /var/lib/cni /var/lib/kubelet /var/log/containers /var/log/pods; do
  mount -t tmpfs -o mode=755 elasticweb-node "$private"
done

exec "$@"
