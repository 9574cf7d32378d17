#!/usr/bin/env bash
# The test command: installs what the tests need, builds once, runs every test project, and ends
# with one line "N passed, N failed" summed over all of them. Exits non-zero on any failure.
# Servers (redis-server, the host, the stand-in AI) are started and stopped by the tests themselves.
#   scripts/test.sh          everything (what CI runs)
#   scripts/test.sh --fast   the inner loop: request validation and the actor and store specs (about a minute)
set -uo pipefail
cd "$(dirname "$0")/.."

fast=false
case "${1:-}" in
  "") ;;
  --fast) fast=true ;;
  *) echo "usage: scripts/test.sh [--fast]" >&2; exit 2 ;;
esac

log() { printf '[test] %s\n' "$*"; }

# Installs a Debian package when its command is missing; tests never assume a machine has it.
ensure() {
  local command=$1 package=$2
  command -v "$command" >/dev/null 2>&1 && return 0
  log "installing $package"
  if [ "$(id -u)" -ne 0 ]; then
    log "$command is missing and this is not root: install it with 'sudo apt-get install $package'"
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq --no-install-recommends "$package" >/dev/null \
    || { log "apt-get install $package failed"; exit 1; }
}

# redis-server: the Redis store specs and end-to-end tests start their own on free ports.
if ! command -v redis-server >/dev/null 2>&1; then
  ensure redis-server redis-server
  # The fresh package may have started a system-wide server on 6379; nothing here uses it.
  (systemctl stop redis-server || service redis-server stop) >/dev/null 2>&1 || true
fi
# The host and end-to-end specs need more; the fast tier does not.
if [ "$fast" = false ]; then
  # docker-compose (1.29): the deployment specs validate docker-compose.yml with `docker-compose config`.
  ensure docker-compose docker-compose
  # openssl: scripts/token.sh signs tokens with it, and the authorization specs use the script.
  ensure openssl openssl
  # chromium: the browser specs open /ops and /docs in it headless, through Playwright for .NET
  # pointed at this binary (Playwright's own browser download is never used).
  ensure chromium chromium
fi

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
results=$(mktemp -d)
trap 'rm -rf "$results"' EXIT

log "building"
if ! dotnet build ImAkka.sln -c Release -nologo -v q -clp:ErrorsOnly; then
  log "build failed"
  echo "0 passed, 1 failed"
  exit 1
fi

passed=0
failed=0
projects=(tests/*/*.csproj)
if [ "$fast" = true ]; then projects=(tests/Im.Contracts.Tests/Im.Contracts.Tests.csproj tests/Im.Actors.Tests/Im.Actors.Tests.csproj); fi
for project in "${projects[@]}"; do
  name=$(basename "$project" .csproj)
  grep -q 'Microsoft.NET.Test.Sdk' "$project" || continue
  log "running $name"
  timeout 1200 dotnet test "$project" -c Release --no-build -nologo \
    --logger "trx;LogFileName=$name.trx" --results-directory "$results" \
    --blame-hang-timeout 5m -- RunConfiguration.TreatNoTestsAsError=true
  status=$?
  trx="$results/$name.trx"
  if [ -f "$trx" ]; then
    counters=$(grep -o '<Counters [^>]*>' "$trx")
    p=$(sed -n 's/.* passed="\([0-9]*\)".*/\1/p' <<<"$counters")
    f=$(sed -n 's/.* failed="\([0-9]*\)".*/\1/p' <<<"$counters")
    passed=$((passed + ${p:-0}))
    failed=$((failed + ${f:-0}))
    # A run that crashed or hung can report no failed test; count it as one.
    if [ "$status" -ne 0 ] && [ "${f:-0}" -eq 0 ]; then failed=$((failed + 1)); fi
  else
    log "$name produced no results (exit $status)"
    failed=$((failed + 1))
  fi
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
