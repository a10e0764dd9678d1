#!/usr/bin/env bash
# Installs the load generators `npm run bench` drives its small-object rows with, from Debian: wrk (GET, PUT,
# DELETE; Lua scripts in bench/wrk/) and ApacheBench from apache2-utils (HEAD: wrk cannot read a HEAD answer that
# carries a Content-Length). Without them the bench falls back to its undici loader, whose own ceiling (~10k
# requests/s on 2 cores) is below the HTTP ceiling it is meant to show.
set -euo pipefail
packages=(wrk apache2-utils)
bash "$(dirname "$0")/apt-install.sh" "${packages[@]}"
