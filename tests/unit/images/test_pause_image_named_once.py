"""The pause image is named once for Python (kajitori/version.py); the lab's YAML and shell agree with it.

Ansible's defaults and scripts/lab/lib.sh cannot import Python (the playbook also runs on
machines without the project), so they repeat the name; this check fails when one of them
drifts, and when Python code other than version.py spells the name again.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from kajitori.version import PAUSE_IMAGE

ROOT = Path(__file__).resolve().parents[3]


def test_the_ansible_default_and_the_lab_images_name_the_same_pause_image() -> None:
    defaults = yaml.safe_load((ROOT / "ansible/roles/node/defaults/main.yml").read_text())
    assert defaults["kajitori_pause_image"] == PAUSE_IMAGE
    lab_images = re.search(r"^LAB_IMAGES=\((.*)\)$", (ROOT / "scripts/lab/lib.sh").read_text(), re.MULTILINE)
    assert lab_images is not None
    assert PAUSE_IMAGE in lab_images.group(1).split()


def test_no_python_module_but_version_py_spells_the_pause_image() -> None:
    repeated = [
        str(path.relative_to(ROOT))
        for folder in ("kajitori", "cli", "lab", "master", "agent", "net", "images", "bench")
        for path in (ROOT / folder).rglob("*.py")
        if "kajitori/pause:" in path.read_text() and path != ROOT / "kajitori/version.py"
    ]
    assert repeated == []
