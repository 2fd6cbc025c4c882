#!/usr/bin/env bash
# The lab's image registry: Debian's docker-registry as a plain process on the lab
# bridge (192.168.56.1:5000), the registry mirror of every node's dockerd.
#   registry.sh start   start it unless it runs (pid in /var/lib/kajitori/lab-registry)
#   registry.sh push    push the lab images into it (only those whose id changed)
#   registry.sh stop    stop exactly the process started here, by its pid
#   registry.sh purge   stop, then remove its storage and state
# The host's dockerd pushes to loopback only (Docker trusts 127.0.0.0/8 without
# TLS; anything else would need an insecure-registries entry in the host's
# daemon.json), so `push` runs a second, short-lived registry process on
# 127.0.0.1:5000 over the same storage directory, and stops it afterwards.
source "$(dirname "$0")/lib.sh"

PUSH_ADDR=127.0.0.1:5000
PIDFILE="$REGISTRY_DIR/registry.pid"
PUSHED="$REGISTRY_DIR/pushed"

write_config() {  # write_config FILE ADDR
  # No blob descriptor cache: two processes share the storage, and neither may
  # remember what the other has not written yet.
  cat >"$1" <<YML
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $REGISTRY_STORAGE
  delete:
    enabled: true
http:
  addr: $2
YML
}

wait_http() {  # wait_http URL SECONDS
  local deadline=$((SECONDS + $2))
  until curl -fsS --max-time 1 -o /dev/null "$1" 2>/dev/null; do
    ((SECONDS < deadline)) || return 1
    sleep 0.2
  done
}

start() {
  mkdir -p "$REGISTRY_DIR" "$REGISTRY_STORAGE"
  if pid_alive "$PIDFILE" docker-registry; then
    info "registry already running (pid $(cat "$PIDFILE"), $REGISTRY_ADDR)"
    return 0
  fi
  gateway_on_host ||
    die "$LAB_GATEWAY is not on this host: the lab network must exist before the registry"
  write_config "$REGISTRY_DIR/config.yml" "$REGISTRY_ADDR"
  # setsid: the registry outlives make and this shell; lab-down stops it by pid.
  # It must not inherit any other descriptor of ours: `flock /work/lab.lock make lab` hands
  # the lock's descriptor down, and a registry holding it kept the lab locked for everyone
  # after that run had ended.
  (
    for fd in $(ls /proc/$BASHPID/fd); do ((fd > 2)) && eval "exec $fd>&-"; done 2>/dev/null
    exec setsid docker-registry serve "$REGISTRY_DIR/config.yml" >>"$REGISTRY_DIR/registry.log" 2>&1 </dev/null
  ) &
  echo $! >"$PIDFILE"
  wait_http "http://$REGISTRY_ADDR/v2/" 15 ||
    die "registry did not answer on $REGISTRY_ADDR; see $REGISTRY_DIR/registry.log"
  info "registry started (pid $(cat "$PIDFILE"), $REGISTRY_ADDR)"
}

# Docker Hub's name for an image: official images live under library/.
repo_path() { [[ "$1" == */* ]] && echo "$1" || echo "library/$1"; }

push() {
  mkdir -p "$REGISTRY_DIR"
  touch "$PUSHED"
  local todo=() ref id
  for ref in "${LAB_IMAGES[@]}"; do
    id=$(docker image inspect -f '{{.Id}}' "$ref" 2>/dev/null) || die "image $ref is missing (make images)"
    grep -qxF "$ref $id" "$PUSHED" || todo+=("$ref")
  done
  if ((${#todo[@]} == 0)); then
    info "registry holds every lab image already"
    return 0
  fi
  write_config "$REGISTRY_DIR/push-config.yml" "$PUSH_ADDR"
  setsid docker-registry serve "$REGISTRY_DIR/push-config.yml" \
    >>"$REGISTRY_DIR/push.log" 2>&1 </dev/null &
  local push_pid=$!
  # Stop exactly this helper, however this script ends.
  trap 'kill '"$push_pid"' 2>/dev/null || true' EXIT
  wait_http "http://$PUSH_ADDR/v2/" 15 || die "push registry did not answer on $PUSH_ADDR"
  for ref in "${todo[@]}"; do
    local target
    target="localhost:5000/$(repo_path "$ref")"
    docker tag "$ref" "$target"
    docker push -q "$target" >/dev/null || die "pushing $ref failed"
    docker rmi "$target" >/dev/null  # removes the extra tag only
    id=$(docker image inspect -f '{{.Id}}' "$ref")
    grep -v "^$ref " "$PUSHED" >"$PUSHED.new" || true
    echo "$ref $id" >>"$PUSHED.new"
    mv "$PUSHED.new" "$PUSHED"
    info "pushed $ref"
  done
  kill "$push_pid" 2>/dev/null || true
  trap - EXIT
}

stop() {
  if pid_alive "$PIDFILE" docker-registry; then
    local pid
    pid=$(cat "$PIDFILE")
    kill "$pid"
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    info "registry stopped (pid $pid)"
  fi
  rm -f "$PIDFILE"
}

purge() {
  stop
  rm -rf "$REGISTRY_STORAGE" "$REGISTRY_DIR"
  info "registry storage $REGISTRY_STORAGE removed"
}

case "${1:-}" in
  start | push | stop | purge) "$1" ;;
  *) echo "usage: $0 start|push|stop|purge" >&2; exit 2 ;;
esac
