#!/usr/bin/env bash
# Mints an HS256 token for Auth__Mode=Jwt: development tokens, and the first admin's (who then
# creates users over the API). Signs with $Auth__JwtKey; adds "iss"/"aud" when $Auth__Issuer /
# $Auth__Audience are set, as the host then requires them.
#
#   Auth__JwtKey=... scripts/token.sh --sub user_20250127120000_abc12345 [--minutes 60]
#   Auth__JwtKey=... scripts/token.sh --sub ops --admin            # scope "im:admin"
#
# The token goes to stdout only. Anyone holding the key can mint any token: keep it secret.
set -euo pipefail

usage() {
  echo "usage: Auth__JwtKey=<key, >= 32 bytes> $0 --sub USER_ID [--admin] [--minutes N]" >&2
  exit 2
}

sub="" admin=0 minutes=60
while [ $# -gt 0 ]; do
  case "$1" in
    --sub) [ $# -ge 2 ] || usage; sub=$2; shift 2 ;;
    --admin) admin=1; shift ;;
    --minutes) [ $# -ge 2 ] || usage; minutes=$2; shift 2 ;;
    *) usage ;;
  esac
done
[ -n "$sub" ] || usage
[[ "$minutes" =~ ^[0-9]+$ ]] && [ "$minutes" -ge 1 ] || { echo "--minutes takes a whole number of minutes >= 1" >&2; exit 2; }
key=${Auth__JwtKey:-}
[ "$(printf '%s' "$key" | wc -c)" -ge 32 ] || { echo "Auth__JwtKey must be set to the host's key (at least 32 bytes)" >&2; exit 1; }
command -v openssl >/dev/null || { echo "openssl is needed (apt-get install openssl)" >&2; exit 1; }

# A JSON string: quotes and backslashes escaped; control characters are not ids, so refuse them.
json() {
  if printf '%s' "$1" | LC_ALL=C grep -q '[[:cntrl:]]'; then echo "control characters are not allowed in '$2'" >&2; exit 2; fi
  local s=${1//\\/\\\\}
  printf '"%s"' "${s//\"/\\\"}"
}
base64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }

now=$(date +%s)
claims="\"sub\":$(json "$sub" --sub),\"iat\":$now,\"exp\":$((now + minutes * 60))"
[ "$admin" -eq 1 ] && claims+=",\"scope\":\"im:admin\""
[ -n "${Auth__Issuer:-}" ] && claims+=",\"iss\":$(json "$Auth__Issuer" Auth__Issuer)"
[ -n "${Auth__Audience:-}" ] && claims+=",\"aud\":$(json "$Auth__Audience" Auth__Audience)"

unsigned="$(printf '%s' '{"alg":"HS256","typ":"JWT"}' | base64url).$(printf '{%s}' "$claims" | base64url)"
# The key as hex, so no character in it can be read as an openssl option.
hexkey=$(printf '%s' "$key" | od -An -v -tx1 | tr -d ' \n')
signature=$(printf '%s' "$unsigned" | openssl dgst -sha256 -mac HMAC -macopt "hexkey:$hexkey" -binary | base64url)
printf '%s.%s\n' "$unsigned" "$signature"
