#!/usr/bin/env bash
# Stops a local cluster whose owner died without stopping it (SIGKILL, crash, a killed test runner).
#   reaper.sh <owner pid> <cluster dir>
# While the owner lives, it waits. Then it kills every process group listed in <cluster dir>/pids
# and removes the folder. The owner removes <cluster dir>/pids itself on a clean stop, which ends this too.
owner="$1"
dir="$2"
while kill -0 "$owner" 2>/dev/null && [[ -e "$dir/pids" ]]; do
  sleep 1
done
if [[ -e "$dir/pids" ]]; then
  while read -r pid; do
    [[ -n "$pid" ]] && kill -KILL -- "-$pid" 2>/dev/null
  done <"$dir/pids"
  rm -rf "$dir"
fi
