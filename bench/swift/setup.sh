#!/usr/bin/env bash
# Set up and start a local one-node OpenStack Swift (Debian's packages) on
# loopback, as a reference for the benchmark.
#
# Usage: bench/swift/setup.sh ROOT [PROXY_PORT]
#   ROOT        directory for the self-contained Swift root (created if
#               missing): etc/ (configs, rings), srv/ (the one device),
#               run/ (pid files), log/ (server logs), cache/.
#   PROXY_PORT  proxy port (default 18090). The next four ports are used too:
#               account PROXY_PORT+1, container +2, object +3, memcached +4.
#               All bind to 127.0.0.1 only.
#
# Installs the Debian packages it needs when missing (needs root then).
# Re-running on the same ROOT stops what runs there, regenerates the configs
# and rings, keeps the data and the hash path prefix/suffix, and starts again.
# Prints SWIFT_URL=..., SWIFT_TOKEN=... (and SWIFT_AUTH_URL/USER/KEY) on
# stdout at the end; they are also written to ROOT/swift.env. Everything else
# goes to stderr. Stop with bench/swift/stop.sh ROOT.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
PY=/usr/bin/python3 # not whatever python3 is first on PATH (pyenv etc.)

log() { printf 'swift-setup: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

[[ $# -ge 1 && $# -le 2 ]] || die "usage: $0 ROOT [PROXY_PORT]"
ROOT_ARG="$1"
PROXY_PORT="${2:-18090}"
if [[ ! "$PROXY_PORT" =~ ^[1-9][0-9]*$ ]] || ((PROXY_PORT < 1024 || PROXY_PORT > 65530)); then
  die "PROXY_PORT must be a number in 1024..65530, got '$PROXY_PORT'"
fi
ACCOUNT_PORT=$((PROXY_PORT + 1))
CONTAINER_PORT=$((PROXY_PORT + 2))
OBJECT_PORT=$((PROXY_PORT + 3))
MEMCACHED_PORT=$((PROXY_PORT + 4))

# --- 1. packages -------------------------------------------------------------
# memcached: tempauth keeps its tokens only in memcache (it raises "Memcache
# required" without the cache middleware), so the cache middleware and a
# memcached are needed; we run our own memcached on MEMCACHED_PORT.
PACKAGES=(swift swift-proxy swift-object swift-container swift-account
  python3-swiftclient memcached curl)
missing=()
for p in "${PACKAGES[@]}"; do
  status="$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)"
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done
if ((${#missing[@]})); then
  [[ $(id -u) -eq 0 ]] || die "missing packages (${missing[*]}); run as root or install them"
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >&2
  apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
fi
for b in swift-ring-builder swift-proxy-server swift-account-server \
  swift-container-server swift-object-server memcached curl setsid; do
  command -v "$b" >/dev/null || [[ -x /usr/bin/$b ]] || die "$b not found after install"
done
"$PY" -c 'import swift, xattr, eventlet' || die "$PY cannot import swift"

# --- 2. the Swift root ---------------------------------------------------------
mkdir -p "$ROOT_ARG"
ROOT="$(cd "$ROOT_ARG" && pwd -P)"
ETC="$ROOT/etc"
SRV="$ROOT/srv"
RUN="$ROOT/run"
LOGDIR="$ROOT/log"
CACHE="$ROOT/cache"

# Stop whatever a previous run left running on this root.
if compgen -G "$RUN/*.pid" >/dev/null; then
  log "stopping servers of a previous run on $ROOT"
  "$SCRIPT_DIR/stop.sh" "$ROOT" >&2
fi

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for port in "$PROXY_PORT" "$ACCOUNT_PORT" "$CONTAINER_PORT" "$OBJECT_PORT" "$MEMCACHED_PORT"; do
  ! port_busy "$port" || die "port $port on 127.0.0.1 is in use (ports $PROXY_PORT..$MEMCACHED_PORT are needed)"
done

mkdir -p "$ETC" "$SRV/d1" "$RUN" "$LOGDIR" "$CACHE"
USER_NAME="$(id -un)"
WORKERS="$(nproc)"

# Swift keeps object metadata in user xattrs: check the filesystem has them.
"$PY" - "$SRV/d1" <<'PYEOF' || die "the filesystem under $SRV does not support user xattrs (Swift needs them; tmpfs before Linux 6.6 does not)"
import os, sys, tempfile, xattr
fd, path = tempfile.mkstemp(dir=sys.argv[1])
try:
    xattr.setxattr(fd, 'user.swift.test', b'x' * 256)
    assert xattr.getxattr(fd, 'user.swift.test') == b'x' * 256
finally:
    os.close(fd)
    os.unlink(path)
PYEOF

# swift.conf: a random hash prefix/suffix the first time, kept afterwards.
if [[ -f "$ETC/swift.conf" ]] && grep -q '^swift_hash_path_suffix = [0-9a-f]\{32\}$' "$ETC/swift.conf"; then
  HASH_PREFIX="$(sed -n 's/^swift_hash_path_prefix = //p' "$ETC/swift.conf")"
  HASH_SUFFIX="$(sed -n 's/^swift_hash_path_suffix = //p' "$ETC/swift.conf")"
else
  HASH_PREFIX="$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
  HASH_SUFFIX="$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
fi

render() { # template output
  sed -e "s|@HASH_PREFIX@|$HASH_PREFIX|g" -e "s|@HASH_SUFFIX@|$HASH_SUFFIX|g" \
    -e "s|@PROXY_PORT@|$PROXY_PORT|g" -e "s|@ACCOUNT_PORT@|$ACCOUNT_PORT|g" \
    -e "s|@CONTAINER_PORT@|$CONTAINER_PORT|g" -e "s|@OBJECT_PORT@|$OBJECT_PORT|g" \
    -e "s|@MEMCACHED_PORT@|$MEMCACHED_PORT|g" -e "s|@WORKERS@|$WORKERS|g" \
    -e "s|@USER@|$USER_NAME|g" -e "s|@ETC_DIR@|$ETC|g" -e "s|@DEVICES_DIR@|$SRV|g" \
    -e "s|@CACHE_DIR@|$CACHE|g" "$SCRIPT_DIR/$1" >"$2.tmp"
  if grep -q '@[A-Z_]*@' "$2.tmp"; then die "unsubstituted placeholder in $2"; fi
  mv "$2.tmp" "$2"
}
render swift.conf.in "$ETC/swift.conf"
for s in proxy account container object; do
  render "$s-server.conf.in" "$ETC/$s-server.conf"
done

# Rings: one device, one replica, part power 10; rebuilt on every run (the
# ports may have changed; with a single device every partition maps to it).
build_ring() { # name port
  local builder="$ETC/$1.builder" rc
  rm -f "$builder" "$ETC/$1.ring.gz"
  swift-ring-builder "$builder" create 10 1 1 >&2
  swift-ring-builder "$builder" add --region 1 --zone 1 --ip 127.0.0.1 \
    --port "$2" --device d1 --weight 100 >&2
  # exit status 1 means "finished with warnings", 2 an error
  rc=0; swift-ring-builder "$builder" rebalance >&2 || rc=$?
  ((rc <= 1)) || die "swift-ring-builder rebalance $1 failed ($rc)"
  [[ -s "$ETC/$1.ring.gz" ]] || die "$ETC/$1.ring.gz was not written"
}
# The three rings are independent; building them in parallel saves a few
# seconds of Python start-up.
ring_pids=()
for r in "account $ACCOUNT_PORT" "container $CONTAINER_PORT" "object $OBJECT_PORT"; do
  # shellcheck disable=SC2086 # r is "name port"
  build_ring $r &
  ring_pids+=("$!")
done
for p in "${ring_pids[@]}"; do wait "$p" || die "building the rings failed"; done
rm -rf "$ETC/backups" # swift-ring-builder's copies of old builders

# --- start ---------------------------------------------------------------------
start_bg() { # name command...
  # setsid: own session and process group (pgid = the recorded pid), so a
  # signal to the caller's group does not reach the servers, and stop.sh can
  # signal a server's master and workers together. (A background job of a
  # script is no group leader, so setsid execs without forking and $! is the
  # server's pid.)
  local name="$1"; shift
  nohup setsid "$@" </dev/null >>"$LOGDIR/$name.stderr" 2>&1 &
  echo "$!" >"$RUN/$name.pid"
  log "started $name (pid $!)"
}
MEMCACHED_ARGS=(-l 127.0.0.1 -p "$MEMCACHED_PORT" -U 0 -m 64 -c 1024)
if [[ $(id -u) -eq 0 ]]; then
  # memcached refuses to run as root without -u
  if getent passwd memcache >/dev/null; then MEMCACHED_ARGS+=(-u memcache); else MEMCACHED_ARGS+=(-u nobody); fi
fi
start_bg memcached /usr/bin/memcached "${MEMCACHED_ARGS[@]}"
for s in account container object proxy; do
  start_bg "$s-server" "$PY" "$SCRIPT_DIR/swift-server.py" "$ETC" "$LOGDIR/$s-server.log" \
    "$s-server" "$ETC/$s-server.conf"
done

# --- 3. wait until it answers ------------------------------------------------------
BASE="http://127.0.0.1:$PROXY_PORT"
check_alive() {
  local name pid
  for name in memcached account-server container-server object-server proxy-server; do
    pid="$(cat "$RUN/$name.pid")"
    if ! kill -0 "$pid" 2>/dev/null; then
      log "$name (pid $pid) died; last lines of its logs:"
      tail -n 20 "$LOGDIR/$name.stderr" "$LOGDIR/$name.log" >&2 2>/dev/null || true
      "$SCRIPT_DIR/stop.sh" "$ROOT" >&2 || true
      die "$name did not start"
    fi
  done
}
fail_start() {
  log "$1; last lines of the logs:"
  tail -n 20 "$LOGDIR"/*.log "$LOGDIR"/*.stderr >&2 2>/dev/null || true
  "$SCRIPT_DIR/stop.sh" "$ROOT" >&2 || true
  die "$1"
}

deadline=$((SECONDS + 60))
until [[ "$(curl -s -m 2 "$BASE/healthcheck" || true)" == "OK" ]]; do
  check_alive
  ((SECONDS < deadline)) || fail_start "no OK from $BASE/healthcheck within 60 s"
  sleep 0.3
done
log "healthcheck OK"

SWIFT_URL="" SWIFT_TOKEN=""
until [[ -n "$SWIFT_URL" && -n "$SWIFT_TOKEN" ]]; do
  check_alive
  ((SECONDS < deadline)) || fail_start "no tempauth login at $BASE/auth/v1.0 within 60 s"
  headers="$(curl -s -m 5 -o /dev/null -D - -H 'X-Auth-User: test:tester' \
    -H 'X-Auth-Key: testing' "$BASE/auth/v1.0" | tr -d '\r' || true)"
  SWIFT_URL="$(sed -n 's/^[Xx]-[Ss]torage-[Uu]rl: *//p' <<<"$headers")"
  SWIFT_TOKEN="$(sed -n 's/^[Xx]-[Aa]uth-[Tt]oken: *//p' <<<"$headers")"
  [[ -n "$SWIFT_URL" && -n "$SWIFT_TOKEN" ]] || sleep 0.3
done
log "tempauth login OK"

# The account, container and object servers answer too: HEAD the account
# (auto-created), then PUT/GET/DELETE a probe object in a probe container.
until [[ "$(curl -s -m 5 -o /dev/null -w '%{http_code}' -I -H "X-Auth-Token: $SWIFT_TOKEN" "$SWIFT_URL" || true)" == 20[04] ]]; do
  check_alive
  ((SECONDS < deadline)) || fail_start "HEAD $SWIFT_URL did not answer 2xx within 60 s"
  sleep 0.3
done
probe() { # method url expected-codes [curl args...]
  local method="$1" url="$2" want="$3" code; shift 3
  code="$(curl -s -m 10 -o /dev/null -w '%{http_code}' -X "$method" -H "X-Auth-Token: $SWIFT_TOKEN" "$@" "$url" || true)"
  [[ " $want " == *" $code "* ]] || fail_start "$method $url answered $code, expected $want"
}
probe PUT "$SWIFT_URL/setup-probe" "201 202"
probe PUT "$SWIFT_URL/setup-probe/probe" "201" --data-binary probe
probe GET "$SWIFT_URL/setup-probe/probe" "200"
probe DELETE "$SWIFT_URL/setup-probe/probe" "204"
probe DELETE "$SWIFT_URL/setup-probe" "204"
log "account, container and object servers OK"

{
  printf 'SWIFT_URL=%s\n' "$SWIFT_URL"
  printf 'SWIFT_TOKEN=%s\n' "$SWIFT_TOKEN"
  printf 'SWIFT_AUTH_URL=%s\n' "$BASE/auth/v1.0"
  printf 'SWIFT_USER=%s\n' 'test:tester'
  printf 'SWIFT_KEY=%s\n' 'testing'
} >"$ROOT/swift.env"
cat "$ROOT/swift.env"
