#!/usr/bin/env bash
# Make this machine able to run the etcd store's tests: Debian's etcd-server (the
# etcd binary) and etcd-client (etcdctl). Idempotent: a second run only checks.
# Tests start their own etcd on free ports and a temp data dir, so a service the
# package may start on 2379 (where systemd runs) never meets them.
set -euo pipefail
log() { echo "==> $*"; }
need_pkgs=()
command -v etcd >/dev/null || need_pkgs+=(etcd-server)
command -v etcdctl >/dev/null || need_pkgs+=(etcd-client)
if ((${#need_pkgs[@]})); then
  log "installing ${need_pkgs[*]} (apt)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  apt-get install -y -q "${need_pkgs[@]}" >/dev/null
fi
log "etcd ready ($(etcd --version | head -1))"
