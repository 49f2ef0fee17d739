#!/usr/bin/env bash
# Stops a local cluster whose owner died without stopping it (SIGKILL, crash, a killed test runner).
#   reaper.sh <owner pid> <cluster dir> [<node> <real-node/cleanup.ts>]
# While the owner lives, it waits. Then it kills every process group listed in <cluster dir>/pids,
# runs the real node's cleanup when given one (it kills the node's shims and containers, which are
# in no listed group, and restores the machine's settings), and removes the folder. The owner
# removes <cluster dir>/pids itself on a clean stop, which ends this too.
owner="$1"
dir="$2"
node="${3:-}"
cleanup="${4:-}"
while kill -0 "$owner" 2>/dev/null && [[ -e "$dir/pids" ]]; do
  sleep 1
done
if [[ -e "$dir/pids" ]]; then
  while read -r pid; do
    [[ -n "$pid" ]] && kill -KILL -- "-$pid" 2>/dev/null
  done <"$dir/pids"
  if [[ -n "$cleanup" ]]; then
    # Its output is kept only when it fails (beside the record it could not finish, for the next start).
    # (ELASTICWEB_REAPER_OF: the cleanup is this reaper's own and must not wait for it; machine-state.ts)
    if ! out=$(ELASTICWEB_REAPER_OF="$dir" "$node" "$cleanup" 2>&1); then
      echo "$out" >/var/lib/elasticweb-real-node/cleanup-failed.log
    fi
  fi
  rm -rf "$dir"
fi
