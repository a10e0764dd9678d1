#!/usr/bin/env bash
# Installs the load generators `npm run bench` drives its small-object rows with, from Debian: wrk (GET, PUT,
# DELETE; Lua scripts in bench/wrk/) and ApacheBench from apache2-utils (HEAD: wrk cannot read a HEAD answer that
# carries a Content-Length). Without them the bench falls back to its undici loader, whose own ceiling (~10k
# requests/s on 2 cores) is below the HTTP ceiling it is meant to show.
set -euo pipefail
packages=(wrk apache2-utils)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo_cmd apt-get update -qq
  $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
