#!/usr/bin/env bash
# `make lab-down`: removes exactly what `make lab` made, in either form — the machines
# (vagrant destroy, then any container still labelled io.kajitori.lab=1 with its
# anonymous volumes), the registry process (by its pid) and its storage, the
# Docker networks labelled io.kajitori.lab=1, the kubeconfigs of the gone cluster, and
# a three-master lab's shared PKI (.lab/ha-pki) and form (.lab/masters).
# Kept on purpose: the safety routes (harmless, and they must precede any next
# lab), installed packages, built images, .lab/ansible-venv and the wheelhouse.
source "$(dirname "$0")/lib.sh"
cd "$LAB_ROOT"

step "Machines (vagrant destroy -f)"
if [[ -d "$VAGRANT_MACHINES" ]]; then
  vagrant_cmd destroy -f 2>&1 | grep -E '^==> [a-z0-9]+: (Deleting|Stopping|Destroying)' | sed -u 's/^/    /' || true
fi
left=$(docker ps -aq --filter "label=$LAB_LABEL")
if [[ -n "$left" ]]; then
  info "removing $(wc -w <<<"$left") leftover lab container(s)"
  docker rm -f -v $left >/dev/null
fi
# Vagrant's records of machines of the other form, which `vagrant destroy` did not know.
rm -rf "$VAGRANT_MACHINES"
step_done

step "Image registry"
bash scripts/lab/registry.sh purge
rm -f "$LAB_DIR/provisioned"
step_done

step "Lab networks (label $LAB_LABEL)"
for net in $(docker network ls -q --filter "label=$LAB_LABEL"); do
  info "removing network $(docker network inspect -f '{{.Name}}' "$net")"
  docker network rm "$net" >/dev/null
done
step_done

step "Kubeconfigs of the removed cluster"
if [[ -e "$ADMIN_KUBECONFIG" ]] && cmp -s "$ADMIN_KUBECONFIG" "$USER_KUBECONFIG"; then
  rm -f "$USER_KUBECONFIG"
  if [[ -e "$USER_KUBECONFIG.before-lab" ]]; then
    mv "$USER_KUBECONFIG.before-lab" "$USER_KUBECONFIG"
    info "restored the kubeconfig that was there before the lab"
  fi
fi
rm -f "$ADMIN_KUBECONFIG" "$LAB_DIR/node.kubeconfig" "$LAB_DIR/ca.crt" "$LAB_DIR/proxy.kubeconfig" "$LAB_DIR/ingress.kubeconfig" "$LAB_MASTERS_FILE"
rm -rf "$LAB_HA_PKI"
step_done

echo "Lab removed in $(_elapsed "$LAB_T0")s. Left in place: the unreachable routes for ${LAB_SAFETY_ROUTES[*]}"
echo "(they protect the next lab too; 'ip route del unreachable <cidr>' removes them), images, tools, caches in .lab/."
