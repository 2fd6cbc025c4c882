# Shared by the lab scripts: where things live, and progress lines with elapsed
# times. Sourced, not run.
set -euo pipefail

LAB_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
LAB_DIR="$LAB_ROOT/.lab"
LAB_NETWORK=kajitori-lab
LAB_SUBNET=192.168.56.0/24
LAB_GATEWAY=192.168.56.1
LAB_LABEL=io.kajitori.lab=1
# The API address in both forms: the single master's, or the three masters' virtual IP.
LAB_MASTER=192.168.56.10
LAB_NODES=(node1 node2)
# The lab's form: one master (SQLite) or three (etcd). `make lab` says which; otherwise the
# form the running lab was made in (.lab/masters), else one. The Vagrantfile reads the same.
LAB_MASTERS_FILE="$LAB_DIR/masters"
LAB_MASTERS=${KAJITORI_LAB_MASTERS:-$(cat "$LAB_MASTERS_FILE" 2>/dev/null || echo 1)}
case "$LAB_MASTERS" in
  1) LAB_MASTER_MACHINES=(master) ;;
  3) LAB_MASTER_MACHINES=(master1 master2 master3) ;;
  *) echo "MASTERS must be 1 or 3, not '$LAB_MASTERS'" >&2; exit 2 ;;
esac
export KAJITORI_LAB_MASTERS=$LAB_MASTERS
LAB_MACHINES=("${LAB_MASTER_MACHINES[@]}" "${LAB_NODES[@]}")
# Where `make lab MASTERS=3` makes the files the masters share (CA, keys, tokens, etcd's certificates).
LAB_HA_PKI="$LAB_DIR/ha-pki"
# Cluster ranges that must never leave this host: `make lab` routes them nowhere.
LAB_SAFETY_ROUTES=(10.96.0.0/12 10.244.0.0/16)
# The registry process is one per host (it owns 192.168.56.1:5000), whichever checkout
# started it, so its pid lives outside any checkout.
REGISTRY_DIR=/var/lib/kajitori/lab-registry
REGISTRY_STORAGE=/var/lib/kajitori-registry
REGISTRY_ADDR="$LAB_GATEWAY:5000"
# Images the cluster runs; pushed into the lab registry under Docker Hub's names so
# a node's plain `docker pull nginx:1.22` finds them through its registry mirror.
LAB_IMAGES=(nginx:1.22 kajitori/pause:3.9 kajitori/tools:1 kajitori/busybox:1 kajitori/python-client:1)
ANSIBLE_VENV="$LAB_DIR/ansible-venv"
PROJECT_VENV="$LAB_ROOT/.venv"
ADMIN_KUBECONFIG="$LAB_DIR/admin.kubeconfig"
USER_KUBECONFIG="$HOME/.kajitori/config"

export PATH="$ANSIBLE_VENV/bin:$PATH"
mkdir -p "$LAB_DIR" "$REGISTRY_DIR"
VAGRANT_MACHINES="$LAB_ROOT/.vagrant/machines"

LAB_T0=$(date +%s.%N)
_STEP_T0=$LAB_T0
_STEP_NAME=""

_elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }

# step "Building images" ... step_done: one line per step with its duration and the
# time since the start, so a slow step is obvious in a CI log as on a terminal.
step() {
  _STEP_NAME="$1"
  _STEP_T0=$(date +%s.%N)
  printf '==> [%6ss] %s\n' "$(_elapsed "$LAB_T0")" "$_STEP_NAME"
}
step_done() {
  local note="${1:-}"
  printf ' ✓  %s (%ss)%s\n' "$_STEP_NAME" "$(_elapsed "$_STEP_T0")" "${note:+: $note}"
}
info() { printf '    %s\n' "$*"; }
die() { printf ' ✗  %s: %s\n' "${_STEP_NAME:-lab}" "$*" >&2; exit 1; }

# Whether the lab gateway address is on one of this host's interfaces. Not
# `ip addr | grep -q`: under pipefail, grep -q leaving early makes `ip` die of SIGPIPE
# and the pipeline fail although the address is there.
gateway_on_host() { [[ -n "$(ip -4 -o addr show to "$LAB_GATEWAY/32")" ]]; }

# A pid file is trusted only while its process is still the program it recorded.
pid_alive() {  # pid_alive PIDFILE PROGRAM
  local pid
  [[ -s "$1" ]] || return 1
  pid=$(cat "$1")
  [[ -r /proc/$pid/cmdline ]] && grep -q -- "$2" <<<"$(tr '\0' ' ' <"/proc/$pid/cmdline")"
}

# Reads one field of the admin kubeconfig with the project's venv: server, token, or
# ca (the master's CA certificate, PEM, decoded from certificate-authority-data).
kubeconfig_field() {  # kubeconfig_field FILE server|token|ca
  "$PROJECT_VENV/bin/python" - "$1" "$2" <<'PY'
import base64, sys, yaml
cfg = yaml.safe_load(open(sys.argv[1]))
ctx_name = cfg.get("current-context")
ctxs = {c["name"]: c["context"] for c in cfg.get("contexts", [])}
ctx = ctxs.get(ctx_name) or next(iter(ctxs.values()), {})
clusters = {c["name"]: c["cluster"] for c in cfg.get("clusters", [])}
users = {u["name"]: u["user"] for u in cfg.get("users", [])}
cluster = clusters.get(ctx.get("cluster")) or next(iter(clusters.values()), {})
user = users.get(ctx.get("user")) or next(iter(users.values()), {})
if sys.argv[2] == "ca":
    print(base64.b64decode(cluster.get("certificate-authority-data", "")).decode(), end="")
else:
    print(cluster.get("server", "") if sys.argv[2] == "server" else user.get("token", ""))
PY
}

# GET an API path with the admin token over HTTPS, trusting only the master's CA from
# the kubeconfig; prints the body, fails on no answer or != 2xx.
api_get() {  # api_get PATH
  local server token
  server=$(kubeconfig_field "$ADMIN_KUBECONFIG" server)
  token=$(kubeconfig_field "$ADMIN_KUBECONFIG" token)
  kubeconfig_field "$ADMIN_KUBECONFIG" ca >"$LAB_DIR/ca.crt"
  curl -fsS --max-time 3 --cacert "$LAB_DIR/ca.crt" -H "Authorization: Bearer $token" "$server$1"
}

vagrant_cmd() { (cd "$LAB_ROOT" && vagrant "$@"); }
