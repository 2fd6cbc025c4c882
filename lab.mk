# The three-machine lab (Vagrantfile + ansible/): see scripts/lab/ for each step.
.PHONY: lab lab-down lab-status lab-provision
lab: venv ## bring up master, node1, node2 with examples/nginx.yaml running (idempotent)
	@bash scripts/lab/up.sh

lab-down: ## remove what `make lab` made (machines, registry, lab networks); keeps the safety routes
	@bash scripts/lab/down.sh

lab-status: ## show the lab: routes, registry, machines, API server, nodes
	@bash scripts/lab/status.sh

lab-provision: venv ## run the Ansible playbook on the running lab again (a no-op when nothing changed)
	@KAJITORI_LAB_PROVISION=always bash scripts/lab/up.sh
