#!/usr/bin/env bash
# Tools the benchmarks drive the servers with (idempotent): wrk, a C HTTP load generator,
# so that the server, not a Python client on the same two cores, is what gets measured.
set -euo pipefail
if ! command -v wrk >/dev/null; then
  echo "==> installing wrk (apt)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null && apt-get install -y -q wrk >/dev/null
fi
