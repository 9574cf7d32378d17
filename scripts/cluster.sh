#!/usr/bin/env bash
# A local cluster without Docker: one redis-server and N Im.Host nodes on loopback, with the same
# settings as docker-compose.yml (Redis with AOF and appendfsync always, key prefix "im:", the
# built-in AI stand-in unless AI_ENDPOINT is set, the first two nodes as seed nodes).
#
#   scripts/cluster.sh up [N]    build Im.Host (Release) once, start redis and N nodes (default 2,
#                                at most 5), wait until every node's /health/ready answers 200
#   scripts/cluster.sh status    what runs, and whether each node is ready
#   scripts/cluster.sh down      SIGTERM the nodes one by one, last first (SIGKILL after a bound),
#                                then stop redis
#
# Addresses, all on 127.0.0.1:
#   redis          127.0.0.1:6380
#   node i (1..N)  HTTP http://127.0.0.1:800i (REST, ws://127.0.0.1:800i/ws/{user_id}, health)
#                  Akka.Remote 127.0.0.1:405(2+i), i.e. 4053, 4054, ...
# State lives in .cluster/ at the repository root: redis's AOF (kept across down/up; delete
# .cluster/ to start empty), one log and one pid file per process.
#
# Linux only (it reads /proc and uses setsid). Installs nothing: without redis-server it says how to
# install it and exits 1.
#
# Environment: AI_ENDPOINT, AI_API_KEY, AI_MODEL (as in docker-compose.yml; empty means unset),
# CLUSTER_READY_TIMEOUT (seconds up waits for readiness, default 90),
# CLUSTER_STOP_TIMEOUT (seconds down waits after a node's SIGTERM before SIGKILL, default 30).
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
STATE="$ROOT/.cluster"
HOST="127.0.0.1"
REDIS_PORT=6380
MAX_NODES=5
READY_TIMEOUT=${CLUSTER_READY_TIMEOUT:-90}
STOP_TIMEOUT=${CLUSTER_STOP_TIMEOUT:-30}
DLL="$ROOT/src/Im.Host/bin/Release/net10.0/Im.Host.dll"

log() { printf '[cluster] %s\n' "$*"; }
fail() { log "$*"; exit 1; }

http_port() { echo $((8000 + $1)); }
akka_port() { echo $((4052 + $1)); }

usage() {
  sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'
}

# The pid in a pid file if that process is alive and is the one we started (its command line
# names $2), so a pid reused by an unrelated process is never signalled.
live_pid() {
  local file=$1 expect=$2 pid
  [ -f "$file" ] || return 1
  pid=$(cat "$file" 2>/dev/null) || return 1
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$expect" || return 1
  echo "$pid"
}

node_files() { compgen -G "$STATE/im*.pid" | sort -V; }

# True when something accepts connections on 127.0.0.1:$1.
listening() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }

# True when GET /health/ready on 127.0.0.1:$1 answers 200 within 2 s.
ready() {
  if command -v curl >/dev/null 2>&1; then
    curl -fsS -o /dev/null -m 2 "http://$HOST:$1/health/ready" 2>/dev/null
    return
  fi
  # No curl: a bare HTTP/1.0 request over bash's /dev/tcp.
  local status
  status=$(timeout 2 bash -c 'exec 3<>"/dev/tcp/$0/$1" || exit 1
    printf "GET /health/ready HTTP/1.0\r\nHost: %s\r\n\r\n" "$0" >&3
    IFS= read -r line <&3 && printf "%s" "$line"' "$HOST" "$1" 2>/dev/null) || return 1
  [[ $status =~ ^HTTP/1\.[01]\ 200 ]]
}

redis_ping() {
  if command -v redis-cli >/dev/null 2>&1; then
    [ "$(redis-cli -h "$HOST" -p "$REDIS_PORT" ping 2>/dev/null)" = "PONG" ]
  else
    [[ $(timeout 2 bash -c 'exec 3<>"/dev/tcp/$0/$1" || exit 1; printf "PING\r\n" >&3; IFS= read -r l <&3; printf "%s" "$l"' \
      "$HOST" "$REDIS_PORT" 2>/dev/null) == +PONG* ]]
  fi
}

# Starts "$@" detached (own session, stdin from /dev/null, output to $2's log), recording its pid
# in $1. The pid is written by the process itself before exec, so it is the real one.
spawn() {
  local pidfile=$1 logfile=$2
  shift 2
  setsid bash -c 'echo $$ >"$0"; exec "$@"' "$pidfile" "$@" </dev/null >"$logfile" 2>&1 &
  disown $!  # not this shell's job: no "Killed"/"Aborted" notices when down stops it
  local i
  for i in $(seq 50); do [ -s "$pidfile" ] && return 0; sleep 0.1; done
  return 1
}

# SIGTERM every pid given, wait up to $1 seconds for all to exit, then SIGKILL the rest.
terminate() {
  local bound=$1 pid deadline left
  shift
  [ $# -gt 0 ] || return 0
  kill -TERM "$@" 2>/dev/null
  deadline=$((SECONDS + bound))
  while :; do
    left=()
    for pid in "$@"; do kill -0 "$pid" 2>/dev/null && left+=("$pid"); done
    [ ${#left[@]} -eq 0 ] && return 0
    if [ $SECONDS -ge $deadline ]; then
      log "still running after ${bound}s, sending SIGKILL: ${left[*]}"
      kill -KILL "${left[@]}" 2>/dev/null
      for pid in "${left[@]}"; do while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done; done
      return 0
    fi
    sleep 0.2
  done
}

down() {
  local file pid i pids=() names=()
  if [ -d "$STATE" ]; then
    while IFS= read -r file; do
      [ -n "$file" ] || continue
      if pid=$(live_pid "$file" Im.Host.dll); then pids+=("$pid"); names+=("$(basename "$file" .pid)"); fi
      rm -f "$file"
    done < <(node_files)
  fi
  # One node at a time, the last first: each leaves a cluster that is otherwise stable and hands its
  # shards to the nodes still up (about 2-3 s each). All at once takes longer, as every leaving node
  # waits on the others.
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    log "stopping ${names[i]} (SIGTERM, SIGKILL after ${STOP_TIMEOUT}s)"
    terminate "$STOP_TIMEOUT" "${pids[i]}"
  done
  # Redis last, so leaving nodes can still write; SIGTERM makes it flush its AOF and exit.
  if pid=$(live_pid "$STATE/redis.pid" redis-server); then
    log "stopping redis-server"
    terminate 10 "$pid"
  fi
  rm -f "$STATE/redis.pid"
  log "down"
}

status() {
  local file pid name port all=0 any=0
  if pid=$(live_pid "$STATE/redis.pid" redis-server); then
    if redis_ping; then log "redis  pid $pid  $HOST:$REDIS_PORT  answering"; else log "redis  pid $pid  $HOST:$REDIS_PORT  NOT answering"; all=1; fi
    any=1
  else
    log "redis  not running"; all=1
  fi
  while IFS= read -r file; do
    [ -n "$file" ] || continue
    name=$(basename "$file" .pid)
    port=$(http_port "${name#im}")
    if pid=$(live_pid "$file" Im.Host.dll); then
      any=1
      if ready "$port"; then log "$name    pid $pid  http://$HOST:$port  ready"
      else log "$name    pid $pid  http://$HOST:$port  NOT ready"; all=1; fi
    else
      log "$name    not running (log: .cluster/$name.log)"; all=1
    fi
  done < <([ -d "$STATE" ] && node_files)
  [ $any -eq 1 ] || { log "nothing runs"; return 1; }
  return $all
}

up() {
  local n=${1:-2} i port seeds=()
  [[ $n =~ ^[0-9]+$ ]] && [ "$n" -ge 1 ] && [ "$n" -le $MAX_NODES ] || fail "N must be 1..$MAX_NODES, got '$n'"

  if ! command -v redis-server >/dev/null 2>&1; then
    log "redis-server is not installed. Install it, then run this again:"
    log "  Debian/Ubuntu: sudo apt-get install redis-server   (then 'sudo systemctl disable --now redis-server' if you do not want the system-wide one)"
    exit 1
  fi
  command -v dotnet >/dev/null 2>&1 || fail "dotnet is not on PATH; install the .NET 10 SDK"
  command -v setsid >/dev/null 2>&1 || fail "setsid (util-linux) is missing"

  local f running=0
  live_pid "$STATE/redis.pid" redis-server >/dev/null && running=1
  if [ -d "$STATE" ]; then
    for f in $(node_files); do live_pid "$f" Im.Host.dll >/dev/null && running=1; done
  fi
  [ $running -eq 0 ] || fail "already up (see 'scripts/cluster.sh status'); run 'scripts/cluster.sh down' first"

  # Every port must be free before anything starts.
  local busy=()
  listening "$REDIS_PORT" && busy+=("$REDIS_PORT")
  for i in $(seq "$n"); do
    listening "$(http_port "$i")" && busy+=("$(http_port "$i")")
    listening "$(akka_port "$i")" && busy+=("$(akka_port "$i")")
  done
  [ ${#busy[@]} -eq 0 ] || fail "ports in use on $HOST: ${busy[*]}; stop what listens there first"

  mkdir -p "$STATE/redis"
  rm -f "$STATE"/im*.pid "$STATE/redis.pid"

  log "building src/Im.Host (Release)"
  # --disable-build-servers: leave no MSBuild/compiler server running behind the script.
  dotnet build "$ROOT/src/Im.Host" -c Release -nologo -v q -clp:ErrorsOnly --disable-build-servers \
    || fail "build failed"
  [ -f "$DLL" ] || fail "$DLL is missing after the build"

  # appendfsync always, as in docker-compose.yml: an acknowledged write survives a crash of Redis.
  log "starting redis-server on $HOST:$REDIS_PORT (data: .cluster/redis)"
  spawn "$STATE/redis.pid" "$STATE/redis.log" redis-server --bind "$HOST" --port "$REDIS_PORT" \
    --dir "$STATE/redis" --appendonly yes --appendfsync always --protected-mode yes || fail "redis-server did not start"
  local deadline=$((SECONDS + 20))
  until redis_ping; do
    if ! live_pid "$STATE/redis.pid" redis-server >/dev/null || [ $SECONDS -ge $deadline ]; then
      tail -n 20 "$STATE/redis.log" >&2
      down >/dev/null
      fail "redis-server did not answer on $HOST:$REDIS_PORT"
    fi
    sleep 0.2
  done

  seeds=("akka.tcp://im@$HOST:$(akka_port 1)")
  [ "$n" -ge 2 ] && seeds+=("akka.tcp://im@$HOST:$(akka_port 2)")

  for i in $(seq "$n"); do
    port=$(http_port "$i")
    log "starting im$i: http://$HOST:$port, akka.tcp://im@$HOST:$(akka_port "$i")"
    local env=(
      "ASPNETCORE_URLS=http://$HOST:$port"
      "ConnectionStrings__Redis=$HOST:$REDIS_PORT"
      "Redis__KeyPrefix=im:"
      "Ai__Endpoint=${AI_ENDPOINT:-}"
      "Ai__ApiKey=${AI_API_KEY:-}"
      "Ai__Model=${AI_MODEL:-stand-in}"
      "Akka__Hostname=$HOST"
      "Akka__PublicHostname=$HOST"
      "Akka__Port=$(akka_port "$i")"
      "Akka__SeedNodes__0=${seeds[0]}"
      # The node's own files (Akka's snapshot directory) stay with its log, not in the working directory.
      "Im__DataDir=$STATE/im$i-data"
    )
    [ ${#seeds[@]} -ge 2 ] && env+=("Akka__SeedNodes__1=${seeds[1]}")
    spawn "$STATE/im$i.pid" "$STATE/im$i.log" env "${env[@]}" dotnet "$DLL" --urls "http://$HOST:$port" \
      || { down >/dev/null; fail "im$i did not start"; }
  done

  log "waiting up to ${READY_TIMEOUT}s for /health/ready on every node"
  deadline=$((SECONDS + READY_TIMEOUT))
  local pending
  while :; do
    pending=()
    for i in $(seq "$n"); do
      if ! live_pid "$STATE/im$i.pid" Im.Host.dll >/dev/null; then
        log "im$i exited; last lines of .cluster/im$i.log:"
        tail -n 40 "$STATE/im$i.log" >&2
        down >/dev/null
        exit 1
      fi
      ready "$(http_port "$i")" || pending+=("$i")
    done
    [ ${#pending[@]} -eq 0 ] && break
    if [ $SECONDS -ge $deadline ]; then
      for i in "${pending[@]}"; do
        log "im$i not ready after ${READY_TIMEOUT}s; last lines of .cluster/im$i.log:"
        tail -n 40 "$STATE/im$i.log" >&2
      done
      down >/dev/null
      exit 1
    fi
    sleep 0.5
  done
  for i in $(seq "$n"); do log "im$i ready: http://$HOST:$(http_port "$i")"; done
  log "up: $n node(s); 'scripts/cluster.sh status', 'scripts/cluster.sh down'"
}

case "${1:-}" in
  up) shift; [ $# -le 1 ] || fail "usage: scripts/cluster.sh up [N]"; up "$@" ;;
  down) down ;;
  status) status ;;
  -h|--help|help) usage ;;
  *) usage >&2; exit 2 ;;
esac
