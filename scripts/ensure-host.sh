#!/usr/bin/env bash
# Make this machine able to run Kajitori's integration tests and lab:
# Debian's docker.io (engine), a running dockerd, iptables (legacy backend
# available), iproute2, kubectl (kubernetes-client), chromium (the web view's tests). Idempotent: a second run only checks.
set -euo pipefail
log() { echo "==> $*"; }
need_pkgs=()
command -v dockerd >/dev/null || need_pkgs+=(docker.io)
command -v iptables-legacy >/dev/null || need_pkgs+=(iptables)
command -v ip >/dev/null || need_pkgs+=(iproute2)
# kubectl: the integration tests drive the API server with it too.
command -v kubectl >/dev/null || need_pkgs+=(kubernetes-client)
# chromium: the web view's browser tests drive Debian's headless chromium (playwright, no download).
command -v chromium >/dev/null || need_pkgs+=(chromium)
if ((${#need_pkgs[@]})); then
  log "installing ${need_pkgs[*]} (apt)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  apt-get install -y -q "${need_pkgs[@]}" >/dev/null
fi
if ! docker info >/dev/null 2>&1; then
  log "starting dockerd"
  # setsid: dockerd must outlive this shell (and make's process group).
  setsid dockerd >/var/log/dockerd.log 2>&1 < /dev/null &
  for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 0.5; done
  docker info >/dev/null 2>&1 || { echo "dockerd did not start; see /var/log/dockerd.log" >&2; exit 1; }
fi
log "dockerd ready ($(docker version -f '{{.Server.Version}}'))"
