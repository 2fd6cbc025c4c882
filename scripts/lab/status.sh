#!/usr/bin/env bash
# `make lab-status`: what of the lab exists and runs, read-only.
source "$(dirname "$0")/lib.sh"
cd "$LAB_ROOT"
row() { printf '  %-16s %s\n' "$1" "$2"; }
echo "Kajitori lab"
for cidr in "${LAB_SAFETY_ROUTES[@]}"; do
  grep -q "^unreachable $cidr" <<<"$(ip route show type unreachable)" && r="unreachable (safe)" || r="MISSING — make lab adds it"
  row "route $cidr" "$r"
done
docker info >/dev/null 2>&1 && row dockerd "running" || row dockerd "not running"
if gateway_on_host; then row network "$LAB_SUBNET ($LAB_GATEWAY on this host)"; else row network "absent"; fi
if pid_alive "$REGISTRY_DIR/registry.pid" docker-registry; then
  repos=$(curl -fsS --max-time 2 "http://$REGISTRY_ADDR/v2/_catalog" 2>/dev/null |
    "$PROJECT_VENV/bin/python" -c 'import json,sys; print(" ".join(json.load(sys.stdin)["repositories"]))' 2>/dev/null || echo "?")
  row registry "pid $(cat "$REGISTRY_DIR/registry.pid") on $REGISTRY_ADDR: $repos"
else
  row registry "not running"
fi
if ((LAB_MASTERS > 1)); then
  holder=$(for m in "${LAB_MASTER_MACHINES[@]}"; do
    [[ "$(docker exec "kajitori-$m" ip -o -4 addr show 2>/dev/null || true)" == *" $LAB_MASTER/32 "* ]] && echo "$m"
  done | tr '\n' ' ' || true)
  row form "$LAB_MASTERS masters on etcd (${LAB_MASTER_MACHINES[*]}); API address $LAB_MASTER on: ${holder:-none}"
else
  row form "one master (SQLite)"
fi
echo "Machines"
if [[ -d "$VAGRANT_MACHINES" ]]; then
  vagrant_cmd status --machine-readable 2>/dev/null |
    awk -F, '$3 == "state" {printf "  %-16s %s\n", $2, $4}'
else
  echo "  none (make lab)"
fi
if [[ -s "$ADMIN_KUBECONFIG" ]]; then
  if api_get /readyz >/dev/null 2>&1; then
    row "API server" "$(kubeconfig_field "$ADMIN_KUBECONFIG" server) ready"
    "$PROJECT_VENV/bin/kajitori" get nodes 2>/dev/null | sed 's/^/  /' || true
  else
    row "API server" "$(kubeconfig_field "$ADMIN_KUBECONFIG" server) not answering"
  fi
else
  row "API server" "no admin kubeconfig in $LAB_DIR"
fi
