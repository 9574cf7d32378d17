#!/usr/bin/env bash
# The benchmark: ImAkka against same-run baselines on this machine, in one run, and the report.
#
#   scripts/bench.sh                    full run (about 8 minutes on 2 cores): writes docs/BENCHMARKS.md
#                                       and docs/images/benchmarks.png
#   scripts/bench.sh --quick            every phase once, tiny (well under a minute): proves the harness
#                                       works, judges nothing; needs --out, so the real report is untouched
#
# Options:
#   --out FILE.md       where the report goes (default docs/BENCHMARKS.md; --quick requires it)
#   --chart FILE.png    where the chart goes (default docs/images/benchmarks.png, or beside --out)
#   --no-build          use the existing build instead of building first (the test suite's quick run)
#   --configuration C   the build to use, Release (default) or Debug
#   --keep              keep the scratch directory (servers' logs, traces, heap dumps) after a good run
#   --only PHASES       for working on the harness: only these phases (sends,hot,fanout,ai,memory,cold,cluster), no report
#
# What it starts, all on 127.0.0.1 and free ports, each its own process: redis-server (no persistence),
# ImAkka (src/Im.Host), the baselines of bench/Baselines (a bare Kestrel server doing the same Redis
# work per message and broadcasting over the same pub/sub, a bare WebSocket echo, a stand-in AI), and
# the load generator bench/ImAkka.Bench, which runs the phases and writes the report. Every process is
# stopped when the run ends, on Ctrl-C and SIGTERM too.
#
# Needs the .NET 10 SDK. Installs redis-server and fonts-dejavu-core (the chart's font) with apt-get
# when missing and run as root. Raises its open-file limit for the socket phases: the full run holds
# 10,000 client and 10,000 server sockets, so each process needs `ulimit -n` of about 12,000 or more;
# where the hard limit is lower, raise it first (/etc/security/limits.conf, or `prlimit`). Installs
# dotnet-trace and dotnet-gcdump from NuGet into ~/.cache/imakka-bench/tools (IMAKKA_BENCH_TOOLS),
# outside the repository, for the profiles of a full run; without them the report says so.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

log() { printf '[bench] %s\n' "$*"; }
fail() { log "$*"; exit 1; }
usage() { sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }

TRACE_VERSION=10.0.750501
GCDUMP_VERSION=10.0.750501
FONT=/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf

quick=0 build=1 keep=0 configuration=Release out="" chart="" only=""
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1 ;;
    --no-build) build=0 ;;
    --keep) keep=1 ;;
    --out) out=${2:?--out needs a file}; shift ;;
    --chart) chart=${2:?--chart needs a file}; shift ;;
    --configuration) configuration=${2:?--configuration needs Release or Debug}; shift ;;
    --only) only=${2:?--only needs phases}; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
  esac
  shift
done
# A quick run's figures mean nothing; it must never overwrite the committed report.
[ $quick -eq 1 ] && [ -z "$out" ] && fail "--quick writes its report elsewhere: give --out FILE.md"

# Installs a Debian package when its file is missing (as scripts/test.sh does for commands).
ensure() {
  local file=$1 package=$2
  [ -e "$file" ] || command -v "$file" >/dev/null 2>&1 && return 0
  if [ "$(id -u)" -ne 0 ]; then
    fail "$file is missing and this is not root: install it with 'sudo apt-get install $package'"
  fi
  log "installing $package"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq --no-install-recommends "$package" >/dev/null \
    || fail "apt-get install $package failed"
}

command -v dotnet >/dev/null 2>&1 || fail "dotnet is not on PATH; install the .NET 10 SDK"
if ! command -v redis-server >/dev/null 2>&1; then
  ensure redis-server redis-server
  # The fresh package may have started a system-wide server on 6379; the bench starts its own.
  (systemctl stop redis-server || service redis-server stop) >/dev/null 2>&1 || true
fi
ensure "$FONT" fonts-dejavu-core

# Sockets are files: the load generator and each server hold one per connection.
want=$([ $quick -eq 1 ] && echo 4096 || echo 20000)
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt "$want" ]; then
  hard=$(ulimit -Hn)
  if [ "$hard" = unlimited ] || [ "$hard" -ge "$want" ]; then ulimit -n "$want"
  else ulimit -Hn "$want" 2>/dev/null && ulimit -n "$want" || ulimit -n "$hard"
  fi
fi
limit=$(ulimit -n)
log "open-file limit $limit"
if [ $quick -eq 0 ] && [ "$limit" != unlimited ] && [ "$limit" -lt 12000 ]; then
  fail "the full run needs 'ulimit -n' of at least 12000 (10,000 idle sockets on each side); the hard limit here is $(ulimit -Hn)"
fi

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

tools_args=()
if [ $quick -eq 0 ]; then
  tools=${IMAKKA_BENCH_TOOLS:-$HOME/.cache/imakka-bench/tools}
  mkdir -p "$tools"
  for tool in "dotnet-trace $TRACE_VERSION" "dotnet-gcdump $GCDUMP_VERSION"; do
    set -- $tool
    if [ ! -x "$tools/$1" ] || ! "$tools/$1" --version 2>/dev/null | grep -q "^${2}"; then
      log "installing $1 $2 into $tools"
      dotnet tool uninstall --tool-path "$tools" "$1" >/dev/null 2>&1
      dotnet tool install --tool-path "$tools" "$1" --version "$2" >/dev/null \
        || log "could not install $1: the report will have no profiles"
    fi
  done
  tools_args=(--tools "$tools")
fi

if [ $build -eq 1 ]; then
  log "building ($configuration)"
  for project in src/Im.Host bench/Baselines bench/ImAkka.Bench; do
    dotnet build "$project" -c "$configuration" -nologo -v q -clp:ErrorsOnly --disable-build-servers || fail "build of $project failed"
  done
fi
bench_dll="$ROOT/bench/ImAkka.Bench/bin/$configuration/net10.0/ImAkka.Bench.dll"
[ -f "$bench_dll" ] || fail "$bench_dll is missing; build first (or drop --no-build)"

work=$(mktemp -d "${TMPDIR:-/tmp}/imakka-bench-XXXXXX")
args=(--work "$work" "${tools_args[@]}")
[ $quick -eq 1 ] && args+=(--quick)
[ -n "$out" ] && args+=(--out "$out")
[ -n "$chart" ] && args+=(--chart "$chart")
[ -n "$only" ] && args+=(--only "$only")

# The load generator runs in a process group of its own, with every server it starts: on Ctrl-C or
# SIGTERM the whole group is stopped, even if the load generator itself can no longer clean up.
# Every process of the run carries its scratch directory in its environment, so what it leaves
# behind can be found (the test of the quick run looks).
export IMAKKA_BENCH_RUN="$work"
pidfile="$work/bench.pid"
setsid bash -c 'echo $$ >"$0"; exec "$@"' "$pidfile" dotnet "$bench_dll" "${args[@]}" &
runner=$!
stop() {
  local pgid
  pgid=$(cat "$pidfile" 2>/dev/null) || pgid=""
  if [ -n "$pgid" ] && kill -0 "$pgid" 2>/dev/null; then
    log "stopping the run and every server it started"
    kill -TERM -- "-$pgid" 2>/dev/null
    for _ in $(seq 50); do kill -0 "$pgid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL -- "-$pgid" 2>/dev/null
  fi
  exit 130
}
trap stop INT TERM HUP
wait "$runner"
status=$?
trap - INT TERM HUP
if [ $status -eq 0 ] && [ $keep -eq 0 ]; then rm -rf "$work"; else log "scratch directory kept: $work"; fi
exit $status
