#!/usr/bin/env bash
# Stop the Swift servers and the memcached that bench/swift/setup.sh started
# for ROOT, by the pids it recorded in ROOT/run/*.pid.
#
# Usage: bench/swift/stop.sh ROOT
# SIGTERM first (Swift's master then stops its workers), SIGKILL to the
# process group after 15 s. A pid that no longer belongs to one of our
# processes (exited, or reused by something else) is skipped. Leaves the
# data, configs and logs in place; stopping an already stopped root is fine.
set -euo pipefail

log() { printf 'swift-stop: %s\n' "$*" >&2; }

[[ $# -eq 1 ]] || { log "usage: $0 ROOT"; exit 1; }
[[ -d "$1" ]] || { log "no such directory: $1"; exit 1; }
ROOT="$(cd "$1" && pwd -P)"
RUN="$ROOT/run"

ours() { # pid name: is pid still the process we started?
  local cmdline
  cmdline="$(tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null)" || return 1
  if [[ "$2" == memcached ]]; then
    [[ "$cmdline" == *memcached* ]]
  else
    [[ "$cmdline" == *swift-server.py* && "$cmdline" == *"$ROOT/etc/"* ]]
  fi
}

declare -A PIDS=()
# proxy first, then the storage servers, memcached last
for name in proxy-server object-server container-server account-server memcached; do
  f="$RUN/$name.pid"
  [[ -f "$f" ]] || continue
  pid="$(cat "$f")"
  if [[ "$pid" =~ ^[0-9]+$ ]] && ours "$pid" "$name"; then
    kill -TERM "$pid" 2>/dev/null || true
    PIDS[$name]="$pid"
  else
    rm -f "$f"
  fi
done

deadline=$((SECONDS + 15))
for name in "${!PIDS[@]}"; do
  pid="${PIDS[$name]}"
  while kill -0 "$pid" 2>/dev/null && ours "$pid" "$name" && ((SECONDS < deadline)); do
    sleep 0.2
  done
  if kill -0 "$pid" 2>/dev/null && ours "$pid" "$name"; then
    log "$name (pid $pid) did not stop on SIGTERM; sending SIGKILL"
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
  fi
  # The Swift servers run in their own process group (pgid = master pid):
  # wait for the workers to go too, and kill the ones that do not.
  while kill -0 -- "-$pid" 2>/dev/null && ((SECONDS < deadline)); do
    sleep 0.2
  done
  kill -KILL -- "-$pid" 2>/dev/null || true
  log "stopped $name (pid $pid)"
  rm -f "$RUN/$name.pid"
done
