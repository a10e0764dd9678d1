#!/usr/bin/env bash
# Installs what the test suite needs beyond npm: Debian's Python clients, rclone, awscli, s3cmd and boto3 used by the interop tests, and
# PostgreSQL (the tests start their own private server from its binaries; see test/helpers/postgres.ts), and
# chromium (with a Korean font for the Korean screens) for the console's browser tests.
# softhsm2: the PKCS#11 module of test/api/encryption-pkcs11.
set -euo pipefail
packages=(python3 python3-requests python3-swiftclient python3-keystoneclient curl postgresql rclone chromium fonts-nanum awscli s3cmd python3-boto3 python3-venv openssl softhsm2)
bash "$(dirname "$0")/apt-install.sh" "${packages[@]}"

# The bench's load generators (wrk, ab): test/bench runs the bench's quick mode with them.
bash "$(dirname "$0")/install-bench-deps.sh"

# A current boto3 (Debian's predates the default flexible checksums of 2025) in a venv of its own, for
# test/interop/s3-boto3.test.ts, where a Python package index is reachable. The project's registries are npm and
# Debian: without an index the test says it skips that client (the AWS SDK's interop test covers the same trailers).
boto3_venv="${XDG_CACHE_HOME:-$HOME/.cache}/onggi-test/boto3-current"
if ! "$boto3_venv/bin/python" -c 'import boto3, requests' 2>/dev/null; then
  if ! { python3 -m venv "$boto3_venv" && "$boto3_venv/bin/pip" install --quiet --upgrade boto3 requests; } 2>/dev/null; then
    rm -rf "$boto3_venv"
    echo "install-test-deps: no Python package index reachable; the current-boto3 interop test will be skipped" >&2
  fi
fi
