#!/usr/bin/env bash
# `make lab`: from a bare Debian host to three Ready machines running
# examples/nginx.yaml (MASTERS=3: five, three of them masters on etcd). Each step checks before it acts, so a second run only
# checks (and says so). Steps stop at the first error with what to look at.
source "$(dirname "$0")/lib.sh"
cd "$LAB_ROOT"
WAIT_SECONDS=${KAJITORI_LAB_WAIT:-180}

# 1. Before anything can start a container: cluster addresses go nowhere from the
#    host, whatever a bug in the proxy or the pod network might send.
step "Safety routes (unreachable ${LAB_SAFETY_ROUTES[*]})"
for cidr in "${LAB_SAFETY_ROUTES[@]}"; do ip route replace unreachable "$cidr"; done
step_done

step "Host tools (docker.io, vagrant, debootstrap, docker-registry, ansible)"
bash scripts/ensure-host.sh | sed -u 's/^/    /'
need=()
command -v vagrant >/dev/null || need+=(vagrant)
command -v debootstrap >/dev/null || need+=(debootstrap)
command -v docker-registry >/dev/null || need+=(docker-registry)
command -v curl >/dev/null || need+=(curl)
if ((${#need[@]})); then
  info "installing ${need[*]} (apt)"
  export DEBIAN_FRONTEND=noninteractive
  for attempt in 1 2 3 4 5; do  # apt may be locked for a moment by someone else
    { apt-get update -q >/dev/null && apt-get install -y -q "${need[@]}" >/dev/null; } && break
    ((attempt < 5)) || die "apt-get install ${need[*]} failed"
    sleep 5
  done
fi
if [[ ! -x "$ANSIBLE_VENV/bin/ansible-playbook" ]]; then
  info "installing ansible-core into $ANSIBLE_VENV"
  python3 -m venv "$ANSIBLE_VENV"
  "$ANSIBLE_VENV/bin/pip" install -q ansible-core
fi
step_done "ansible $("$ANSIBLE_VENV/bin/ansible-playbook" --version | awk 'NR == 1 {sub(/.*core /, ""); sub(/]/, ""); print}')"

step "Images (make images)"
"${MAKE:-make}" -s --no-print-directory images | sed -u 's/^/    /'
step_done

step "Wheelhouse (kajitori and its dependencies, for offline installs on the machines)"
bash scripts/lab/wheelhouse.sh
step_done

step "Lab network $LAB_SUBNET"
if gateway_on_host; then
  info "$LAB_GATEWAY is already on this host"
else
  docker network create --driver bridge --subnet "$LAB_SUBNET" --gateway "$LAB_GATEWAY" \
    --label "$LAB_LABEL" -o com.docker.network.bridge.name="$LAB_NETWORK" "$LAB_NETWORK" >/dev/null
  info "created Docker network $LAB_NETWORK (bridge $LAB_NETWORK, $LAB_GATEWAY)"
fi
step_done

step "Image registry on $REGISTRY_ADDR"
bash scripts/lab/registry.sh start
bash scripts/lab/registry.sh push
step_done

# The lab is one per host (fixed names and addresses). Machines made from another
# checkout (a CI clone, a second working copy) are unknown to this checkout's Vagrant
# state: they are replaced, with a word, rather than clashing on their names.
step "Lab machines of other checkouts"
ours=$(awk 1 "$VAGRANT_MACHINES"/*/docker/id 2>/dev/null | sort || true)  # awk 1: the id files end without a newline
foreign=$(comm -13 <(echo "$ours") <(docker ps -aq --no-trunc --filter "label=$LAB_LABEL" | sort))
if [[ -n "$foreign" ]]; then
  info "replacing $(wc -w <<<"$foreign") lab machine(s) made from another checkout"
  docker rm -f -v $foreign >/dev/null
  rm -f "$LAB_DIR/provisioned"
fi
step_done

# One form at a time: switching between one master and three replaces every machine (the
# nodes belonged to the other cluster), as `make lab-down && make lab` would.
step "Lab form ($LAB_MASTERS master(s): ${LAB_MACHINES[*]})"
recorded=$(cat "$LAB_MASTERS_FILE" 2>/dev/null || true)
others=$(docker ps -aq --no-trunc --filter "label=$LAB_LABEL" | while read -r id; do
  name=$(docker inspect -f '{{index .Config.Labels "io.kajitori.lab.machine"}}' "$id")
  [[ " ${LAB_MACHINES[*]} " == *" $name "* ]] || echo "$id"
done)
if [[ -n "$others" || ( -n "$recorded" && "$recorded" != "$LAB_MASTERS" ) ]]; then
  gone=$(docker ps -aq --no-trunc --filter "label=$LAB_LABEL")
  info "replacing the ${recorded:-other}-master lab ($(wc -w <<<"$gone") machine(s))"
  [[ -z "$gone" ]] || docker rm -f -v $gone >/dev/null
  rm -rf "$VAGRANT_MACHINES" "$LAB_HA_PKI" "$LAB_DIR/provisioned" "$ADMIN_KUBECONFIG" "$LAB_DIR/node.kubeconfig"
fi
echo "$LAB_MASTERS" >"$LAB_MASTERS_FILE"
step_done

if ((LAB_MASTERS > 1)); then
  # Made once on the host, copied to every master by the playbook: one CA, one
  # service-account key, one set of tokens and one encryption key for the whole cluster,
  # and each etcd member's certificate from that CA (kajitori certs init keeps what exists).
  step "Cluster PKI for ${LAB_MASTER_MACHINES[*]} ($LAB_HA_PKI)"
  members=()
  for i in "${!LAB_MASTER_MACHINES[@]}"; do members+=(--etcd-member "${LAB_MASTER_MACHINES[$i]}=192.168.56.$((21 + i))"); done
  "$PROJECT_VENV/bin/kajitori" certs init --data-dir "$LAB_HA_PKI" --server "https://$LAB_MASTER:6443" "${members[@]}" >/dev/null ||
    die "kajitori certs init failed"
  step_done
fi

step "Machines (vagrant up)"
vagrant_cmd up --no-provision 2>&1 | grep -E --line-buffered '^(==> [a-z0-9]+: (Creating|Starting|Machine|Container created)|Bringing)' | sed -u 's/^/    /' || true
running=$(vagrant_cmd status --machine-readable | awk -F, '$3 == "state" && $4 == "running" {n++} END {print n+0}')
((running == ${#LAB_MACHINES[@]})) || die "$running of ${#LAB_MACHINES[@]} machines running; see \`vagrant status\` and \`vagrant up\`"
step_done

# Provision when anything that shapes a machine changed: the playbook, the
# Vagrantfile, the wheelhouse, or a machine itself (its id). Otherwise the last run
# stands; `make lab-provision` runs Ansible regardless.
step "Provisioning (ansible/site.yml)"
stamp=$( { find ansible Vagrantfile -type f -print0 | sort -z | xargs -0 sha256sum
           sha256sum "$LAB_DIR/wheelhouse.tar"
           cat "$VAGRANT_MACHINES"/*/*/id 2>/dev/null || true
           [[ -e "$LAB_DIR/ca.crt" ]] && echo have-cluster-ca || true
           echo "masters=$LAB_MASTERS"
         } | sha256sum | cut -d' ' -f1)
if [[ "${KAJITORI_LAB_PROVISION:-}" != always && -e "$LAB_DIR/provisioned" &&
      "$(cat "$LAB_DIR/provisioned")" == "$stamp" ]]; then
  step_done "up to date (make lab-provision runs it anyway)"
else
  rm -f "$LAB_DIR/provisioned"
  vagrant_cmd provision node2 2>&1 | tee "$LAB_DIR/provision.log" |
    grep -E --line-buffered '^(PLAY|TASK|changed|fatal|failed|.*WARNING|master|node[0-9] +:)' | sed -u 's/^/    /' || true
  grep -qE '(failed|unreachable)=[1-9]' "$LAB_DIR/provision.log" && die "ansible failed; see $LAB_DIR/provision.log"
  grep -qE '^ *node2 +: ok=' "$LAB_DIR/provision.log" || die "ansible did not finish; see $LAB_DIR/provision.log"
  # Re-hash: provisioning may have fetched the cluster CA (what the nodes join with) just now.
  stamp=$( { find ansible Vagrantfile -type f -print0 | sort -z | xargs -0 sha256sum
             sha256sum "$LAB_DIR/wheelhouse.tar"
             cat "$VAGRANT_MACHINES"/*/*/id 2>/dev/null || true
             [[ -e "$LAB_DIR/ca.crt" ]] && echo have-cluster-ca || true
             echo "masters=$LAB_MASTERS"
           } | sha256sum | cut -d' ' -f1)
  echo "$stamp" >"$LAB_DIR/provisioned"
  step_done "$(grep -E '^ *(master[0-9]*|node[0-9]) +:' "$LAB_DIR/provision.log" | awk '{printf "%s %s ", $1, $4}')"
fi

step "API server and nodes Ready (up to ${WAIT_SECONDS}s)"
deadline=$((SECONDS + WAIT_SECONDS))
if [[ ! -s "$ADMIN_KUBECONFIG" ]]; then
  # No kubeconfig came back: the master never wrote one. Say whether it answers at all
  # (--insecure: without a kubeconfig there is no CA to check against; no token is sent).
  until curl -fsS --insecure --max-time 2 -o /dev/null "https://$LAB_MASTER:6443/readyz"; do
    ((SECONDS < deadline)) || die "the master at https://$LAB_MASTER:6443 did not answer /readyz in ${WAIT_SECONDS}s; see: vagrant ssh ${LAB_MASTER_MACHINES[0]} -c 'sudo journalctl -u kajitori-master -n 50'"
    sleep 2
  done
  die "the master answers but wrote no admin.kubeconfig to $LAB_DIR; run: make lab-provision"
fi
last_report=0
while :; do
  ready=$(api_get /api/v1/nodes 2>/dev/null | "$PROJECT_VENV/bin/python" -c '
import json, sys
items = json.load(sys.stdin).get("items", [])
print(" ".join(sorted(n["metadata"]["name"] for n in items
      if any(c.get("type") == "Ready" and c.get("status") == "True"
             for c in n.get("status", {}).get("conditions", [])))))' 2>/dev/null || true)
  all=1
  for n in "${LAB_NODES[@]}"; do [[ " $ready " == *" $n "* ]] || all=0; done
  ((all)) && break
  ((SECONDS < deadline)) || die "nodes Ready after ${WAIT_SECONDS}s: '${ready:-none}' of ${LAB_NODES[*]}; see: vagrant ssh node1 -c 'sudo journalctl -u kajitori-agent -n 50'"
  if ((SECONDS - last_report >= 10)); then info "Ready so far: ${ready:-none}"; last_report=$SECONDS; fi
  sleep 1
done
step_done "$ready"

step "Admin kubeconfig at $USER_KUBECONFIG"
mkdir -p "$(dirname "$USER_KUBECONFIG")"
if cmp -s "$ADMIN_KUBECONFIG" "$USER_KUBECONFIG"; then
  step_done "unchanged"
else
  [[ -e "$USER_KUBECONFIG" ]] && cp "$USER_KUBECONFIG" "$USER_KUBECONFIG.before-lab"
  install -m 0600 "$ADMIN_KUBECONFIG" "$USER_KUBECONFIG"
  step_done "written${USER_KUBECONFIG:+ (a previous one, if any, is in $USER_KUBECONFIG.before-lab)}"
fi

KAJITORI="$PROJECT_VENV/bin/kajitori"
step "Example workload (examples/nginx.yaml)"
"$KAJITORI" apply -f examples/nginx.yaml | sed -u 's/^/    /' || die "kajitori apply -f examples/nginx.yaml failed"
deadline=$((SECONDS + 90))
until [[ "$(api_get '/apis/apps/v1/namespaces/default/deployments/nginx' 2>/dev/null |
           "$PROJECT_VENV/bin/python" -c 'import json,sys; print(json.load(sys.stdin).get("status",{}).get("readyReplicas",0))' 2>/dev/null)" == 3 ]]; do
  ((SECONDS < deadline)) || { info "nginx is not 3/3 ready after 90s (see kajitori get pods -o wide)"; break; }
  sleep 1
done
step_done

echo
"$KAJITORI" get nodes -o wide || true
echo
"$KAJITORI" get pods -o wide || true
echo
"$KAJITORI" get services || true
cat <<MSG

The lab is up in $(_elapsed "$LAB_T0")s. Try:
    curl http://192.168.56.11:30080/
    kajitori get pods -o wide -w          (kubeconfig: $USER_KUBECONFIG)
    kubectl --kubeconfig $USER_KUBECONFIG get deploy,svc,pods -o wide
    vagrant halt node1; sleep 15; vagrant up node1   (and watch the pods move)
    make lab-status / make lab-down
MSG
if ((LAB_MASTERS > 1)); then
  echo "    vagrant halt master1; kajitori get nodes; vagrant up master1   (the API stays at $LAB_MASTER)"
fi
