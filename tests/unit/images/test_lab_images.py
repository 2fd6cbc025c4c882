"""The images the e2e tests run with ``imagePullPolicy: Never`` reach every lab node.

A lab node has only what the node role pulls through the registry mirror
(ansible's ``kajitori_node_images`` and the pause image), and the mirror serves only what
``registry.sh push`` put in it (scripts/lab/lib.sh's ``LAB_IMAGES``). Shell and YAML cannot
import Python, so the three lists are compared here; an image missing from one of them
left an e2e pod in ErrImageNeverPull.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import yaml

from kajitori.version import PAUSE_IMAGE
from tests.e2e.lab_access import PYTHON_CLIENT_IMAGE, TOOLS_IMAGE

ROOT = Path(__file__).resolve().parents[3]


def lab_images() -> list[str]:
    found = re.search(r"^LAB_IMAGES=\((.*)\)$", (ROOT / "scripts/lab/lib.sh").read_text(), re.MULTILINE)
    assert found is not None
    return found.group(1).split()


def node_images() -> list[str]:
    defaults = yaml.safe_load((ROOT / "ansible/roles/node/defaults/main.yml").read_text())
    return [defaults["kajitori_pause_image"], *defaults["kajitori_node_images"]]


def built_tags() -> set[str]:
    spec = importlib.util.spec_from_file_location("kajitori_image_builder_tags", ROOT / "images" / "build.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return {recipe.tag for recipe in module.RECIPES}


def test_the_registry_serves_what_the_nodes_pull() -> None:
    assert sorted(lab_images()) == sorted(node_images())
    assert PAUSE_IMAGE in lab_images()


def test_every_lab_image_is_built_here() -> None:
    assert set(lab_images()) <= built_tags()


def test_the_images_the_e2e_pods_run_without_pulling_are_on_the_nodes() -> None:
    for image in (TOOLS_IMAGE, PYTHON_CLIENT_IMAGE):
        assert image in node_images(), image
