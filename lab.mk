# The lab (Vagrantfile + ansible/): see scripts/lab/ for each step. MASTERS=3 brings up
# master1..3 on etcd behind one API address instead of the single master; the form a
# lab was made in is kept in .lab/masters, which lab-provision and lab-down follow.
.PHONY: lab lab-down lab-status lab-provision
lab: venv ## bring up master, node1, node2 with examples/nginx.yaml running (idempotent); MASTERS=3: three masters on etcd
	@KAJITORI_LAB_MASTERS=$(or $(MASTERS),1) bash scripts/lab/up.sh

lab-down: ## remove what `make lab` made, either form (machines, registry, lab networks); keeps the safety routes
	@bash scripts/lab/down.sh

lab-status: ## show the lab: routes, registry, machines, API server, nodes
	@bash scripts/lab/status.sh

lab-provision: venv ## run the Ansible playbook on the running lab again (a no-op when nothing changed)
	@$(if $(MASTERS),KAJITORI_LAB_MASTERS=$(MASTERS)) KAJITORI_LAB_PROVISION=always bash scripts/lab/up.sh
