# Images the cluster runs, built here (no registry is reachable): see images/build.py.
# Each build is skipped when its image already carries the hash of its inputs.
IMAGE_BUILD = DOCKER_BUILDKIT=0 $(PY) images/build.py

.PHONY: images pause-image busybox-image
images: venv host ## build every image (pause, busybox, nginx, tools, python-client, node); only what changed
	@$(IMAGE_BUILD)

pause-image: venv host ## build kajitori/pause:3.9 only
	@$(IMAGE_BUILD) pause

busybox-image: venv host ## build kajitori/busybox:1 only
	@$(IMAGE_BUILD) busybox
